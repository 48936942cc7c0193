"""Bad input and failing notebooks: one-line errors naming the culprit, nothing half-written."""

import asyncio
import json
import signal

import nbformat
import pandas as pd
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
    assert ("notebook '99_fragile' failed in cell 3 at line 2 (\"raise RuntimeError('boom')\"): "
            "RuntimeError: boom") in line
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
        (["run", "97_params", "-p", "scale", "fast"],
         "parameter 'scale' of notebook '97_params' expects float, got str"),
        (["run", "97_params", "-p", "should_fail", "1"],
         "parameter 'should_fail' of notebook '97_params' expects bool"),
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


def test_notebook_without_parameters_cell_takes_no_parameter(project_copy):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(notebook, project_copy / "notebooks" / "96_bare.ipynb")
    assert "notebook '96_bare' has no cell tagged 'parameters', so it takes no parameter; got: x" in error_line(
        run_cli(project_copy, "run", "96_bare", "-p", "x", "2"))


def test_stamp_records_parameters(project_copy):
    add_notebook(project_copy, "95_stamp", ["pass"])
    assert run_cli(project_copy, "run", "95_stamp", "-p", "label", "hello").returncode == 0
    stamp = json.loads((project_copy / "book" / "executed" / "95_stamp.run.json").read_text())
    assert stamp["parameters"] == {"label": "hello"}


def test_failing_cell_is_labelled_by_the_line_that_raised_not_its_imports(project_copy):
    add_notebook(project_copy, "94_odd", [
        "import math\nimport numpy as np\n\ndef check(size):\n    if size % 2:\n"
        "        raise ValueError(f'size={size} is odd')\n\ncheck(15)\nprint('unreached')",
    ])
    line = error_line(run_cli(project_copy, "run", "94_odd"))
    assert "notebook '94_odd' failed in cell 2 at line 8 ('check(15)'): ValueError: size=15 is odd" in line


@pytest.mark.parametrize("chain", ["from error", ""])
def test_with_chained_exceptions_the_failing_line_is_the_cells(project_copy, chain):
    """IPython prints the cause first; its first frame is the library's (here ``settings_lib``,
    line 5), not the cell's."""
    (project_copy / "settings_lib.py").write_text(
        "def load(text):\n    \"\"\"An int.\"\"\"\n    text = text.strip()\n    try:\n        return int(text)\n"
        "    except ValueError as error:\n"
        f"        raise RuntimeError(f'cannot load {{text!r}}') {chain}\n")
    add_notebook(project_copy, "92_chained", ["import settings_lib\n\nvalue = settings_lib.load('x')"])
    line = error_line(run_cli(project_copy, "run", "92_chained"))
    assert "notebook '92_chained' failed in cell 2 at line 3 (\"value = settings_lib.load('x')\"): RuntimeError" in line


def test_failing_line_without_a_traceback_is_the_first_line_that_is_not_an_import():
    from qlatent.runner.execution import failing_line

    source = "# set up\nimport math\nfrom os import path\n\nvalue = math.sqrt(-1)\n"
    assert failing_line(source, None) == (None, "value = math.sqrt(-1)")
    assert failing_line(source, ["\x1b[0;31m----> 5\x1b[0m value = math.sqrt(-1)"]) == (5, "value = math.sqrt(-1)")
    assert failing_line("import math\n", []) == (None, "")


def test_profile_is_the_runners_to_inject(project_copy):
    add_notebook(project_copy, "93_labelled", ["pass"], parameters="profile = 'quick'\nscale = 1.0")
    result = run_cli(project_copy, "run", "93_labelled", "-p", "profile", "paper")
    assert result.stdout == ""  # refused before any progress line
    line = error_line(result)
    assert "parameter 'profile' of notebook '93_labelled' is set by the runner, not by hand" in line
    assert "qlatent run 93_labelled --profile NAME" in line
    assert not (project_copy / "book" / "executed" / "93_labelled.ipynb").exists()
    (project_copy / "notebooks" / "profiles.yml").write_text(
        "quick:\n  notebooks:\n    93_labelled: {profile: paper}\n")
    line = error_line(run_cli(project_copy, "book"))
    assert "parameter 'profile' of notebook '93_labelled' is set by the runner" in line


