"""Build, compile and fit the dense classifier on a prepared dataset, validating on its held-out set.

Reads <prepared>/{X_train,y_train,X_valid,y_valid}.npy.
Writes the model (.keras), the per-epoch history (CSV) and its loss and accuracy curves (PNG).
"""

import argparse
import time
from pathlib import Path

import keras
import numpy as np

from stages import params
from stages.common import atomic_path, run, write_csv
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
    seed: int,
    model: params.ModelParams,
    train: params.TrainParams,
) -> None:
    make_deterministic(seed, train.threads)
    x_train, y_train, x_valid, y_valid = load_arrays(prepared, "X_train", "y_train", "X_valid", "y_valid")
    classifier = build_model(x_train.shape[1:], NUM_CLASSES, model.hidden_units, model.activation, model.dropout)
    trainer = WholeEpochs(classifier, train.batch_size, train.jit_compile)
    steps_per_epoch = -(-len(x_train) // train.batch_size)
    compile_model(trainer, train.optimizer, train.learning_rate, train.schedule, train.epochs * steps_per_epoch)
    callbacks = []
    if train.keep == "best":
        # Patience of all epochs: never stop early, only restore the best epoch's weights at the end.
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=train.epochs, restore_best_weights=True)
        )
    started = time.perf_counter()
    fitted = trainer.fit(
        x_train,
        y_train,
        batch_size=len(x_train),
        shuffle=False,
        epochs=train.epochs,
        validation_data=(x_valid, y_valid),
        validation_batch_size=len(x_valid),
        callbacks=callbacks,
        verbose=2,
    )
    seconds = time.perf_counter() - started
    with atomic_path(model_path) as temporary:
        classifier.save(temporary)
    write_history(fitted.history, history_path)
    plot_history(fitted.history, prepared.name, curves_path)
    validation_accuracy = fitted.history["val_accuracy"]
    kept = int(np.argmax(validation_accuracy)) if train.keep == "best" else train.epochs - 1
    print(
        f"{prepared.name}: trained {train.epochs} epochs in {seconds:.1f} s; kept epoch {kept + 1} "
        f"(validation accuracy {validation_accuracy[kept]:.4f}); saved {model_path}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prepared", type=Path, help="folder of the prepare stage's arrays")
    parser.add_argument("model", type=Path, help="where to save the trained model (.keras)")
    parser.add_argument("history", type=Path, help="where to write the per-epoch history (.csv)")
    parser.add_argument("curves", type=Path, help="where to draw the loss and accuracy curves (.png)")
    arguments = parser.parse_args()
    run(
        lambda: main(
            arguments.prepared,
            arguments.model,
            arguments.history,
            arguments.curves,
            *params.load("seed", "model", "train"),
        )
    )
