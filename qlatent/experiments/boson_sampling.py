"""The latent distributions seen through our sampler: marginals, correlations, loss, detection.

Indistinguishable, partially distinguishable and distinguishable photons sent through one
interferometer have the same mean count in every output mode (the one-photon marginals do not
depend on interference) but different mode–mode covariances: the fingerprint of interference
that a quantum latent hands to a generator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PHOTON_MODELS = ("indistinguishable", "partial", "distinguishable")


def _model_options(model: str, indistinguishability: float) -> dict[str, object]:
    if model not in PHOTON_MODELS:
        raise ValueError(f"unknown photon model {model!r}; choose from {', '.join(PHOTON_MODELS)}")
    return {"model": model, "indistinguishability": indistinguishability if model == "partial" else 1.0}


def sample_models(unitary: np.ndarray, input_state: Sequence[int], n_samples: int, indistinguishability: float,
                  seed: int, models: Sequence[str] = PHOTON_MODELS, **options: object) -> dict[str, np.ndarray]:
    """Samples of each photon model through the same interferometer, each from its own child seed."""
    from qlatent.photonics import sample

    seeds = np.random.SeedSequence(seed).spawn(len(models))
    return {model: sample(unitary, input_state, n_samples, seed=np.random.default_rng(child),
                          **_model_options(model, indistinguishability), **options)
            for model, child in zip(models, seeds)}


def mode_means_table(samples: dict[str, np.ndarray]) -> pd.DataFrame:
    """Mean count per output mode and its standard error, for each model."""
    rows = []
    for model, counts in samples.items():
        means, sems = counts.mean(axis=0), counts.std(axis=0, ddof=1) / np.sqrt(len(counts))
        rows += [{"model": model, "mode": mode, "mean": float(mean), "sem": float(sem)}
                 for mode, (mean, sem) in enumerate(zip(means, sems))]
    return pd.DataFrame(rows)


def _covariance_rows(label: str, covariance: np.ndarray, source: str) -> list[dict[str, object]]:
    n_modes = covariance.shape[0]
    return [{"model": label, "source": source, "mode_i": i, "mode_j": j, "covariance": float(covariance[i, j])}
            for i in range(n_modes) for j in range(n_modes)]


def covariance_table(samples: dict[str, np.ndarray]) -> pd.DataFrame:
    """Empirical mode–mode covariance ``⟨n_i n_j⟩ − ⟨n_i⟩⟨n_j⟩`` for each model (long format)."""
    rows = []
    for model, counts in samples.items():
        rows += _covariance_rows(model, np.cov(counts.astype(float), rowvar=False), "sampled")
    return pd.DataFrame(rows)


def exact_covariance(unitary: np.ndarray, input_state: Sequence[int], model: str,
                     indistinguishability: float = 1.0) -> np.ndarray:
    """Mode–mode covariance of the exact output distribution (small photon numbers only)."""
    from qlatent.photonics import output_probabilities

    patterns, probabilities = output_probabilities(unitary, input_state,
                                                   **_model_options(model, indistinguishability))
    patterns = patterns.astype(float)
    mean = probabilities @ patterns
    second = patterns.T @ (patterns * probabilities[:, None])
    return second - np.outer(mean, mean)


def exact_covariance_table(unitary: np.ndarray, input_state: Sequence[int], indistinguishability: float,
                           models: Sequence[str] = PHOTON_MODELS) -> pd.DataFrame:
    """Exact covariances of each model, in the same long format as :func:`covariance_table`."""
    rows = []
    for model in models:
        rows += _covariance_rows(model, exact_covariance(unitary, input_state, model, indistinguishability), "exact")
    return pd.DataFrame(rows)


def total_distribution_table(counts: np.ndarray, **labels: object) -> pd.DataFrame:
    """Distribution of the number of detected photons (or clicks) per sample, with ``labels`` as columns."""
    totals = counts.sum(axis=1, dtype=np.int64)
    values, frequencies = np.unique(totals, return_counts=True)
    return pd.DataFrame({**labels, "n_detected": values, "frequency": frequencies / len(totals)})


def loss_and_detection_table(unitary: np.ndarray, input_state: Sequence[int], n_samples: int,
                             transmissions: Sequence[float], seed: int) -> pd.DataFrame:
    """Detected-photon (PNR) and click (threshold) number distributions at each uniform transmission.

    Indistinguishable photons. With uniform loss the number of surviving photons is binomial
    ``B(n, η)`` whatever the interferometer; threshold detectors then under-count bunched photons.
    """
    from qlatent.photonics import sample

    seeds = np.random.SeedSequence(seed).spawn(len(transmissions))
    tables = []
    for transmission, child in zip(transmissions, seeds):
        counts = sample(unitary, input_state, n_samples, transmission=float(transmission),
                        seed=np.random.default_rng(child))
        tables.append(total_distribution_table(counts, transmission=float(transmission), detection="pnr"))
        tables.append(total_distribution_table(np.minimum(counts, 1), transmission=float(transmission),
                                               detection="threshold"))
    return pd.concat(tables, ignore_index=True)


def bunching_fraction_table(samples: dict[str, np.ndarray]) -> pd.DataFrame:
    """Fraction of samples with some mode holding two or more photons, per model."""
    return pd.DataFrame([{"model": model, "p_bunched": float((counts.max(axis=1) >= 2).mean()),
                          "n_samples": len(counts)} for model, counts in samples.items()])
