"""params.yaml: the project's own file parses; every kind of bad value is refused by name."""

import pytest
import yaml

from lessonkit import params
from lessonkit.errors import ParamsError
from tests.helpers import DELETE, with_change

GOOD = yaml.safe_load(params.PARAMS_FILE.read_text())


def test_project_params_parse_to_typed_groups():
    parsed = params.parse(GOOD)
    assert parsed["model"].hidden_units == (200, 100)
    assert parsed["train"].epochs == 60
    assert parsed["prepare"].validation_size == 6000
    assert parsed["train"].optimizer["name"] == "adam"


def test_optimizer_arguments_keep_their_types():
    changed = with_change(
        GOOD, "train.optimizer", {"name": "sgd", "learning_rate": 1, "momentum": 0.9, "nesterov": True}
    )
    assert params.parse(changed)["train"].optimizer == {
        "name": "sgd",
        "learning_rate": 1,
        "momentum": 0.9,
        "nesterov": True,
    }


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("train.epochs", 0, "train.epochs = 0 is not allowed"),
        ("train.epochs", -3, "train.epochs = -3"),
        ("train.epochs", "60", "train.epochs = '60' .* of type int"),
        ("train.epochs", True, "train.epochs = True"),
        ("train.batch_size", 0, "train.batch_size = 0"),
        ("train.optimizer.learning_rate", 0, "train.optimizer.learning_rate = 0 .* a positive number"),
        ("train.optimizer.learning_rate", "fast", "train.optimizer.learning_rate = 'fast' .* a positive number"),
        ("train.optimizer.name", 3, "train.optimizer.name = 3 .* the name of a Keras optimizer"),
        ("train.optimizer.name", DELETE, "train.optimizer.name = None"),
        ("train.optimizer.momentum", [0.9], r"train.optimizer.momentum = \[0.9\] .* a number, true/false or a name"),
        ("train.optimizer.momentum", float("inf"), "train.optimizer.momentum = inf .* a finite number"),
        ("train.optimizer", "adam", "train.optimizer = 'adam' .* a mapping"),
        ("train.schedule", "step", "train.schedule = 'step'"),
        ("train.keep", "first", "train.keep = 'first'"),
        ("train.jit_compile", "yes", "train.jit_compile = 'yes' .* of type bool"),
        ("train.distribute", "gpus", "train.distribute = .gpus. .* one of none, mirrored, multi_worker"),
        ("train.threads", DELETE, "missing key train.threads"),
        ("train.momentum", 0.9, "unknown key train.momentum"),
        ("model.hidden_units", [], r"model.hidden_units = \[\] .* non-empty list"),
        ("model.hidden_units", [200, 0], r"model.hidden_units = \[200, 0\]"),
        ("model.hidden_units", [200.5], "model.hidden_units = 200.5"),
        ("model.hidden_units", 200, "model.hidden_units = 200 .* a list of int"),
        ("model.activation", "swish2", "model.activation = 'swish2'"),
        ("model.dropout", 1.0, "model.dropout = 1.0"),
        ("model.input_dropout", -0.1, "model.input_dropout = -0.1"),
        ("prepare.validation_size", 0, "prepare.validation_size = 0"),
        ("predict.count", 0, "predict.count = 0"),
        ("seed", 1.5, "seed = 1.5"),
        ("datasets", ["../x"], "datasets = '../x'"),
        ("datasets", [], r"datasets = \[\]"),
        ("datasets", ["mnist", "mnist"], "distinct"),
        ("extra", 1, "unknown key extra"),
        ("predict", DELETE, "missing key predict"),
    ],
)
def test_bad_value_is_refused_naming_the_key(path, value, message):
    with pytest.raises(ParamsError, match=message):
        params.parse(with_change(GOOD, path, value))


def test_load_returns_the_sections_asked_for(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(with_change(GOOD, "seed", 7)))
    seed, predict = params.load("seed", "predict", path=path)
    assert seed == 7
    assert predict == params.PredictParams(count=5)


def test_unreadable_file_is_reported(tmp_path):
    with pytest.raises(ParamsError, match="cannot read"):
        params.load("seed", path=tmp_path / "missing.yaml")
