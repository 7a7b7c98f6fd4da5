"""`make reproduced` judges each dataset bit-identical or within the seeds' prediction intervals, and fails
outside them."""

import copy
import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.helpers import TINY_PARAMS, ci_script

gate = ci_script("check_reproduced")

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
    subprocess.run(["git", "init", "-q"], check=True)
    commit()
    return tmp_path


def commit() -> None:
    subprocess.run(["git", "add", "-A"], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"], check=True)


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


LOCK = {
    "stages": {
        "prepare@tiny": {
            "deps": [{"path": "stages/prepare.py", "md5": "p1"}, {"path": "data/raw/tiny", "md5": "r1"}],
            "params": {"params.yaml": {"seed": 0}},
            "outs": [{"path": "data/prepared/tiny", "md5": "d1"}],
        },
        "train@tiny": {
            "deps": [{"path": "data/prepared/tiny", "md5": "d1"}, {"path": "stages/train.py", "md5": "t1"}],
            "params": {"params.yaml": {"train": {"epochs": 60}}},
            "outs": [{"path": "models/tiny", "md5": "m1"}],
        },
    }
}


def ran_with(stage: str, field: str, index: int, key: str, value: object) -> dict:
    ran = copy.deepcopy(LOCK)
    ran["stages"][stage][field][index][key] = value
    return ran


@pytest.mark.parametrize(
    ("status", "ran", "problems"),
    [
        ({}, LOCK, []),
        ({"train@tiny": [{"changed deps": {}}]}, LOCK, ["the workspace is not what dvc.lock records (train@tiny)"]),
        ({}, ran_with("train@tiny", "deps", 1, "md5", "t2"), ["train@tiny ran with other stages/train.py than"]),
        (
            {},
            {"stages": {**LOCK["stages"], "prepare@tiny": {**LOCK["stages"]["prepare@tiny"], "params": {}}}},
            ["prepare@tiny ran with other params.yaml:seed than"],
        ),
        ({}, {"stages": {"train@tiny": LOCK["stages"]["train@tiny"]}}, ["prepare@tiny ran with other data/raw/tiny,"]),
        # other weights, or other prepared data, are for the comparisons that follow, not a run of other inputs
        ({}, ran_with("train@tiny", "outs", 0, "md5", "m2"), []),
        ({}, ran_with("train@tiny", "deps", 0, "md5", "d2"), []),
    ],
)
def test_the_gate_compares_only_a_complete_run_of_the_committed_pipeline(status, ran, problems):
    found = gate.run_problems(status, LOCK, ran)
    assert len(found) == len(problems)
    assert all(problem.startswith(expected) for problem, expected in zip(found, problems, strict=True)), found


@pytest.mark.slow  # runs git
def test_the_gate_refuses_a_commit_whose_reports_are_not_those_its_lock_records(committed_project):
    metrics = committed_project / "reports" / "tiny" / "metrics.json"
    recorded = hashlib.md5(metrics.read_bytes()).hexdigest()
    lock = {"stages": {"evaluate@tiny": {"outs": [{"path": "reports/tiny/metrics.json", "md5": recorded}]}}}
    (committed_project / "dvc.lock").write_text(yaml.safe_dump(lock))
    commit()
    assert gate.commit_problems(lock) == []

    metrics.write_text(json.dumps({"test": {"loss": 0.08, "accuracy": 0.99}}))  # edited by hand, then committed
    commit()
    assert gate.commit_problems(lock) == [
        "reports/tiny/metrics.json as committed is not the file the committed dvc.lock records; commit what "
        "`dvc repro` wrote"
    ]


@pytest.mark.slow  # runs git
@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("[]", "reports/seeds.json is missing or not bench/seeds.py's"),
        ("{unclosed", "reports/seeds.json is missing or not bench/seeds.py's"),
        (None, "reports/seeds.json is missing or not bench/seeds.py's"),
        ("one seed", "reports/seeds.json holds 1 seed; its intervals need 2 or more"),
    ],
)
def test_a_missing_or_malformed_table_of_seeds_is_one_line(committed_project, table, problem):
    path = committed_project / "reports" / "seeds.json"
    if table is None:
        path.unlink()
    elif table == "one seed":
        path.write_text(json.dumps(json.loads(path.read_text()) | {"seeds": [1]}))
    else:
        path.write_text(table)
    commit()
    intervals, problems = gate.seed_intervals(yaml.safe_load((committed_project / "params.yaml").read_text()))
    assert intervals == {}
    assert len(problems) == 1 and problems[0].startswith(problem), problems
