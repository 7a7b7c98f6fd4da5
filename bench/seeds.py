"""How far the training's randomness moves the results, and which rule for the kept weights moves them least.

For each dataset, trains params.yaml's recipe once per seed in SEEDS through the train stage's own path, changing
only the training's randomness (initial weights, shuffling, dropout) as another CPU's rounding would: the
validation split stays the pipeline's. Every epoch's weights are kept, so each rule for choosing the weights to
keep is scored on the same runs; the rules look at the validation set only, the test set scores them. Each run's
last-epoch validation metrics are recorded too: they, not the test set, compare one recipe with another.
Run from the project root after `make` (it reads data/prepared/): `python -m bench.seeds` (about 12 minutes).
Writes reports/seeds.json, from which `make reproduced` takes its tolerance, and prints the README's table.
"""

import lessonkit  # noqa: F401  first: pins TensorFlow's numerics before it loads

# isort: split
import statistics
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from lessonkit import params, saved
from lessonkit.files import write_json
from lessonkit.formats import arrays_sha256, load_arrays
from stages import train as train_stage

PROJECT = Path(__file__).resolve().parents[1]
SEEDS = (42, 43, 44, 45, 46)  # 42 is params.yaml's: its rows reproduce the committed model cards


def rules(epochs: int) -> dict:
    """Each candidate rule: the epochs (counting from 1) whose weights it keeps, averaged, from the history.

    `best` and `last` are the train stage's `train.keep` values; the others are candidates.
    """
    return {
        "best": lambda history: [int(np.argmax(history["val_accuracy"])) + 1],
        "best_loss": lambda history: [int(np.argmin(history["val_loss"])) + 1],
        "last": lambda _: [epochs],
        "mean_last_5": lambda _: list(range(max(1, epochs - 4), epochs + 1)),
        "mean_last_10": lambda _: list(range(max(1, epochs - 9), epochs + 1)),
    }


class EveryEpoch(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights: list[list[np.ndarray]] = []
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, _epoch, logs=None):
        self.weights.append(self.model.classifier.get_weights())
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))


def train_every_epoch(prepared: Path, seed: int, model: params.ModelParams, train: params.TrainParams):
    """The train stage itself, keeping every epoch's weights; returns the saved classifier and the recorder."""
    recorder = EveryEpoch()
    with tempfile.TemporaryDirectory() as folder:
        trained = Path(folder, "trained")
        scratch = (Path(folder, name) for name in ("checkpoints", "live"))
        train_stage.main(prepared, trained, *scratch, seed, model, train, callbacks=(recorder,))
        return saved.load_model(trained), recorder


def summary(values: list[float]) -> dict:
    return {"mean": round(statistics.mean(values), 6), "std": round(statistics.stdev(values), 6)}


def main() -> None:
    datasets, model, train = params.load("datasets", "model", "train")
    if train.distribute != "none":
        sys.exit("bench/seeds.py follows the whole-epoch path: run it with train.distribute: none")
    # Every rule for the kept weights is scored, so the table holds for any train.keep.
    trained_with = {key: value for key, value in train.__dict__.items() if key != "keep"}
    results = {"seeds": list(SEEDS), "model": model.__dict__, "train": trained_with, "datasets": {}}
    for dataset in datasets:
        prepared = PROJECT / "data" / "prepared" / dataset
        x_test, y_test = load_arrays(prepared, "X_test", "y_test")
        runs = []
        for seed in SEEDS:
            classifier, recorder = train_every_epoch(prepared, seed, model, train)
            scores = {}
            for rule, choose in rules(train.epochs).items():
                epochs = choose(recorder.history)
                weights = [
                    np.mean(layer, axis=0) for layer in zip(*(recorder.weights[e - 1] for e in epochs), strict=True)
                ]
                classifier.set_weights(weights)
                loss, accuracy = classifier.evaluate(x_test, y_test, batch_size=1000, verbose=0)
                scores[rule] = {
                    "epochs": epochs,
                    "test_accuracy": round(accuracy, 6),
                    "test_loss": round(loss, 6),
                    "weights_sha256": arrays_sha256(weights),
                }
            last = {metric: round(recorder.history[f"val_{metric}"][-1], 6) for metric in ("accuracy", "loss")}
            runs.append({"seed": seed, "last_epoch_validation": last, "rules": scores})
            print(
                f"{dataset} seed {seed}: validation {last['accuracy']:.4f}; "
                + "; ".join(f"{r} {s['test_accuracy']:.4f}" for r, s in scores.items())
            )
        results["datasets"][dataset] = {
            "runs": runs,
            "last_epoch_validation": {
                metric: summary([run["last_epoch_validation"][metric] for run in runs])
                for metric in ("accuracy", "loss")
            },
            "summary": {
                rule: {
                    metric: summary([run["rules"][rule][f"test_{metric}"] for run in runs])
                    for metric in ("accuracy", "loss")
                }
                for rule in runs[0]["rules"]
            },
        }
    write_json(PROJECT / "reports" / "seeds.json", results)
    print(table(results))


def table(results: dict) -> str:
    """Markdown: each rule's test accuracy and loss over the seeds, mean ± standard deviation, per dataset."""
    lines = ["| dataset | kept weights | test accuracy | test loss |", "|---|---|---|---|"]
    for dataset, result in results["datasets"].items():
        for rule, metrics in result["summary"].items():
            accuracy, loss = metrics["accuracy"], metrics["loss"]
            lines.append(
                f"| {dataset} | {rule} | {accuracy['mean']:.4f} ± {accuracy['std']:.4f} "
                f"| {loss['mean']:.4f} ± {loss['std']:.4f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
