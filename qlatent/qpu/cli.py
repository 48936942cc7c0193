"""``qlatent samples list|show|fetch|verify``: the sample store from the command line.

:func:`add_subparser` registers the ``samples`` command on the main parser's subparsers; each
leaf sets ``func`` (taking the parsed namespace, returning an exit status).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from qlatent.qpu.errors import QPUError
from qlatent.qpu.sampleset import DETECTIONS, MODELS, SampleRequest
from qlatent.qpu.store import SampleStore, get_or_sample
from qlatent.sweep.errors import SweepError


def _store(args: argparse.Namespace) -> SampleStore:
    return SampleStore(args.store)


def _cmd_list(args: argparse.Namespace) -> int:
    infos = _store(args).list()
    if not infos:
        print(f"no sample sets in {_store(args).root}")
        return 0
    print(f"{'id':<14}{'backend':<26}{'shots':>9}{'modes':>7}{'photons':>9}  {'model':<18}{'detection':<10}finished")
    for info in infos:
        print(f"{info.request_id[:12]:<14}{info.backend:<26}{info.n_samples:>9}{info.n_modes:>7}{info.n_photons:>9}"
              f"  {info.model:<18}{info.detection:<10}{info.finished_at}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        request_id = store.resolve(args.id)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    sample_set = store.load(request_id)
    provenance = json.loads(json.dumps(sample_set.provenance))
    provenance["request"]["circuit"]["unitary"] = f"<{sample_set.n_modes}x{sample_set.n_modes} matrix, sha256 " \
                                                  f"{provenance['request']['circuit']['sha256'][:16]}…>"
    print(json.dumps(provenance, indent=2, sort_keys=True))
    detected = sample_set.counts.sum(axis=1)
    numbers, frequency = np.unique(detected, return_counts=True)
    summary = ", ".join(f"{int(k)}: {int(f)}" for k, f in zip(numbers, frequency))
    print(f"photons detected per shot (count: shots): {summary}")
    return 0


def _circuit(args: argparse.Namespace) -> Any:
    if args.unitary is not None:
        return np.load(args.unitary, allow_pickle=False)
    from qlatent.photonics.interferometers import haar_interferometer

    return haar_interferometer(args.haar, seed=args.circuit_seed)


def _cmd_fetch(args: argparse.Namespace) -> int:
    circuit = _circuit(args)
    n_modes = np.asarray(getattr(circuit, "unitary", circuit)).shape[0]
    if args.input is not None:
        input_state = tuple(int(k) for k in args.input.split(","))
    else:
        input_state = tuple([1] * args.photons + [0] * (n_modes - args.photons))
    request = SampleRequest(args.backend, circuit, input_state, args.n, model=args.model,
                            indistinguishability=args.indistinguishability, transmission=args.transmission,
                            brightness=args.brightness, detection=args.detection, seed=args.seed,
                            min_detected=args.min_detected)
    store = _store(args)
    backend = None
    if args.backend.startswith("remote:"):
        from qlatent.qpu.backends import get_backend

        options = {"token": args.token, "url": args.url}
        backend = get_backend(args.backend, **{k: v for k, v in options.items() if v is not None})
    executor = None
    if args.executor is not None:
        from qlatent.sweep.executors import ExecutorSettings

        executor = ExecutorSettings(args.executor, args.workers, args.address)
    sample_set = get_or_sample(request, store, progress=not args.quiet, backend=backend, executor=executor)
    print(f"{sample_set.request_id}  {sample_set.n_samples} shots x {sample_set.n_modes} modes  "
          f"({store.paths(sample_set.request_id)[1]})")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    store = _store(args)
    problems = store.verify()
    for name, messages in sorted(problems.items()):
        for message in messages:
            print(f"FAIL {name}: {message}")
    n_sets = len(store.ids())
    if problems:
        print(f"{len(problems)} problem file(s) in {store.root}")
        return 1
    print(f"ok: {n_sets} sample set(s) verified in {store.root}")
    return 0


def _guarded(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (QPUError, SweepError, ValueError, TypeError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1

    return run


def add_subparser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``samples`` (with ``list``, ``show``, ``fetch``, ``verify``) on ``subparsers``."""
    samples = subparsers.add_parser("samples", help="list, show, fetch and verify stored photon samples")
    samples.add_argument("--store", default=None,
                         help="store folder (default: $QLATENT_SAMPLES or data/cache/samples)")
    commands = samples.add_subparsers(dest="samples_command", required=True)

    commands.add_parser("list", help="one line per stored set").set_defaults(func=_guarded(_cmd_list))

    show = commands.add_parser("show", help="provenance and a summary of one set (verified)")
    show.add_argument("id", help="request id or a unique prefix of one")
    show.set_defaults(func=_guarded(_cmd_show))

    fetch = commands.add_parser("fetch", help="sample (or replay) a request and store it")
    fetch.add_argument("--backend", required=True,
                       help="local | perceval:<Backend> | remote:<platform> | recorded:<path-or-id>")
    fetch.add_argument("--n", type=int, required=True, help="number of shots")
    circuit = fetch.add_mutually_exclusive_group(required=True)
    circuit.add_argument("--unitary", help=".npy file holding the m x m transfer matrix")
    circuit.add_argument("--haar", type=int, metavar="M", help="Haar-random interferometer on M modes")
    fetch.add_argument("--circuit-seed", type=int, default=0, help="seed of the Haar interferometer")
    state = fetch.add_mutually_exclusive_group()
    state.add_argument("--input", help="photons per input mode, comma-separated (e.g. 1,1,0,0)")
    state.add_argument("--photons", type=int, default=1, help="one photon in each of the first N modes")
    fetch.add_argument("--model", choices=MODELS, default="indistinguishable")
    fetch.add_argument("--indistinguishability", type=float, default=1.0)
    fetch.add_argument("--transmission", type=float, default=1.0)
    fetch.add_argument("--brightness", type=float, default=1.0)
    fetch.add_argument("--detection", choices=DETECTIONS, default="pnr")
    fetch.add_argument("--seed", type=int, default=None)
    fetch.add_argument("--min-detected", type=int, default=0,
                       help="keep only shots with at least this many detected photons (post-selection)")
    fetch.add_argument("--token", default=None, help="cloud token (else $QLATENT_QPU_TOKEN or Perceval's)")
    fetch.add_argument("--url", default=None, help="cloud API address (remote backends)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.add_argument("--executor", choices=("serial", "local", "ray"),
                       help="where a local bank's shards are drawn (default: $QLATENT_EXECUTOR for slow banks, "
                            "else here); the counts do not depend on it")
    fetch.add_argument("--workers", type=int, help="shards drawn at once")
    fetch.add_argument("--address", help="Ray cluster to join (auto, HOST:PORT, ray://HOST:PORT)")
    fetch.set_defaults(func=_guarded(_cmd_fetch))

    commands.add_parser("verify", help="check every file in the store").set_defaults(func=_guarded(_cmd_verify))
    return samples
