"""Training under tf.distribute: two workers on this machine, each in its own copy of the project, as on a
cluster; the chief writes the model, the other worker writes nothing inside its project."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from stages import download, prepare
from stages.model import ENVIRONMENT, HISTORY, MODEL, load_model, read_history
from stages.params import PrepareParams
from tests.conftest import TINY_PARAMS, with_change

PROJECT = Path(__file__).resolve().parents[1]
TRAIN = [sys.executable, "-m", "stages.train", "prepared", "trained", "checkpoints"]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_two_workers_train_together_and_only_the_chief_writes(synthetic_project: Path, tmp_path: Path):
    params = with_change(TINY_PARAMS, "train.distribute", "multi_worker")
    params = with_change(params, "train.epochs", 4)
    (synthetic_project / "params.yaml").write_text(yaml.safe_dump(params))
    download.main("tiny", synthetic_project / "raw")
    prepare.main(synthetic_project / "raw", synthetic_project / "prepared", 0, PrepareParams(20))
    worker_project = shutil.copytree(synthetic_project, tmp_path.parent / f"{tmp_path.name}-worker")
    before = files(worker_project)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index, project in enumerate((synthetic_project, worker_project)):
        scratch = tmp_path.parent / f"{tmp_path.name}-tmp-{index}"
        scratch.mkdir()
        environment = {
            **os.environ,
            "PYTHONPATH": str(PROJECT),
            "TMPDIR": str(scratch),
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        }
        workers.append(
            subprocess.Popen(TRAIN, cwd=project, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    outputs = [worker.communicate(timeout=300)[0].decode() for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert "trained 4 epochs as a worker" in outputs[1]
    assert files(synthetic_project / "trained") == {MODEL, HISTORY, ENVIRONMENT}
    assert files(worker_project) == before, "the worker wrote inside its project"
    assert not any((tmp_path.parent / f"{tmp_path.name}-tmp-1").iterdir()), "the worker left its checkpoints"
    history = read_history(synthetic_project / "trained" / HISTORY)
    assert len(history["loss"]) == 4 and history["loss"][-1] < history["loss"][0]
    assert load_model(synthetic_project / "trained").count_params() > 0
    environment = json.loads((synthetic_project / "trained" / ENVIRONMENT).read_text())
    assert environment["distribute"] == {"strategy": "multi_worker", "replicas": 2} and environment["xla"] is False
