"""The ``qlatent`` command: execute notebooks and build the book.

``qlatent book [--profile quick|standard|paper] [--only NAME ...] [--force] [--executor serial|local|ray]
[--address ADDR]``
    Execute the profile's notebooks (skipping unchanged ones) and build the book; their grids of
    training runs and their slow sample banks run on the executor (default: in each kernel). A
    chapter last executed by ``qlatent run`` keeps that run's parameters unless ``--profile`` is
    given explicitly.
``qlatent sweep SWEEP.yml [--executor local|ray|serial] [--workers N] [--address ADDR] [--output DIR]
[--max-runs N] [--max-memory GB] [--max-hours H] [--dry-run]``
    Run a declarative sweep (see :mod:`qlatent.sweep.spec`): only the runs not complete before,
    then one tidy table (parquet and CSV) over all runs. Every run is checked first, its
    photon-count banks against the sampling limits (:mod:`qlatent.qpu.limits`), which the two
    options raise.
``qlatent run NOTEBOOK [-p KEY VALUE ...] [--profile NAME] [--force]``
    Execute one notebook with explicit parameters (values are read as papermill and YAML read them: 3,
    1e-3, inf, true, None, [1, 2]; see :func:`qlatent.readers.parse_value`).
``qlatent profiles``
    List the profiles and their notebooks.
``qlatent record NOTEBOOK [--profile standard] [--force]``
    Execute (or resume) a chapter with a long profile and store its tables under ``data/recorded/``.
``qlatent recordings``
    List the recordings: do their parameters still match the profiles, has the code changed since?
    Exits 1 when a line reports a PROBLEM (a damaged or malformed recording) or STALE parameters.
``qlatent banks NOTEBOOK [--profile standard] [--executor local|ray] [--workers N]``
    Sample the photon-count banks a chapter's profile needs ahead of training, shard by shard
    (an interrupted call keeps its finished shards; call again to continue).
``qlatent samples list|show ID|fetch ...|verify``
    The photon sample store (see :mod:`qlatent.qpu.cli`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from qlatent.argtypes import real_number, whole_number
from qlatent.exit_status import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_TERMINATED, error_line
from qlatent.paths import cache_dir, profiles_file
from qlatent.runner.errors import RunnerError
from qlatent.sweep.executors import MAX_WORKERS
from qlatent.sweep.spec import MAX_RUNS, MAX_RUNS_LIMIT


def _parse_value(text: str) -> Any:
    """A ``-p`` value, read as papermill reads it: ``1e-3`` is a float (see :func:`qlatent.readers.parse_value`)."""
    from qlatent.readers import parse_value

    return parse_value(text)


def _say(message: str) -> None:
    print(message, flush=True)


def _report(index: int, total: int, result: Any) -> None:
    if result.status == "skipped":
        _say(f"[{index}/{total}] {result.name}: unchanged since its last successful run, skipped (--force re-runs it)")
    else:
        _say(f"[{index}/{total}] {result.name}: executed in {result.seconds:.1f} s")


def _executor_settings(args: argparse.Namespace, default: str) -> Any:
    from qlatent.sweep.executors import ExecutorSettings, gpus_from_env

    gpus = gpus_from_env() if getattr(args, "gpus_per_run", None) is None else args.gpus_per_run
    return ExecutorSettings(args.executor or default, args.workers, args.address, gpus)


@contextlib.contextmanager
def _book_executor(args: argparse.Namespace) -> Iterator[None]:
    """Point the notebooks' kernels at the executor: environment variables, and one shared Ray instance.

    With ``--executor ray`` and no address, a local Ray instance is started here for the whole
    book and its address handed to the kernels; with an address, it is checked before any
    notebook runs.
    """
    if args.executor is None and args.workers is None and args.address is None and args.gpus_per_run is None:
        yield
        return
    from qlatent.sweep.executors import environment, open_executor, ray_local_address

    settings = _executor_settings(args, "serial")
    with contextlib.ExitStack() as stack:
        if settings.kind == "ray":
            executor = stack.enter_context(open_executor(settings))
            _say(f"executor: {executor.describe()}")
            if settings.address is None:
                settings = dataclasses.replace(settings, address=ray_local_address())
        else:
            _say(f"executor: {settings.kind}" + (f", {settings.workers} worker(s)" if settings.workers else ""))
        stack.enter_context(environment(**settings.to_env()))
        yield


#: The profile ``qlatent book`` runs when none is named.
DEFAULT_PROFILE = "quick"


def _describe_run(name: str, stamp: dict[str, Any]) -> str:
    """How an execution was asked for: ``the 'standard' profile`` or ``parameters {...}``."""
    from qlatent.runner.profiles import load_profiles

    requested, profile = stamp.get("requested") or {}, stamp.get("profile")
    try:
        known = load_profiles(profiles_file())
    except RunnerError:
        known = {}
    if profile and (not requested or (profile in known and known[profile].notebooks.get(name) == requested)):
        return f"the {profile!r} profile"
    return (f"the {profile!r} profile with " if profile else "") + f"parameters {requested}"


def _users_run(name: str, profile: Any) -> dict[str, Any] | None:
    """The stamp of the chapter's last execution if it was a ``qlatent run`` that differs from the profile's."""
    from qlatent.runner.execution import executed_path, last_execution

    stamp = last_execution(name)
    if stamp is None or stamp.get("origin") != "run" or not executed_path(name).is_file():
        return None
    if (stamp.get("requested") or {}) == profile.notebooks[name] and stamp.get("profile") == profile.name:
        return None
    return stamp


def cmd_book(args: argparse.Namespace) -> None:
    """Execute the profile's chapters and build the book.

    A chapter whose last execution was the user's own ``qlatent run`` (other parameters or another
    profile) is kept with those parameters, unless ``--profile`` was given explicitly: then the
    profile's parameters replace it, and the command says so. Every chapter to execute is read
    and its parameters checked before the first one runs, so a typo in the last chapter costs
    nothing.
    """
    from qlatent.runner.book import build_book
    from qlatent.runner.execution import check_parameters, execute, executed_path, resolve_notebook
    from qlatent.runner.profiles import get_profile

    explicit = args.profile is not None
    profile = get_profile(profiles_file(), args.profile or DEFAULT_PROFILE)
    only = set(args.only or [])
    unknown = only - set(profile.notebooks)
    if unknown:
        raise RunnerError(f"profile {profile.name!r} has no notebook {', '.join(sorted(unknown))}; "
                          f"it has: {', '.join(profile.notebooks)}")
    total = len(profile.notebooks)
    plan = []  # (index, name, action: "keep" | "users" | "profile", the user's run or None)
    for index, name in enumerate(profile.notebooks, start=1):  # check everything before executing anything
        try:
            _, path = resolve_notebook(name)
        except RunnerError as error:
            raise RunnerError(f"{error} (profile {profile.name!r} in {profiles_file()})") from None
        if only and name not in only and executed_path(name).is_file():
            plan.append((index, name, "keep", None))
            continue
        users = _users_run(name, profile)
        if users is not None and not explicit:
            try:
                check_parameters(name, path, users.get("requested") or {})
            except RunnerError as error:
                raise RunnerError(f"{error} (in your `qlatent run` of {name}, {_describe_run(name, users)}; "
                                  f"`qlatent book --profile {profile.name}` replaces it)") from None
            plan.append((index, name, "users", users))
        else:
            try:
                check_parameters(name, path, profile.notebooks[name])
            except RunnerError as error:
                raise RunnerError(f"{error} (profile {profile.name!r} in {profiles_file()})") from None
            plan.append((index, name, "profile", users))
    started = time.perf_counter()
    with _book_executor(args):
        _say(f"profile {profile.name!r}: {total} notebook(s)")
        for index, name, action, users in plan:
            if action == "keep":
                _say(f"[{index}/{total}] {name}: not selected by --only, kept as it is")
                continue
            if action == "users":
                _say(f"[{index}/{total}] {name}: keeping your `qlatent run` of it ({_describe_run(name, users)}); "
                     f"`qlatent book --profile {profile.name}` replaces it with the profile's parameters")
                result = execute(name, users.get("requested") or {}, force=args.force,
                                 profile=users.get("profile"), origin="run")
                _report(index, total, result)
                continue
            if users is not None:
                _say(f"[{index}/{total}] {name}: REPLACING your `qlatent run` of it ({_describe_run(name, users)}) "
                     f"with the {profile.name!r} profile's parameters (--profile given)")
            _say(f"[{index}/{total}] {name}: running ...")
            _report(index, total, execute(name, profile.notebooks[name], force=args.force, profile=profile.name,
                                          origin="book"))
    _say("building the book ...")
    index_html = build_book()
    _say(f"book built in {time.perf_counter() - started:.1f} s: {index_html}")


def cmd_sweep(args: argparse.Namespace) -> int:
    from qlatent.qpu.limits import LIMIT_ENV
    from qlatent.sweep.executors import environment

    # The runs' banks are sized against SamplingLimits, whose defaults read these variables: set for
    # the loading (which checks every run's banks) and the runs, in this process and its workers.
    limits = {LIMIT_ENV[field]: str(value) for field, value in (("max_memory_gb", args.max_memory),
                                                                 ("max_hours", args.max_hours)) if value is not None}
    with environment(**limits):
        return _sweep(args)


def _sweep(args: argparse.Namespace) -> int:
    from qlatent.sweep.run import run_sweep
    from qlatent.sweep.spec import load_sweep

    spec = load_sweep(args.sweep_file, output=args.output, max_runs=args.max_runs)
    settings = _executor_settings(args, "local")
    if args.retries is not None:
        spec = dataclasses.replace(spec, retries=args.retries)
    if args.gpus_per_run is not None:
        spec = dataclasses.replace(spec, gpus=args.gpus_per_run)
    if args.dry_run:
        from qlatent.sweep.records import SweepStore

        store = SweepStore(spec.output)
        jobs = spec.jobs()
        pending = [job for job in jobs if not store.is_complete(store.run_dir(spec, job))]
        _say(f"sweep {spec.name!r} ({spec.target}): {len(jobs)} run(s) over {', '.join(spec.grid)}; "
             f"{len(jobs) - len(pending)} complete, {len(pending)} to run on {settings.kind}; output {spec.output}")
        return 0
    summary = run_sweep(spec, settings, progress=not args.quiet, say=_say)
    _say(f"sweep {summary.name!r}: {summary.n_completed} run(s) completed now, {summary.n_skipped} before, "
         f"{len(summary.failures)} failed, in {summary.seconds:.1f} s on {summary.executor}")
    from qlatent.sweep.errors import describe_job

    for job, error in summary.failures:
        _say(f"  failed: {describe_job(job)}: {error}")
    for name, path in summary.tables.items():
        _say(f"  {name}: {path} (and .csv)")
    if not summary.tables:
        _say("  no run is complete, so no table was written")
    if summary.failures:
        _say(f"  each failed run's traceback is in its record.json under {summary.output / 'runs'}; "
             "running the sweep again retries them")
    return EXIT_FINDINGS if summary.failures else 0


def cmd_run(args: argparse.Namespace) -> None:
    from qlatent.runner.execution import check_parameters, execute, resolve_notebook
    from qlatent.runner.profiles import get_profile

    name, path = resolve_notebook(args.notebook)
    parameters: dict[str, Any] = {}
    if args.profile:
        profile = get_profile(profiles_file(), args.profile)
        parameters.update(profile.notebooks.get(name, {}))
    parameters.update({key: _parse_value(value) for key, value in args.parameter or []})
    check_parameters(name, path, parameters)  # before saying anything
    _say(f"{name}: running with {parameters or 'its default parameters'} ...")
    custom = bool(args.parameter)
    _report(1, 1, execute(args.notebook, parameters, force=args.force,
                          profile=None if custom else (args.profile or DEFAULT_PROFILE), origin="run"))


def cmd_record(args: argparse.Namespace) -> None:
    from qlatent.recording import check_recordable, record

    name, _ = check_recordable(args.notebook, args.profile)  # before saying anything
    _say(f"recording {name} with the {args.profile!r} profile (finished training runs are reused) ...")
    target = record(name, args.profile, force=args.force)
    _say(f"recorded: {target}")


def cmd_recordings(args: argparse.Namespace) -> int:
    from qlatent.recording import recorded_dir, recording_status

    folders = sorted(path for path in recorded_dir().glob("*/*") if path.is_dir() and not path.name.startswith("."))
    if not folders:
        _say(f"no recordings under {recorded_dir()}")
    problems = 0
    for folder in folders:
        status = recording_status(folder.parent.name, folder.name)
        problems += status.problem
        _say(f"{folder.parent.name} / {folder.name}: {status.line}")
    return EXIT_FINDINGS if problems else 0


#: Chapters whose experiment lists the banks its jobs need (``bank_requests(parameters)``).
BANK_PLANNERS = {"05_qm9": "qlatent.experiments.qm9"}


def cmd_banks(args: argparse.Namespace) -> None:
    import importlib

    from qlatent.qpu import SampleStore, SamplingLimits, get_or_sample
    from qlatent.recording import effective_parameters

    if args.notebook not in BANK_PLANNERS:
        raise RunnerError(f"no bank plan for {args.notebook!r}; chapters with one: {', '.join(BANK_PLANNERS)}")
    try:
        SamplingLimits()  # each bank is sized against these: refuse a malformed $QLATENT_MAX_* before sampling
    except ValueError as error:
        raise RunnerError(str(error)) from None
    parameters = effective_parameters(args.notebook, args.profile)
    requests = importlib.import_module(BANK_PLANNERS[args.notebook]).bank_requests(parameters)
    store = SampleStore(args.store) if args.store else SampleStore()
    executor = None
    if args.executor is not None or args.workers is not None or args.address is not None:
        executor = _executor_settings(args, "local")
    started = time.monotonic()
    for index, (label, request) in enumerate(requests, start=1):
        what = f"[{index}/{len(requests)}] {label}: {request.n_samples} shots, {request.n_photons} photons"
        if request.request_id() in store:
            _say(f"{what}: stored")
            continue
        if request.backend != "local":
            _say(f"{what}: backend {request.backend!r}, sampled when a run first needs it")
            continue
        _say(f"{what}: sampling ...")
        get_or_sample(request, store=store, progress=not args.quiet, executor=executor)
        _say(f"{what}: stored after {time.monotonic() - started:.0f} s")


def cmd_profiles(args: argparse.Namespace) -> None:
    from qlatent.runner.profiles import load_profiles

    for profile in load_profiles(profiles_file()).values():
        _say(f"{profile.name}: {profile.description}")
        for name, parameters in profile.notebooks.items():
            _say(f"  {name}: {parameters}")


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr and exit 2, as every other
    error of the command line (argparse prints its whole usage block first); ``--help`` still
    prints the full help. Sub-command parsers inherit the class (``add_subparsers`` builds its
    parsers with the class of the parser it belongs to)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, error_line(f"{message} (`{self.prog} --help` for usage)") + "\n")

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        """As argparse, but unrecognized arguments are reported by the sub-command that was given them
        (argparse reports them from the top-level parser, pointing at ``qlatent --help``)."""
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            chain = self._chosen_commands(namespace)
            message = f"unrecognized arguments: {' '.join(extras)}"
            for parent, child in zip(chain, chain[1:]):  # an option of an enclosing command, given after its child
                option = next((extra for extra in extras if extra.split("=")[0] in parent._option_string_actions), None)
                if option is not None:
                    message += (f"; {option.split('=')[0]} is an option of `{parent.prog}`: give it before "
                                f"`{child.prog.rsplit(' ', 1)[-1]}`")
                    break
            chain[-1].error(message)
        return namespace

    def _chosen_commands(self, namespace: argparse.Namespace) -> list[argparse.ArgumentParser]:
        """The parsers ``namespace`` went through, from this one to the deepest sub-command."""
        chain: list[argparse.ArgumentParser] = [self]
        while True:
            commands = next((action for action in chain[-1]._actions
                             if isinstance(action, argparse._SubParsersAction)), None)
            chosen = getattr(namespace, commands.dest, None) if commands is not None else None
            if chosen not in (commands.choices if commands is not None else {}):
                return chain
            chain.append(commands.choices[chosen])


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="qlatent", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    book = commands.add_parser("book", help="execute the profile's notebooks and build the book")
    book.add_argument("--profile", help="profile from notebooks/profiles.yml (default: quick); given explicitly, "
                                        "it also replaces chapters last executed by your own `qlatent run`")
    book.add_argument("--only", nargs="+", metavar="NAME", help="re-execute only these notebooks")
    book.add_argument("--force", action="store_true", help="re-execute even unchanged notebooks")
    _add_executor_arguments(book, "serial: each kernel runs its grid itself")
    book.set_defaults(handler=cmd_book)

    sweep = commands.add_parser("sweep", help="run a declarative sweep of runs and gather one tidy table")
    sweep.add_argument("sweep_file", metavar="SWEEP.yml", help="the sweep file (see sweeps/)")
    _add_executor_arguments(sweep, "local")
    sweep.add_argument("--output", help="folder for runs and tables (default: the file's `output`, "
                                        "else data/results/sweeps/NAME)")
    sweep.add_argument("--retries", type=whole_number(0),
                       help="further attempts of a run whose worker died (default: the file's)")
    sweep.add_argument("--max-runs", type=whole_number(1, MAX_RUNS_LIMIT), default=MAX_RUNS, metavar="N",
                       help=f"refuse a sweep of more runs than this (default: {MAX_RUNS:,}; "
                       f"at most {MAX_RUNS_LIMIT:,})")
    sweep.add_argument("--max-memory", type=real_number(0), metavar="GB",
                       help="refuse a run whose photon-count bank is estimated to need more memory (default: half "
                            "this machine's; 0: no limit)")
    sweep.add_argument("--max-hours", type=real_number(0), metavar="H",
                       help="refuse a run whose bank is estimated to take longer on one core (default 168; 0: no "
                            "limit)")
    sweep.add_argument("--dry-run", action="store_true",
                       help="say what would run, run nothing (every run is checked, its banks against the limits)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=cmd_sweep)

    run = commands.add_parser("run", help="execute one notebook with explicit parameters")
    run.add_argument("notebook", help="notebook name (01_interference) or path")
    run.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"),
                     help="parameter to inject (value read as YAML); repeatable")
    run.add_argument("--profile", help="start from this profile's parameters for the notebook")
    run.add_argument("--force", action="store_true", help="re-execute even if unchanged")
    run.set_defaults(handler=cmd_run)

    profiles = commands.add_parser("profiles", help="list profiles and their notebooks")
    profiles.set_defaults(handler=cmd_profiles)

    recorder = commands.add_parser("record", help="run a chapter with a long profile and store its tables")
    recorder.add_argument("notebook", help="notebook name (04_discrete)")
    recorder.add_argument("--profile", default="standard", help="profile to record (default: standard)")
    recorder.add_argument("--force", action="store_true", help="re-execute the notebook even if unchanged")
    recorder.set_defaults(handler=cmd_record)

    recordings = commands.add_parser("recordings", help="list recordings and whether they are current")
    recordings.set_defaults(handler=cmd_recordings)

    banks = commands.add_parser("banks", help="sample a chapter's photon-count banks ahead of training (resumable)")
    banks.add_argument("notebook", help=f"chapter with a bank plan: {', '.join(BANK_PLANNERS)}")
    banks.add_argument("--profile", default="standard", help="profile whose banks to sample (default: standard)")
    banks.add_argument("--store", default=None,
                       help="sample store folder (default: $QLATENT_SAMPLES or data/cache/samples)")
    banks.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_executor_arguments(banks, "$QLATENT_EXECUTOR for slow banks, else here")
    banks.set_defaults(handler=cmd_banks)

    from qlatent.qpu.cli import add_subparser as add_samples_commands

    add_samples_commands(commands)
    return parser


def _add_executor_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--executor", choices=("serial", "local", "ray"),
                        help=f"where runs execute (default: {default})")
    parser.add_argument("--workers", type=whole_number(1, MAX_WORKERS),
                        help="runs at once (default and most: the machine's or the cluster's CPUs)")
    parser.add_argument("--address", help="Ray cluster to join: auto, HOST:PORT or ray://HOST:PORT "
                                          "(default with --executor ray: start a local instance)")
    parser.add_argument("--gpus-per-run", type=real_number(0), help="GPUs each training run asks for (Ray)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors print one line and exit with status 2."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
    # One BLAS thread unless the user says otherwise: the book's matrices are small, and idle BLAS
    # threads spin on a busy machine (measured: a third more CPU for the same training run).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    if hasattr(args, "func"):  # `qlatent samples ...` reports its own errors and exit status
        return int(args.func(args))
    from qlatent.readers import BadFileError
    from qlatent.recording import RecordingError  # imports NumPy: only once its BLAS threads are set above
    from qlatent.runner.errors import strip_ansi
    from qlatent.runner.execution import WRITE_ERRNOS
    from qlatent.sweep.errors import SweepError, Terminated

    try:
        status = args.handler(args)
    except (RunnerError, RecordingError, SweepError, BadFileError) as exc:
        print(f"qlatent: error: {strip_ansi(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        print(f"qlatent: error: cannot write {exc.filename or 'a file'}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        print(f"qlatent: {exc}" if str(exc) else "qlatent: interrupted; completed notebooks and runs are kept",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as exc:
        print(f"qlatent: {exc}", file=sys.stderr)
        return EXIT_TERMINATED
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
