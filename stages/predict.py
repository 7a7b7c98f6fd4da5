"""Classify the first test images and show them beside their predicted and actual labels.

Reads the train stage's folder and <prepared>/{X_test,y_test}.npy.
Writes each prediction (JSON) and the images with their labels (PNG).
"""

import argparse
from pathlib import Path

import numpy as np

from lessonkit import params
from lessonkit.catalog import find_dataset
from lessonkit.errors import ParamsError, run
from lessonkit.figures import plot_predictions
from lessonkit.files import write_json
from lessonkit.formats import load_arrays
from lessonkit.saved import load_model


def describe(probabilities: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> list[dict]:
    """Per image: its index, predicted class with its probability, actual class, and whether they agree."""
    return [
        {
            "index": index,
            "predicted": class_names[row.argmax()],
            "probability": round(float(row.max()), 6),
            "actual": class_names[label],
            "correct": bool(row.argmax() == label),
        }
        for index, (row, label) in enumerate(zip(probabilities, labels, strict=True))
    ]


def main(
    dataset_name: str,
    prepared: Path,
    trained: Path,
    predictions_path: Path,
    picture_path: Path,
    predict: params.PredictParams,
) -> None:
    class_names = find_dataset(dataset_name).classes
    X_test, y_test = load_arrays(prepared, "X_test", "y_test")
    if predict.count > len(X_test):
        raise ParamsError(
            f"params.yaml: predict.count = {predict.count} is not allowed; there are only {len(X_test)} test images"
        )
    images, labels = X_test[: predict.count], y_test[: predict.count]
    predictions = describe(load_model(trained).predict(images, verbose=0), labels, class_names)
    write_json(predictions_path, predictions)
    plot_predictions(images, predictions, f"{dataset_name}: first {predict.count} test images", picture_path)
    correct = sum(prediction["correct"] for prediction in predictions)
    print(f"{dataset_name}: {correct} of the first {predict.count} test images classified correctly")
    for prediction in predictions:
        print(
            f"  #{prediction['index']}: predicted {prediction['predicted']} ({prediction['probability']:.1%}),"
            f" actual {prediction['actual']}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", help="a dataset with a catalog entry datasets/<dataset>.yaml")
    parser.add_argument("prepared", type=Path, help="folder of the prepare stage's arrays")
    parser.add_argument("trained", type=Path, help="the train stage's folder")
    parser.add_argument("predictions", type=Path, help="where to write the predictions (.json)")
    parser.add_argument("picture", type=Path, help="where to draw the images with their labels (.png)")
    arguments = parser.parse_args()
    run(
        lambda: main(
            arguments.dataset,
            arguments.prepared,
            arguments.trained,
            arguments.predictions,
            arguments.picture,
            *params.load("predict"),
        )
    )
