"""Local sample banks in seeded shards: the same bytes for any number of workers, resumable, locked."""

from __future__ import annotations

import multiprocessing
import threading
import time

import numpy as np
import pytest

import qlatent.qpu.shards as shards
from qlatent.photonics import sample
from qlatent.photonics.interferometers import haar_interferometer
from qlatent.qpu import QPUError, SampleRequest, SampleStore, get_or_sample
from qlatent.qpu.backends.local import SHARD_SIZE, LocalBackend, sample_shard, shard_rows
from qlatent.qpu.sampleset import counts_sha256
from qlatent.sweep.executors import ExecutorSettings

N_SAMPLES = 4 * SHARD_SIZE + SHARD_SIZE // 2  # five shards, the last one half full


@pytest.fixture(scope="module")
def request_():
    return SampleRequest("local", haar_interferometer(6, seed=5), (1, 1, 1, 0, 0, 0), N_SAMPLES, seed=11)


def test_shards_cut_the_request_and_derive_their_seeds_from_it(request_):
    assert shard_rows(N_SAMPLES) == [SHARD_SIZE] * 4 + [SHARD_SIZE // 2]
    assert shard_rows(SHARD_SIZE) == [SHARD_SIZE] and shard_rows(1) == [1]
    # shard k is the sampler run with NumPy's k-th spawned child of the request's seed
    children = np.random.SeedSequence(11).spawn(5)
    for index in (0, 4):
        expected = sample(request_.unitary, request_.input_state, shard_rows(N_SAMPLES)[index],
                          seed=np.random.default_rng(children[index]))
        np.testing.assert_array_equal(sample_shard(request_, index, 11), expected)
    with pytest.raises(IndexError, match="shard 5 of a request with 5 shard"):
        sample_shard(request_, 5, 11)


def test_a_shorter_request_is_the_head_of_a_longer_one(request_):
    short = SampleRequest("local", request_.circuit, request_.input_state, 2 * SHARD_SIZE + 7, seed=11)
    long = LocalBackend().sample(request_).counts
    np.testing.assert_array_equal(LocalBackend().sample(short).counts, long[: short.n_samples])


def test_the_bank_is_byte_identical_for_one_two_and_three_workers(request_, tmp_path):
    direct = LocalBackend().sample(request_)
    banks = {}
    for workers, settings in ((1, ExecutorSettings("serial")), (2, ExecutorSettings("local", workers=2)),
                              (3, ExecutorSettings("local", workers=3))):
        store = SampleStore(tmp_path / f"workers{workers}")
        banks[workers] = get_or_sample(request_, store, progress=False, executor=settings)
        assert store.verify() == {}
        stored = sorted(p.name for p in store.paths(request_.request_id()))
        assert sorted(p.name for p in store.root.iterdir()) == stored
    for workers, bank in banks.items():
        assert bank.counts.tobytes() == direct.counts.tobytes(), workers
        assert bank.provenance["counts"]["sha256"] == counts_sha256(direct.counts)
    assert banks[1].provenance["backend"]["shards"] == {"rows": SHARD_SIZE, "count": 5,
                                                        "seeds": "SeedSequence(entropy, spawn_key=(k,)) for shard k"}


def _counting(monkeypatch, fail_at: int | None = None) -> list[int]:
    calls: list[int] = []

    def counted(request, index, entropy, setup):
        calls.append(index)
        if index == fail_at:
            raise RuntimeError("the worker's node went away")
        return sample_shard(request, index, entropy, setup)

    monkeypatch.setattr(shards, "sample_shard", counted)
    return calls


def test_finished_shards_are_kept_and_a_failed_bank_resumes_with_the_missing_ones(request_, tmp_path, monkeypatch):
    store = SampleStore(tmp_path)
    calls = _counting(monkeypatch, fail_at=3)
    with pytest.raises(QPUError, match=r"1 of 5 shard\(s\) of .* failed \(shard 3: RuntimeError: the worker's node"):
        get_or_sample(request_, store, progress=False)
    folder = shards.ShardFolder(store, request_)
    assert sorted(p.name for p in folder.path.glob("shard-*.npz")) == [f"shard-{k:06d}.npz" for k in (0, 1, 2, 4)]
    assert request_.request_id() not in store and store.verify() == {}
    calls = _counting(monkeypatch)
    bank = get_or_sample(request_, store, progress=False)
    assert calls == [3]
    np.testing.assert_array_equal(bank.counts, LocalBackend().sample(request_).counts)
    assert not folder.path.exists() and not store.lock_path(request_.request_id()).exists()


def test_a_bank_whose_every_shard_failed_leaves_no_shard_folder(tmp_path, monkeypatch):
    """Nothing finished, nothing to resume: no empty ``.shards`` folder is left to mislead the next run."""
    request = SampleRequest("local", haar_interferometer(3, seed=1), (1, 1, 0), 2 * SHARD_SIZE, seed=4)
    store = SampleStore(tmp_path)

    def failing(request, index, entropy, setup):
        raise RuntimeError("the worker's node went away")

    monkeypatch.setattr(shards, "sample_shard", failing)
    with pytest.raises(QPUError, match=r"2 of 2 shard\(s\) of .* failed .*; none finished, so nothing was kept"):
        get_or_sample(request, store, progress=False)
    assert not shards.ShardFolder(store, request).path.exists()


def test_a_request_the_sampler_refuses_is_refused_before_the_store_is_touched(tmp_path):
    """The sampler's own checks (here: more photons than counts can hold) run before a lock, a shard
    folder or even the store's folder is created, not in every shard."""
    request = SampleRequest("local", haar_interferometer(3, seed=1), (100_000, 0, 0), 5, model="distinguishable")
    store = SampleStore(tmp_path / "store")
    with pytest.raises(ValueError, match="input state holds 100,000 photons, more than the 65,535 supported"):
        get_or_sample(request, store, progress=False)
    assert not store.root.exists()


def test_a_damaged_shard_file_is_drawn_again(request_, tmp_path, monkeypatch):
    store = SampleStore(tmp_path)
    _counting(monkeypatch, fail_at=4)
    with pytest.raises(QPUError):
        get_or_sample(request_, store, progress=False)
    folder = shards.ShardFolder(store, request_)
    folder.shard_path(1).write_bytes(b"not a shard")
    calls = _counting(monkeypatch)
    bank = get_or_sample(request_, store, progress=False)
    assert sorted(calls) == [1, 4]
    np.testing.assert_array_equal(bank.counts, LocalBackend().sample(request_).counts)


def test_an_unseeded_bank_keeps_its_entropy_across_a_resume(request_, tmp_path, monkeypatch):
    unseeded = SampleRequest("local", request_.circuit, request_.input_state, N_SAMPLES)
    store = SampleStore(tmp_path)
    _counting(monkeypatch, fail_at=2)
    with pytest.raises(QPUError):
        get_or_sample(unseeded, store, progress=False)
    entropy = int(shards.ShardFolder(store, unseeded).plan()["entropy"])
    _counting(monkeypatch)
    bank = get_or_sample(unseeded, store, progress=False)
    assert bank.provenance["backend"]["entropy"] == str(entropy)
    for index in (0, 2):
        np.testing.assert_array_equal(bank.counts[index * SHARD_SIZE:(index + 1) * SHARD_SIZE],
                                      sample_shard(unseeded, index, entropy))


def test_a_shard_folder_of_another_request_is_refused(request_, tmp_path):
    store = SampleStore(tmp_path)
    folder = shards.ShardFolder(store, request_)
    folder.path.mkdir(parents=True)
    (folder.path / "plan.json").write_text('{"request_id": "something else", "shard_rows": [1]}')
    with pytest.raises(QPUError, match="plan is for another request or shard size; delete the folder"):
        get_or_sample(request_, store, progress=False)
    (folder.path / "plan.json").write_text("{not json")
    with pytest.raises(QPUError, match="unreadable shard plan .* delete the folder to restart"):
        get_or_sample(request_, store, progress=False)


def test_a_second_process_waits_for_the_first_and_reads_its_set(request_, tmp_path, monkeypatch):
    store = SampleStore(tmp_path)
    got = []
    lock = store.lock(request_.request_id())  # held here as "the first process" holds it while sampling
    lock.acquire()
    waiting = threading.Thread(target=lambda: got.append(get_or_sample(request_, store, progress=False)))
    waiting.start()
    time.sleep(0.3)
    assert got == []  # blocked on the lock
    store.save(LocalBackend().sample(request_))  # "the first process" stores the set (re-entering its lock)
    calls = _counting(monkeypatch)
    lock.release()
    waiting.join(timeout=30)
    assert calls == [] and got[0].counts.tobytes() == store.load(request_.request_id()).counts.tobytes()


def test_only_slow_banks_follow_the_environments_executor(request_, monkeypatch):
    monkeypatch.setenv("QLATENT_EXECUTOR", "local")
    assert shards.resolve_bank_executor(request_, None, 5).kind == "serial"  # three photons: instant
    big = SampleRequest("local", haar_interferometer(40, seed=1), (1,) * 20 + (0,) * 20, 4000, seed=1)
    assert shards.estimated_seconds(big) > shards.PARALLEL_MIN_SECONDS
    assert shards.resolve_bank_executor(big, None, 4).kind == "local"
    assert shards.resolve_bank_executor(big, None, 1).kind == "serial"  # one shard left: no pool
    assert shards.resolve_bank_executor(request_, "local", 5).kind == "local"  # asked for explicitly
    distinguishable = SampleRequest("local", big.circuit, big.input_state, 4000, model="distinguishable", seed=1)
    assert shards.estimated_seconds(distinguishable) < 1


def _request_one_bank(root, entry, barrier, queue):
    """One of two processes asking at the same moment for one unseeded bank (each would draw other shots)."""
    request = SampleRequest("local", haar_interferometer(4, seed=0), (1, 1, 0, 0), 4 * SHARD_SIZE)
    store = SampleStore(root)
    barrier.wait()
    if entry == "get_or_sample":
        sample_set = get_or_sample(request, store, progress=False)
    else:
        sample_set = shards.sample_in_shards(request, store)
    queue.put((counts_sha256(sample_set.counts), sample_set.provenance["provenance_sha256"]))


@pytest.mark.parametrize("entry", ["get_or_sample", "sample_in_shards"])
def test_two_processes_requesting_one_set_get_the_same_consistent_set(tmp_path, entry):
    """Both processes return the one stored set, and its .npz and .json come from the same writer.

    Unseeded, so two writers would draw different shots: a mixed pair fails its checksum, and two
    draws give the processes different counts.
    """
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    for trial in range(4):
        root = tmp_path / f"trial-{trial}"
        barrier, queue = context.Barrier(2), context.Queue()
        workers = [context.Process(target=_request_one_bank, args=(root, entry, barrier, queue)) for _ in range(2)]
        for worker in workers:
            worker.start()
        results = [queue.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
        assert [worker.exitcode for worker in workers] == [0, 0]
        store = SampleStore(root)
        (request_id,) = store.ids()
        stored = store.load(request_id)  # the pair verifies: counts match the sidecar's checksum
        assert results[0] == results[1] == (counts_sha256(stored.counts), stored.provenance["provenance_sha256"])
        assert store.verify() == {} and not (root / f"{request_id}.shards").exists()


def test_a_lossy_post_selected_bank_is_costed_by_the_photons_that_survive():
    """A PT-2-like bank (32 photons, η = 0.5, 16 detections kept): each shot interferes k ~ Bin(32, 0.5)
    photons, so its cost is set by k ≈ 16-24, not by 32 (which alone would be ~70 s a shot)."""
    from scipy.stats import binom

    circuit = haar_interferometer(32, seed=0)
    lossless = SampleRequest("local", circuit, (1,) * 32, 1000, seed=1)
    lossy = SampleRequest("local", circuit, (1,) * 32, 1000, seed=1, transmission=0.5, min_detected=16)
    k = np.arange(16, 33)
    weights = binom.pmf(k, 32, 0.5) / binom.sf(15, 32, 0.5)
    expected = 1000 * weights @ (k * 2.0 ** k / shards._OPERATIONS_PER_SECOND
                                 + k ** 2 * 32 * shards._SECONDS_PER_PHOTON_MODE)
    assert shards.estimated_seconds(lossy) == pytest.approx(expected + shards._SECONDS_PER_SHARD
                                                            * len(shards.shard_rows(1000)), rel=1e-9)
    assert shards.estimated_seconds(lossy) < shards.estimated_seconds(lossless) / 1000
    # Without loss every shot interferes all 32 photons: n 2^n operations each.
    assert shards.estimated_seconds(lossless) > 1000 * 32 * 2.0 ** 32 / shards._OPERATIONS_PER_SECOND


def test_a_bank_validates_its_matrix_once_however_many_shards(request_, tmp_path, monkeypatch):
    """The sampler's setup (matrix checked and projected) is built once per fetch and sent to every shard:
    an SVD per shard made a --haar 512 fetch validate its matrix four times."""
    import qlatent.photonics.sampling as sampling

    checked: list[tuple[int, ...]] = []
    validate = sampling.validate_transfer_matrix

    def counted(matrix, **options):
        checked.append(np.shape(matrix))
        return validate(matrix, **options)

    monkeypatch.setattr(sampling, "validate_transfer_matrix", counted)
    for executor in ("serial", ExecutorSettings("local", workers=2)):
        checked.clear()
        bank = get_or_sample(request_, SampleStore(tmp_path / str(executor)), progress=False, executor=executor)
        assert checked == [(6, 6)], executor  # five shards, one validation
        np.testing.assert_array_equal(bank.counts, LocalBackend().sample(request_).counts)


@pytest.mark.parametrize(("n", "p"), [(0, 0.5), (1, 0.3), (32, 0.5), (24, 0.9), (20, 1.0), (20, 0.0), (65_535, 0.7)])
def test_the_estimates_binomial_law_is_scipys(n, p):
    """The time estimate's survivors law, computed without importing scipy.stats (seconds before the estimate)."""
    from scipy.stats import binom

    np.testing.assert_allclose(shards.binomial_pmf(n, p), binom.pmf(np.arange(n + 1), n, p), rtol=1e-9, atol=1e-15)
