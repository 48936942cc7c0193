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


def build_book(strict: bool = True, check: bool = True) -> Path:
    """Run ``jupyter-book build`` on the project root; return ``_build/html/index.html``.

    ``strict`` turns Sphinx warnings into errors (``-W -n``), so a broken page fails the build.
    ``check`` then reads every built page (:func:`qlatent.runner.pages.check_site`): a page that
    loads anything from the internet, shows stderr, a traceback, a widget, a warning, an incidental
    return value or a path of this machine fails the build.

    Raises
    ------
    RunnerError
        jupyter-book is missing or the build failed (its last warnings and errors, colour codes
        removed), or (``check``) the pages have findings, each listed as ``page: kind: excerpt``.
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
    if check:
        check_built_pages(index.parent)
    return index


def check_built_pages(site: Path, limit: int = 25) -> None:
    """Raise :class:`RunnerError` listing the findings of :func:`qlatent.runner.pages.check_site`.

    The project folder and the home folder count as machine paths, besides the usual system roots.
    """
    from qlatent.runner.pages import check_site

    findings = check_site(site, machine_paths=[project_root(), Path.home()])
    if findings:
        shown = "\n".join(f"  {finding}" for finding in findings[:limit])
        more = f"\n  ... and {len(findings) - limit} more" if len(findings) > limit else ""
        raise RunnerError(f"the built book at {site} has {len(findings)} problem(s) a reader would see "
                          f"(fix their source: the notebook or the qlatent function that prints them):\n{shown}{more}")
