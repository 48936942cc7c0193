"""A user's hardware shots in the plain qlatent.shots/1 format, replayed through ``recorded:``
with the request's post-selection; every malformed file gets one error naming the value."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from qlatent.photonics import sample
from qlatent.photonics.timebin import random_timebin_interferometer
from qlatent.qpu import SampleRequest, SampleStore, get_backend, get_or_sample
from qlatent.qpu.shots import read_shots_file, recorded_request, write_shots_file

N_MODES = 8


def timebin_description(seed: int = 1) -> dict:
    circuit = random_timebin_interferometer(N_MODES, (1, 1), seed=seed)
    return {"kind": "timebin", "loop_lengths": [1, 1], "thetas": circuit.parameters["thetas"],
            "phis": circuit.parameters["phis"]}


def hardware_like_shots(n: int = 600, seed: int = 0) -> np.ndarray:
    """What a lossy device returns: every bin populated, η = 0.6, all shots (no post-selection)."""
    circuit = random_timebin_interferometer(N_MODES, (1, 1), seed=1)
    return sample(circuit.unitary, [1] * N_MODES, n, transmission=0.6, seed=seed)


@pytest.fixture
def shots_file(tmp_path):
    return write_shots_file(tmp_path / "pt2-run", hardware_like_shots(), input_state=[1] * N_MODES, detection="pnr",
                            circuit=timebin_description(), device="simulated PT-2 for tests", notes="made by a test")


def test_written_file_reads_back(shots_file):
    assert shots_file.suffix == ".json" and shots_file.with_suffix(".csv").exists()
    shots = read_shots_file(shots_file)
    np.testing.assert_array_equal(shots.counts, hardware_like_shots())
    assert shots.n_modes == N_MODES and shots.device == "simulated PT-2 for tests" and shots.min_detected == 0
    np.testing.assert_allclose(shots.circuit.unitary, random_timebin_interferometer(N_MODES, (1, 1), seed=1).unitary)
    assert shots.notes == {"notes": "made by a test"}


def test_recorded_backend_replays_the_postselected_shots_with_the_acceptance(shots_file, tmp_path):
    counts = hardware_like_shots()
    passing = counts[counts.sum(axis=1) >= 5]
    request = recorded_request(shots_file, 100, min_detected=5)
    assert request.backend == f"recorded:{shots_file}" and request.detection == "pnr"
    result = get_or_sample(request, store=tmp_path / "store", progress=False)
    np.testing.assert_array_equal(result.counts, passing[:100])
    post = result.provenance["backend"]["postselection"]
    # the file is read only as far as the 100th passing shot: the acceptance is over the shots read
    n_read = int(np.flatnonzero(counts.sum(axis=1) >= 5)[99]) + 1
    assert post == {"min_detected": 5, "n_shots": n_read, "n_passed": 100, "acceptance": 100 / n_read}
    assert result.provenance["backend"]["device"] == "simulated PT-2 for tests"
    # without post-selection: the first shots as recorded
    plain = get_backend(f"recorded:{shots_file}").sample(recorded_request(shots_file, 50))
    np.testing.assert_array_equal(plain.counts, counts[:50])


def test_a_request_of_another_length_is_refused_naming_both(shots_file):
    circuit = random_timebin_interferometer(6, (1, 1), seed=1)
    request = SampleRequest(f"recorded:{shots_file}", circuit, [1] * 6, 10)
    with pytest.raises(ValueError, match=r"holds shots of 8 modes, but the request has 6 modes"):
        get_backend(request.backend).sample(request)


def test_requests_the_recording_cannot_serve(shots_file):
    backend = get_backend(f"recorded:{shots_file}")
    other = random_timebin_interferometer(N_MODES, (1, 1), seed=2)
    with pytest.raises(ValueError, match="different circuit"):
        backend.sample(SampleRequest(backend.name, other, [1] * N_MODES, 10))
    with pytest.raises(ValueError, match="different transmission"):
        backend.sample(SampleRequest(backend.name, read_shots_file(shots_file).circuit, [1] * N_MODES, 10,
                                     transmission=0.6))
    with pytest.raises(ValueError, match=r"holds 600 shots of which \d+ pass min_detected=8, fewer than the 500"):
        backend.sample(recorded_request(shots_file, 500, min_detected=8))


def test_a_file_postselected_by_the_device_serves_only_stricter_requests(tmp_path):
    counts = hardware_like_shots()
    kept = counts[counts.sum(axis=1) >= 5]
    path = write_shots_file(tmp_path / "kept", kept, input_state=[1] * N_MODES, detection="pnr",
                            circuit=timebin_description(), device="PT-2", min_detected=5)
    backend = get_backend(f"recorded:{path}")
    with pytest.raises(ValueError, match="kept only shots with at least 5 detected photons; the request asks for "
                                         "min_detected=4"):
        backend.sample(recorded_request(path, 10, min_detected=4))
    assert backend.sample(recorded_request(path, 10, min_detected=6)).counts.sum(axis=1).min() >= 6


def test_threshold_clicks_and_a_matrix_circuit(tmp_path):
    circuit = random_timebin_interferometer(N_MODES, (1, 1), seed=1)
    clicks = np.minimum(hardware_like_shots(), 1)
    description = {"kind": "matrix", "real": circuit.unitary.real.tolist(), "imag": circuit.unitary.imag.tolist()}
    path = write_shots_file(tmp_path / "clicks", clicks, input_state=[1] * N_MODES, detection="threshold",
                            circuit=description, device="PT-2")
    result = get_backend(f"recorded:{path}").sample(recorded_request(path, 20, min_detected=3))
    assert result.counts.max() == 1 and result.counts.sum(axis=1).min() >= 3


def test_open_format_recordings_are_postselected_too(tmp_path):
    circuit = random_timebin_interferometer(N_MODES, (1, 1), seed=1)
    request = SampleRequest("local", circuit, [1] * N_MODES, 400, transmission=0.6, seed=0)
    stored = get_or_sample(request, store=tmp_path, progress=False)
    json_path = SampleStore(tmp_path).paths(request.request_id())[1]
    replay = SampleRequest(f"recorded:{json_path}", circuit, [1] * N_MODES, 50, transmission=0.6, min_detected=5)
    result = get_backend(replay.backend).sample(replay)
    np.testing.assert_array_equal(result.counts, stored.counts[stored.counts.sum(axis=1) >= 5][:50])
    assert result.provenance["backend"]["postselection"]["n_shots"] == 400


def write_pair(tmp_path, meta_overrides=None, lines=None):
    meta = {"format": "qlatent.shots/1", "device": "x", "input_state": [1] * N_MODES, "detection": "pnr",
            "circuit": timebin_description()}
    meta.update(meta_overrides or {})
    meta = {key: value for key, value in meta.items() if value is not None}
    (tmp_path / "bad.json").write_text(json.dumps(meta))
    (tmp_path / "bad.csv").write_text("\n".join(lines if lines is not None else ["1,1,1,1,0,0,0,0"]) + "\n")
    return tmp_path / "bad.json"


@pytest.mark.parametrize("meta, lines, match", [
    ({"format": "other/1"}, None, "format must be 'qlatent.shots/1', got 'other/1'"),
    ({"detection": None}, None, "missing 'detection'"),
    ({"detection": "clicks"}, None, "detection must be one of"),
    ({"circuit": {"kind": "haar"}}, None, "'circuit' must be a dict with 'kind' one of"),
    ({"circuit": {"kind": "timebin", "loop_lengths": [1, 1]}}, None, "the 'timebin' circuit lacks 'thetas'"),
    ({"input_state": [1] * 6, "circuit": {**timebin_description(), "n_modes": 8}}, None,
     "the circuit has 8 modes but input_state has 6"),
    ({}, ["1,1,1,1,0,0,0"], r"shots have 7 modes, but the circuit in bad.json has 8"),
    ({}, ["1,1,1,1,0,0,0,0", "1,1,0,0,0,0,0"], r"line 2: a shot of 7 modes after shots of 8 modes"),
    ({}, ["1,1,x,1,0,0,0,0"], r"line 1: expected comma-separated integers"),
    ({}, ["1,-1,1,1,0,0,0,0"], "line 1: negative count -1"),
    ({"input_state": [1, 1, 0, 0, 0, 0, 0, 0]}, None, "a shot holds 4 photons, more than the 2 sent in"),
    ({"detection": "threshold"}, ["2,1,1,0,0,0,0,0"],
     r"threshold detection records clicks \(0 or 1\), got a count of 2"),
    ({"min_detected": 5}, None, "a shot holds 4 detected photons, below the file's min_detected=5"),
    ({"min_detected": 9}, None, r"min_detected must be an integer in \[0, 8\], got 9"),
    ({}, ["# only a comment"], "holds no shots"),
])
def test_malformed_shot_files(tmp_path, meta, lines, match):
    with pytest.raises(ValueError, match=match):
        read_shots_file(write_pair(tmp_path, meta, lines))


IDENTITY = [[float(i == j) for j in range(N_MODES)] for i in range(N_MODES)]
ZEROS = [[0.0] * N_MODES for _ in range(N_MODES)]


@pytest.mark.parametrize("meta, lines, match", [
    # counts: ASCII digits only, and no count beyond the photons sent in (no overflow on the way)
    ({}, ["99999999999999999999999,0,0,0,0,0,0,0"],
     r"bad.csv, line 1: a count of 99999999999999999999999 photons, more than the 8 sent in"),
    ({}, ["1" * 5000 + ",0,0,0,0,0,0,0"], r"bad.csv, line 1: a count of 1{30}… photons, more than the 8 sent in"),
    ({}, ["# header", "1,1,1,1,0,0,0,0", "1_0,0,0,0,0,0,0,0"],
     r"bad.csv, line 3: expected comma-separated integers \(digits only\), got '1_0'"),
    ({}, ["+1,1,1,1,0,0,0,0"], r"bad.csv, line 1: expected comma-separated integers \(digits only\), got '\+1'"),
    ({}, ["\u0661,1,1,1,0,0,0,0"], r"bad.csv, line 1: expected comma-separated integers"),
    ({}, ["1,1,1,1,0,0,0,0", "1,1,1,1,1,1,1,1,0"], r"line 2: a shot of 9 modes after shots of 8 modes"),
    # input_state: JSON integers (not true), non-negative, between 1 and 65535 photons in all
    ({"input_state": [True] * N_MODES}, None, r"bad.json: input_state must be a list of non-negative integers"),
    ({"input_state": [1.0] * N_MODES}, None, r"bad.json: input_state must be a list of non-negative integers"),
    ({"input_state": [10**30] + [1] * (N_MODES - 1)}, None,
     r"bad.json: input_state must send between 1 and 65535 photons in all, got 1000000000000000000000000000007"),
    ({"input_state": [0] * N_MODES}, None, r"input_state must send between 1 and 65535 photons in all, got 0"),
    # file names and free text are strings
    ({"counts_file": 5}, None, r"bad.json: 'counts_file' must be a non-empty string, got 5"),
    ({"counts_file": ""}, None, r"bad.json: 'counts_file' must be a non-empty string, got ''"),
    # the counts file sits beside the description: no other file is read (its lines would be echoed)
    ({"counts_file": "/etc/passwd"}, None, r"bad.json: counts_file must name a file in the folder of the description"),
    ({"counts_file": "../bad.csv"}, None, r"bad.json: counts_file must name a file in the folder of the description"),
    ({"device": ["PT-2"]}, None, r"bad.json: 'device' must be a non-empty string"),
    ({"notes": 3}, None, r"bad.json: 'notes' must be a non-empty string"),
    # an entry the format does not name would be ignored: refused instead
    ({"min_detect": 2}, None, r"bad.json: unknown entries \['min_detect'\]"),
    ({"circuit": {**timebin_description(), "phi": [0.0] * 14}}, None,
     r"unknown entries \['phi'\] in the 'timebin' circuit"),
    # circuit entries: integers are integers, angles and matrix entries finite numbers
    ({"circuit": {**timebin_description(), "n_modes": True}}, None, r"the circuit's 'n_modes' must be an integer"),
    ({"circuit": {**timebin_description(), "loop_lengths": [1, True]}}, None,
     r"the circuit's 'loop_lengths' must be a list of integers"),
    ({"circuit": {**timebin_description(), "thetas": ["0.5"] * 14}}, None,
     r"the circuit's 'thetas' must be a list of finite numbers"),
    ({"circuit": {**timebin_description(), "phis": [float("nan")] * 14}}, None,
     r"the circuit's 'phis' must be a list of finite numbers"),
    ({"circuit": {"kind": "matrix", "real": [[str(x) for x in row] for row in IDENTITY], "imag": ZEROS}}, None,
     r"the circuit's 'real' must be a list of lists of finite numbers"),
    ({"circuit": {"kind": "matrix", "real": IDENTITY}}, None, r"the 'matrix' circuit lacks 'imag'"),
])
def test_every_entry_is_checked_strictly_naming_the_file(tmp_path, meta, lines, match):
    """JSON entries are never coerced and CSV counts are digits only; every error is a ValueError
    naming the file (and the CSV line), never an OverflowError or a TypeError from deeper down."""
    with pytest.raises(ValueError, match=match):
        read_shots_file(write_pair(tmp_path, meta, lines))


@pytest.mark.parametrize("text, key", [
    ('{"format": "qlatent.shots/1", "detection": "pnr", "detection": "threshold"}', "detection"),
    ('{"format": "qlatent.shots/1", "circuit": {"kind": "timebin", "kind": "matrix"}}', "kind"),
])
def test_a_key_given_twice_is_refused_naming_it(tmp_path, text, key):
    path = write_pair(tmp_path)
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"bad.json: the key '{key}' is given twice"):
        read_shots_file(path)


def test_a_counts_file_with_a_byte_order_mark_reads(tmp_path):
    path = write_pair(tmp_path)
    (tmp_path / "bad.csv").write_text("\ufeff1,1,1,1,0,0,0,0\n", encoding="utf-8")  # as spreadsheets save CSV
    assert read_shots_file(path).counts.tolist() == [[1, 1, 1, 1, 0, 0, 0, 0]]


def test_another_version_of_the_shots_format_is_refused_by_name(tmp_path):
    from qlatent.qpu.backends.recorded import RecordedBackend

    path = write_pair(tmp_path, {"format": "qlatent.shots/2"})
    with pytest.raises(ValueError, match="format must be 'qlatent.shots/1', got 'qlatent.shots/2'"):
        RecordedBackend(str(path))  # was read as a sample store's provenance: "no counts checksum"


@pytest.mark.parametrize(("text", "found"), [("[1, 2]", "holds a JSON array"), ("null", "holds a JSON null"),
                                              ('{"format": "qlatent.shots/1",', "is not readable JSON"),
                                              ('{"detection": "pnr"}', 'has neither a "format" nor a "counts" entry'),
                                              ('{"format": "shots-v1"}', "declares the format 'shots-v1'")])
def test_a_json_file_of_neither_format_names_both(tmp_path, text, found):
    # such files fell through to the sample store's reader: "provenance has no counts checksum"
    from qlatent.qpu.backends.recorded import RecordedBackend

    path = tmp_path / "mine.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"recorded:.*mine.json: mine.json {re.escape(found)}.*; expected a "
                                         r"qlatent.shots/1 shots description"):
        RecordedBackend(str(path))


def test_a_matrix_circuit_of_plain_numbers_reads(tmp_path):
    shots = read_shots_file(write_pair(tmp_path, {"circuit": {"kind": "matrix", "real": IDENTITY, "imag": ZEROS}},
                                       ["1,1,1,0,0,0,0,0", "0,0,0,0,1,1,1,1"]))
    assert shots.counts.tolist() == [[1, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]]
    assert shots.counts.dtype == np.uint8 and shots.input_state == (1,) * N_MODES


def test_a_counts_file_that_is_not_text_is_named(tmp_path):
    path = write_pair(tmp_path)
    (tmp_path / "bad.csv").write_bytes(b"1,1,\xff\n")
    with pytest.raises(ValueError, match=r"counts file .*bad.csv is not UTF-8 text"):
        read_shots_file(path)


def test_a_description_too_large_for_metadata_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A description is metadata: one over MAX_DESCRIPTION_BYTES is refused by its size, not read whole."""
    from qlatent.qpu import shots as shots_module
    from qlatent.qpu.shots import is_shots_file

    monkeypatch.setattr(shots_module, "MAX_DESCRIPTION_BYTES", 2000)
    path = write_pair(tmp_path, {"notes": "x" * 1000})
    assert read_shots_file(path).counts.shape == (1, N_MODES)
    path = write_pair(tmp_path, {"notes": "x" * 3000})
    assert is_shots_file(path)
    with pytest.raises(ValueError, match=r"shots description .*bad.json holds \d+ bytes, more than the 2000 a "
                                         r"description may hold"):
        read_shots_file(path)
    with pytest.raises(ValueError, match=r"bad.json holds \d+ bytes, more than the 2000"):
        get_backend(f"recorded:{path}")


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="shots description .*nothing.json does not exist"):
        read_shots_file(tmp_path / "nothing.json")
    path = write_pair(tmp_path)
    (tmp_path / "bad.csv").unlink()
    with pytest.raises(FileNotFoundError, match="counts file .*bad.csv does not exist"):
        read_shots_file(path)


