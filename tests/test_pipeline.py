"""End to end: `dvc repro` on a copy of the project with tiny params and synthetic data."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from lessonkit.formats import sha256
from tests.helpers import (
    PROJECT,
    predict_without_the_project,
    snapshot,
    synthetic_idx_files,
    write_catalog,
    write_mirror,
)
from tests.test_bad_input import CASES as BAD_INPUT
from tools import offline_plots

pytestmark = pytest.mark.slow  # every test here runs dvc

DATASETS = ("mnist", "fashion_mnist")
TINY = {
    "prepare": {"validation_size": 20},
    "model": {"hidden_units": [16, 8]},
    "train": {"epochs": 2, "batch_size": 32, "threads": 1},
    "predict": {"count": 3},
}


GIT_IDENTITY = {
    f"GIT_{role}_{field}": value
    for role in ("AUTHOR", "COMMITTER")
    for field, value in (("NAME", "test"), ("EMAIL", "test@example.com"))
}


def run(project: Path, *command: str) -> str:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    environment = {**os.environ, **GIT_IDENTITY, "PATH": path}
    result = subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def dvc(project: Path, *arguments: str) -> str:
    return run(project, sys.executable, "-m", "dvc", *arguments)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project whose catalog points at synthetic IDX files (one gzipped), run once."""
    root = tmp_path_factory.mktemp("copy")
    project = root / "project"
    project.mkdir()
    for name in ("dvc.yaml", "params.yaml", ".dvcignore"):
        shutil.copy(PROJECT / name, project)
    for package in ("stages", "lessonkit"):
        shutil.copytree(PROJECT / package, project / package, ignore=shutil.ignore_patterns("__pycache__"))
    files = synthetic_idx_files()
    write_mirror(root / "mirrors" / "mnist", files)
    write_mirror(root / "mirrors" / "fashion_mnist", files, gzipped=True)
    checksums = {file: sha256(raw) for file, raw in files.items()}
    write_catalog(project, {name: root / "mirrors" / name for name in DATASETS}, checksums)
    values = yaml.safe_load((project / "params.yaml").read_text())
    for section, changes in TINY.items():
        values[section].update(changes)
    (project / "params.yaml").write_text(yaml.safe_dump(values))
    run(project, "git", "init", "-q")
    dvc(project, "init", "-q")
    run(project, "git", "add", "-A")
    run(project, "git", "commit", "-qm", "tiny project")
    dvc(project, "repro")
    run(project, "git", "add", "-A")
    run(project, "git", "commit", "-qm", "tiny baseline")
    return project


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
    assert (project / "models" / dataset / "model.keras").stat().st_size > 0
    history = list(csv.DictReader((project / "models" / dataset / "history.csv").open()))
    assert [row["epoch"] for row in history] == ["1", "2"]
    metrics = json.loads((reports / "metrics.json").read_text())
    assert set(metrics["test"]) == {"loss", "accuracy"}
    assert len(json.loads((reports / "model.json").read_text())["weights_sha256"]) == 64
    assert len(list(csv.DictReader((reports / "per_class_accuracy.csv").open()))) == 10
    assert len(list(csv.DictReader((reports / "test_predictions.csv").open()))) == 30
    assert len(json.loads((reports / "predictions.json").read_text())) == 3
    for picture in ("curves.png", "confusion.png", "predictions.png"):
        assert (reports / picture).read_bytes()[:4] == b"\x89PNG"


def test_second_repro_does_nothing(project):
    output = dvc(project, "repro")
    assert "Running stage" not in output
    assert "Data and pipelines are up to date." in dvc(project, "status")


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


PARAMS_CASES = {name: case for name, case in BAD_INPUT.items() if case[0].__qualname__.startswith("param")}
# DVC refuses these itself, before running any stage: it cannot read the file, build the stages' names or find a
# stage's catalog entry.
REFUSED_BY_DVC = {
    "params file not YAML": "YAML file structure is corrupted",
    "params file not text": "is not valid utf-8",
    "unknown dataset in params": "failed to reproduce 'download@tiny': [Errno 2] No such file or directory",
    "dataset name escaping the project": "output 'data/x' is specified in",
}


