"""The train stage's folder: the model as a plain .keras file, its per-epoch history and the environment that
trained it; written whole or not at all, and read back by the stages after it."""

import csv
import json
from pathlib import Path

import keras

from lessonkit.errors import DataError
from lessonkit.files import atomic_path, write_csv, write_json

MODEL, HISTORY, ENVIRONMENT = "model.keras", "history.csv", "environment.json"
HISTORY_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy")


def save(folder: Path, classifier: keras.Model, history: dict[str, list[float]], environment: dict) -> None:
    with atomic_path(folder) as temporary:
        temporary.mkdir()
        classifier.save(temporary / MODEL)
        write_history(history, temporary / HISTORY)
        write_json(temporary / ENVIRONMENT, environment)


def write_history(history: dict[str, list[float]], path: Path) -> None:
    rows = zip(*(history[column] for column in HISTORY_COLUMNS), strict=True)
    write_csv(
        path,
        ("epoch", *HISTORY_COLUMNS),
        ((epoch, *(f"{value:.6f}" for value in values)) for epoch, values in enumerate(rows, start=1)),
    )


def read_history(folder: Path) -> dict[str, list[float]]:
    with (folder / HISTORY).open(newline="") as file:
        rows = list(csv.DictReader(file))
    return {column: [float(row[column]) for row in rows] for column in HISTORY_COLUMNS}


def load_model(folder: Path) -> keras.Model:
    if not (folder / MODEL).is_file():
        raise DataError(f"no model at {folder / MODEL}; run `dvc repro` to train it")
    return keras.saving.load_model(folder / MODEL, safe_mode=True)


def read_environment(folder: Path) -> dict:
    return json.loads((folder / ENVIRONMENT).read_text())