def test_a_shots_description_named_through_its_npz_or_in_capitals(tmp_path):
    from qlatent.qpu.backends.recorded import RecordedBackend

    path = write_pair(tmp_path)
    (tmp_path / "bad.npz").write_bytes(b"")
    # it said "bad.json declares the format 'qlatent.shots/1'; expected a qlatent.shots/1 shots description"
    with pytest.raises(ValueError, match=r"bad.npz: bad.json beside it is a qlatent.shots/1 shots description: "
                                         r"name it, recorded:.*bad.json"):
        RecordedBackend(str(tmp_path / "bad.npz"))
    upper = path.rename(tmp_path / "BAD.JSON")  # was "no such file"
    (tmp_path / "bad.csv").rename(tmp_path / "BAD.csv")
    replayed = RecordedBackend(str(upper)).sample(recorded_request(upper, 1)).counts
    assert replayed.tolist() == read_shots_file(upper).counts.tolist()


def test_a_request_reads_the_counts_file_only_as_far_as_it_needs(tmp_path, monkeypatch):
    """A fault blocks past the shots a request needs is not reached (a 10^7-line file for 1,000
    shots is not read whole); reading the whole file finds it, naming its line."""
    from qlatent.qpu import shots as shots_module

    monkeypatch.setattr(shots_module, "READ_BLOCK_BYTES", 64)
    path = write_pair(tmp_path, lines=["1,1,1,1,0,0,0,0"] * 50 + ["0,0,0,0,1,1,1,1"] * 50 + ["x"])
    shots = read_shots_file(path, max_shots=20, min_detected=4)
    assert shots.counts.shape == (20, N_MODES) and shots.n_read == 20
    assert read_shots_file(path, max_shots=0).counts.shape == (0, N_MODES)
    with pytest.raises(ValueError, match=r"bad.csv, line 101: expected comma-separated integers"):
        read_shots_file(path)
    request = recorded_request(path, 60)
    result = get_or_sample(request, store=tmp_path / "store", progress=False)
    assert result.counts[:50].tolist() == [[1, 1, 1, 1, 0, 0, 0, 0]] * 50