def test_bad_params_under_dvc_repro_fail_with_one_line_and_keep_the_last_reports(project):
    """The bad-input table's params cases through `dvc repro`, which deletes a stage's outputs before running it:
    the stage's own one line (or DVC's refusal before any stage runs), a non-zero exit, and the reports of the last
    good run still there, byte for byte."""
    good_params, good_reports = (project / "params.yaml").read_text(), snapshot(project / "reports")
    environment = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    failures = {}
    for name, (change, _, message) in PARAMS_CASES.items():
        change(project)
        result = subprocess.run(
            [sys.executable, "-m", "dvc", "repro"], cwd=project, env=environment, capture_output=True, text=True
        )
        (project / "params.yaml").write_text(good_params)
        output = result.stdout + result.stderr
        errors = [line for line in output.splitlines() if line.startswith("error: ")]
        if name in REFUSED_BY_DVC:
            refused = REFUSED_BY_DVC[name] in output and "Running stage" not in output
        else:
            refused = len(errors) == 1 and re.search(message, errors[0])
        if result.returncode == 0 or not refused:
            failures[name] = f"exit {result.returncode}: {errors or output[-500:]}"
        elif snapshot(project / "reports") != good_reports:
            failures[name] = "the reports changed"
    dvc(project, "checkout")  # the models DVC removed before the refused train runs, back from its cache
    assert "Data and pipelines are up to date." in dvc(project, "status")
    assert not failures, failures


BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)


def browse(page: Path, *options: str) -> str:
    """Open `page` in headless Chromium with every network request refused, and return what it prints."""
    browser = next(filter(None, map(shutil.which, BROWSERS)), None)
    if browser is None:
        pytest.skip("no Chromium or Chrome installed: the plots page was not opened in a browser")
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--proxy-server=127.0.0.1:9",  # a closed port: the page gets nothing from the network
        "--virtual-time-budget=10000",
        f"--user-data-dir={page.parent / 'browser-profile'}",
        *options,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def test_the_plots_page_draws_its_charts_offline_in_a_browser(project, tmp_path):
    """DVC's own page, with Vega from the CDN, stays blank offline; with the offline template every chart draws."""
    template = PROJECT / offline_plots.TEMPLATE
    assert template.is_file(), "no offline template: `make setup` writes it"
    dvc(project, "plots", "show", "-o", str(tmp_path / "online"))
    dvc(project, "plots", "show", "--html-template", str(template), "-o", str(tmp_path / "offline"))
    charts = 2 * 3 + 2  # per dataset: loss, accuracy, confusion; plus per-class accuracy of each
    pages = {name: tmp_path / name / "index.html" for name in ("online", "offline")}

    drawn = {name: browse(page, "--dump-dom").count('class="marks"') for name, page in pages.items()}
    assert drawn == {"online": 0, "offline": charts}
    colourful = {}
    for name, page in pages.items():
        browse(page, f"--screenshot={page.with_suffix('.png')}", "--window-size=1400,6000")
        pixels = np.asarray(Image.open(page.with_suffix(".png")).convert("RGB")).astype(int)
        colourful[name] = int((pixels.max(axis=-1) - pixels.min(axis=-1) > 60).sum())
    assert colourful["offline"] > colourful["online"] + 50_000, f"colourful pixels: {colourful}"


