"""Classifying your own images: whatever their size, colours or polarity, they classify as the originals do."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lessonkit.errors import DataError
from lessonkit.model import build_model, compile_model
from lessonkit.saved import MODEL
from lessonkit.training import make_deterministic
from tests.helpers import CLASS_NAMES, TEST_THREADS
from tools import classify

SHAPES = {0: "ring", 1: "bar", 7: "seven"}


def draw(shape: str, shift: tuple[int, int] = (0, 0), width: int = 3) -> np.ndarray:
    """A 28x28 image in MNIST's convention: a light stroke on black, within the central 20x20."""
    image = Image.new("L", (28, 28))
    pen = ImageDraw.Draw(image)
    x, y = 4 + shift[0], 4 + shift[1]
    if shape == "ring":
        pen.ellipse((x + 3, y, x + 17, y + 19), outline=255, width=width)
    elif shape == "bar":
        pen.line((x + 10, y, x + 10, y + 19), fill=255, width=width)
    else:
        pen.line((x + 2, y + 1, x + 17, y + 1, x + 7, y + 19), fill=255, width=width)
    return np.asarray(image, dtype=np.float32) / 255


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the three shapes in the convention, in a folder as the train stage leaves it."""
    make_deterministic(0, TEST_THREADS)
    widths = (2, 3, 4)
    x = np.stack(
        [
            classify.to_convention(Image.fromarray(np.uint8(draw(shape, width=width) * 255)), 20, "mass")
            for shape in SHAPES.values()
            for width in widths
        ]
    )
    y = np.repeat(list(SHAPES), len(widths))
    model = build_model((28, 28), 10, (32,), "relu", dropout=0)
    compile_model(model, {"name": "adam", "learning_rate": 0.01}, "constant", steps=0)
    model.fit(x, y, epochs=30, verbose=0)
    folder = tmp_path_factory.mktemp("trained")
    model.save(folder / MODEL)
    return folder


def variants(original: np.ndarray, folder: Path, name: str) -> list[Path]:
    """The original as PNG (8 and 16 bits) and floating-point TIFF, then larger and off-centre, inverted, and in
    colour (PNG and JPEG)."""
    ink = original[..., np.newaxis]
    canvas = np.zeros((150, 110), np.float32)
    canvas[20:104, 10:94] = np.asarray(Image.fromarray(original).resize((84, 84), Image.Resampling.BICUBIC))
    dark_blue_on_yellow = (1 - ink) * np.array([250, 235, 160]) + ink * np.array([20, 30, 110])
    pictures = {
        "original.png": Image.fromarray(np.uint8(original * 255)),
        "16-bit.png": Image.fromarray(np.uint16(original * 65535)),
        "float.tiff": Image.fromarray(original),
        "larger.png": Image.fromarray(np.uint8(np.clip(canvas, 0, 1) * 255)),
        "inverted.png": Image.fromarray(np.uint8((1 - np.clip(canvas, 0, 1)) * 255)),
        "colour.png": Image.fromarray(np.uint8(dark_blue_on_yellow)),
        "colour.jpg": Image.fromarray(np.uint8(dark_blue_on_yellow)).resize((56, 56)),
    }
    paths = []
    for file, picture in pictures.items():
        paths.append(folder / f"{name}-{file}")
        picture.save(paths[-1])
    return paths


@pytest.mark.parametrize("label", SHAPES)
def test_other_sizes_inversions_and_colours_classify_as_the_original(label, trained, synthetic_project, capsys):
    original = draw(SHAPES[label])
    paths = variants(original, synthetic_project, SHAPES[label])
    results = classify.main("tiny", trained, paths, top=3)

    assert [ranked[0][0] for ranked in results] == [CLASS_NAMES[label]] * len(paths)
    assert all(len(ranked) == 3 and ranked[0][1] >= ranked[1][1] >= ranked[2][1] for ranked in results)
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in printed] == [str(path) for path in paths]
    assert all(f"{CLASS_NAMES[label]} (" in line for line in printed)


@pytest.mark.parametrize(("object_size", "centre", "middle"), [(20, "mass", 14), (28, "box", 13.5)])
def test_a_dark_block_on_light_paper_becomes_light_on_dark_fitted_and_centred(object_size, centre, middle):
    paper = np.full((100, 200), 230, np.uint8)
    paper[10:90, 130:170] = 15  # 80 tall, 40 wide, far right of centre
    image = classify.to_convention(Image.fromarray(paper), object_size, centre)

    rows, columns = np.nonzero(image > 0.5)
    assert (rows.max() - rows.min() + 1, columns.max() - columns.min() + 1) == (object_size, object_size // 2)
    assert image.max() == pytest.approx(1, abs=0.01) and image[0, 0] == 0
    assert np.array(np.nonzero(image)).mean(axis=1) == pytest.approx([middle, middle], abs=0.5)


def test_unreadable_and_blank_images_are_named_after_the_others_are_classified(trained, synthetic_project, capsys):
    good = variants(draw("bar"), synthetic_project, "bar")[0]
    not_an_image = synthetic_project / "notes.png"
    not_an_image.write_text("not a picture")
    blank = synthetic_project / "blank.png"
    Image.new("RGB", (40, 30), "white").save(blank)
    missing = synthetic_project / "missing.jpg"
    not_a_number = synthetic_project / "nan.tiff"
    Image.fromarray(np.full((28, 28), np.nan, np.float32)).save(not_a_number)

    with pytest.raises(DataError) as error:
        classify.main("tiny", trained, [not_an_image, not_a_number, good, blank, missing], top=3)

    assert f"cannot read {not_an_image} as an image" in str(error.value)
    assert f"{blank} shows no object" in str(error.value)
    assert f"cannot read {missing} as an image" in str(error.value)
    assert f"{not_a_number} has pixels that are not finite numbers" in str(error.value)
    assert capsys.readouterr().out.startswith(f"{good}: {CLASS_NAMES[1]} (")


def test_an_image_too_large_to_open_safely_is_named_after_the_others_are_classified(
    trained, synthetic_project, monkeypatch, capsys
):
    good = variants(draw("bar"), synthetic_project, "bar")[0]
    huge = synthetic_project / "huge.png"
    Image.new("L", (100, 100)).save(huge)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses twice that, 2,000 pixels, as a bomb

    with pytest.raises(DataError, match=f"cannot read {huge} as an image .*decompression bomb"):
        classify.main("tiny", trained, [huge, good], top=3)
    assert capsys.readouterr().out.startswith(f"{good}: {CLASS_NAMES[1]} (")


def test_top_must_be_a_number_of_classes(trained):
    with pytest.raises(DataError, match="--top 11: it must be between 1 and 10"):
        classify.main("tiny", trained, [], top=11)
