"""Hardware-style latents: post-selected sampling against known acceptance rates and distributions,
the simulated PT-2 source through the store (deterministic, resumable), and its bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, chisquare

from qlatent.latent.pt2 import PT2Source, pt2_counts
from qlatent.photonics import sample, sample_postselected
from qlatent.photonics.interferometers import haar_unitary
from qlatent.qpu import SampleRequest, SampleStore, get_or_sample, shards
from qlatent.qpu.backends.local import SHARD_SIZE, LocalBackend, draw_shard, sample_shard
from qlatent.qpu.errors import QPUError

BEAM_SPLITTER = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)


def within(observed: float, p: float, n: int, sigmas: float = 5.0) -> bool:
    return abs(observed - p) <= sigmas * math.sqrt(p * (1 - p) / n)


def test_pnr_acceptance_is_the_binomial_tail_and_detections_follow_the_truncated_binomial():
    """8 photons in 8 modes, η = 0.5, keep ≥ 5: acceptance P(Bin(8, .5) ≥ 5) = 93/256."""
    unitary = haar_unitary(8, seed=2)
    counts, n_shots, n_passed = sample_postselected(unitary, [1] * 8, 4000, min_detected=5, transmission=0.5,
                                                    seed=1, batch_size=1000)
    expected = binom.sf(4, 8, 0.5)
    assert expected == pytest.approx(93 / 256)
    assert counts.shape == (4000, 8) and n_passed >= 4000
    assert within(n_passed / n_shots, expected, n_shots)
    detected = counts.sum(axis=1)
    assert detected.min() >= 5
    observed = np.bincount(detected, minlength=9)[5:]
    tail = binom.pmf(np.arange(5, 9), 8, 0.5) / expected
    assert chisquare(observed, tail * len(counts)).pvalue > 1e-4
    assert PT2Source(n_modes=8, min_detected=5, transmission=0.5).expected_acceptance() == pytest.approx(expected)


def test_accepted_shots_are_the_unconditioned_shots_that_pass():
    """Post-selection only filters: the patterns of accepted shots follow the exact law conditioned on passing."""
    from qlatent.photonics import output_probabilities

    unitary, state = haar_unitary(4, seed=5), [1, 1, 1, 0]
    patterns, probs = output_probabilities(unitary, state, transmission=0.7)
    keep = patterns.sum(axis=1) >= 2
    counts, _, _ = sample_postselected(unitary, state, 20_000, min_detected=2, transmission=0.7, seed=3)
    index = {tuple(p): i for i, p in enumerate(patterns[keep].tolist())}
    observed = np.bincount([index[tuple(row)] for row in counts.tolist()], minlength=keep.sum())
    expected = probs[keep] / probs[keep].sum() * len(counts)
    assert chisquare(observed, expected).pvalue > 1e-4


def test_threshold_acceptance_on_a_beam_splitter():
    """Two photons on a 50:50 beam splitter, keep two clicks: 1/2 when distinguishable, 0 when they interfere."""
    counts, n_shots, n_passed = sample_postselected(BEAM_SPLITTER, [1, 1], 2000, min_detected=2,
                                                    model="distinguishable", detection="threshold", seed=4)
    assert (counts == 1).all() and within(n_passed / n_shots, 0.5, n_shots)
    with pytest.raises(ValueError, match=r"accepted 0 of \d+ shots \(max_shots=500\): too rare to collect 10"):
        sample_postselected(BEAM_SPLITTER, [1, 1], 10, min_detected=2, detection="threshold", seed=4, max_shots=500)


def test_without_postselection_it_is_plain_sampling():
    unitary = haar_unitary(6, seed=1)
    counts, n_shots, n_passed = sample_postselected(unitary, [1, 1, 1, 0, 0, 0], 2500, min_detected=0,
                                                    transmission=0.8, seed=9, batch_size=1000)
    assert (n_shots, n_passed) == (2500, 2500)
    np.testing.assert_array_equal(counts, sample(unitary, [1, 1, 1, 0, 0, 0], 2500, transmission=0.8, seed=9))


def test_postselection_threshold_above_the_photons_is_refused():
    with pytest.raises(ValueError, match="min_detected=4 exceeds the 3 photons sent in"):
        sample_postselected(haar_unitary(4, seed=0), [1, 1, 1, 0], 10, min_detected=4)
    with pytest.raises(ValueError, match="min_detected=9 exceeds the 8 photons"):
        SampleRequest("local", haar_unitary(8, seed=0), [1] * 8, 10, min_detected=9)
    with pytest.raises(ValueError, match="min_detected must be a non-negative integer, got -1"):
        SampleRequest("local", haar_unitary(8, seed=0), [1] * 8, 10, min_detected=-1)


# ---------------------------------------------------------------- the simulated PT-2 source


def small_source(**overrides) -> PT2Source:
    return PT2Source(**{"n_modes": 8, "min_detected": 4, "transmission": 0.5, "circuit_seed": 3, **overrides})


def test_pt2_source_defaults_are_the_papers_runs():
    source = PT2Source()
    assert (source.n_modes, source.photons, source.loop_lengths, source.min_detected) == (32, 32, (1, 1), 16)
    assert source.input_state() == (1,) * 32
    assert source.expected_acceptance() == pytest.approx(binom.sf(15, 32, 0.5))
    assert source.interferometer().kind == "timebin"
    assert PT2Source(detection="threshold").expected_acceptance() is None


def test_pt2_counts_go_through_the_store_with_the_acceptance(tmp_path):
    source = small_source()
    counts, info = pt2_counts(source, 3000, seed=5, store=tmp_path)
    assert counts.shape == (3000, 8) and counts.sum(axis=1).min() >= 4
    post = info["postselection"]
    assert post["min_detected"] == 4 and post["acceptance"] == pytest.approx(post["n_passed"] / post["n_shots"])
    assert within(post["acceptance"], info["expected_acceptance"], post["n_shots"])
    store = SampleStore(tmp_path)
    assert store.load(info["sample_set"]).provenance["request"]["min_detected"] == 4
    again, _ = pt2_counts(source, 3000, seed=5, store=tmp_path)  # replayed, not re-sampled
    np.testing.assert_array_equal(again, counts)
    fresh, _ = pt2_counts(source, 3000, seed=5, store=tmp_path / "other")  # deterministic for a seed
    np.testing.assert_array_equal(fresh, counts)
    other_seed, _ = pt2_counts(source, 3000, seed=6, store=tmp_path)
    assert not np.array_equal(other_seed, counts)


def test_threshold_pt2_counts_are_clicks(tmp_path):
    counts, info = pt2_counts(small_source(detection="threshold"), 500, seed=1, store=tmp_path)
    assert counts.max() == 1 and counts.sum(axis=1).min() >= 4 and info["expected_acceptance"] is None
    assert 0 < info["postselection"]["acceptance"] < small_source().expected_acceptance()


def test_a_postselected_bank_is_drawn_in_shards_that_resume_with_their_acceptance(tmp_path, monkeypatch):
    """A killed post-selected bank keeps its finished shards (counts and shots examined) and resumes to
    the bank one uninterrupted call draws; the acceptance sums every shard's shots."""
    request = small_source().request(3 * SHARD_SIZE + 10, seed=7)
    reference = LocalBackend().sample(request)
    draws = [draw_shard(request, index, 7) for index in range(4)]
    post = reference.provenance["backend"]["postselection"]
    assert post["n_shots"] == sum(draw.n_shots for draw in draws)
    assert post["n_passed"] == sum(draw.n_passed for draw in draws) >= request.n_samples
    np.testing.assert_array_equal(sample_shard(request, 1, 7), draws[1].counts)

    def failing(request, index, entropy, setup):
        if index == 2:
            raise RuntimeError("the node went away")
        return draw_shard(request, index, entropy, setup)

    monkeypatch.setattr(shards, "draw_shard", failing)
    store = SampleStore(tmp_path)
    with pytest.raises(QPUError, match=r"1 of 4 shard\(s\)"):
        get_or_sample(request, store, progress=False)
    monkeypatch.setattr(shards, "draw_shard", draw_shard)
    resumed = get_or_sample(request, store, progress=False)
    np.testing.assert_array_equal(resumed.counts, reference.counts)
    assert resumed.provenance["backend"]["postselection"] == post


