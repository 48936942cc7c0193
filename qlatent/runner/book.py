"""Build the Jupyter Book (HTML) from the executed notebooks; the build never executes code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from qlatent.paths import build_dir, executed_dir, project_root
from qlatent.runner.errors import RunnerError, strip_ansi


def _jupyter_book_command() -> list[str]:
    beside_python = Path(sys.executable).with_name("jupyter-book")
    if beside_python.is_file():
        return [str(beside_python)]
    found = shutil.which("jupyter-book")
    if found is None:
        raise RunnerError("jupyter-book is not installed in this environment (pip install -e .)")
    return [found]


#: A glue reference in Markdown: the ``{glue}`` roles (``{glue:md}`name```) and directives
#: (````{glue:md} name`), name captured; a reference to another page's name holds ``::``.
_GLUE_REFERENCE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`|^\s*`{3,}\{glue(?::\w+)?\}[ \t]+(\S+)", re.MULTILINE)


def undefined_glue(notebook: dict) -> list[str]:
    """The glue names an executed notebook's Markdown cells use but none of its outputs defines
    (``myst_nb.glue`` records a name in an output's ``scrapbook`` metadata), sorted. References to
    another page (``page::name``) are left to Sphinx; a ``{glue:text}`` format (``name:.2f``) is
    not part of the name."""
    defined = {((output.get("metadata") or {}).get("scrapbook") or {}).get("name")
               for cell in notebook.get("cells", []) for output in cell.get("outputs", [])}
    used = set()
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            used |= {role or directive for role, directive in _GLUE_REFERENCE.findall(text)}
    # `{glue:text}`name:.2f`` formats the value: the name is what precedes the format.
    names = {name if "::" in name else name.split(":", 1)[0] for name in used}
    return sorted(name for name in names - defined if "::" not in name)


def check_glue(folder: Path | None = None) -> None:
    """Raise :class:`RunnerError` naming, per page, every glue name the executed notebooks in
    ``folder`` (default: the book's executed notebooks) use without defining it."""
    folder = executed_dir() if folder is None else folder
    missing = {path.stem: names for path in sorted(folder.glob("*.ipynb"))
               if (names := undefined_glue(json.loads(path.read_text())))}
    if missing:
        listed = "; ".join(f"{page}: {', '.join(names)}" for page, names in missing.items())
        raise RunnerError(f"glue name(s) a page uses but its notebook never glues: {listed}")


def build_book(strict: bool = True, check: bool = True) -> Path:
    """Run ``jupyter-book build`` on the project root; return ``_build/html/index.html``.

    ``strict`` turns Sphinx warnings into errors (``-W -n``), so a broken page fails the build.
    Before building, a glue name a page uses but its notebook never defines fails with its name
    (:func:`check_glue`). ``check`` then reads every built page (:func:`qlatent.runner.pages.check_site`): a page that
    loads anything from the internet, shows stderr, a traceback, a widget, a warning, an incidental
    return value or a path of this machine fails the build.

    Raises
    ------
    RunnerError
        jupyter-book is missing, a page uses an undefined glue name, the build failed (its last
        warnings and errors, colour codes removed), or (``check``) the pages have findings, each
        listed as ``page: kind: excerpt``.
    """
    check_glue()
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
