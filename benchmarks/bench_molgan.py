"""Seconds per paper MolGAN step, before and after arithmetic version 2, measured in one run.

The paper's step (batch 256, 5 critic updates, the modified generator of widths 64 … 512, MolGAN's
R-GCN critic; :meth:`MolGANConfig.paper` at latent size 16) is timed for the code of this checkout
("new") and for the code before the change ("old": ``qlatent/models/molgan.py`` and
``qlatent/models/rgcn.py`` of commit :data:`OLD_COMMIT`, read with ``git show`` and loaded as
temporary modules, the old molgan module bound to the old R-GCN), alternating old and new steps and
keeping the best of ``--repeats`` of each (the machine is shared: only ratios measured side by side
mean anything, and the least disturbed step is the best estimate). Per torch thread count:

- ``seconds_old`` / ``seconds_new`` per step and ``speedup`` (old / new);
- ``gflop_per_step`` counted by :class:`torch.utils.flop_counter.FlopCounterMode` (matrix products;
  the same for both, the mathematics is unchanged), and the achieved ``gflops`` of each against
  ``matmul_gflops``, a (1280 × 512)·(512 × 512) product timed in the same run;
- ``peak_rss_mib``: the growth of the process's peak resident memory over a few steps of each
  variant alone, each in a fresh process;
- on a GPU, when one exists (``device``: ``cuda``), the same timing with CUDA synchronisation and
  ``torch.cuda.max_memory_allocated``.

Both variants also run the same seeded steps, and ``max_loss_difference`` reports how far their
losses drift apart (rounding only: same draws, same mathematics).

The real batch is a fixed set of random integer graphs (the step's cost does not depend on which
graphs), so no dataset is loaded.

Usage: ``python benchmarks/bench_molgan.py [--threads 1 2] [--repeats 7] [--out data/benchmarks/molgan.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import types
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
#: The commit whose MolGAN is the "old" code (arithmetic version 1).
OLD_COMMIT = "ef98a45"
LATENT_DIM, BATCH, N_ATOM_TYPES = 16, 256, 5


def load_old_molgan(commit: str = OLD_COMMIT) -> types.ModuleType:
    """``qlatent.models.molgan`` as of ``commit``, with the R-GCN of that commit, as a temporary module."""
    def source(path: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{path}"], check=True, capture_output=True,
                              text=True).stdout

    rgcn = types.ModuleType(f"old_rgcn_{commit}")
    exec(compile(source("qlatent/models/rgcn.py"), f"{commit}:rgcn.py", "exec"), rgcn.__dict__)
    molgan = types.ModuleType(f"old_molgan_{commit}")
    sys.modules[molgan.__name__] = molgan  # dataclasses look their module up
    exec(compile(source("qlatent/models/molgan.py"), f"{commit}:molgan.py", "exec"), molgan.__dict__)
    molgan.GraphCritic = rgcn.GraphCritic
    return molgan


def variants() -> dict[str, types.ModuleType]:
    import qlatent.models.molgan as new

    return {"old": load_old_molgan(), "new": new}


def real_batch(device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    nodes = torch.randint(0, N_ATOM_TYPES, (BATCH, 9), generator=generator)
    adjacency = torch.triu(torch.randint(0, 4, (BATCH, 9, 9), generator=generator), 1)
    return nodes.to(device), (adjacency + adjacency.transpose(1, 2)).to(device)


class Stepper:
    """One variant's model, latent, data and random generator, stepping on demand."""

    def __init__(self, module: types.ModuleType, device: str = "cpu") -> None:
        from qlatent.latent import GaussianLatent

        self.model = module.MolGAN(module.MolGANConfig.paper(LATENT_DIM, N_ATOM_TYPES), seed=0).to(device)
        self.batch, self.latent = real_batch(device), GaussianLatent(LATENT_DIM)
        self.generator, self.device = torch.Generator().manual_seed(0), device

    def step(self) -> dict[str, float]:
        return self.model.train_step(lambda: self.batch, self.latent, self.generator)

    def timed(self) -> float:
        if self.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        self.step()
        if self.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker, whose backward hooks fail inside the gradient
    penalty's ``torch.autograd.grad`` (torch 2.x: "A leaf node was passed to
    _will_engine_execute_node"); every count is then filed under "Global"."""

    parents = ("Global",)

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *exc: object) -> bool:
        return False


