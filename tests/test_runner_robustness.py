"""The runner survives dying kernels, Ctrl-C, killed runs and a second run of the same notebook.

Every test uses tiny notebooks written here (nbformat), never the book's chapters. A notebook that
must be caught in the middle of a cell writes a marker file (its kernel's process id) and sleeps;
the test waits for the marker, not for a time.
"""

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pandas as pd
import pytest
from conftest import project_env, run_cli

from qlatent.runner import execution
from qlatent.runner.errors import KernelDied

DYING = ("import os, signal\n"
         "if how == 'exit':\n    os._exit(3)\n"
         "elif how == 'kill':\n    os.kill(os.getpid(), signal.SIGKILL)\n"
         "elif how == 'abort':\n    os.abort()  # what a crash in C code (a segfault) looks like from outside")

STORE = ("import os, time\nimport pandas as pd\nfrom qlatent.results import ResultStore\n"
         "store = ResultStore(name)\n"
         "store.save_table('scores', pd.DataFrame({'label': [label]}))\n"
         "store.write_manifest({'label': label})")
WAIT = ("if marker:\n"
        "    with open(marker, 'w') as handle:\n        handle.write(str(os.getpid()))\n"
        "    time.sleep(600)")


def add_notebook(root, name, parameters, cells):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, root / "notebooks" / f"{name}.ipynb")


def add_slow_notebook(root, name):
    """Saves a table labelled ``label`` (staged), then, given a ``marker`` path, writes it and sleeps."""
    add_notebook(root, name, f"name = {name!r}\nlabel = 'good'\nmarker = ''", [STORE, WAIT])


def one_line(result, status):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == status, result.stdout + result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def snapshot(root, name):
    """Bytes of the executed copy, its stamp and every published result file of ``name``."""
    files = [root / "book" / "executed" / f"{name}.ipynb", root / "book" / "executed" / f"{name}.run.json"]
    folder = root / "data" / "results" / name
    files += sorted(path for path in folder.rglob("*") if path.is_file())
    return {str(path.relative_to(root)): path.read_bytes() for path in files}


def hidden_leftovers(root):
    """Partial copies, staging folders and sockets a run may leave where it must not."""
    return ([path.name for path in (root / "book" / "executed").iterdir() if path.name.startswith(".")]
            + [path.name for path in (root / "data" / "results").iterdir() if path.name.startswith(".")]
            + [path.name for path in root.iterdir() if path.name.startswith("kernel")])


