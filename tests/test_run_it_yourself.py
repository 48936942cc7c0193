"""The "Run it yourself" page's commands work as printed."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

from conftest import REPO, copy_project, project_env

PAGE = REPO / "book" / "run_it_yourself.md"


def page_command(program: str) -> list[str]:
    """The one command line of the page that runs ``program`` (``.venv/bin/<program> ...``)."""
    lines = [line.split("#")[0].strip() for line in PAGE.read_text().splitlines()
             if line.startswith(f".venv/bin/{program} ")]
    assert len(lines) == 1, f"the page should show exactly one {program} command, found {lines}"
    return shlex.split(lines[0])


def test_the_pages_papermill_command_executes_a_chapter_from_the_repository_root(tmp_path):
    root = copy_project(tmp_path)
    command = page_command("papermill")
    assert command[1] == "notebooks/01_interference.ipynb"
    output = command[2]
    completed = subprocess.run([sys.executable, "-m", "papermill", *command[1:]], cwd=root, env=project_env(root),
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    executed = json.loads((root / output).read_text())
    injected = [cell for cell in executed["cells"] if "injected-parameters" in cell["metadata"].get("tags", [])]
    assert injected and re.search(r"n_photons = 2", "".join(injected[0]["source"]))
    manifest = json.loads((root / "data" / "results" / "01_interference" / "manifest.json").read_text())
    assert manifest["parameters"]["n_photons"] == 2 and manifest["parameters"]["n_modes"] == 4
