"""CI on GitHub runs what CI here runs: the workflow is valid and calls .ci/run's make targets, in order; the report
it posts reads well."""

import re
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