def test_a_shared_remote_spares_every_other_clone_the_work(project, tmp_path):
    """A pushes; B pulls and has nothing to run, tries a learning rate and pushes; C, asking for the same
    learning rate, gets B's training from the run-cache (evaluate and predict, whose reports live in git, rerun)."""
    dvc(project, "remote", "add", "--default", "shared", str(tmp_path / "remote"))
    run(project, "git", "commit", "-qam", "share results through a DVC remote")
    dvc(project, "push", "--run-cache")
    b, c = tmp_path / "b", tmp_path / "c"
    for clone in (b, c):
        run(tmp_path, "git", "clone", "-q", str(project), str(clone))

    dvc(b, "pull")
    assert "Data and pipelines are up to date." in dvc(b, "status")
    assert "Running stage" not in dvc(b, "repro")
    assert "Running stage 'train@mnist'" in dvc(b, "exp", "run", "-S", "train.optimizer.learning_rate=0.1")
    dvc(b, "push", "--run-cache")

    settings = yaml.safe_load((c / "params.yaml").read_text())
    settings["train"]["optimizer"]["learning_rate"] = 0.1
    (c / "params.yaml").write_text(yaml.safe_dump(settings))
    output = dvc(c, "repro", "--pull")
    for dataset in DATASETS:
        assert f"Stage 'train@{dataset}' is cached - skipping run, checking out outputs" in output, output
        assert f"Running stage 'train@{dataset}'" not in output
    assert "Data and pipelines are up to date." in dvc(c, "status")


def test_a_queued_grid_runs_every_experiment_and_reports_each(project):
    dvc(project, "exp", "run", "--queue", "-S", "train.optimizer.learning_rate=0.001,0.1")
    dvc(project, "queue", "start", "-j", "2")
    deadline = time.monotonic() + 600
    while re.search(r"\b(Queued|Running)\b", dvc(project, "queue", "status")):
        assert time.monotonic() < deadline, dvc(project, "queue", "status")
        time.sleep(2)
    rows = list(csv.DictReader(io.StringIO(dvc(project, "exp", "show", "--csv"))))
    experiments = {row["train.optimizer.learning_rate"]: row for row in rows if row["Executor"]}
    assert set(experiments) == {"0.001", "0.1"}
    assert all(row["State"] == "Success" for row in experiments.values())
    for dataset in DATASETS:
        losses = {float(row[f"reports/{dataset}/metrics.json:test.loss"]) for row in experiments.values()}
        assert len(losses) == 2, f"{dataset}: both experiments report the same test loss"


def test_a_third_dataset_needs_a_catalog_entry_its_name_in_params_and_its_plots(project, tmp_path):
    """README's "Changing it": three files, and nothing of the other datasets reruns."""
    files = synthetic_idx_files(seed=3)
    write_mirror(tmp_path / "letters", files)
    write_catalog(project, {"letters": tmp_path / "letters"}, {file: sha256(raw) for file, raw in files.items()})
    settings = yaml.safe_load((project / "params.yaml").read_text())
    settings["datasets"].append("letters")
    (project / "params.yaml").write_text(yaml.safe_dump(settings))
    pipeline = yaml.safe_load((project / "dvc.yaml").read_text())
    mnist_plots = [plot for plot in pipeline["plots"] if next(iter(plot)).startswith("mnist ")]
    pipeline["plots"] += [yaml.safe_load(yaml.safe_dump(plot).replace("mnist", "letters")) for plot in mnist_plots]
    (project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))

    output = dvc(project, "repro")
    for stage in ("download", "prepare", "train", "evaluate", "predict"):
        assert f"Running stage '{stage}@letters'" in output
        assert f"Running stage '{stage}@mnist'" not in output
    assert set(json.loads((project / "reports" / "letters" / "metrics.json").read_text())["test"]) == {
        "loss",
        "accuracy",
    }
    plots = json.loads(dvc(project, "plots", "show", "--json"))["data"]
    for plot in ("loss", "accuracy", "confusion"):
        assert plots[f"letters {plot}"][0]["content"]["data"]["values"], f"letters {plot} has no data"


def leaves(values: dict, prefix: str = "") -> set[str]:
    """The dotted names of a nested mapping's values, as `dvc exp show` names params."""
    names = set()
    for key, value in values.items():
        names |= leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}"}
    return names


