"""Fail unless the pipeline just run reproduced the committed results.

Run after `dvc repro` in a clean clone. The commit must be consistent (the reports git holds are the files its
dvc.lock records), the run complete (`dvc status` clean) and of the committed pipeline (each stage's code, inputs
from outside the pipeline and params as the committed dvc.lock records them), and the download and prepare outputs
must hash as committed. Then, per dataset:
  - bit-identical: the retrained weights' SHA-256 equals the committed model card's, and the test metrics must
    equal the committed ones. Expected on every x86-64 CPU with AVX2 and FMA, whose numerics the stages pin.
  - within tolerance: otherwise (another architecture, a GPU, another TensorFlow build). Each test metric must lie
    in its prediction interval from the seeds measured by bench/seeds.py (reports/seeds.json) for the committed
    params and kept-weights rule.
Prints `dvc metrics diff --md`, the mode of each dataset and why, and exits non-zero on any problem.
"""

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import yaml
from scipy import stats

# Another CPU's rounding sends training down another trajectory, as another seed does. Each test metric of such a
# run is a new draw from the seeds' distribution: it must lie in the prediction interval of the n seeds measured,
# mean ± t(n - 1) · std · √(1 + 1/n), wide enough that a run differing only in its rounding fails the gate with
# probability FALSE_ALARM, over all datasets and metrics together (each checked at FALSE_ALARM / their number).
FALSE_ALARM = 0.01
EXACT_STAGES = ("download@", "prepare@")
SEEDS_TABLE = "reports/seeds.json"


class GateError(Exception):
    """A committed file the gate needs is missing."""


def output(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def committed_bytes(path: str) -> bytes:
    shown = subprocess.run(["git", "show", f"HEAD:{path}"], capture_output=True)
    if shown.returncode:
        raise GateError(f"the commit has no {path}; run `dvc repro` and commit what it wrote")
    return shown.stdout


def committed(path: str) -> dict:
    return yaml.safe_load(committed_bytes(path))


def commit_problems(lock: dict) -> list[str]:
    """The reports git holds must be, in the commit, the files the committed dvc.lock records."""
    in_commit = set(output("git", "ls-tree", "-r", "--name-only", "HEAD").splitlines())
    return [
        f"{out['path']} as committed is not the file the committed dvc.lock records; commit what `dvc repro` wrote"
        for entry in lock["stages"].values()
        for out in entry.get("outs", [])
        if out["path"] in in_commit and hashlib.md5(committed_bytes(out["path"])).hexdigest() != out["md5"]
    ]


def run_problems(status: dict, lock: dict, ran: dict) -> list[str]:
    """The run must be complete (`status`, what `dvc status --json` says, empty) and of the committed pipeline: each
    stage of the committed `lock` ran (as the workspace's lock, `ran`, records) with the same code, inputs from
    outside the pipeline and params."""
    if status:
        return [f"the workspace is not what dvc.lock records ({', '.join(sorted(status))}): run `dvc repro` first"]
    made = {out["path"] for entry in lock["stages"].values() for out in entry.get("outs", [])}

    def inputs(entry: dict) -> dict:
        return {dep["path"]: dep["md5"] for dep in entry.get("deps", []) if dep["path"] not in made} | {
            f"{file}:{name}": value
            for file, values in entry.get("params", {}).items()
            for name, value in values.items()
        }

    problems = []
    for stage, entry in lock["stages"].items():
        expected, actual = inputs(entry), inputs(ran["stages"].get(stage, {}))
        differing = sorted(key for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key))
        if differing:
            problems.append(f"{stage} ran with other {', '.join(differing)} than committed; commit them or undo them")
    return problems


def data_problems(lock: dict, ran: dict) -> list[str]:
    problems = []
    for stage, entry in lock["stages"].items():
        if stage.startswith(EXACT_STAGES):
            expected = [(out["path"], out["md5"]) for out in entry["outs"]]
            actual = [(out["path"], out["md5"]) for out in ran["stages"].get(stage, {}).get("outs", [])]
            if actual != expected:
                problems.append(f"{stage}: outputs hash {actual or 'missing'}, committed {expected}")
    return problems


