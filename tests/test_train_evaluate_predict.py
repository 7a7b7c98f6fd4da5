"""Train, evaluate and predict on a tiny synthetic dataset: every output exists with its schema."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from lessonkit.errors import ParamsError
from lessonkit.formats import arrays_sha256
from lessonkit.params import PredictParams, PrepareParams
from lessonkit.saved import ENVIRONMENT, HISTORY, MODEL, load_model
from stages import download, evaluate, predict, prepare, train
from tests.helpers import (
    PROJECT,
    TEST_THREADS,
    predict_without_the_project,
    snapshot,
    tiny,
    tiny_params,
    train_tiny,
    write_tiny_dataset,
)

CHANGES = {
    "model": {"hidden_units": [16, 8], "dropout": 0.1},
    "train": {"epochs": 2, "schedule": "cosine", "keep": "best", "jit_compile": True},
}
MODEL_PARAMS, TRAIN = tiny("model", "train", **CHANGES)


@pytest.fixture
def trained(synthetic_project: Path) -> Path:
    train_tiny(synthetic_project, 20, MODEL_PARAMS, TRAIN)
    return synthetic_project


def test_train_writes_model_history_and_environment(trained):
    assert sorted(path.name for path in (trained / "trained").iterdir()) == [ENVIRONMENT, HISTORY, MODEL]
    model = keras.saving.load_model(trained / "trained" / MODEL, safe_mode=True)
    assert model.output_shape == (None, 10)
    rows = list(csv.DictReader((trained / "trained" / HISTORY).open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    environment = json.loads((trained / "trained" / ENVIRONMENT).read_text())
    assert environment["tensorflow"] == tf.__version__ and environment["keras"] == keras.__version__
    assert environment["threads"] == {"intra_op": TEST_THREADS, "inter_op": 1} and environment["xla"] is True
    assert environment["distribute"] == {"strategy": "none", "replicas": 1}
    assert not (trained / "checkpoints").exists()  # removed once the outputs are written


@pytest.mark.slow
def test_the_saved_model_loads_in_plain_keras_without_the_project(trained, tmp_path):
    images = trained / "prepared" / "X_test.npy"
    expected = load_model(trained / "trained").predict(np.load(images), verbose=0)
    np.testing.assert_array_equal(predict_without_the_project(trained / "trained" / MODEL, images, tmp_path), expected)


def test_training_is_deterministic(trained):
    first = load_model(trained / "trained").get_weights()
    train.main(
        trained / "prepared", trained / "again", trained / "checkpoints", trained / "live-again", 0, MODEL_PARAMS, TRAIN
    )
    second = load_model(trained / "again").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert arrays_sha256(first) == arrays_sha256(second)
    first[0][0, 0] += 1e-7
    assert arrays_sha256(first) != arrays_sha256(second)
    assert snapshot(trained / "again") == snapshot(trained / "trained")  # model.keras too: no clock, no addresses


def test_evaluate_writes_metrics_per_class_predictions_and_confusion(trained):
    reports = trained / "reports"
    evaluate.main(
        "tiny",
        trained / "prepared",
        trained / "trained",
        metrics=reports / "metrics.json",
        card=reports / "model.json",
        per_class=reports / "per_class.csv",
        predictions=reports / "test_predictions.csv",
        confusion=reports / "confusion.png",
        curves=reports / "curves.png",
    )
    metrics = json.loads((reports / "metrics.json").read_text())
    assert set(metrics) == {"test"}
    assert 0 <= metrics["test"]["accuracy"] <= 1 and metrics["test"]["loss"] > 0
    model = load_model(trained / "trained")
    card = json.loads((reports / "model.json").read_text())
    assert card == {
        "weights_sha256": arrays_sha256(model.get_weights()),
        "parameters": model.count_params(),
        "trained_in": json.loads((trained / "trained" / ENVIRONMENT).read_text()),
    }
    per_class = list(csv.DictReader((reports / "per_class.csv").open()))
    assert [row["class"] for row in per_class] == [f"class {label}" for label in range(10)]
    assert all(0 <= float(row["accuracy"]) <= 1 for row in per_class)
    rows = list(csv.DictReader((reports / "test_predictions.csv").open()))
    assert len(rows) == 30 and rows[0]["actual"] == "class 0"
    hits = sum(row["actual"] == row["predicted"] for row in rows)
    assert hits / 30 == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    assert (reports / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert (reports / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_writes_the_first_images_with_labels(trained):
    reports = trained / "reports"
    predict.main(
        "tiny", trained / "prepared", trained / "trained", reports / "p.json", reports / "p.png", PredictParams(3)
    )
    predictions = json.loads((reports / "p.json").read_text())
    assert [prediction["index"] for prediction in predictions] == [0, 1, 2]
    assert [prediction["actual"] for prediction in predictions] == ["class 0", "class 1", "class 2"]
    for prediction in predictions:
        assert set(prediction) == {"index", "predicted", "probability", "actual", "correct"}
        assert prediction["correct"] == (prediction["predicted"] == prediction["actual"])
    assert (reports / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_predicting_more_images_than_the_test_set_is_refused(trained):
    with pytest.raises(ParamsError, match=r"predict.count = 31 .* only 30 test images"):
        predict.main(
            "tiny",
            trained / "prepared",
            trained / "trained",
            trained / "p.json",
            trained / "p.png",
            PredictParams(31),
        )
    assert not (trained / "p.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("distribute", ["none", "mirrored"])
def test_a_killed_run_resumes_after_its_last_epoch_and_ends_as_an_uninterrupted_one(synthetic_project, distribute):
    """SIGKILL the train stage once epoch 2 of 4 is saved, run it again, compare with an unbroken run."""
    raw, prepared = synthetic_project / "raw", synthetic_project / "prepared"
    write_tiny_dataset(synthetic_project, train_size=3000)
    download.main("tiny", raw)
    prepare.main(raw, prepared, 0, PrepareParams(validation_size=100))
    settings = tiny_params(
        prepare={"validation_size": 100},
        model=CHANGES["model"],
        train=CHANGES["train"] | {"epochs": 4, "batch_size": 16, "distribute": distribute},
    )
    (synthetic_project / "params.yaml").write_text(yaml.safe_dump(settings))

    def command(name: str) -> list[str]:
        return [sys.executable, "-m", "stages.train", str(prepared), name, f"checkpoints-{name}", f"live-{name}"]

    environment = {**os.environ, "PYTHONPATH": str(PROJECT)}
    killed = subprocess.Popen(command("resumed"), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not list(synthetic_project.glob("checkpoints-resumed/*/epoch-2.weights.h5")):
        assert killed.poll() is None, killed.stderr.read().decode()
        time.sleep(0.001)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    assert not (synthetic_project / "resumed").exists()

    for name in ("resumed", "unbroken"):
        result = subprocess.run(command(name), env=environment, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert ("resuming after epoch" in result.stdout) == (name == "resumed")
    weights = [load_model(synthetic_project / name).get_weights() for name in ("resumed", "unbroken")]
    assert arrays_sha256(weights[0]) == arrays_sha256(weights[1])
    assert snapshot(synthetic_project / "resumed") == snapshot(synthetic_project / "unbroken")  # every byte
    live = [snapshot(synthetic_project / f"live-{name}") for name in ("resumed", "unbroken")]
    assert live[0] == live[1] and "plots/metrics/val_loss.tsv" in live[0]  # DVCLive's files: the history replayed
    assert not (synthetic_project / "checkpoints-resumed").exists()
