"""Train, evaluate and predict on a tiny synthetic dataset: every output exists with its schema."""

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from stages import download, evaluate, predict, prepare, train
from stages.model import WholeEpochs, build_model, compile_model
from stages.params import ModelParams, ParamsError, PredictParams, PrepareParams, TrainParams
from tests.conftest import TEST_THREADS

MODEL = ModelParams(hidden_units=(16, 8), activation="relu", dropout=0.1)
TRAIN = TrainParams(
    epochs=2,
    batch_size=32,
    optimizer="adam",
    learning_rate=0.01,
    schedule="cosine",
    keep="best",
    jit_compile=True,
    threads=TEST_THREADS,
)


@pytest.fixture
def trained(synthetic_project: Path) -> Path:
    download.main("tiny", synthetic_project / "raw")
    prepare.main(synthetic_project / "raw", synthetic_project / "prepared", 0, PrepareParams(validation_size=20))
    reports = synthetic_project / "reports"
    train.main(
        synthetic_project / "prepared",
        synthetic_project / "model.keras",
        reports / "history.csv",
        reports / "curves.png",
        seed=0,
        model=MODEL,
        train=TRAIN,
    )
    return synthetic_project


def test_build_model_has_the_lessons_layers():
    model = build_model((28, 28), 10, (200, 100), "relu", dropout=0)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [200, 100, 10]
    assert isinstance(model.layers[1], keras.layers.Flatten)
    assert model.count_params() == 784 * 200 + 200 + 200 * 100 + 100 + 100 * 10 + 10


def fit_whole_epochs(jit_compile: bool, epochs: int = 2, dropout: float = 0.2) -> WholeEpochs:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.random((100, 28, 28), dtype=np.float32), np.arange(100) % 10
    trainer = WholeEpochs(build_model((28, 28), 10, (16,), "relu", dropout), 32, jit_compile)
    compile_model(trainer, "adam", 0.01, "constant", total_steps=0)
    trainer.fit(x, y, batch_size=len(x), shuffle=False, epochs=epochs, verbose=0)
    return trainer


@pytest.mark.parametrize("jit_compile", [False, True])
def test_whole_epochs_update_once_per_minibatch(jit_compile):
    trainer = fit_whole_epochs(jit_compile, epochs=2)
    assert int(trainer.optimizer.iterations) == 2 * 4  # 100 images in minibatches of 32: 4 per epoch
    assert trainer.history.history["loss"][1] < trainer.history.history["loss"][0]


def test_whole_epochs_compute_the_same_with_and_without_xla():
    # Without dropout: XLA draws dropout masks from its own Philox stream.
    graph, xla = fit_whole_epochs(jit_compile=False, dropout=0), fit_whole_epochs(jit_compile=True, dropout=0)
    for a, b in zip(graph.classifier.get_weights(), xla.classifier.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_train_writes_model_history_and_curves(trained):
    model = keras.saving.load_model(trained / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 10)
    rows = list(csv.DictReader((trained / "reports" / "history.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    assert (trained / "reports" / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_training_is_deterministic(trained):
    first = keras.saving.load_model(trained / "model.keras").get_weights()
    reports = trained / "again"
    train.main(trained / "prepared", trained / "again.keras", reports / "h.csv", reports / "c.png", 0, MODEL, TRAIN)
    second = keras.saving.load_model(trained / "again.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert evaluate.weights_fingerprint(first) == evaluate.weights_fingerprint(second)
    first[0][0, 0] += 1e-7
    assert evaluate.weights_fingerprint(first) != evaluate.weights_fingerprint(second)
    assert (reports / "h.csv").read_text() == (trained / "reports" / "history.csv").read_text()


def test_evaluate_writes_metrics_per_class_predictions_and_confusion(trained):
    reports = trained / "reports"
    evaluate.main(
        "tiny",
        trained / "prepared",
        trained / "model.keras",
        reports / "metrics.json",
        reports / "model.json",
        reports / "per_class.csv",
        reports / "test_predictions.csv",
        reports / "confusion.png",
    )
    metrics = json.loads((reports / "metrics.json").read_text())
    assert set(metrics) == {"test"}
    assert 0 <= metrics["test"]["accuracy"] <= 1 and metrics["test"]["loss"] > 0
    model = keras.saving.load_model(trained / "model.keras")
    fingerprint = json.loads((reports / "model.json").read_text())
    assert fingerprint == {
        "weights_sha256": evaluate.weights_fingerprint(model.get_weights()),
        "parameters": model.count_params(),
    }
    per_class = list(csv.DictReader((reports / "per_class.csv").open()))
    assert [row["class"] for row in per_class] == [f"class {label}" for label in range(10)]
    assert all(0 <= float(row["accuracy"]) <= 1 for row in per_class)
    rows = list(csv.DictReader((reports / "test_predictions.csv").open()))
    assert len(rows) == 30 and rows[0]["actual"] == "class 0"
    hits = sum(row["actual"] == row["predicted"] for row in rows)
    assert hits / 30 == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    assert (reports / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_writes_the_first_images_with_labels(trained):
    reports = trained / "reports"
    predict.main(
        "tiny", trained / "prepared", trained / "model.keras", reports / "p.json", reports / "p.png", PredictParams(3)
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
            trained / "model.keras",
            trained / "p.json",
            trained / "p.png",
            PredictParams(31),
        )
    assert not (trained / "p.json").exists()
