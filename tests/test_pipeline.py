"""End to end: `dvc repro` on a copy of the project with tiny params and synthetic data."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from stages.data import sha256
from tests.conftest import synthetic_idx_files, write_catalog, write_mirror

PROJECT = Path(__file__).resolve().parents[1]
DATASETS = ("mnist", "fashion_mnist")
TINY = {
    "prepare": {"validation_size": 20},
    "model": {"hidden_units": [16, 8]},
    "train": {"epochs": 2, "batch_size": 32, "threads": 1},
    "predict": {"count": 3},
}


def dvc(project: Path, *arguments: str) -> str:
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *arguments], cwd=project, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project whose catalog points at synthetic IDX files (one gzipped), run once."""
    root = tmp_path_factory.mktemp("copy")
    project = root / "project"
    project.mkdir()
    for name in ("dvc.yaml", "params.yaml", ".dvcignore"):
        shutil.copy(PROJECT / name, project)
    shutil.copytree(PROJECT / "stages", project / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    files = synthetic_idx_files()
    write_mirror(root / "mirrors" / "mnist", files)
    write_mirror(root / "mirrors" / "fashion_mnist", files, gzipped=True)
    checksums = {file: sha256(raw) for file, raw in files.items()}
    write_catalog(project / "datasets.yaml", {name: root / "mirrors" / name for name in DATASETS}, checksums)
    values = yaml.safe_load((project / "params.yaml").read_text())
    for section, changes in TINY.items():
        values[section].update(changes)
    (project / "params.yaml").write_text(yaml.safe_dump(values))
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    dvc(project, "init", "-q")
    dvc(project, "repro")
    return project


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_declared_output_has_its_shape_and_schema(project, dataset):
    raw, prepared, reports = (
        project / "data/raw" / dataset,
        project / "data/prepared" / dataset,
        project / "reports" / dataset,
    )
    assert np.load(raw / "X_train_full.npy").shape == (120, 28, 28)
    assert np.load(raw / "y_test.npy").shape == (30,)
    assert np.load(prepared / "X_train.npy").shape == (100, 28, 28)
    assert np.load(prepared / "X_valid.npy").shape == (20, 28, 28)
    assert np.load(prepared / "X_test.npy").dtype == np.float32
    assert (project / "models" / f"{dataset}.keras").stat().st_size > 0
    history = list(csv.DictReader((reports / "history.csv").open()))
    assert [row["epoch"] for row in history] == ["1", "2"]
    metrics = json.loads((reports / "metrics.json").read_text())
    assert set(metrics["test"]) == {"loss", "accuracy"}
    assert len(json.loads((reports / "model.json").read_text())["weights_sha256"]) == 64
    assert len(list(csv.DictReader((reports / "per_class_accuracy.csv").open()))) == 10
    assert len(list(csv.DictReader((reports / "test_predictions.csv").open()))) == 30
    assert len(json.loads((reports / "predictions.json").read_text())) == 3
    for picture in ("curves.png", "confusion.png", "predictions.png"):
        assert (reports / picture).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_second_repro_does_nothing(project):
    output = dvc(project, "repro")
    assert "Running stage" not in output
    assert "Data and pipelines are up to date." in dvc(project, "status")


@pytest.mark.slow
def test_metrics_and_plots_cover_both_datasets(project):
    metrics = json.loads(dvc(project, "metrics", "show", "--json"))
    files = next(iter(metrics.values()))["data"]
    assert {f"reports/{dataset}/metrics.json" for dataset in DATASETS} <= set(files)
    plots = json.loads(dvc(project, "plots", "show", "--json"))["data"]
    for dataset in DATASETS:
        for plot in ("loss", "accuracy", "confusion"):
            assert plots[f"{dataset} {plot}"][0]["content"]["data"]["values"], f"{dataset} {plot} has no data"
        for picture in ("curves", "confusion", "predictions"):
            assert f"reports/{dataset}/{picture}.png" in plots
        assert plots[f"reports/{dataset}/per_class_accuracy.csv"][0]["content"]["data"]["values"]
