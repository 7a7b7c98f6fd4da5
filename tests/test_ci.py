"""CI on GitHub runs what CI here runs: the workflow is valid and calls .ci/run's make targets, in order."""

import re
import subprocess
import sys

import pytest
import yaml

from tests.helpers import PROJECT

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
