"""What a training run shows and refuses while it runs: one progress line per epoch, and a stop on divergence."""

import math
import time

import keras

from lessonkit.errors import PipelineError


class EpochProgress(keras.callbacks.Callback):
    """One line per epoch: its metrics, and how long the remaining epochs should take at the pace so far."""

    def __init__(self, name: str, initial_epoch: int, epochs: int):
        super().__init__()
        self.name, self.initial_epoch, self.epochs = name, initial_epoch, epochs
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        pace = (time.perf_counter() - self.started) / (done - self.initial_epoch)
        metrics = ", ".join(f"{name} {value:.4f}" for name, value in logs.items())
        print(
            f"{self.name}: epoch {done}/{self.epochs}: {metrics}; {pace:.1f} s/epoch, "
            f"about {pace * (self.epochs - done):.0f} s left",
            flush=True,
        )


class DivergenceError(PipelineError):
    pass


class StopOnDivergence(keras.callbacks.Callback):
    """Stops training at the first epoch whose training or validation loss is NaN, infinite or exploded; `advice`
    names the params to look at. Listed before the checkpoints, so that epoch is never saved.

    Exploded: over 100 times the loss of a uniform guess, ln(classes), which only blown-up logits reach (a learning
    rate of 50 gives 2e7 in the first epoch, and ends at chance without ever reaching NaN).
    """

    def __init__(self, name: str, num_classes: int, advice: str):
        super().__init__()
        self.name, self.advice = name, advice
        self.uniform_guess_loss = math.log(num_classes)

    def on_epoch_end(self, epoch, logs=None):
        for metric in ("loss", "val_loss"):
            value = float(logs[metric])
            if not math.isfinite(value) or value > 100 * self.uniform_guess_loss:
                raise DivergenceError(
                    f"{self.name}: training diverged at epoch {epoch + 1}: {metric} {value:.4g} (a uniform guess "
                    f"scores {self.uniform_guess_loss:.2f}); {self.advice}"
                )
