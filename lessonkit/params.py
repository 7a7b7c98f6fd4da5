"""params.yaml, parsed once into frozen dataclasses: a bad key or value fails at once, by name."""

import math
import re
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml

from lessonkit.errors import ParamsError

PARAMS_FILE = Path("params.yaml")
ACTIVATIONS = ("relu", "gelu", "elu", "selu", "tanh", "sigmoid")
SCHEDULES = ("constant", "cosine")
KEEP = ("best", "last")
DISTRIBUTE = ("none", "mirrored", "multi_worker")
DATASET_NAME = re.compile(r"[a-z][a-z0-9_]*")
SEEDS = range(2**32)  # what NumPy and Keras take
THREADS = range(1, 2**31)  # TensorFlow's thread counts are int32
PREDICTIONS = range(1, 101)  # drawn in one row: 100 are already 26,000 pixels wide


def _allow(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ParamsError(f"{PARAMS_FILE}: {key} = {value!r} is not allowed; it must be {allowed}")


@dataclass(frozen=True)
class PrepareParams:
    validation_size: int

    def check(self) -> None:
        _allow(self.validation_size > 0, "prepare.validation_size", self.validation_size, "positive")


@dataclass(frozen=True)
class ModelParams:
    hidden_units: tuple[int, ...]
    activation: str
    dropout: float
    input_dropout: float

    def check(self) -> None:
        units = self.hidden_units
        _allow(
            len(units) > 0 and min(units) > 0,
            "model.hidden_units",
            list(units),
            "a non-empty list of positive integers",
        )
        _allow(self.activation in ACTIVATIONS, "model.activation", self.activation, f"one of {', '.join(ACTIVATIONS)}")
        for key in ("dropout", "input_dropout"):
            _allow(0 <= getattr(self, key) < 1, f"model.{key}", getattr(self, key), "at least 0 and below 1")


@dataclass(frozen=True)
class TrainParams:
    epochs: int
    batch_size: int
    optimizer: dict[str, Any]  # a Keras optimizer's name and arguments; Keras checks them when it builds it
    schedule: str
    keep: str
    jit_compile: bool
    threads: int
    distribute: str

    def check(self) -> None:
        for key in ("epochs", "batch_size"):
            _allow(getattr(self, key) > 0, f"train.{key}", getattr(self, key), "a positive integer")
        _allow(self.threads in THREADS, "train.threads", self.threads, f"from 1 to {THREADS[-1]}")
        name, learning_rate = self.optimizer.get("name"), self.optimizer.get("learning_rate")
        _allow(isinstance(name, str), "train.optimizer.name", name, "the name of a Keras optimizer, e.g. adam")
        _allow(
            isinstance(learning_rate, int | float) and not isinstance(learning_rate, bool) and learning_rate > 0,
            "train.optimizer.learning_rate",
            learning_rate,
            "a positive number",
        )
        for key, value in self.optimizer.items():
            if key != "name":
                _allow(isinstance(value, bool | int | float), f"train.optimizer.{key}", value, "a number or true/false")
        _allow(self.schedule in SCHEDULES, "train.schedule", self.schedule, f"one of {', '.join(SCHEDULES)}")
        _allow(self.keep in KEEP, "train.keep", self.keep, f"one of {', '.join(KEEP)}")
        _allow(self.distribute in DISTRIBUTE, "train.distribute", self.distribute, f"one of {', '.join(DISTRIBUTE)}")


@dataclass(frozen=True)
class PredictParams:
    count: int

    def check(self) -> None:
        _allow(self.count in PREDICTIONS, "predict.count", self.count, f"from 1 to {PREDICTIONS[-1]}")


SECTIONS: dict[str, Any] = {
    "datasets": list[str],
    "seed": int,
    "prepare": PrepareParams,
    "model": ModelParams,
    "train": TrainParams,
    "predict": PredictParams,
}


def _parse_value(key: str, value: Any, expected: Any) -> Any:
    """Check `value` against a type hint: int, float, str, list[...], tuple[..., ...], or dict[str, Any] (a
    mapping of numbers, booleans and strings)."""
    origin = get_origin(expected)
    if origin is dict:
        _allow(isinstance(value, dict), key, value, "a mapping")
        for name, item in value.items():
            _allow(isinstance(item, bool | int | float | str), f"{key}.{name}", item, "a number, true/false or a name")
            _allow(not isinstance(item, float) or math.isfinite(item), f"{key}.{name}", item, "a finite number")
        return dict(value)
    if origin in (list, tuple):
        item_type = get_args(expected)[0]
        _allow(isinstance(value, list), key, value, f"a list of {item_type.__name__}")
        return origin(_parse_value(key, item, item_type) for item in value)
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        _allow(ok, key, value, "a finite number")
        return float(value)
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    _allow(ok, key, value, f"of type {expected.__name__}")
    return value


def _check_keys(values: dict, names: list[str], group: str = "") -> None:
    """Refuse a key not in `names`, then one of `names` missing; `group` is the section's name, if any."""
    prefix = f"{group}." if group else ""
    unknown = sorted(set(values) - set(names))
    missing = [key for key in names if key not in values]
    if unknown:
        raise ParamsError(f"{PARAMS_FILE}: unknown key {prefix}{unknown[0]}; {group or 'it'} takes {', '.join(names)}")
    if missing:
        raise ParamsError(f"{PARAMS_FILE}: missing key {prefix}{missing[0]}; add it to params.yaml")


def _parse_group(name: str, values: Any, cls: type) -> Any:
    names = [field.name for field in fields(cls)]
    _allow(isinstance(values, dict), name, values, f"a mapping with keys {', '.join(names)}")
    _check_keys(values, names, name)
    group = cls(
        **{field.name: _parse_value(f"{name}.{field.name}", values[field.name], field.type) for field in fields(cls)}
    )
    group.check()
    return group


def parse(raw: Any) -> dict[str, Any]:
    """Validate the whole of params.yaml's content and return every section, typed."""
    _allow(isinstance(raw, dict), "params.yaml", raw, "a mapping")
    _check_keys(raw, list(SECTIONS))
    parsed = {}
    for name, expected in SECTIONS.items():
        if is_dataclass(expected):
            parsed[name] = _parse_group(name, raw[name], expected)
        else:
            parsed[name] = _parse_value(name, raw[name], expected)
    _allow(parsed["seed"] in SEEDS, "seed", parsed["seed"], f"from 0 to {SEEDS[-1]}")
    datasets = parsed["datasets"]
    for dataset in datasets:
        _allow(DATASET_NAME.fullmatch(dataset) is not None, "datasets", dataset, "lower-case letters, digits and _")
    _allow(len(datasets) == len(set(datasets)) > 0, "datasets", datasets, "a non-empty list of distinct names")
    return parsed


def load(*sections: str, path: Path = PARAMS_FILE) -> tuple[Any, ...]:
    """Read params.yaml, validate all of it, and return the named sections in order.

    The stages call this with string literals, so a test can check them against dvc.yaml.
    """
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise ParamsError(
            f"cannot read {path}: {error.problem} at line {mark.line + 1}, column {mark.column + 1}; it must be YAML"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ParamsError(f"cannot read {path}: {' '.join(str(error).split())}") from None
    parsed = parse(raw)
    return tuple(parsed[name] for name in sections)
