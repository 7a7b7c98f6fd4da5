"""What the tests share: the tiny params, synthetic datasets in the real IDX format and their catalog entries,
and one call that downloads, prepares and trains such a dataset."""

import copy
import gzip
import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lessonkit import params
from lessonkit.catalog import CATALOG, entry_path
from lessonkit.formats import IDX_FILES, encode_idx, sha256
from stages import download, prepare, train

PROJECT = Path(__file__).resolve().parents[1]
CLASS_NAMES = [f"class {label}" for label in range(10)]
TEST_THREADS = 1  # conftest.py starts TensorFlow with this many threads

# params.yaml for the synthetic dataset `tiny`: one quick epoch of a small network.
TINY_PARAMS = {
    "datasets": ["tiny"],
    "seed": 0,
    "prepare": {"validation_size": 20},
    "model": {"hidden_units": [16], "activation": "relu", "dropout": 0.0, "input_dropout": 0.0},
    "train": {
        "epochs": 1,
        "batch_size": 32,
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "schedule": "constant",
        "keep": "last",
        "jit_compile": False,
        "threads": TEST_THREADS,
        "distribute": "none",
    },
    "predict": {"count": 3},
}

DELETE = object()


def ci_script(name: str) -> types.ModuleType:
    """One of the CI scripts in .ci/, imported as a module."""
    spec = importlib.util.spec_from_file_location(name, PROJECT / ".ci" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_change(values: dict, path: str, value: object) -> dict:
    """A deep copy of `values` with the dotted `path` set to `value`, or removed if `value` is DELETE."""
    changed = copy.deepcopy(values)
    *parents, key = path.split(".")
    group = changed
    for parent in parents:
        group = group[parent]
    if value is DELETE:
        del group[key]
    else:
        group[key] = value
    return changed


def tiny_params(**changes: dict[str, Any]) -> dict:
    """TINY_PARAMS with `changes`: each keyword a section, mapping the keys to change to their values."""
    values = copy.deepcopy(TINY_PARAMS)
    for section, updates in changes.items():
        values[section].update(updates)
    return values


def tiny(*sections: str, **changes: dict[str, Any]) -> tuple[Any, ...]:
    """The named sections of tiny_params(**changes), typed as the stages get them,
    e.g. tiny("model", "train", train={"epochs": 2})."""
    parsed = params.parse(tiny_params(**changes))
    return tuple(parsed[section] for section in sections)


def synthetic_idx_files(train_size: int = 120, test_size: int = 30, seed: int = 0) -> dict[str, bytes]:
    """Random 28x28 images whose labels cycle through all ten classes, as IDX bytes per file name."""
    rng = np.random.default_rng(seed)
    arrays = (
        rng.integers(0, 256, (train_size, 28, 28), dtype=np.uint8),
        (np.arange(train_size) % 10).astype(np.uint8),
        rng.integers(0, 256, (test_size, 28, 28), dtype=np.uint8),
        (np.arange(test_size) % 10).astype(np.uint8),
    )
    return {file: encode_idx(array) for file, array in zip(IDX_FILES, arrays, strict=True)}


def write_mirror(folder: Path, files: dict[str, bytes], gzipped: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for file, raw in files.items():
        if gzipped:
            (folder / f"{file}.gz").write_bytes(gzip.compress(raw, mtime=0))
        else:
            (folder / file).write_bytes(raw)


def write_catalog(project: Path, mirrors: dict[str, Path], checksums: dict[str, str]) -> None:
    """A catalog entry per dataset, with no Keras loader, so the stages read the given mirror folders."""
    (project / CATALOG).mkdir(exist_ok=True)
    for name, mirror in mirrors.items():
        entry = {
            "keras": None,
            "mirror": {"dir": str(mirror)},
            "classes": CLASS_NAMES,
            "object_size": 20,
            "centre": "mass",
            "sha256": checksums,
        }
        (project / entry_path(name)).write_text(yaml.safe_dump(entry))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by relative path, with its bytes."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def change_catalog(project: Path, name: str, change) -> None:
    """Apply `change` to the parsed catalog entry of dataset `name` and write it back."""
    path = project / entry_path(name)
    entry = yaml.safe_load(path.read_text())
    change(entry)
    path.write_text(yaml.safe_dump(entry))


def write_tiny_dataset(project: Path, train_size: int = 120) -> None:
    """The synthetic dataset `tiny` in `project`/mirror, and the catalog entry vouching for it."""
    files = synthetic_idx_files(train_size)
    write_mirror(project / "mirror", files)
    write_catalog(project, {"tiny": project / "mirror"}, {file: sha256(raw) for file, raw in files.items()})


def train_tiny(
    project: Path, validation_size: int, model: params.ModelParams, train_params: params.TrainParams
) -> None:
    """Download, prepare (seed 0) and train `tiny` in `project`, into raw/, prepared/, trained/ and live/."""
    download.main("tiny", project / "raw")
    prepare.main(project / "raw", project / "prepared", 0, params.PrepareParams(validation_size))
    train.main(
        project / "prepared", project / "trained", project / "checkpoints", project / "live", 0, model, train_params
    )


LOAD_WITHOUT_THE_PROJECT = """
import importlib.util, sys
import keras, numpy as np
assert importlib.util.find_spec("lessonkit") is None, "the project is importable here"
model = keras.saving.load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
"""


def predict_without_the_project(model: Path, images: Path, folder: Path) -> np.ndarray:
    """The model's predictions for the images, from plain Keras in a fresh Python run in `folder`, where the
    project cannot be imported."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    command = [sys.executable, "-c", LOAD_WITHOUT_THE_PROJECT, str(model), str(images), "predictions.npy"]
    result = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return np.load(folder / "predictions.npy")
