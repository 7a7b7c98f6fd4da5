"""The plain lesson recipe, as the original notebook runs it: what the benchmark holds a clean `dvc repro` against.

For each dataset, one after the other in one process: the raw arrays the download stage wrote (Keras's origin is
not reachable everywhere; `keras.datasets.<name>.load_data()` returns the same arrays), scaled to [0, 1], the first
6,000 training images held out for validation, Flatten → Dense 200 → Dense 100 → Dense 10 softmax, compiled with
Keras's defaults (SGD, learning rate 0.01) and fitted for 60 epochs at Keras's default batch of 32, then the loss
and accuracy curves plotted, the test set evaluated, the first 5 test images predicted and shown. TensorFlow's
own numerics for this CPU: no seeds, threads or XLA settings, nothing of the project imported.
Usage: python bench/lesson.py RAW_DIR... [--epochs N]. Prints one JSON line per dataset.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

VALIDATION_SIZE = 6000


def lesson(raw: Path, epochs: int, figures: Path) -> dict:
    X_train_full, y_train_full, X_test, y_test = (
        np.load(raw / f"{name}.npy") for name in ("X_train_full", "y_train_full", "X_test", "y_test")
    )
    X_train_full, X_test = X_train_full / 255.0, X_test / 255.0
    X_valid, X_train = X_train_full[:VALIDATION_SIZE], X_train_full[VALIDATION_SIZE:]
    y_valid, y_train = y_train_full[:VALIDATION_SIZE], y_train_full[VALIDATION_SIZE:]
    model = keras.Sequential(
        [
            keras.Input(shape=X_train.shape[1:]),
            keras.layers.Flatten(),
            keras.layers.Dense(200, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=epochs, validation_data=(X_valid, y_valid), verbose=0)
    figure, axes = plt.subplots()
    for name, values in history.history.items():
        axes.plot(range(1, epochs + 1), values, label=name)
    axes.legend()
    figure.savefig(figures / f"{raw.name}-history.png")
    _, test_accuracy = model.evaluate(X_test, y_test, verbose=0)
    predicted = model.predict(X_test[:5], verbose=0).argmax(axis=1)
    figure, axes = plt.subplots(1, 5)
    for axis, image, label, actual in zip(axes, X_test[:5], predicted, y_test[:5], strict=True):
        axis.imshow(image, cmap="binary")
        axis.set_title(f"{label} ({actual})")
    figure.savefig(figures / f"{raw.name}-predictions.png")
    plt.close("all")
    return {"dataset": raw.name, "epochs": epochs, "test_accuracy": test_accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", type=Path, nargs="+")
    parser.add_argument("--epochs", type=int, default=60)
    arguments = parser.parse_args()
    missing = [str(raw) for raw in arguments.raw if not raw.is_dir()]
    if missing:
        parser.error(f"{', '.join(missing)}: not a folder of the download stage's arrays; run `make` first")
    if arguments.epochs < 1:
        parser.error("--epochs must be a positive integer")
    with tempfile.TemporaryDirectory() as folder:
        for raw in arguments.raw:
            started = time.perf_counter()
            result = lesson(raw, arguments.epochs, Path(folder))
            print(json.dumps({**result, "seconds": round(time.perf_counter() - started, 1)}), flush=True)
