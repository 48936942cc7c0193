"""A 20-photon sample bank drawn in shards by the local pool at 1 and 2 workers: speed-up and identical bytes.

20 photons in 40 modes (Haar-random interferometer), ``--shards`` shards of
:data:`qlatent.qpu.backends.local.SHARD_SIZE` shots, each drawn by a worker on one Numba thread
(about 11 s per shard per core on this project's machine). Each worker count draws the whole bank
into a fresh store through :func:`qlatent.qpu.get_or_sample`; the merged banks must be
byte-identical (same SHA-256), and 2 workers should be at least 1.8x faster than 1. Besides wall
clock, the workers' CPU seconds (start-up included) are read from ``RUSAGE_CHILDREN`` once the
pool is closed, and the machine's load average is printed: other users of the cores slow wall
clock, not CPU time.

Usage: ``python benchmarks/bench_bank.py [--photons 20] [--shards 4] [--workers 1 2] [--out PATH]``
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photons", type=int, default=20, help="photons n (in 2n modes)")
    parser.add_argument("--shards", type=int, default=4, help="shards in the bank")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / "data" / "cache" / "numba"))

    from qlatent.photonics.interferometers import haar_interferometer
    from qlatent.qpu import SampleRequest, SampleStore, get_or_sample
    from qlatent.qpu.backends.local import SHARD_SIZE, sample_shard
    from qlatent.sweep.executors import ExecutorSettings

    n = args.photons
    request = SampleRequest("local", haar_interferometer(2 * n, seed=2024), (1,) * n + (0,) * n,
                            args.shards * SHARD_SIZE, seed=7)
    sample_shard(SampleRequest("local", request.circuit, request.input_state, 2, seed=0), 0, 0)  # compile here
    print(f"{n} photons in {2 * n} modes, {request.n_samples} shots in {args.shards} shards of {SHARD_SIZE}; "
          f"{os.cpu_count()} CPU(s)", flush=True)
    print(f"{'workers':>7} {'wall s':>8} {'workers cpu s':>14} {'busy cores':>10} {'load':>6}  sha256", flush=True)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="bench-bank-") as folder:
        for workers in args.workers:
            load = os.getloadavg()[0]
            wall, child = time.perf_counter(), children_cpu()
            bank = get_or_sample(request, SampleStore(Path(folder) / f"workers{workers}"), progress=False,
                                 executor=ExecutorSettings("local", workers=workers))
            wall = time.perf_counter() - wall
            cpu = children_cpu() - child
            digest = bank.provenance["counts"]["sha256"]
            rows[workers] = {"wall_seconds": wall, "workers_cpu_seconds": cpu, "load_average": load, "sha256": digest,
                             "bytes": bank.counts.tobytes()}
            print(f"{workers:>7} {wall:>8.1f} {cpu:>14.1f} {cpu / wall:>10.2f} {load:>6.2f}  {digest[:16]}", flush=True)
    first, *others = args.workers
    for workers in others:
        same = rows[workers]["bytes"] == rows[first]["bytes"]
        print(f"{workers} workers over {first}: {rows[first]['wall_seconds'] / rows[workers]['wall_seconds']:.2f}x "
              f"wall clock, CPU time {rows[workers]['workers_cpu_seconds'] / rows[first]['workers_cpu_seconds']:.2f}x; "
              f"merged bank byte-identical: {same}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.out is not None:
        from qlatent.io import atomic_write_json

        kept = {workers: {key: value for key, value in row.items() if key != "bytes"} for workers, row in rows.items()}
        atomic_write_json(args.out, {"photons": n, "shards": args.shards, "rows": kept,
                                     "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


if __name__ == "__main__":
    main()
