"""Every chapter checks its own parameters right after its parameters cell, as ``qlatent run -p`` does,
so plain papermill refuses a bad parameter in seconds, naming it, before any work."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO

from qlatent.runner.errors import ParametersRefused, RunnerError
from qlatent.runner.execution import (
    PARAMETER_RULES,
    check_notebook_parameters,
    check_parameters,
    declared_parameters,
)
from qlatent.runner.profiles import load_profiles

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _parameters_index(cells: list[dict]) -> int:
    (index,) = [i for i, cell in enumerate(cells) if "parameters" in cell.get("metadata", {}).get("tags", [])]
    return index


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_cell_after_the_parameters_cell_checks_them_hidden_from_readers(path):
    cells = _cells(path)
    check = cells[_parameters_index(cells) + 1]
    assert check["cell_type"] == "code" and check["metadata"].get("tags") == ["remove-input"]
    assert f'check_notebook_parameters("{path.stem}", globals())' in _source(check)
    assert sum("check_notebook_parameters(" in _source(cell) for cell in cells) == 1


def _run_check_cells(path: Path, overrides: dict) -> None:
    """Execute the parameters cell, the overrides (as papermill injects them) and the check cell."""
    cells = _cells(path)
    index = _parameters_index(cells)
    namespace: dict = {}
    exec(_source(cells[index]), namespace)
    namespace.update(overrides)
    exec(_source(cells[index + 1]), namespace)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_defaults_and_every_profile_pass_the_check(path):
    _run_check_cells(path, {})
    from qlatent.experiments.qm9_long import RECORDING_PARAMETERS

    for profile in load_profiles(REPO / "notebooks" / "profiles.yml").values():
        parameters = profile.notebooks.get(path.stem, {})
        _run_check_cells(path, {key: value for key, value in parameters.items() if key not in RECORDING_PARAMETERS})


@pytest.mark.parametrize(("notebook", "overrides", "message"), [
    ("04_discrete", {"n_steps": 20}, r"parameter 'n_steps' of notebook '04_discrete' is 20, below log_every=50"),
    ("04_discrete", {"log_every": 500}, r"parameter 'n_steps' of notebook '04_discrete' is 200, below log_every=500"),
    ("04_discrete", {"bogus": 1}, r"declares no parameter 'bogus'"),
    ("05_qm9", {"latents": "gaussian"}, r"parameter 'latents' of notebook '05_qm9' expects list, got str"),
    ("01_interference", {"n_photons": "abc"}, r"parameter 'n_photons' .* expects int, got str 'abc'"),
    ("02_boson_sampling", {"transmissions": 0.5}, r"parameter 'transmissions' .* expects list, got float 0.5"),
])
def test_a_bad_parameter_is_refused_by_the_notebook_naming_it(notebook, overrides, message):
    with pytest.raises(ParametersRefused, match=message):
        _run_check_cells(REPO / "notebooks" / f"{notebook}.ipynb", overrides)


def test_the_runner_refuses_parameters_out_of_order_with_the_same_check():
    path = REPO / "notebooks" / "06_flows_diffusion.ipynb"
    with pytest.raises(RunnerError, match=r"parameter 'ddgan_steps' of notebook '06_flows_diffusion' is 10, "
                                          r"below log_every=100"):
        check_parameters("06_flows_diffusion", path, {"ddgan_steps": 10})
    with pytest.raises(RunnerError, match=r"parameter 'log_every' of notebook '06_flows_diffusion' is 500, "
                                          r"above flow_steps=400"):
        check_parameters("06_flows_diffusion", path, {"log_every": 500})
    check_parameters("06_flows_diffusion", path, {"ddgan_steps": 10, "log_every": 10})


def test_parameter_rules_name_declared_parameters():
    for notebook, rules in PARAMETER_RULES.items():
        declared = declared_parameters(notebook, REPO / "notebooks" / f"{notebook}.ipynb")
        assert {name for first, _, second in rules for name in (first, second)} <= set(declared), notebook


@pytest.mark.parametrize(("overrides", "message"), [
    ({"depth_steps": 250}, r"parameter 'depth_steps' of notebook '03_mixture' is 250, but depth_steps=250 is not a "
                           r"multiple of log_every=100: scores are logged only every log_every steps"),
    ({"latent_steps": 300, "depth_steps": 250, "compare_step": 200}, r"parameter 'depth_steps' .* is 250"),
    ({"compare_step": 150}, r"parameter 'compare_step' .* is 150, but compare_step=150 is not a multiple of log_every"),
    ({"compare_step": 300}, r"parameter 'compare_step' of notebook '03_mixture' is 300, above latent_steps=200"),
    ({"log_every": 30}, r"parameter 'log_every' of notebook '03_mixture' is 30, but latent_steps=200 is not a "
                        r"multiple of log_every=30"),
])
def test_the_runner_refuses_steps_at_which_no_score_is_logged(overrides, message):
    """03 reads the scores logged at compare_step and at each run's last step: they must be logged steps."""
    path = REPO / "notebooks" / "03_mixture.ipynb"
    with pytest.raises(RunnerError, match=message):
        check_parameters("03_mixture", path, overrides)
    with pytest.raises(ParametersRefused, match=r"is not a multiple|below compare_step"):
        _run_check_cells(path, overrides)


