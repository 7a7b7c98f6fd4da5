"""The dense classifier of the lesson: how to build, compile, seed and load it."""

from pathlib import Path

import keras
import tensorflow as tf

from stages.data import DataError

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}


def make_deterministic(seed: int, threads: int) -> None:
    """Same seed, data and thread count: same weights. Call before TensorFlow runs anything."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)


def build_model(
    input_shape: tuple[int, ...], num_classes: int, hidden_units: tuple[int, ...], activation: str, dropout: float
) -> keras.Model:
    """Flatten, then one Dense layer per entry of `hidden_units` (each followed by Dropout if any), then softmax."""
    inputs = keras.Input(shape=input_shape, name="image")
    hidden = keras.layers.Flatten()(inputs)
    for units in hidden_units:
        hidden = keras.layers.Dense(units, activation=activation)(hidden)
        if dropout:
            hidden = keras.layers.Dropout(dropout)(hidden)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="class_probabilities")(hidden)
    return keras.Model(inputs, outputs, name="dense_classifier")


def compile_model(
    model: keras.Model, optimizer: str, learning_rate: float, schedule: str, total_steps: int, steps_per_execution: int
) -> None:
    """Sparse categorical cross-entropy on integer labels, with accuracy; cosine decay reaches zero at the end."""
    if schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    model.compile(
        optimizer=OPTIMIZERS[optimizer](learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def load_model(path: Path) -> keras.Model:
    if not path.is_file():
        raise DataError(f"no model at {path}; run `dvc repro` to train it")
    return keras.saving.load_model(path, safe_mode=True)
