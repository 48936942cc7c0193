"""The sample store: content addresses, atomic verified files, replay, recorded sets, the local backend."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from qlatent.photonics.interferometers import haar_interferometer
from qlatent.qpu import (
    CorruptSampleError,
    SampleRequest,
    SampleSet,
    SampleStore,
    get_backend,
    get_or_sample,
)
from qlatent.qpu.backends.recorded import RecordedBackend
from qlatent.qpu.errors import SampleSizeError, UnknownSampleSetError
from qlatent.qpu.limits import SamplingEstimate, SamplingLimits, estimate_sampling
from qlatent.qpu.sampleset import provenance_sha256, recorded_request_id
from qlatent.qpu.store import default_store_root, read_sample_files


@pytest.fixture
def interferometer():
    return haar_interferometer(4, seed=7)


@pytest.fixture
def request_(interferometer):
    return SampleRequest("local", interferometer, (1, 1, 0, 0), 500, seed=3)


class NoCall:
    """A backend that must not be used (replays never sample again)."""

    name = "local"

    def sample(self, request, *, checkpoint=None, progress=False):
        raise AssertionError("the stored set should have been replayed")


class Counting:
    """The local backend, counting its calls."""

    name = "local"

    def __init__(self):
        self.calls = 0

    def sample(self, request, *, checkpoint=None, progress=False):
        self.calls += 1
        return get_backend("local").sample(request)


# -- SampleRequest -------------------------------------------------------------------------------
def test_request_id_is_stable_and_tracks_every_field(request_, interferometer):
    same = SampleRequest("local", interferometer, [1, 1, 0, 0], 500, seed=3)
    assert same == request_ and same.request_id() == request_.request_id()
    assert len(request_.request_id()) == 64
    variants = [request_.with_backend("perceval:SLOS"),
                SampleRequest("local", interferometer, (1, 0, 1, 0), 500, seed=3),
                SampleRequest("local", interferometer, (1, 1, 0, 0), 501, seed=3),
                SampleRequest("local", interferometer, (1, 1, 0, 0), 500, seed=4),
                SampleRequest("local", interferometer, (1, 1, 0, 0), 500, seed=3, transmission=0.9),
                SampleRequest("local", interferometer, (1, 1, 0, 0), 500, seed=3, detection="threshold"),
                SampleRequest("local", haar_interferometer(4, seed=8), (1, 1, 0, 0), 500, seed=3)]
    assert len({variant.request_id() for variant in variants} | {request_.request_id()}) == len(variants) + 1


def test_request_round_trips_through_json(request_, interferometer):
    rebuilt = SampleRequest.from_dict(json.loads(json.dumps(request_.to_dict())))
    assert rebuilt == request_ and rebuilt.request_id() == request_.request_id()
    np.testing.assert_array_equal(rebuilt.unitary, interferometer.unitary)
    assert rebuilt.circuit["description"]["kind"] == "haar"
    assert rebuilt.circuit["description"]["fingerprint"] == interferometer.fingerprint()
    from_matrix = SampleRequest("local", interferometer.unitary, (1, 1, 0, 0), 10)
    assert from_matrix.circuit["sha256"] == request_.circuit["sha256"]


@pytest.mark.parametrize(("changes", "error", "match"), [
    ({"n_samples": 0}, ValueError, "n_samples must be positive"),
    ({"n_samples": 2.5}, TypeError, "n_samples must be an integer"),
    ({"model": "bosonic"}, ValueError, "unknown photon model 'bosonic'"),
    ({"detection": "apd"}, ValueError, "unknown detection 'apd'"),
    ({"transmission": 1.5}, ValueError, "transmission must lie in"),
    ({"brightness": "high"}, TypeError, "brightness must be a number"),
    ({"indistinguishability": 0.5}, ValueError, "use model='partial'"),
    ({"model": "distinguishable", "indistinguishability": 0.5}, ValueError, "takes no indistinguishability"),
    ({"seed": np.random.default_rng(0)}, TypeError, "seed must be a non-negative integer"),
    ({"input_state": (1, 1, 0)}, ValueError, "input state has 3 modes but the interferometer has 4"),
    ({"input_state": (0, 0, 0, 0)}, ValueError, "holds no photon"),
    ({"circuit": np.ones((4, 4))}, ValueError, "not sub-unitary"),
    ({"circuit": {"description": {}}}, ValueError, "needs a 'unitary' entry"),
    ({"backend": ""}, TypeError, "backend must be a non-empty string"),
])
def test_request_rejects_bad_input(interferometer, changes, error, match):
    arguments = {"backend": "local", "circuit": interferometer, "input_state": (1, 1, 0, 0), "n_samples": 10,
                 **changes}
    with pytest.raises(error, match=match):
        SampleRequest(**arguments)


def test_distinguishable_model_normalises_its_indistinguishability(interferometer):
    request = SampleRequest("local", interferometer, (1, 1, 0, 0), 10, model="distinguishable")
    assert request.indistinguishability == 0.0
    assert SampleRequest.from_dict(request.to_dict()) == request


def test_sample_set_rejects_counts_of_the_wrong_shape(request_):
    with pytest.raises(ValueError, match=r"expected \(500, 4\)"):
        SampleSet.create(request_, np.zeros((10, 4), np.uint8), backend_details={}, started_at="")
    with pytest.raises(ValueError, match="outside"):
        SampleSet.create(request_, np.full((500, 4), 3, np.uint8), backend_details={}, started_at="")
    with pytest.raises(ValueError, match="unsigned integer"):
        SampleSet(np.zeros((2, 2)), {})


# -- store and get_or_sample ---------------------------------------------------------------------
def test_get_or_sample_stores_with_provenance_and_replays_bit_for_bit(tmp_path, request_):
    store = SampleStore(tmp_path)
    backend = Counting()
    first = get_or_sample(request_, store, progress=False, backend=backend)
    assert backend.calls == 1 and first.counts.dtype == np.uint8 and first.counts.shape == (500, 4)
    assert not first.counts.flags.writeable
    provenance = first.provenance
    assert provenance["request_id"] == request_.request_id()
    assert provenance["request"]["seed"] == 3 and provenance["request"]["input_state"] == [1, 1, 0, 0]
    assert provenance["backend"]["name"] == "local"
    assert {"qlatent", "numpy", "perceval-quandela", "python"} <= set(provenance["software"])
    assert provenance["started_at"] <= provenance["finished_at"]
    replay = get_or_sample(request_, store, progress=False, backend=NoCall())
    assert replay.counts.tobytes() == first.counts.tobytes()
    assert replay.provenance == json.loads(json.dumps(first.provenance))
    again = get_or_sample(SampleRequest.from_dict(request_.to_dict()), SampleStore(tmp_path), backend=NoCall())
    np.testing.assert_array_equal(again.counts, first.counts)
    assert store.verify() == {}
    assert [info.request_id for info in store.list()] == [request_.request_id()]
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"{request_.request_id()}.json",
                                                               f"{request_.request_id()}.npz"]


def test_local_backend_is_reproducible_and_physical(tmp_path):
    """Seeded runs repeat; HOM on a balanced beam splitter: no coincidences; threshold clicks only."""
    splitter = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    request = SampleRequest("local", splitter, (1, 1), 2000, seed=11)
    counts = get_backend("local").sample(request).counts
    np.testing.assert_array_equal(counts, get_backend("local").sample(request).counts)
    assert not np.any((counts[:, 0] == 1) & (counts[:, 1] == 1))
    for model, x, expected in (("distinguishable", 1.0, 0.5), ("partial", 0.5, (1 - 0.5 ** 2) / 2)):
        pairs = get_backend("local").sample(SampleRequest("local", splitter, (1, 1), 4000, seed=4, model=model,
                                                         indistinguishability=x)).counts
        assert abs(np.mean(np.all(pairs == 1, axis=1)) - expected) < 5 * np.sqrt(0.25 / 4000)
    clicks = get_backend("local").sample(SampleRequest("local", splitter, (1, 1), 200, seed=1,
                                                      detection="threshold")).counts
    assert clicks.max() == 1
    lossy = get_backend("local").sample(SampleRequest("local", splitter, (1, 1), 4000, seed=2,
                                                     transmission=0.8, brightness=0.5)).counts
    mean = lossy.sum() / 4000  # two photons, each kept with probability 0.8 * 0.5
    assert abs(mean - 0.8) < 5 * np.sqrt(2 * 0.4 * 0.6 / 4000)


def test_store_root_defaults_to_the_cache_and_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("QLATENT_SAMPLES", raising=False)
    monkeypatch.setenv("QLATENT_CACHE", str(tmp_path / "cache"))
    assert default_store_root() == (tmp_path / "cache" / "samples").resolve()
    monkeypatch.setenv("QLATENT_SAMPLES", str(tmp_path / "elsewhere"))
    assert SampleStore().root == (tmp_path / "elsewhere").resolve()


def _stored(tmp_path, request_):
    store = SampleStore(tmp_path)
    get_or_sample(request_, store, progress=False)
    return store, *store.paths(request_.request_id())


def test_truncated_counts_file_is_reported_and_never_reused(tmp_path, request_):
    store, npz_path, _ = _stored(tmp_path, request_)
    npz_path.write_bytes(npz_path.read_bytes()[:100])
    with pytest.raises(CorruptSampleError, match=npz_path.name):
        get_or_sample(request_, store, backend=NoCall())
    assert list(store.verify()) == [f"{request_.request_id()}.json"]


def test_tampered_counts_fail_the_checksum(tmp_path, request_):
    store, npz_path, _ = _stored(tmp_path, request_)
    counts = np.load(npz_path)["counts"].copy()
    counts[0, 0] ^= 1
    np.savez(npz_path, counts=counts)
    with pytest.raises(CorruptSampleError, match=rf"{npz_path.name}: counts do not match the SHA-256"):
        store.load(request_.request_id())


def test_tampered_or_truncated_provenance_is_reported(tmp_path, request_):
    store, _, json_path = _stored(tmp_path, request_)
    provenance = json.loads(json_path.read_text())
    provenance["request"]["seed"] = 4
    json_path.write_text(json.dumps(provenance))
    assert "does not hash to the file name" in store.verify()[json_path.name][0]
    json_path.write_text(json_path.read_text()[:50])
    with pytest.raises(CorruptSampleError, match=rf"{json_path.name}: unreadable provenance"):
        store.load(request_.request_id())
    assert "unreadable provenance" in store.verify()[json_path.name][0]


def test_verify_reports_orphans_and_missing_counts(tmp_path, request_):
    store, npz_path, json_path = _stored(tmp_path, request_)
    orphan = tmp_path / ("0" * 64 + ".npz")
    orphan.write_bytes(npz_path.read_bytes())
    npz_path.unlink()
    problems = store.verify()
    assert problems[orphan.name] == ["counts file without its .json provenance"]
    assert "counts file is missing" in problems[json_path.name][0]


def test_resolve_accepts_unique_prefixes_only(tmp_path, request_):
    store, _, _ = _stored(tmp_path, request_)
    assert store.resolve(request_.request_id()[:8]) == request_.request_id()
    with pytest.raises(KeyError, match="no sample set"):
        store.resolve("zz")


def test_partial_runs_round_trip_and_corruption_is_caught(tmp_path, request_):
    partial = SampleStore(tmp_path).partial(request_.request_id())
    assert partial.load() == (None, {})
    counts = np.arange(12, dtype=np.uint8).reshape(3, 4)
    partial.save(counts, {"jobs": [{"job_id": "a", "n_samples": 3}], "pending": None})
    loaded, state = partial.load()
    np.testing.assert_array_equal(loaded, counts)
    assert state["jobs"] == [{"job_id": "a", "n_samples": 3}]
    partial.path.write_bytes(partial.path.read_bytes()[:40])
    with pytest.raises(CorruptSampleError, match="partial.npz: unreadable partial results"):
        partial.load()
    assert "unreadable partial" in SampleStore(tmp_path).verify()[partial.path.name][0]
    other = SampleStore(tmp_path).partial("f" * 64)
    other.save(counts, {})
    other.path.rename(partial.path)
    with pytest.raises(CorruptSampleError, match="do not match their request"):
        partial.load()


# -- recorded backend ----------------------------------------------------------------------------
def test_recorded_replay_is_bit_for_bit_from_an_id_or_a_file(tmp_path, request_):
    store, npz_path, json_path = _stored(tmp_path, request_)
    original = store.load(request_.request_id())
    by_id = request_.with_backend(f"recorded:{request_.request_id()[:10]}")
    replayed = get_or_sample(by_id, store, progress=False)
    assert replayed.counts.tobytes() == original.counts.tobytes()
    assert replayed.provenance["backend"]["replayed_from"] == request_.request_id()
    shorter = SampleRequest(f"recorded:{json_path}", request_.circuit, request_.input_state, 100, seed=3)
    head = RecordedBackend(str(json_path)).sample(shorter)
    assert head.counts.tobytes() == original.counts[:100].tobytes()


def test_recorded_replay_rejects_a_different_experiment(tmp_path, request_):
    _, _, json_path = _stored(tmp_path, request_)
    backend = RecordedBackend(str(json_path))
    other_state = SampleRequest("recorded:x", request_.circuit, (1, 0, 1, 0), 10)
    with pytest.raises(ValueError, match="does not match the request: different input_state"):
        backend.sample(other_state)
    other_circuit = SampleRequest("recorded:x", haar_interferometer(4, seed=1), (1, 1, 0, 0), 10,
                                  detection="threshold")
    with pytest.raises(ValueError, match="different circuit, detection"):
        backend.sample(other_circuit)
    with pytest.raises(ValueError, match="holds 500 shots, fewer than the 600 requested"):
        backend.sample(SampleRequest("recorded:x", request_.circuit, (1, 1, 0, 0), 600))
    with pytest.raises(KeyError, match="no sample set"):
        RecordedBackend("nothere", store=SampleStore(tmp_path))


def test_unknown_backend_lists_the_forms():
    with pytest.raises(ValueError, match=r"unknown backend 'qiskit'; use one of: local, perceval:<Backend>"):
        get_backend("qiskit")


def test_get_or_sample_refuses_a_mismatched_backend(tmp_path, request_):
    with pytest.raises(ValueError, match="cannot serve a request for 'perceval:SLOS'"):
        get_or_sample(request_.with_backend("perceval:SLOS"), tmp_path, backend=NoCall())


# -- every read verifies the sidecar ---------------------------------------------------------------
def _edit(json_path, change):
    provenance = json.loads(json_path.read_text())
    change(provenance)
    json_path.write_text(json.dumps(provenance))
    return provenance


def test_an_edited_request_is_refused_by_every_read(tmp_path, request_):
    store, _, json_path = _stored(tmp_path, request_)
    _edit(json_path, lambda provenance: provenance["request"].update(seed=4))
    with pytest.raises(CorruptSampleError, match=rf"{json_path.name}: the recorded request does not hash to the file "
                                                 r"name \(it hashes to [0-9a-f]{12}\.\.\.\)"):
        store.load(request_.request_id())
    with pytest.raises(CorruptSampleError, match="does not hash"):
        get_or_sample(request_, store, backend=NoCall())  # fetch: never replayed, never sampled over
    with pytest.raises(CorruptSampleError, match="does not hash to its recorded request_id"):
        RecordedBackend(str(json_path))  # the open format, read by path
    infos, problems = store.survey()
    assert infos == [] and "does not hash" in problems[json_path.name]


def test_an_edit_made_consistent_still_does_not_answer_to_the_file_name(tmp_path, request_):
    store, npz_path, json_path = _stored(tmp_path, request_)

    def rewrite(provenance):
        provenance["request"]["seed"] = 4
        provenance["request_id"] = recorded_request_id(provenance)
        provenance["provenance_sha256"] = provenance_sha256(provenance)

    edited = _edit(json_path, rewrite)
    with pytest.raises(CorruptSampleError, match="does not hash to the file name"):
        store.load(request_.request_id())
    # Read as a free-standing pair, it is what it says: a set for the seed-4 request.
    assert read_sample_files(npz_path, json_path).request_id == edited["request_id"] != request_.request_id()


@pytest.mark.parametrize("change", [
    lambda p: p.update(finished_at="2001-01-01T00:00:00+00:00"),
    lambda p: p.update(started_at="2001-01-01T00:00:00+00:00"),
    lambda p: p["software"].update(numpy="0.0.1"),
    lambda p: p["backend"].update(name="perceval:SLOS"),
    lambda p: p["backend"]["shards"].update(rows=7),
    lambda p: p.update(note="added"),
    lambda p: p.pop("software"),
], ids=["finished_at", "started_at", "software", "backend", "shards", "added", "removed"])
def test_the_provenance_checksum_covers_everything_that_describes_a_set(tmp_path, request_, change):
    store, _, json_path = _stored(tmp_path, request_)
    _edit(json_path, change)
    with pytest.raises(CorruptSampleError, match=rf"{json_path.name}: the provenance does not match its "
                                                 "provenance_sha256"):
        store.load(request_.request_id())
    assert "provenance_sha256" in store.verify()[json_path.name][0]


def test_a_fresh_set_reads_back_with_the_provenance_it_was_created_with(tmp_path, request_):
    store = SampleStore(tmp_path)
    created = get_or_sample(request_, store, progress=False)
    assert created.provenance == store.load(request_.request_id()).provenance
    assert created.provenance["provenance_sha256"] == provenance_sha256(created.provenance)
    assert not created.counts.flags.writeable


def test_sets_written_before_the_provenance_checksum_stay_readable(tmp_path, request_):
    store, _, json_path = _stored(tmp_path, request_)
    _edit(json_path, lambda provenance: provenance.pop("provenance_sha256"))
    assert store.load(request_.request_id()).counts.shape == (500, 4)
    assert store.verify() == {} and store.unsealed() == [request_.request_id()]
    _edit(json_path, lambda provenance: provenance["request"].update(seed=4))  # the request is still checked
    with pytest.raises(CorruptSampleError, match="does not hash to the file name"):
        store.load(request_.request_id())


def test_survey_lists_the_good_sets_and_reports_the_bad_one(tmp_path, request_, interferometer):
    store, _, json_path = _stored(tmp_path, request_)
    other = SampleRequest("local", interferometer, (1, 0, 1, 0), 50, seed=1)
    get_or_sample(other, store, progress=False)
    json_path.write_text("{broken")
    infos, problems = store.survey()
    assert [info.request_id for info in infos] == [other.request_id()] and infos[0].n_samples == 50
    assert list(problems) == [json_path.name] and "unreadable provenance" in problems[json_path.name]
    with pytest.raises(CorruptSampleError, match="unreadable provenance"):
        store.list()


def test_verifying_a_store_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sample store at .*nothing to verify"):
        SampleStore(tmp_path / "missing").verify()


def test_an_unknown_recorded_source_names_both_readings(tmp_path):
    with pytest.raises(UnknownSampleSetError, match="recorded:nothere: no such file, and no sample set in") as caught:
        get_backend("recorded:nothere", store=SampleStore(tmp_path))
    assert isinstance(caught.value, KeyError) and "'" not in str(caught.value).split(":")[0]


# -- size limits -----------------------------------------------------------------------------------
def test_a_request_past_the_memory_limit_is_refused_before_sampling(tmp_path, interferometer):
    store = SampleStore(tmp_path)
    huge = SampleRequest("local", interferometer, (1, 1, 0, 0), 10 ** 9, seed=1)
    estimate = estimate_sampling(huge, get_backend("local"))
    assert estimate.memory_bytes == 3 * 10 ** 9 * 4  # uint8 counts, three copies while merging
    with pytest.raises(SampleSizeError, match=r"refusing to sample 1,000,000,000 shots of 2 photon\(s\) in 4 modes "
                                              r"on local: it needs about 11\.2 GiB of memory, past the limit of "
                                              r"1 GiB \(--max-memory GB of qlatent samples fetch or qlatent "
                                              r"sweep, \$QLATENT_MAX_MEMORY_GB for any run, max_memory_gb= in "
                                              r"Python\)") as caught:
        get_or_sample(huge, store, backend=NoCall(), limits=SamplingLimits(max_memory_gb=1))
    assert caught.value.estimate.memory_bytes == estimate.memory_bytes
    assert list(tmp_path.iterdir()) in ([], [store.lock_path(huge.request_id())])  # no shard was drawn


def test_a_request_past_the_time_limit_is_refused_and_limits_can_be_lifted(tmp_path):
    store = SampleStore(tmp_path)
    twenty = SampleRequest("local", haar_interferometer(40, seed=1), (1,) * 20 + (0,) * 20, 10 ** 6, seed=1)
    seconds = estimate_sampling(twenty, get_backend("local")).seconds
    assert 2 * 3600 < seconds < 6 * 3600  # measured: about 90 twenty-photon shots a second on one core

    class Estimated(NoCall):
        def estimate(self, request):
            return get_backend("local").estimate(request)

    with pytest.raises(SampleSizeError, match=r"about 3 h on one core, past the limit of 1 h \(--max-hours H"):
        get_or_sample(twenty, store, backend=Estimated(), limits=SamplingLimits(max_hours=1))
    lifted = SamplingLimits(max_memory_gb=None, max_hours=None, max_jobs=None)
    lifted.check(SamplingEstimate(10 ** 15, 10.0 ** 9, 10 ** 9), twenty)  # nothing is refused


def test_remote_requests_are_sized_in_jobs():
    from qlatent.qpu.backends.perceval_remote import RemoteBackend

    backend = RemoteBackend("sim:slos", token="unused", chunk_size=10_000)
    request = SampleRequest("remote:sim:slos", haar_interferometer(4, seed=0), (1, 1, 0, 0), 10 ** 9)
    estimate = backend.estimate(request)
    assert estimate.n_jobs == 100_000 and estimate.seconds is None
    with pytest.raises(SampleSizeError, match="100,000 cloud jobs, past the limit of 1,000"):
        SamplingLimits().check(estimate, request)
    SamplingLimits().check(backend.estimate(request.__class__.from_dict({**request.to_dict(),
                                                                         "n_samples": 10 ** 7})), request)


@pytest.mark.parametrize("limits", [{"max_memory_gb": 0}, {"max_hours": -1}, {"max_jobs": 1.5},
                                    {"max_jobs": True}])
def test_limits_must_be_positive(limits):
    with pytest.raises(ValueError, match="must be a positive"):
        SamplingLimits(**limits)


def test_the_limits_defaults_come_from_the_environment(monkeypatch):
    """How ``qlatent sweep --max-memory`` reaches its runs' banks (and anyone's notebook run): one place."""
    from qlatent.qpu.limits import LIMIT_ENV, default_max_memory_gb

    for name in LIMIT_ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert SamplingLimits() == SamplingLimits(default_max_memory_gb(), 168.0, 1000)
    monkeypatch.setenv("QLATENT_MAX_MEMORY_GB", "0.5")
    monkeypatch.setenv("QLATENT_MAX_HOURS", "0")
    monkeypatch.setenv("QLATENT_MAX_JOBS", "7")
    assert SamplingLimits() == SamplingLimits(0.5, None, 7)
    assert SamplingLimits(max_memory_gb=2).max_memory_gb == 2  # an explicit limit wins
    monkeypatch.setenv("QLATENT_MAX_JOBS", "1.5")
    with pytest.raises(ValueError, match=r"\$QLATENT_MAX_JOBS must be a non-negative whole number \(0: no limit\), "
                                         r"got '1.5'"):
        SamplingLimits()
    monkeypatch.setenv("QLATENT_MAX_MEMORY_GB", "lots")
    with pytest.raises(ValueError, match=r"\$QLATENT_MAX_MEMORY_GB must be a non-negative number"):
        SamplingLimits()


def test_minus_zero_is_the_same_request_as_zero(interferometer):
    # -0.0 and 0.0 are one physical request; they had two content addresses (two cache entries)
    make = dict(backend="local", circuit=interferometer, input_state=(1, 1, 0, 0), n_samples=10, seed=1)
    assert SampleRequest(**make, transmission=-0.0).request_id() == SampleRequest(**make, transmission=0.0).request_id()
    assert str(SampleRequest(**make, brightness=-0.0).brightness) == "0.0"


# -- a full disk, and the lock file ----------------------------------------------------------------
def test_a_full_disk_names_the_file_and_a_failed_fetch_leaves_no_lock_file(tmp_path, request_, monkeypatch):
    import errno

    def no_space(file, **_):
        raise OSError(errno.ENOSPC, "No space left on device")  # as zipfile's write reports it: no file named

    store = SampleStore(tmp_path)
    monkeypatch.setattr(np, "savez", no_space)
    shard = tmp_path / f"{request_.request_id()}.shards" / "shard-000000.npz"
    with pytest.raises(OSError, match=rf"No space left on device: '{shard}'") as caught:
        get_or_sample(request_, store, progress=False, executor="serial")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(shard)
    assert not store.lock_path(request_.request_id()).exists()
    assert request_.request_id() not in store


def test_the_lock_file_removed_while_held_still_excludes_a_waiter(tmp_path):
    """The design the removal above relies on: processes waiting on the lock file when its holder
    removes it (still holding it), and newcomers that then lock a new file at the same path, never
    hold the lock together (filelock re-checks, once locked, that its file still has a name).
    Whichever of them wins the new file goes first; the test asserts only exclusion."""
    import threading
    import time

    from filelock import FileLock

    path = str(tmp_path / ".set.lock")
    holder = FileLock(path, is_singleton=False)
    holder.acquire()
    guard, holders, overlaps, done = threading.Lock(), [0], [], []

    def contend() -> None:
        with FileLock(path, is_singleton=False).acquire(timeout=20):
            with guard:
                holders[0] += 1
                overlaps.append(holders[0] > 1)
            time.sleep(0.2)
            with guard:
                holders[0] -= 1
        done.append(True)

    waiter, newcomer = threading.Thread(target=contend), threading.Thread(target=contend)
    waiter.start()
    time.sleep(0.3)  # the waiter polls the file the holder holds
    (tmp_path / ".set.lock").unlink()  # removed while held, as get_or_sample does
    newcomer.start()  # locks a new file at the same path, racing the waiter's next poll
    time.sleep(0.3)
    holder.release()
    waiter.join(30)
    newcomer.join(30)
    assert done == [True, True] and overlaps == [False, False]


def test_a_requests_id_is_hashed_once(request_, monkeypatch):
    """The id hashes the circuit's matrix as JSON (seconds for hundreds of modes) and a fetch asks
    for it many times: it is computed once per (frozen) request."""
    from qlatent.qpu import sampleset

    request = SampleRequest(request_.backend, request_.circuit, request_.input_state, request_.n_samples, seed=3)
    expected = request_.request_id()
    calls = []
    encode = sampleset.canonical_json
    monkeypatch.setattr(sampleset, "canonical_json", lambda obj: calls.append(1) or encode(obj))
    assert request.request_id() == request.request_id() == expected
    assert len(calls) == 1
    assert request.with_backend("perceval:SLOS").request_id() != request.request_id()


def test_requests_of_the_books_sizes_keep_their_ids():
    """Ids key stored banks and training runs: computed at the commit before large matrices went binary."""
    fourier = np.fft.fft(np.eye(3)) / np.sqrt(3)
    assert SampleRequest("local", haar_interferometer(4, seed=0), (1, 1, 0, 0), 100, seed=1).request_id() == \
        "81f88ad2629413a6ed32155dfea38af3b13bd28610ad546e4781a5c33ea8e149"
    assert SampleRequest("local", haar_interferometer(64, seed=3), (1,) * 8 + (0,) * 56, 1000, seed=2,
                         transmission=0.5).request_id() == \
        "7fc94a9172046e48db0e79da807bf99c4ae2ba6011b803d7064cc94b10867def"  # JSON_MATRIX_MAX_MODES: still JSON
    assert SampleRequest("perceval:SLOS", fourier, (1, 1, 0), 10).request_id() == \
        "d6edb09ee269e7b25c0bc60a8d10dbed07af10e894297c6f3dd5eb71246c2ac4"


def test_a_large_circuits_matrix_is_stored_in_binary_and_hashed(tmp_path):
    """M = 512 as JSON numbers made an 18 MB sidecar beside a 778-byte counts file; the matrix goes
    in the .npz, the request records its SHA-256, and every read checks it."""
    from qlatent.qpu.sampleset import JSON_MATRIX_MAX_MODES, array_sha256, is_binary_circuit

    n_modes = 256
    assert n_modes > JSON_MATRIX_MAX_MODES
    circuit = haar_interferometer(n_modes, seed=1)
    request = SampleRequest("local", circuit, (1, 1) + (0,) * (n_modes - 2), 20, seed=5)
    assert is_binary_circuit(request.circuit) and request.circuit["sha256"] == array_sha256(circuit.unitary)
    np.testing.assert_array_equal(request.unitary, circuit.unitary)
    store = SampleStore(tmp_path)
    sample_set = get_or_sample(request, store, progress=False)
    npz_path, json_path = store.paths(request.request_id())
    assert json_path.stat().st_size < 4096  # the matrix alone is 1 MiB in binary, 4.5 MB as JSON
    loaded = store.load(request.request_id())
    np.testing.assert_array_equal(loaded.unitary, circuit.unitary)
    assert loaded.request == request and loaded.request.request_id() == request.request_id()
    assert store.verify() == {}
    np.testing.assert_array_equal(get_or_sample(request, store, backend=NoCall()).counts, sample_set.counts)
    moved = request.with_backend("perceval:SLOS")
    np.testing.assert_array_equal(moved.unitary, circuit.unitary)
    assert moved.circuit == request.circuit and moved.request_id() != request.request_id()
    with pytest.raises(ValueError, match="keeps its .* matrix in binary: pass the matrix"):
        SampleRequest.from_dict(request.to_dict())
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        SampleRequest.from_dict(request.to_dict(), unitary=circuit.unitary[::-1])

    other = haar_interferometer(n_modes, seed=2).unitary  # a unitary, but not the recorded one
    np.savez(npz_path, counts=sample_set.counts, unitary=other)
    with pytest.raises(CorruptSampleError, match="circuit's matrix does not match the SHA-256"):
        store.load(request.request_id())
    np.savez(npz_path, counts=sample_set.counts)
    with pytest.raises(CorruptSampleError, match="unreadable counts file .*unitary"):
        store.load(request.request_id())


def test_a_set_whose_large_matrix_was_stored_as_json_is_named_by_verify(tmp_path):
    """Sets written before large matrices went binary still read, but no request addresses them any more."""
    from qlatent.qpu.sampleset import _matrix_to_json, canonical_json
    from qlatent.qpu.store import write_sample_files

    n_modes = 80
    request = SampleRequest("local", haar_interferometer(n_modes, seed=1), (1,) + (0,) * (n_modes - 1), 5, seed=5)
    fresh = get_backend("local").sample(request)
    recorded = json.loads(json.dumps(fresh.provenance))
    unitary = _matrix_to_json(request.unitary)  # as the earlier version kept it
    recorded["request"]["circuit"]["unitary"] = unitary
    recorded["request"]["circuit"]["sha256"] = hashlib.sha256(canonical_json(unitary).encode()).hexdigest()
    recorded["request_id"] = recorded_request_id(recorded)
    recorded["provenance_sha256"] = provenance_sha256(recorded)
    store = SampleStore(tmp_path)
    write_sample_files(SampleSet(fresh.counts, recorded), *store.paths(recorded["request_id"]))
    assert store.load(recorded["request_id"]).n_modes == n_modes
    assert store.verify() == {f"{recorded['request_id']}.json": [
        "its 80-mode matrix is kept as JSON, as before matrices of more than 64 modes went binary: no request of "
        "this version addresses it (its id hashes the matrix); delete both files"]}
