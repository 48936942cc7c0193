"""``samples list|show|fetch|verify`` mounted on a small argparse root, as qlatent's CLI mounts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qlatent.cli import OneLineParser
from qlatent.qpu import SampleStore
from qlatent.qpu.cli import add_subparser


def run(*argv: str) -> int:
    parser = OneLineParser(prog="qlatent")
    add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def status_and_error(capsys, *argv: str) -> tuple[int, str]:
    """Exit status and stderr of ``run(*argv)``, a usage error (SystemExit) included."""
    try:
        status = run(*argv)
    except SystemExit as exit_info:
        status = exit_info.code
    return status, capsys.readouterr().err


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
    assert run("samples", "--store", store, "show", request_id[:8]) == 2
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
    assert run("samples", "--store", store, "show", "abc") == 2
    assert "no sample set" in capsys.readouterr().err
    assert run("samples", "--store", store, "fetch", "--backend", "nowhere", "--haar", "3", "--n", "5",
               "--quiet") == 2
    assert "unknown backend 'nowhere'" in capsys.readouterr().err
    assert run("samples", "--store", store, "fetch", "--backend", "local", "--haar", "3", "--input", "1,1",
               "--n", "5", "--quiet") == 2
    assert "--input 1,1: input state has 2 modes but the interferometer has 3" in capsys.readouterr().err


def test_fetch_remote_without_token_says_where_to_put_one(tmp_path, capsys, monkeypatch):
    from qlatent.qpu.backends import perceval_remote

    monkeypatch.delenv("QLATENT_QPU_TOKEN", raising=False)
    monkeypatch.setattr(perceval_remote, "_saved_perceval_token", lambda: None)
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "remote:sim:slos", "--haar", "3",
               "--n", "5", "--url", "http://127.0.0.1:9", "--quiet") == 2
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
    assert run("samples", "--store", str(tmp_path), *args[:-2], "4", "--quiet") == 2
    assert "min_detected=4 exceeds the 3 photons" in capsys.readouterr().err


def _fetch(store, *extra):
    assert run("samples", "--store", str(store), "fetch", "--backend", "local", "--haar", "3", "--n", "50",
               "--seed", "1", "--quiet", *extra) == 0


def test_show_and_fetch_refuse_an_edited_sidecar(tmp_path, capsys):
    _fetch(tmp_path)
    request_id = capsys.readouterr().out.split()[0]
    json_path = tmp_path / f"{request_id}.json"
    provenance = json.loads(json_path.read_text())
    provenance["request"]["seed"] = 2
    json_path.write_text(json.dumps(provenance))
    assert run("samples", "--store", str(tmp_path), "show", request_id[:8]) == 2
    assert "the recorded request does not hash to the file name" in capsys.readouterr().err
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", "3", "--n", "50",
               "--seed", "1", "--quiet") == 2
    assert "does not hash to the file name" in capsys.readouterr().err


def test_list_shows_the_good_sets_and_one_line_for_a_bad_sidecar(tmp_path, capsys):
    _fetch(tmp_path)
    good = capsys.readouterr().out.split()[0]
    _fetch(tmp_path, "--transmission", "0.5")
    bad = capsys.readouterr().out.split()[0]
    (tmp_path / f"{bad}.json").write_text('{"counts": ')
    assert run("samples", "--store", str(tmp_path), "list") == 1
    out, err = capsys.readouterr()
    assert good[:12] in out and bad[:12] not in out
    assert err.count("\n") == 1 and err.startswith(f"FAIL {tmp_path / bad}.json: unreadable provenance")


def test_verify_of_a_store_that_does_not_exist_fails(tmp_path, capsys):
    assert run("samples", "--store", str(tmp_path / "nowhere"), "verify") == 2
    out, err = capsys.readouterr()
    assert "ok" not in out and f"error: no sample store at {tmp_path / 'nowhere'}" in err


def test_an_unknown_recorded_set_is_one_line(tmp_path, capsys):
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "recorded:nothere", "--haar", "3",
               "--n", "5", "--quiet") == 2
    assert capsys.readouterr().err == (f"qlatent: error: recorded:nothere: no such file, and no sample set in "
                                       f"{tmp_path} with an id starting with 'nothere'\n")


def test_huge_requests_are_refused_with_the_estimate_and_the_option_to_raise(tmp_path, capsys):
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", "4", "--photons", "2",
               "--n", "1e9", "--seed", "1", "--max-memory", "2", "--quiet") == 2
    err = capsys.readouterr().err
    assert "refusing to sample 1,000,000,000 shots" in err and "about 11.2 GiB of memory" in err
    assert "--max-memory GB" in err and list(tmp_path.glob("*.shards")) == []
    assert list(tmp_path.glob(".*.lock")) == []  # the refusal took the lock first and left its file
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", "4", "--photons", "2",
               "--n", "2e3", "--seed", "1", "--max-hours", "0.5") == 0
    out, err = capsys.readouterr()
    assert "2000 shots x 4 modes" in out and "sampling 2,000 shots on local: about" in err


def test_a_fetch_checks_and_estimates_a_request_once(tmp_path, capsys, monkeypatch):
    # the command line printed its estimate after checking the request itself, then get_or_sample checked again
    import qlatent.qpu.limits as limits
    from qlatent.qpu.backends.local import LocalBackend

    calls = {"check": 0, "estimate": 0}
    check, estimate = LocalBackend.check, limits.estimate_sampling

    def counted_check(self, request):
        calls["check"] += 1
        return check(self, request)

    def counted_estimate(request, backend=None):
        calls["estimate"] += 1
        return estimate(request, backend)

    monkeypatch.setattr(LocalBackend, "check", counted_check)
    monkeypatch.setattr(limits, "estimate_sampling", counted_estimate)
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", "4", "--photons", "2",
               "--n", "100", "--seed", "1") == 0
    assert calls == {"check": 1, "estimate": 1} and "sampling 100 shots on local" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "message"), [
    ("1.5", "must be a whole number in [1, 9,223,372,036,854,775,807], got '1.5'"),
    ("0", "got '0'"), ("many", "got 'many'"), ("-5", "got '-5'"), ("1e-3", "got '1e-3'"), ("nan", "got 'nan'"),
    ("1_0", "got '1_0'"),
    ("1e400", "got '1e400'"),  # OverflowError before
    ("1e20", "got '1e20'"),  # MemoryError before
    ("99999999999999999999999999", "got '99999999999999999999999999'")])
def test_the_number_of_shots_must_be_whole_and_positive(tmp_path, capsys, value, message):
    with pytest.raises(SystemExit):
        run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", "3", "--n", value)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("backend", "option", "message"), [
    ("local", ["--job-timeout", "10"], "--job-timeout applies to remote:<platform> backends only"),
    ("local", ["--token", "secret"], "--token applies to remote:<platform> backends only"),
    ("remote:qpu:belenos", ["--executor", "ray"], "--executor applies to the local backend only"),
    ("perceval:SLOS", ["--workers", "2"], "--workers applies to the local backend only"),
    ("local", ["--max-jobs", "3"], "--max-jobs applies to remote:<platform> backends only"),
    ("remote:sim:slos", ["--seed", "5"], "--seed applies to the local and perceval:<backend> backends only"),
    # these were ignored: --workers and --address without the executor they configure
    ("local", ["--workers", "99"],
     "--workers needs --executor local or --executor ray (it sets their number of workers)"),
    ("local", ["--executor", "serial", "--workers", "3"],
     "--workers needs --executor local or --executor ray (it sets their number of workers)"),
    ("local", ["--executor", "local", "--address", "auto"],
     "--address needs --executor ray (it names the Ray cluster to join)")])
def test_an_option_the_backend_would_ignore_is_refused_stored_or_not(tmp_path, capsys, backend, option, message):
    fetch = ["samples", "--store", str(tmp_path), "fetch", "--haar", "3", "--n", "5", "--quiet"]
    fetch += [] if "--seed" in option or backend.startswith("remote") else ["--seed", "1"]
    assert run(*fetch, "--backend", backend, *option) == 2  # before any network or sampling
    assert capsys.readouterr().err == f"qlatent: error: {message}\n"
    if backend == "local":  # a stored set exited 0 with the option ignored
        assert run(*fetch, "--backend", "local") == 0
        assert run(*fetch, "--backend", "local", *option) == 2


def _shard_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("shard-*.npz")) if folder.is_dir() else []


def test_ctrl_c_stops_a_local_fetch_in_one_line_keeping_its_shards(tmp_path):
    """SIGINT to ``qlatent samples fetch``: exit 130, one line saying what was kept, shards kept for resume."""
    from qlatent.photonics.interferometers import haar_interferometer
    from qlatent.qpu import SampleRequest
    from qlatent.qpu.backends.local import SHARD_SIZE, sample_shard
    from qlatent.qpu.shards import ShardFolder

    repo = Path(__file__).resolve().parent.parent
    n_shots = 3_000 * SHARD_SIZE  # minutes of shards: the signal comes long before the end
    command = [sys.executable, "-m", "qlatent", "samples", "--store", str(tmp_path), "fetch", "--backend", "local",
               "--haar", "8", "--photons", "4", "--n", str(n_shots), "--seed", "3", "--executor", "serial", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(repo), "OPENBLAS_NUM_THREADS": "1"}
    env.setdefault("NUMBA_CACHE_DIR", str(repo / ".cache" / "numba"))
    request = SampleRequest("local", haar_interferometer(8, seed=0), (1,) * 4 + (0,) * 4, n_shots, seed=3)
    folder = ShardFolder(SampleStore(tmp_path), request)
    process = subprocess.Popen(command, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while len(_shard_files(folder.path)) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "Traceback" not in err and err.count("\n") == 1
    kept = _shard_files(folder.path)
    assert err == f"interrupted: {len(kept)} finished shard(s) kept in {folder.path}; the same command resumes\n"
    assert len(kept) >= 2 and out == ""
    entropy = int(folder.plan()["entropy"])
    for path in kept[:2]:  # kept shards are the bank's own, and load as finished for the resume
        index = int(path.stem.split("-")[1])
        np.testing.assert_array_equal(folder.load(index), sample_shard(request, index, entropy))


@pytest.mark.parametrize(("option", "message"), [
    (["--photons", "5"], "--photons 5 must be between 0 and the circuit's 4 modes"),
    (["--input", "1,1,a,0"], "--input must be photon numbers separated by commas (e.g. 1,1,0,0), got '1,1,a,0'"),
])
def test_fetch_names_the_option_of_a_bad_input_state(tmp_path, capsys, option, message):
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", "4", "--n", "5",
               "--quiet", *option) == 2
    assert message in capsys.readouterr().err


def _recorded_pair(folder: Path, line: str) -> Path:
    identity = np.eye(3).tolist()
    (folder / "pt.json").write_text(json.dumps({
        "format": "qlatent.shots/1", "input_state": [1, 1, 1], "detection": "pnr",
        "circuit": {"kind": "matrix", "real": identity, "imag": np.zeros((3, 3)).tolist()}}))
    (folder / "pt.csv").write_text(f"1,1,1\n{line}\n")
    return folder / "pt.json"


@pytest.mark.parametrize(("line", "message"), [
    ("99999999999999999999999,0,0", "line 2: a count of 99999999999999999999999 photons, more than the 3 sent in"),
    ("1_0,0,0", "line 2: expected comma-separated integers (digits only), got '1_0'"),
    ("+1,0,0", "line 2: expected comma-separated integers (digits only), got '+1'"),
])
def test_fetch_of_a_malformed_recorded_file_is_one_line_naming_the_file_and_line(tmp_path, capsys, line, message):
    path = _recorded_pair(tmp_path, line)
    np.save(tmp_path / "identity.npy", np.eye(3))  # the recorded circuit: the shots are read for this request
    status, err = status_and_error(capsys, "samples", "--store", str(tmp_path / "store"), "fetch", "--backend",
                                   f"recorded:{path}", "--unitary", str(tmp_path / "identity.npy"), "--photons", "3",
                                   "--n", "1", "--quiet")
    assert status == 2 and err.count("\n") == 1 and err.startswith(f"qlatent: error: {tmp_path / 'pt.csv'}, {message}")


def _saved(path: Path, value) -> Path:
    np.save(path, value)
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: _saved(d / "scalar.npy", np.float64(1)), "must be a square 2-D array (m x m, m >= 1), got shape ()"),
    (lambda d: _saved(d / "row.npy", np.ones(3)), "must be a square 2-D array (m x m, m >= 1), got shape (3,)"),
    (lambda d: _saved(d / "wide.npy", np.ones((2, 3))), "got shape (2, 3)"),
    (lambda d: _saved(d / "empty.npy", np.ones((0, 0))), "got shape (0, 0)"),
    (lambda d: _saved(d / "cube.npy", np.ones((2, 2, 2))), "got shape (2, 2, 2)"),
    (lambda d: _saved(d / "flags.npy", np.eye(2, dtype=bool)), "must be numeric, got dtype bool"),
    (lambda d: _saved(d / "gain.npy", 2 * np.eye(2)),
     "transfer matrix is not sub-unitary: largest singular value 2 > 1"),
    (lambda d: (np.savez(d / "pair.npz", unitary=np.eye(2)), d / "pair.npz")[1],
     "a .npz archive, not a .npy matrix (save the m x m matrix alone with numpy.save)"),
    (lambda d: (d / "text.npy").write_text("[[1, 0], [0, 1]]") and d / "text.npy", "not a .npy file holding a matrix"),
    (lambda d: d / "missing.npy", "no such file"),
])
def test_a_bad_unitary_file_is_one_line_naming_the_option_and_the_file(tmp_path, capsys, make, message):
    path = make(tmp_path)
    status, err = status_and_error(capsys, "samples", "--store", str(tmp_path / "store"), "fetch", "--backend",
                                   "local", "--unitary", str(path), "--photons", "1", "--n", "5", "--quiet")
    assert status == 2 and err.count("\n") == 1 and err.startswith(f"qlatent: error: --unitary {path}: ")
    assert message in err and not (tmp_path / "store").exists()


def test_a_usage_error_is_one_line(tmp_path, capsys):
    status, err = status_and_error(capsys, "samples", "--store", str(tmp_path), "fetch", "--backend", "local",
                                   "--haar", "3", "--n", "0")
    assert status == 2 and err == ("qlatent: error: argument --n: must be a whole number in [1, "
                                   "9,223,372,036,854,775,807], got '0' (`qlatent samples fetch --help` for usage)\n")


@pytest.mark.parametrize("options", [[], ["--store", "{nowhere}"]])
def test_list_and_verify_of_a_named_store_that_does_not_exist_are_one_error(tmp_path, capsys, monkeypatch, options):
    """A typo in --store (or $QLATENT_SAMPLES) must not read as an empty store, for list as for verify."""
    nowhere = tmp_path / "nowhere"
    monkeypatch.setenv("QLATENT_SAMPLES", str(nowhere))
    named = "--store" if options else "$QLATENT_SAMPLES"
    for command in ("list", "verify", "show"):
        argv = [option.format(nowhere=nowhere) for option in options] + [command]
        argv += ["abc"] if command == "show" else []
        status, err = status_and_error(capsys, "samples", *argv)
        assert status == 2, command
        assert err == f"qlatent: error: no sample store at {nowhere} ({named} names a folder that does not exist)\n"
    assert not nowhere.exists()


def test_list_and_verify_of_a_default_store_not_created_yet_agree(tmp_path, capsys, monkeypatch):
    import qlatent.qpu.store as store_module

    monkeypatch.delenv("QLATENT_SAMPLES", raising=False)
    monkeypatch.setattr(store_module, "default_store_root", lambda: tmp_path / "samples")
    assert run("samples", "list") == 0
    assert capsys.readouterr().out.startswith(f"no sample sets in {tmp_path / 'samples'} (the default store")
    assert run("samples", "verify") == 0
    assert capsys.readouterr().out.startswith(f"ok: 0 sample set(s) verified in {tmp_path / 'samples'}")


@pytest.mark.parametrize(("options", "message"), [
    (["--haar", "0"], "argument --haar: must be a whole number in [1, 4,096], got '0'"),
    (["--haar", "3", "--circuit-seed", "-1"], "argument --circuit-seed: must be a whole number >= 0, got '-1'"),
    (["--haar", "3", "--seed", "1_0"], "argument --seed: must be a whole number >= 0, got '1_0'"),
    (["--haar", "3", "--transmission", "2"], "argument --transmission: must be a number in [0, 1], got '2'"),
    (["--haar", "3", "--brightness", "nan"], "argument --brightness: must be a number in [0, 1], got 'nan'"),
    (["--haar", "3", "--workers", "0"], "argument --workers: must be a whole number in [1, 100,000], got '0'"),
    (["--haar", "3", "--max-memory", "-1"], "argument --max-memory: must be a number >= 0, got '-1'"),
    (["--haar", "3", "--indistinguishability", "0.5"],
     "--indistinguishability 0.5 needs --model partial (the photons are 'indistinguishable')"),
    (["--haar", "3", "--input", "1,1"], "--input 1,1: input state has 2 modes but the interferometer has 3"),
    (["--haar", "3", "--input", "0,0,0"], "--input 0,0,0: input state holds no photon"),
    (["--haar", "3", "--input", "+1,0,0"], "--input must be photon numbers separated by commas"),
    (["--haar", "3", "--photons", "0"], "--photons 0: input state holds no photon"),
    (["--haar", "3", "--input", "1,1,0", "--min-detected", "3"],
     "--min-detected 3: post-selection threshold min_detected=3 exceeds the 2 photons sent in (--input 1,1,0)"),
    (["--haar", "3", "--input", "100000,0,0", "--model", "distinguishable"],
     "--input 100000,0,0: more than the 65,535 photons a sample set can hold"),
    (["--haar", "3", "--input", "70000,0,0", "--model", "distinguishable"],
     "--input 70000,0,0: input state holds 70,000 photons, more than the 65,535 supported here"),
])
def test_fetch_errors_name_the_option_before_anything_is_created(tmp_path, capsys, options, message):
    """Without --quiet: no estimate line, no progress bar, no store folder, only the error."""
    store = tmp_path / "store"
    status, err = status_and_error(capsys, "samples", "--store", str(store), "fetch", "--backend", "local",
                                   "--n", "5", *options)
    assert status == 2 and err.count("\n") == 1 and err.startswith("qlatent: error: ") and message in err
    assert not store.exists()


def test_a_request_the_sampler_refuses_is_refused_before_a_shard_folder_or_a_progress_bar(tmp_path, capsys):
    """Past the command line's own checks (no limits here), the sampler's checks still come first."""
    store = tmp_path / "store"
    status, err = status_and_error(capsys, "samples", "--store", str(store), "fetch", "--backend", "local",
                                   "--haar", "64", "--photons", "64", "--n", "5", "--max-hours", "0",
                                   "--max-memory", "0")
    assert status == 2 and err == ("qlatent: error: 64 interfering photons in 64 modes may cost up to 1.16e+21 "
                                   "operations per shot, above the limit of 1e+11: send fewer photons\n")
    assert not store.exists()


def test_a_haar_circuit_too_large_to_hold_is_a_usage_error(tmp_path, capsys):
    from qlatent.qpu.cli import MAX_HAAR_MODES

    with pytest.raises(SystemExit) as usage:  # a 100,000-mode matrix needed 149 GiB before the check
        run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", str(MAX_HAAR_MODES + 1),
            "--n", "5")
    assert usage.value.code == 2 and f"must be a whole number in [1, {MAX_HAAR_MODES:,}]" in capsys.readouterr().err


def test_a_huge_bank_is_refused_by_its_estimate_without_listing_its_shards(tmp_path, capsys):
    # the estimate listed every shard (a list of 1e15 entries for 1e18 shots: MemoryError)
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", "3", "--n", "1e18",
               "--quiet") == 2
    assert "refusing to sample 1,000,000,000,000,000,000 shots" in capsys.readouterr().err


def test_a_recording_takes_no_seed(tmp_path, capsys):
    # recorded shots are replayed: a seed only gave the same shots a second id
    store = str(tmp_path)
    assert run("samples", "--store", store, "fetch", "--backend", "local", "--haar", "3", "--n", "5", "--seed", "1",
               "--quiet") == 0
    set_id = capsys.readouterr().out.split()[0]
    assert run("samples", "--store", store, "fetch", "--backend", f"recorded:{set_id}", "--haar", "3", "--n", "5",
               "--seed", "2", "--quiet") == 2
    assert "--seed applies to the local and perceval:<backend> backends only" in capsys.readouterr().err


def test_a_perceval_seed_beyond_32_bits_is_refused_before_the_estimate(tmp_path, capsys):
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "perceval:SLOS", "--haar", "2",
               "--photons", "1", "--n", "10", "--seed", str(2**32)) == 2
    err = capsys.readouterr().err
    assert err == "qlatent: error: perceval:SLOS takes seeds from 0 to 4,294,967,295 (perceval.random_seed), " \
                  "got 4,294,967,296\n"  # the estimate line came first, then Perceval's own error


@pytest.mark.parametrize("option", [["--seed", "1e4300"], ["--circuit-seed", "1e4300"], ["--min-detected", "1e4300"],
                                    ["--executor", "local", "--workers", "3000000000"]])
def test_huge_whole_numbers_are_usage_errors(tmp_path, capsys, option):
    # the first three failed on Python's integer-string limit naming no option; the last was an OverflowError traceback
    status, err = status_and_error(capsys, "samples", "--store", str(tmp_path), "fetch", "--backend", "local",
                                   "--haar", "3", "--n", "5", *option)
    assert status == 2 and err.startswith(f"qlatent: error: argument {option[-2]}: must be a whole number")


def test_a_line_break_in_a_name_keeps_the_error_on_one_line(tmp_path, capsys):
    # a file name holding a line break printed a three-line error
    status, err = status_and_error(capsys, "samples", "--store", str(tmp_path), "fetch", "--backend",
                                   "recorded:new\nline.json", "--haar", "3", "--n", "5")
    assert status == 2 and err.count("\n") == 1 and "recorded:new\\nline.json" in err
    status, err = status_and_error(capsys, "samples", "--store", str(tmp_path), "fetch", "--backend", "local",
                                   "--haar", "3", "--n", "5", "--seed", "1\n2")
    assert status == 2 and err.count("\n") == 1 and "got '1\\n2'" in err


def test_a_fetch_prints_its_estimate_before_the_long_work(tmp_path, capsys, monkeypatch):
    """A --haar 512 fetch was silent for ~8 s before its estimate: its matrix hashed as JSON, decomposed
    three times (the request's and the sampler's checks, the projection), SciPy's statistics imported for
    the estimate. Before the line now: the checks, one decomposition (the projection the sampler needs);
    after it, the shards."""
    import qlatent.qpu.shards as shards

    svd, norm, draw = np.linalg.svd, np.linalg.norm, shards.sample_shard

    def logged(name, function):
        def call(*args, **kwargs):
            print(f"<{name}>", file=sys.stderr)
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(np.linalg, "svd", logged("decomposition", svd))
    monkeypatch.setattr(np.linalg, "norm", logged("decomposition", norm))
    monkeypatch.setattr(shards, "sample_shard", logged("drawing a shard", draw))
    monkeypatch.setattr(shards, "binomial_pmf", logged("estimate", shards.binomial_pmf))
    assert run("samples", "--store", str(tmp_path), "fetch", "--backend", "local", "--haar", "4", "--photons", "2",
               "--transmission", "0.5", "--n", "100", "--seed", "1") == 0
    err = capsys.readouterr().err
    before, line, after = err.partition("sampling 100 shots on local: about")
    assert line and before.split() == ["<decomposition>", "<estimate>"] and "<drawing a shard>" in after
