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
