"""Check the built book's pages: self-contained, and free of what a reader should never see.

:func:`check_site` reads every HTML page of a built site and reports, per page:

``external resource``
    a ``<script src>``, ``<link href>``, ``<img src>``, ... pointing at another host: the page
    would need the internet (MathJax from a CDN, widget scripts) to show what it shows.
``missing resource``
    a local script or stylesheet the page loads that is not in the site.
``stderr output``
    a cell output written to stderr: warnings (tqdm's "IProgress not found", library deprecations),
    logging, progress bars.
``error output``
    a traceback.
``widget output``
    an interactive widget (a progress bar): blank or broken on a static page.
``object repr``
    an incidental return value shown by a cell's last line: ``PosixPath('…')``, ``<… at 0x…>``.
``warning``
    a ``…Warning:`` message printed by a cell.
``machine path``
    an absolute path of the machine that built the book (the project folder, the home folder,
    or a path under ``/tmp``, ``/home``, ``/root``, ``/work``, ``/Users``, ...), anywhere in a
    page's visible text.

:func:`check_downloads` looks for machine paths in the notebooks a reader downloads from a page.
``qlatent book`` fails when the built site has any finding (:func:`qlatent.runner.book.build_book`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

#: (tag, attribute) pairs that make a browser fetch something when the page is shown.
_RESOURCE_ATTRIBUTES = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
                        ("source", "src"), ("embed", "src"), ("video", "src"), ("audio", "src"),
                        ("object", "data")}
#: ``<link rel=…>`` values that fetch nothing.
_INERT_LINK_RELS = {"canonical", "alternate", "author", "help", "license", "next", "prev", "search", "index",
                    "top", "up", "bookmark", "external", "nofollow", "noopener", "noreferrer", "me"}
#: Site folders whose ``.html`` files are not pages (the theme's template macros, copied sources).
_NOT_PAGES = {"_static", "_sources"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
         "track", "wbr"}

_OBJECT_REPR = re.compile(r"\b(?:Posix|Windows|Pure\w*)Path\(|<[\w.]+(?: object)? at 0x[0-9a-fA-F]+>")
_WARNING = re.compile(r"\b[A-Z]\w*Warning\b:|IProgress not found")
_MACHINE_PATH = re.compile(r"(?<![\w.~/-])(?:/(?:home|root|tmp|work|Users|private|var/folders|mnt|srv|opt)/"
                           r"[^\s'\"<>)]*|[A-Za-z]:\\(?:Users|Windows)\\[^\s'\"<>)]*)")


@dataclass(frozen=True)
class PageFinding:
    """One problem on one page: ``page`` (relative to the site), ``kind`` (see the module), ``excerpt``."""

    page: str
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.excerpt}"


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_external(url: str) -> bool:
    parsed = urlparse(url.strip())
    return bool(parsed.netloc) or parsed.scheme not in ("", "file", "data", "blob")


class _PageReader(HTMLParser):
    """Collects the resources a page loads and the text of its cell outputs, by output kind."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.resources: list[tuple[str, str, str]] = []  # (tag, url, rel)
        self.outputs: list[tuple[str, list[str]]] = []  # (kind, text parts) per stderr/traceback/output
        self.visible: list[str] = []
        self.widgets = 0
        self._stack: list[tuple[str, set[str], int | None]] = []  # (tag, classes, index into outputs)
        self._hidden = 0  # inside <script>/<style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in ("src", "href", "data"):
            if (tag, name) in _RESOURCE_ATTRIBUTES and values.get(name):
                self.resources.append((tag, values[name], values.get("rel", "")))
        if tag == "script" and "jupyter.widget" in values.get("type", ""):
            self.widgets += 1
        if tag in _VOID:
            return
        classes = set(values.get("class", "").split())
        index = None
        inside_output = any("cell_output" in open_classes for _, open_classes, _ in self._stack)
        if "cell_output" in classes or (inside_output and "output" in classes):
            kind = "stderr" if "stderr" in classes else "traceback" if "traceback" in classes else "output"
            self.outputs.append((kind, []))
            index = len(self.outputs) - 1
        self._stack.append((tag, classes, index))
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        for position in range(len(self._stack) - 1, -1, -1):
            if self._stack[position][0] == tag:
                for closed, _, _ in self._stack[position:]:
                    if closed in ("script", "style"):
                        self._hidden -= 1
                del self._stack[position:]
                return

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.visible.append(data)
        for _, _, index in reversed(self._stack):
            if index is not None:
                self.outputs[index][1].append(data)
                return


