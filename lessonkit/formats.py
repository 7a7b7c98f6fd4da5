"""The files datasets live in: IDX as published (28x28 uint8 images, labels 0-9), and folders of .npy arrays
between stages."""

import hashlib
from pathlib import Path

import numpy as np

from lessonkit.errors import DataError
from lessonkit.files import atomic_path

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)
# The four IDX files of each dataset, and the lesson's name for the array each one holds.
IDX_FILES = {
    "train-images-idx3-ubyte": "X_train_full",
    "train-labels-idx1-ubyte": "y_train_full",
    "t10k-images-idx3-ubyte": "X_test",
    "t10k-labels-idx1-ubyte": "y_test",
}
IDX_UINT8 = b"\x00\x00\x08"  # the magic number's first three bytes; the fourth is the number of dimensions


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def arrays_sha256(arrays: list[np.ndarray], prefix: bytes = b"") -> str:
    """SHA-256 over `prefix`, then every array's shape and bytes in order: equal exactly when the arrays are."""
    digest = hashlib.sha256(prefix)
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def encode_idx(array: np.ndarray) -> bytes:
    header = IDX_UINT8 + bytes([array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def decode_idx(raw: bytes, source: str) -> np.ndarray:
    """Parse an unsigned-byte IDX file: magic number, big-endian int32 sizes, then the values."""
    if len(raw) < 4 or raw[:3] != IDX_UINT8:
        raise DataError(f"{source}: wrong magic number {raw[:4].hex()}; not an unsigned-byte IDX file")
    header_size = 4 + 4 * raw[3]
    if len(raw) < header_size:
        raise DataError(f"{source}: truncated in its header ({len(raw)} bytes)")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">i4", count=raw[3], offset=4))
    expected = header_size + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(
            f"{source}: {len(raw)} bytes where its header {shape} promises {expected}; truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def check_pair(images: np.ndarray, labels: np.ndarray, source: str) -> None:
    """Images and labels must match in count, size and label range."""
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{source}: images are {images.shape[1:]}, expected {IMAGE_SHAPE}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{source}: {len(images)} images but {len(labels)} labels")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{source}: labels are {labels.dtype}, expected integers")
    outside = labels[(labels < 0) | (labels >= NUM_CLASSES)]
    if outside.size:
        raise DataError(f"{source}: label {outside[0]} outside 0-{NUM_CLASSES - 1}")


def save_arrays(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write each array as <name>.npy; the folder appears whole or not at all."""
    with atomic_path(folder) as temporary:
        temporary.mkdir()
        for name, array in arrays.items():
            np.save(temporary / f"{name}.npy", array, allow_pickle=False)


def load_arrays(folder: Path, *names: str) -> tuple[np.ndarray, ...]:
    """The named arrays of a folder `save_arrays` wrote; images X_<set> asked for with their labels y_<set> are
    checked against them."""
    arrays = {name: load_array(folder, name) for name in names}
    for name in names:
        labels = "y_" + name.removeprefix("X_")
        if name.startswith("X_") and labels in arrays:
            try:
                check_pair(arrays[name], arrays[labels], f"{folder}: {name}, {labels}")
            except DataError as error:
                raise DataError(f"{error}; run `dvc repro` to rebuild it") from None
    return tuple(arrays.values())


def load_array(folder: Path, name: str) -> np.ndarray:
    try:
        return np.load(folder / f"{name}.npy", allow_pickle=False)
    except OSError as error:
        problem = str(error)
    except (ValueError, EOFError):  # NumPy's own words would suggest unpickling it
        problem = f"{name}.npy is damaged or not a NumPy array file"
    raise DataError(f"cannot read {folder}: {problem}; run `dvc repro` to rebuild it")
