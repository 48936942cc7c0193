"""Open the built book in a real browser (headless Chromium) and report what a reader would meet.

:func:`check_site` (in :mod:`qlatent.runner.pages`) reads the HTML; this module *shows* it: every page of
the table of contents is served from a loopback HTTP server and opened in Chromium, driven by
Playwright's Python package (the Debian ``chromium`` binary, never a downloaded browser). Per page it
reports, as :class:`~qlatent.runner.pages.PageFinding`:

``console error``
    a message logged at error level (a script that fails, a resource that does not load) or an
    uncaught exception.
``outside request``
    a request for anything not served by the site itself (a CDN, a font host, an analytics
    script): it is refused, so the page is seen as it would be offline.
``broken image``
    an ``<img>`` whose natural width is 0 once the page has loaded.
``untypeset math``
    a formula (``.math``) that MathJax did not turn into an ``mjx-container``, or typeset as an
    error (``mjx-merror``).
``code input``
    (pages listed as ``code_free``) a cell's code shown without the reader asking for it.

and saves a full-page screenshot of each page.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from qlatent.runner.errors import RunnerError
from qlatent.runner.pages import PageFinding

#: The names Chromium goes by on PATH (Debian: `chromium`; Ubuntu: `chromium-browser`).
CHROMIUM_NAMES = ("chromium", "chromium-browser")

# MathJax typesets after the load event: wait until every formula holds its rendering (or time out);
# a page that loads no MathJax at all has nothing to wait for.
_MATH_DONE = """() => !window.MathJax
  || Array.from(document.querySelectorAll('.math')).every(f => f.querySelector('mjx-container'))"""
_MATH_FINDINGS = """() => Array.from(document.querySelectorAll('.math'))
  .filter(f => !f.querySelector('mjx-container') || f.querySelector('mjx-merror'))
  .map(f => f.textContent.trim().slice(0, 80))"""
_BROKEN_IMAGES = """() => Array.from(document.images)
  .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'))"""


def toc_pages(toc: str | Path) -> list[str]:
    """The pages of a Jupyter Book ``_toc.yml`` in book order (the root page, then every chapter and
    section), as paths without suffix (``book/intro``).

    Raises
    ------
    RunnerError
        If the file cannot be read or names no ``root``.
    """
    try:
        content = yaml.safe_load(Path(toc).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise RunnerError(f"cannot read the table of contents {toc}: {error}") from None
    if not isinstance(content, dict) or not content.get("root"):
        raise RunnerError(f"the table of contents {toc} names no root page")
    files = [str(content["root"])] + [page for part in content.get("parts") or [content]
                                      for page in _files(part.get("chapters") or [])]
    return [page.removesuffix(".md").removesuffix(".ipynb") for page in files]


def _files(entries: list[dict[str, Any]]) -> list[str]:
    """The ``file`` of every entry, each followed by those of its ``sections``."""
    return [page for entry in entries
            for page in ([str(entry["file"])] if "file" in entry else []) + _files(entry.get("sections") or [])]


def find_chromium() -> Path | None:
    """The Chromium executable on ``PATH`` (``chromium``, then ``chromium-browser``), or ``None``."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def missing_browser() -> str | None:
    """What the browser check lacks to run here (Chromium, Playwright's package), as one sentence; ``None``: nothing."""
    import importlib.util

    missing = [what for what, absent in (
        ("Debian's chromium (apt-get install -y chromium)", find_chromium() is None),
        ("playwright (pip install -e '.[dev]')", importlib.util.find_spec("playwright") is None)) if absent]
    return f"the browser check needs {' and '.join(missing)}" if missing else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on a free loopback port for the duration of the block; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def screenshot_name(page: str) -> str:
    """The screenshot file of a page: its path with ``/`` turned to ``__`` (``book__executed__03_mixture.png``)."""
    return page.replace("/", "__") + ".png"


def browse_site(site: str | Path, pages: Iterable[str], *, screenshots: str | Path | None = None,
                code_free: Iterable[str] = (), chromium: str | Path | None = None,
                timeout_s: float = 30.0) -> list[PageFinding]:
    """Open every page of ``pages`` (paths under ``site`` without ``.html``) in headless Chromium.

    Parameters
    ----------
    site
        A built ``_build/html`` folder.
    pages
        The pages to open, in order (:func:`toc_pages`).
    screenshots
        A folder for one full-page PNG per page (:func:`screenshot_name`); created if needed.
    code_free
        Pages on which no cell's code may be visible by default.
    chromium
        The browser executable; :func:`find_chromium` when not given.
    timeout_s
        How long one page may take to load and typeset its formulas.

    Returns
    -------
    list of PageFinding
        In page order; the kinds are listed in the module docstring. A page missing from the site is
        a ``missing page`` finding.

    Raises
    ------
    RunnerError
        If Playwright's Python package or Chromium is not installed.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise RunnerError("the browser check needs Playwright's Python package: pip install -e '.[dev]'") from None
    executable = Path(chromium) if chromium else find_chromium()
    if executable is None or not executable.is_file():
        raise RunnerError(f"the browser check needs Chromium, not found ({executable or 'no chromium on PATH'}): "
                          "install it with `apt-get install -y chromium` (never `playwright install`)")
    site = Path(site).resolve()
    pages, code_free = list(pages), set(code_free)
    folder = Path(screenshots) if screenshots else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    findings: list[PageFinding] = []
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for page_name in pages:
                name = f"{page_name}.html"
                if not (site / name).is_file():
                    findings.append(PageFinding(name, "missing page", f"{name} is in the table of contents, "
                                                                      "not in the site"))
                    continue
                findings += _browse_page(context, base, name, folder / screenshot_name(page_name) if folder else None,
                                         page_name in code_free, timeout_s, PlaywrightError)
        finally:
            browser.close()
    return findings


def _browse_page(context: Any, base: str, name: str, screenshot: Path | None, code_free: bool, timeout_s: float,
                 error_type: type[Exception]) -> list[PageFinding]:
    """Open one page in a fresh tab of ``context``; its findings."""
    found: list[tuple[str, str]] = []
    refused: set[str] = set()  # their "Failed to load resource" console errors only echo the refusal
    tab = context.new_page()

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            found.append(("outside request", url))
            refused.add(url)
            request_route.abort()

    tab.route("**/*", route)
    tab.on("console", lambda message: found.append(("console error", message.text))
           if message.type == "error" and message.location.get("url") not in refused else None)
    tab.on("pageerror", lambda error: found.append(("console error", f"{error.name}: {error.message}"
                                                    if error.name else error.message)))
    try:
        tab.goto(base + name, wait_until="load", timeout=timeout_s * 1000)
        try:
            tab.wait_for_function(_MATH_DONE, timeout=timeout_s * 1000)
        except error_type:
            pass  # reported below, formula by formula
        found += [("broken image", src) for src in tab.evaluate(_BROKEN_IMAGES)]
        found += [("untypeset math", text) for text in tab.evaluate(_MATH_FINDINGS)]
        if code_free:
            inputs = tab.locator(".cell_input")
            found += [("code input", _first_line(inputs.nth(i).inner_text()))
                      for i in range(inputs.count()) if inputs.nth(i).is_visible()]
        if screenshot is not None:
            tab.screenshot(path=str(screenshot), full_page=True)
    except error_type as error:
        found.append(("console error", f"the page did not load: {error}"))
    finally:
        tab.close()
    return [PageFinding(name, kind, " ".join(text.split())[:160]) for kind, text in found]


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else "") + (f" (+{len(lines) - 1} lines)" if len(lines) > 1 else "")
