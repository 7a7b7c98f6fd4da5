"""The lesson notebook runs, top to bottom, on a tiny synthetic dataset, so it never goes stale."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers import PROJECT

NOTEBOOK = PROJECT / "notebooks" / "lesson.ipynb"

pytestmark = pytest.mark.slow  # starts a notebook kernel


def test_the_lesson_notebook_runs_every_step(synthetic_project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHONPATH", str(PROJECT))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    parameters.source = "EPOCHS = 2"
    before = {path for path in synthetic_project.rglob("*")}

    NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(synthetic_project)}}).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs)
    assert "from the registry copy" in text and "100 training, 20 validation and 30 test images" in text
    assert "tiny: epoch 2/2:" in text and "test accuracy" in text
    assert "no pipeline run yet" in text
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(pictures) == 2  # the curves and the first 5 test images
    assert {path for path in synthetic_project.rglob("*")} == before, "the notebook wrote into the project"
