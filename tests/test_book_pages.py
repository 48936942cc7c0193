"""The book's pages: checked for what a reader must not see, and self-contained (MathJax served locally).

The whole built book is checked by `qlatent book` itself (and so by test_runner_pipeline.py in CI);
these tests pin the checker on small pages and the offline MathJax extension on a tiny Sphinx site.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qlatent.runner.pages import check_page, check_site

REPO = Path(__file__).resolve().parent.parent

CLEAN = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="_static/site.css">
<link rel="canonical" href="https://example.org/book/page.html">
<script src="_static/site.js"></script>
<script>var url = "https://example.org/in/inline/code";</script>
</head><body><p>Formulas $x^2$ and a <a href="https://arxiv.org/abs/2508.19857">link</a> to the paper.</p>
<p>Results are saved under data/results/01_interference/ and read back.</p>
<div class="cell_output docutils container"><div class="output text_plain highlight-myst-ansi notranslate">
<div class="highlight"><pre><span></span>   delay  p_coincidence
0    0.0       0.000000</pre></div></div>
<div class="output stream highlight-myst-ansi notranslate"><pre>trained 4 runs in 3.2 s</pre></div></div>
</body></html>"""


def write_site(tmp_path: Path, body: str, name: str = "page.html") -> Path:
    (tmp_path / "_static").mkdir(exist_ok=True)
    (tmp_path / "_static" / "site.css").write_text("")
    (tmp_path / "_static" / "site.js").write_text("")
    page = tmp_path / name
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(body)
    return page


def output(kind: str, text: str) -> str:
    return (f'<div class="cell_output docutils container"><div class="output {kind} highlight-myst-ansi notranslate">'
            f'<div class="highlight"><pre><span></span>{text}</pre></div></div></div>')


def findings_of(tmp_path: Path, html: str, machine_paths=()) -> list[tuple[str, str]]:
    page = write_site(tmp_path, f"<html><head></head><body>{html}</body></html>")
    return [(finding.kind, finding.excerpt) for finding in check_page(page, tmp_path, machine_paths)]


def test_a_clean_page_has_no_findings(tmp_path):
    page = write_site(tmp_path, CLEAN)
    assert check_page(page, tmp_path, ["/work/project"]) == []
    assert check_site(tmp_path) == []


@pytest.mark.parametrize("tag", [
    '<script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>',
    '<script src="//cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js"></script>',
    '<link rel="stylesheet" href="http://fonts.example.com/css?family=Lato">',
    '<link rel="preload" as="font" href="https://fonts.example.com/lato.woff2">',
    '<img src="https://example.org/figure.png">',
])
def test_external_resources_are_found(tmp_path, tag):
    assert findings_of(tmp_path, tag) == [("external resource", tag[1:tag.index(" ")].join("<>") + " "
                                           + tag.split('="')[-1].split('"')[0])]


def test_a_local_script_missing_from_the_site_is_found(tmp_path):
    found = findings_of(tmp_path, '<script src="_static/mathjax/tex-mml-chtml.js"></script>'
                                  '<script src="_static/site.js?digest=1"></script>')
    assert found == [("missing resource", "<script> _static/mathjax/tex-mml-chtml.js")]


def test_pages_in_sub_folders_resolve_local_resources_from_their_folder(tmp_path):
    page = write_site(tmp_path, '<script src="../../_static/site.js"></script>', name="book/executed/ch.html")
    assert check_page(page, tmp_path) == []
    assert [f.page for f in check_site(tmp_path)] == []


