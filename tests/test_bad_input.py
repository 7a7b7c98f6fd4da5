"""Every kind of bad input, through the stages' own command lines: one line naming the problem, a non-zero
exit, and the good outputs of an earlier run left exactly as they were."""

import gzip
import re
import runpy
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from lessonkit import saved
from lessonkit.formats import encode_idx, sha256
from lessonkit.model import build_model
from lessonkit.params import PrepareParams
from stages import download, prepare
from tests.helpers import DELETE, change_catalog, snapshot, synthetic_idx_files, with_change

TRAIN_IMAGES, TEST_LABELS = "train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
DOWNLOAD = ("stages.download", "tiny", "raw")
PREPARE = ("stages.prepare", "raw", "prepared")
TRAIN = ("stages.train", "prepared", "trained", "checkpoints", "live")
EVALUATE = (
    "stages.evaluate",
    *("tiny", "prepared", "trained", "--metrics", "m.json", "--card", "f.json", "--per-class", "c.csv"),
    *("--predictions", "t.csv", "--confusion", "c.png", "--curves", "h.png"),
)


def mirrored(file: str, raw: bytes) -> Callable[[Path], None]:
    """Put `raw` in the mirror as `file` and let the catalog vouch for it, so that it reaches the decoder."""

    def change(project: Path) -> None:
        (project / "mirror" / file).write_bytes(raw)
        change_catalog(project, "tiny", lambda entry: entry["sha256"].update({file: sha256(raw)}))

    return change


def param(path: str, value: object) -> Callable[[Path], None]:
    """Set params.yaml's `path` (dotted) to `value`, or delete it."""

    def change(project: Path) -> None:
        values = yaml.safe_load((project / "params.yaml").read_text())
        (project / "params.yaml").write_text(yaml.safe_dump(with_change(values, path, value)))

    return change


def params_file(content: bytes) -> Callable[[Path], None]:
    """Replace params.yaml with `content`."""

    def change(project: Path) -> None:
        (project / "params.yaml").write_bytes(content)

    return change


def gzipped_and_cut(project: Path) -> None:
    raw = (project / "mirror" / TRAIN_IMAGES).read_bytes()
    (project / "mirror" / TRAIN_IMAGES).unlink()
    (project / "mirror" / f"{TRAIN_IMAGES}.gz").write_bytes(gzip.compress(raw)[:-20])


def images(count: int, size: int = 28) -> bytes:
    return encode_idx(np.zeros((count, size, size), np.uint8))


def unchanged(project: Path) -> None:
    pass


