"""The dataset catalog: one entry per dataset in datasets/, each checked as it is read."""

import pytest

from lessonkit.catalog import find_dataset
from lessonkit.errors import DataError
from tests.helpers import change_catalog


def test_project_catalog_has_both_datasets_with_ten_classes():
    assert find_dataset("fashion_mnist").classes[9] == "Ankle boot"
    assert len(find_dataset("mnist").sha256) == 4


@pytest.mark.usefixtures("synthetic_project")
def test_unknown_dataset_is_named():
    with pytest.raises(DataError, match=r"unknown dataset 'digits': there is no datasets/digits.yaml .*describes tiny"):
        find_dataset("digits")


def test_a_catalog_entry_must_say_how_its_objects_are_centred(synthetic_project):
    change_catalog(synthetic_project, "tiny", lambda entry: entry.update(centre="middle"))
    with pytest.raises(DataError, match="tiny has centre 'middle'; it must be mass or box"):
        find_dataset("tiny")