def step_flops(stepper: Stepper) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        stepper.step()
    return float(counter.get_total_flops())


def matmul_gflops(repeats: int) -> float:
    a, b = torch.randn(1280, 512), torch.randn(512, 512)
    best = min(_seconds(lambda: a @ b) for _ in range(repeats * 5))
    return 2 * 1280 * 512 * 512 / best / 1e9


def _seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def compare(threads: int, repeats: int, device: str = "cpu") -> dict:
    """Old and new side by side at ``threads`` torch threads: best seconds per step, FLOPs, rates."""
    torch.set_num_threads(threads)
    steppers = {name: Stepper(module, device) for name, module in variants().items()}
    losses = {name: [] for name in steppers}
    for _ in range(3):  # warm-up, and the seeded steps compared for drift
        for name, stepper in steppers.items():
            losses[name].append(stepper.step())
    best = dict.fromkeys(steppers, float("inf"))
    for _ in range(repeats):
        for name, stepper in steppers.items():
            best[name] = min(best[name], stepper.timed())
    drift = max(abs(a[key] - b[key]) for a, b in zip(losses["old"], losses["new"]) for key in a)
    row = {"device": device, "threads": threads, "seconds_old": best["old"], "seconds_new": best["new"],
           "speedup": best["old"] / best["new"], "max_loss_difference": drift}
    if device == "cpu":
        flops = step_flops(steppers["new"])
        row.update({"gflop_per_step": flops / 1e9, "gflop_per_step_old": step_flops(steppers["old"]) / 1e9,
                    "matmul_gflops": matmul_gflops(repeats), "gflops_old": flops / 1e9 / best["old"],
                    "gflops_new": flops / 1e9 / best["new"]})
        row["fraction_of_matmul_old"] = row["gflops_old"] / row["matmul_gflops"]
        row["fraction_of_matmul_new"] = row["gflops_new"] / row["matmul_gflops"]
        for name in steppers:
            row[f"peak_rss_mib_{name}"] = peak_rss_mib(name, threads)
    else:
        for name in steppers:
            torch.cuda.reset_peak_memory_stats()
            steppers[name].step()
            row[f"peak_cuda_mib_{name}"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return row


def peak_rss_mib(name: str, threads: int) -> float:
    """Peak resident memory of 3 steps of one variant above the memory held before them, in a fresh
    process (Linux: the peak is reset through ``/proc/self/clear_refs`` and read as ``VmHWM``)."""
    result = subprocess.run([sys.executable, __file__, "--peak", name, "--threads", str(threads)], check=True,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return float(result.stdout.split()[-1])


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _peak(name: str, threads: int) -> None:
    torch.set_num_threads(threads)
    stepper = Stepper(variants()[name])
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current resident size
    for _ in range(3):
        stepper.step()
    print((_status_kib("VmHWM") - before) / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "data" / "benchmarks" / "molgan.json")
    parser.add_argument("--peak", choices=["old", "new"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak:
        _peak(args.peak, args.threads[0])
        return
    from qlatent.io import atomic_write_json
    from qlatent.models.molgan import ARITHMETIC_VERSION

    load_before = os.getloadavg()
    rows = [compare(threads, args.repeats) for threads in args.threads]
    if torch.cuda.is_available():
        rows.append(compare(1, args.repeats, device="cuda"))
    for row in rows:
        print(json.dumps(row))
    atomic_write_json(args.out, {"meta": {
        "old_code": f"git show {OLD_COMMIT}:qlatent/models/{{molgan,rgcn}}.py (arithmetic version 1)",
        "new_arithmetic_version": ARITHMETIC_VERSION, "step": f"MolGANConfig.paper({LATENT_DIM}, {N_ATOM_TYPES}), "
        f"batch {BATCH}, 5 critic updates", "repeats": f"best of {args.repeats}, old and new alternated",
        "cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, "rows": rows})


if __name__ == "__main__":
    main()
