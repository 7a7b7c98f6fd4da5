"""The fixture most tests start from: a working folder with the tiny params and the synthetic dataset `tiny`."""

import lessonkit  # noqa: F401  first: pins TensorFlow's numerics before any test loads TensorFlow

# isort: split
from pathlib import Path

import pytest
import tensorflow as tf
import yaml

from tests.helpers import TEST_THREADS, TINY_PARAMS, write_tiny_dataset

# All tests share one TensorFlow runtime, whose thread counts are fixed when it starts; pin them here as
# make_deterministic sets them for the tests' training params, so that it may set them again.
tf.config.threading.set_intra_op_parallelism_threads(TEST_THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)


@pytest.fixture
def synthetic_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder: params.yaml holding TINY_PARAMS, and the synthetic dataset `tiny` mirrored in mirror/
    with its catalog entry in datasets/."""
    write_tiny_dataset(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(TINY_PARAMS))
    monkeypatch.chdir(tmp_path)
    return tmp_path
