"""The runner's user-facing errors: each prints as one line naming the culprit."""

import re

#: Terminal escape sequences: CSI (colours, cursor), OSC (titles, links), charset designations
#: and two-byte escapes.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+][0-9A-Za-z]|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences (colour codes of Sphinx, IPython, pip ...)."""
    return _ESCAPES.sub("", text)


class RunnerError(Exception):
    """A problem the user can fix (bad profile, unknown notebook or parameter, failed notebook)."""


class ParametersRefused(RunnerError):
    """A notebook refused the parameters it was given (run by plain papermill, say); one line, no traceback."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows in place of a traceback (its hook for exceptions that render themselves)."""
        return [f"{type(self).__name__}: {self}"]


class NotebookFailed(RunnerError):
    """A notebook raised while executing; carries the notebook, the failing cell and line, and the error.

    ``cell_index`` counts the cells of the source notebook from 0 (papermill's injected-parameters
    cell is not counted, so a cell keeps its number with or without ``-p``); the message numbers
    cells from 1, as a reader counts them. ``line`` is the cell's line that raised (``line_number``
    within the cell, when known).
    """

    def __init__(self, notebook: str, cell_index: int | None, error: str, failed_copy: str | None = None,
                 line: str = "", line_number: int | None = None) -> None:
        if cell_index is None:
            where = "start-up"
        else:
            where = f"cell {cell_index + 1}" + (f" at line {line_number}" if line_number is not None else "")
            where += f" ({line!r})" if line else ""
        kept = f" (failed copy: {failed_copy})" if failed_copy else ""
        super().__init__(f"notebook {notebook!r} failed in {where}: {error}{kept}")
        self.notebook = notebook
        self.cell_index = cell_index
        self.line = line
        self.line_number = line_number
        self.error = error


class KernelDied(NotebookFailed):
    """The notebook's kernel process ended while a cell ran (``os._exit``, a signal, a crash in C code).

    ``exit_status`` is the kernel's exit code, negative for the signal that ended it, ``None``
    when unknown.
    """

    def __init__(self, notebook: str, cell_index: int | None, exit_status: int | None,
                 failed_copy: str | None = None) -> None:
        RunnerError.__init__(self, f"notebook {notebook!r}: kernel died in "
                             + ("start-up" if cell_index is None else f"cell {cell_index + 1}")
                             + f" ({describe_exit(exit_status)})"
                             + (f" (failed copy: {failed_copy})" if failed_copy else ""))
        self.notebook = notebook
        self.cell_index = cell_index
        self.line = ""
        self.line_number = None
        self.error = describe_exit(exit_status)
        self.exit_status = exit_status


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a command; the message says what was stopped and what was kept."""


def describe_exit(status: int | None) -> str:
    """``exit status 1``, ``killed by SIGKILL`` or ``exit status unknown`` for a process's return code."""
    import signal

    if status is None:
        return "exit status unknown"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"
