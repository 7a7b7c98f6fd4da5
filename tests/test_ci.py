"""CI on GitHub runs what CI here runs: the workflow is valid and calls .ci/run's make targets, in order; the report
it posts reads well; make builds the environment only with a Python whose wheels the platforms check covers."""

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.helpers import PROJECT, ci_script

WORKFLOW = PROJECT / ".github" / "workflows" / "reproduce.yaml"


def make_targets(commands: list[str]) -> list[str]:
    return [target for command in commands for target in re.findall(r"^make(?: (\w[\w-]*))?", command, re.MULTILINE)]


def test_the_workflow_runs_the_make_targets_of_ci_run_in_order():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["reproduce"]["steps"]
    workflow = make_targets([step["run"] for step in steps if "run" in step])
    local = make_targets((PROJECT / ".ci" / "run").read_text().splitlines())
    assert workflow == local == ["", "test", "other-cpu", "platforms", "report", "reproduced"]


def test_make_builds_the_environment_with_the_pythons_the_platforms_check_covers(monkeypatch):
    monkeypatch.chdir(PROJECT)  # where the check reads pyproject.toml
    (makefile_pythons,) = re.findall(r"^PYTHONS := (.+)$", (PROJECT / "Makefile").read_text(), re.MULTILINE)
    assert makefile_pythons.split() == ci_script("check_platforms").PYTHONS == ["3.11", "3.12", "3.13"]


@pytest.mark.slow  # runs make
def test_make_refuses_a_python_the_project_does_not_support_in_one_line(tmp_path):
    for name in ("Makefile", "requirements.txt"):
        shutil.copy(PROJECT / name, tmp_path)
    command = ["make", ".venv/.installed", f"PYTHON={sys.executable}", "PYTHONS=3.99"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        f"make: {sys.executable} is Python {python}; the project needs one of 3.99: make PYTHON=python3.13, say"
    )
    assert not (tmp_path / ".venv").exists()


@pytest.mark.slow
def test_the_workflow_is_valid_for_github():
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_report_says_so_where_dvc_prints_a_table_without_rows():
    report = ci_script("report")
    no_rows = "| Path   | Param   | HEAD   | workspace   |\n|--------|---------|--------|-------------|"
    assert report.table(no_rows, "No params changed.") == "No params changed."
    assert report.table(f"{no_rows}\n| params.yaml | seed | 42 | 7 |", "No params changed.").endswith("| 7 |")


@pytest.mark.slow  # runs git
def test_the_report_names_a_revision_that_is_not_there(monkeypatch):
    monkeypatch.chdir(PROJECT)
    with pytest.raises(SystemExit, match="error: no-such-revision is not a git revision here"):
        ci_script("report").main("no-such-revision")
