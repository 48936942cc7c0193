"""Bad input and failing notebooks: one-line errors naming the culprit, nothing half-written."""

import json

import nbformat
import pytest
from conftest import run_cli

from qlatent.runner.profiles import load_profiles


def add_notebook(root, name, source_cells, parameters="should_fail = False\nscale = 1.0\nlabel = 'x'"):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    notebook.cells += [nbformat.v4.new_code_cell(src) for src in source_cells]
    nbformat.write(notebook, root / "notebooks" / f"{name}.ipynb")


def error_line(result):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_failing_notebook_reports_cell_and_keeps_last_good_output(project_copy):
    add_notebook(project_copy, "99_fragile", ["print('ok')", "if should_fail:\n    raise RuntimeError('boom')"])
    good = run_cli(project_copy, "run", "99_fragile")
    assert good.returncode == 0, good.stderr
    executed = project_copy / "book" / "executed" / "99_fragile.ipynb"
    stamp = project_copy / "book" / "executed" / "99_fragile.run.json"
    good_bytes, good_stamp = executed.read_bytes(), stamp.read_bytes()

    bad = run_cli(project_copy, "run", "99_fragile", "-p", "should_fail", "true")
    line = error_line(bad)
    assert "notebook '99_fragile' failed in cell 3 ('if should_fail:'): RuntimeError: boom" in line
    assert executed.read_bytes() == good_bytes and stamp.read_bytes() == good_stamp
    assert (project_copy / "_build" / "failed" / "99_fragile.ipynb").is_file()
    assert not [p for p in executed.parent.iterdir() if ".tmp" in p.name]


def test_force_re_executes(project_copy):
    add_notebook(project_copy, "98_tiny", ["x = scale * 2"])
    assert run_cli(project_copy, "run", "98_tiny").returncode == 0
    assert "skipped" in run_cli(project_copy, "run", "98_tiny").stdout
    assert "executed in" in run_cli(project_copy, "run", "98_tiny", "--force").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no_such_notebook"], "unknown notebook 'no_such_notebook'; available: "),
        (["run", "97_params", "-p", "speed", "3"], "notebook '97_params' declares no parameter 'speed'; it declares: "
                                                   "should_fail, scale, label"),
        (["run", "97_params", "-p", "scale", "fast"], "parameter 'scale' of notebook '97_params' expects float, got str"),
        (["run", "97_params", "-p", "should_fail", "1"], "parameter 'should_fail' of notebook '97_params' expects bool"),
        (["book", "--profile", "fastest"], "unknown profile 'fastest'; known profiles: {known}"),
        (["book", "--only", "nothing"], "profile 'quick' has no notebook nothing"),
    ],
)
def test_bad_input_is_one_clear_line(project_copy, args, message):
    add_notebook(project_copy, "97_params", ["pass"])
    known = ", ".join(load_profiles(project_copy / "notebooks" / "profiles.yml"))  # the file's own order
    assert message.format(known=known) in error_line(run_cli(project_copy, *args))
    assert not (project_copy / "book" / "executed" / "97_params.ipynb").exists()


def test_malformed_profiles_file(project_copy):
    (project_copy / "notebooks" / "profiles.yml").write_text("quick:\n  notebooks: [oops\n")
    assert "is not valid YAML at line" in error_line(run_cli(project_copy, "book"))


def test_profile_naming_missing_notebook(project_copy):
    (project_copy / "notebooks" / "profiles.yml").write_text("quick:\n  notebooks:\n    ghost: {}\n")
    assert "unknown notebook 'ghost'" in error_line(run_cli(project_copy, "book"))


def test_notebook_without_parameters_cell(project_copy):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(notebook, project_copy / "notebooks" / "96_bare.ipynb")
    assert "notebook '96_bare' has no cell tagged 'parameters'" in error_line(run_cli(project_copy, "run", "96_bare"))


def test_stamp_records_parameters(project_copy):
    add_notebook(project_copy, "95_stamp", ["pass"])
    assert run_cli(project_copy, "run", "95_stamp", "-p", "label", "hello").returncode == 0
    stamp = json.loads((project_copy / "book" / "executed" / "95_stamp.run.json").read_text())
    assert stamp["parameters"] == {"label": "hello"}
