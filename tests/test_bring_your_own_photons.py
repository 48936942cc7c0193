"""Chapter 07's commands for re-running the QM9 table with a recorded bank name real parameters."""

from __future__ import annotations

import shlex

import nbformat
import yaml
from conftest import REPO

from qlatent.runner.execution import check_parameters


def chapter_commands(chapter: str) -> list[list[str]]:
    notebook = nbformat.read(REPO / "notebooks" / "07_photonic_backends.ipynb", as_version=4)
    lines = [line.strip() for cell in notebook.cells if cell.cell_type == "markdown"
             for line in cell.source.splitlines() if line.strip().startswith(f".venv/bin/qlatent run {chapter} ")]
    return [shlex.split(line.replace("$PWD", str(REPO))) for line in lines]


def test_the_table_ii_commands_set_declared_parameters_of_the_right_type_and_name_real_files():
    commands = chapter_commands("05_qm9")
    assert len(commands) == 2
    for command in commands:
        parameters = {name: yaml.safe_load(value) for flag, name, value in zip(command, command[1:], command[2:])
                      if flag == "-p"}
        assert parameters
        check_parameters("05_qm9", REPO / "notebooks" / "05_qm9.ipynb", parameters)
    example_backend = [arg for arg in commands[0] if arg.startswith("recorded:")][0]
    assert (REPO / "data" / "examples" / "pt_series_3photons_6bins.json").samefile(example_backend.split(":", 1)[1])
