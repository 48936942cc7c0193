"""Wall-clock of 16 short Table I training runs: one process, the local pool at 1 and 2 workers, Ray.

The runs are the real experiment (:func:`qlatent.experiments.discrete.train_run`) at small sizes:
2 datasets x 4 latents x 2 seeds, each about ten seconds of WGAN-GP training on one torch thread
(1,000 iterations; ``--steps`` changes it). Their
sample banks are drawn once before timing (into a fresh store), so every mode times the same
training work; each mode trains into its own fresh runs folder. Modes:

``serial``   ``run_grid`` in this process, one run after another (torch on one thread)
``pool-1``   the local process pool, 1 worker
``pool-2``   the local process pool, 2 workers (target: at least 1.8x ``serial``)
``ray-2``    a local Ray instance of 2 CPUs; timed with its start-up, and without it (the grid
             submitted to an instance already running, as on a cluster). Target: at most 10 %
             over ``pool-2``.

Besides wall clock, each run reports the CPU seconds its own process spent in it; their sum is
the training work, about the same in every mode, and ``work / wall`` is how many cores were busy.
Pool workers' whole CPU time (start-up included) is also read from ``RUSAGE_CHILDREN``; what it
holds beyond the runs' own CPU is the workers' start-up (a fresh interpreter importing torch, pandas
and qlatent: about 4 s of CPU per worker here), a fixed cost that runs of a few seconds cannot hide
(at 300 iterations the pool reached 1.64x) and long runs amortise. The
machine's load average is printed beside each mode: other users of the cores slow wall clock,
not CPU time.

This machine's speed drifts under sustained load (a VM sharing its host): the same 16 runs took
15-20 % more CPU time in whichever mode ran later, so a single pass credits the first mode.
Modes therefore run ``--repeats`` times in mirrored order (serial, pool-1, pool-2, ray-2, then
ray-2, ..., serial), each time into a fresh runs folder, and the speed-ups compare the modes'
summed wall clock, so that a steady drift cancels.

Usage: ``python benchmarks/bench_sweep.py [--steps 1000] [--repeats 2] [--modes serial pool-1 pool-2 ray-2]
[--out PATH]``
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import tempfile
import time
from pathlib import Path

TABLE1_CONFIG = dict(size=16, hidden=(64, 64), batch_size=100, n_train=5000, n_reference=1000, bank_size=5000,
                     eval_samples=1000, curve_samples=200)
MODES = ("serial", "pool-1", "pool-2", "ray-2")


def timed_run(dataset: str, latent: str, seed: int, *, config, runs_dir: Path, store: Path):
    """One Table I run, returning its outcome with the CPU seconds this process spent on it."""
    from qlatent.experiments.discrete import train_run

    cpu = time.process_time()
    outcome = train_run(dataset, latent, seed, config=config, runs_dir=runs_dir, store=store)
    outcome.scores["cpu_seconds"] = time.process_time() - cpu
    return outcome


def jobs() -> list[dict[str, object]]:
    from qlatent.experiments.discrete import table1_jobs

    return table1_jobs({"quantum": [0, 1], "bernoulli": [0, 1]}, ["gaussian", "bernoulli", "distinguishable", "boson"])


def warm_banks(config, store: Path) -> None:
    """Draw every dataset and latent bank the runs use, so timing covers training only."""
    from qlatent.data.discrete import discrete_dataset
    from qlatent.latent.photonic import build_latent

    for job in jobs():
        for role, size in (("train", config.n_train), ("reference", config.n_reference)):
            discrete_dataset(job["dataset"], config.size, size, job["seed"], role, store)
        build_latent(job["latent"], config.latent_spec(), job["seed"], store)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_mode(mode: str, config, store: Path, runs_dir: Path) -> dict[str, float]:
    from qlatent.experiments.grid import run_grid
    from qlatent.sweep.executors import ExecutorSettings

    settings = {"serial": ExecutorSettings("serial"), "pool-1": ExecutorSettings("local", workers=1),
                "pool-2": ExecutorSettings("local", workers=2), "ray-2": ExecutorSettings("ray", workers=2)}[mode]
    train_one = functools.partial(timed_run, config=config, runs_dir=runs_dir, store=store)
    load = os.getloadavg()[0]
    row: dict[str, float] = {}
    if mode == "ray-2":
        import ray

        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
        row["ray_start_seconds"] = time.perf_counter() - start
    wall, cpu, child = time.perf_counter(), time.process_time(), children_cpu()
    results = run_grid(train_one, jobs(), progress=False, executor=settings)
    row["wall_seconds"] = time.perf_counter() - wall
    row["driver_cpu_seconds"] = time.process_time() - cpu
    row["children_cpu_seconds"] = children_cpu() - child
    if mode == "ray-2":
        row["wall_with_start_seconds"] = row["wall_seconds"] + row["ray_start_seconds"]
        ray.shutdown()
    runs = results.runs
    row["run_cpu_seconds"] = float(runs.loc[runs["metric"] == "cpu_seconds", "value"].sum())
    if mode.startswith("pool"):
        row["startup_cpu_seconds"] = row["children_cpu_seconds"] - row["run_cpu_seconds"]
    row["load_average"] = load
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="training iterations per run")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeats", type=int, default=2, help="passes over the modes, in mirrored order")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / "data" / "cache" / "numba"))

    import torch

    from qlatent.experiments.discrete import DiscreteConfig

    torch.set_num_threads(1)  # the serial mode gets what each worker gets: one thread
    config = DiscreteConfig(**TABLE1_CONFIG, n_steps=args.steps, log_every=max(args.steps // 2, 1))
    passes: dict[str, list[dict[str, float]]] = {mode: [] for mode in args.modes}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
        scratch = Path(folder)
        store = scratch / "samples"
        start = time.perf_counter()
        warm_banks(config, store)
        print(f"{len(jobs())} runs of {args.steps} iterations; banks drawn in {time.perf_counter() - start:.1f} s; "
              f"{os.cpu_count()} CPU(s); {args.repeats} mirrored passes", flush=True)
        print(f"{'pass':>4} {'mode':>8} {'wall s':>8} {'run cpu s':>10} {'busy cores':>10} {'children cpu s':>15} "
              f"{'start-up cpu s':>15} {'load':>6}", flush=True)
        for repeat in range(args.repeats):
            for mode in (args.modes if repeat % 2 == 0 else args.modes[::-1]):
                row = run_mode(mode, config, store, scratch / f"{mode}-{repeat}")
                passes[mode].append(row)
                extra = f"  (+{row['ray_start_seconds']:.1f} s to start Ray)" if mode == "ray-2" else ""
                print(f"{repeat:>4} {mode:>8} {row['wall_seconds']:>8.1f} {row['run_cpu_seconds']:>10.1f} "
                      f"{row['run_cpu_seconds'] / row['wall_seconds']:>10.2f} {row['children_cpu_seconds']:>15.1f} "
                      f"{row.get('startup_cpu_seconds', float('nan')):>15.1f} {row['load_average']:>6.2f}{extra}",
                      flush=True)
    totals = {mode: {key: sum(row.get(key, 0.0) for row in rows) / (len(rows) if key == "load_average" else 1)
                     for key in rows[0]} for mode, rows in passes.items()}  # sums over the passes; load: their mean
    if "serial" in totals:
        base = totals["serial"]
        for mode in totals:
            if mode != "serial":
                wall = base["wall_seconds"] / totals[mode]["wall_seconds"]
                cpu = totals[mode]["run_cpu_seconds"] / base["run_cpu_seconds"]
                print(f"speed-up of {mode} over serial: {wall:.2f}x wall clock (all passes); run CPU time "
                      f"{cpu:.2f}x serial's")
    if "pool-2" in totals and "ray-2" in totals:
        pool, ray_row = totals["pool-2"]["wall_seconds"], totals["ray-2"]
        each = ", ".join(f"{100 * (ray['wall_seconds'] / pool_pass['wall_seconds'] - 1):+.1f} %"
                         for ray, pool_pass in zip(passes["ray-2"], passes["pool-2"]))
        print(f"Ray over pool-2: {100 * (ray_row['wall_seconds'] / pool - 1):+.1f} % with Ray already running (its "
              f"workers still start cold), {100 * (ray_row['wall_with_start_seconds'] / pool - 1):+.1f} % counting "
              f"its start (all passes; per pass: {each})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.out is not None:
        from qlatent.io import atomic_write_json

        atomic_write_json(args.out, {"steps": args.steps, "repeats": args.repeats, "totals": totals,
                                     "passes": passes, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


if __name__ == "__main__":
    main()