@pytest.mark.parametrize("end", [b"\r", b"\r\n"])
def test_lines_ending_in_carriage_returns_are_read_only_as_far_as_needed(tmp_path, monkeypatch, end):
    """Lines may end at "\\r" (old spreadsheets) as at "\\r\\n" or "\\n": a request stops reading
    after the block of the shots it needs (a "\\r\\n" split between blocks is one line end), and a
    fault past them is named by its line when the file is read whole."""
    from qlatent.qpu import shots as shots_module

    monkeypatch.setattr(shots_module, "READ_BLOCK_BYTES", 16)  # a block holds one line and its "\r"
    path = write_pair(tmp_path)
    lines = [b"1,1,1,1,0,0,0,0"] * 40 + [b"0,0,0,0,1,1,1,1"] * 40 + [b"x"]
    (tmp_path / "bad.csv").write_bytes(end.join(lines) + end)
    shots = read_shots_file(path, max_shots=50)
    assert shots.counts.tolist() == [[1, 1, 1, 1, 0, 0, 0, 0]] * 40 + [[0, 0, 0, 0, 1, 1, 1, 1]] * 10
    with pytest.raises(ValueError, match=r"bad.csv, line 81: expected comma-separated integers"):
        read_shots_file(path)


def test_a_fault_after_a_block_of_plain_lines_is_named_by_its_line(tmp_path, monkeypatch):
    """Blocks are parsed by NumPy; a block with a fault is re-read line by line, with the file's
    line numbers (comments and a byte-order mark included)."""
    from qlatent.qpu import shots as shots_module

    monkeypatch.setattr(shots_module, "READ_BLOCK_BYTES", 64)
    lines = ["# header"] + ["1,1,1,1,0,0,0,0"] * 30 + ["1,1,1,1,0,0,0,2"] + ["1,1,1,1,0,0,0,0"] * 3
    path = write_pair(tmp_path, lines=lines)
    with pytest.raises(ValueError, match=r"bad.csv, line 32: a shot holds 6 photons, more than the 4 sent in"):
        read_shots_file(write_pair(tmp_path, {"input_state": [1, 1, 1, 1, 0, 0, 0, 0]}, lines))
    (tmp_path / "bad.csv").write_bytes(b"\xef\xbb\xbf" + "\n".join(lines[:-4]).encode() + b"\n0,1,1\n")
    with pytest.raises(ValueError, match=r"bad.csv, line 32: a shot of 3 modes after shots of 8 modes"):
        read_shots_file(path)
    (tmp_path / "bad.csv").write_text("\n".join(lines[:-4]) + "\n1,1\xe9\n", encoding="latin-1")
    offset = len("\n".join(lines[:-4])) + 4
    with pytest.raises(ValueError, match=rf"bad.csv is not UTF-8 text \(invalid continuation byte at byte {offset}\)"):
        read_shots_file(path)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    import os

    path = write_pair(tmp_path)
    (tmp_path / "bad.csv").unlink()
    os.mkfifo(tmp_path / "bad.csv")  # opening it for reading would wait for a writer forever
    with pytest.raises(ValueError, match=r"counts file .*bad.csv is a FIFO \(named pipe\), not a regular file"):
        read_shots_file(path)
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(ValueError, match=r"shots description .*pipe.json is a FIFO"):
        read_shots_file(tmp_path / "pipe.json")
    with pytest.raises(ValueError, match=r"recorded:.*pipe.json is not a regular file"):
        get_backend(f"recorded:{tmp_path / 'pipe.json'}")


