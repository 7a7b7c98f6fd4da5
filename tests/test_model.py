"""The classifier: the lesson's layers, and compiled with any Keras optimizer named in the params."""

import keras
import pytest

from lessonkit.errors import ParamsError
from lessonkit.model import build_model, compile_model, make_optimizer, steps_per_epoch


def test_build_model_has_the_lessons_layers():
    model = build_model((28, 28), 10, (200, 100), "relu", dropout=0)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [200, 100, 10]
    assert isinstance(model.layers[1], keras.layers.Flatten)
    assert model.count_params() == 784 * 200 + 200 + 200 * 100 + 100 + 100 * 10 + 10


def test_dropout_follows_each_hidden_layer():
    model = build_model((28, 28), 10, (16, 8), "relu", dropout=0.2)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]


def test_input_dropout_comes_before_the_first_hidden_layer():
    model = build_model((28, 28), 10, (16,), "relu", dropout=0, input_dropout=0.2)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Flatten", "Dropout", "Dense", "Dense"]
    assert model.layers[2].rate == 0.2


@pytest.mark.parametrize(("examples", "batch_size", "steps"), [(54000, 128, 422), (128, 128, 1), (129, 128, 2)])
def test_steps_per_epoch_count_the_last_smaller_minibatch(examples, batch_size, steps):
    assert steps_per_epoch(examples, batch_size) == steps


@pytest.mark.parametrize(
    ("optimizer", "kind", "arguments"),
    [
        ({"name": "adam", "learning_rate": 0.001}, keras.optimizers.Adam, {}),
        (
            {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
            keras.optimizers.SGD,
            {"momentum": 0.9},
        ),
        (
            {"name": "AdamW", "learning_rate": 0.001, "weight_decay": 0.01},
            keras.optimizers.AdamW,
            {"weight_decay": 0.01},
        ),
        ({"name": "nadam", "learning_rate": 0.002}, keras.optimizers.Nadam, {}),
    ],
)
def test_any_keras_optimizer_by_name_with_its_arguments(optimizer, kind, arguments):
    built = make_optimizer(optimizer, "constant", steps=10)
    assert type(built) is kind
    assert float(built.learning_rate) == pytest.approx(optimizer["learning_rate"])
    for name, value in arguments.items():
        assert getattr(built, name) == pytest.approx(value)


def test_the_cosine_schedule_decays_to_zero_over_the_run():
    built = make_optimizer({"name": "adam", "learning_rate": 0.001}, "cosine", steps=100)
    assert float(built.learning_rate) == pytest.approx(0.001)
    built.iterations.assign(50)
    assert float(built.learning_rate) == pytest.approx(0.0005)
    built.iterations.assign(100)
    assert float(built.learning_rate) == pytest.approx(0)


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        ({"name": "adamm", "learning_rate": 0.001}, r"train.optimizer.name = 'adamm' is not allowed; it must name"),
        ({"name": "adam", "learning_rate": 0.001, "momentum": 0.9}, r"train.optimizer = .* Keras says: .*momentum"),
    ],
)
def test_an_unknown_optimizer_or_argument_is_refused_by_name(optimizer, message):
    with pytest.raises(ParamsError, match=message):
        make_optimizer(optimizer, "constant", steps=10)


def test_compile_model_uses_sparse_cross_entropy_and_accuracy():
    model = build_model((28, 28), 10, (16,), "relu", dropout=0)
    compile_model(model, {"name": "sgd", "learning_rate": 0.01}, "constant", steps=10)
    assert model.loss == "sparse_categorical_crossentropy"
    assert model.get_compile_config()["metrics"] == ["accuracy"]
    assert isinstance(model.optimizer, keras.optimizers.SGD)
