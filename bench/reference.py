"""The plain lesson recipe, standalone: what the benchmark holds the pipeline's train stage against.

Same prepared arrays, layers, optimizer, learning rate, batch size and seed as params.yaml, but
`model.fit` with Keras's defaults: no whole-epoch loop, no XLA, no thread or determinism settings.
Usage: python bench/reference.py PREPARED_DIR [--epochs N]. Prints one JSON line of results.
"""

import argparse
import json
import math
import time
from pathlib import Path

import keras
import numpy as np
import yaml


def main(prepared: Path, epochs: int | None) -> dict:
    params = yaml.safe_load(Path("params.yaml").read_text())
    model_params, train = params["model"], params["train"]
    epochs = train["epochs"] if epochs is None else epochs
    keras.utils.set_random_seed(params["seed"])
    x_train, y_train, x_valid, y_valid, x_test, y_test = (
        np.load(prepared / f"{name}.npy") for name in ("X_train", "y_train", "X_valid", "y_valid", "X_test", "y_test")
    )
    layers = [keras.Input(shape=x_train.shape[1:]), keras.layers.Flatten()]
    if model_params["input_dropout"]:
        layers.append(keras.layers.Dropout(model_params["input_dropout"]))
    for units in model_params["hidden_units"]:
        layers.append(keras.layers.Dense(units, activation=model_params["activation"]))
        if model_params["dropout"]:
            layers.append(keras.layers.Dropout(model_params["dropout"]))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    arguments = {key: value for key, value in train["optimizer"].items() if key != "name"}
    if train["schedule"] == "cosine":
        steps = epochs * math.ceil(len(x_train) / train["batch_size"])
        arguments["learning_rate"] = keras.optimizers.schedules.CosineDecay(arguments["learning_rate"], steps)
    optimizer = keras.optimizers.get({"class_name": train["optimizer"]["name"], "config": arguments})
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    history = model.fit(
        x_train, y_train, batch_size=train["batch_size"], epochs=epochs, validation_data=(x_valid, y_valid), verbose=0
    )
    fit_seconds = time.perf_counter() - started
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    model.predict(x_test[: params["predict"]["count"]], verbose=0)
    return {
        "epochs": epochs,
        "fit_seconds": fit_seconds,
        "val_accuracy": history.history["val_accuracy"][-1],
        "test_accuracy": test_accuracy,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prepared", type=Path)
    parser.add_argument("--epochs", type=int)
    arguments = parser.parse_args()
    if not arguments.prepared.is_dir():
        parser.error(f"{arguments.prepared} is not a folder of prepared arrays; run `make` first")
    if arguments.epochs is not None and arguments.epochs < 1:
        parser.error("--epochs must be a positive integer")
    print(json.dumps(main(arguments.prepared, arguments.epochs)))