@pytest.mark.parametrize(("args", "message"), [
    (["record", "nosuch"], "unknown notebook 'nosuch'"),
    (["record", "01_interference", "--profile", "fastest"], "unknown profile 'fastest'"),
    (["run", "97_params", "-p", "speed", "3"], "declares no parameter 'speed'"),
])
def test_nothing_is_announced_before_the_input_is_checked(project_copy, args, message):
    add_notebook(project_copy, "97_params", ["pass"])
    result = run_cli(project_copy, *args)
    assert message in error_line(result)
    assert result.stdout == ""


STAGED_CELLS = [
    "from qlatent.results import ResultStore\nimport pandas as pd\nimport matplotlib\nmatplotlib.use('Agg')\n"
    "import matplotlib.pyplot as plt\n"
    "store = ResultStore('92_staged')\n"
    "(store.path / 'runs').mkdir(parents=True, exist_ok=True)\n"
    "(store.path / 'runs' / f'{label}.txt').write_text(label)\n"
    "store.save_table('scores', pd.DataFrame({'label': [label]}))\n"
    "assert store.load_table('scores')['label'][0] == label  # this execution's table, read back\n"
    "if label == 'extra':\n    store.save_table('extra', pd.DataFrame({'x': [1]}))\n"
    "figure = plt.figure()\nstore.save_figure(f'figure_{label}', figure)\n"
    "store.write_manifest({'label': label})",
    "if should_fail:\n    raise RuntimeError('after saving')",
]


def test_a_failing_notebook_leaves_the_previous_results_untouched(project_copy):
    add_notebook(project_copy, "92_staged", STAGED_CELLS)
    results = project_copy / "data" / "results"
    folder = results / "92_staged"
    assert run_cli(project_copy, "run", "92_staged", "-p", "label", "good").returncode == 0
    before = {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert pd.read_csv(folder / "scores.csv")["label"].tolist() == ["good"]

    failed = run_cli(project_copy, "run", "92_staged", "-p", "label", "bad", "-p", "should_fail", "true")
    assert "RuntimeError: after saving" in error_line(failed)
    after = {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert after.pop(__import__("pathlib").Path("runs/bad.txt")) == b"bad"  # training runs are checkpoints: kept
    assert after == before  # tables, figures and manifest: all the last good execution's
    assert [path.name for path in results.iterdir()] == ["92_staged"]  # no staging folder left behind

    assert run_cli(project_copy, "run", "92_staged", "-p", "label", "extra").returncode == 0
    assert json.loads((folder / "manifest.json").read_text())["tables"] == ["extra", "scores"]
    assert run_cli(project_copy, "run", "92_staged", "-p", "label", "plain").returncode == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parameters"] == {"label": "plain"} and manifest["tables"] == ["scores"]
    assert not (folder / "extra.csv").exists()  # an earlier execution's table is not published beside this one
    assert sorted(path.name for path in (folder / "figures").iterdir()) == ["figure_plain.png"]
    assert sorted(path.name for path in (folder / "runs").iterdir()) == [
        "bad.txt", "extra.txt", "good.txt", "plain.txt"]


def test_kernel_shutdown_sends_no_interrupt(monkeypatch):
    from qlatent.runner.execution import _local_kernel_manager

    manager = _local_kernel_manager()()
    signals = []
    original = type(manager)._async_signal_kernel

    async def spy(self, signum):
        signals.append(signum)
        return await original(self, signum)

    monkeypatch.setattr(type(manager), "_async_signal_kernel", spy)

    async def start_and_stop():
        await manager.start_kernel()
        try:
            assert await manager.is_alive()
        finally:
            await manager.shutdown_kernel()

    asyncio.run(start_and_stop())
    assert signal.SIGINT not in signals  # the interrupt behind "KeyboardInterrupt caught in kernel"
