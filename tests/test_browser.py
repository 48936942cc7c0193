"""The book opened in a real browser (headless Chromium through Playwright), as a reader opens it.

The checker is pinned on tiny sites; the quick-profile book CI builds (`built_book`) is then opened
page by page, every page of `_toc.yml`, with screenshots saved under `_build/screenshots/`.
Chromium is Debian's (`apt-get install -y chromium`, which `.ci/run` does); without it the tests are
skipped on a workstation and fail in CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from qlatent.experiments.canary import CANARIES
from qlatent.runner.browser import browse_site, find_chromium, missing_browser, screenshot_name, toc_pages
from qlatent.runner.errors import RunnerError
from qlatent.runner.offline_mathjax import copy_mathjax

REPO = Path(__file__).resolve().parent.parent
# A 1×1 PNG: an image that loads.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360"
                      "f8cfc0f01f0005000201a5d6a4b80000000049454e44ae426082")


def browser_or_skip() -> Path:
    """Chromium and Playwright, or a skip on a workstation and a failure in CI (`.ci/run` installs Chromium)."""
    message = missing_browser()
    if message is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must install it (.ci/run does, as root)")
        pytest.skip(message)
    return find_chromium()


@pytest.fixture(scope="module")
def chromium() -> Path:
    return browser_or_skip()


def test_without_chromium_ci_fails_and_a_workstation_skips(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"needs Debian.s chromium .*; CI must install it"):
        browser_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="the browser check needs Debian's chromium"):
        browser_or_skip()


def page(site: Path, name: str, body: str, head: str = "") -> None:
    path = site / f"{name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>")


MATHJAX = '<script defer src="{up}_static/mathjax/tex-mml-chtml.js"></script>'
CELL = ('<div class="cell docutils container"><div class="cell_input docutils container"><pre>import qlatent\n'
        'qlatent.run()</pre></div><div class="cell_output docutils container">done</div></div>')
HIDDEN_CELL = ('<div class="cell tag_hide-input docutils container"><details class="hide above-input">'
               '<summary>Show code cell source</summary><div class="cell_input docutils container">'
               '<pre>import qlatent</pre></div></details><div class="cell_output">done</div></div>')


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "html"
    (site / "_static").mkdir(parents=True)
    (site / "_static" / "pixel.png").write_bytes(PIXEL)
    copy_mathjax(site / "_static")
    return site


def test_toc_pages_lists_root_chapters_and_sections_in_book_order(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/intro\nparts:\n"
                   "  - caption: Foundations\n    chapters:\n      - file: book/a.md\n"
                   "        sections:\n          - file: book/a1\n"
                   "  - caption: Experiments\n    chapters:\n      - file: book/executed/b.ipynb\n"
                   "      - url: https://example.org\n")
    assert toc_pages(toc) == ["book/intro", "book/a", "book/a1", "book/executed/b"]
    toc.write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/a\n")
    assert toc_pages(toc) == ["book/intro", "book/a"]


def test_a_table_of_contents_without_root_is_an_error(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nchapters: []\n")
    with pytest.raises(RunnerError, match="names no root page"):
        toc_pages(toc)
    with pytest.raises(RunnerError, match="cannot read the table of contents"):
        toc_pages(tmp_path / "missing.yml")


def test_a_clean_site_has_no_findings_and_a_screenshot_per_page(chromium, site, tmp_path):
    page(site, "index", f'<p>Inline \\(e^{{i\\pi}} + 1 = 0\\).</p><img src="_static/pixel.png">{HIDDEN_CELL}',
         MATHJAX.format(up=""))
    page(site, "book/executed/ch", '<div class="math notranslate nohighlight">\\[\\langle n \\rangle = 1\\]</div>'
         '<img src="../../_static/pixel.png">', MATHJAX.format(up="../../"))
    shots = tmp_path / "screenshots"
    assert browse_site(site, ["index", "book/executed/ch"], screenshots=shots, code_free=["index"],
                       chromium=chromium) == []
    assert sorted(path.name for path in shots.iterdir()) == ["book__executed__ch.png", "index.png"]
    assert (shots / screenshot_name("index")).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("body, head, finding", [
    ("<script>console.error('the figure could not be drawn')</script>", "",
     ("console error", "the figure could not be drawn")),
    # What every page logged: two scripts declaring the same constant.
    ("", "<script>const THEBE_JS_URL = 'a';</script><script>const THEBE_JS_URL = 'b';</script>",
     ("console error", "SyntaxError: Identifier 'THEBE_JS_URL' has already been declared")),
    ("", '<script src="_static/absent.js"></script>',
     ("console error", "Failed to load resource: the server responded with a status of 404 (File not found)")),
    ('<video src="https://example.org/film.mp4"></video>', "", ("outside request", "https://example.org/film.mp4")),
    ("", '<link rel="stylesheet" href="https://fonts.example.org/css?family=Lato">',
     ("outside request", "https://fonts.example.org/css?family=Lato")),
    ('<img src="_static/absent.png">', "", ("broken image", "_static/absent.png")),
    ('<span class="math notranslate nohighlight">\\(x^2\\)</span>', "", ("untypeset math", "\\(x^2\\)")),
    ('<span class="math notranslate nohighlight">\\(\\frac{1}\\)</span>', MATHJAX.format(up=""),
     ("untypeset math", "")),
    (CELL, "", ("code input", "import qlatent (+1 lines)")),
])
def test_what_a_reader_meets_is_found(chromium, site, body, head, finding):
    page(site, "index", body, head)
    found = [(f.kind, f.excerpt) for f in browse_site(site, ["index"], code_free=["index"], chromium=chromium)]
    if finding[0] == "broken image":  # the browser also logs the failed load
        found = [item for item in found if item[0] != "console error"]
    if finding == ("untypeset math", ""):  # a TeX error: typeset as an error, its text is MathJax's
        found = [(kind, "") for kind, _ in found]
    assert found == [finding]


def test_code_is_allowed_on_pages_not_listed_as_code_free(chromium, site):
    page(site, "index", CELL)
    assert browse_site(site, ["index"], chromium=chromium) == []


def test_a_page_of_the_toc_missing_from_the_site_is_found(chromium, site):
    page(site, "index", "<p>Home</p>")
    found = [(f.page, f.kind) for f in browse_site(site, ["index", "book/gone"], chromium=chromium)]
    assert found == [("book/gone.html", "missing page")]


def test_without_chromium_the_check_says_how_to_install_it(site, tmp_path):
    with pytest.raises(RunnerError, match=r"needs Chromium.*apt-get install -y chromium"):
        browse_site(site, ["index"], chromium=tmp_path / "no-chromium")


@pytest.fixture(scope="module")
def book_in_browser(built_book, chromium):
    """Every page of the quick book's table of contents, opened once; screenshots in the checkout's `_build/`."""
    root, _ = built_book
    shots = REPO / "_build" / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)  # no screenshot of a page the book no longer has
    pages = toc_pages(root / "_toc.yml")
    # The claims page and the experiment chapters (those with a canary, and chapter 04b): their code is
    # collapsed or hidden; exercise pages and the foundations show code on purpose.
    experiments = [f"book/executed/{chapter}" for chapter in ("00_claims", *CANARIES, "04b_mechanism")]
    assert set(experiments) <= set(pages)
    findings = browse_site(root / "_build" / "html", pages, screenshots=shots, code_free=experiments,
                           chromium=chromium)
    return pages, shots, findings


def test_every_page_of_the_book_reads_in_a_browser(book_in_browser):
    pages, shots, findings = book_in_browser
    assert [str(finding) for finding in findings if finding.kind != "code input"] == []
    assert {path.name for path in shots.iterdir()} == {screenshot_name(page) for page in pages}


def test_experiment_pages_show_no_code_by_default(book_in_browser):
    _, _, findings = book_in_browser
    assert [str(finding) for finding in findings if finding.kind == "code input"] == []


def test_ci_installs_chromium_before_the_tests_and_pins_playwright():
    steps = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    install = next(index for index, step in enumerate(steps) if "apt-get install -y" in step and "chromium" in step)
    assert install < steps.index("time make test")
    assert "playwright==1.65.2" in (REPO / "pyproject.toml").read_text()


def test_each_inline_script_is_kept_once_whichever_way_it_was_added():
    from sphinx.builders.html._assets import _JavaScript

    from qlatent.runner.page_scripts import unique_scripts

    thebe = 'const THEBE_JS_URL = "x"'
    # What Jupyter Book 1 gives every page: the same inline script as file name None and as "".
    scripts = [_JavaScript("_static/a.js"), _JavaScript(None, body=thebe), _JavaScript("", body="var b = 1"),
               _JavaScript("", body=thebe), _JavaScript("_static/a.js"), _JavaScript("_static/a.js", priority=800)]
    kept = unique_scripts(scripts)
    assert [(script.filename or "", script.attributes.get("body"), script.priority) for script in kept] == [
        ("_static/a.js", None, 500), ("", thebe, 500), ("", "var b = 1", 500), ("_static/a.js", None, 800)]


def test_every_page_links_the_paper_and_the_repository_from_one_setting():
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert "qlatent.runner.page_scripts" in config["sphinx"]["extra_extensions"]
    assert config["repository"]["url"] == "https://github.com/qlatent/qlatent"
    assert config["html"]["use_repository_button"] and config["html"]["use_issues_button"]
    assert 'href="https://arxiv.org/abs/2508.19857"' in config["html"]["extra_footer"]
    # The repository's address is written once: the buttons read it from `repository.url`.
    assert (REPO / "_config.yml").read_text().count(config["repository"]["url"]) == 1


# What only the machine that built a page knows, or names only its code knows: never in a page's prose.
BUILD_REMARKS = ("cannot be downloaded here", "not run here", "submitted from here", "not readable from where",
                 "where this book is built", "SIGNIFICANT_SES")


def prose(path: Path) -> str:
    """The Markdown a reader sees from a page's source: a Markdown file, or a notebook's Markdown cells."""
    if path.suffix == ".md":
        return path.read_text()
    import nbformat

    return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown")


@pytest.mark.parametrize("page", [pytest.param(path, id=path.name) for path in
                                  sorted((REPO / "book").glob("*.md")) + sorted((REPO / "notebooks").glob("*.ipynb"))])
def test_book_prose_has_no_build_machine_remarks(page):
    assert [remark for remark in BUILD_REMARKS if remark in prose(page)] == []


def test_every_built_page_links_the_paper_and_the_repository(built_book):
    import yaml

    root, _ = built_book
    repository = yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"]
    for page in toc_pages(root / "_toc.yml"):
        html = (root / "_build" / "html" / f"{page}.html").read_text()
        assert 'href="https://arxiv.org/abs/2508.19857"' in html, page
        assert f'href="{repository}"' in html, page
