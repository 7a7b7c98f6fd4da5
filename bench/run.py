"""The speed benchmark: the pipeline's train stage (B) against the plain Keras recipe (A), side by side.

Run from the project root after `make` (it reads data/prepared/): `make bench`. In one run it measures
  - the machine's large-matmul GFLOP/s, with the CPU's own kernels and with the pipeline's pinned numerics;
  - A and B alternating, A B A B ..., on MNIST with params.yaml's settings, time per epoch; then the same
    at batch 32, the lesson's (Keras's default) batch size; then B with pinned numerics against the CPU's own;
  - an epoch of the train stage taken apart (bench/epoch.py): products alone, updates, dropout, the whole epoch;
  - `dvc repro --force` of both datasets from a clean copy of the project, each stage's wall time, start-up,
    compilation and peak memory, and a no-op `dvc repro`; against the plain lesson recipe (bench/lesson.py) and
    the reference script doing the pipeline's training, both datasets each.
Writes reports/bench/avx512.json or reports/bench/avx2.json, after the CPU's instruction set, each part as soon as
it is measured, and prints it.
"""

import argparse
import functools
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import yaml

PROJECT = Path(__file__).resolve().parents[1]
DATASET = "mnist"
MATMUL_SIZE = 2048

# What TensorFlow picks for this CPU when the stages do not pin it (lessonkit/numerics.py): explicit values, which the
# stages leave as they are. The same weights as with none of it set, before the pinning existed.
HOST_NUMERICS = {
    "TF_ENABLE_ONEDNN_OPTS": "1",
    "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": "1",
    "XLA_FLAGS": "--xla_cpu_experimental_ynn_fusion_type=+LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT --xla_cpu_max_isa=AMX",
}


def read_params() -> dict:
    return yaml.safe_load((PROJECT / "params.yaml").read_text())


def matmul_flops() -> tuple[int, int]:
    """Floating-point operations of the network's matrix products (2 per multiply-add), params.yaml's hidden layers
    between 28x28 pixels and 10 classes: an image's forward pass; a training image's forward pass, weight gradients
    (as many again) and the gradients passed back to the layers below (none below the first: the pixels need none).
    """
    sizes = [28 * 28, *read_params()["model"]["hidden_units"], 10]
    products = [2 * inputs * outputs for inputs, outputs in itertools.pairwise(sizes)]
    return sum(products), 2 * sum(products) + sum(products[1:])


def python(*arguments: str, cwd: Path = PROJECT, numerics: dict | None = None) -> str:
    environment = {**os.environ, **(numerics or {}), "PYTHONPATH": str(PROJECT)}
    result = subprocess.run([sys.executable, *arguments], cwd=cwd, env=environment, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"benchmark step failed: {' '.join(arguments)}\n{result.stderr[-3000:]}")
    return result.stdout


def matmul_gflops(threads: int, pinned: bool = False) -> float:
    """GFLOP/s of large matrix products in TensorFlow: with the CPU's own kernels, or (`pinned`) with the
    pipeline's numerics, whose kernels are Eigen's."""
    code = f"""
{"import lessonkit" if pinned else ""}
import time, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads({threads})
a = tf.random.uniform(({MATMUL_SIZE}, {MATMUL_SIZE}))
tf.linalg.matmul(a, a).numpy()
started = time.perf_counter()
for _ in range(20):
    product = tf.linalg.matmul(a, a)
product.numpy()
print(20 * 2 * {MATMUL_SIZE} ** 3 / (time.perf_counter() - started) / 1e9)
"""
    return float(python("-c", code).strip().splitlines()[-1])


def run_reference(prepared: Path, workdir: Path, epochs: int | None = None) -> dict:
    """The reference script on one dataset; with no `epochs`, as many as params.yaml says."""
    extra = ["--epochs", str(epochs)] if epochs else []
    return json.loads(python(str(PROJECT / "bench" / "reference.py"), str(prepared), *extra, cwd=workdir))


def run_ours(prepared: Path, workdir: Path, numerics: dict | None = None) -> dict:
    command = ("-m", "stages.train", str(prepared), "trained", "checkpoints", "live")
    output = python(*command, cwd=workdir, numerics=numerics)
    fit_seconds = float(output.split(" epochs in ")[1].split(" s;")[0])
    last = (workdir / "trained" / "history.csv").read_text().strip().splitlines()[-1].split(",")
    return {"fit_seconds": fit_seconds, "val_accuracy": float(last[-1])}