def test_requests_without_postselection_keep_their_ids_and_counts():
    """Adding min_detected left requests without it, their store addresses and their shards unchanged."""
    request = SampleRequest("local", haar_unitary(5, seed=1), [1, 1, 0, 0, 0], 1234, transmission=0.9, seed=3)
    assert "min_detected" not in request.to_dict()
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence(3, spawn_key=(1,))))
    np.testing.assert_array_equal(sample_shard(request, 1, 3),
                                  sample(request.unitary, request.input_state, 234, transmission=0.9, seed=generator))
    assert "postselection" not in LocalBackend().sample(request).provenance["backend"]


@pytest.mark.parametrize("overrides, match", [
    ({"n_photons": 9}, "n_photons=9 is more photons than the 8 time bins"),
    ({"transmission": 0.0}, r"transmission η must lie in \(0, 1\], got 0.0"),
    ({"transmission": 1.2}, r"transmission η must lie in \(0, 1\], got 1.2"),
    ({"min_detected": 9}, r"min_detected=9 must lie in \[0, 8\]"),
    ({"n_photons": 3, "min_detected": 4}, r"min_detected=4 must lie in \[0, 3\]"),
    ({"detection": "click"}, "detection must be one of"),
    ({"n_modes": 1}, "n_modes must be at least 2 time bins, got 1"),
    ({"loop_lengths": (1, 8)}, "loop length 8 out of range"),
    ({"n_modes": 8.0}, "n_modes must be an integer, got 8.0"),
])
def test_pt2_source_bad_inputs(overrides, match):
    with pytest.raises(ValueError, match=match):
        small_source(**overrides)


