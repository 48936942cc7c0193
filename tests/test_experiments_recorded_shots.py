"""Bring your own photons: the example file, its comparison with the ideal circuit, and the fit of
loss and distinguishability, checked against closed forms and the truth the example was made from."""

from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np
import pytest
from conftest import REPO

from qlatent.experiments.recorded_shots import (
    SHOTS_FILE_FAULTS,
    ShotsFileFault,
    fault_message,
    fit_loss_and_distinguishability,
    ideal_distribution,
    marginals_table,
    pair_correlation_table,
    photon_number_table,
    shots_for_tvd,
    simulate_shots_file,
    tvd_summary,
)
from qlatent.qpu.shots import read_shots_file, write_shots_file

EXAMPLE = REPO / "data" / "examples" / "pt_series_3photons_6bins.json"
EXAMPLE_ARGUMENTS = dict(n_modes=6, loop_lengths=[1, 2], n_photons=3, n_shots=4000, indistinguishability=0.9,
                         transmission=0.8, detection="pnr", seed=2026)


def test_the_example_file_is_made_by_the_documented_call(tmp_path):
    remade = simulate_shots_file(tmp_path / "example.json", **EXAMPLE_ARGUMENTS)
    assert remade.with_suffix(".csv").read_bytes() == EXAMPLE.with_suffix(".csv").read_bytes()
    ours, shipped = json.loads(remade.read_text()), json.loads(EXAMPLE.read_text())
    assert {**ours, "counts_file": None} == {**shipped, "counts_file": None}


def test_the_example_file_round_trips(tmp_path):
    shots = read_shots_file(EXAMPLE)
    meta = json.loads(EXAMPLE.read_text())
    again = write_shots_file(tmp_path / "copy", shots.counts, input_state=shots.input_state,
                             detection=shots.detection, circuit=meta["circuit"], device=shots.device,
                             notes=meta["notes"])
    copy = read_shots_file(again)
    np.testing.assert_array_equal(copy.counts, shots.counts)
    np.testing.assert_allclose(copy.circuit.unitary, shots.circuit.unitary, atol=0)


def test_tables_on_a_beam_splitter_match_closed_forms(tmp_path):
    """HOM: indistinguishable photons give (2,0) and (0,2) with ½ each; mean 1 per mode, covariance −1."""
    half = {"kind": "matrix", "real": [[0.7071067811865476, 0.7071067811865476],
                                       [0.7071067811865476, -0.7071067811865476]], "imag": [[0, 0], [0, 0]]}
    counts = np.array([[2, 0]] * 3 + [[0, 2]] * 3 + [[1, 1]] * 2)
    shots = read_shots_file(write_shots_file(tmp_path / "hom", counts, input_state=[1, 1], detection="pnr",
                                             circuit=half, device="bench"))
    patterns, probs = ideal_distribution(shots)
    assert dict(zip(map(tuple, patterns.tolist()), np.round(probs, 12))) == {(2, 0): 0.5, (1, 1): 0.0, (0, 2): 0.5}
    marginals = marginals_table(counts, patterns, probs)
    np.testing.assert_allclose(marginals["ideal"], [1, 1])
    np.testing.assert_allclose(marginals["observed"], [1, 1])
    np.testing.assert_allclose(marginals["standard_error"], np.std(counts, axis=0, ddof=1) / math.sqrt(8))
    pairs = pair_correlation_table(counts, patterns, probs)
    assert pairs["ideal"].tolist() == pytest.approx([-1.0])
    assert pairs["observed"].tolist() == pytest.approx([np.cov(counts.T, bias=True)[0, 1]])
    numbers = photon_number_table(counts, patterns, probs)
    assert numbers.to_dict("list") == {"n_detected": [2], "observed": [1.0], "ideal": [pytest.approx(1.0)]}
    summary = tvd_summary(counts, patterns, probs, n_bootstrap=50, seed=0)
    assert summary["tvd"] == pytest.approx(0.25)  # (1,1) observed 2/8 where the ideal has 0
    assert 0 < summary["standard_error"] < 0.25 and summary["n_shots"] == 8


