"""The IDX format and the checks every dataset file goes through."""

import numpy as np
import pytest

from lessonkit.errors import DataError
from lessonkit.formats import check_pair, decode_idx, encode_idx


def test_idx_round_trip_keeps_shape_and_values():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    raw = encode_idx(images)
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert np.array_equal(decode_idx(raw, "test"), images)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "wrong magic number"),
        (b"\x00\x00\x09\x01" + b"\x00\x00\x00\x01" + b"\x05", "wrong magic number"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated in its header"),
        (encode_idx(np.zeros((3, 28, 28), np.uint8))[:-1], "truncated or corrupt"),
        (encode_idx(np.zeros(4, np.uint8)) + b"\x00", "truncated or corrupt"),
    ],
)
def test_decode_refuses_malformed_files(raw, problem):
    with pytest.raises(DataError, match=problem):
        decode_idx(raw, "some-file")


@pytest.mark.parametrize(
    ("images", "labels", "problem"),
    [
        (np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), "3 images but 2 labels"),
        (np.zeros((3, 32, 32), np.uint8), np.zeros(3, np.uint8), r"images are \(32, 32\)"),
        (np.zeros((3, 28, 28), np.uint8), np.array([0, 10, 1], np.uint8), "label 10 outside 0-9"),
    ],
)
def test_check_pair_refuses_inconsistent_data(images, labels, problem):
    with pytest.raises(DataError, match=problem):
        check_pair(images, labels, "some-source")
