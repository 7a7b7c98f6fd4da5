"""Measure the trained model on the 10,000 test images: loss, accuracy, per-class accuracy, confusion.

Reads the train stage's folder (model, history, environment) and <prepared>/{X_test,y_test}.npy. Writes the
files of OUTPUTS, each named by its option; the actual and predicted classes feed DVC's confusion plot.
"""

import argparse
from pathlib import Path

import numpy as np

from lessonkit import saved
from lessonkit.catalog import find_dataset
from lessonkit.errors import run
from lessonkit.figures import plot_confusion, plot_history
from lessonkit.files import write_csv, write_json
from lessonkit.formats import NUM_CLASSES, arrays_sha256, load_arrays

BATCH_SIZE = 1000  # inference only: any size gives the same predictions, larger is faster
OUTPUTS = {  # each output: its file's help text
    "metrics": "test loss and accuracy (.json)",
    "card": "the weights' SHA-256, their count and the environment that trained them (.json)",
    "per_class": "the accuracy of each class (.csv)",
    "predictions": "every test image's actual and predicted class (.csv)",
    "confusion": "the confusion matrix (.png)",
    "curves": "the training curves (.png)",
}


def main(
    dataset_name: str,
    prepared: Path,
    trained: Path,
    *,
    metrics: Path,
    card: Path,
    per_class: Path,
    predictions: Path,
    confusion: Path,
    curves: Path,
) -> None:
    class_names = find_dataset(dataset_name).classes
    X_test, y_test = load_arrays(prepared, "X_test", "y_test")
    model = saved.load_model(trained)
    history, environment = saved.read_history(trained), saved.read_environment(trained)  # all read before writing
    loss, accuracy = model.evaluate(X_test, y_test, batch_size=BATCH_SIZE, verbose=0)
    predicted = model.predict(X_test, batch_size=BATCH_SIZE, verbose=0).argmax(axis=1)
    counts = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    np.add.at(counts, (y_test, predicted), 1)
    class_accuracy = np.diag(counts) / np.maximum(counts.sum(axis=1), 1)
    write_json(metrics, {"test": {"loss": round(float(loss), 6), "accuracy": round(float(accuracy), 6)}})
    write_json(
        card,
        {
            # Over every weight array's shape and bytes, not the .keras file's: those also hold the optimizer's
            # state and Keras's file format.
            "weights_sha256": arrays_sha256(model.get_weights()),
            "parameters": model.count_params(),
            "trained_in": environment,
        },
    )
    write_csv(
        per_class,
        ("class", "accuracy"),
        ((name, f"{value:.6f}") for name, value in zip(class_names, class_accuracy, strict=True)),
    )
    write_csv(
        predictions,
        ("actual", "predicted"),
        ((class_names[actual], class_names[guess]) for actual, guess in zip(y_test, predicted, strict=True)),
    )
    plot_confusion(counts, class_names, f"{dataset_name}: test set confusion matrix", confusion)
    plot_history(history, dataset_name, curves)
    print(f"{dataset_name}: test accuracy {accuracy:.4f}, test loss {loss:.4f} on {len(y_test)} images")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", help="a dataset with a catalog entry datasets/<dataset>.yaml")
    parser.add_argument("prepared", type=Path, help="folder of the prepare stage's arrays")
    parser.add_argument("trained", type=Path, help="the train stage's folder")
    for output, written in OUTPUTS.items():
        parser.add_argument(f"--{output.replace('_', '-')}", type=Path, required=True, help=f"where to write {written}")
    arguments = parser.parse_args()
    paths = {output: getattr(arguments, output) for output in OUTPUTS}
    run(lambda: main(arguments.dataset, arguments.prepared, arguments.trained, **paths))
