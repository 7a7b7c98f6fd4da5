"""dvc.yaml agrees with the code: each stage runs its module, declares exactly the params it reads
and depends on exactly the modules it imports."""

import ast
from pathlib import Path

import pytest
import yaml

from lessonkit import params

PACKAGES = ("stages", "lessonkit")
PIPELINE = yaml.safe_load(Path("dvc.yaml").read_text())
STAGES = PIPELINE["stages"]


def module_path(module: str) -> Path:
    path = Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imports(path: Path) -> set[str]:
    """The project modules (stages.*, lessonkit.*) a module imports directly, and the packages they belong to,
    whose start-up runs first (lessonkit's pins the numerics)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module in PACKAGES:
            found |= {
                f"{node.module}.{alias.name}" if module_path(f"{node.module}.{alias.name}").is_file() else node.module
                for alias in node.names
            }
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES}
    return found | {module.split(".")[0] for module in found}


def code_closure(module: str) -> set[str]:
    """The module, its package, and every project module it imports, directly or not."""
    seen, pending = set(), [module, module.split(".")[0]]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(imports(module_path(current)))
    return seen


def calls(path: Path, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and (getattr(node.func, "attr", None) == name or getattr(node.func, "id", None) == name)
    ]


def params_read(path: Path) -> set[str]:
    """The sections named in the module's params.load(...) calls."""
    return {
        argument.value for call in calls(path, "load") for argument in call.args if isinstance(argument, ast.Constant)
    }


@pytest.mark.parametrize("name", STAGES)
def test_stage_runs_its_own_module_once_per_dataset(name):
    assert STAGES[name]["matrix"] == {"dataset": "${datasets}"}
    assert STAGES[name]["cmd"].startswith(f"python3 -m stages.{name} ")


@pytest.mark.parametrize("name", STAGES)
def test_stage_declares_exactly_the_params_it_reads(name):
    sections = {entry for entry in STAGES[name].get("params", []) if isinstance(entry, str)}
    assert sections == params_read(module_path(f"stages.{name}"))


@pytest.mark.parametrize("name", STAGES)
def test_stage_depends_on_exactly_the_code_it_runs(name):
    declared = {dependency for dependency in STAGES[name]["deps"] if dependency.endswith(".py")}
    assert declared == {str(module_path(module)) for module in code_closure(f"stages.{name}")}


@pytest.mark.parametrize("name", STAGES)
def test_stage_that_reads_the_catalog_depends_on_its_own_entry_only(name):
    reads_catalog = "lessonkit.catalog" in imports(module_path(f"stages.{name}"))
    assert ("datasets/${item.dataset}.yaml" in STAGES[name]["deps"]) == reads_catalog
    assert not any(entry == "datasets" or "datasets.yaml" in str(entry) for entry in STAGES[name].get("params", []))


def test_every_params_section_is_used():
    declared = {section for stage in STAGES.values() for section in stage.get("params", []) if isinstance(section, str)}
    assert declared | {"datasets"} == set(params.SECTIONS)


def test_top_level_plots_cover_every_dataset():
    (datasets,) = params.load("datasets")
    plotted = {file.split("/")[1] for plot in PIPELINE["plots"] for spec in plot.values() for file in spec["y"]}
    assert plotted == set(datasets)


def test_every_dataset_has_its_model_in_the_registry():
    (datasets,) = params.load("datasets")
    models = {artifact["path"] for artifact in PIPELINE["artifacts"].values() if artifact["type"] == "model"}
    assert models == {f"models/{dataset}/model.keras" for dataset in datasets}
