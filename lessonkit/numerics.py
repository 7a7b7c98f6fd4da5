"""The same floating-point results on every x86-64 CPU: set in the environment before TensorFlow loads, and in
Eigen once it has loaded.

TensorFlow picks its code by the CPU it runs on; each setting below removes one such choice. With all of them,
an AMD EPYC with AVX-512 and one with AVX2 only (emulated by QEMU) train bit-identical weights; without them,
they did not. A variable already set is left as it is, and the
model card records what was in force.
"""

import ctypes
import functools
import mmap
import os
import platform
import struct
import sys
from pathlib import Path

X86_64 = platform.machine().lower() in ("x86_64", "amd64")
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
    if not X86_64:
        added = [flag for flag in added if not flag.startswith("--xla_cpu_max_isa")]
    os.environ["XLA_FLAGS"] = " ".join([flags, *added]).strip()
    # TensorFlow's C++ start-up chatter (oneDNN notes, graph attribute mismatches) says nothing a user
    # can act on; real failures still raise in Python. Set TF_CPP_MIN_LOG_LEVEL to see it again.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# Eigen, which does the matrix products (XLA's too), cuts a product's inner dimension into blocks sized by the L1
# data cache it asks the CPU for, and the blocks' partial sums round differently: QEMU's EPYC-Milan trained other
# weights when it reported a 64 KiB L1 instead of its 32 KiB (CPUs with 48 KiB: Intel's since Ice Lake, AMD's
# Zen 5). Eigen keeps the sizes in one static object in each of TensorFlow's libraries, read at every product;
# these are written there, marked as constructed so that Eigen never asks: its own defaults for x86, where it
# cannot ask (L1, L2, L3 bytes). The L1 size is the committed runs' CPUs' own.
EIGEN_CACHE_SIZES = (32 * 1024, 256 * 1024, 2 * 1024 * 1024)
EIGEN_LIBRARIES = ("libtensorflow_cc.so.2", "libtensorflow_framework.so.2")
EIGEN_CACHE_SIZES_SYMBOL = "_ZZN5Eigen8internal20manage_caching_sizesENS_6ActionEPlS2_S2_E12m_cacheSizes"
GUARD_PREFIX = "_ZGV"  # the Itanium C++ ABI's guard variable of a function-local static: first byte 1 once built


def pin_eigen_cache_sizes() -> None:
    """Write EIGEN_CACHE_SIZES into Eigen; call once TensorFlow has loaded, before it multiplies matrices (x86-64
    Linux only; elsewhere, or where a library lacks the symbols, nothing is written and the record says so)."""
    for sizes, guard in eigen_statics():
        sizes[:] = EIGEN_CACHE_SIZES
        guard.value = 1


def eigen_cache_sizes() -> list[int] | str:
    """What Eigen multiplies with now, read back from TensorFlow's main library: [L1, L2, L3] bytes."""
    statics = eigen_statics()
    return list(statics[0][0]) if statics else "not pinned (not x86-64 Linux, or Eigen's sizes not found)"


def eigen_statics() -> list[tuple[ctypes.Array, ctypes.c_uint8]]:
    """Each loaded TensorFlow library's Eigen cache sizes (three int64) and their guard byte, in its memory."""
    if not (X86_64 and sys.platform == "linux" and "tensorflow" in sys.modules):
        return []
    folder = Path(sys.modules["tensorflow"].__file__).parent
    statics = []
    for library in EIGEN_LIBRARIES:
        path = (folder / library).resolve()
        base = load_address(path)
        offsets = symbol_offsets(path, (EIGEN_CACHE_SIZES_SYMBOL, GUARD_PREFIX + EIGEN_CACHE_SIZES_SYMBOL[2:]))
        if base is not None and None not in offsets:
            sizes, guard = (base + offset for offset in offsets)
            statics.append(((ctypes.c_int64 * 3).from_address(sizes), ctypes.c_uint8.from_address(guard)))
    return statics


def load_address(library: Path) -> int | None:
    """Where the dynamic linker mapped `library`'s start in this process, from /proc/self/maps."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) == 6 and fields[5] == str(library) and int(fields[2], 16) == 0:
            return int(fields[0].split("-")[0], 16)
    return None


@functools.cache  # pinning and the model card's record both look them up: read each file once
def symbol_offsets(library: Path, names: tuple[str, ...]) -> tuple[int | None, ...]:
    """The offsets of `names` in a 64-bit little-endian ELF file's full symbol table (.symtab), local ones too."""
    import numpy as np  # here: this module is imported before the packages are known to be there

    symbol = np.dtype(
        [("name", "<u4"), ("info", "u1"), ("other", "u1"), ("section", "<u2"), ("value", "<u8"), ("size", "<u8")]
    )
    with library.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as elf:
        (section_headers,) = struct.unpack_from("<Q", elf, 0x28)
        header_size, count = struct.unpack_from("<HH", elf, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", elf, section_headers + i * header_size) for i in range(count)]
        symtab = next((section for section in sections if section[1] == 2), None)  # SHT_SYMTAB
        if symtab is None:
            return (None,) * len(names)
        _, _, _, _, strings_at, strings_size, *_ = sections[symtab[6]]
        table = np.frombuffer(elf, symbol, symtab[5] // symbol.itemsize, symtab[4])
        offsets = []
        for name in names:
            found = elf.find(b"\0" + name.encode() + b"\0", strings_at, strings_at + strings_size)
            values = table["value"][table["name"] == found + 1 - strings_at] if found >= 0 else []
            offsets.append(int(values[0]) if len(values) else None)
        del table  # the map cannot close while an array views it
    return tuple(offsets)
