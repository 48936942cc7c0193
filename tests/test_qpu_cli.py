"""``samples list|show|fetch|verify`` mounted on a small argparse root, as qlatent's CLI mounts it."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from qlatent.qpu import SampleStore
from qlatent.qpu.cli import add_subparser


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="qlatent")
    add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_fetch_list_show_verify(tmp_path, capsys):
    store = str(tmp_path)
    assert run("samples", "--store", store, "list") == 0
    assert "no sample sets" in capsys.readouterr().out
    assert run("samples", "--store", store, "fetch", "--backend", "local", "--haar", "4", "--photons", "2",
               "--n", "300", "--seed", "5", "--quiet") == 0
    request_id = capsys.readouterr().out.split()[0]
    assert SampleStore(store).ids() == [request_id]
    unitary = tmp_path / "splitter.npy"
    np.save(unitary, np.array([[1, 1], [1, -1]]) / np.sqrt(2))
    assert run("samples", "--store", store, "fetch", "--backend", "local", "--unitary", str(unitary),
               "--input", "1,1", "--n", "100", "--detection", "threshold", "--quiet") == 0
    capsys.readouterr()
    assert run("samples", "--store", store, "list") == 0
    listing = capsys.readouterr().out
    assert request_id[:12] in listing and listing.count("local") == 2 and "threshold" in listing
    assert run("samples", "--store", store, "show", request_id[:10]) == 0
    shown = capsys.readouterr().out
    assert f'"request_id": "{request_id}"' in shown and "photons detected per shot" in shown
    assert "4x4 matrix, sha256" in shown
    assert run("samples", "--store", store, "verify") == 0
    assert "ok: 2 sample set(s) verified" in capsys.readouterr().out


def test_verify_fails_on_a_corrupted_file(tmp_path, capsys):
    store = str(tmp_path)
    run("samples", "--store", store, "fetch", "--backend", "local", "--haar", "3", "--n", "50", "--seed", "1",
        "--quiet")
    request_id = capsys.readouterr().out.split()[0]
    npz_path = tmp_path / f"{request_id}.npz"
    npz_path.write_bytes(npz_path.read_bytes()[:-20])
    assert run("samples", "--store", store, "verify") == 1
    out = capsys.readouterr().out
    assert f"FAIL {request_id}.json" in out and npz_path.name in out and "1 problem file(s)" in out
    assert run("samples", "--store", store, "show", request_id[:8]) == 1
    assert "unreadable counts file" in capsys.readouterr().err


def test_verify_passes_on_a_store_holding_a_time_bin_set(tmp_path, capsys):
    from qlatent.photonics.timebin import random_timebin_interferometer
    from qlatent.qpu import SampleRequest, get_or_sample

    store = SampleStore(tmp_path)
    loops = random_timebin_interferometer(6, [1, 2], seed=0)  # its unitary holds signed zeros
    request = SampleRequest("local", loops, (1, 0, 1, 0, 1, 0), 40, seed=2)
    get_or_sample(request, store, progress=False)
    assert run("samples", "--store", str(tmp_path), "verify") == 0
    assert "ok: 1 sample set(s) verified" in capsys.readouterr().out


def test_verify_names_the_hash_of_an_edited_request(tmp_path, capsys):
    import json

    store = str(tmp_path)
    run("samples", "--store", store, "fetch", "--backend", "local", "--haar", "3", "--n", "50", "--seed", "1",
        "--quiet")
    request_id = capsys.readouterr().out.split()[0]
    json_path = tmp_path / f"{request_id}.json"
    provenance = json.loads(json_path.read_text())
    provenance["request"]["seed"] = 2
    json_path.write_text(json.dumps(provenance))
    assert run("samples", "--store", store, "verify") == 1
    out = capsys.readouterr().out
    assert "does not hash to the file name (it hashes to" in out and "delete both files and sample again" in out


def test_cli_errors_are_reported_not_raised(tmp_path, capsys):
    store = str(tmp_path)
    assert run("samples", "--store", store, "show", "abc") == 1
    assert "no sample set" in capsys.readouterr().err
    assert run("samples", "--store", store, "fetch", "--backend", "nowhere", "--haar", "3", "--n", "5",
               "--quiet") == 1
    assert "unknown backend 'nowhere'" in capsys.readouterr().err
    assert run("samples", "--store", store, "fetch", "--backend", "local", "--haar", "3", "--input", "1,1",
               "--n", "5", "--quiet") == 1
    assert "input state has 2 modes but the interferometer has 3" in capsys.readouterr().err


def test_fetch_remote_without_token_says_where_to_put_one(tmp_path, capsys, monkeypatch):
    from qlatent.qpu.backends import perceval_remote

    monkeypatch.delenv("QLATENT_QPU_TOKEN", raising=False)
    monkeypatch.setattr(perceval_remote, "_saved_perceval_token", lambda: None)
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "remote:sim:slos", "--haar", "3",
               "--n", "5", "--url", "http://127.0.0.1:9", "--quiet") == 1
    assert "no cloud token" in capsys.readouterr().err


def test_samples_needs_a_subcommand():
    with pytest.raises(SystemExit):
        run("samples")


def test_fetch_with_postselection(tmp_path, capsys):
    args = ["fetch", "--backend", "local", "--haar", "4", "--photons", "3", "--n", "300", "--seed", "2",
            "--transmission", "0.7", "--min-detected", "2", "--quiet"]
    assert run("samples", "--store", str(tmp_path), *args) == 0
    sample_set = SampleStore(tmp_path).load(capsys.readouterr().out.split()[0])
    assert sample_set.counts.sum(axis=1).min() >= 2
    assert 0.5 < sample_set.provenance["backend"]["postselection"]["acceptance"] < 1
    assert run("samples", "--store", str(tmp_path), *args[:-2], "4", "--quiet") == 1
    assert "min_detected=4 exceeds the 3 photons" in capsys.readouterr().err
