"""Perceval circuits and local backends: unitaries equal, noise models agree with ours, samples follow the law."""

from __future__ import annotations

import signal

import numpy as np
import pytest
from scipy import stats

from qlatent.photonics import output_probabilities
from qlatent.photonics.clements import decompose
from qlatent.photonics.interferometers import haar_interferometer
from qlatent.photonics.timebin import random_timebin_interferometer
from qlatent.qpu import SampleRequest, get_backend, perceval_unitary, to_perceval_circuit
from qlatent.qpu.backends.perceval_local import PercevalBackend
from qlatent.qpu.circuits import mesh_to_perceval_circuit

pytest.importorskip("perceval")


def test_matrix_conversion_keeps_the_unitary():
    interferometer = haar_interferometer(6, seed=2)
    np.testing.assert_allclose(perceval_unitary(to_perceval_circuit(interferometer)), interferometer.unitary,
                               atol=1e-12)
    np.testing.assert_allclose(perceval_unitary(to_perceval_circuit(interferometer.unitary)),
                               interferometer.unitary, atol=1e-12)


@pytest.mark.parametrize("interferometer", [
    decompose(haar_interferometer(5, seed=1).unitary).to_interferometer(),
    random_timebin_interferometer(6, [1, 2, 3], seed=4),
    random_timebin_interferometer(5, [4], seed=5),
], ids=["clements", "timebin-1-2-3", "timebin-4"])
def test_mesh_conversion_keeps_the_unitary(interferometer):
    circuit = mesh_to_perceval_circuit(interferometer)
    assert circuit.ncomponents() > 1
    np.testing.assert_allclose(perceval_unitary(circuit), interferometer.unitary, atol=1e-12)


def test_conversion_errors():
    with pytest.raises(ValueError, match="a Perceval circuit needs a unitary matrix"):
        to_perceval_circuit(0.9 * np.eye(3))
    with pytest.raises(ValueError, match="no mesh to convert for an interferometer of kind 'haar'"):
        mesh_to_perceval_circuit(haar_interferometer(3, seed=0))


def test_unknown_perceval_backend_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Perceval has no backend 'Slos'; known backends: .*SLOS"):
        get_backend("perceval:Slos")


def test_perceval_backend_refuses_lossy_matrices():
    request = SampleRequest("perceval:SLOS", 0.9 * np.eye(2), (1, 1), 10)
    with pytest.raises(ValueError, match="needs a unitary matrix"):
        get_backend("perceval:SLOS").sample(request)


def _distribution(patterns, probabilities):
    return {tuple(int(k) for k in row): float(p) for row, p in zip(patterns, probabilities)}


@pytest.mark.parametrize(("model", "x", "transmission", "brightness", "detection"), [
    ("indistinguishable", 1.0, 1.0, 1.0, "pnr"),
    ("distinguishable", 1.0, 0.7, 1.0, "pnr"),
    ("partial", 0.6, 0.8, 0.9, "pnr"),
    ("partial", 0.6, 1.0, 1.0, "threshold"),
])
def test_perceval_noise_model_matches_ours_exactly(model, x, transmission, brightness, detection):
    """Perceval's exact output law under our request's noise equals ours (x → x² for Perceval)."""
    interferometer = haar_interferometer(4, seed=5)
    request = SampleRequest("perceval:SLOS", interferometer, (1, 1, 1, 0), 10, model=model, indistinguishability=x,
                            transmission=transmission, brightness=brightness, detection=detection)
    theirs = {}
    for state, p in PercevalBackend("SLOS").processor(request).probs()["results"].items():
        key = tuple(min(k, 1) if detection == "threshold" else k for k in state)
        theirs[key] = theirs.get(key, 0.0) + float(p)
    ours = _distribution(*output_probabilities(interferometer.unitary, request.input_state, model=model,
                                               indistinguishability=x, transmission=transmission * brightness,
                                               detection=detection))
    keys = set(theirs) | set(ours)
    assert 0.5 * sum(abs(theirs.get(k, 0.0) - ours.get(k, 0.0)) for k in keys) < 1e-9


