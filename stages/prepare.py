"""Normalize a dataset's images to float32 in [0, 1] and hold out a stratified validation set.

Reads <raw>/{X_train_full,y_train_full,X_test,y_test}.npy.
Writes <out>/{X_train,y_train,X_valid,y_valid,X_test,y_test}.npy; the test set is only normalized.
"""

import argparse
from pathlib import Path

import numpy as np

from stages import params
from stages.common import run
from stages.data import load_arrays, normalize, save_arrays


def split_validation(labels: np.ndarray, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation images, each class held out in proportion to its size.

    Per-class quotas are rounded by largest remainder so they add up to exactly `validation_size`;
    the seed picks which images of each class go. Both index arrays come back sorted.
    """
    classes, counts = np.unique(labels, return_counts=True)
    if not len(classes) <= validation_size < len(labels):
        raise params.ParamsError(
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
    images, labels, test_images, test_labels = load_arrays(raw, "X_train_full", "y_train_full", "X_test", "y_test")
    train, validation = split_validation(labels, prepare.validation_size, seed)
    images = normalize(images)
    save_arrays(
        out,
        {
            "X_train": images[train],
            "y_train": labels[train],
            "X_valid": images[validation],
            "y_valid": labels[validation],
            "X_test": normalize(test_images),
            "y_test": test_labels,
        },
    )
    print(f"{out}: {len(train)} training, {len(validation)} validation and {len(test_labels)} test images, in [0, 1]")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", type=Path, help="folder of the download stage's arrays")
    parser.add_argument("out", type=Path, help="folder to write the prepared arrays to")
    arguments = parser.parse_args()
    run(lambda: main(arguments.raw, arguments.out, *params.load("seed", "prepare")))
