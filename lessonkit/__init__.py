"""The machinery behind the lesson's five stages: params, datasets, the model, fast and resumable training,
the environment record and the pictures. One module per job; the stages in stages/ call them.

Importing the package pins TensorFlow's numerics (lessonkit.numerics), so it must come before TensorFlow loads:
stages/ and tools/ import it first, and so do the tests, the notebook and the benchmarks of the pinned numerics.
It also stops, in one line, a Python that lacks the project's packages: DVC runs the stages with the `python3`
first on PATH.
"""

import importlib.util
import sys

from lessonkit.numerics import pin

if importlib.util.find_spec("keras") is None:
    sys.exit(
        f"error: {sys.executable} lacks the project's packages (no keras); activate its environment first: "
        "`source .venv/bin/activate` (`make setup` creates it)"
    )
pin()
