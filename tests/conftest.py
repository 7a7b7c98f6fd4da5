"""Tiny synthetic datasets in the real IDX format, and a catalog that points the stages at them."""

import stages  # noqa: F401  first: pins TensorFlow's numerics before any test loads TensorFlow

# isort: split
import copy
import gzip
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import yaml

from stages import download, prepare, train
from stages.data import IDX_FILES, encode_idx, sha256
from stages.params import ModelParams, PrepareParams, TrainParams

CLASS_NAMES = [f"class {label}" for label in range(10)]
TEST_THREADS = 1

# All tests share one TensorFlow runtime, whose thread counts are fixed when it starts; pin them
# here to the count the tests' training params ask for, so train.main may set them again.
tf.config.threading.set_intra_op_parallelism_threads(TEST_THREADS)
tf.config.threading.set_inter_op_parallelism_threads(TEST_THREADS)

# params.yaml for the synthetic dataset `tiny`: one quick epoch.
TINY_PARAMS = {
    "datasets": ["tiny"],
    "seed": 0,
    "prepare": {"validation_size": 20},
    "model": {"hidden_units": [16], "activation": "relu", "dropout": 0.0},
    "train": {
        "epochs": 1,
        "batch_size": 32,
        "optimizer": "adam",
        "learning_rate": 0.01,
        "schedule": "constant",
        "keep": "last",
        "jit_compile": False,
        "threads": TEST_THREADS,
        "distribute": "none",
    },
    "predict": {"count": 3},
}

DELETE = object()


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


def write_catalog(path: Path, mirrors: dict[str, Path], checksums: dict[str, str]) -> None:
    """A datasets.yaml with no Keras loader, so the stages read the given mirror folders."""
    catalog = {
        name: {
            "keras": None,
            "mirror": {"dir": str(mirror)},
            "classes": CLASS_NAMES,
            "object_size": 20,
            "centre": "mass",
            "sha256": checksums,
        }
        for name, mirror in mirrors.items()
    }
    path.write_text(yaml.safe_dump(catalog))


def write_tiny_dataset(project: Path, train_size: int = 120) -> None:
    """The synthetic dataset `tiny` in `project`/mirror, and the catalog entry vouching for it."""
    files = synthetic_idx_files(train_size)
    write_mirror(project / "mirror", files)
    write_catalog(
        project / "datasets.yaml", {"tiny": project / "mirror"}, {file: sha256(raw) for file, raw in files.items()}
    )


def train_tiny(project: Path, validation_size: int, model: ModelParams, train_params: TrainParams) -> None:
    """Download, prepare (seed 0) and train `tiny` in `project`, into raw/, prepared/ and trained/."""
    download.main("tiny", project / "raw")
    prepare.main(project / "raw", project / "prepared", 0, PrepareParams(validation_size))
    train.main(project / "prepared", project / "trained", project / "checkpoints", 0, model, train_params)


@pytest.fixture
def synthetic_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding datasets.yaml for one synthetic dataset, `tiny`, mirrored in mirror/."""
    write_tiny_dataset(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path