def workdir_with_epochs(root: Path, epochs: int, batch_size: int) -> Path:
    """A folder where the train stage and the reference script read params.yaml with `epochs` and `batch_size`."""
    workdir = root / f"epochs-{epochs}"
    workdir.mkdir()
    params = read_params()
    params["train"]["epochs"] = epochs
    params["train"]["batch_size"] = batch_size
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    return workdir


def one_more_epoch(first: dict, full: dict, epochs: int) -> float:
    """Seconds of one more epoch: a 1-epoch run and an `epochs` run of the same side, their difference shared out."""
    return (full["fit_seconds"] - first["fit_seconds"]) / (epochs - 1)


def ratios(a: list[float], b: list[float]) -> dict:
    """B/A of each pair: median, smallest and largest."""
    pairs = [b_time / a_time for a_time, b_time in zip(a, b, strict=True)]
    return {
        "ratio_median": round(statistics.median(pairs), 3),
        "ratio_min": round(min(pairs), 3),
        "ratio_max": round(max(pairs), 3),
    }


def train_pairs(pairs: int, epochs: int, batch_size: int) -> dict:
    """Time per epoch of A and B, alternating, without the one-off start-up and tracing.

    Each side trains once for 1 epoch and once for `epochs`; the difference over `epochs - 1` is the
    time of one more epoch, validation included.
    """
    prepared = PROJECT / "data" / "prepared" / DATASET
    if not prepared.is_dir():
        sys.exit(f"{prepared} is missing: run `make` first")
    train_images = len(np.load(prepared / "y_train.npy"))
    forward, training = matmul_flops()
    epoch_flops = training * train_images + forward * len(np.load(prepared / "y_valid.npy"))
    reference, ours, reference_accuracy, ours_accuracy = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        short = workdir_with_epochs(Path(folder), 1, batch_size)
        long = workdir_with_epochs(Path(folder), epochs, batch_size)
        for pair in range(pairs):
            first, full = run_reference(prepared, short, 1), run_reference(prepared, long, epochs)
            reference.append(one_more_epoch(first, full, epochs))
            reference_accuracy.append(round(full["val_accuracy"], 4))
            first, full = run_ours(prepared, short), run_ours(prepared, long)
            ours.append(one_more_epoch(first, full, epochs))
            ours_accuracy.append(round(full["val_accuracy"], 4))
            print(f"pair {pair + 1}: A {reference[-1]:.3f} s/epoch, B {ours[-1]:.3f} s/epoch", flush=True)
    a_epoch, b_epoch = statistics.median(reference), statistics.median(ours)
    return {
        "dataset": DATASET,
        "batch_size": batch_size,
        "epochs_per_run": epochs,
        "pairs": pairs,
        "reference_seconds_per_epoch": round(a_epoch, 3),
        "ours_seconds_per_epoch": round(b_epoch, 3),
        **ratios(reference, ours),
        "reference_images_per_second": round(train_images / a_epoch),
        "ours_images_per_second": round(train_images / b_epoch),
        "reference_gflops": round(epoch_flops / a_epoch / 1e9, 1),
        "ours_gflops": round(epoch_flops / b_epoch / 1e9, 1),
        "reference_val_accuracy": reference_accuracy,
        "ours_val_accuracy": ours_accuracy,
    }


def numerics_cost(pairs: int, epochs: int, batch_size: int) -> dict:
    """Time per epoch of the train stage with pinned numerics (B) and with the CPU's own (H), alternating: H's
    environment undoes the settings made there; Eigen's cache sizes stay pinned on both sides."""
    prepared = PROJECT / "data" / "prepared" / DATASET
    pinned, host = [], []
    with tempfile.TemporaryDirectory() as folder:
        short = workdir_with_epochs(Path(folder), 1, batch_size)
        long = workdir_with_epochs(Path(folder), epochs, batch_size)
        for pair in range(pairs):
            for times, numerics in ((host, HOST_NUMERICS), (pinned, None)):
                first, full = run_ours(prepared, short, numerics), run_ours(prepared, long, numerics)
                times.append(one_more_epoch(first, full, epochs))
            print(f"pair {pair + 1}: host {host[-1]:.3f} s/epoch, pinned {pinned[-1]:.3f} s/epoch", flush=True)
    return {
        "dataset": DATASET,
        "batch_size": batch_size,
        "pairs": pairs,
        "host_seconds_per_epoch": round(statistics.median(host), 3),
        "pinned_seconds_per_epoch": round(statistics.median(pinned), 3),
        **ratios(host, pinned),
    }


