"""The download stage on synthetic IDX files: verified, written identically, or refused with nothing written."""

from dataclasses import replace

import numpy as np
import pytest

from lessonkit.catalog import find_dataset
from lessonkit.errors import DataError
from lessonkit.sources import from_keras, from_mirror, sources
from stages import download
from tests.helpers import synthetic_idx_files, write_mirror


def test_writes_the_four_arrays_from_the_mirror(synthetic_project):
    download.main("tiny", synthetic_project / "raw")
    arrays = {path.stem: np.load(path, allow_pickle=False) for path in (synthetic_project / "raw").glob("*.npy")}
    assert {name: array.shape for name, array in arrays.items()} == {
        "X_train_full": (120, 28, 28),
        "y_train_full": (120,),
        "X_test": (30, 28, 28),
        "y_test": (30,),
    }
    assert arrays["X_train_full"].dtype == np.uint8


def test_gzipped_mirror_and_rerun_give_identical_bytes(synthetic_project):
    download.main("tiny", synthetic_project / "first")
    mirror = synthetic_project / "mirror"
    for path in mirror.iterdir():
        path.unlink()
    write_mirror(mirror, synthetic_idx_files(), gzipped=True)
    download.main("tiny", synthetic_project / "second")
    for path in (synthetic_project / "first").iterdir():
        assert path.read_bytes() == (synthetic_project / "second" / path.name).read_bytes()


def test_checksum_mismatch_is_refused_and_nothing_written(synthetic_project):
    write_mirror(synthetic_project / "mirror", synthetic_idx_files(seed=1))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte from the registry copy .* has SHA-256 \w+, expected"):
        download.main("tiny", synthetic_project / "raw")
    assert not (synthetic_project / "raw").exists()


def test_missing_source_names_the_file_and_the_fix(synthetic_project):
    (synthetic_project / "mirror" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(
        DataError, match=r"t10k-labels-idx1-ubyte\(\.gz\) is missing.*Fix: run `python -m tools.mirrors`"
    ):
        download.main("tiny", synthetic_project / "raw")
    assert not (synthetic_project / "raw").exists()


def test_a_registry_copy_on_disk_is_read_before_the_keras_loader(synthetic_project):
    dataset = replace(find_dataset("tiny"), keras="mnist")
    assert [fetch for _, fetch in sources(dataset)] == [from_mirror, from_keras]
    missing = replace(dataset, mirror_dir=synthetic_project / "not-installed")
    assert [fetch for _, fetch in sources(missing)] == [from_keras, from_mirror]
