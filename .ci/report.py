"""The reproduction report, as Markdown: for a CI job summary or a pull-request comment.

Usage: python .ci/report.py BASE, after `make` (BASE: the git revision to compare with, e.g. HEAD or origin/main).
Prints `dvc metrics diff BASE --md --all`, `dvc params diff BASE --md` and each dataset's curves and confusion
matrix. Where CML is installed and has a token (GitHub Actions), the pictures are published with
`cml asset publish`; elsewhere they are linked by their path in the project.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

PICTURES = ("curves.png", "confusion.png")


def output(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def table(markdown: str, empty: str) -> str:
    """DVC's Markdown table, or `empty` where it has no rows (`dvc params diff` prints its header alone)."""
    return markdown if len(markdown.splitlines()) > 2 else empty


def picture(path: Path) -> str:
    if shutil.which("cml") and os.environ.get("REPO_TOKEN"):
        return output("cml", "asset", "publish", str(path), "--md")
    return f"![{path}]({path})"


def main(base: str) -> None:
    dvc = (sys.executable, "-m", "dvc")
    revision = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], capture_output=True)
    if revision.returncode:
        sys.exit(f"error: {base} is not a git revision here; pass one, e.g. HEAD or origin/main")
    sections = [
        "## Reproduction report",
        f"### Test metrics, this run against `{base}`",
        table(output(*dvc, "metrics", "diff", base, "--md", "--all"), "No metrics."),
        f"### Params against `{base}`",
        table(output(*dvc, "params", "diff", base, "--md"), "No params changed."),
    ]
    for dataset in yaml.safe_load(Path("params.yaml").read_text())["datasets"]:
        sections += [f"### {dataset}", " ".join(picture(Path("reports", dataset, name)) for name in PICTURES)]
    print("\n\n".join(sections))


if __name__ == "__main__":
    main(sys.argv[1])
