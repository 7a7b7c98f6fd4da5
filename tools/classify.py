"""Classify your own images with a trained model, printing each image's most likely classes.

    python -m tools.classify --dataset mnist my_digit.png photo_of_a_seven.jpg

Any size, colour or grayscale, dark ink on light paper or the reverse: each image is first brought to the
dataset's convention, that of MNIST: grayscale, a light object on a dark background, the object's longer side
fitted into `object_size` pixels and centred as the dataset's images are (`centre` in its catalog entry: MNIST puts a
digit's centre of mass at pixel (14, 14); Fashion-MNIST centres each object's box).
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from lessonkit.catalog import find_dataset
from lessonkit.errors import DataError, run
from lessonkit.formats import IMAGE_SHAPE, NUM_CLASSES
from lessonkit.saved import load_model

INK = 0.2  # share of the image's contrast above which a pixel belongs to the object


def read_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return ImageOps.exif_transpose(image)
    except (OSError, Image.DecompressionBombError) as error:  # OSError: unidentified, truncated or missing
        raise DataError(f"cannot read {path} as an image ({error})") from None


def grayscale(image: Image.Image) -> np.ndarray:
    """Values in [0, 1]; a transparent background counts as white paper, 16-bit and floating-point images keep
    their depth."""
    if image.mode.startswith("I"):
        return np.asarray(image, dtype=np.float32) / 65535
    if image.mode == "F":  # floating point, in [0, 1] or [0, 255] or any range: taken over its own
        pixels = np.asarray(image, dtype=np.float32)
        return (pixels - pixels.min()) / max(float(np.ptp(pixels)), np.finfo(np.float32).tiny)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        paper = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype=np.float32) / 255


def border(pixels: np.ndarray) -> np.ndarray:
    return np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])


def to_convention(image: Image.Image, object_size: int, centre: str, source: str = "the image") -> np.ndarray:
    """A 28x28 float32 array in [0, 1] as the dataset's images are: light object, dark background, centred."""
    pixels = grayscale(image)
    if not np.isfinite(pixels).all():  # a floating-point image may hold NaN or infinity
        raise DataError(f"{source} has pixels that are not finite numbers")
    background = np.median(border(pixels))
    if background > 0.5:  # dark on light: make it light on dark
        pixels, background = 1 - pixels, 1 - background
    contrast = pixels.max() - background
    if contrast < 0.1:
        raise DataError(f"{source} shows no object: it is nearly one shade throughout")
    pixels = np.clip((pixels - background) / contrast, 0, 1)
    rows, columns = np.nonzero(pixels > INK)
    crop = pixels[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    scale = object_size / max(crop.shape)
    height, width = (max(1, round(side * scale)) for side in crop.shape)
    fitted = np.clip(np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.LANCZOS)), 0, 1)
    if centre == "mass":  # MNIST puts the centre of mass at pixel (14, 14)
        middle = (np.arange(height) @ fitted.sum(axis=1), np.arange(width) @ fitted.sum(axis=0)) / fitted.sum()
        wanted = np.array(IMAGE_SHAPE) / 2
    else:  # the middle of the object's box at the middle of the frame
        middle = (np.array(fitted.shape) - 1) / 2
        wanted = (np.array(IMAGE_SHAPE) - 1) / 2
    top, left = (
        int(np.clip(round(goal - at), 0, frame - side))
        for goal, at, frame, side in zip(wanted, middle, IMAGE_SHAPE, fitted.shape, strict=True)
    )
    frame = np.zeros(IMAGE_SHAPE, dtype=np.float32)
    frame[top : top + height, left : left + width] = fitted
    return frame


def main(dataset_name: str, trained: Path, paths: list[Path], top: int) -> list[list[tuple[str, float]]]:
    """Print and return, per image, its `top` classes with their probabilities; unreadable images are named in
    one error at the end, after the others are classified."""
    if not 1 <= top <= NUM_CLASSES:
        raise DataError(f"--top {top}: it must be between 1 and {NUM_CLASSES}")
    dataset = find_dataset(dataset_name)
    model = load_model(trained)
    results, failures = [], []
    for path in paths:
        try:
            image = to_convention(read_image(path), dataset.object_size, dataset.centre, str(path))
        except DataError as error:
            failures.append(str(error))
            continue
        probabilities = model.predict(image[np.newaxis], verbose=0)[0]
        best = np.argsort(probabilities)[::-1][:top]
        ranked = [(dataset.classes[label], float(probabilities[label])) for label in best]
        results.append(ranked)
        print(f"{path}: " + ", ".join(f"{name} ({probability:.1%})" for name, probability in ranked))
    if failures:
        raise DataError("; ".join(failures))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--dataset", required=True, help="a dataset with a catalog entry datasets/<dataset>.yaml, e.g. mnist"
    )
    parser.add_argument("--model", type=Path, help="the train stage's folder (default: models/<dataset>)")
    parser.add_argument("--top", type=int, default=3, help="how many classes to show per image (default: 3)")
    parser.add_argument("images", type=Path, nargs="+", help="image files: PNG, JPEG, or anything Pillow reads")
    arguments = parser.parse_args()
    run(
        lambda: main(
            arguments.dataset,
            arguments.model or Path("models", arguments.dataset),
            arguments.images,
            arguments.top,
        )
    )
