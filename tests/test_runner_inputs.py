"""What the user hands the runner: parameters read as papermill reads them, every notebook of a book
checked before any runs, and bad files (notebooks, profiles, sweeps, manifests, reported numbers)
refused in one line naming the file."""

from __future__ import annotations

import errno
import json
import sys

import nbformat
import pytest
from conftest import run_cli

from qlatent.readers import BadFileError, load_json, load_yaml, parse_value
from qlatent.runner.errors import RunnerError
from qlatent.runner.execution import check_parameters, declared_parameters, execute
from qlatent.runner.profiles import load_profiles

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def notebook_file(folder, name, parameters, cells=("pass",)):
    """A tiny notebook: a ``parameters`` cell (none when ``parameters`` is None) and ``cells``."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = KERNEL
    if parameters is not None:
        notebook.cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def error_line(result):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# ---------------------------------------------------------------- 6: every notebook checked first


def test_book_checks_every_notebooks_parameters_before_running_any(project_copy):
    notebooks = project_copy / "notebooks"
    notebook_file(notebooks, "90_first", "scale = 1.0")
    notebook_file(notebooks, "91_second", "scale = 1.0")
    (notebooks / "profiles.yml").write_text(
        "quick:\n  notebooks:\n    90_first: {scale: 2.0}\n    91_second: {scael: 2.0}\n")
    line = error_line(run_cli(project_copy, "book"))
    assert "notebook '91_second' declares no parameter 'scael'; it declares: scale" in line
    assert "profile 'quick'" in line
    assert not (project_copy / "book" / "executed" / "90_first.ipynb").exists()  # nothing ran


def test_a_profile_naming_a_missing_notebook_names_the_profile_and_its_file(project_copy):
    notebooks = project_copy / "notebooks"
    notebook_file(notebooks, "90_first", "scale = 1.0")
    (notebooks / "profiles.yml").write_text("quick:\n  notebooks:\n    90_first: {}\n    08_nope: {}\n")
    line = error_line(run_cli(project_copy, "book"))
    assert "unknown notebook '08_nope'" in line
    assert f"(profile 'quick' in {notebooks / 'profiles.yml'})" in line
    assert not (project_copy / "book" / "executed" / "90_first.ipynb").exists()  # nothing ran


def test_book_checks_a_kept_run_of_ones_own_before_running_any(project_copy, monkeypatch):
    from qlatent import cli

    notebooks = project_copy / "notebooks"
    notebook_file(notebooks, "90_first", "scale = 1.0")
    second = notebook_file(notebooks, "91_second", "scale = 1.0")
    (notebooks / "profiles.yml").write_text("quick:\n  notebooks:\n    90_first: {}\n    91_second: {}\n")
    monkeypatch.setenv("QLATENT_ROOT", str(project_copy))
    executed = project_copy / "book" / "executed"
    executed.mkdir(parents=True)
    (executed / "91_second.ipynb").write_text("{}")
    (executed / "91_second.run.json").write_text(json.dumps(
        {"origin": "run", "requested": {"scale": 3.0}, "profile": None}))
    notebook_file(notebooks, "91_second", "size = 1")  # the notebook changed since the user's run
    assert second.is_file()
    ran = []
    monkeypatch.setattr("qlatent.runner.execution.execute", lambda *a, **k: ran.append(a))
    with pytest.raises(RunnerError, match=r"declares no parameter 'scale'.*in your `qlatent run` of 91_second"):
        cli.cmd_book(cli.build_parser().parse_args(["book"]))
    assert ran == []


# ---------------------------------------------------------------- 7: parameters as papermill reads them


@pytest.mark.parametrize(("text", "value"), [
    ("1e-3", 0.001), ("1E5", 100000.0), ("2.5e3", 2500.0), ("1.0e-3", 0.001), ("-.5", -0.5), ("+1e2", 100.0),
    ("3", 3), ("0.5", 0.5), ("true", True), ("None", None), ("null", None), ("[1, 1e-4]", [1, 0.0001]),
    ("fast", "fast"), ("1e", "1e"), ("[oops", "[oops"), ("inf", float("inf")), ("-inf", float("-inf")),
])
def test_command_line_values_are_read_as_papermill_and_yaml_1_2_read_them(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_nan_on_the_command_line_is_a_float():
    parsed = parse_value("nan")
    assert isinstance(parsed, float) and parsed != parsed


def test_numbers_with_exponents_are_numbers_in_profiles_and_sweep_files(tmp_path):
    from qlatent.sweep.spec import load_sweep

    profiles = tmp_path / "profiles.yml"
    profiles.write_text("quick:\n  notebooks:\n    a: {learning_rate: 1e-3, rates: [1e-4, 5E-2], n: 1_000}\n")
    assert load_profiles(profiles)["quick"].notebooks["a"] == {"learning_rate": 0.001, "rates": [0.0001, 0.05],
                                                              "n": 1000}
    sweep = tmp_path / "s.yml"
    sweep.write_text("experiment: sweep_fakes:quadratic\nparameters: {scale: 2e-1}\ngrid: {x: [1e-3, 1]}\n"
                     "seeds: 1\n")
    spec = load_sweep(sweep, output=tmp_path / "out")
    assert spec.task(spec.jobs()[0], tmp_path) == {"scale": 0.2, "x": 0.001, "seed": 0}


def test_annotated_parameters_are_declared_and_typed_by_their_annotation(tmp_path):
    path = notebook_file(tmp_path, "n", "foo: None | str = None\nrate: float = 1e-3\n"
                                         "names: 'list[str] | None' = None\nsizes: Optional[list[int]] = None\n"
                                         "plain = 3")
    declared = declared_parameters("n", path)
    assert list(declared) == ["foo", "rate", "names", "sizes", "plain"]
    assert declared["foo"]["inferred_type_name"] == "None | str" and declared["rate"]["default"] == "1e-3"
    check_parameters("n", path, {"foo": "x", "rate": 2, "names": ["a"], "sizes": [1], "plain": None})
    for parameters, message in [
        ({"foo": 3}, "parameter 'foo' of notebook 'n' expects None | str, got int 3"),
        ({"rate": "fast"}, "parameter 'rate' of notebook 'n' expects float, got str"),
        ({"rate": True}, "expects float, got bool"),
        ({"names": "a"}, "expects 'list\\[str\\] \\| None', got str"),
        ({"sizes": {"a": 1}}, "expects Optional\\[list\\[int\\]\\], got dict"),
        ({"plain": 1.5}, "expects int, got float"),
        ({"bar": 1}, "declares no parameter 'bar'; it declares: foo, rate, names, sizes, plain"),
    ]:
        with pytest.raises(RunnerError, match=message):
            check_parameters("n", path, parameters)


def test_annotated_and_exponent_parameters_run_from_the_command_line(project_copy):
    notebook_file(project_copy / "notebooks", "92_typed", "label: None | str = None\nscale: float = 1.0",
                  ["assert isinstance(scale, float) and scale == 0.001, scale\nassert label == 'hello'"])
    result = run_cli(project_copy, "run", "92_typed", "-p", "label", "hello", "-p", "scale", "1e-3")
    assert result.returncode == 0, result.stderr
    assert "unknown parameter" not in result.stderr
    stamp = json.loads((project_copy / "book" / "executed" / "92_typed.run.json").read_text())
    assert stamp["parameters"] == {"label": "hello", "scale": 0.001}


def test_a_notebook_without_parameters_cell_runs_when_nothing_is_injected(project_copy):
    notebook_file(project_copy / "notebooks", "96_bare", None, ["x = 1"])
    result = run_cli(project_copy, "run", "96_bare")
    assert result.returncode == 0, result.stderr
    assert (project_copy / "book" / "executed" / "96_bare.ipynb").is_file()
    line = error_line(run_cli(project_copy, "run", "96_bare", "-p", "x", "2"))
    assert "notebook '96_bare' has no cell tagged 'parameters', so it takes no parameter; got: x" in line


# ---------------------------------------------------------------- 8: bad files, one line naming them


@pytest.mark.parametrize(("content", "message"), [
    (b'{"cells": [{"cell_type": "code", "source": "x = 1"', r"is not valid JSON at line 1 column \d+: .*truncated"),
    (b"this is not a notebook", r"is not valid JSON at line 1 column 1"),
    (b'{"cells": [], "bad": "\xff"}', r"is not UTF-8 text \(byte 0xff at line 1\)"),
    (b"[1, 2]", r"is not a Jupyter notebook"),
    (b"", r"is not valid JSON at line 1 column 1: .*truncated"),
    (b'{"cells": [{"cell_type": "code", "source": "x = ', r"is not valid JSON at line 1 column \d+: .*truncated"),
    (b'{"cells": [{"cell_type": "code"}]}}', r"is not valid JSON at line 1 column \d+: Extra data$"),
])
def test_a_broken_notebook_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    with pytest.raises(RunnerError, match=f"notebook 'broken'.*{message}") as caught:
        check_parameters("broken", path, {})
    assert "\n" not in str(caught.value)


def test_a_truncated_notebook_on_the_command_line_is_one_line(project_copy):
    good = notebook_file(project_copy / "notebooks", "93_cut", "x = 1").read_bytes()
    (project_copy / "notebooks" / "93_cut.ipynb").write_bytes(good[: len(good) // 2])
    line = error_line(run_cli(project_copy, "run", "93_cut"))
    assert "notebook '93_cut'" in line and "93_cut.ipynb is not valid JSON at line" in line and "truncated" in line


def test_a_parameters_cell_that_is_not_python_is_named(tmp_path):
    path = notebook_file(tmp_path, "n", "x = = 1")
    with pytest.raises(RunnerError, match="the parameters cell of notebook 'n' is not valid Python at line 1"):
        declared_parameters("n", path)


@pytest.mark.parametrize(("text", "message"), [
    ("quick:\n  notebooks: {}\nquick:\n  notebooks: {}\n",
     "repeats the key 'quick' \\(first given at line 1\\) at line 3"),
    ("quick:\n  notebooks:\n    a: {}\n    a: {x: 1}\n", "repeats the key 'a' \\(first given at line 3\\) at line 4"),
    ("quick:\n  notebooks:\n    a: {x: 1, x: 2}\n", "repeats the key 'x' \\(first given at line 3\\) at line 3"),
    ("quick:\n  description: a\n  description: b\n  notebooks: {}\n", "repeats the key 'description'"),
])
def test_a_repeated_key_in_profiles_is_refused(tmp_path, text, message):
    path = tmp_path / "profiles.yml"
    path.write_text(text)
    with pytest.raises(RunnerError, match=f"profiles file {path} {message}"):
        load_profiles(path)


def test_a_yaml_merge_may_override_its_base(tmp_path):
    path = tmp_path / "profiles.yml"
    path.write_text("quick:\n  notebooks:\n    a: &base {x: 1, y: 2}\n    b: {<<: *base, x: 3}\n")
    assert load_profiles(path)["quick"].notebooks["b"] == {"x": 3, "y": 2}


def test_profiles_that_are_not_utf8_or_a_directory_are_one_line(tmp_path):
    path = tmp_path / "profiles.yml"
    path.write_bytes("quick:\n  description: caf\u00e9\n  notebooks: {}\n".encode("latin-1"))
    with pytest.raises(RunnerError, match=rf"profiles file {path} is not UTF-8 text \(byte 0xe9 at line 2\)"):
        load_profiles(path)
    folder = tmp_path / "folder.yml"
    folder.mkdir()
    with pytest.raises(RunnerError, match=rf"profiles file {folder} is a directory, not a file"):
        load_profiles(folder)


def test_bad_profiles_file_on_the_command_line_is_one_line(project_copy):
    profiles = project_copy / "notebooks" / "profiles.yml"
    profiles.unlink()
    profiles.mkdir()
    assert "is a directory, not a file" in error_line(run_cli(project_copy, "book"))
    profiles.rmdir()
    profiles.write_text("quick:\n  notebooks: {}\nquick:\n  notebooks: {}\n")
    assert "repeats the key 'quick'" in error_line(run_cli(project_copy, "profiles"))


@pytest.mark.parametrize(("text", "message"), [
    ("experiment: a\nexperiment: b\n", "sweep file {path} repeats the key 'experiment'"),
    (b"experiment: caf\xe9\n", "sweep file {path} is not UTF-8 text"),
    ("grid: [1\n", "sweep file {path} is not valid YAML at line 2"),
])
def test_bad_sweep_files_are_one_line(tmp_path, text, message):
    from qlatent.sweep.errors import SweepError
    from qlatent.sweep.spec import load_sweep

    path = tmp_path / "s.yml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SweepError, match=message.format(path=path)):
        load_sweep(path)


def test_reported_numbers_file_reads_exponents_and_refuses_repeated_keys(tmp_path, monkeypatch):
    from qlatent import paper

    (tmp_path / "data" / "paper").mkdir(parents=True)
    reported = tmp_path / "data" / "paper" / "reported.yml"
    monkeypatch.setenv("QLATENT_ROOT", str(tmp_path))
    reported.write_text("t:\n  source: s\n  provenance: p\n  n_runs: 5\n  rows:\n"
                        "    - {latent: a, metric: m, value: 1.5e-3, se: 2e-4}\n")
    rows = paper.reported("t")
    assert rows["value"].tolist() == [0.0015] and rows["value_text"].tolist() == ["1.5e-3"]
    reported.write_text("t:\n  source: s\n  source: s2\n")
    with pytest.raises(BadFileError, match=f"reported numbers file {reported} repeats the key 'source'"):
        paper.source("t")


def test_recording_and_results_manifests_that_are_not_json_are_one_line(tmp_path, monkeypatch):
    from qlatent.recording import RecordingError, load_recording, recording_path
    from qlatent.results import ResultStore

    monkeypatch.setenv("QLATENT_ROOT", str(tmp_path))
    monkeypatch.setenv("QLATENT_RESULTS", str(tmp_path / "results"))
    folder = recording_path("04_discrete", "standard")
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"chapter": "04_discrete", ')
    with pytest.raises(RecordingError, match=r"recording manifest .*manifest.json is not valid JSON at line 1 "
                                             r"column \d+: .*truncated"):
        load_recording("04_discrete", "standard")
    store = ResultStore("toy")
    store.path.mkdir(parents=True)
    (store.path / "manifest.json").write_bytes(b"\xff\xfe")
    with pytest.raises(BadFileError, match=r"results manifest .*manifest.json is not UTF-8 text"):
        store.read_manifest()


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 100_000, "nests arrays or objects too deeply to be read"),
    ('{"a": ' + "1" * 5000 + "}", r"cannot be read: Exceeds the limit \(4300 digits\) for integer string conversion"),
])
def test_load_json_refuses_deep_nesting_and_huge_integers_naming_the_file(tmp_path, text, message):
    path = tmp_path / "deep.json"
    path.write_text(text)
    with pytest.raises(BadFileError, match=f"^thing {path} {message}$"):
        load_json(path, "thing")


def test_load_json_and_yaml_name_a_missing_file(tmp_path):
    with pytest.raises(BadFileError, match=f"thing not found: {tmp_path / 'x.json'}"):
        load_json(tmp_path / "x.json", "thing")
    with pytest.raises(BadFileError, match=f"thing not found: {tmp_path / 'x.yml'}"):
        load_yaml(tmp_path / "x.yml", "thing")


def test_a_full_disk_while_saving_the_executed_notebook_is_named_not_a_start_up_failure(project_copy, monkeypatch):
    import papermill.iorw

    notebook_file(project_copy / "notebooks", "95_full", "x = 1")
    monkeypatch.setenv("QLATENT_ROOT", str(project_copy))
    executed = project_copy / "book" / "executed" / "95_full.ipynb"
    executed.parent.mkdir(parents=True)
    executed.write_text("previous good copy")

    def no_space(self, buf, path):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(papermill.iorw.LocalHandler, "write", no_space)
    with pytest.raises(RunnerError, match=r"notebook '95_full': its executed copy could not be written to "
                                          r".*95_full.*: No space left on device; the previous copy") as caught:
        execute("95_full", {})
    assert "start-up" not in str(caught.value)
    assert executed.read_text() == "previous good copy"
    assert not [path for path in executed.parent.iterdir() if ".tmp" in path.name]


def test_a_full_disk_anywhere_in_a_command_is_one_line(monkeypatch, capsys):
    from qlatent import cli

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/x.json")

    monkeypatch.setattr(cli, "cmd_profiles", full)
    assert cli.main(["profiles"]) == 2
    assert capsys.readouterr().err == "qlatent: error: cannot write /data/x.json: No space left on device\n"


def test_book_build_errors_are_shown_without_colour_codes(monkeypatch):
    from qlatent.runner import book

    script = ("import sys; print('\\x1b[01mRunning Sphinx\\x1b[39;49;00m'); "
              "print('\\x1b[91m/p/x.md:3: WARNING: undefined label\\x1b[39;49;00m', file=sys.stderr); sys.exit(1)")
    monkeypatch.setattr(book, "_jupyter_book_command", lambda: [sys.executable, "-c", script])
    with pytest.raises(RunnerError) as caught:
        book.build_book()
    assert "/p/x.md:3: WARNING: undefined label" in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_errors_shown_by_the_command_carry_no_colour_codes(monkeypatch, capsys):
    from qlatent import cli

    def coloured(args):
        raise RunnerError("notebook 'x' failed: \x1b[0;31mValueError\x1b[0m: bad")

    monkeypatch.setattr(cli, "cmd_profiles", coloured)
    assert cli.main(["profiles"]) == 2
    assert capsys.readouterr().err == "qlatent: error: notebook 'x' failed: ValueError: bad\n"


def test_the_list_of_declared_parameters_leaves_out_the_one_users_may_not_set(tmp_path):
    path = notebook_file(tmp_path, "96_profiled", "profile = 'quick'\nscale = 1.0")
    with pytest.raises(RunnerError, match=r"declares no parameter 'scael'; it declares: scale$"):
        check_parameters("96_profiled", path, {"scael": 2.0})