@pytest.mark.parametrize("value", [5, "bogus", None])
def test_plain_papermill_profile_must_be_a_known_profile_or_custom(value):
    """papermill -p profile sets the label the notebook files its numbers under: only a profile of
    profiles.yml, or the runner's custom, is accepted."""
    path = REPO / "notebooks" / "04_discrete.ipynb"
    for known in [*load_profiles(REPO / "notebooks" / "profiles.yml"), "custom"]:
        _run_check_cells(path, {"profile": known})
    with pytest.raises(ParametersRefused, match=rf"04_discrete: parameter 'profile' must be one of quick, .*custom "
                                                rf"\(.*got {re.escape(repr(value))}"):
        _run_check_cells(path, {"profile": value})


def test_the_runner_accepts_logged_steps():
    path = REPO / "notebooks" / "03_mixture.ipynb"
    check_parameters("03_mixture", path, {"latent_steps": 300, "depth_steps": 500, "compare_step": 200})
    check_parameters("03_mixture", path, {"log_every": 50, "depth_steps": 250})


def test_modules_functions_and_the_interpreters_names_are_not_parameters():
    import math

    class Shell:
        user_ns_hidden = {"In": [], "Out": {}}

    check_notebook_parameters("07_photonic_backends", {"In": [""], "Out": {}, "get_ipython": Shell, "math": math,
                                                       "floor": math.floor, "_": 1, "n_photons": 2})
    with pytest.raises(ParametersRefused, match="declares no parameter 'In'"):
        check_notebook_parameters("07_photonic_backends", {"In": [""]})


def test_plain_papermill_fails_at_the_check_cell_with_one_line(tmp_path):
    papermill = pytest.importorskip("papermill")
    source = REPO / "notebooks" / "04_discrete.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as raised:
        papermill.execute_notebook(str(source), str(tmp_path / "out.ipynb"), parameters={"n_steps": 20},
                                   cwd=str(tmp_path), progress_bar=False)
    error = raised.value
    assert error.ename == "ParametersRefused"
    assert error.traceback == [f"ParametersRefused: {error.evalue}"]
    assert "parameter 'n_steps'" in error.evalue
    # The failing cell is the check, right after the parameters and papermill's injected cell: nothing ran.
    executed = [cell for cell in json.loads((tmp_path / "out.ipynb").read_text())["cells"]
                if cell["cell_type"] == "code"]
    (failed,) = [cell for cell in executed if cell["execution_count"] == error.exec_count]
    assert "check_notebook_parameters(" in _source(failed)
    assert [cell["execution_count"] for cell in executed if cell["execution_count"]] == [1, 2, 3]
