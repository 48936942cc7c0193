"""One experiment on several photonic backends: do their samples agree with the exact distribution?

Each backend's samples come through the sample store (:func:`qlatent.qpu.get_or_sample`), so a
re-run replays them. Agreement is measured by the total variation distance (TVD) between the
empirical and the exact distribution, set against the TVD an exact sampler is expected to show
with the same number of samples: ``E[TVD] ≈ ½ Σ_k √(2 p_k (1 − p_k) / (π n))`` (the mean absolute
deviation of a binomial frequency, normal approximation).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def total_variation(counts: np.ndarray, patterns: np.ndarray, probabilities: np.ndarray) -> float:
    """TVD between the empirical distribution of ``counts`` and ``probabilities`` over ``patterns``.

    Observed patterns absent from ``patterns`` count fully towards the distance.
    """
    index = {tuple(int(n) for n in pattern): k for k, pattern in enumerate(patterns)}
    observed = np.zeros(len(patterns))
    outside = 0
    rows, frequencies = np.unique(np.asarray(counts), axis=0, return_counts=True)
    for row, frequency in zip(rows, frequencies):
        k = index.get(tuple(int(n) for n in row))
        if k is None:
            outside += frequency
        else:
            observed[k] = frequency
    n = len(counts)
    return 0.5 * (np.abs(observed / n - probabilities).sum() + outside / n)


def expected_sampling_tvd(probabilities: np.ndarray, n_samples: int) -> float:
    """TVD an exact sampler shows on average with ``n_samples`` samples (normal approximation)."""
    p = np.asarray(probabilities, dtype=float)
    return float(0.5 * np.sqrt(2 * p * (1 - p) / (np.pi * n_samples)).sum())


def backend_comparison_table(interferometer: Any, input_state: Sequence[int], n_samples: int,
                             backends: Sequence[str], seed: int, store: Any = None, *,
                             model: str = "indistinguishable", indistinguishability: float = 1.0) -> pd.DataFrame:
    """Sample one request on each backend; TVD to the exact distribution, timings, replay check.

    Columns: ``backend``, ``request_id``, ``tvd``, ``expected_tvd`` (exact-sampler average),
    ``first_call_s`` (sampling, or loading if already stored), ``replay_s``, ``replay_identical``.
    """
    from qlatent.photonics import output_probabilities
    from qlatent.qpu import SampleRequest, get_or_sample

    patterns, probabilities = output_probabilities(interferometer.unitary, input_state, model=model,
                                                   indistinguishability=indistinguishability)
    expected = expected_sampling_tvd(probabilities, n_samples)
    rows = []
    for backend in backends:
        request = SampleRequest(backend, interferometer, tuple(input_state), n_samples, model=model,
                                indistinguishability=indistinguishability, seed=seed)
        started = time.perf_counter()
        first = get_or_sample(request, store=store, progress=False)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        replay = get_or_sample(request, store=store, progress=False)
        rows.append({
            "backend": backend,
            "request_id": request.request_id()[:12],
            "tvd": total_variation(first.counts, patterns, probabilities),
            "expected_tvd": expected,
            "first_call_s": first_seconds,
            "replay_s": time.perf_counter() - started,
            "replay_identical": bool(np.array_equal(first.counts, replay.counts)),
        })
    return pd.DataFrame(rows)
