"""Run one training per (latent × seed) and gather tidy tables: the loop both GAN chapters share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from qlatent.latent.photonic import check_latent_names


@dataclass
class RunOutcome:
    """What one run returns: final scores, its training curve, and optional per-sample rows."""

    scores: dict[str, float]
    curve: pd.DataFrame
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class GridResults:
    """Tidy tables over all runs: ``runs`` (latent, seed, metric, value), ``curves``, ``samples``."""

    runs: pd.DataFrame
    curves: pd.DataFrame
    samples: pd.DataFrame


def run_grid(train_one: Callable[[str, int], RunOutcome], latents: Sequence[str], seeds: Sequence[int],
             progress: bool = True) -> GridResults:
    """Call ``train_one(latent, seed)`` for every pair (latent-major order) and gather the results.

    Unknown latent names are refused before any training starts.
    """
    from tqdm.auto import tqdm

    check_latent_names(list(latents))
    if not seeds:
        raise ValueError("need at least one seed")
    run_rows, curves, samples = [], [], []
    jobs = [(latent, seed) for latent in latents for seed in seeds]
    for latent, seed in tqdm(jobs, desc="runs", disable=not progress):
        outcome = train_one(latent, seed)
        run_rows += [{"latent": latent, "seed": seed, "metric": metric, "value": value}
                     for metric, value in outcome.scores.items()]
        curves.append(outcome.curve.assign(latent=latent, seed=seed))
        if not outcome.samples.empty:
            samples.append(outcome.samples.assign(latent=latent, seed=seed))
    return GridResults(pd.DataFrame(run_rows), pd.concat(curves, ignore_index=True),
                       pd.concat(samples, ignore_index=True) if samples else pd.DataFrame())
