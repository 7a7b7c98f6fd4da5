"""The fast loop: one update per minibatch, the same sums with and without XLA, and Keras's own Dropout after."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lessonkit.model import build_model, compile_model
from lessonkit.whole_epochs import ThreefryDropout, WholeEpochs, threefry_dropout


def fit_whole_epochs(jit_compile: bool, epochs: int = 2, dropout: float = 0.2) -> WholeEpochs:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.random((100, 28, 28), dtype=np.float32), np.arange(100) % 10
    classifier = build_model((28, 28), 10, (16,), "relu", dropout)
    compile_model(classifier, {"name": "adam", "learning_rate": 0.01}, "constant", steps=0)
    trainer = WholeEpochs(classifier, 32, jit_compile)
    trainer.fit_epochs((x, y), (x[:20], y[:20]), 0, epochs, callbacks=[])
    return trainer


@pytest.mark.parametrize("jit_compile", [False, True])
def test_whole_epochs_update_once_per_minibatch(jit_compile):
    trainer = fit_whole_epochs(jit_compile, epochs=2)
    assert int(trainer.optimizer.iterations) == 2 * 4  # 100 images in minibatches of 32: 4 per epoch
    history = trainer.history.history
    assert history["loss"][1] < history["loss"][0]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_whole_epochs_compute_the_same_with_and_without_xla():
    # Without dropout: under XLA, dropout masks are drawn with Threefry.
    graph, xla = fit_whole_epochs(jit_compile=False, dropout=0), fit_whole_epochs(jit_compile=True, dropout=0)
    for a, b in zip(graph.classifier.get_weights(), xla.classifier.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_threefry_dropout_draws_masks_under_xla_only_while_training():
    classifier = build_model((28, 28), 10, (16,), "relu", dropout=0.5)
    dropouts = [layer for layer in classifier.layers if isinstance(layer, keras.layers.Dropout)]
    inputs = np.ones((1000, 16), np.float32)
    with threefry_dropout(classifier):
        assert all(type(layer) is ThreefryDropout for layer in dropouts)
        masked = np.asarray(tf.function(lambda x: dropouts[0](x, training=True), jit_compile=True)(inputs))
        assert set(np.unique(masked)) == {0.0, 2.0}
        assert abs((masked == 0).mean() - 0.5) < 0.02
        np.testing.assert_array_equal(dropouts[0](inputs, training=False), inputs)
    assert all(type(layer) is keras.layers.Dropout for layer in dropouts)