def seed_intervals(params: dict) -> tuple[dict, list[str]]:
    """Each dataset's test metrics' prediction intervals, {metric: (mean, half-width)}, from reports/seeds.json's
    seeds for the committed rule, and what makes the table unfit."""
    rerun = "rerun `python -m bench.seeds` and commit it"
    keep = params["train"]["keep"]
    measured = {"model": params["model"], "train": {k: v for k, v in params["train"].items() if k != "keep"}}
    try:
        table = committed(SEEDS_TABLE)
        problems = [
            f"{SEEDS_TABLE} was measured with other {group} params; {rerun}"
            for group, values in measured.items()
            if table[group] != values
        ]
        spread = {dataset: result["summary"][keep] for dataset, result in table["datasets"].items()}
        seeds, checks = len(table["seeds"]), sum(len(metrics) for metrics in spread.values())
    except (GateError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return {}, [f"{SEEDS_TABLE} is missing or not bench/seeds.py's; {rerun}"]
    if seeds < 2:
        return {}, [f"{SEEDS_TABLE} holds {seeds} seed; its intervals need 2 or more: {rerun}"]
    intervals = {
        dataset: {
            metric: (summary["mean"], half_width(summary["std"], seeds, checks)) for metric, summary in metrics.items()
        }
        for dataset, metrics in spread.items()
    }
    return intervals, problems


def half_width(std: float, seeds: int, checks: int) -> float:
    """Half the prediction interval of one more draw, from `seeds` draws of standard deviation `std`: wide enough
    that, of `checks` such intervals, any misses its new draw with probability at most FALSE_ALARM."""
    return stats.t.ppf(1 - FALSE_ALARM / checks / 2, seeds - 1) * std * math.sqrt(1 + 1 / seeds)


def dataset_problems(dataset: str, intervals: dict) -> list[str]:
    card, metrics = f"reports/{dataset}/model.json", f"reports/{dataset}/metrics.json"
    old, new = committed(card)["weights_sha256"], json.loads(Path(card).read_text())["weights_sha256"]
    old_test, new_test = committed(metrics)["test"], json.loads(Path(metrics).read_text())["test"]
    if old == new:
        print(f"{dataset}: bit-identical: the weights' SHA-256 is the committed {new[:16]}…")
        return [
            f"{dataset}: the weights are the committed ones but test {metric} is {new_test[metric]}, not {value}: "
            "evaluate computes differently here"
            for metric, value in old_test.items()
            if new_test[metric] != value
        ]
    print(
        f"{dataset}: within tolerance: the weights differ from the committed ones ({new[:16]}… against "
        f"{old[:16]}…), as on a CPU or build whose numerics differ; comparing the test metrics with the "
        f"seeds' prediction intervals"
    )
    if dataset not in intervals:
        return [f"{dataset}: weights differ and {SEEDS_TABLE} has no seeds for it"]
    problems = []
    for metric, old_value in old_test.items():
        value, (mean, allowed) = new_test[metric], intervals[dataset][metric]
        inside = abs(value - mean) <= allowed
        print(
            f"  test {metric}: {old_value} -> {value}; the seeds' interval {mean:.6f} ± {allowed:.6f}: "
            f"{'ok' if inside else 'outside'}"
        )
        if not inside:
            problems.append(f"{dataset}: test {metric} {value} lies outside {mean:.6f} ± {allowed:.6f}")
    return problems


def main() -> None:
    print(output("dvc", "metrics", "diff", "--md", "--all"))
    try:
        params, lock = committed("params.yaml"), committed("dvc.lock")
        ran, status = yaml.safe_load(Path("dvc.lock").read_text()), json.loads(output("dvc", "status", "--json"))
        problems = commit_problems(lock) + run_problems(status, lock, ran)
        if not problems:  # what follows compares a complete run of the committed pipeline with the commit
            intervals, problems = seed_intervals(params)
            problems += data_problems(lock, ran)
            for dataset in params["datasets"]:
                problems += dataset_problems(dataset, intervals)
    except GateError as error:
        problems = [str(error)]
    for problem in problems:
        print(f"not reproduced: {problem}", file=sys.stderr)
    if problems:
        sys.exit("the pipeline did not reproduce the committed results")
    print("reproduced: download and prepare outputs identical, every dataset bit-identical or within tolerance")


if __name__ == "__main__":
    main()