@pytest.mark.parametrize("html, expected", [
    (output("stderr", "/venv/lib/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update jupyter"),
     ("stderr output", "/venv/lib/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update jupyter")),
    (output("traceback highlight-ipythontb", "ValueError: depth must be positive"),
     ("error output", "ValueError: depth must be positive")),
    (output("text_plain", "PosixPath('data/results/01_interference/manifest.json')"),
     ("object repr", "PosixPath('data/results/01_interference/manifest.json')")),
    (output("text_plain", "&lt;matplotlib.legend.Legend at 0x7f3a2c1d9e50&gt;"),
     ("object repr", "<matplotlib.legend.Legend at 0x7f3a2c1d9e50>")),
    (output("stream", "FutureWarning: the default of observed will change"),
     ("warning", "FutureWarning: the default of observed will change")),
    ('<script type="application/vnd.jupyter.widget-view+json">{"model_id": "ab12"}</script>',
     ("widget output", "1 widget view(s)")),
])
def test_what_a_reader_must_not_see_is_found(tmp_path, html, expected):
    assert findings_of(tmp_path, html) == [expected]


@pytest.mark.parametrize("text, path", [
    ("saved to /tmp/qlatent-x1/manifest.json.", "/tmp/qlatent-x1/manifest.json."),
    ("PosixPath('/home/ada/qlatent/data/results/03_mixture/manifest.json')",
     "/home/ada/qlatent/data/results/03_mixture/manifest.json"),
    (r"C:\Users\ada\qlatent\data", r"C:\Users\ada\qlatent\data"),
    ("the project in /srv/books/qlatent", "/srv/books/qlatent"),
])
def test_machine_paths_are_found_anywhere_in_the_text(tmp_path, text, path):
    assert ("machine path", path) in findings_of(tmp_path, f"<p>{text}</p>")


def test_the_projects_own_folder_is_a_machine_path_wherever_it_lives(tmp_path):
    found = findings_of(tmp_path, "<p>wrote /data/alice/qlatent/data/results/x.csv; see /data/alice/qlatent-old</p>",
                        machine_paths=[Path("/data/alice/qlatent")])
    assert found == [("machine path", "/data/alice/qlatent/data/results/x.csv;")]


def test_template_macros_under_static_are_not_pages(tmp_path):
    write_site(tmp_path, CLEAN)
    write_site(tmp_path, "<script src=\"{{ pathto('_static/x.js', 1) }}\"></script>", name="_static/macros.html")
    assert check_site(tmp_path) == []


def test_a_site_without_pages_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no HTML page under .*build the book first"):
        check_site(tmp_path)


def test_the_book_uses_the_offline_mathjax_extension():
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert "qlatent.runner.offline_mathjax" in config["sphinx"]["extra_extensions"]
    assert "mathjax_path" not in config["sphinx"].get("config", {})  # the extension sets it


def test_a_sphinx_site_with_the_extension_serves_mathjax_itself(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "conf.py").write_text("extensions = ['qlatent.runner.offline_mathjax']\n")
    (source / "index.rst").write_text("Title\n=====\n\nInline :math:`e^{i\\pi} + 1 = 0`.\n\n"
                                      ".. math:: \\langle n \\rangle = \\sum_k |U_{jk}|^2\n")
    site = tmp_path / "html"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", str(source), str(site)],
                               capture_output=True, text=True, env=env, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    page = (site / "index.html").read_text()
    assert 'src="_static/mathjax/tex-mml-chtml.js' in page
    assert "cdn.jsdelivr.net" not in page
    mathjax = site / "_static" / "mathjax"
    assert (mathjax / "tex-mml-chtml.js").stat().st_size > 500_000
    # What the entry point loads at view time: TeX extensions on demand, and the CHTML fonts.
    assert (mathjax / "input" / "tex" / "extensions" / "physics.js").is_file()
    assert any((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("MathJax_Main-Regular.woff"))
    assert (mathjax / "LICENSE").is_file()
    assert check_site(site) == []


def test_machine_paths_in_the_downloadable_notebooks_are_found(tmp_path):
    write_site(tmp_path, CLEAN)
    source = tmp_path / "_sources" / "book" / "executed" / "01.ipynb"
    source.parent.mkdir(parents=True)
    source.write_text('{"metadata": {"papermill": {"input_path": "/home/alice/qlatent/notebooks/01.ipynb"}}}')
    assert [(finding.page, finding.kind, finding.excerpt) for finding in check_site(tmp_path)] == [
        ("_sources/book/executed/01.ipynb", "machine path", "/home/alice/qlatent/notebooks/01.ipynb")]
