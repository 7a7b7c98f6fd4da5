"""Normalize a dataset's images to float32 in [0, 1] and hold out a stratified validation set.

Reads <raw>/{X_train_full,y_train_full,X_test,y_test}.npy.
Writes <out>/{X_train,y_train,X_valid,y_valid,X_test,y_test}.npy; the test set is only normalized.
"""

import argparse
from pathlib import Path

import numpy as np

from lessonkit import params
from lessonkit.errors import ParamsError, run
from lessonkit.formats import load_arrays, save_arrays


def normalize(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0-255 to float32 in [0, 1]."""
    return images.astype(np.float32) / np.float32(255)


def split_validation(labels: np.ndarray, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation images, each class held out in proportion to its size.

    Per-class quotas are rounded by largest remainder so they add up to exactly `validation_size`;
    the seed picks which images of each class go. Both index arrays come back sorted.
    """
    classes, counts = np.unique(labels, return_counts=True)
    if not len(classes) <= validation_size < len(labels):
        raise ParamsError(
            f"params.yaml: prepare.validation_size = {validation_size} is not allowed; with {len(labels)} "
            f"training images in {len(classes)} classes it must be from {len(classes)} to {len(labels) - 1}"
        )
    quotas = counts * validation_size / len(labels)
    taken = np.floor(quotas).astype(int)
    taken[np.argsort(taken - quotas, kind="stable")[: validation_size - taken.sum()]] += 1
    rng = np.random.default_rng(seed)
    validation = np.sort(
        np.concatenate(
            [
                rng.permutation(np.flatnonzero(labels == label))[:count]
                for label, count in zip(classes, taken, strict=True)
            ]
        )
    )
    return np.setdiff1d(np.arange(len(labels)), validation), validation


def main(raw: Path, out: Path, seed: int, prepare: params.PrepareParams) -> None:
    X_train_full, y_train_full, X_test, y_test = load_arrays(raw, "X_train_full", "y_train_full", "X_test", "y_test")
    train, valid = split_validation(y_train_full, prepare.validation_size, seed)
    X_train_full = normalize(X_train_full)
    save_arrays(
        out,
        {
            "X_train": X_train_full[train],
            "y_train": y_train_full[train],
            "X_valid": X_train_full[valid],
            "y_valid": y_train_full[valid],
            "X_test": normalize(X_test),
            "y_test": y_test,
        },
    )
    print(f"{out}: {len(train)} training, {len(valid)} validation and {len(y_test)} test images, in [0, 1]")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", type=Path, help="folder of the download stage's arrays")
    parser.add_argument("out", type=Path, help="folder to write the prepared arrays to")
    arguments = parser.parse_args()
    run(lambda: main(arguments.raw, arguments.out, *params.load("seed", "prepare")))
