"""Training under tf.distribute: two workers on this machine, each in its own copy of the project, as on a
cluster; the chief writes the model, the other worker writes nothing inside its project."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from lessonkit.params import PrepareParams
from lessonkit.saved import ENVIRONMENT, HISTORY, MODEL, load_model, read_history
from stages import download, prepare
from tests.helpers import PROJECT, TINY_PARAMS, with_change, write_tiny_dataset

TRAIN = [sys.executable, "-m", "stages.train", "prepared", "trained", "checkpoints", "live"]


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


class Cluster:
    """Two workers on 127.0.0.1, each with its own copy of a prepared synthetic project and its own temp folder."""

    def __init__(self, chief_project: Path, root: Path, params: dict):
        (chief_project / "params.yaml").write_text(yaml.safe_dump(params))
        download.main("tiny", chief_project / "raw")
        prepare.main(
            chief_project / "raw", chief_project / "prepared", 0, PrepareParams(params["prepare"]["validation_size"])
        )
        self.projects = [chief_project, shutil.copytree(chief_project, root / "worker")]
        self.scratch = [root / "tmp-0", root / "tmp-1"]
        for folder in self.scratch:
            folder.mkdir()
        self.addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]

    def start(self) -> list[subprocess.Popen]:
        workers = []
        for index, (project, scratch) in enumerate(zip(self.projects, self.scratch, strict=True)):
            task = {"cluster": {"worker": self.addresses}, "task": {"type": "worker", "index": index}}
            environment = {
                **os.environ,
                "PYTHONPATH": str(PROJECT),
                "TMPDIR": str(scratch),
                "TF_CONFIG": json.dumps(task),
            }
            workers.append(
                subprocess.Popen(TRAIN, cwd=project, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            )
        return workers

    def run(self) -> list[tuple[int, str]]:
        workers = self.start()
        outputs = [worker.communicate(timeout=300)[0].decode() for worker in workers]
        return [(worker.returncode, output) for worker, output in zip(workers, outputs, strict=True)]


def test_the_readme_starts_the_other_workers_as_dvc_starts_the_chief():
    """README's cluster recipe runs the train stage by hand on the other workers: with the arguments dvc.yaml gives."""
    worker = re.search(r"\.venv/bin/python -m (stages\.train .*)", (PROJECT / "README.md").read_text()).group(1)
    chief = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]["train"]["cmd"]
    assert worker.split() == chief.replace("${item.dataset}", "$dataset").split()[2:]  # after "python3 -m"


@pytest.mark.slow  # starts worker processes
def test_two_workers_train_together_and_only_the_chief_writes(synthetic_project: Path, tmp_path_factory):
    params = with_change(with_change(TINY_PARAMS, "train.distribute", "multi_worker"), "train.epochs", 4)
    cluster = Cluster(synthetic_project, tmp_path_factory.mktemp("cluster"), params)
    chief, worker = cluster.projects
    before = files(worker)

    results = cluster.run()

    assert [code for code, _ in results] == [0, 0], results
    assert "trained 4 epochs as a worker" in results[1][1]
    assert files(chief / "trained") == {MODEL, HISTORY, ENVIRONMENT}
    assert files(worker) == before, "the worker wrote inside its project"
    assert not any(cluster.scratch[1].iterdir()), "the worker left its checkpoints"
    history = read_history(chief / "trained")
    assert len(history["loss"]) == 4 and history["loss"][-1] < history["loss"][0]
    assert load_model(chief / "trained").count_params() > 0
    environment = json.loads((chief / "trained" / ENVIRONMENT).read_text())
    assert environment["distribute"] == {"strategy": "multi_worker", "replicas": 2} and environment["xla"] is False


@pytest.mark.slow
def test_workers_that_would_resume_from_different_epochs_stop_with_an_error(synthetic_project, tmp_path_factory):
    """Kill both workers after the chief saved epoch 2, lose the other worker's checkpoints, start both again."""
    write_tiny_dataset(synthetic_project, train_size=3000)
    params = with_change(with_change(TINY_PARAMS, "train.distribute", "multi_worker"), "train.epochs", 20)
    cluster = Cluster(synthetic_project, tmp_path_factory.mktemp("cluster"), with_change(params, "train.batch_size", 8))
    workers = cluster.start()
    while not list(synthetic_project.glob("checkpoints/*/epoch-2.weights.h5")):
        assert all(worker.poll() is None for worker in workers), [worker.stdout.read() for worker in workers]
        time.sleep(0.01)
    for worker in workers:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    shutil.rmtree(cluster.scratch[1])
    cluster.scratch[1].mkdir()

    results = cluster.run()

    assert [code for code, _ in results] == [1, 1], results
    for _, output in results:
        assert re.search(r"error: the workers would resume after different epochs \(\d+, 0\)", output), output
    assert not (synthetic_project / "trained").exists()
