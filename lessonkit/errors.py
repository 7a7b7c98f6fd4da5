"""Problems a user can fix, and how a command reports them: one line, no traceback, exit status 1."""

import sys
from collections.abc import Callable


class PipelineError(Exception):
    """A problem the user can fix; reported as one line, without a traceback."""


class ParamsError(PipelineError):
    """A value in params.yaml that cannot be used."""


class DataError(PipelineError):
    """Input files that are missing, corrupt or inconsistent."""


def run(main: Callable[[], object]) -> None:
    """Run a command's `main`; a PipelineError ends it with one line on stderr and exit status 1."""
    try:
        main()
    except PipelineError as error:
        sys.exit(f"error: {error}")
