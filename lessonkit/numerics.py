"""The same floating-point results on every x86-64 CPU, set in the environment before TensorFlow loads.

TensorFlow picks its code by the CPU it runs on; each setting below removes one such choice. With all of them,
an AMD EPYC with AVX-512 and one with AVX2 only (emulated by QEMU) train bit-identical weights; without them,
they did not. A variable already set is left as it is, and the
model card records what was in force.
"""

import os
import platform

NUMERICS = {
    # TensorFlow's own ops (validation, evaluate, predict): oneDNN's matmul and softmax kernels round differently
    # on each instruction set, even capped with ONEDNN_MAX_CPU_ISA; Eigen's, compiled into TensorFlow, do not.
    "TF_ENABLE_ONEDNN_OPTS": "0",
    # Eigen's matrix products, in XLA's code too, hand their blocks to oneDNN's sgemm, which differs by CPU
    # the same way; this keeps them in Eigen.
    "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": "0",
}
# XLA hands matrix products and reductions to YNNPACK, whose kernels follow the CPU (AVX-512 ones where there is
# AVX-512) with no cap; without it they run in Eigen. XLA's own code is generated for AVX2 at most: it would use
# 512-bit vectors otherwise, though that alone did not change the weights here.
XLA_FLAGS = {
    "--xla_cpu_experimental_ynn_fusion_type": "-LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,-LIBRARY_FUSION_TYPE_REDUCE",
    "--xla_cpu_max_isa": "AVX2",
}


def pin() -> None:
    for name, value in NUMERICS.items():
        os.environ.setdefault(name, value)
    flags = os.environ.get("XLA_FLAGS", "")
    added = [f"{flag}={value}" for flag, value in XLA_FLAGS.items() if flag not in flags]
    if platform.machine().lower() not in ("x86_64", "amd64"):
        added = [flag for flag in added if not flag.startswith("--xla_cpu_max_isa")]
    os.environ["XLA_FLAGS"] = " ".join([flags, *added]).strip()
    # TensorFlow's C++ start-up chatter (oneDNN notes, graph attribute mismatches) says nothing a user
    # can act on; real failures still raise in Python. Set TF_CPP_MIN_LOG_LEVEL to see it again.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
