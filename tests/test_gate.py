"""`make reproduced` judges each dataset bit-identical or within the seeds' prediction intervals, and fails
outside them."""

import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.helpers import PROJECT, TINY_PARAMS

spec = importlib.util.spec_from_file_location("check_reproduced", PROJECT / ".ci" / "check_reproduced.py")
gate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gate)

COMMITTED = {"weights_sha256": "a" * 64, "metrics": {"test": {"loss": 0.08, "accuracy": 0.98}}}
SPREAD = {"loss": {"mean": 0.08, "std": 0.002}, "accuracy": {"mean": 0.98, "std": 0.0004}}


def write_reports(project: Path, weights_sha256: str, metrics: dict) -> None:
    reports = project / "reports" / "tiny"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "model.json").write_text(json.dumps({"weights_sha256": weights_sha256}))
    (reports / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture
def committed_project(tmp_path, monkeypatch) -> Path:
    """A git repository holding committed reports for `tiny`, its params and a table of seeds."""
    monkeypatch.chdir(tmp_path)
    write_reports(tmp_path, COMMITTED["weights_sha256"], COMMITTED["metrics"])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(TINY_PARAMS))
    train = {key: value for key, value in TINY_PARAMS["train"].items() if key != "keep"}
    table = {
        "seeds": [1, 2, 3, 4, 5],
        "model": TINY_PARAMS["model"],
        "train": train,
        "datasets": {"tiny": {"summary": {"last": SPREAD}}},
    }
    (tmp_path / "reports" / "seeds.json").write_text(json.dumps(table))
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"]):
        subprocess.run(["git", *command], check=True)
    return tmp_path


@pytest.mark.slow  # runs git
@pytest.mark.parametrize(
    ("weights", "metrics", "mode", "problems"),
    [
        ("a" * 64, COMMITTED["metrics"], "bit-identical", 0),
        # 5 seeds, 2 checks at 0.5% each: t(4) 5.598 · √1.2 · std, ± 0.0123 and ± 0.00245
        ("b" * 64, {"test": {"loss": 0.092, "accuracy": 0.9777}}, "within tolerance", 0),
        ("b" * 64, {"test": {"loss": 0.093, "accuracy": 0.9775}}, "within tolerance", 2),
        ("a" * 64, {"test": {"loss": 0.08, "accuracy": 0.9801}}, "bit-identical", 1),  # evaluate itself changed
    ],
)
def test_gate_judges_by_fingerprint_then_by_the_seeds_prediction_intervals(
    committed_project, capsys, weights, metrics, mode, problems
):
    write_reports(committed_project, weights, metrics)
    intervals, table_problems = gate.seed_intervals(yaml.safe_load(Path("params.yaml").read_text()))
    assert table_problems == []
    assert len(gate.dataset_problems("tiny", intervals)) == problems
    assert f"tiny: {mode}" in capsys.readouterr().out


@pytest.mark.slow  # runs git
@pytest.mark.usefixtures("committed_project")
def test_gate_refuses_a_table_measured_with_other_params():
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["train"]["optimizer"]["learning_rate"] = 0.5
    _, problems = gate.seed_intervals(params)
    assert problems == [
        "reports/seeds.json was measured with other train params; rerun `python -m bench.seeds` and commit it"
    ]


@pytest.mark.parametrize("seeds", [5, 10])
def test_runs_differing_only_by_their_randomness_fail_the_gate_at_its_stated_rate(seeds):
    """Simulated: every dataset's metrics drawn afresh, as another CPU's rounding would, against intervals from
    `seeds` earlier draws; 4 checks, as for two datasets' accuracy and loss."""
    checks, trials = 4, 200_000
    rng = np.random.default_rng(0)
    table, fresh = rng.standard_normal((trials, checks, seeds)), rng.standard_normal((trials, checks))
    allowed = gate.half_width(1.0, seeds, checks) * table.std(axis=2, ddof=1)  # proportional to the deviation
    failed = (np.abs(fresh - table.mean(axis=2)) > allowed).any(axis=1)
    assert failed.mean() == pytest.approx(gate.FALSE_ALARM, rel=0.1)
