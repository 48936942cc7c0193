"""Shared fixtures: a throw-away copy of the project, so runner tests never touch the real checkout."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# A test run started in the background of a non-interactive shell (`cmd &`, nohup) inherits SIGINT
# ignored, as would every process it starts: the Ctrl-C tests need it delivered as in a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def copy_project(target: Path) -> Path:
    """Copy what the runner and the book need (sources only, no generated files) into ``target``."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(REPO / "notebooks", target / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(REPO / "book", target / "book", ignore=shutil.ignore_patterns("executed", "_build"))
    shutil.copytree(REPO / "data", target / "data", ignore=shutil.ignore_patterns("results", "cache"))
    return target


def project_env(root: Path) -> dict[str, str]:
    """Environment pointing qlatent (and the notebooks' kernels) at the copy in ``root``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("QLATENT_")}
    env["QLATENT_ROOT"] = str(root)
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))
    return env


def run_cli(root: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run ``python -m qlatent ARGS`` against the project copy in ``root``."""
    return subprocess.run([sys.executable, "-m", "qlatent", *args], cwd=root, env=project_env(root),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """A copy of the project with the quick-profile book built by `qlatent book`: (root, the completed run).

    Built once per session: test_runner_pipeline.py checks the run, test_browser.py opens the pages.
    """
    root = copy_project(tmp_path_factory.mktemp("project"))
    # Decoys a real checkout has beside the book (an environment, caches, stray pages): never scanned.
    decoy = root / ".venv" / "lib" / "site-packages" / "pkg"
    decoy.mkdir(parents=True)
    (decoy / "demo.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    (root / ".pytest_cache").mkdir()
    (root / ".pytest_cache" / "README.md").write_text("# cache\n")
    first = run_cli(root, "book", "--profile", "quick")
    assert first.returncode == 0, first.stdout + first.stderr
    return root, first


@pytest.fixture(scope="module")
def torch_one_thread():
    """Small networks (and ChemNet's LSTM) run fastest on one torch thread on a 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TurnsNaN:
    """A Gaussian latent whose draws become NaN after ``good`` calls: divergence tests of every model."""

    kind = "test"

    def __init__(self, dim, good):
        self.dim, self.name, self.good, self.calls = dim, "turns-nan", good, 0

    def sample(self, n, generator):
        import torch

        self.calls += 1
        z = torch.randn(n, self.dim, generator=generator)
        return z * float("nan") if self.calls > self.good else z

    def describe(self):
        return {"kind": self.kind, "name": self.name, "dim": self.dim}