class StageWatch(threading.Thread):
    """Samples every `python3 -m stages.<stage>` process under a parent: its peak resident memory, and the time
    from its first to its last sample (its wall time, to the sampling interval)."""

    INTERVAL = 0.05

    def __init__(self, parent: int):
        super().__init__(daemon=True)
        self.parent, self.done = psutil.Process(parent), threading.Event()
        self.peaks, self.first_seen, self.last_seen = {}, {}, {}

    def run(self) -> None:
        while not self.done.is_set():
            try:
                children = self.parent.children(recursive=True)
            except psutil.NoSuchProcess:
                return
            for child in children:
                try:
                    command = child.cmdline()
                    if "-m" in command and command[command.index("-m") + 1].startswith("stages."):
                        stage = f"{command[command.index('-m') + 1].removeprefix('stages.')}@{self.dataset(command)}"
                        self.peaks[stage] = max(self.peaks.get(stage, 0), child.memory_info().rss)
                        self.first_seen.setdefault(stage, time.perf_counter())
                        self.last_seen[stage] = time.perf_counter()
                except (psutil.NoSuchProcess, psutil.AccessDenied, IndexError, StopIteration):
                    pass
            time.sleep(self.INTERVAL)

    @staticmethod
    def dataset(command: list[str]) -> str:
        return next(part.split("/")[-1] for part in command if part.startswith(("data/", "models/")))

    def seconds(self, stage: str) -> float:
        return self.last_seen[stage] - self.first_seen[stage] + self.INTERVAL