def test_exp_show_lists_params_and_metrics_not_the_catalog(project):
    header = next(csv.reader(io.StringIO(dvc(project, "exp", "show", "--csv"))))
    params = leaves(yaml.safe_load((project / "params.yaml").read_text())) - {"datasets"}  # datasets: no stage's param
    metrics = {f"reports/{dataset}/metrics.json:test.{name}" for dataset in DATASETS for name in ("loss", "accuracy")}
    assert params | metrics <= set(header), set(header)
    catalog_fields = {"keras", "mirror", "classes", "object_size", "centre", "sha256"}
    assert not [column for column in header if catalog_fields & set(re.split(r"[.:]", column))], header


def test_a_registered_model_comes_back_with_dvc_artifacts_get_and_loads_in_plain_keras(project, tmp_path):
    """The model registry: each dataset's model is an artifact of dvc.yaml; a version registered with GTO (a git
    tag) and pushed to a remote comes back by name, from the repository alone, and plain Keras loads it."""
    remote = tmp_path / "registry-remote"
    dvc(project, "remote", "add", "--force", "--default", "registry", str(remote))
    run(project, "git", "commit", "-qam", "models through a DVC remote")
    dvc(project, "push")
    artifacts = yaml.safe_load((project / "dvc.yaml").read_text())["artifacts"]
    assert {name: artifact["path"] for name, artifact in artifacts.items()} == {
        "mnist-dense": "models/mnist/model.keras",
        "fashion-mnist-dense": "models/fashion_mnist/model.keras",
    }
    assert all(artifact["type"] == "model" for artifact in artifacts.values())
    run(project, "gto", "register", "mnist-dense", "--version", "v1.0.0")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dvc(elsewhere, "artifacts", "get", str(project), "mnist-dense", "-o", "model.keras")
    images = project / "data" / "prepared" / "mnist" / "X_test.npy"
    probabilities = predict_without_the_project(elsewhere / "model.keras", images, elsewhere)
    with (project / "reports" / "mnist" / "test_predictions.csv").open() as file:
        predicted = [row["predicted"] for row in csv.DictReader(file)]
    assert [f"class {label}" for label in probabilities.argmax(axis=1)] == predicted


def test_dvc_repro_without_the_environment_says_to_activate_it(project, tmp_path):
    """`.venv/bin/dvc repro` unactivated: the stages run under the `python3` first on PATH, here one without the
    project's packages. One line says what to do, and no traceback comes from inside a stage."""
    venv.create(tmp_path / "bare")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["PATH"] = f"{tmp_path / 'bare' / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"
    command = [sys.executable, "-m", "dvc", "repro", "--force", "--single-item", "prepare@mnist"]
    result = subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True)
    dvc(project, "checkout")  # the prepared arrays DVC removed before running the stage
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output, output
    (error,) = [line for line in output.splitlines() if line.startswith("error: ")]
    assert "lacks the project's packages" in error and "source .venv/bin/activate" in error


def test_exp_show_shows_the_running_epoch_of_a_training_in_progress(project, tmp_path):
    """DVCLive writes each epoch's metrics as they come; `dvc exp show` reads them for the workspace row."""
    copy = shutil.copytree(project, tmp_path / "copy", symlinks=True)
    epochs = 400
    command = [sys.executable, "-m", "dvc", "exp", "run", "-S", f"train.epochs={epochs}", "train@mnist"]
    environment = {
        **os.environ,
        **GIT_IDENTITY,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    running = subprocess.Popen(command, cwd=copy, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = []
    try:
        while running.poll() is None and not len(seen) > 1:
            rows = json.loads(dvc(copy, "exp", "show", "--json"))
            workspace = next(row for row in rows if row["rev"] == "workspace")
            metrics = workspace["data"]["metrics"].get("live/mnist/metrics.json", {}).get("data", {})
            if "step" in metrics and metrics["step"] < epochs and metrics["step"] not in seen:
                seen.append(metrics["step"])
    finally:
        running.kill()
        running.wait()
    assert len(seen) > 1, f"the workspace row showed no epoch in progress: {seen}"
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(metrics)
