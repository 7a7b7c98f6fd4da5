"""Training a compiled classifier: the engine is chosen from the params, and a killed run resumes.

`Training` sets up a reproducible run (seed, threads, deterministic ops) on the devices `train.distribute` names,
and its `fit` runs the fast whole-epoch loop on one machine, or TensorFlow's distributed loop under a strategy.
Each epoch is checkpointed; a run started again resumes after its last complete epoch, bit for bit.
"""

import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lessonkit import distributed, environment, numerics
from lessonkit.callbacks import DivergenceError, EpochProgress, LiveMetrics, StopOnDivergence
from lessonkit.checkpoints import EpochCheckpoints
from lessonkit.params import TrainParams
from lessonkit.whole_epochs import WholeEpochs


def make_deterministic(seed: int, threads: int) -> None:
    """Same seed, data and thread count: same weights. Call before TensorFlow runs anything.

    Ops run one at a time, each on `threads` threads: a dense network has nothing to run side by side, and a
    second op thread stalled XLA for seconds at a time.
    """
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    numerics.pin_eigen_cache_sizes()
    keras.utils.set_random_seed(seed)


class Training:
    """One training run named `name`, resumable from `checkpoints`/`key` (`key` names everything it depends on),
    its metrics logged live into the DVCLive folder `live` if any.

    Build and compile the classifier within `scope()`, then `fit` it. Only the chief of a cluster (or the one
    process of a run on one machine) `writes_outputs`; the others keep their checkpoints outside the project.
    """

    def __init__(self, name: str, seed: int, train: TrainParams, checkpoints: Path, key: str, live: Path | None):
        make_deterministic(seed, train.threads)
        self.name, self.train = name, train
        self.whole_epochs = train.distribute == "none"
        self.strategy = distributed.strategy(train.distribute)
        self.writes_outputs = distributed.is_chief(self.strategy)
        self.live = live if self.writes_outputs else None
        if not self.writes_outputs:
            checkpoints = distributed.scratch(self.strategy, checkpoints)
        self.checkpoints = EpochCheckpoints(checkpoints, key)
        self.done = self.checkpoints.saved_epoch()
        if not self.whole_epochs:
            distributed.agree(self.strategy, self.done)

    def scope(self):
        return self.strategy.scope()

    def fit(
        self,
        classifier: keras.Model,
        train: tuple[np.ndarray, np.ndarray],
        valid: tuple[np.ndarray, np.ndarray],
        callbacks: tuple[keras.callbacks.Callback, ...] = (),
    ) -> dict[str, list[float]]:
        """Train for `train.epochs` epochs, validating after each and calling `callbacks` too; leave the kept
        epoch's weights in `classifier` and return the history of every epoch."""
        epochs = self.train.epochs
        with self.scope():
            trainer = (
                WholeEpochs(classifier, self.train.batch_size, self.train.jit_compile)
                if self.whole_epochs
                else classifier
            )
            if self.done:
                self.checkpoints.restore(trainer, self.done)
                print(f"{self.name}: resuming after epoch {self.done} of {epochs}, saved in {self.checkpoints.folder}")
        optimizer = self.train.optimizer
        advice = (
            f"lower train.optimizer.learning_rate (now {optimizer['learning_rate']:g}) or change "
            f"train.optimizer.name ({optimizer['name']})"
        )
        callbacks = [
            StopOnDivergence(self.name, classifier.output_shape[-1], advice),
            self.checkpoints,
            EpochProgress(self.name, self.done, epochs),
            *callbacks,
        ]
        live_metrics = LiveMetrics(self.live, self.checkpoints.history) if self.live else None
        if live_metrics:
            callbacks.append(live_metrics)
        started = time.perf_counter()
        try:
            if self.whole_epochs:
                trainer.fit_epochs(train, valid, self.done, epochs, callbacks)
            else:
                distributed.fit(
                    self.strategy, classifier, train, valid, self.train.batch_size, self.done, epochs, callbacks
                )
        except DivergenceError:
            self.finish()  # a rerun with the same params would only diverge again
            if live_metrics:
                live_metrics.discard()
            raise
        seconds = time.perf_counter() - started
        history = self.checkpoints.history
        if not self.writes_outputs:
            print(f"{self.name}: trained {epochs - self.done} epochs as a worker; the chief writes the outputs")
            return history
        kept = self.checkpoints.best_epoch() if self.train.keep == "best" else epochs
        trainer.load_weights(self.checkpoints.weights(kept))
        print(
            f"{self.name}: trained {epochs - self.done} epochs in {seconds:.1f} s; kept epoch {kept} "
            f"(validation accuracy {history['val_accuracy'][kept - 1]:.4f})"
        )
        return history

    def environment(self) -> dict:
        """What trained the model: versions, CPU, numerics, and the engine."""
        return environment.describe(
            self.whole_epochs and self.train.jit_compile, self.train.distribute, self.strategy.num_replicas_in_sync
        )

    def finish(self) -> None:
        """Remove the checkpoints: call once the outputs are written."""
        self.checkpoints.finish()
