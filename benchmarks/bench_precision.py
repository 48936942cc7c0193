"""The tail of the sampler's per-shot rounding bound on realistic banks, against ``SHOT_TOLERANCE``.

:class:`qlatent.photonics.sampling.SamplerSetup` samples each shot in float64 with a bound on the
probability that rounding changed it; a shot whose bound exceeds
:data:`~qlatent.photonics.sampling.SHOT_TOLERANCE` is recomputed in exact arithmetic, and for
photons spread over many modes that recomputation can exceed its budget (an error, never wrong
samples). This script draws ``--shots`` shots of each setting with the kernel's own bounds (no
tolerance, so nothing is redone), prints quantiles, the largest bound, how many shots exceed the
tolerance and a log-normal fit's estimate of the fraction that would in a bank of the paper's
size (10^6 shots), so that the tolerance's margin is a measurement, not a guess. The fit is an
extrapolation far beyond the shots drawn, on one Haar unitary per setting: read it as an order of
magnitude, not a probability with an error bar.

Usage: ``python benchmarks/bench_precision.py [--shots 10000] [--settings haar-24 beam-splitter-45 ...] [--out PATH]``
(default settings: the Haar ones)
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from qlatent.photonics.interferometers import haar_unitary
from qlatent.photonics.sampling import SHOT_TOLERANCE, SUBSET_TABLE_MAX, SamplerSetup, sample_batch

_BEAM_SPLITTER = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)
#: name: (interferometer, input state); Haar settings hold one photon in each of the first half of the modes
SETTINGS = {**{f"haar-{n}": (lambda n=n: haar_unitary(2 * n, 7), [1] * n + [0] * n) for n in (16, 20, 24)},
            **{f"beam-splitter-{n}": (lambda: _BEAM_SPLITTER, [n, n]) for n in (30, 45, 100)}}
PAPER_BANK = 10**6
MIN_FIT_SHOTS = 100  # fewer positive bounds than this: no tail estimate (NaN)


def shot_bounds(name: str, shots: int, seed: int = 0, batch: int = 500) -> np.ndarray:
    """Per-shot rounding bounds of ``shots`` shots of the setting ``name`` (:data:`SETTINGS`)."""
    make_unitary, state = SETTINGS[name]
    setup = SamplerSetup(make_unitary(), state, "indistinguishable", 1.0, 1.0, "pnr", False, 0)
    rng = np.random.default_rng(seed)
    bounds = []
    for start in range(0, shots, batch):
        rows = min(batch, shots - start)
        draws, status = setup.draw(rows, rng)
        out = np.zeros((rows, setup.n_modes), dtype=setup.dtype)
        failed, bound = np.zeros(rows, dtype=np.uint8), np.zeros(rows)
        sample_batch(setup.photons, setup.cdf, status, draws, setup.n_modes, SUBSET_TABLE_MAX, setup.subsets,
                     setup.offsets, rows, out, failed, setup.n_interfering, np.inf, bound)
        bounds.append(bound)
    return np.concatenate(bounds)


def summary(bounds: np.ndarray) -> dict[str, float]:
    """Quantiles, the maximum, the count above the tolerance and a log-normal tail estimate."""
    from scipy.stats import norm

    # the fit extrapolates a tail no shot reached (photons spread over many modes); where shots already exceed the
    # tolerance (many photons in few modes) their count is the measurement and the fit is not made. It is of the
    # positive bounds (zero: no step counted) and needs a sample.
    finite = bounds[np.isfinite(bounds) & (bounds > 0)]
    above = math.nan
    if finite.size >= MIN_FIT_SHOTS and np.all(bounds <= SHOT_TOLERANCE):
        logs = np.log(finite)
        mu, sigma = float(logs.mean()), float(logs.std(ddof=1))
        above = float(norm.sf((math.log(SHOT_TOLERANCE) - mu) / sigma)) * finite.size / bounds.size if sigma > 0 \
            else 0.0

    def quantile(q: float) -> float:  # an actual bound ("higher"): interpolating next to an infinite one gives NaN
        return float(np.quantile(bounds, q, method="higher"))

    return {"shots": int(bounds.size), "median": quantile(0.5), "p99": quantile(0.99), "p999": quantile(0.999),
            "max": float(bounds.max()), "above_tolerance": int((~(bounds <= SHOT_TOLERANCE)).sum()),
            "margin": SHOT_TOLERANCE / float(bounds.max()), "lognormal_fraction_above": above,
            "lognormal_expected_in_paper_bank": above * PAPER_BANK}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=10_000)
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=[f"haar-{n}" for n in (16, 20, 24)])
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = {}
    print(f"SHOT_TOLERANCE = {SHOT_TOLERANCE:g}; {args.shots} shots per setting", flush=True)
    print(f"{'setting':>9} {'median':>9} {'99%':>9} {'99.9%':>9} {'max':>9} {'> tol':>6} {'margin':>8} "
          f"{'fit: in 1e6':>12} {'s':>6}", flush=True)
    for name in args.settings:
        start = time.perf_counter()
        row = rows[name] = summary(shot_bounds(name, args.shots))
        row["seconds"] = time.perf_counter() - start
        print(f"{name:>9} {row['median']:>9.2g} {row['p99']:>9.2g} {row['p999']:>9.2g} {row['max']:>9.2g} "
              f"{row['above_tolerance']:>6} {row['margin']:>7.0f}x {row['lognormal_expected_in_paper_bank']:>12.2g} "
              f"{row['seconds']:>6.0f}", flush=True)
    if args.out is not None:
        from qlatent.io import atomic_write_json

        # valid JSON: an infinite bound (a weight left float64's range) or an undefined fit is written as text
        rows = {name: {key: value if not isinstance(value, float) or math.isfinite(value) else str(value)
                       for key, value in row.items()} for name, row in rows.items()}
        atomic_write_json(args.out, {"shot_tolerance": SHOT_TOLERANCE, "rows": rows,
                                     "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


if __name__ == "__main__":
    main()
