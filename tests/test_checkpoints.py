"""A saved epoch that cannot be read back stops the resume with one line naming the folder to delete."""

import numpy as np
import pytest

from lessonkit.checkpoints import EpochCheckpoints
from lessonkit.errors import DataError
from lessonkit.model import build_model, compile_model
from lessonkit.training import make_deterministic
from tests.helpers import TEST_THREADS


@pytest.mark.parametrize("damaged", ["weights", "state"])
def test_a_damaged_epoch_names_its_folder_and_the_fix(damaged, tmp_path):
    make_deterministic(0, TEST_THREADS)
    model = build_model((28, 28), 10, (4,), "relu", dropout=0)
    compile_model(model, {"name": "adam", "learning_rate": 0.01}, "constant", steps=1)
    images, labels = np.zeros((8, 28, 28), np.float32), np.arange(8) % 10
    checkpoints = EpochCheckpoints(tmp_path, "run")
    model.fit(images, labels, validation_data=(images, labels), callbacks=[checkpoints], verbose=0)
    checkpoints.restore(model, checkpoints.saved_epoch())  # intact: it restores

    path = checkpoints.weights(1) if damaged == "weights" else checkpoints.folder / "epoch-1.state.json"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match=f"cannot resume from {tmp_path / 'run'}: .* delete that folder"):
        checkpoints.restore(model, 1)
