"""Static checks on the chapters' code cells (what a reader sees on the page, without executing them)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _raw_mapping_prints(source: str) -> list[int]:
    """Lines where a cell prints a dict (a raw ``{'key': ...}`` on the page instead of a sentence or table)."""
    # Cells may hold IPython magics; lines starting with % or ! are not Python.
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    lines = []
    for node in ast.walk(ast.parse(python)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print" \
                and any(isinstance(arg, (ast.Dict, ast.DictComp)) for arg in node.args):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_a_printed_dict():
    assert _raw_mapping_prints("x = 1\nprint({k: v for k, v in d.items()})\nprint('ok')") == [2]
    assert _raw_mapping_prints("print({'a': 1})") == [1]
    assert _raw_mapping_prints("print(f'{d}')") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_no_chapter_prints_a_raw_dict(path):
    notebook = nbformat.read(path, as_version=4)
    found = {index: lines for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (lines := _raw_mapping_prints(cell.source))}
    assert not found, f"{path.name}: cell(s) {found} print a dict; render a sentence or a table instead"