# ---------------------------------------------------------------- the pt2 latent of the paper's family


def test_pt2_latent_from_a_spec(tmp_path):
    from qlatent.latent.photonic import LatentSpec, build_latent

    spec = LatentSpec(size=8, circuit="1-1", bank_size=500, pt2_transmission=0.6)
    latent = build_latent("pt2", spec, seed=2, store=tmp_path)
    assert latent.dim == 8 and latent.name == "pt2"
    origin = latent.describe()["source"]
    assert origin["source"]["min_detected"] == 4 and origin["source"]["photons"] == 8
    assert origin["source"]["loop_lengths"] == [1, 1] and origin["postselection"]["min_detected"] == 4
    assert latent.bank.sum(axis=1).min() >= 4  # the bank holds the raw counts; the draws are centred
    # the same seed gives the same bank; the boson latent of that seed has its own circuit
    assert np.array_equal(build_latent("pt2", spec, seed=2, store=tmp_path).bank, latent.bank)
    haar = build_latent("pt2", LatentSpec(size=8, bank_size=500, pt2_transmission=0.6), seed=2, store=tmp_path)
    assert np.array_equal(haar.bank, latent.bank)  # "haar" means the PT-2's own "1-1" loops


def test_pt2_latent_replays_recorded_hardware_shots(tmp_path):
    from qlatent.latent.photonic import LatentSpec, build_latent
    from qlatent.photonics.timebin import random_timebin_interferometer
    from qlatent.qpu.shots import write_shots_file

    circuit = random_timebin_interferometer(8, (1, 1), seed=1)
    shots = sample(circuit.unitary, [1] * 8, 900, transmission=0.55, seed=0)
    path = write_shots_file(tmp_path / "run", shots, input_state=[1] * 8, detection="pnr", device="PT-2 (test file)",
                            circuit={"kind": "timebin", "loop_lengths": [1, 1], "thetas": circuit.parameters["thetas"],
                                     "phis": circuit.parameters["phis"]})
    spec = LatentSpec(size=8, circuit="1-1", bank_size=200, backend=f"recorded:{path}")
    latent = build_latent("pt2", spec, seed=0, store=tmp_path / "store")
    np.testing.assert_array_equal(latent.bank, shots[shots.sum(axis=1) >= 4][:200])
    assert latent.describe()["source"]["device"] == "PT-2 (test file)"
    with pytest.raises(ValueError, match="have 8 time bins per shot, but the latent size is 10"):
        build_latent("pt2", LatentSpec(size=10, circuit="1-1", bank_size=20, backend=f"recorded:{path}"), seed=0,
                     store=tmp_path / "store")


@pytest.mark.parametrize("overrides, match", [
    ({"pt2_transmission": 0.0}, r"transmission η must lie in \(0, 1\], got 0.0"),
    ({"pt2_transmission": 1.5}, r"transmission η must lie in \(0, 1\], got 1.5"),
    ({"pt2_min_detected": 9}, r"min_detected=9 must lie in \[0, 8\]"),
    ({"pt2_detection": "apd"}, "detection must be one of"),
    ({"circuit": "1-9"}, "circuit '1-9' has a loop of 9 time bins"),
    ({"size": 7}, "size=7 is odd"),
])
def test_pt2_spec_bad_inputs(overrides, match):
    from qlatent.latent.photonic import LatentSpec

    with pytest.raises(ValueError, match=match):
        LatentSpec(**{"size": 8, **overrides})


def test_bank_request_is_what_build_latent_asks_the_store_for(tmp_path):
    from qlatent.latent.photonic import LatentSpec, bank_request, build_latent
    from qlatent.qpu import SampleStore

    spec = LatentSpec(size=8, circuit="1-1", bank_size=300)
    for name in ("boson", "distinguishable", "shuffled-counts", "pt2"):
        request = bank_request(name, spec, seed=4)
        get_or_sample(request, store=tmp_path, progress=False)
        latent = build_latent(name, spec, seed=4, store=tmp_path)
        if name != "shuffled-counts":
            np.testing.assert_array_equal(latent.bank, SampleStore(tmp_path).load(request.request_id()).counts)
    assert len(SampleStore(tmp_path).ids()) == 3  # shuffled counts reuse the boson bank
    assert bank_request("gaussian", spec, seed=4) is None and bank_request("bernoulli", spec, seed=4) is None
