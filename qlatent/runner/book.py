"""Build the Jupyter Book (HTML) from the executed notebooks; the build never executes code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from qlatent.paths import build_dir, project_root
from qlatent.runner.errors import RunnerError, strip_ansi


def _jupyter_book_command() -> list[str]:
    beside_python = Path(sys.executable).with_name("jupyter-book")
    if beside_python.is_file():
        return [str(beside_python)]
    found = shutil.which("jupyter-book")
    if found is None:
        raise RunnerError("jupyter-book is not installed in this environment (pip install -e .)")
    return [found]


def build_book(strict: bool = True) -> Path:
    """Run ``jupyter-book build`` on the project root; return ``_build/html/index.html``.

    ``strict`` turns Sphinx warnings into errors (``-W -n``), so a broken page fails the build.

    Raises
    ------
    RunnerError
        jupyter-book is missing or the build failed: its last warnings and errors, colour codes removed.
    """
    command = [*_jupyter_book_command(), "build", str(project_root()), "--path-output", str(build_dir().parent),
               "--builder", "html"]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        log = strip_ansi(completed.stdout + completed.stderr).strip().splitlines()
        problems = [line for line in log if "WARNING" in line or "ERROR" in line or "Error" in line]
        detail = "\n".join((problems or log)[-15:])
        raise RunnerError(f"jupyter-book build failed (exit {completed.returncode}):\n{detail}")
    index = build_dir() / "html" / "index.html"
    if not index.is_file():
        raise RunnerError(f"jupyter-book build finished but {index} is missing")
    return index
