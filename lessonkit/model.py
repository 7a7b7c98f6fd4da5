"""The dense classifier of the lesson: built from its layer sizes, compiled with any optimizer Keras knows."""

import math
from typing import Any

import keras

from lessonkit.errors import ParamsError


def build_model(
    input_shape: tuple[int, ...],
    num_classes: int,
    hidden_units: tuple[int, ...],
    activation: str,
    dropout: float,
    input_dropout: float = 0.0,
) -> keras.Model:
    """Flatten (then Dropout of the pixels if `input_dropout`), then one Dense layer per entry of `hidden_units`
    (each followed by Dropout if `dropout`), then softmax. Every layer is named, so the saved model's bytes do not
    depend on how many models the process built before."""
    inputs = keras.Input(shape=input_shape, name="image")
    hidden = keras.layers.Flatten(name="pixels")(inputs)
    if input_dropout:
        hidden = keras.layers.Dropout(input_dropout, name="pixel_dropout")(hidden)
    for layer, units in enumerate(hidden_units, start=1):
        hidden = keras.layers.Dense(units, activation=activation, name=f"hidden_{layer}")(hidden)
        if dropout:
            hidden = keras.layers.Dropout(dropout, name=f"dropout_{layer}")(hidden)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="class_probabilities")(hidden)
    return keras.Model(inputs, outputs, name="dense_classifier")


def steps_per_epoch(examples: int, batch_size: int) -> int:
    """Updates in one epoch: the last minibatch may be smaller."""
    return math.ceil(examples / batch_size)


def make_optimizer(optimizer: dict[str, Any], schedule: str, steps: int) -> keras.optimizers.Optimizer:
    """The Keras optimizer `optimizer["name"]` with the other entries as its arguments; with the cosine schedule,
    its learning rate decays to zero over `steps` updates."""
    arguments = {key: value for key, value in optimizer.items() if key != "name"}
    if schedule == "cosine":
        arguments["learning_rate"] = keras.optimizers.schedules.CosineDecay(
            arguments["learning_rate"], decay_steps=steps
        )
    try:
        kind = type(keras.optimizers.get(optimizer["name"]))
    except (ValueError, TypeError, KeyError):  # the last two: Optimizer and LossScaleOptimizer, not built by name
        raise ParamsError(
            f"params.yaml: train.optimizer.name = {optimizer['name']!r} is not allowed; it must name an optimizer "
            "of keras.optimizers, e.g. adam, sgd or rmsprop"
        ) from None
    try:
        return kind(**arguments, name=optimizer["name"])  # named, as the layers are
    except (TypeError, ValueError) as error:
        raise ParamsError(f"params.yaml: train.optimizer = {optimizer} is not allowed; Keras says: {error}") from None


def compile_model(classifier: keras.Model, optimizer: dict[str, Any], schedule: str, steps: int) -> None:
    """Sparse categorical cross-entropy on integer labels, with accuracy; `steps` is the whole run's updates."""
    classifier.compile(
        optimizer=make_optimizer(optimizer, schedule, steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,  # evaluate and predict run TensorFlow's own kernels; training picks its own compiler
    )