def array(folder: str, name: str, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    """Replace the array <folder>/<name>.npy by `change` of it."""

    def replace(project: Path) -> None:
        path = project / folder / f"{name}.npy"
        np.save(path, change(np.load(path)))

    return replace


def diverging_beside_dvcs_gitignore(project: Path) -> None:
    """A learning rate that explodes the loss, the DVCLive folder holding the .gitignore DVC writes for its outputs."""
    param("train.optimizer.learning_rate", 50.0)(project)
    (project / "live").mkdir()
    (project / "live" / ".gitignore").write_text("/plots\n/metrics.json\n")


def damaged_model(project: Path) -> None:
    (project / "trained").mkdir()
    (project / "trained" / saved.MODEL).write_bytes(b"PK\3\4")  # a zip archive's first bytes, and no more


def trained_without(file: str) -> Callable[[Path], None]:
    """A train stage's folder holding a model, its history and environment, less `file`."""

    def change(project: Path) -> None:
        model = build_model((28, 28), 10, (4,), "relu", dropout=0)
        saved.save(project / "trained", model, {column: [0.5] for column in saved.HISTORY_COLUMNS}, {})
        (project / "trained" / file).unlink()

    return change


CASES = {
    # data: the download stage
    "checksum mismatch": (
        lambda project: (project / "mirror" / TRAIN_IMAGES).write_bytes(synthetic_idx_files(seed=1)[TRAIN_IMAGES]),
        DOWNLOAD,
        rf"{TRAIN_IMAGES} from the registry copy .* has SHA-256 \w+, expected \w+",
    ),
    "missing file": (
        lambda project: (project / "mirror" / TEST_LABELS).unlink(),
        DOWNLOAD,
        rf"{TEST_LABELS}\(\.gz\) is missing",
    ),
    "unreachable source": (
        lambda project: (project / "mirror").rename(project / "elsewhere"),
        DOWNLOAD,
        r"no source gave the verified IDX files.*Fix: run `python -m tools.mirrors`",
    ),
    "corrupt gzip": (gzipped_and_cut, DOWNLOAD, rf"{TRAIN_IMAGES}.gz is not a valid gzip file"),
    "truncated IDX": (mirrored(TRAIN_IMAGES, images(120)[:-7]), DOWNLOAD, rf"{TRAIN_IMAGES} .*truncated or corrupt"),
    "truncated IDX header": (mirrored(TRAIN_IMAGES, images(120)[:6]), DOWNLOAD, "truncated in its header"),
    "wrong magic number": (
        mirrored(TRAIN_IMAGES, b"\x00\x00\x09\x03" + images(120)[4:]),
        DOWNLOAD,
        rf"{TRAIN_IMAGES} .*wrong magic number 00000903",
    ),
    "image count differs from label count": (
        mirrored(TRAIN_IMAGES, images(119)),
        DOWNLOAD,
        "training files .*119 images but 120 labels",
    ),
    "label outside 0-9": (
        mirrored(TEST_LABELS, encode_idx(np.full(30, 12, np.uint8))),
        DOWNLOAD,
        "test files .*label 12 outside 0-9",
    ),
    "wrong image size": (mirrored(TRAIN_IMAGES, images(120, 32)), DOWNLOAD, r"images are \(32, 32\), expected"),
    "unknown dataset": (unchanged, ("stages.download", "cifar", "raw"), "unknown dataset 'cifar'"),
    "catalog entry missing": (
        lambda project: (project / "datasets" / "tiny.yaml").unlink(),
        DOWNLOAD,
        "unknown dataset 'tiny': there is no datasets/tiny.yaml",
    ),
    "catalog entry not YAML": (
        lambda project: (project / "datasets" / "tiny.yaml").write_text("sha256: [unclosed"),
        DOWNLOAD,
        "datasets/tiny.yaml is unreadable or incomplete",
    ),
    # params: checked in full by every stage before it reads or writes anything
    "params file not YAML": (
        params_file(b"train: [unclosed"),
        PREPARE,
        "cannot read params.yaml: expected ',' or ']', but got '<stream end>' at line 1, column 17",
    ),
    "params file not text": (
        params_file(b"seed: \xff\xfe"),
        PREPARE,
        "cannot read params.yaml: 'utf-8' codec can't decode byte 0xff",
    ),
    "unknown key": (param("train.momentum", 0.9), PREPARE, "unknown key train.momentum"),
    "missing key": (param("train.threads", DELETE), PREPARE, "missing key train.threads"),
    "wrong type": (param("train.epochs", "60"), PREPARE, "train.epochs = '60' .* of type int"),
    "zero epochs": (param("train.epochs", 0), PREPARE, "train.epochs = 0 .* a positive integer"),
    "negative batch size": (param("train.batch_size", -32), PREPARE, "train.batch_size = -32"),
    "empty hidden_units": (param("model.hidden_units", []), PREPARE, r"model.hidden_units = \[\]"),
    "non-integer hidden_units": (param("model.hidden_units", [16.5]), PREPARE, "model.hidden_units = 16.5"),
    "validation set as large as the training set": (
        param("prepare.validation_size", 120),
        PREPARE,
        "prepare.validation_size = 120 .* from 10 to 119",
    ),
    "validation set smaller than the class count": (
        param("prepare.validation_size", 5),
        PREPARE,
        "prepare.validation_size = 5 .* from 10 to 119",
    ),
    "unknown dataset in params": (param("datasets", ["tiny", "Tiny!"]), PREPARE, "datasets = 'Tiny!'"),
    "dataset name escaping the project": (param("datasets", ["../x"]), PREPARE, r"datasets = '\.\./x'"),
    "unknown optimizer": (
        param("train.optimizer.name", "adamm"),
        TRAIN,
        "train.optimizer.name = 'adamm' is not allowed; it must name an optimizer of keras.optimizers",
    ),
    "argument the optimizer does not take": (
        param("train.optimizer.momentum", 0.9),
        TRAIN,
        r"train.optimizer = .*'momentum': 0.9.* is not allowed; Keras says: .*momentum",
    ),
    "optimizer not a mapping": (param("train.optimizer", "adam"), PREPARE, "train.optimizer = 'adam' .* a mapping"),
    "optimizer without a learning rate": (
        param("train.optimizer.learning_rate", DELETE),
        PREPARE,
        "train.optimizer.learning_rate = None .* a positive number",
    ),
    "unknown activation": (param("model.activation", "swish2"), PREPARE, "model.activation = 'swish2'"),
    "dropout of 1": (param("model.dropout", 1), PREPARE, "model.dropout = 1.0"),
    "infinite learning rate": (
        param("train.optimizer.learning_rate", float("inf")),
        PREPARE,
        "train.optimizer.learning_rate = inf .* a finite number",
    ),
    "learning rate not a number": (
        param("train.optimizer.learning_rate", float("nan")),
        PREPARE,
        "train.optimizer.learning_rate = nan",
    ),
    "dropout not a number": (param("model.dropout", float("nan")), PREPARE, "model.dropout = nan .* a finite number"),
    "no predictions": (param("predict.count", 0), PREPARE, "predict.count = 0 .* from 1 to 100"),
    "more predictions than one picture shows": (param("predict.count", 101), PREPARE, "predict.count = 101 .* to 100"),
    "negative seed": (param("seed", -1), PREPARE, "seed = -1 .* from 0 to 4294967295"),
    "more threads than TensorFlow takes": (param("train.threads", 2**31), PREPARE, "train.threads = 2147483648"),
    "optimizer argument not a number": (
        param("train.optimizer.weight_decay", "abc"),
        PREPARE,
        "train.optimizer.weight_decay = 'abc' .* a number or true/false",
    ),
    "optimizer Keras cannot build from its name alone": (
        param("train.optimizer.name", "LossScaleOptimizer"),
        TRAIN,
        "train.optimizer.name = 'LossScaleOptimizer' is not allowed",
    ),
    # training that diverges stops at that epoch, writing nothing
    "learning rate so large the loss explodes": (
        diverging_beside_dvcs_gitignore,
        TRAIN,
        r"training diverged at epoch 1: loss [\d.e+]+ \(a uniform guess scores 2.30\); lower "
        r"train.optimizer.learning_rate \(now 50\)",
    ),
    "learning rate so large the loss is NaN": (
        param("train.optimizer.learning_rate", 1e30),
        TRAIN,
        r"training diverged at epoch 1: loss nan .* train.optimizer.learning_rate \(now 1e\+30\)",
    ),
    "a network larger than memory": (
        param("model.hidden_units", [10**11]),  # more bytes than a 64-bit CPU addresses: refused, never touched
        TRAIN,
        r"out of memory training model.hidden_units \[100000000000\] at train.batch_size \d+; make them smaller",
    ),
    "multi_worker without a cluster": (
        param("train.distribute", "multi_worker"),
        TRAIN,
        "train.distribute is multi_worker, but TF_CONFIG does not describe a cluster",
    ),
    # missing inputs of later stages
    "prepared data missing": (
        lambda project: (project / "prepared").rename(project / "elsewhere"),
        TRAIN,
        "cannot read prepared: .* run `dvc repro`",
    ),
    "model missing": (unchanged, EVALUATE, "no model at trained/model.keras; run `dvc repro`"),
    "model damaged": (
        damaged_model,
        EVALUATE,
        "trained/model.keras is missing, damaged or not the train stage's; run `dvc repro`",
    ),
    # evaluate reads the whole train folder before it writes a report
    "history missing": (trained_without(saved.HISTORY), EVALUATE, "trained/history.csv is missing, damaged"),
    "environment missing": (trained_without(saved.ENVIRONMENT), EVALUATE, "trained/environment.json is missing"),
    # arrays between stages, checked as they are read
    "array file empty": (
        lambda project: (project / "prepared" / "y_valid.npy").write_bytes(b""),
        TRAIN,
        "cannot read prepared: y_valid.npy is damaged or not a NumPy array file; run `dvc repro`",
    ),
    "labels outside 0-9 between stages": (
        array("prepared", "y_train", lambda labels: labels + 10),
        TRAIN,
        r"prepared: X_train, y_train: label 1\d outside 0-9; run `dvc repro`",
    ),
    "labels not integers": (
        array("raw", "y_train_full", lambda labels: labels.astype(float)),
        PREPARE,
        "raw: X_train_full, y_train_full: labels are float64, expected integers",
    ),
    "a label short": (
        array("prepared", "y_test", lambda labels: labels[:-1]),
        EVALUATE,
        r"prepared: X_test, y_test: 30 images but 29 labels",
    ),
    "object size larger than the frame": (
        lambda project: change_catalog(project, "tiny", lambda entry: entry.update(object_size=40)),
        DOWNLOAD,
        "tiny has object_size 40; it must be from 1 to 28",
    ),
}


@pytest.mark.filterwarnings("ignore:'stages.*' found in sys.modules:RuntimeWarning")
@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_one_clear_line_and_loses_nothing(case, synthetic_project, monkeypatch):
    change, command, message = CASES[case]
    monkeypatch.delenv("TF_CONFIG", raising=False)
    download.main("tiny", synthetic_project / "raw")
    prepare.main(synthetic_project / "raw", synthetic_project / "prepared", 0, PrepareParams(20))
    change(synthetic_project)
    outputs = {name: snapshot(synthetic_project / name) for name in ("raw", "prepared")}
    files_before = {path for path in synthetic_project.rglob("*") if path.is_file()}

    monkeypatch.setattr(sys, "argv", list(command))
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module(command[0], run_name="__main__")

    error = exit_.value.code
    assert isinstance(error, str) and error.startswith("error: ") and "\n" not in error
    assert re.search(message, error), error
    assert {path for path in synthetic_project.rglob("*") if path.is_file()} == files_before
    for name, files in outputs.items():
        if (synthetic_project / name).exists():
            assert snapshot(synthetic_project / name) == files
