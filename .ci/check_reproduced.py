"""Fail unless the pipeline just run reproduced the committed results.

Run after `dvc repro` in a clean clone. The download and prepare outputs must hash as in the committed dvc.lock.
Then, per dataset:
  - bit-identical: the retrained weights' SHA-256 equals the committed model card's. Expected on every x86-64
    CPU with AVX2 and FMA, whose numerics the stages pin.
  - within tolerance: otherwise (another architecture, a GPU, another TensorFlow build).
In both, each test metric must lie within TOLERANCE_STDS standard deviations of the committed one (identical
weights give identical metrics), the deviations measured over several seeds by bench/seeds.py
(reports/seeds.json) for the committed params and kept-weights rule.
Prints `dvc metrics diff --md`, the mode of each dataset and why, and exits non-zero on any problem.
"""

import json
import subprocess
import sys
from pathlib import Path

import yaml

# Another CPU's rounding sends training down another trajectory, as another seed does; a result more than three
# seed-to-seed standard deviations away is not that.
TOLERANCE_STDS = 3
EXACT_STAGES = ("download@", "prepare@")
SEEDS_TABLE = "reports/seeds.json"


def output(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def committed(path: str) -> dict:
    return yaml.safe_load(output("git", "show", f"HEAD:{path}"))


def data_problems() -> list[str]:
    current = yaml.safe_load(Path("dvc.lock").read_text())["stages"]
    problems = []
    for stage, entry in committed("dvc.lock")["stages"].items():
        if stage.startswith(EXACT_STAGES):
            expected = [(out["path"], out["md5"]) for out in entry["outs"]]
            actual = [(out["path"], out["md5"]) for out in current.get(stage, {}).get("outs", [])]
            if actual != expected:
                problems.append(f"{stage}: outputs hash {actual or 'missing'}, committed {expected}")
    return problems


def seed_spread(params: dict) -> tuple[dict, list[str]]:
    """reports/seeds.json's standard deviations for the committed rule, and what makes the table unfit."""
    table = committed(SEEDS_TABLE)
    keep = params["train"]["keep"]
    measured = {"model": params["model"], "train": {k: v for k, v in params["train"].items() if k != "keep"}}
    problems = [
        f"{SEEDS_TABLE} was measured with other {group} params; rerun `python -m bench.seeds` and commit it"
        for group, values in measured.items()
        if table[group] != values
    ]
    spread = {dataset: result["summary"][keep] for dataset, result in table["datasets"].items()}
    return spread, problems


def dataset_problems(dataset: str, spread: dict) -> list[str]:
    card, metrics = f"reports/{dataset}/model.json", f"reports/{dataset}/metrics.json"
    old, new = committed(card)["weights_sha256"], json.loads(Path(card).read_text())["weights_sha256"]
    old_metrics, new_metrics = committed(metrics), json.loads(Path(metrics).read_text())
    if old == new:
        print(f"{dataset}: bit-identical: the weights' SHA-256 is the committed {new[:16]}…")
    else:
        print(
            f"{dataset}: within tolerance: the weights differ from the committed ones ({new[:16]}… against "
            f"{old[:16]}…), as on a CPU or build whose numerics differ; comparing the test metrics within "
            f"{TOLERANCE_STDS} seed-to-seed standard deviations"
        )
    if dataset not in spread:
        return [] if old == new else [f"{dataset}: weights differ and {SEEDS_TABLE} has no spread for it"]
    problems = []
    for metric, old_value in old_metrics["test"].items():
        difference = abs(new_metrics["test"][metric] - old_value)
        allowed = TOLERANCE_STDS * spread[dataset][metric]["std"]
        verdict = "ok" if difference <= allowed else "too far"
        print(
            f"  test {metric}: {old_value} -> {new_metrics['test'][metric]}, |difference| {difference:.6f}, "
            f"allowed {allowed:.6f}: {verdict}"
        )
        if difference > allowed:
            problems.append(f"{dataset}: test {metric} moved {difference:.6f}, more than {allowed:.6f}")
    return problems


def main() -> None:
    print(output("dvc", "metrics", "diff", "--md", "--all"))
    params = committed("params.yaml")
    spread, problems = seed_spread(params)
    problems += data_problems()
    for dataset in params["datasets"]:
        problems += dataset_problems(dataset, spread)
    for problem in problems:
        print(f"not reproduced: {problem}", file=sys.stderr)
    if problems:
        sys.exit("the pipeline did not reproduce the committed results")
    print("reproduced: download and prepare outputs identical, every dataset bit-identical or within tolerance")


if __name__ == "__main__":
    main()
