"""The same params and data train the same weights, bit for bit, on every x86-64 CPU with AVX2 and FMA: importing
`lessonkit` pins TensorFlow's CPU-dependent choices (lessonkit/numerics.py)."""

import os
import sys
from pathlib import Path

import pytest

from lessonkit import numerics
from lessonkit.formats import arrays_sha256
from lessonkit.saved import load_model
from tests.helpers import tiny, train_tiny, write_tiny_dataset

# The weights' SHA-256 after the run below. Produced on an AMD EPYC whose flags include avx512f; the same under
# QEMU emulating an AMD EPYC-Milan, whose flags have avx2 and fma but no avx512f, reporting a 32 KiB or a 64 KiB
# L1 data cache (`make other-cpu`). A machine whose numerics differ fails here in seconds, before `make reproduced`
# finds it after minutes of training.
EXPECTED_WEIGHTS_SHA256 = "9cc5dafcb9c6733ec342dc2b64c555189b0fb6aa2deae0709f622f01aede614a"


def test_a_few_steps_of_training_give_the_committed_weights_on_any_cpu(tmp_path: Path, monkeypatch):
    """The real training path (whole epochs compiled by XLA, GELU, dropout on the pixels and after each hidden layer,
    Adam with weight decay and cosine decay) on fixed synthetic images through the lesson's 784-200-100-10 network: each
    matrix product of the pipeline's size and kind."""
    write_tiny_dataset(tmp_path, train_size=300)
    monkeypatch.chdir(tmp_path)
    model, train = tiny(
        "model",
        "train",
        model={"hidden_units": [200, 100], "activation": "gelu", "dropout": 0.2, "input_dropout": 0.1},
        train={
            "epochs": 2,
            "batch_size": 128,
            "optimizer": {"name": "adam", "learning_rate": 0.001, "weight_decay": 0.1},
            "schedule": "cosine",
            "jit_compile": True,
        },
    )
    train_tiny(tmp_path, 44, model, train)
    weights = load_model(tmp_path / "trained").get_weights()
    assert arrays_sha256(weights) == EXPECTED_WEIGHTS_SHA256


@pytest.mark.skipif(not (numerics.X86_64 and sys.platform == "linux"), reason="pinned on x86-64 Linux only")
def test_eigen_blocks_products_by_the_pinned_cache_sizes_not_the_cpus():
    import tensorflow  # noqa: F401  Eigen's sizes live in its libraries

    numerics.pin_eigen_cache_sizes()
    assert len(numerics.eigen_statics()) == len(numerics.EIGEN_LIBRARIES)  # both libraries' copies found
    assert numerics.eigen_cache_sizes() == list(numerics.EIGEN_CACHE_SIZES)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({}, {"TF_ENABLE_ONEDNN_OPTS": "0", "XLA_FLAGS": " ".join(f"{k}={v}" for k, v in numerics.XLA_FLAGS.items())}),
        (  # what a user set explicitly is kept; the other flags are added
            {"TF_ENABLE_ONEDNN_OPTS": "1", "XLA_FLAGS": "--xla_cpu_max_isa=SSE4_2 --xla_dump_to=dump"},
            {
                "TF_ENABLE_ONEDNN_OPTS": "1",
                "XLA_FLAGS": "--xla_cpu_max_isa=SSE4_2 --xla_dump_to=dump --xla_cpu_experimental_ynn_fusion_type="
                + numerics.XLA_FLAGS["--xla_cpu_experimental_ynn_fusion_type"],
            },
        ),
    ],
)
def test_numerics_are_pinned_unless_set_explicitly(monkeypatch, before, after):
    for name in (*numerics.NUMERICS, "XLA_FLAGS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in before.items():
        monkeypatch.setenv(name, value)
    numerics.pin()
    assert {name: os.environ[name] for name in after} == after
    assert os.environ["TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL"] == "0"
