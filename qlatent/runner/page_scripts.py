"""Sphinx extension: a page loads each script once.

Jupyter Book 1 adds some extensions' inline scripts to every page twice (sphinx-thebe's
``const THEBE_JS_URL = …`` and sphinx-togglebutton's ``var togglebuttonSelector = …``): each is
registered once with Sphinx and once with the HTML builder, as an inline script whose file name is
``None`` in one copy and ``""`` in the other, so Sphinx does not see them as the same script. A repeated
``const`` is a ``SyntaxError`` in the reader's console on every page. This extension drops the
copies from each page's script list, keeping the first of each (same file, same attributes, same
priority), in order.
"""

from __future__ import annotations

from typing import Any


def unique_scripts(scripts: list[Any]) -> list[Any]:
    """``scripts`` (Sphinx ``_JavaScript`` assets or plain file names) without repeats, first kept, in order."""
    seen: set[tuple[str, str, int]] = set()
    kept = []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        # An inline script's file name is None or "" depending on how it was added: the same script.
        key = (str(getattr(script, "filename", script) or ""), repr(sorted(attributes.items())),
               getattr(script, "priority", 500))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if "script_files" in context:
        context["script_files"] = unique_scripts(list(context["script_files"]))


def setup(app: Any) -> dict[str, Any]:
    # Late (priority 900): after the theme and myst-nb have added their per-page scripts.
    app.connect("html-page-context", _page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
