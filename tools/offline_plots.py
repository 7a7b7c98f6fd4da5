"""Make `dvc plots show` and `dvc plots diff` draw their charts offline.

DVC's page loads Vega, Vega-Lite and Vega-Embed from a CDN, so without the internet its charts stay blank. This
takes the very versions DVC asks for from the npm registry, checks them by SHA-256, writes a page template that
carries them inline, and points this clone's DVC at it (`dvc config --local plots.html_template`). The pages DVC
writes then need nothing from the network, wherever they are opened. Safe to run again.
"""

import re
import subprocess
import sys
from pathlib import Path

from lessonkit.errors import DataError, run
from lessonkit.files import atomic_path
from lessonkit.formats import sha256
from tools.mirrors import npm_files

TEMPLATE = Path("mirrors/plots.html")
LIBRARIES = {  # the npm package, its browser build and that file's SHA-256, in loading order
    "vega@5.20.2": ("vega.min.js", "4794d0169cb1f3ebad8117fe98ba5bd652dd725905ec0384e832391dbccb03be"),
    "vega-lite@5.2.0": ("vega-lite.min.js", "d73157451b3978015ab31dacd55ff90d986ab8663fc0abed50f97b3cd90002cb"),
    "vega-embed@6.18.2": ("vega-embed.min.js", "1ba9826431ddc9805e815ad92acc811c819f2bfd32bda2a128b8c4b5070fab5e"),
}
PAGE = """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>DVC plots</title>
  LIBRARIES
  <style>table { border-spacing: 15px; }</style>
</head>
<body>
  {plot_divs}
</body>
</html>
"""


def library(package: str) -> str:
    name, expected = LIBRARIES[package]
    try:
        code = npm_files(package, [name])[name]
    except (OSError, KeyError, subprocess.CalledProcessError) as error:
        raise DataError(f"cannot take {name} from the npm package {package}: {error!r}") from None
    if sha256(code) != expected:
        raise DataError(f"{name} of {package} has SHA-256 {sha256(code)}, expected {expected}")
    return f"<script>/* {package} */\n{code.decode()}\n</script>"


def up_to_date() -> bool:
    """Whether the template is there and whole: DVC's placeholder, and each pinned library with its SHA-256."""
    page = TEMPLATE.read_text() if TEMPLATE.is_file() else ""
    scripts = dict(re.findall(r"<script>/\* (\S+) \*/\n(.*?)\n</script>", page, re.DOTALL))
    pinned = {package: expected for package, (_, expected) in LIBRARIES.items()}
    return "{plot_divs}" in page and {package: sha256(code.encode()) for package, code in scripts.items()} == pinned


def main() -> None:
    if not up_to_date():
        page = PAGE.replace("LIBRARIES", "\n".join(map(library, LIBRARIES)))
        with atomic_path(TEMPLATE) as temporary:
            temporary.write_text(page)
    # DVC resolves a relative template path from its .dvc folder.
    command = [sys.executable, "-m", "dvc", "config", "--local", "plots.html_template", f"../{TEMPLATE}"]
    subprocess.run(command, check=True)
    print(f"dvc plots: charts drawn offline with Vega from the npm registry ({TEMPLATE})")


if __name__ == "__main__":
    run(main)
