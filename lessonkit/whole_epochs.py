"""The fast training loop: a whole epoch per Keras step, and the dropout that keeps it fast under XLA."""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import keras
import numpy as np
import tensorflow as tf


class ThreefryDropout(keras.layers.Dropout):
    """Keras's Dropout, its seeds drawn the same way, its masks drawn with Threefry: under XLA on CPU, dropout with
    Threefry costs an update less than half what it costs with Philox (bench/epoch.py), itself about 30 times as
    fast as the generator Keras leaves to "auto_select". Integer arithmetic only: the same masks on every CPU."""

    rng_alg = "threefry"

    def call(self, inputs, training=False):
        if not training or not self.rate:
            return inputs
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
        return tf.nn.experimental.stateless_dropout(inputs, self.rate, seed, rng_alg=self.rng_alg)


@contextmanager
def threefry_dropout(classifier: keras.Model, dropout_class: type[ThreefryDropout] = ThreefryDropout) -> Iterator[None]:
    """Within the block, the classifier's Dropout layers draw with Threefry, or as `dropout_class` does (under XLA
    only: TensorFlow's own kernels have no Threefry). Afterwards they are Keras's own again, so the saved model needs
    nothing of this project."""
    layers = [layer for layer in classifier.layers if type(layer) is keras.layers.Dropout]
    for layer in layers:
        layer.__class__ = dropout_class
    try:
        yield
    finally:
        for layer in layers:
            layer.__class__ = keras.layers.Dropout


def one_element(arrays: tuple[np.ndarray, ...]) -> tf.data.Dataset:
    """`arrays` as the one element of a dataset, turned into tensors once. Without tf.data's autotuning and the
    prefetching it adds, which has nothing to win here: its thread held up the end of some fits by seconds."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.inject_prefetch = False
    return tf.data.Dataset.from_tensors(arrays).with_options(options)


class WholeEpochs(keras.Model):
    """Fits a compiled `classifier` one epoch per Keras step, through `fit_epochs` (Keras's fit given the whole
    epoch at once, as the one element of a dataset: the arrays become tensors once, not every epoch).

    The step shuffles the epoch and runs the classifier's own train_step on each minibatch of `batch_size` in a
    TensorFlow loop, compiled by XLA when `jit_compile`: the updates of a plain fit, without its per-batch round
    trips; under XLA, Dropout draws its masks with Threefry. Callbacks, history and validation stay Keras's.
    """

    def __init__(self, classifier: keras.Model, batch_size: int, jit_compile: bool):
        super().__init__(name="whole_epochs")
        self.classifier = classifier
        self.batch_size = batch_size
        self.shuffle_seed = keras.random.SeedGenerator()
        self.threefry = jit_compile  # not keras.Model's jit_compile, which compile() resets
        # Keras's train_step has no Python control flow on tensors to convert: tracing it without AutoGraph is faster
        self.minibatch_step = tf.function(classifier.train_step, jit_compile=jit_compile, autograph=False)
        self.build(classifier.input_shape)
        self.compile(optimizer=classifier.optimizer)  # fit asks for it; the classifier's loss and metrics do the work

    @property
    def metrics(self):
        return self.classifier.metrics

    def call(self, inputs, training=False):
        return self.classifier(inputs, training=training)

    def fit_epochs(
        self,
        train: tuple[np.ndarray, np.ndarray],
        valid: tuple[np.ndarray, np.ndarray],
        initial_epoch: int,
        epochs: int,
        callbacks: list[keras.callbacks.Callback],
    ) -> None:
        with threefry_dropout(self.classifier) if self.threefry else nullcontext():
            self.fit(
                one_element(train).repeat(),
                steps_per_epoch=1,
                shuffle=False,  # train_step shuffles
                initial_epoch=initial_epoch,
                epochs=epochs,
                validation_data=one_element(valid),
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
        return self.classifier.get_metrics_result()

    def test_step(self, data):
        return self.classifier.test_step(data)
