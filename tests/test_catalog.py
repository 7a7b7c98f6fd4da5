"""The dataset catalog: one entry per dataset in datasets/, each checked as it is read."""

import re

import pytest

from lessonkit.catalog import find_dataset
from lessonkit.errors import DataError
from tests.helpers import change_catalog


def test_project_catalog_names_the_classes_and_checksums_of_both_datasets():
    assert find_dataset("mnist").classes == tuple(str(digit) for digit in range(10))
    assert find_dataset("fashion_mnist").classes[9] == "Ankle boot"
    for name in ("mnist", "fashion_mnist"):
        assert all(re.fullmatch(r"[0-9a-f]{64}", checksum) for checksum in find_dataset(name).sha256.values())


@pytest.mark.usefixtures("synthetic_project")
def test_unknown_dataset_is_named():
    with pytest.raises(DataError, match=r"unknown dataset 'digits': there is no datasets/digits.yaml .*describes tiny"):
        find_dataset("digits")


def test_a_catalog_entry_must_say_how_its_objects_are_centred(synthetic_project):
    change_catalog(synthetic_project, "tiny", lambda entry: entry.update(centre="middle"))
    with pytest.raises(DataError, match="tiny has centre 'middle'; it must be mass or box"):
        find_dataset("tiny")
