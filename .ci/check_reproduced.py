"""Fail unless the pipeline just run reproduced the committed results.

Run after `dvc repro` in a clean clone. Prints `dvc metrics diff --md` (committed against just run)
and exits non-zero where
  - any metric moved by more than TOLERANCE, or a metric file is missing on either side, or
  - a download or prepare output hashes differently from the committed dvc.lock.
"""

import json
import subprocess
import sys

import yaml

# Zero is expected on the machine kind the results were committed from, and is what we see there.
# Another CPU may pick other oneDNN kernels and round differently; 0.002 absorbs that and nothing
# more: a change of recipe, data or split moves test accuracy by far more.
TOLERANCE = 0.002
EXACT_STAGES = ("download@", "prepare@")


def output(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def metric_problems() -> list[str]:
    print(output("dvc", "metrics", "diff", "--md", "--all"))
    changes = json.loads(output("dvc", "metrics", "diff", "--json"))
    return [
        f"{path}: {metric} was {change['old']}, now {change['new']}"
        for path, metrics in changes.items()
        for metric, change in metrics.items()
        if change.get("diff") is None or abs(change["diff"]) > TOLERANCE
    ]


def data_problems() -> list[str]:
    committed = yaml.safe_load(output("git", "show", "HEAD:dvc.lock"))["stages"]
    with open("dvc.lock") as file:
        current = yaml.safe_load(file)["stages"]
    problems = []
    for stage, entry in committed.items():
        if stage.startswith(EXACT_STAGES):
            expected = [(out["path"], out["md5"]) for out in entry["outs"]]
            actual = [(out["path"], out["md5"]) for out in current.get(stage, {}).get("outs", [])]
            if actual != expected:
                problems.append(f"{stage}: outputs hash {actual or 'missing'}, committed {expected}")
    return problems


def main() -> None:
    problems = metric_problems() + data_problems()
    for problem in problems:
        print(f"not reproduced: {problem}", file=sys.stderr)
    if problems:
        sys.exit(f"the pipeline did not reproduce the committed results (tolerance {TOLERANCE})")
    print(f"reproduced: every metric within {TOLERANCE} of the committed one; download and prepare outputs identical")


if __name__ == "__main__":
    main()
