"""Build, compile and fit the dense classifier on a prepared dataset, validating on its held-out set.

Reads <prepared>/{X_train,y_train,X_valid,y_valid}.npy.
Writes the model (.keras), the per-epoch history (CSV), its loss and accuracy curves (PNG) and the
environment that trained it (JSON). A killed run, started again, resumes after its last complete epoch.
"""

import argparse
import time
from pathlib import Path

from stages import environment, params
from stages.checkpoints import EpochCheckpoints, run_key
from stages.common import atomic_path, run, write_csv, write_json
from stages.data import NUM_CLASSES, load_arrays
from stages.figures import plot_history
from stages.model import WholeEpochs, build_model, compile_model, make_deterministic

HISTORY_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy")


def write_history(history: dict[str, list[float]], path: Path) -> None:
    rows = zip(*(history[column] for column in HISTORY_COLUMNS), strict=True)
    write_csv(
        path,
        ("epoch", *HISTORY_COLUMNS),
        ((epoch, *(f"{value:.6f}" for value in values)) for epoch, values in enumerate(rows, start=1)),
    )


def main(
    prepared: Path,
    model_path: Path,
    history_path: Path,
    curves_path: Path,
    environment_path: Path,
    checkpoints_root: Path,
    seed: int,
    model: params.ModelParams,
    train: params.TrainParams,
) -> None:
    make_deterministic(seed, train.threads)
    arrays = load_arrays(prepared, "X_train", "y_train", "X_valid", "y_valid")
    x_train, y_train, x_valid, y_valid = arrays
    classifier = build_model(x_train.shape[1:], NUM_CLASSES, model.hidden_units, model.activation, model.dropout)
    trainer = WholeEpochs(classifier, train.batch_size, train.jit_compile)
    steps_per_epoch = -(-len(x_train) // train.batch_size)
    compile_model(trainer, train.optimizer, train.learning_rate, train.schedule, train.epochs * steps_per_epoch)
    checkpoints = EpochCheckpoints(checkpoints_root, run_key(seed, model, train, arrays))
    done = checkpoints.restore(trainer)
    if done:
        print(f"{prepared.name}: resuming after epoch {done} of {train.epochs}, saved in {checkpoints.folder}")
    started = time.perf_counter()
    trainer.fit(
        x_train,
        y_train,
        batch_size=len(x_train),
        shuffle=False,
        initial_epoch=done,
        epochs=train.epochs,
        validation_data=(x_valid, y_valid),
        validation_batch_size=len(x_valid),
        callbacks=[checkpoints],
        verbose=2,
    )
    seconds = time.perf_counter() - started
    kept = checkpoints.best_epoch() if train.keep == "best" else train.epochs
    trainer.load_weights(checkpoints.weights(kept))
    with atomic_path(model_path) as temporary:
        classifier.save(temporary)
    write_history(checkpoints.history, history_path)
    plot_history(checkpoints.history, prepared.name, curves_path)
    write_json(environment_path, environment.describe(train.jit_compile))
    checkpoints.finish()
    print(
        f"{prepared.name}: trained {train.epochs - done} epochs in {seconds:.1f} s; kept epoch {kept} "
        f"(validation accuracy {checkpoints.history['val_accuracy'][kept - 1]:.4f}); saved {model_path}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prepared", type=Path, help="folder of the prepare stage's arrays")
    parser.add_argument("model", type=Path, help="where to save the trained model (.keras)")
    parser.add_argument("history", type=Path, help="where to write the per-epoch history (.csv)")
    parser.add_argument("curves", type=Path, help="where to draw the loss and accuracy curves (.png)")
    parser.add_argument("environment", type=Path, help="where to record versions, CPU and settings (.json)")
    parser.add_argument("checkpoints", type=Path, help="where to keep each epoch's state until the run ends")
    arguments = parser.parse_args()
    run(
        lambda: main(
            arguments.prepared,
            arguments.model,
            arguments.history,
            arguments.curves,
            arguments.environment,
            arguments.checkpoints,
            *params.load("seed", "model", "train"),
        )
    )
