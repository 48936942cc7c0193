"""The `qlatent` command's wiring: every sub-command reachable from the one entry point."""

import pytest

from qlatent.cli import build_parser, main


def test_subcommands_are_mounted():
    parser = build_parser()
    for argv in (["book"], ["run", "x"], ["profiles"], ["samples", "list"]):
        assert parser.parse_args(argv).command == argv[0]


def test_samples_verify_on_an_empty_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QLATENT_SAMPLES", str(tmp_path))
    assert main(["samples", "verify"]) == 0
    assert "0 sample set(s) verified" in capsys.readouterr().out


def test_profiles_lists_both_profiles(capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert "quick:" in out and "paper:" in out and "01_interference" in out


def test_unknown_subcommand_exits_with_usage():
    with pytest.raises(SystemExit) as exit_info:
        main(["bake"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["samples", "--store", "S", "fetch", "--backend", "local", "--haar", "3", "--n", "0"],
     "argument --n: must be a whole number in [1, 9,223,372,036,854,775,807], got '0' "
     "(`qlatent samples fetch --help` for usage)"),
    (["run"], "the following arguments are required: notebook (`qlatent run --help` for usage)"),
    (["run", "01_interference", "-p", "epochs"],
     "argument -p/--parameter: expected 2 arguments (`qlatent run --help` for usage)"),
    (["sweep", "x.yml", "--workers", "0"],
     "argument --workers: must be a whole number in [1, 100,000], got '0' (`qlatent sweep --help` for usage)"),
    (["sweep"], "the following arguments are required: SWEEP.yml (`qlatent sweep --help` for usage)"),
    (["samples"], "the following arguments are required: {list,show,fetch,verify} "
                  "(`qlatent samples --help` for usage)"),
    (["bake"], "argument command: invalid choice: 'bake'"),
    # argparse reported these from the top level, pointing at `qlatent --help`
    (["samples", "--store", "S", "fetch", "--backend", "local", "--haar", "3", "--n", "5", "--bogus", "1"],
     "unrecognized arguments: --bogus 1 (`qlatent samples fetch --help` for usage)"),
    (["sweep", "x.yml", "extra"], "unrecognized arguments: extra (`qlatent sweep --help` for usage)"),
    # `samples list --help` does not list --store: say where it belongs
    (["samples", "list", "--store", "S"], "unrecognized arguments: --store S; --store is an option of `qlatent "
                                          "samples`: give it before `list` (`qlatent samples list --help` for usage)"),
])
def test_a_usage_error_is_one_line_and_exits_2(capsys, argv, message):
    """argparse prints its usage block before the error; every other error of the command is one line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("qlatent: error: ") and message in err


def test_help_still_prints_the_full_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["samples", "fetch", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and out.startswith("usage: qlatent samples fetch")
    assert "--unitary UNITARY" in out and "--max-memory GB" in out and out.count("\n") > 20


def test_numpy_loads_only_after_the_blas_threads_are_set():
    """``OPENBLAS_NUM_THREADS`` is read once, when NumPy loads: ``main`` sets it, so importing the
    command line must not load NumPy (it did, through the recordings' table reader)."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if not key.endswith("_NUM_THREADS")}
    script = ("import sys, qlatent.cli; assert 'numpy' not in sys.modules, 'numpy loaded at import'; "
              "qlatent.cli.main(['profiles']); import numpy; print(numpy.__name__)")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
