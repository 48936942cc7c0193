"""End to end on a copy of the project: profile → papermill → saved results → figures → book.

This is also CI's check that every notebook executes with the quick profile. The book is built once
per session (`built_book` in conftest.py) and also opened in a browser (test_browser.py).
"""

import json

import nbformat
import pandas as pd
from conftest import run_cli

from qlatent.runner.profiles import load_profiles


def test_book_builds_with_every_quick_notebook(built_book):
    root, first = built_book
    assert (root / "_build" / "html" / "index.html").is_file()
    for name in load_profiles(root / "notebooks" / "profiles.yml")["quick"].notebooks:
        assert f"{name}: executed in" in first.stdout
        page = root / "_build" / "html" / "book" / "executed" / f"{name}.html"
        assert page.is_file(), f"no page for {name}"
        manifest = json.loads((root / "data" / "results" / name / "manifest.json").read_text())
        assert manifest["status"] == "complete"


def test_the_built_book_is_self_contained_and_shows_no_noise(built_book):
    """`qlatent book` already refused to finish otherwise; this pins it on CI's real book."""
    from qlatent.runner.pages import check_site

    root, _ = built_book
    site = root / "_build" / "html"
    assert [str(finding) for finding in check_site(site, machine_paths=[root])] == []
    assert (site / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    page = (site / "book" / "executed" / "01_interference.html").read_text()
    assert 'src="../../_static/mathjax/tex-mml-chtml.js' in page


def test_interference_page_has_its_figures(built_book):
    root, _ = built_book
    page = (root / "_build" / "html" / "book" / "executed" / "01_interference.html").read_text()
    assert "Hong–Ou–Mandel dip" in page
    assert page.count("<img") >= 3
    figures = root / "data" / "results" / "01_interference" / "figures"
    assert {p.name for p in figures.iterdir()} >= {"hom_dip.png", "output_distribution.png", "bunching.png"}


def test_second_run_skips_unchanged_notebooks(built_book):
    root, _ = built_book
    again = run_cli(root, "book", "--profile", "quick")
    assert again.returncode == 0, again.stderr
    assert "01_interference: unchanged since its last successful run, skipped" in again.stdout


def test_run_with_changed_parameter_changes_results(built_book):
    root, _ = built_book
    table = root / "data" / "results" / "01_interference" / "hom.csv"
    before = pd.read_csv(table)
    changed = run_cli(root, "run", "01_interference", "-p", "coherence_time", "2.0", "-p", "n_delays", "9")
    assert changed.returncode == 0, changed.stderr
    assert "01_interference: executed in" in changed.stdout
    after = pd.read_csv(table)
    assert len(before) != len(after) == 9
    executed = nbformat.read(root / "book" / "executed" / "01_interference.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "coherence_time = 2.0" in injected[0].source
    # `book` keeps the user's run; asked for the profile explicitly, it re-executes with the profile's.
    kept = run_cli(root, "book", "--only", "01_interference")
    assert "01_interference: keeping your `qlatent run` of it" in kept.stdout, kept.stdout + kept.stderr
    assert len(pd.read_csv(table)) == 9
    rebuilt = run_cli(root, "book", "--profile", "quick", "--only", "01_interference")
    assert "01_interference: REPLACING your `qlatent run` of it" in rebuilt.stdout
    assert "01_interference: executed in" in rebuilt.stdout
    assert len(pd.read_csv(table)) == len(before)
