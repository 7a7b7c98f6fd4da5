"""Resume a killed training run from its last complete epoch.

After every epoch the whole training state is saved: weights and optimizer, plus the random generators' states
and the history so far, which Keras's weight files leave out. The folder is named by a hash of everything the
run depends on (seed, model and train params, the prepared arrays), so a run with other params or data never
resumes from it. Each file is written under a temporary name and renamed into place, the weights last: an
epoch counts once its weights are there. The folder goes when the run has written its outputs.
"""

import json
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from lessonkit import params
from lessonkit.errors import DataError
from lessonkit.files import atomic_path, remove, write_json
from lessonkit.formats import arrays_sha256


def run_key(seed: int, model: params.ModelParams, train: params.TrainParams, arrays: list[np.ndarray]) -> str:
    return arrays_sha256(arrays, json.dumps([seed, asdict(model), asdict(train)], sort_keys=True).encode())[:16]


def seed_states(model: keras.Model) -> list[keras.Variable]:
    """The states of the model's random generators (dropout masks, shuffling), in a fixed order."""
    return [variable for variable in model.variables if variable.path.endswith("seed_generator_state")]


class EpochCheckpoints(keras.callbacks.Callback):
    """Saves each epoch's training state under `root`/`key`, keeping the last epoch and the best one."""

    def __init__(self, root: Path, key: str):
        super().__init__()
        self.root, self.folder = root, root / key
        self.history: dict[str, list[float]] = {}

    def weights(self, epoch: int) -> Path:
        return self.folder / f"epoch-{epoch}.weights.h5"

    def _state(self, epoch: int) -> Path:
        return self.folder / f"epoch-{epoch}.state.json"

    def _saved(self) -> list[int]:
        epochs = (
            int(path.name.split(".")[0].removeprefix("epoch-")) for path in self.folder.glob("epoch-*.weights.h5")
        )
        return sorted(epoch for epoch in epochs if self._state(epoch).is_file())

    def best_epoch(self) -> int:
        """The first epoch of highest validation accuracy, counting from 1."""
        return int(np.argmax(self.history["val_accuracy"])) + 1

    def saved_epoch(self) -> int:
        """The last epoch this run saved (0: none). Folders of other runs (other params or data) are removed."""
        for other in self.root.glob("*"):
            if other != self.folder:
                remove(other)
        saved = self._saved()
        return saved[-1] if saved else 0

    def restore(self, trainer: keras.Model, epoch: int) -> None:
        """Load the saved state of `epoch` into `trainer`."""
        trainer.optimizer.build(trainer.trainable_variables)
        try:
            trainer.load_weights(self.weights(epoch))
            state = json.loads(self._state(epoch).read_text())
            for variable, value in zip(seed_states(trainer), state["seed_states"], strict=True):
                variable.assign(value)
            self.history = state["history"]
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(
                f"cannot resume from {self.folder}: epoch {epoch}'s saved state is damaged; delete that folder to "
                "train from the start"
            ) from None

    def on_epoch_end(self, epoch, logs=None):
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))
        done = epoch + 1
        seeds = [variable.numpy().tolist() for variable in seed_states(self.model)]
        write_json(self._state(done), {"history": self.history, "seed_states": seeds})
        with atomic_path(self.weights(done)) as temporary:
            self.model.save_weights(temporary)
        for old in self._saved():
            if old not in (done, self.best_epoch()):
                remove(self.weights(old))
                remove(self._state(old))

    def finish(self) -> None:
        remove(self.root)