def test_a_file_that_changes_while_it_is_read_is_refused(tmp_path, monkeypatch):
    from qlatent.qpu import shots as shots_module

    path = write_pair(tmp_path, lines=["1,1,1,1,0,0,0,0"] * 200)
    monkeypatch.setattr(shots_module, "READ_BLOCK_BYTES", 256)
    parse = shots_module._parse_block

    def still_being_written(*args):
        if not appended:  # the writer adds a last line while the first block is parsed
            appended.append(True)
            with open(tmp_path / "bad.csv", "a") as handle:
                handle.write("1,1,1,1,0,0,0,0\n")
        return parse(*args)

    appended: list[bool] = []

    monkeypatch.setattr(shots_module, "_parse_block", still_being_written)
    with pytest.raises(ValueError, match=r"counts file .*bad.csv changed while it was read \(is it still being "
                                         r"written\?\)"):
        read_shots_file(path)


def test_a_rewritten_shots_file_is_not_answered_with_the_old_shots(shots_file, tmp_path):
    """``recorded:<file>`` requests are keyed by the path: the stored set keeps the pair's checksums
    and a replay checks them, naming what changed."""
    store = tmp_path / "store"
    request = recorded_request(shots_file, 50)
    first = get_or_sample(request, store=store, progress=False)
    assert first.provenance["backend"]["sha256"] == read_shots_file(shots_file, max_shots=0).checksums
    assert get_or_sample(request, store=store, progress=False).counts.tolist() == first.counts.tolist()
    write_shots_file(shots_file, hardware_like_shots(seed=7), input_state=[1] * N_MODES, detection="pnr",
                     circuit=timebin_description(), device="simulated PT-2 for tests", notes="made by a test")
    assert recorded_request(shots_file, 50).request_id() == request.request_id()
    with pytest.raises(ValueError, match=rf"recorded:.*pt2-run.json: stored sample set {request.request_id()} was "
                                         r"taken from other shots: the counts changed since; delete its two files"):
        get_or_sample(request, store=store, progress=False)


