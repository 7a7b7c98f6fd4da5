"""How much `tools.classify` loses by taking people's images: the first test images, saved as a photo of one would
come (dark ink on light paper, 3 times larger, RGB PNG), read and brought back to the dataset's convention as
tools.classify does, against the committed model on the test arrays themselves.

Run from the project root after `make`: `python -m bench.classify [--count N]` (all 10,000 test images of each
dataset: about 30 seconds). Prints JSON: per dataset, the accuracy on the arrays and on the photos.
"""

import lessonkit  # noqa: F401  first: pins TensorFlow's numerics before it loads

# isort: split
import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from lessonkit import params
from lessonkit.catalog import Dataset, find_dataset
from lessonkit.formats import load_arrays
from lessonkit.saved import load_model
from tools.classify import read_image, to_convention

ENLARGED = 3


def through_a_photo(image: np.ndarray, path: Path, dataset: Dataset) -> np.ndarray:
    """`image` saved at `path` as a photo of it would come, then read as tools.classify reads one."""
    ink_on_paper = Image.fromarray(np.uint8(np.round((1 - image) * 255)))
    ink_on_paper.resize((image.shape[1] * ENLARGED, image.shape[0] * ENLARGED)).convert("RGB").save(path)
    return to_convention(read_image(path), dataset.object_size, dataset.centre)


def accuracies(dataset_name: str, count: int | None, folder: Path) -> dict:
    dataset = find_dataset(dataset_name)
    model = load_model(Path("models", dataset_name))
    images, labels = load_arrays(Path("data/prepared", dataset_name), "X_test", "y_test")
    images, labels = images[:count], labels[:count]
    photos = np.stack(
        [through_a_photo(image, folder / f"{dataset_name}-{index}.png", dataset) for index, image in enumerate(images)]
    )
    return {
        "images": len(images),
        "arrays": float(np.mean(model.predict(images, verbose=0).argmax(axis=1) == labels)),
        "photos": float(np.mean(model.predict(photos, verbose=0).argmax(axis=1) == labels)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Accuracy of tools.classify on the test images made into photos.")
    parser.add_argument("--count", type=int, help="first test images of each dataset (default: all)")
    count = parser.parse_args().count
    if count is not None and count < 1:
        parser.error("--count must be a positive integer")
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps({name: accuracies(name, count, Path(folder)) for name in params.load("datasets")[0]}))


if __name__ == "__main__":
    main()
