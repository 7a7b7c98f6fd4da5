"""Where an epoch of the train stage goes: its parts timed one by one, in one process, with the pinned numerics.

Run from the project root after `make` (it reads data/prepared/mnist): `python -m bench.epoch`; `make bench` runs
it too; `--batch-size N` measures another batch size than params.yaml's. Each part is an epoch's worth (that batch
size over the training set), compiled once, then timed 3 times (median):
  - products: the matrix products of the updates alone, in one XLA loop;
  - updates: the classifier's compiled update (products, softmax, loss, Adam, metrics) on one fixed minibatch,
    in a TensorFlow loop as the train stage runs it, without dropout, with params.yaml's dropout drawn with
    Threefry (the train stage's) and with Philox (Keras's own generator);
  - epoch: the train stage's whole epoch (shuffle, gathers, updates, validation), without its callbacks: the
    median of epochs 2 to 4 of one fit.
Prints JSON.
"""

import lessonkit  # noqa: F401  first: pins TensorFlow's numerics before it loads

# isort: split
import argparse
import dataclasses
import itertools
import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lessonkit import params
from lessonkit.formats import IMAGE_SHAPE, NUM_CLASSES, load_arrays
from lessonkit.model import build_model, compile_model, steps_per_epoch
from lessonkit.training import make_deterministic
from lessonkit.whole_epochs import ThreefryDropout, WholeEpochs, threefry_dropout

PREPARED = Path("data/prepared/mnist")


class PhiloxDropout(ThreefryDropout):
    """The train stage's dropout drawn with Philox, the generator Keras's own Dropout draws with on CPU."""

    rng_alg = "philox"


class Clock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, _epoch, logs=None):  # noqa: ARG002
        self.started = time.perf_counter()

    def on_epoch_end(self, _epoch, logs=None):  # noqa: ARG002
        self.seconds.append(time.perf_counter() - self.started)


def median_seconds(run: Callable[[], object]) -> float:
    run()  # tracing and compilation
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def products(batch_size: int, updates: int, hidden_units: tuple[int, ...]) -> float:
    """The products of one update per minibatch: forward, weight gradients, and gradients below the first layer."""
    sizes = [math.prod(IMAGE_SHAPE), *hidden_units, NUM_CLASSES]
    weights = [tf.random.normal((inputs, outputs)) * 0.01 for inputs, outputs in itertools.pairwise(sizes)]
    images = tf.random.normal((batch_size, sizes[0]))

    @tf.function(jit_compile=True)
    def loop(weights):
        def update(step, weights):
            activations = [images]
            for weight in weights:
                activations.append(activations[-1] @ weight)
            delta, gradients = activations[-1], []
            for layer in reversed(range(len(weights))):
                gradients.insert(0, tf.transpose(activations[layer]) @ delta)
                if layer:
                    delta = delta @ tf.transpose(weights[layer])
            return step + 1, [weight - 1e-9 * gradient for weight, gradient in zip(weights, gradients, strict=True)]

        return tf.while_loop(lambda step, _: step < updates, update, (0, weights))

    return median_seconds(lambda: loop(weights))


def classifier(model: params.ModelParams, train: params.TrainParams, dropout: bool) -> keras.Model:
    rates = (model.dropout, model.input_dropout) if dropout else (0.0, 0.0)
    network = build_model(IMAGE_SHAPE, NUM_CLASSES, model.hidden_units, model.activation, *rates)
    compile_model(network, train.optimizer, train.schedule, steps=10_000)
    return network


def updates(network: keras.Model, images: np.ndarray, labels: np.ndarray, count: int, dropout_class: type) -> float:
    """`count` compiled updates on one minibatch, with the Dropout layers drawing as `dropout_class` does."""
    step = tf.function(network.train_step, jit_compile=True)
    minibatch = (tf.constant(images), tf.constant(labels))

    @tf.function
    def loop():
        tf.while_loop(lambda done: done < count, lambda done: (step(minibatch), done + 1)[1], (tf.constant(0),))

    with threefry_dropout(network, dropout_class):
        return median_seconds(loop)


def main() -> None:
    parser = argparse.ArgumentParser(description="Time an epoch of the train stage, part by part.")
    parser.add_argument("--batch-size", type=int, help="images per update (default: params.yaml's)")
    batch_size = parser.parse_args().batch_size
    if batch_size is not None and batch_size < 1:
        parser.error("--batch-size must be a positive integer")
    seed, model, train = params.load("seed", "model", "train")
    if batch_size:
        train = dataclasses.replace(train, batch_size=batch_size)
    make_deterministic(seed, train.threads)
    x_train, y_train, x_valid, y_valid = load_arrays(PREPARED, "X_train", "y_train", "X_valid", "y_valid")
    count = steps_per_epoch(len(x_train), train.batch_size)
    images, labels = x_train[: train.batch_size], y_train[: train.batch_size]
    with_dropout = classifier(model, train, dropout=True)
    results = {
        "batch_size": train.batch_size,
        "updates_per_epoch": count,
        "products": products(train.batch_size, count, model.hidden_units),
        "updates_without_dropout": updates(
            classifier(model, train, dropout=False), images, labels, count, ThreefryDropout
        ),
        "updates_threefry_dropout": updates(with_dropout, images, labels, count, ThreefryDropout),
        "updates_philox_dropout": updates(with_dropout, images, labels, count, PhiloxDropout),
    }
    trainer, clock = WholeEpochs(classifier(model, train, dropout=True), train.batch_size, jit_compile=True), Clock()
    trainer.fit_epochs((x_train, y_train), (x_valid, y_valid), 0, 4, [clock])
    results["epoch"] = round(statistics.median(clock.seconds[1:]), 3)  # the first epoch compiles
    print(json.dumps(results))


if __name__ == "__main__":
    main()
