"""The train stage's folder: the model as a plain .keras file, its per-epoch history and the environment that
trained it; written whole or not at all, and read back by the stages after it."""

import csv
import datetime
import json
import zipfile
from pathlib import Path

import keras

from lessonkit import numerics
from lessonkit.errors import DataError
from lessonkit.files import atomic_path, write_csv, write_json

MODEL, HISTORY, ENVIRONMENT = "model.keras", "history.csv", "environment.json"
SAVED_AT = datetime.datetime(1980, 1, 1)  # written instead of the clock: the earliest date a zip entry can hold
HISTORY_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy")


def save(folder: Path, classifier: keras.Model, history: dict[str, list[float]], environment: dict) -> None:
    with atomic_path(folder) as temporary:
        temporary.mkdir()
        classifier.save(temporary / MODEL)
        remove_clock_and_addresses(temporary / MODEL)
        write_history(history, temporary / HISTORY)
        write_json(temporary / ENVIRONMENT, environment)


def remove_clock_and_addresses(path: Path) -> None:
    """Rewrite a .keras file so that its bytes depend on the model alone.

    Keras stamps the save time into metadata.json and into the zip entries, and identifies each object the config
    shares by its memory address: here the times become SAVED_AT and the addresses 1, 2, ... in order of appearance.
    """
    with zipfile.ZipFile(path) as archive:
        entries = [(entry, archive.read(entry)) for entry in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for entry, content in entries:
            if entry.filename == "metadata.json":
                content = json.dumps(json.loads(content) | {"date_saved": f"{SAVED_AT:%Y-%m-%d@%H:%M:%S}"}).encode()
            elif entry.filename == "config.json":
                content = json.dumps(renumber_shared_objects(json.loads(content), {})).encode()
            archive.writestr(zipfile.ZipInfo(entry.filename, SAVED_AT.timetuple()[:6]), content, entry.compress_type)


def renumber_shared_objects(config: object, numbers: dict[int, int]) -> object:
    if isinstance(config, list):
        return [renumber_shared_objects(item, numbers) for item in config]
    if not isinstance(config, dict):
        return config
    renumbered = {key: renumber_shared_objects(value, numbers) for key, value in config.items()}
    if "shared_object_id" in config:
        renumbered["shared_object_id"] = numbers.setdefault(config["shared_object_id"], len(numbers) + 1)
    return renumbered


def write_history(history: dict[str, list[float]], path: Path) -> None:
    rows = zip(*(history[column] for column in HISTORY_COLUMNS), strict=True)
    write_csv(
        path,
        ("epoch", *HISTORY_COLUMNS),
        ((epoch, *(f"{value:.6f}" for value in values)) for epoch, values in enumerate(rows, start=1)),
    )


def read_history(folder: Path) -> dict[str, list[float]]:
    try:
        with (folder / HISTORY).open(newline="") as file:
            rows = list(csv.DictReader(file))
        history = {column: [float(row[column]) for row in rows] for column in HISTORY_COLUMNS}
    except (OSError, KeyError, TypeError, ValueError):  # TypeError: a short row's missing value
        raise damaged(folder / HISTORY) from None
    if not rows:
        raise damaged(folder / HISTORY)
    return history


def load_model(folder: Path) -> keras.Model:
    if not (folder / MODEL).is_file():
        raise DataError(f"no model at {folder / MODEL}; run `dvc repro` to train it")
    numerics.pin_eigen_cache_sizes()  # before the model multiplies anything
    try:
        return keras.saving.load_model(folder / MODEL, safe_mode=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # Keras says "File not found" for a damaged one
        raise damaged(folder / MODEL) from None


def read_environment(folder: Path) -> dict:
    try:
        return json.loads((folder / ENVIRONMENT).read_text())
    except (OSError, ValueError):
        raise damaged(folder / ENVIRONMENT) from None


def damaged(path: Path) -> DataError:
    return DataError(f"{path} is missing, damaged or not the train stage's; run `dvc repro` to rebuild it")