@functools.cache  # the same for every dataset's run of the stage
def start_up_seconds(stage: str) -> float:
    """The fastest of 3 starts of a Python that imports the stage's module and all it imports at once."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        python("-c", f"import stages.{stage}")
        times.append(time.perf_counter() - started)
    return min(times)


def compile_seconds(output: str, dataset: str) -> float:
    """The train stage's first epoch less a later epoch's average: tracing and XLA compilation, from its lines."""
    first = float(re.search(rf"^{dataset}: epoch 1/\d+: .*; ([\d.]+) s/epoch", output, re.M).group(1))
    epochs, fit = re.search(rf"^{dataset}: trained (\d+) epochs in ([\d.]+) s;", output, re.M).groups()
    epochs, fit = int(epochs), float(fit)
    return first - (fit - first) / (epochs - 1)


def breakdown(watch: StageWatch, output: str) -> dict:
    """Per stage: wall seconds, Python and import start-up, compilation (train only) and the rest (compute, I/O)."""
    stages = {}
    for stage in sorted(watch.first_seen):
        name, dataset = stage.split("@")
        wall, start_up = watch.seconds(stage), start_up_seconds(name)
        compiling = compile_seconds(output, dataset) if name == "train" else 0.0
        stages[stage] = {
            "seconds": round(wall, 1),
            "start_up": round(start_up, 1),
            "compile": round(compiling, 1),
            "compute": round(wall - start_up - compiling, 1),
        }
    return stages


def end_to_end() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "project"
        files = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout
        for name in files.split():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / name, copy / name)
        if (PROJECT / "mirrors").is_dir():
            (copy / "mirrors").symlink_to(PROJECT / "mirrors")
        subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
        subprocess.run(["git", "add", "-A"], cwd=copy, check=True)
        identity = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@example.invalid"]
        subprocess.run(["git", *identity, "commit", "-qm", "copy"], cwd=copy, check=True)  # DVCLive needs one
        environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        dvc = [sys.executable, "-m", "dvc", "repro"]
        started = time.perf_counter()
        # Every stage, as the lesson runs all ten steps: where training gives the committed model byte for byte,
        # DVC would rightly skip evaluate and predict, whose committed outputs are already that model's.
        process = subprocess.Popen([*dvc, "--force"], cwd=copy, env=environment, stdout=subprocess.PIPE, text=True)
        watch = StageWatch(process.pid)
        watch.start()
        output = process.communicate()[0]
        if process.returncode:
            sys.exit("dvc repro failed in the benchmark's copy of the project")
        watch.done.set()
        repro_seconds = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(dvc, cwd=copy, env=environment, stdout=subprocess.DEVNULL, check=True)
        noop_seconds = time.perf_counter() - started
        datasets = read_params()["datasets"]
        started = time.perf_counter()
        for dataset in datasets:
            run_reference(copy / "data" / "prepared" / dataset, copy)
        reference_seconds = time.perf_counter() - started
        started = time.perf_counter()
        python(str(PROJECT / "bench" / "lesson.py"), *(str(copy / "data" / "raw" / name) for name in datasets))
        lesson_seconds = time.perf_counter() - started
        stages = breakdown(watch, output)
    return {
        "dvc_repro_seconds": round(repro_seconds, 1),
        "lesson_seconds": round(lesson_seconds, 1),
        "ratio_to_lesson": round(repro_seconds / lesson_seconds, 3),
        "reference_seconds": round(reference_seconds, 1),
        "ratio": round(repro_seconds / reference_seconds, 3),
        "noop_dvc_repro_seconds": round(noop_seconds, 2),
        "stages": stages,
        "dvc_own_seconds": round(repro_seconds - sum(stage["seconds"] for stage in stages.values()), 1),
        "peak_memory_mib": {stage: round(peak / 2**20) for stage, peak in sorted(watch.peaks.items())},
    }


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    versions = python("-c", "import tensorflow, keras; print(tensorflow.__version__, keras.__version__)").split()
    avx512f = "avx512f" in Path("/proc/cpuinfo").read_text().split()
    return {
        "cpu": cpu,
        "avx512f": avx512f,
        "isa": "AVX-512" if avx512f else "AVX2 (no AVX-512)",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": versions[0],
        "keras": versions[1],
    }


def main(pairs: int, epochs: int, skip_end_to_end: bool) -> None:
    """Each part's figures are written to the CPU's record as soon as they are measured."""
    train = read_params()["train"]
    results = {
        "machine": machine(),
        "matmul_gflops": round(matmul_gflops(train["threads"]), 1),
        "matmul_gflops_pinned": round(matmul_gflops(train["threads"], pinned=True), 1),
    }
    print(
        f"machine: {results['machine']}; large matmul {results['matmul_gflops']} GFLOP/s, "
        f"{results['matmul_gflops_pinned']} with the pipeline's numerics",
        flush=True,
    )
    # At params.yaml's batch size (the comparison that counts), then at the lesson's (Keras's default, 32).
    for key, batch_size, runs in (("train", train["batch_size"], pairs), ("train_batch_32", 32, max(3, pairs // 2))):
        results[key] = train_pairs(runs, epochs, batch_size)
        gflops = results[key]["ours_gflops"]
        results[key]["ours_fraction_of_matmul"] = round(gflops / results["matmul_gflops"], 3)
        results[key]["ours_fraction_of_pinned_matmul"] = round(gflops / results["matmul_gflops_pinned"], 3)
        write(results)
    results["numerics_cost"] = numerics_cost(pairs, epochs, train["batch_size"])
    write(results)
    parts = json.loads(python("-m", "bench.epoch"))
    products_gflops = matmul_flops()[1] * parts["batch_size"] * parts["updates_per_epoch"] / parts["products"] / 1e9
    parts["products_fraction_of_pinned_matmul"] = round(products_gflops / results["matmul_gflops_pinned"], 3)
    results["epoch_parts"] = parts
    write(results)
    if not skip_end_to_end:
        results["end_to_end"] = end_to_end()
        write(results)
    print(json.dumps(results, indent=2))


def write(results: dict) -> None:
    record = PROJECT / "reports" / "bench" / f"{'avx512' if results['machine']['avx512f'] else 'avx2'}.json"
    record.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=5, help="A/B pairs of training runs")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the longer training run of each side")
    parser.add_argument("--skip-end-to-end", action="store_true", help="only the training pairs")
    arguments = parser.parse_args()
    main(arguments.pairs, arguments.epochs, arguments.skip_end_to_end)