def _local_target(page: Path, url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or not parsed.path:
        return None
    return (page.parent / unquote(parsed.path)).resolve()


def check_page(page: Path, site: Path, machine_paths: Iterable[str] = ()) -> list[PageFinding]:
    """The findings of one HTML page (see the module docstring); ``machine_paths`` are extra
    absolute folders (the project, the home folder) that must not appear in the page's text."""
    reader = _PageReader()
    reader.feed(page.read_text(encoding="utf-8", errors="replace"))
    reader.close()
    name = page.relative_to(site).as_posix()
    findings: list[PageFinding] = []
    for tag, url, rel in reader.resources:
        rels = set(rel.lower().split())
        if tag == "link" and rels and rels <= _INERT_LINK_RELS:
            continue
        if _is_external(url):
            findings.append(PageFinding(name, "external resource", f"<{tag}> {url}"))
        elif tag == "script" or (tag == "link" and "stylesheet" in rels):
            target = _local_target(page, url)
            if target is not None and not target.is_file():
                findings.append(PageFinding(name, "missing resource", f"<{tag}> {url}"))
    if reader.widgets:
        findings.append(PageFinding(name, "widget output", f"{reader.widgets} widget view(s)"))
    for kind, parts in reader.outputs:
        text = "".join(parts)
        if kind == "stderr" and text.strip():
            findings.append(PageFinding(name, "stderr output", _excerpt(text)))
        elif kind == "traceback":
            findings.append(PageFinding(name, "error output", _excerpt(text)))
        else:
            for pattern, label in ((_OBJECT_REPR, "object repr"), (_WARNING, "warning")):
                match = pattern.search(text)
                if match:
                    line = next(line for line in text.splitlines() if pattern.search(line))
                    findings.append(PageFinding(name, label, _excerpt(line)))
    return findings + _machine_paths(name, "".join(reader.visible), machine_paths)


def _machine_paths(name: str, text: str, machine_paths: Iterable[str]) -> list[PageFinding]:
    """A ``machine path`` finding per distinct absolute path of the building machine in ``text``."""
    machine = [re.escape(str(path).rstrip("/\\")) for path in machine_paths if str(path).strip("/\\")]
    patterns = [_MACHINE_PATH]
    if machine:
        patterns.append(re.compile(r"(?<![\w.~/-])(?:" + "|".join(machine) + r")(?:[/\\][^\s'\"<>)]*)?(?![\w.-])"))
    seen: set[str] = set()
    findings = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            if match.group(0) not in seen:
                seen.add(match.group(0))
                findings.append(PageFinding(name, "machine path", _excerpt(match.group(0))))
    return findings


def check_downloads(site: str | Path, machine_paths: Iterable[str] = ()) -> list[PageFinding]:
    """``machine path`` findings in the site's downloadable sources (``_sources/``: the executed
    notebooks a reader downloads from each page, their metadata included)."""
    site = Path(site).resolve()
    machine_paths = list(machine_paths)
    return [finding for source in sorted((site / "_sources").rglob("*")) if source.is_file()
            for finding in _machine_paths(source.relative_to(site).as_posix(),
                                          source.read_text(encoding="utf-8", errors="replace"), machine_paths)]


def check_site(site: str | Path, machine_paths: Iterable[str] = ()) -> list[PageFinding]:
    """The findings of every HTML page under ``site`` (a built ``_build/html`` folder), in page order,
    then those of its downloadable sources (:func:`check_downloads`).

    ``.html`` files under ``_static/`` and ``_sources/`` are not pages (template macros) and are skipped.

    Raises
    ------
    FileNotFoundError
        When ``site`` holds no HTML page (no site was built there).
    """
    site = Path(site).resolve()
    pages = sorted(page for page in site.rglob("*.html")
                   if not _NOT_PAGES.intersection(page.relative_to(site).parts[:-1]))
    if not pages:
        raise FileNotFoundError(f"no HTML page under {site}: build the book first (qlatent book)")
    machine_paths = list(machine_paths)
    return ([finding for page in pages for finding in check_page(page, site, machine_paths)]
            + check_downloads(site, machine_paths))
