"""The dense classifier of the lesson: build, seed, compile and fit it a whole epoch at a time; its saved folder."""

import csv
import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from stages.common import PipelineError, write_csv
from stages.data import DataError

# What the train stage writes into its output folder.
MODEL, HISTORY, ENVIRONMENT = "model.keras", "history.csv", "environment.json"
HISTORY_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy")

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}


def make_deterministic(seed: int, threads: int) -> None:
    """Same seed, data and thread count: same weights. Call before TensorFlow runs anything.

    Ops run one at a time, each on `threads` threads: a dense network has nothing to run side by side, and a
    second op thread stalled XLA for seconds at a time.
    """
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)


class PhiloxDropout(keras.layers.Dropout):
    """Keras's Dropout, the same masks bit for bit, drawn with Philox named rather than left to "auto_select":
    XLA on CPU runs the auto-selected generator about 30 times slower. A training detail: `portable` puts Keras's
    own Dropout back before the model is saved."""

    def call(self, inputs, training=False):
        if not training or not self.rate:
            return inputs
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
        return tf.nn.experimental.stateless_dropout(inputs, self.rate, seed, rng_alg="philox")


class WholeEpochs(keras.Model):
    """Fits `classifier` one epoch per Keras step, through `fit_epochs` (Keras's fit given the whole epoch at once).

    The step shuffles the epoch and runs Keras's own train_step on each minibatch of `batch_size` in a
    TensorFlow loop, compiled by XLA when `jit_compile`: the updates of a plain fit, without its per-batch
    round trips. Callbacks, history and validation stay Keras's.
    """

    def __init__(self, classifier: keras.Model, batch_size: int, jit_compile: bool):
        super().__init__(name="whole_epochs")
        self.classifier = classifier
        self.batch_size = batch_size
        self.shuffle_seed = keras.random.SeedGenerator()
        self.minibatch_step = tf.function(super().train_step, jit_compile=jit_compile)
        self.build(classifier.input_shape)

    def call(self, inputs, training=False):
        return self.classifier(inputs, training=training)

    def fit_epochs(
        self,
        train: tuple[np.ndarray, np.ndarray],
        valid: tuple[np.ndarray, np.ndarray],
        initial_epoch: int,
        epochs: int,
        callbacks: list[keras.callbacks.Callback],
    ) -> keras.callbacks.History:
        return self.fit(
            *train,
            batch_size=len(train[0]),
            shuffle=False,  # train_step shuffles
            initial_epoch=initial_epoch,
            epochs=epochs,
            validation_data=valid,
            validation_batch_size=len(valid[0]),
            callbacks=callbacks,
            verbose=0,
        )

    def train_step(self, data):
        x, y = data
        size = tf.shape(x)[0]
        order = keras.random.shuffle(tf.range(size), seed=self.shuffle_seed)

        def update(start):
            batch = order[start : start + self.batch_size]
            self.minibatch_step((tf.gather(x, batch), tf.gather(y, batch)))
            return (start + self.batch_size,)

        tf.while_loop(lambda start: start < size, update, (tf.constant(0),))
        return self.get_metrics_result()


class EpochProgress(keras.callbacks.Callback):
    """One line per epoch: its metrics, and how long the remaining epochs should take at the pace so far."""

    def __init__(self, name: str, initial_epoch: int, epochs: int):
        super().__init__()
        self.name, self.initial_epoch, self.epochs = name, initial_epoch, epochs
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        pace = (time.perf_counter() - self.started) / (done - self.initial_epoch)
        metrics = ", ".join(f"{name} {value:.4f}" for name, value in logs.items())
        print(
            f"{self.name}: epoch {done}/{self.epochs}: {metrics}; {pace:.1f} s/epoch, "
            f"about {pace * (self.epochs - done):.0f} s left",
            flush=True,
        )


class DivergenceError(PipelineError):
    pass


class StopOnDivergence(keras.callbacks.Callback):
    """Stops training at the first epoch whose training or validation loss is NaN, infinite or exploded; `advice`
    names the params to look at. Listed before the checkpoints, so that epoch is never saved.

    Exploded: over 100 times the loss of a uniform guess, ln(classes), which only blown-up logits reach (a learning
    rate of 50 gives 2e7 in the first epoch, and ends at chance without ever reaching NaN).
    """

    def __init__(self, name: str, num_classes: int, advice: str):
        super().__init__()
        self.name, self.advice = name, advice
        self.uniform_guess_loss = math.log(num_classes)

    def on_epoch_end(self, epoch, logs=None):
        for metric in ("loss", "val_loss"):
            value = float(logs[metric])
            if not math.isfinite(value) or value > 100 * self.uniform_guess_loss:
                raise DivergenceError(
                    f"{self.name}: training diverged at epoch {epoch + 1}: {metric} {value:.4g} (a uniform guess "
                    f"scores {self.uniform_guess_loss:.2f}); {self.advice}"
                )


def build_model(
    input_shape: tuple[int, ...], num_classes: int, hidden_units: tuple[int, ...], activation: str, dropout: float
) -> keras.Model:
    """Flatten, then one Dense layer per entry of `hidden_units` (each followed by Dropout if any), then softmax."""
    inputs = keras.Input(shape=input_shape, name="image")
    hidden = keras.layers.Flatten()(inputs)
    for units in hidden_units:
        hidden = keras.layers.Dense(units, activation=activation)(hidden)
        if dropout:
            hidden = PhiloxDropout(dropout)(hidden)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="class_probabilities")(hidden)
    return keras.Model(inputs, outputs, name="dense_classifier")


def portable(classifier: keras.Model) -> keras.Model:
    """`classifier`, compiled as it is, with Keras's own Dropout in place of PhiloxDropout: the same weights and
    predictions, and a saved file that plain Keras loads without this project."""

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        kind = keras.layers.Dropout if isinstance(layer, PhiloxDropout) else type(layer)
        return kind.from_config(layer.get_config())

    copy = keras.models.clone_model(classifier, clone_function=clone)
    copy.set_weights(classifier.get_weights())
    copy.compile_from_config(classifier.get_compile_config())
    return copy


def compile_model(
    models: tuple[keras.Model, ...], optimizer: str, learning_rate: float, schedule: str, total_steps: int
) -> None:
    """Sparse categorical cross-entropy on integer labels, with accuracy; cosine decay reaches zero at the end.

    The models (the classifier, and the WholeEpochs fitting it if any) share one optimizer; the classifier is
    compiled so that it is saved ready to evaluate.
    """
    if schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    shared_optimizer = OPTIMIZERS[optimizer](learning_rate=learning_rate)
    for model in models:
        model.compile(
            optimizer=shared_optimizer,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=False,  # the epoch loop stays a graph; WholeEpochs compiles each update
        )


def write_history(history: dict[str, list[float]], path: Path) -> None:
    rows = zip(*(history[column] for column in HISTORY_COLUMNS), strict=True)
    write_csv(
        path,
        ("epoch", *HISTORY_COLUMNS),
        ((epoch, *(f"{value:.6f}" for value in values)) for epoch, values in enumerate(rows, start=1)),
    )


def read_history(path: Path) -> dict[str, list[float]]:
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    return {column: [float(row[column]) for row in rows] for column in HISTORY_COLUMNS}


def load_model(trained: Path) -> keras.Model:
    if not (trained / MODEL).is_file():
        raise DataError(f"no model at {trained / MODEL}; run `dvc repro` to train it")
    return keras.saving.load_model(trained / MODEL, safe_mode=True)
