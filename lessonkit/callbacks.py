"""What a training run shows and refuses while it runs: one progress line per epoch, the metrics logged live with
DVCLive, and a stop on divergence."""

import math
import time
from pathlib import Path

import keras
from dvclive import Live
from scmrepo.exceptions import SCMError

from lessonkit.errors import PipelineError
from lessonkit.files import remove


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


class LiveMetrics(keras.callbacks.Callback):
    """Each epoch's metrics, logged with DVCLive into `folder` as they come: metrics.json holds the latest epoch
    (what `dvc exp show` and the VS Code extension read while training runs), plots/metrics/<metric>.tsv one row
    per epoch. DVCLive leaves dvc.yaml alone. A resumed run replays its `history` first, so the files end as an
    unbroken run's do."""

    def __init__(self, folder: Path, history: dict[str, list[float]]):
        super().__init__()
        try:
            self.live = Live(str(folder), save_dvc_exp=False, dvcyaml=None)
        except SCMError as error:  # DVCLive reads the git revision, which a repository without commits lacks
            raise PipelineError(f"DVCLive cannot start ({error}); commit once (`git commit`), then run again") from None
        for epoch, values in enumerate(zip(*history.values(), strict=True), start=1):
            self.log(epoch, dict(zip(history, values, strict=True)))

    def log(self, epoch: int, logs: dict) -> None:
        self.live.step = epoch
        for name, value in logs.items():
            self.live.log_metric(name, float(value))
        self.live.make_summary()

    def on_epoch_end(self, epoch, logs=None):
        self.log(epoch + 1, logs)

    def discard(self) -> None:
        """Remove what DVCLive wrote, not the folder: DVC keeps the outputs' .gitignore there."""
        remove(Path(self.live.plots_dir))
        remove(Path(self.live.metrics_file))
