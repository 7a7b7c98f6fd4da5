"""How far the training's randomness moves the results, and which rule for the kept weights moves them least.

For each dataset, trains params.yaml's recipe once per seed in SEEDS through the train stage's own path, changing
only the training's randomness (initial weights, shuffling, dropout) as another CPU's rounding would: the
validation split stays the pipeline's. Every epoch's weights are kept, so each rule for choosing the weights to
keep is scored on the same runs, on the validation set and so without the test set: each rule chooses with one
half of the validation images (alternate ones) and is scored on the other half, both ways round. The test set
scores every rule too, for the record, and gives the spread the reproduction gate allows. Each run's last-epoch
validation metrics are recorded as well: they, not the test set, compare one recipe with another.
Run from the project root after `make` (it reads data/prepared/): `python -m bench.seeds` (about 20 minutes).
Writes reports/seeds.json, from which `make reproduced` takes its tolerance, and prints the README's table.
"""

import lessonkit  # noqa: F401  first: pins TensorFlow's numerics before it loads

# isort: split
import argparse
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
from stages.evaluate import BATCH_SIZE as EVALUATE_BATCH_SIZE

PROJECT = Path(__file__).resolve().parents[1]
SEEDS = tuple(range(42, 52))  # 42 is params.yaml's: its rows reproduce the committed model cards


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


def averaged(weights: list[list[np.ndarray]], epochs: list[int]) -> list[np.ndarray]:
    """The given epochs' weights (counting from 1), averaged layer by layer."""
    return [np.mean(layer, axis=0) for layer in zip(*(weights[epoch - 1] for epoch in epochs), strict=True)]


def scored(classifier, weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> dict:
    classifier.set_weights(weights)
    loss, accuracy = classifier.evaluate(x, y, batch_size=EVALUATE_BATCH_SIZE, verbose=0)
    return {"accuracy": accuracy, "loss": loss}


def held_out(classifier, recorder: EveryEpoch, curves: list[dict], choose, halves: list[tuple]) -> dict:
    """The rule choosing its epochs by one validation half's curves, scored on the other half; both ways, averaged."""
    scores = [
        scored(classifier, averaged(recorder.weights, choose(curves[chooser])), *halves[1 - chooser])
        for chooser in (0, 1)
    ]
    return {metric: round(statistics.mean(score[metric] for score in scores), 6) for metric in ("accuracy", "loss")}


def curves(classifier, recorder: EveryEpoch, x: np.ndarray, y: np.ndarray) -> dict:
    """Every epoch's validation accuracy and loss on x and y, as a history like Keras's."""
    epochs = [scored(classifier, weights, x, y) for weights in recorder.weights]
    return {f"val_{metric}": [epoch[metric] for epoch in epochs] for metric in ("accuracy", "loss")}


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
        x_valid, y_valid = load_arrays(prepared, "X_valid", "y_valid")
        halves = [(x_valid[start::2], y_valid[start::2]) for start in (0, 1)]
        runs = []
        for seed in SEEDS:
            classifier, recorder = train_every_epoch(prepared, seed, model, train)
            halves_curves = [curves(classifier, recorder, *half) for half in halves]
            scores = {}
            for rule, choose in rules(train.epochs).items():
                epochs = choose(recorder.history)
                weights = averaged(recorder.weights, epochs)
                test = scored(classifier, weights, x_test, y_test)
                scores[rule] = {
                    "epochs": epochs,
                    "held_out_validation": held_out(classifier, recorder, halves_curves, choose, halves),
                    "test_accuracy": round(test["accuracy"], 6),
                    "test_loss": round(test["loss"], 6),
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
            "held_out_validation": {
                rule: {
                    metric: summary([run["rules"][rule]["held_out_validation"][metric] for run in runs])
                    for metric in ("accuracy", "loss")
                }
                for rule in runs[0]["rules"]
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
    """Markdown: each rule's held-out validation and test accuracy and loss, mean ± standard deviation over seeds."""
    lines = [
        "| dataset | kept weights | held-out validation accuracy | loss | test accuracy | loss |",
        "|---|---|---|---|---|---|",
    ]
    for dataset, result in results["datasets"].items():
        for rule, test in result["summary"].items():
            cells = [
                f"{metrics[name]['mean']:.4f} ± {metrics[name]['std']:.4f}"
                for metrics in (result["held_out_validation"][rule], test)
                for name in ("accuracy", "loss")
            ]
            lines.append(f"| {dataset} | {rule} | {' | '.join(cells)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
