"""Measure the trained model on the 10,000 test images: loss, accuracy, per-class accuracy, confusion.

Reads the train stage's folder (model, history, environment) and <prepared>/{X_test,y_test}.npy.
Writes test loss and accuracy (JSON), the model card (JSON: a fingerprint of the weights, their count and the
environment that trained them), accuracy per class (CSV), every test image's actual and predicted class (CSV,
for DVC's confusion plot), and as pictures (PNG) the confusion matrix and the training curves.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from stages.common import run, write_csv, write_json
from stages.data import NUM_CLASSES, arrays_sha256, find_dataset, load_arrays
from stages.figures import plot_confusion, plot_history
from stages.model import ENVIRONMENT, HISTORY, load_model, read_history

BATCH_SIZE = 1000  # inference only: any size gives the same predictions, larger is faster


def weights_fingerprint(weights: list[np.ndarray]) -> str:
    """SHA-256 over every weight array's shape and bytes, in layer order: equal exactly when the weights are.

    The .keras file cannot show this, since Keras writes the save time into it.
    """
    return arrays_sha256(weights)


def main(
    dataset_name: str,
    prepared: Path,
    trained: Path,
    metrics_path: Path,
    card_path: Path,
    per_class_path: Path,
    predictions_path: Path,
    confusion_path: Path,
    curves_path: Path,
) -> None:
    class_names = find_dataset(dataset_name).classes
    x_test, y_test = load_arrays(prepared, "X_test", "y_test")
    model = load_model(trained)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=BATCH_SIZE, verbose=0)
    predicted = model.predict(x_test, batch_size=BATCH_SIZE, verbose=0).argmax(axis=1)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    per_class = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    write_json(metrics_path, {"test": {"loss": round(float(loss), 6), "accuracy": round(float(accuracy), 6)}})
    write_json(
        card_path,
        {
            "weights_sha256": weights_fingerprint(model.get_weights()),
            "parameters": model.count_params(),
            "trained_in": json.loads((trained / ENVIRONMENT).read_text()),
        },
    )
    write_csv(
        per_class_path,
        ("class", "accuracy"),
        ((name, f"{value:.6f}") for name, value in zip(class_names, per_class, strict=True)),
    )
    write_csv(
        predictions_path,
        ("actual", "predicted"),
        ((class_names[actual], class_names[guess]) for actual, guess in zip(y_test, predicted, strict=True)),
    )
    plot_confusion(confusion, class_names, f"{dataset_name}: test set confusion matrix", confusion_path)
    plot_history(read_history(trained / HISTORY), dataset_name, curves_path)
    print(f"{dataset_name}: test accuracy {accuracy:.4f}, test loss {loss:.4f} on {len(y_test)} images")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", help="a dataset named in datasets.yaml")
    parser.add_argument("prepared", type=Path, help="folder of the prepare stage's arrays")
    parser.add_argument("trained", type=Path, help="the train stage's folder")
    parser.add_argument("metrics", type=Path, help="where to write test loss and accuracy (.json)")
    parser.add_argument("card", type=Path, help="where to write the weights' SHA-256, count and environment (.json)")
    parser.add_argument("per_class", type=Path, help="where to write the accuracy of each class (.csv)")
    parser.add_argument("predictions", type=Path, help="where to write actual and predicted classes (.csv)")
    parser.add_argument("confusion", type=Path, help="where to draw the confusion matrix (.png)")
    parser.add_argument("curves", type=Path, help="where to draw the training curves (.png)")
    arguments = parser.parse_args()
    run(
        lambda: main(
            arguments.dataset,
            arguments.prepared,
            arguments.trained,
            arguments.metrics,
            arguments.card,
            arguments.per_class,
            arguments.predictions,
            arguments.confusion,
            arguments.curves,
        )
    )
