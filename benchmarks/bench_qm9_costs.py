"""What one Table II run costs here: MolGAN steps, the 10,000-molecule evaluation, the latent banks.

The QM9 chapter's profiles are sized from these numbers (the standard profile must fit about
three hours on two cores). Measured, each the best of a few repeats (other work may share the
machine; the minimum is the least disturbed):

- seconds per ``train_step`` of the paper's modified MolGAN (:meth:`MolGANConfig.paper`) at a
  given batch size, critic ratio and number of torch threads;
- the evaluation of 10,000 generated molecules: sampling and decoding, :func:`summarize`, the
  ChemNet statistics of a random held-out reference (once per process), and FCD for a generator
  whose molecules are all distinct (a copy of 10,000 training molecules) — the worst case, since
  ChemNet runs once per distinct SMILES;
- samples per second of the exact sampler at half filling (Haar, 8, 16, 20 and 24 photons) and of
  the simulated PT-2 source (32 bins, loops 1-1, η, post-selection on 16 detections).

Usage: ``python benchmarks/bench_qm9_costs.py [--threads 1 2] [--parts train eval sampler pt2] [--out PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from functools import partial
from pathlib import Path


def best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _train_steps(model, draw_batch, latent, generator, k: int) -> None:
    for _ in range(k):
        model.train_step(draw_batch, latent, generator)


def train_costs(threads: list[int], latent_dim: int, batches: list[int], critic_ratios: list[int]) -> list[dict]:
    import torch

    from qlatent.data.qm9 import load_qm9
    from qlatent.latent import GaussianLatent
    from qlatent.models.molgan import GraphBank, MolGAN, MolGANConfig

    dataset = load_qm9(subset=20_000, seed=0)
    bank = GraphBank.from_dataset(dataset, "train")
    rows = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for batch in batches:
            for n_critic in critic_ratios:
                model = MolGAN(MolGANConfig.paper(latent_dim, dataset.n_atom_types, n_critic=n_critic), seed=0)
                latent, generator = GaussianLatent(latent_dim), torch.Generator().manual_seed(0)

                steps = partial(_train_steps, model, partial(bank.batch, batch, generator), latent, generator)
                steps(2)
                seconds = best_of(partial(steps, 4), 4) / 4
                rows.append({"part": "train", "threads": n_threads, "batch": batch, "n_critic": n_critic,
                             "latent_dim": latent_dim, "seconds_per_step": round(seconds, 4)})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def eval_costs(n_generated: int, n_reference: int) -> list[dict]:
    import numpy as np
    import torch
    from rdkit import Chem

    from qlatent.data.qm9 import load_qm9
    from qlatent.latent import GaussianLatent
    from qlatent.metrics import molecules as M
    from qlatent.models.molgan import MolGAN, MolGANConfig

    torch.set_num_threads(1)
    dataset = load_qm9(seed=0)
    train, test = dataset.split_smiles("train"), dataset.split_smiles("test")
    model = MolGAN(MolGANConfig.paper(32, dataset.n_atom_types), seed=0, encoder=dataset.atom_encoder)
    row: dict = {"part": "eval", "n_generated": n_generated, "n_reference": n_reference}
    start = time.perf_counter()
    model.sample_molecules(n_generated, GaussianLatent(32), torch.Generator().manual_seed(0))
    row["sample_and_decode_s"] = time.perf_counter() - start
    rng = np.random.default_rng(0)
    copied = [train[i] for i in rng.choice(len(train), n_generated, replace=False)]
    mols = [Chem.MolFromSmiles(s) for s in copied]
    start = time.perf_counter()
    M.summarize(mols, set(train), seed=0)
    row["summarize_all_distinct_s"] = time.perf_counter() - start
    reference = M.reference_sample(test, n_reference, seed=0)
    start = time.perf_counter()
    statistics = M.chemnet_statistics(reference)
    row["reference_statistics_s"] = time.perf_counter() - start
    start = time.perf_counter()
    row["fcd_training_copy_vs_random_reference"] = M.fcd(copied, statistics)
    row["fcd_all_distinct_s"] = time.perf_counter() - start
    row["fcd_training_copy_vs_first_rows"] = M.fcd(copied, test[:n_reference])
    row = {key: round(value, 4) if isinstance(value, float) else value for key, value in row.items()}
    print(json.dumps(row), flush=True)
    return [row]


def sampler_costs(threads: list[int]) -> list[dict]:
    import numba

    from qlatent.photonics import sample
    from qlatent.photonics.interferometers import haar_unitary

    rows = []
    for n_threads in threads:
        numba.set_num_threads(n_threads)
        for photons, n in ((8, 20_000), (16, 2_000), (20, 300), (24, 40)):
            unitary, state = haar_unitary(2 * photons, seed=1), [1] * photons + [0] * photons
            sample(unitary, state, 10, seed=0)
            seconds = best_of(partial(sample, unitary, state, n, seed=3, batch_size=n), 2)
            rows.append({"part": "sampler", "threads": n_threads, "photons": photons, "modes": 2 * photons,
                         "samples_per_s": round(n / seconds, 2)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def pt2_costs(threads: list[int], etas: list[float], n_accepted: int) -> list[dict]:
    import numba

    from qlatent.latent.pt2 import PT2Source
    from qlatent.photonics import sample_postselected

    rows = []
    for n_threads in threads:
        numba.set_num_threads(n_threads)
        for eta in etas:
            for detection in ("pnr", "threshold"):
                source = PT2Source(transmission=eta, detection=detection)
                unitary = source.interferometer().unitary
                start = time.perf_counter()
                counts, shots, passed = sample_postselected(unitary, source.input_state(), n_accepted,
                                                            min_detected=source.min_detected, transmission=eta,
                                                            detection=detection, seed=1)
                seconds = time.perf_counter() - start
                rows.append({"part": "pt2", "threads": n_threads, "eta": eta, "detection": detection,
                             "accepted_per_s": round(n_accepted / seconds, 2), "acceptance": round(passed / shots, 4),
                             "expected_acceptance": source.expected_acceptance(),
                             "mean_detected": round(float(counts.sum(axis=1).mean()), 2)})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--parts", nargs="+", default=["train", "eval", "sampler", "pt2"],
                        choices=["train", "eval", "sampler", "pt2"])
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 64])
    parser.add_argument("--critic-ratios", type=int, nargs="+", default=[5, 1])
    parser.add_argument("--etas", type=float, nargs="+", default=[0.5])
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    rows: list[dict] = []
    if "train" in args.parts:
        rows += train_costs(args.threads, 32, args.batches, args.critic_ratios)
    if "eval" in args.parts:
        rows += eval_costs(10_000, 5_000)
    if "sampler" in args.parts:
        rows += sampler_costs(args.threads)
    if "pt2" in args.parts:
        rows += pt2_costs(args.threads, args.etas, 200)
    if args.out is not None:
        machine = {"platform": platform.platform(), "cpus": os.cpu_count(),
                   "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}
        args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
