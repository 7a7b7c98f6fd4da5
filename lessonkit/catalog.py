"""The dataset catalog: one file per dataset, datasets/<name>.yaml, saying where its four IDX files come from,
what its classes are called and the SHA-256 of each file (of the decompressed bytes, the same whichever source).

The download stage reads the registry copy in `mirror.dir` where it is on disk (`python -m tools.mirrors` installs
it from the npm or Debian package named beside it), else the Keras loader. Each dataset's stages depend on its own
file only, so adding a dataset reruns nothing else.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from lessonkit.errors import DataError
from lessonkit.formats import IDX_FILES, IMAGE_SHAPE, NUM_CLASSES

CATALOG = Path("datasets")


@dataclass(frozen=True)
class Dataset:
    name: str
    keras: str | None  # the keras.datasets module that loads it, if any
    mirror_dir: Path  # where the registry copy of the IDX files lives (raw or .gz)
    npm: str | None  # npm package that holds the registry copy
    debian: str | None  # or Debian package that installs it
    classes: tuple[str, ...]
    object_size: int  # pixels the object's longer side spans in its 28x28 image, e.g. 20 for MNIST digits
    centre: str  # how objects are centred in the frame: by their centre of "mass", or their "box"
    sha256: dict[str, str]


def entry_path(name: str) -> Path:
    return CATALOG / f"{name}.yaml"


def find_dataset(name: str) -> Dataset:
    path = entry_path(name)
    if not path.is_file():
        known = ", ".join(sorted(entry.stem for entry in CATALOG.glob("*.yaml"))) or "none"
        raise DataError(f"unknown dataset {name!r}: there is no {path} (the catalog describes {known})")
    try:
        entry = yaml.safe_load(path.read_text())
        dataset = Dataset(
            name=name,
            keras=entry.get("keras"),
            mirror_dir=Path(entry["mirror"]["dir"]),
            npm=entry["mirror"].get("npm"),
            debian=entry["mirror"].get("debian"),
            classes=tuple(str(label) for label in entry["classes"]),
            object_size=int(entry["object_size"]),
            centre=entry["centre"],
            sha256={file: entry["sha256"][file] for file in IDX_FILES},
        )
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as error:
        raise DataError(f"{path} is unreadable or incomplete ({error!r}); restore it from git") from None
    if len(dataset.classes) != NUM_CLASSES:
        raise DataError(f"{path}: {name} lists {len(dataset.classes)} class names, expected {NUM_CLASSES}")
    if dataset.centre not in ("mass", "box"):
        raise DataError(f"{path}: {name} has centre {dataset.centre!r}; it must be mass or box")
    if not 1 <= dataset.object_size <= min(IMAGE_SHAPE):
        raise DataError(
            f"{path}: {name} has object_size {dataset.object_size}; it must be from 1 to {min(IMAGE_SHAPE)}"
        )
    return dataset