def test_post_selection_conditions_the_ideal_distribution(tmp_path):
    counts = np.array([[1, 1], [2, 0], [0, 2]])
    shots = read_shots_file(write_shots_file(
        tmp_path / "post", counts, input_state=[1, 1], detection="pnr", min_detected=2, device="bench",
        circuit={"kind": "matrix", "real": [[1, 0], [0, 1]], "imag": [[0, 0], [0, 0]]}))
    patterns, probs = ideal_distribution(shots, transmission=0.5)
    assert patterns.sum(axis=1).min() == 2 and probs.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no pattern holds at least 2 detected photons at transmission 0.0"):
        ideal_distribution(shots, transmission=0.0)


def test_the_fit_recovers_the_loss_and_distinguishability_the_example_was_made_with():
    shots = read_shots_file(EXAMPLE)
    fit = fit_loss_and_distinguishability(shots, np.round(np.linspace(0.6, 1.0, 9), 3), np.linspace(0, 1, 11))
    best = fit.iloc[0]
    assert best["transmission"] == pytest.approx(EXAMPLE_ARGUMENTS["transmission"])
    assert abs(best["indistinguishability"] - EXAMPLE_ARGUMENTS["indistinguishability"]) <= 0.1 + 1e-12
    assert fit["log_likelihood"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="the grid needs at least one transmission"):
        fit_loss_and_distinguishability(shots, [], [1.0])


def test_shots_from_the_ideal_circuit_sit_at_the_exact_sampler_distance():
    from qlatent.photonics import sample

    shots = read_shots_file(EXAMPLE)
    patterns, probs = ideal_distribution(shots)
    ideal_counts = sample(shots.circuit.unitary, shots.input_state, 4000, seed=5)
    summary = tvd_summary(ideal_counts, patterns, probs, n_bootstrap=20, seed=0)
    assert summary["tvd"] < 2 * summary["expected_exact"]
    device = tvd_summary(shots.counts, patterns, probs, n_bootstrap=20, seed=0)
    assert device["tvd"] - 3 * device["standard_error"] > 5 * device["expected_exact"]  # the loss is plain to see


def test_shots_for_a_target_distance():
    probs = np.full(4, 0.25)
    one = 0.5 * 4 * math.sqrt(2 * 0.25 * 0.75 / math.pi)
    assert shots_for_tvd(probs, 0.01) == math.ceil((one / 0.01) ** 2)
    assert shots_for_tvd(probs, 1.0) == 1
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"target TVD must be in \(0, 1\]"):
            shots_for_tvd(probs, bad)
    with pytest.raises(ValueError, match="n_bootstrap must be ≥ 2, got 1"):
        tvd_summary(np.ones((2, 2), int), np.ones((1, 2), int), np.ones(1), n_bootstrap=1, seed=0)


def test_the_example_replays_through_the_recorded_backend(tmp_path):
    from qlatent.qpu import get_or_sample
    from qlatent.qpu.shots import recorded_request

    folder = tmp_path / "bank"
    folder.mkdir()
    for suffix in (".json", ".csv"):
        shutil.copy2(EXAMPLE.with_suffix(suffix), folder / EXAMPLE.with_suffix(suffix).name)
    request = recorded_request(folder / EXAMPLE.name, 1000, min_detected=3)
    served = get_or_sample(request, store=tmp_path / "store").counts
    assert served.shape == (1000, 6) and (served.sum(axis=1) >= 3).all()


@pytest.mark.parametrize("fault", SHOTS_FILE_FAULTS, ids=lambda fault: fault.what)
def test_every_fault_the_chapter_shows_gets_its_documented_error(fault, tmp_path):
    message = fault_message(fault, EXAMPLE, tmp_path)
    assert re.search(fault.message, message), message
    assert str(tmp_path) not in message and "faulty." in message


def test_a_fault_the_reader_misses_is_reported(tmp_path):
    harmless = ShotsFileFault("a valid extra shot", "never", shot="1,0,0,1,1,0")
    with pytest.raises(RuntimeError, match="the fault 'a valid extra shot' was read without error"):
        fault_message(harmless, EXAMPLE, tmp_path)
