"""``qlatent samples list|show|fetch|verify``: the sample store from the command line.

:func:`add_subparser` registers the ``samples`` command on the main parser's subparsers; each
leaf sets ``func`` (taking the parsed namespace, returning an exit status). As everywhere in the
command line, an error prints one line and exits 2 (a ``--store`` that does not exist is one, for
``list``, ``show`` and ``verify`` alike); ``list`` exits 1 when a set's sidecar fails its checks
(it reads the sidecars alone, so it stays cheap on large stores) and ``verify`` when any file
fails (sidecars, counts and their checksums): a finding, not an error, as ``diff`` does; Ctrl-C
prints one line (for ``fetch``: what was kept for the next run) and exits 130.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

import numpy as np

from qlatent.argtypes import real_number, whole_number
from qlatent.exit_status import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, error_line
from qlatent.qpu.errors import QPUError
from qlatent.qpu.limits import SamplingEstimate, SamplingLimits
from qlatent.qpu.sampleset import DETECTIONS, MAX_SHOTS, MODELS, SampleRequest
from qlatent.qpu.store import STORE_ENV, SampleStore, get_or_sample
from qlatent.sweep.errors import SweepError
from qlatent.sweep.executors import MAX_WORKERS

_DIGITS = re.compile(r"[0-9]+")  # a whole number as typed: ASCII digits (int() also takes "+1", "1_0", "١")


#: Largest ``--haar``: its matrix alone is 16 M^2 bytes (256 MiB here); the book's circuits have at most 48 modes.
MAX_HAAR_MODES = 4096


def _store(args: argparse.Namespace) -> SampleStore:
    return SampleStore(args.store)


def _store_to_read(args: argparse.Namespace) -> SampleStore | None:
    """The store ``list``, ``show`` and ``verify`` read, or None when the default one was never created.

    Raises
    ------
    FileNotFoundError
        If ``--store`` (or ``$QLATENT_SAMPLES``) names a folder that does not exist: a typo
        must not read as an empty store.
    """
    store = _store(args)
    if store.root.is_dir():
        return store
    named = "--store" if args.store is not None else f"${STORE_ENV}" if os.environ.get(STORE_ENV) else None
    if named is not None:
        raise FileNotFoundError(f"no sample store at {store.root} ({named} names a folder that does not exist)")
    return None


def _cmd_list(args: argparse.Namespace) -> int:
    store = _store_to_read(args)
    if store is None:
        print(f"no sample sets in {_store(args).root} (the default store; nothing was fetched yet)")
        return 0
    infos, problems = store.survey()
    if not infos and not problems:
        print(f"no sample sets in {store.root}")
        return 0
    if infos:
        print(f"{'id':<14}{'backend':<26}{'shots':>9}{'modes':>7}{'photons':>9}  {'model':<18}{'detection':<10}"
              "finished")
    for info in infos:
        print(f"{info.request_id[:12]:<14}{info.backend:<26}{info.n_samples:>9}{info.n_modes:>7}{info.n_photons:>9}"
              f"  {info.model:<18}{info.detection:<10}{info.finished_at}")
    for problem in problems.values():
        print(f"FAIL {problem}", file=sys.stderr)
    return EXIT_FINDINGS if problems else 0


def _cmd_show(args: argparse.Namespace) -> int:
    store = _store_to_read(args) or _store(args)
    try:
        request_id = store.resolve(args.id)
    except KeyError as error:
        print(error_line(error.args[0]), file=sys.stderr)
        return EXIT_ERROR
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


def _unitary(path: str) -> np.ndarray:
    """``--unitary``: the ``m × m`` transfer matrix saved alone by ``numpy.save``, checked.

    Raises
    ------
    ValueError
        Naming ``--unitary`` and the file: a missing or unreadable file, a ``.npz`` archive, an
        array that is not a square numeric matrix, or a matrix that is not a (sub-)unitary.
    """
    from qlatent.photonics.validation import validate_transfer_matrix

    where = f"--unitary {path}"
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file") from None
    except (OSError, ValueError, EOFError) as error:  # not .npy data, pickled objects, a truncated file
        reason = "no NumPy array in it, or Python objects" if "pickle" in str(error).lower() else str(error)
        raise ValueError(f"{where}: not a .npy file holding a matrix ({reason})") from None
    if not isinstance(loaded, np.ndarray):
        loaded.close()
        raise ValueError(f"{where}: a .npz archive, not a .npy matrix (save the m x m matrix alone with numpy.save)")
    if loaded.dtype.kind not in "iufc":
        raise ValueError(f"{where}: the transfer matrix must be numeric, got dtype {loaded.dtype}")
    if loaded.ndim != 2 or loaded.shape[0] != loaded.shape[1] or loaded.size == 0:
        raise ValueError(f"{where}: the transfer matrix must be a square 2-D array (m x m, m >= 1), got shape "
                         f"{loaded.shape}")
    try:
        validate_transfer_matrix(loaded, allow_subunitary=True)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    return loaded


def _circuit(args: argparse.Namespace) -> Any:
    if args.unitary is not None:
        return _unitary(args.unitary)
    from qlatent.photonics.interferometers import haar_interferometer

    return haar_interferometer(args.haar, seed=args.circuit_seed)


def _input_state(args: argparse.Namespace, n_modes: int) -> tuple[int, ...]:
    """The input state from ``--input`` or ``--photons``, checked as the sampler checks it (errors name the option)."""
    from qlatent.photonics.sampling import MAX_PHOTONS
    from qlatent.photonics.validation import validate_input_state

    if args.input is not None:
        option = f"--input {args.input}"
        entries = [entry.strip() for entry in args.input.split(",")]
        if not all(_DIGITS.fullmatch(entry) for entry in entries):
            raise ValueError(f"--input must be photon numbers separated by commas (e.g. 1,1,0,0), "
                             f"got {args.input!r}")
        if any(len(entry.lstrip("0")) > len(str(MAX_PHOTONS)) for entry in entries):
            raise ValueError(f"{option:.60}: more than the {MAX_PHOTONS:,} photons a sample set can hold")
        state = tuple(int(entry) for entry in entries)
    else:
        option = f"--photons {args.photons}"
        if not 0 <= args.photons <= n_modes:
            raise ValueError(f"--photons {args.photons} must be between 0 and the circuit's {n_modes} modes "
                             "(one photon in each of the first N modes; --input for other states)")
        state = tuple([1] * args.photons + [0] * (n_modes - args.photons))
    try:
        validate_input_state(state, n_modes, max_photons=MAX_PHOTONS)
    except ValueError as error:
        raise ValueError(f"{option}: {error}") from None
    if args.min_detected > sum(state):
        raise ValueError(f"--min-detected {args.min_detected}: post-selection threshold min_detected="
                         f"{args.min_detected} exceeds the {sum(state)} photons sent in ({option}): no shot could pass")
    return state


def _check_model(args: argparse.Namespace) -> None:
    """``--indistinguishability`` is read by ``--model partial`` only (1 and, for distinguishable photons, 0 agree)."""
    agrees = args.indistinguishability == 1.0 or (args.model == "distinguishable" and args.indistinguishability == 0.0)
    if args.model != "partial" and not agrees:
        raise ValueError(f"--indistinguishability {args.indistinguishability} needs --model partial (the photons "
                         f"are {args.model!r})")


def _limits(args: argparse.Namespace) -> SamplingLimits:
    """The limits from ``--max-memory``, ``--max-hours`` and ``--max-jobs`` (0 lifts one)."""
    chosen: dict[str, Any] = {}
    for option, field in (("max_memory", "max_memory_gb"), ("max_hours", "max_hours"), ("max_jobs", "max_jobs")):
        value = getattr(args, option)
        if value is not None:
            chosen[field] = value or None
    return SamplingLimits(**chosen)


def _progress_kept(store: SampleStore, request: SampleRequest) -> str:
    """What an interrupted fetch left for the next one: finished shards, a remote partial file, or nothing."""
    from qlatent.qpu.shards import ShardFolder

    request_id = request.request_id()
    if request_id in store:
        return f"the set was stored first ({store.paths(request_id)[1]})"
    folder = ShardFolder(store, request).path
    n_shards = len(list(folder.glob("shard-*.npz"))) if folder.is_dir() else 0
    if n_shards:
        return f"{n_shards} finished shard(s) kept in {folder}; the same command resumes"
    partial = store.partial(request_id).path
    if partial.exists():
        return f"the samples received so far are kept in {partial}; the same command resumes"
    if request.backend.startswith("perceval:"):
        return "nothing was kept (Perceval's local simulators keep no partial samples; the same command starts over)"
    return "nothing was kept; the same command starts over"


#: Options of ``fetch`` that only some kinds of backend use (:func:`~qlatent.qpu.backends.backend_kind`),
#: and what the error calls those kinds.
_BACKEND_OPTIONS = {
    ("token", "url", "job_timeout", "max_jobs"): (("remote",), "remote:<platform> backends"),
    ("executor", "workers", "address"): (("local",), "the local backend"),
    # recorded shots are replayed and clouds take no seed: a seed there would only change the set's id
    ("seed",): (("local", "perceval"), "the local and perceval:<backend> backends"),
}


def _check_backend_options(args: argparse.Namespace) -> None:
    """Refuse an option the chosen backend (or executor) would ignore, whether or not the set is already stored."""
    from qlatent.qpu.backends import backend_kind

    kind = backend_kind(args.backend)[0]
    for names, (kinds, words) in _BACKEND_OPTIONS.items():
        given = [name for name in names if getattr(args, name) is not None]
        if kind not in kinds and given:
            raise ValueError(f"--{given[0].replace('_', '-')} applies to {words} only")
    if args.workers is not None and args.executor not in ("local", "ray"):
        raise ValueError("--workers needs --executor local or --executor ray (it sets their number of workers)")
    if args.address is not None and args.executor != "ray":
        raise ValueError("--address needs --executor ray (it names the Ray cluster to join)")


def _cmd_fetch(args: argparse.Namespace) -> int:
    from qlatent.qpu.backends import get_backend

    _check_model(args)
    circuit = _circuit(args)
    input_state = _input_state(args, np.asarray(getattr(circuit, "unitary", circuit)).shape[0])
    request = SampleRequest(args.backend, circuit, input_state, args.n, model=args.model,
                            indistinguishability=args.indistinguishability, transmission=args.transmission,
                            brightness=args.brightness, detection=args.detection, seed=args.seed,
                            min_detected=args.min_detected)
    _check_backend_options(args)
    limits = _limits(args)
    store = _store(args)
    if request.request_id() in store:
        backend = None  # replayed: no backend is built, nothing is estimated
    else:
        options: dict[str, Any] = {}
        if args.backend.startswith("remote:"):
            options = {"token": args.token, "url": args.url, "job_timeout": args.job_timeout}
        backend = get_backend(args.backend, store=store, **{k: v for k, v in options.items() if v is not None})

    def announce(estimate: SamplingEstimate) -> None:  # once every check passed, before sampling starts
        if not args.quiet:
            print(f"sampling {request.n_samples:,} shots on {args.backend}: {estimate.summary()}", file=sys.stderr)

    executor = None
    if args.executor is not None:
        from qlatent.sweep.executors import ExecutorSettings

        executor = ExecutorSettings(args.executor, args.workers, args.address)
    try:
        sample_set = get_or_sample(request, store, progress=not args.quiet, backend=backend, executor=executor,
                                   limits=limits, announce=announce)
    except KeyboardInterrupt:
        print(f"interrupted: {_progress_kept(store, request)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"{sample_set.request_id}  {sample_set.n_samples} shots x {sample_set.n_modes} modes  "
          f"({store.paths(sample_set.request_id)[1]})")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    store = _store_to_read(args)
    if store is None:
        print(f"ok: 0 sample set(s) verified in {_store(args).root} (the default store; nothing was fetched yet)")
        return 0
    problems = store.verify()
    for name, messages in sorted(problems.items()):
        for message in messages:
            print(f"FAIL {name}: {message}")
    n_sets = len(store.ids())
    if problems:
        print(f"{len(problems)} problem file(s) in {store.root}")
        return EXIT_FINDINGS
    unsealed = store.unsealed()
    note = (f" ({len(unsealed)} written before sidecar checksums: their request and counts were checked, the "
            "rest of their sidecar cannot be)") if unsealed else ""
    print(f"ok: {n_sets} sample set(s) verified in {store.root}{note}")
    return 0


def _guarded(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (QPUError, SweepError, ValueError, TypeError, OSError) as error:
            print(error_line(error), file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED

    return run


def add_subparser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``samples`` (with ``list``, ``show``, ``fetch``, ``verify``) on ``subparsers``."""
    samples = subparsers.add_parser("samples", help="list, show, fetch and verify stored photon samples")
    samples.add_argument("--store", default=None,
                         help="store folder (default: $QLATENT_SAMPLES or data/cache/samples)")
    commands = samples.add_subparsers(dest="samples_command", metavar="{list,show,fetch,verify}", required=True)

    commands.add_parser("list", help="one line per stored set, from the sidecars alone (cheap; a sidecar failing its "
                                     "checks: one line on stderr, status 1); `verify` also reads every counts "
                                     "file").set_defaults(func=_guarded(_cmd_list))

    show = commands.add_parser("show", help="provenance and a summary of one set (verified)")
    show.add_argument("id", help="request id or a unique prefix of one")
    show.set_defaults(func=_guarded(_cmd_show))

    fetch = commands.add_parser("fetch", help="sample (or replay) a request and store it")
    fetch.add_argument("--backend", required=True,
                       help="local | perceval:<Backend> | remote:<platform> | recorded:<path-or-id>")
    fetch.add_argument("--n", type=whole_number(1, MAX_SHOTS), required=True,
                       help="number of shots (e.g. 10000, 10_000 or 1e4)")
    circuit = fetch.add_mutually_exclusive_group(required=True)
    circuit.add_argument("--unitary", help=".npy file holding the m x m transfer matrix")
    circuit.add_argument("--haar", type=whole_number(1, MAX_HAAR_MODES), metavar="M",
                         help=f"Haar-random interferometer on M modes (at most {MAX_HAAR_MODES:,})")
    fetch.add_argument("--circuit-seed", type=whole_number(0), default=0, help="seed of the Haar interferometer")
    state = fetch.add_mutually_exclusive_group()
    state.add_argument("--input", help="photons per input mode, comma-separated (e.g. 1,1,0,0)")
    state.add_argument("--photons", type=whole_number(0), default=1, help="one photon in each of the first N modes")
    fetch.add_argument("--model", choices=MODELS, default="indistinguishable")
    fetch.add_argument("--indistinguishability", type=real_number(0, 1), default=1.0,
                       help="photon indistinguishability in [0, 1] (--model partial)")
    fetch.add_argument("--transmission", type=real_number(0, 1), default=1.0, help="uniform transmission in [0, 1]")
    fetch.add_argument("--brightness", type=real_number(0, 1), default=1.0,
                       help="source brightness in [0, 1] (probability a photon is emitted)")
    fetch.add_argument("--detection", choices=DETECTIONS, default="pnr")
    fetch.add_argument("--seed", type=whole_number(0), default=None)
    fetch.add_argument("--min-detected", type=whole_number(0), default=0,
                       help="keep only shots with at least this many detected photons (post-selection)")
    fetch.add_argument("--token", default=None, help="cloud token (else $QLATENT_QPU_TOKEN or Perceval's)")
    fetch.add_argument("--url", default=None, help="cloud API address (remote backends)")
    fetch.add_argument("--job-timeout", type=real_number(1e-3), default=None, metavar="SECONDS",
                       help="seconds a remote job may run before the run stops, kept for resume (default 3600)")
    fetch.add_argument("--max-memory", type=real_number(0), default=None, metavar="GB",
                       help="refuse a request estimated to need more memory (default: half this machine's; 0: no "
                            "limit)")
    fetch.add_argument("--max-hours", type=real_number(0), default=None, metavar="H",
                       help="refuse a request estimated to take longer on one core (default 168; 0: no limit)")
    fetch.add_argument("--max-jobs", type=whole_number(0), default=None, metavar="N",
                       help="refuse a remote request needing more cloud jobs (default 1000; 0: no limit)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.add_argument("--executor", choices=("serial", "local", "ray"),
                       help="where a local bank's shards are drawn (default: $QLATENT_EXECUTOR for slow banks, "
                            "else here); the counts do not depend on it")
    fetch.add_argument("--workers", type=whole_number(1, MAX_WORKERS), help="shards drawn at once")
    fetch.add_argument("--address", help="Ray cluster to join (auto, HOST:PORT, ray://HOST:PORT)")
    fetch.set_defaults(func=_guarded(_cmd_fetch))

    commands.add_parser("verify", help="check every file in the store: sidecars, counts and their checksums "
                                       "(status 1 if any fails)").set_defaults(func=_guarded(_cmd_verify))
    return samples
