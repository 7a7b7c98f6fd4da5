"""Normalize-and-split: exact sizes, stratified, seeded, test set untouched."""

import numpy as np
import pytest

from lessonkit.errors import ParamsError
from lessonkit.params import PrepareParams
from stages import download, prepare


def test_split_is_stratified_exact_and_disjoint():
    labels = np.repeat(np.arange(10), [100, 120, 80, 100, 100, 100, 100, 100, 100, 100])
    train, validation = prepare.split_validation(labels, 100, seed=3)
    assert len(validation) == 100
    assert len(train) == len(labels) - 100
    assert not set(train) & set(validation)
    assert np.bincount(labels[validation], minlength=10).tolist() == [10, 12, 8, 10, 10, 10, 10, 10, 10, 10]


def test_split_depends_on_seed_only():
    labels = np.arange(500) % 10
    first = prepare.split_validation(labels, 50, seed=1)[1]
    assert np.array_equal(first, prepare.split_validation(labels, 50, seed=1)[1])
    assert not np.array_equal(first, prepare.split_validation(labels, 50, seed=2)[1])


@pytest.mark.parametrize("size", [5, 500, 600])
def test_validation_size_must_leave_training_images_and_cover_classes(size):
    with pytest.raises(ParamsError, match=f"prepare.validation_size = {size}"):
        prepare.split_validation(np.arange(500) % 10, size, seed=0)


def test_main_writes_normalized_split_and_untouched_test_set(synthetic_project):
    download.main("tiny", synthetic_project / "raw")
    prepare.main(synthetic_project / "raw", synthetic_project / "prepared", 0, PrepareParams(validation_size=20))
    arrays = {path.stem: np.load(path) for path in (synthetic_project / "prepared").glob("*.npy")}
    assert arrays["X_train"].shape == (100, 28, 28)
    assert arrays["X_valid"].shape == (20, 28, 28)
    assert arrays["X_test"].shape == (30, 28, 28)
    assert all(arrays[name].dtype == np.float32 for name in ("X_train", "X_valid", "X_test"))
    assert arrays["X_train"].min() >= 0 and arrays["X_train"].max() <= 1
    raw_test = np.load(synthetic_project / "raw" / "X_test.npy")
    assert np.array_equal(arrays["X_test"], raw_test / np.float32(255))
    assert np.array_equal(arrays["y_test"], np.load(synthetic_project / "raw" / "y_test.npy"))


def test_normalize_maps_bytes_to_unit_interval():
    scaled = prepare.normalize(np.array([0, 51, 255], np.uint8))
    assert scaled.dtype == np.float32
    assert scaled.tolist() == pytest.approx([0.0, 0.2, 1.0])
