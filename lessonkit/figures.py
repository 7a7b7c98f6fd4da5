"""The pictures a person looks at: learning curves, confusion matrix, and predicted test images."""

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from lessonkit.files import atomic_path

matplotlib.use("Agg")  # files only, never a window


def save(figure: plt.Figure, path: Path) -> None:
    """PNG without a software or date stamp, so the same figure always has the same bytes."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, metadata={"Software": None})
    plt.close(figure)


def plot_history(history: dict[str, list[float]], title: str, path: Path) -> None:
    """Loss and accuracy against epoch, training and validation, side by side."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    epochs = np.arange(1, len(history["loss"]) + 1)
    for axis, metric in zip(axes, ("loss", "accuracy"), strict=True):
        axis.plot(epochs, history[metric], label="training")
        axis.plot(epochs, history[f"val_{metric}"], label="validation")
        axis.set(xlabel="epoch", ylabel=metric, title=f"{title}: {metric}")
        axis.grid(alpha=0.3)
        axis.legend()
    save(figure, path)


def plot_confusion(matrix: np.ndarray, class_names: tuple[str, ...], title: str, path: Path) -> None:
    """Counts of actual (rows) against predicted (columns) classes on the test set."""
    figure, axis = plt.subplots(figsize=(8, 7), layout="constrained")
    axis.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=45, ha="right")
    axis.set_yticks(ticks, class_names)
    axis.set(xlabel="predicted", ylabel="actual", title=title)
    for (row, column), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        axis.text(column, row, str(count), ha="center", va="center", color=color, fontsize=8)
    save(figure, path)


def plot_predictions(images: np.ndarray, predictions: list[dict], title: str, path: Path) -> None:
    """Each image with its predicted and actual label; green where they agree, red where not."""
    # Margins by hand: constrained layout sets the title on top of the middle image's labels.
    margins = {"top": 0.78, "bottom": 0.02, "left": 0.01, "right": 0.99}
    figure, axes = plt.subplots(1, len(images), figsize=(2.6 * len(images), 3.4), squeeze=False, gridspec_kw=margins)
    for axis, image, prediction in zip(axes[0], images, predictions, strict=True):
        axis.imshow(image, cmap="binary")
        axis.set_axis_off()
        axis.set_title(
            f"predicted {prediction['predicted']} ({prediction['probability']:.0%})\nactual {prediction['actual']}",
            color="green" if prediction["correct"] else "red",
            fontsize=9,
        )
    figure.suptitle(title)
    save(figure, path)
