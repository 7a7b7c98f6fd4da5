"""Fail unless requirements.txt installs, as pinned, on each platform the project supports, without installing it.

For each platform, and each Python that pyproject.toml's requires-python admits, the requirements that apply there
(their environment markers evaluated as pip would evaluate them there) are resolved by `pip install --dry-run` for
that platform's wheels only: a pin with no wheel there, a conflict, or a package the pins do not name (or name at
another version) fails the check. Pins published only as source are built into wheels here first: a pure-Python one
builds a py3-none-any wheel, which installs anywhere; one with compiled code builds a wheel for this machine only,
and the other platforms fail.
"""

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REQUIREMENTS = Path("requirements.txt")
SUPPORTED = SpecifierSet(tomllib.loads(Path("pyproject.toml").read_text())["project"]["requires-python"])
PYTHONS = [f"3.{minor}" for minor in range(100) if f"3.{minor}" in SUPPORTED]
GLIBC = 27  # manylinux wheels for glibc 2.27 and older: Ubuntu 18.04, Debian 10, RHEL 8 and later


def manylinux(machine: str) -> list[str]:
    return [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC, 16, -1)] + [f"manylinux2014_{machine}"]


PLATFORMS = {  # name: (pip's platform tags, the marker environment there)
    "Linux x86-64": (manylinux("x86_64"), {"sys_platform": "linux", "platform_machine": "x86_64"}),
    "macOS Apple Silicon": (["macosx_12_0_arm64"], {"sys_platform": "darwin", "platform_machine": "arm64"}),
    "Linux aarch64": (manylinux("aarch64"), {"sys_platform": "linux", "platform_machine": "aarch64"}),
}
SOURCE_ONLY = ("antlr4-python3-runtime",)  # pins PyPI has no wheel of


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins_for(environment: dict) -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                (specifier,) = requirement.specifier
                pins[canonical(requirement.name)] = specifier.version
    return pins


def resolve(pins: dict[str, str], tags: list[str], python: str, wheels: Path, folder: Path) -> dict[str, str]:
    """What pip would install from `pins` for `python` on the platform of `tags`, by name and version."""
    requirements = folder / "requirements.txt"
    requirements.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    command += [argument for tag in tags for argument in ("--platform", tag)]
    command += [
        "--target",
        str(folder / "target"),
        "--find-links",
        str(wheels),
        "--report",
        str(folder / "report.json"),
    ]
    result = subprocess.run([*command, "--requirement", str(requirements)], capture_output=True, text=True)
    if result.returncode:
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
        raise ValueError(" ".join(errors) or result.stderr[-1000:])
    report = json.loads((folder / "report.json").read_text())
    return {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in report["install"]}


def check(platform: str, python: str, wheels: Path, scratch: str) -> tuple[str, bool]:
    """One line on whether the pins for `platform` and `python` resolve, and whether that is a success."""
    tags, markers = PLATFORMS[platform]
    pins = pins_for({**default_environment(), **markers, "python_version": python})
    folder = Path(scratch, f"{canonical(platform)}-{python}")
    folder.mkdir()
    try:
        resolved = resolve(pins, tags, python, wheels, folder)
    except ValueError as error:
        return f"error: {platform}, Python {python}: {error}", False
    unpinned = {name: version for name, version in resolved.items() if pins.get(name) != version}
    if unpinned:
        return (
            f"error: {platform}, Python {python}: would install what requirements.txt does not pin: {unpinned}",
            False,
        )
    tensorflow = pins.get("tensorflow") or pins.get("tensorflow-cpu")
    return (
        f"{platform}, Python {python}: all {len(pins)} pins resolve to wheels, nothing more (TensorFlow {tensorflow})",
        True,
    )


def main() -> None:
    host_pins = pins_for(default_environment())
    with tempfile.TemporaryDirectory() as scratch:
        wheels = Path(scratch, "wheels")
        build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels)]
        source_only = [f"{name}=={host_pins[name]}" for name in SOURCE_ONLY]
        subprocess.run([*build, "--no-binary", ",".join(SOURCE_ONLY), *source_only], check=True, capture_output=True)
        combinations = [(platform, python) for platform in PLATFORMS for python in PYTHONS]
        with ThreadPoolExecutor(max_workers=4) as pool:  # each pip waits on PyPI as much as it computes
            results = list(pool.map(lambda combination: check(*combination, wheels, scratch), combinations))
    for line, _ in results:
        print(line)
    if not all(success for _, success in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
