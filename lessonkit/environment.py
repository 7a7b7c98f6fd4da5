"""What produced a result: versions, CPU and the settings that change floating-point results."""

import os
import platform
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lessonkit import numerics


def cpu() -> tuple[str, list[str]]:
    """The CPU's model name and instruction-set flags, from /proc/cpuinfo where there is one."""
    info = Path("/proc/cpuinfo")
    fields = {}
    if info.is_file():
        for line in info.read_text().splitlines():
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(), value.strip())
    return fields.get("model name", platform.processor()), sorted(fields.get("flags", "").split())


def describe(jit_compile: bool, distribute: str, replicas: int) -> dict:
    """Read back from the running TensorFlow, so it states what was in force, not what was asked for."""
    model, flags = cpu()
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu": model,
        "cpu_flags": flags,
        "cores": os.cpu_count(),
        "threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        },
        "numerics": {name: os.environ.get(name, "unset") for name in (*numerics.NUMERICS, "XLA_FLAGS")}
        | {"eigen_cache_sizes": numerics.eigen_cache_sizes()},
        "xla": jit_compile,
        "distribute": {"strategy": distribute, "replicas": replicas},
    }
