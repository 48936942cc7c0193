"""Sphinx extension: serve MathJax from the built site, so formulas render offline.

Sphinx's default ``mathjax_path`` is a CDN address: opened without internet, every page shows raw
TeX. With this extension (listed under ``sphinx.extra_extensions`` in ``_config.yml``) the pages load
``_static/mathjax/tex-mml-chtml.js`` instead, and after an HTML build the MathJax 3 files that script
needs at view time (its TeX extensions loaded on demand, the CHTML fonts, the menu and its
accessibility components) are copied into ``_static/mathjax/`` with MathJax's licence.

The files come from the PyPI package ``django-static-mathjax`` (MathJax 3.2.2, Apache-2.0; the
package has no dependency and needs no Django), installed with qlatent.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

#: The MathJax combined component the pages load (TeX and MathML input, CHTML output: Sphinx's choice).
ENTRY = "tex-mml-chtml.js"
#: Folder under the site's ``_static/`` holding the MathJax files.
STATIC_FOLDER = "mathjax"
#: What the entry point may load at view time, relative to MathJax's ``es5/`` folder.
RUNTIME_PARTS = ("input", "output/chtml", "output/chtml.js", "a11y", "ui", "sre")


class MathJaxMissing(RuntimeError):
    """The package that ships MathJax is not installed."""


def mathjax_source() -> Path:
    """The ``es5/`` folder of the installed MathJax 3 distribution.

    Raises
    ------
    MathJaxMissing
        When ``django-static-mathjax`` is not installed or lacks :data:`ENTRY`.
    """
    spec = importlib.util.find_spec("mathjax")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / ENTRY).is_file():
            return es5
    raise MathJaxMissing("MathJax is not installed: the book serves it from its own site "
                         "(pip install django-static-mathjax, a dependency of qlatent: pip install -e .)")


def copy_mathjax(static_dir: Path) -> Path:
    """Copy the MathJax runtime into ``static_dir / "mathjax"``; return the entry script's path there."""
    source = mathjax_source()
    target = Path(static_dir) / STATIC_FOLDER
    for part in (ENTRY, *RUNTIME_PARTS):
        origin = source / part
        if origin.is_dir():
            shutil.copytree(origin, target / part, dirs_exist_ok=True)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / part)
    licence = source.parent / "LICENSE"
    if licence.is_file():
        shutil.copy2(licence, target / "LICENSE")
    return target / ENTRY


def _use_local_mathjax(app: Any, config: Any) -> None:
    mathjax_source()  # fail at the start of a build, not after it
    config.mathjax_path = f"{STATIC_FOLDER}/{ENTRY}"  # relative: served from the site's _static/


def _copy_after_build(app: Any, exception: BaseException | None) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(Path(app.outdir) / "_static")


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
