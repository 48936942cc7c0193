"""The course layer: every chapter opens with learning objectives and prerequisites, every chapter
has at least two exercises whose solutions are hidden by default and executed with the book."""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml
from conftest import REPO

TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
PAGES = [chapter["file"].split("/")[-1] for part in TOC["parts"] for chapter in part["chapters"]
         if chapter["file"].startswith("book/executed/")]
#: Pages that summarise the book rather than teach a unit: no objectives or exercises of their own.
SUMMARY_PAGES = {"00_claims"}
EXERCISE = re.compile(r"```\{exercise\}\n:label: ([\w-]+)")
SOLUTION = re.compile(r"```\{solution-start\} ([\w-]+)\n:class: dropdown\n```")


def markdown(name: str) -> list[str]:
    notebook = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


@pytest.mark.parametrize("name", [name for name in PAGES if name not in SUMMARY_PAGES])
def test_every_chapter_opens_with_objectives_and_prerequisites(name):
    first = markdown(name)[0]
    assert "```{admonition} Learning objectives" in first and "```{admonition} Prerequisites" in first


@pytest.mark.parametrize("name", [name for name in PAGES
                                  if not name.endswith("_exercises") and name not in SUMMARY_PAGES])
def test_every_chapter_has_two_exercises_with_hidden_solutions_executed_with_it(name):
    own = name in {"00_theory", "07_photonic_backends"}
    pages = [name] if own else [f"{name}_exercises"]
    assert pages[0] in PAGES, f"{name} has no exercise page in the table of contents"
    notebook = nbformat.read(REPO / "notebooks" / f"{pages[0]}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    exercises, solutions = EXERCISE.findall(text), SOLUTION.findall(text)
    assert len(exercises) >= 2 and solutions == exercises
    # each solution has executed code between its start and end (a broken solution fails the build)
    inside, solved = None, set()
    for cell in notebook.cells:
        start = SOLUTION.search(cell.source) if cell.cell_type == "markdown" else None
        if start:
            inside = start.group(1)
        elif cell.cell_type == "markdown" and "```{solution-end}" in cell.source:
            inside = None
        elif cell.cell_type == "code" and inside and cell.source.strip():
            solved.add(inside)
    assert solved == set(exercises)


def test_exercise_labels_are_unique_across_the_book():
    labels = [label for name in PAGES for source in markdown(name) for label in EXERCISE.findall(source)]
    assert len(labels) == len(set(labels))


CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
BIB_KEY = re.compile(r"^@\w+\{([^,\s]+),", re.MULTILINE)


def cited_keys(text: str) -> set[str]:
    """Keys of the ``{cite}`a,b` `` roles in MyST text, leaving out double-backtick code (an example)."""
    text = re.sub(r"``.+?``", "", text, flags=re.DOTALL)
    return {key.strip() for keys in CITE.findall(text) for key in keys.split(",")}


def test_cited_keys_are_found_only_outside_code():
    assert cited_keys("as {cite}`a2000x,b2001y` and {cite:p}`c2002z`; write ``{cite}`key` `` to cite") == {
        "a2000x", "b2001y", "c2002z"}


def test_every_cited_work_is_in_the_bibliography():
    entries = set(BIB_KEY.findall((REPO / "book" / "references.bib").read_text()))
    texts = [source for path in sorted((REPO / "notebooks").glob("*.ipynb")) for source in markdown(path.stem)]
    texts += [path.read_text() for path in sorted((REPO / "book").glob("*.md"))]
    cited = set().union(*map(cited_keys, texts))
    assert cited and not cited - entries, f"cited but not in book/references.bib: {sorted(cited - entries)}"
