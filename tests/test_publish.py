"""Publishing: `make publish` pushes the built book to gh-pages; the Pages workflow builds the quick book."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

VENV = Path(sys.executable).parent.parent


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def checkout(tmp_path):
    if shutil.which("make") is None or not (VENV / "bin" / "ghp-import").exists():
        pytest.skip("needs make and ghp-import (the [docs] extra)")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--bare", "-q", str(origin))
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(REPO / "Makefile", work / "Makefile")
    git(work, "init", "-q", "-b", "main")
    git(work, "config", "user.email", "book@example.org")
    git(work, "config", "user.name", "book")
    git(work, "remote", "add", "origin", str(origin))
    return work, origin


def make(work: Path, target: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", target, f"VENV={VENV}"], cwd=work, capture_output=True, text=True, timeout=120)


def test_make_publish_pushes_the_built_book_to_gh_pages(checkout):
    work, origin = checkout
    (work / "_build" / "html").mkdir(parents=True)
    (work / "_build" / "html" / "index.html").write_text("<html>the book</html>")
    done = make(work, "publish")
    assert done.returncode == 0, done.stderr
    files = git(origin, "ls-tree", "--name-only", "gh-pages").split()
    assert set(files) == {".nojekyll", "index.html"}
    assert git(origin, "show", "gh-pages:index.html") == "<html>the book</html>"


def test_make_publish_without_a_built_book_says_what_to_do(checkout):
    work, origin = checkout
    done = make(work, "publish")
    assert done.returncode == 2
    assert "no built book in _build/html: run make book first" in done.stderr
    assert git(origin, "branch", "--list") == ""


def test_publishing_is_never_part_of_book_or_test():
    for target in ("book", "test"):
        dry = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert "ghp-import" not in dry.stdout


def test_the_pages_workflow_builds_the_quick_book_and_deploys_it():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "book.yml").read_text())
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    runs = [step.get("run", "") for step in build["steps"]]
    assert "make book" in runs  # the Makefile's book target is `qlatent book --profile quick`
    assert "qlatent book --profile quick" in (REPO / "Makefile").read_text()
    upload = [step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build"
    assert any(step.get("uses", "").startswith("actions/deploy-pages") for step in deploy["steps"])
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