@pytest.mark.parametrize("replace", ["format", "broken", "fifo"])
def test_a_stored_set_is_not_replayed_once_its_file_no_longer_reads_as_shots(shots_file, tmp_path, replace):
    """Only a missing file lets a set taken from shots be replayed unchecked; a file still there that
    is no longer a shots description (another format, broken JSON, a FIFO) is refused."""
    import os

    store = tmp_path / "store"
    request = recorded_request(shots_file, 50)
    first = get_or_sample(request, store=store, progress=False)
    shots_file.unlink()
    assert get_or_sample(request, store=store, progress=False).counts.tolist() == first.counts.tolist()
    if replace == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        os.mkfifo(shots_file)
    else:
        shots_file.write_text('{"format": "qlatent.shotz/1"}' if replace == "format" else "{{{")
    with pytest.raises(ValueError, match=rf"recorded:.*pt2-run.json: stored sample set {request.request_id()} was "
                                         r"taken from qlatent.shots/1 shots, but the file no longer reads as shots"):
        get_or_sample(request, store=store, progress=False)


def test_a_counts_file_too_large_to_read_whole_is_refused_before_parsing(tmp_path, monkeypatch):
    from qlatent.qpu import SamplingLimits
    from qlatent.qpu import shots as shots_module

    monkeypatch.setattr(shots_module, "READ_BLOCK_BYTES", 64)

    path = write_pair(tmp_path, lines=["1,1,1,1,0,0,0,0"] * 1000)
    with (tmp_path / "bad.csv").open("a") as handle:
        handle.write("x\n")  # never reached: the size alone refuses the file
    tiny = SamplingLimits(max_memory_gb=1e-6)
    with pytest.raises(ValueError, match=r"counts file .*bad.csv \(15.6 KiB\) may hold shots needing up to .* of "
                                         r"memory read whole, past the limit of 1.05 KiB"):
        read_shots_file(path, limits=tiny)
    assert read_shots_file(path, max_shots=10, limits=tiny).counts.shape == (10, N_MODES)