@pytest.mark.parametrize("name", ["SLOS", "CliffordClifford2017"])
def test_perceval_samples_follow_the_exact_law(name):
    interferometer = haar_interferometer(4, seed=9)
    request = SampleRequest(f"perceval:{name}", interferometer, (1, 1, 0, 1), 4000, seed=21)
    backend = PercevalBackend(name, chunk_size=1500)
    counts = backend.sample(request).counts
    assert counts.shape == (4000, 4) and counts.dtype == np.uint8 and np.all(counts.sum(axis=1) == 3)
    if name == "SLOS":  # exqalibur's multithreaded Clifford sampler is not reproducible past ~1000 shots per call
        np.testing.assert_array_equal(counts, PercevalBackend(name, chunk_size=1500).sample(request).counts)
    exact = _distribution(*output_probabilities(interferometer.unitary, request.input_state))
    patterns, observed = np.unique(counts, axis=0, return_counts=True)
    seen = dict(zip(map(tuple, patterns.tolist()), observed))
    keys = sorted(exact)
    expected = 4000 * np.array([exact[k] for k in keys])
    statistic = float(np.sum((np.array([seen.get(k, 0) for k in keys]) - expected) ** 2 / expected))
    assert set(seen) <= set(exact)
    assert statistic < stats.chi2.ppf(1 - 1e-4, df=len(keys) - 1)


def test_hom_dip_through_perceval():
    splitter = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    backend = get_backend("perceval:SLOS")
    same = backend.sample(SampleRequest("perceval:SLOS", splitter, (1, 1), 1000, seed=1)).counts
    assert not np.any(np.all(same == 1, axis=1))
    apart = backend.sample(SampleRequest("perceval:SLOS", splitter, (1, 1), 4000, seed=2,
                                         model="distinguishable")).counts
    coincidences = np.mean(np.all(apart == 1, axis=1))
    assert abs(coincidences - 0.5) < 5 * np.sqrt(0.25 / 4000)
    clicks = backend.sample(SampleRequest("perceval:SLOS", splitter, (1, 1), 200, seed=3,
                                          detection="threshold")).counts
    assert clicks.max() == 1


def test_postselection_through_perceval_matches_the_binomial_tail():
    """Three photons, η = 0.6, keep shots with all three: acceptance 0.6³ = 0.216, as with our sampler."""
    from qlatent.photonics.interferometers import haar_interferometer

    request = SampleRequest("perceval:SLOS", haar_interferometer(3, seed=1), (1, 1, 1), 400, seed=4,
                            transmission=0.6, min_detected=3)
    result = get_backend("perceval:SLOS").sample(request)
    assert result.counts.shape == (400, 3) and np.all(result.counts.sum(axis=1) == 3)
    post = result.provenance["backend"]["postselection"]
    assert abs(post["acceptance"] - 0.216) < 5 * np.sqrt(0.216 * 0.784 / post["n_shots"])


def sigint_reaches_python() -> bool:
    """True if SIGINT raised now ends in Python's KeyboardInterrupt (not in exqalibur's handler)."""
    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
        return True
    return False


def _sample(name):
    request = SampleRequest(f"perceval:{name}", haar_interferometer(4, seed=1), (1, 1, 0, 0), 300, seed=1)
    return get_backend(request.backend).sample(request)


@pytest.mark.parametrize("call", [
    lambda: _sample("CliffordClifford2017"),
    lambda: _sample("SLOS"),
    lambda: perceval_unitary(to_perceval_circuit(haar_interferometer(3, seed=0))),
    lambda: __import__("qlatent.experiments.interference", fromlist=["x"]).output_distribution(
        np.eye(2), [1, 1], 0.5),
], ids=["clifford", "slos", "circuit", "interference"])
def test_ctrl_c_reaches_python_after_perceval_ran(call):
    """exqalibur installs its own SIGINT handler at every computation and keeps it; we hand SIGINT back."""
    from qlatent.qpu.interrupts import restore_python_sigint

    restore_python_sigint()  # whatever Perceval code ran before this test (a mock cloud's thread, say)
    assert sigint_reaches_python()
    call()
    assert sigint_reaches_python()


def test_a_ctrl_c_that_exqalibur_caught_is_delivered_when_the_block_ends():
    from perceval.algorithm import Sampler

    from qlatent.qpu.interrupts import python_sigint

    backend = PercevalBackend("CliffordClifford2017")
    request = SampleRequest("perceval:CliffordClifford2017", haar_interferometer(4, seed=1), (1, 1, 0, 0), 10)
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), python_sigint():
        Sampler(backend.processor(request)).samples(10)  # exqalibur's handler is now installed
        signal.raise_signal(signal.SIGINT)  # lands in it: only exqalibur's flag is set
        reached_the_end = True
    assert reached_the_end and sigint_reaches_python()
