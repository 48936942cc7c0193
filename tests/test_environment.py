"""pyproject.toml and environment.yml describe one environment."""

import tomllib

import yaml
from conftest import REPO


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def _conda_pip_requirements() -> set[str]:
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_sections = [item["pip"] for item in environment["dependencies"] if isinstance(item, dict)]
    assert len(pip_sections) == 1, "environment.yml must have exactly one pip section"
    return {line for line in pip_sections[0] if not line.startswith("--editable")}


def test_environment_yml_matches_pyproject():
    pyproject, conda = _pyproject_requirements(), _conda_pip_requirements()
    assert pyproject - conda == set(), f"missing from environment.yml: {sorted(pyproject - conda)}"
    assert conda - pyproject == set(), f"missing from pyproject.toml: {sorted(conda - pyproject)}"


def test_python_versions_agree():
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert "python=3.11" in environment["dependencies"] and ">=3.11" in requires


def test_torch_pinned_exactly():
    assert "torch==2.13.0" in _pyproject_requirements()


def test_jupyter_book_major_version_one():
    pins = [req for req in _pyproject_requirements() if req.startswith("jupyter-book")]
    assert pins == ["jupyter-book==1.0.4.post1"], "Jupyter Book 2 cannot build offline; keep 1.x pinned"


def test_ruff_pinned_and_configured():
    pins = [req for req in _pyproject_requirements() if req.startswith("ruff")]
    assert pins == ["ruff==0.17.0"], "the linter is pinned in the dev extra, so CI's verdict is reproducible"
    ruff = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["ruff"]
    assert ruff["line-length"] == 120 and ruff["target-version"] == "py311"
    assert {"E", "F", "W", "I", "B", "UP"} <= set(ruff["lint"]["select"])


def test_ci_lints_before_testing():
    makefile = (REPO / "Makefile").read_text()
    assert "\nlint: $(INSTALLED)\n\t$(VENV)/bin/ruff check .\n" in makefile
    steps = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert "make lint" in steps and "time make test" in steps
    assert steps.index("make lint") < steps.index("time make test"), "lint first: it fails in seconds, tests in minutes"