def start_run(root, *args):
    return subprocess.Popen([sys.executable, "-m", "qlatent", "run", *args], cwd=root, env=project_env(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(marker, process, deadline_s=300):
    """The kernel's process id, once the notebook wrote ``marker`` (fails if the run ended first)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if marker.is_file() and marker.read_text():
            return int(marker.read_text())
        if process.poll() is not None:
            pytest.fail(f"the run ended before reaching its sleeping cell: {process.communicate()}")
        time.sleep(0.05)
    pytest.fail("the notebook never reached its sleeping cell")


def good_run_then_sleeping(root, label):
    """A good run of ``91_slow`` (its snapshot), then a run labelled ``label`` held in its sleeping cell:
    ``(good snapshot, process, kernel pid)``."""
    add_slow_notebook(root, "91_slow")
    assert run_cli(root, "run", "91_slow").returncode == 0
    good = snapshot(root, "91_slow")
    marker = root / "sleeping"
    process = start_run(root, "91_slow", "-p", "label", label, "-p", "marker", str(marker))
    try:
        kernel = wait_for(marker, process)
    except BaseException:
        process.kill()
        raise
    return good, process, kernel


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def dying_project(tmp_path_factory):
    """A project whose notebook ran well once; its kernel can be made to die three ways."""
    from conftest import copy_project

    root = copy_project(tmp_path_factory.mktemp("project"))
    add_notebook(root, "91_dies", "how = 'no'", ["print('before')", DYING])
    assert run_cli(root, "run", "91_dies").returncode == 0
    return root, snapshot(root, "91_dies")


@pytest.mark.parametrize(("how", "status"), [("exit", "exit status 3"), ("kill", "killed by SIGKILL"),
                                             ("abort", "killed by SIGABRT")])
def test_a_dying_kernel_fails_the_run_at_once_in_one_line(dying_project, how, status):
    root, good = dying_project
    died = run_cli(root, "run", "91_dies", "-p", "how", how, timeout=120)  # hung forever before
    line = one_line(died, 2)
    assert line.startswith(f"qlatent: error: notebook '91_dies': kernel died in cell 3 ({status})"), line
    assert snapshot(root, "91_dies") == good  # the last good executed copy and stamp
    assert (root / "_build" / "failed" / "91_dies.ipynb").is_file()
    assert hidden_leftovers(root) == []


def test_a_cell_keeps_its_number_with_or_without_injected_parameters(project_copy):
    """Papermill inserts a cell after the parameters when given -p; the message counts the notebook's own cells."""
    root = project_copy
    add_notebook(root, "91_fails", "fail = True", ["print('before')", "if fail:\n    raise ValueError('no')"])
    plain = one_line(run_cli(root, "run", "91_fails"), 2)
    injected = one_line(run_cli(root, "run", "91_fails", "-p", "fail", "true"), 2)
    for line in (plain, injected):
        assert "notebook '91_fails' failed in cell 3 at line 2" in line, line


def test_kernel_died_names_the_cell_and_how_it_ended():
    assert str(KernelDied("nb", 4, -9)) == "notebook 'nb': kernel died in cell 5 (killed by SIGKILL)"  # from 1
    assert str(KernelDied("nb", None, 1, "f.ipynb")) == "notebook 'nb': kernel died in start-up (exit status 1) " \
                                                         "(failed copy: f.ipynb)"


def test_ctrl_c_stops_the_run_at_once_and_keeps_the_last_good_results(project_copy):
    root = project_copy
    good, process, kernel = good_run_then_sleeping(root, "interrupted")
    try:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)  # the first press was ignored for as long as the cell ran
    finally:
        process.kill()
    lines = err.strip().splitlines()
    assert process.returncode == 130, out + err
    assert lines == [("qlatent: notebook '91_slow' interrupted in cell 3; its previous executed copy and results "
                      "are kept")], err
    assert gone(kernel)  # the kernel does not outlive the run
    assert snapshot(root, "91_slow") == good
    assert hidden_leftovers(root) == []


def test_a_killed_run_leaves_nothing_in_the_books_sources_and_its_leftovers_are_removed(project_copy):
    root = project_copy
    good, process, _ = good_run_then_sleeping(root, "killed")
    process.kill()  # SIGKILL: no clean-up runs in the runner
    process.communicate()
    assert not [path.name for path in (root / "book" / "executed").iterdir() if path.name.startswith(".")]
    assert snapshot(root, "91_slow") == good  # its staged table was never published
    # The next run of the same parameters is current (the results are the stamped ones): skipped.
    assert "skipped" in run_cli(root, "run", "91_slow").stdout
    # An execution of the notebook removes what the killed one left (scratch copy, staged results).
    assert run_cli(root, "run", "91_slow", "-p", "label", "next").returncode == 0
    assert hidden_leftovers(root) == []
    assert list((root / "_build" / "executing").iterdir()) == []


def test_a_second_run_of_the_same_notebook_is_refused_naming_the_first_and_others_run_alongside(project_copy):
    root = project_copy
    add_slow_notebook(root, "91_slow")
    add_notebook(root, "91_other", "x = 1", ["print(x)"])
    marker = root / "sleeping"
    process = start_run(root, "91_slow", "-p", "marker", str(marker))
    try:
        wait_for(marker, process)
        refused = run_cli(root, "run", "91_slow", timeout=120)
        line = one_line(refused, 2)
        assert (f"notebook '91_slow' is being executed by `qlatent run 91_slow -p marker {marker}` "
                f"(process {process.pid}, started ") in line, line
        alongside = run_cli(root, "run", "91_other", timeout=120)  # its own kernel sockets: no collision
        assert alongside.returncode == 0, alongside.stderr
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert not (root / "book" / "executed" / "91_slow.ipynb").exists()
    assert hidden_leftovers(root) == []


def test_each_kernel_gets_private_sockets_outside_the_working_directory():
    manager_class = execution._local_kernel_manager()
    first, second = manager_class(), manager_class()
    try:
        for manager in (first, second):
            assert manager.transport == "ipc"
            assert os.path.isabs(manager.ip) and os.path.dirname(manager.ip) == str(manager.private_dir)
            assert os.path.dirname(manager.connection_file) == str(manager.private_dir)
        assert first.private_dir != second.private_dir
    finally:
        first.kill_now()
        second.kill_now()
    assert not first.private_dir.exists() and not second.private_dir.exists()


@pytest.fixture
def in_process(project_copy, monkeypatch):
    """Execute in this process against the project copy (so a step of ``execute`` can be made to fail)."""
    for key in [key for key in os.environ if key.startswith("QLATENT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("QLATENT_ROOT", str(project_copy))
    add_slow_notebook(project_copy, "91_slow")
    return project_copy


def scores(root):
    return pd.read_csv(root / "data" / "results" / "91_slow" / "scores.csv")["label"].tolist()


def test_results_changed_after_the_run_are_not_trusted_to_skip(in_process):
    from qlatent.results import ResultStore

    assert execution.execute("91_slow", {"label": "good"}).status == "executed"
    assert execution.execute("91_slow", {"label": "good"}).status == "skipped"
    # Something else writes the results in place: the notebook run by hand in Jupyter, an older qlatent.
    ResultStore("91_slow").save_table("scores", pd.DataFrame({"label": ["elsewhere"]}))
    assert execution.execute("91_slow", {"label": "good"}).status == "executed"
    assert scores(in_process) == ["good"]


def test_a_run_killed_while_publishing_is_never_taken_as_current(in_process, monkeypatch):
    assert execution.execute("91_slow", {"label": "good"}).status == "executed"

    def killed(partial, output):
        raise SystemExit("killed after publishing, before the executed copy and stamp were replaced")

    with monkeypatch.context() as patch:
        patch.setattr(execution, "_move_into_place", killed)
        with pytest.raises(SystemExit):
            execution.execute("91_slow", {"label": "half"})
    assert scores(in_process) == ["half"]  # published by the killed run
    assert execution.execute("91_slow", {"label": "good"}).status == "executed"
    assert scores(in_process) == ["good"]
    stamp = json.loads((in_process / "book" / "executed" / "91_slow.run.json").read_text())
    assert list(stamp["results"]) == ["91_slow/manifest.json", "91_slow/scores.csv"]


def test_stop_on_interrupt_stops_first_then_raises_and_restores_the_handler():
    from qlatent.interrupts import stop_on_interrupt

    before = signal.getsignal(signal.SIGINT)
    stopped = []
    with pytest.raises(KeyboardInterrupt), stop_on_interrupt(lambda: stopped.append(True)):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # not reached: the handler raises as soon as the signal arrives
    assert stopped == [True]
    assert signal.getsignal(signal.SIGINT) is before


def test_an_executed_copy_names_no_path_of_the_machine_that_ran_it(project_copy):
    """Readers download the executed copies from the book's pages: papermill's absolute input and
    output paths (the latter a scratch file) are replaced by project-relative ones."""
    root = project_copy
    add_notebook(root, "91_plain", "x = 1", ["print(x)"])
    assert run_cli(root, "run", "91_plain").returncode == 0
    executed = root / "book" / "executed" / "91_plain.ipynb"
    recorded = json.loads(executed.read_text())["metadata"]["papermill"]
    assert (recorded["input_path"], recorded["output_path"]) == ("notebooks/91_plain.ipynb",
                                                                 "book/executed/91_plain.ipynb")
    assert str(root) not in executed.read_text()



def test_the_cell_papermill_injects_with_the_parameters_is_collapsed_for_readers(project_copy):
    root = project_copy
    add_notebook(root, "91_plain", "x = 1", ["print(x)"])
    assert run_cli(root, "run", "91_plain", "-p", "x", "2").returncode == 0
    cells = json.loads((root / "book" / "executed" / "91_plain.ipynb").read_text())["cells"]
    injected = [cell for cell in cells if "injected-parameters" in cell["metadata"].get("tags", [])]
    assert len(injected) == 1 and "hide-input" in injected[0]["metadata"]["tags"]

def test_a_notebook_named_like_a_chapter_but_elsewhere_is_refused(project_copy, tmp_path):
    root = project_copy
    add_notebook(root, "91_plain", "x = 1", ["print(x)"])
    elsewhere = tmp_path / "mine"
    elsewhere.mkdir()
    impostor = elsewhere / "91_plain.ipynb"
    impostor.write_bytes((root / "notebooks" / "91_plain.ipynb").read_bytes())
    line = one_line(run_cli(root, "run", str(impostor)), 2)
    assert line == (f"qlatent: error: {impostor} is named like the book's notebook '91_plain' "
                    f"({root / 'notebooks' / '91_plain.ipynb'}) and would replace its executed copy; rename it")
    assert not (root / "book" / "executed" / "91_plain.ipynb").exists()
    assert run_cli(root, "run", str(root / "notebooks" / "91_plain.ipynb")).returncode == 0  # the chapter itself


def test_private_kernel_folders_of_dead_runners_are_removed(tmp_path, monkeypatch):
    """A runner killed by SIGKILL cannot remove its kernel's folder; the next kernel started removes it."""
    monkeypatch.setattr(execution.tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f"{execution.KERNEL_DIR_PREFIX}{dead.pid}-abcd1234"
    alive = tmp_path / f"{execution.KERNEL_DIR_PREFIX}{os.getppid()}-abcd1234"
    foreign = tmp_path / f"{execution.KERNEL_DIR_PREFIX}notapid"
    for folder in (orphan, alive, foreign):
        folder.mkdir()
    manager = execution._local_kernel_manager()()
    try:
        assert not orphan.exists() and alive.is_dir() and foreign.is_dir()
        assert manager.private_dir.parent == tmp_path
        assert manager.private_dir.name.startswith(f"{execution.KERNEL_DIR_PREFIX}{os.getpid()}-")
    finally:
        manager.kill_now()


def test_a_notebook_without_cell_ids_runs_without_warnings(project_copy):
    """Notebooks written by other tools may lack nbformat 4.5's cell ids; nbformat fills them in, quietly."""
    root = project_copy
    cells = [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "x = 1", "outputs": [],
              "execution_count": None},
             {"cell_type": "code", "metadata": {}, "source": "print(x)", "outputs": [], "execution_count": None}]
    notebook = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    (root / "notebooks" / "91_noid.ipynb").write_text(json.dumps(notebook))
    for args in ((), ("-p", "x", "2")):
        result = run_cli(root, "run", "91_noid", *args)
        assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr
    cells[1]["source"] = "import os\nos._exit(1)"
    (root / "notebooks" / "91_noid.ipynb").write_text(json.dumps(notebook))
    assert one_line(run_cli(root, "run", "91_noid", "-p", "x", "3"), 2).startswith(
        "qlatent: error: notebook '91_noid': kernel died in cell 2")
