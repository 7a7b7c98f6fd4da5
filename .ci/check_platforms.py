"""Fail unless requirements.txt installs, as pinned, on each platform the project supports, without installing it.

For each platform, the requirements that apply there (their environment markers evaluated for that platform, as
pip would evaluate them on it) are resolved by `pip install --dry-run` for that platform's wheels only: a pin with
no wheel there, a conflict, or a package the pins do not name (or name at another version) fails the check.
Pins published only as source are built into wheels here first: a pure-Python one builds a py3-none-any wheel,
which installs anywhere; one with compiled code builds a wheel for this machine only, and the other platforms
fail.
"""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

REQUIREMENTS = Path("requirements.txt")
PYTHON = "3.11"
GLIBC = 28  # manylinux wheels for glibc 2.28 and older: Debian 10, Ubuntu 20.04, RHEL 8 and later


def manylinux(machine: str) -> list[str]:
    return [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC, 16, -1)] + [f"manylinux2014_{machine}"]


PLATFORMS = {  # name: (pip's platform tags, the marker environment there)
    "Linux x86-64": (manylinux("x86_64"), {"sys_platform": "linux", "platform_machine": "x86_64"}),
    "macOS Apple Silicon": (["macosx_14_0_arm64"], {"sys_platform": "darwin", "platform_machine": "arm64"}),
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


def resolve(pins: dict[str, str], tags: list[str], wheels: Path, folder: Path) -> dict[str, str]:
    """What pip would install from `pins` on the platform of `tags`, by name and version."""
    requirements = folder / "requirements.txt"
    requirements.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON]
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


def main() -> None:
    host_pins = pins_for(default_environment())
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        wheels = Path(scratch, "wheels")
        build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels)]
        source_only = [f"{name}=={host_pins[name]}" for name in SOURCE_ONLY]
        subprocess.run([*build, "--no-binary", ",".join(SOURCE_ONLY), *source_only], check=True, capture_output=True)
        for platform, (tags, markers) in PLATFORMS.items():
            environment = {**default_environment(), **markers, "python_version": PYTHON}
            pins = pins_for(environment)
            folder = Path(scratch, canonical(platform))
            folder.mkdir()
            try:
                resolved = resolve(pins, tags, wheels, folder)
            except ValueError as error:
                problems.append(f"{platform}: {error}")
                continue
            unpinned = {name: version for name, version in resolved.items() if pins.get(name) != version}
            if unpinned:
                problems.append(f"{platform}: would install what requirements.txt does not pin: {unpinned}")
            else:
                tensorflow = pins.get("tensorflow") or pins.get("tensorflow-cpu")
                print(f"{platform}: all {len(pins)} pins resolve to wheels, nothing more (TensorFlow {tensorflow})")
    if problems:
        sys.exit("\n".join(f"error: {problem}" for problem in problems))


if __name__ == "__main__":
    main()
