"""A sweep file: one experiment, the parameters it keeps fixed, the grid it varies, the seeds.

.. code-block:: yaml

    name: table1-paper                 # optional; default: the file's name
    description: Table I, paper protocol
    experiment: qlatent.experiments.discrete:train_run   # or  notebook: 03_synthetic_gan (or a path)
    parameters:                        # passed to every run
      n_steps: 40000
    grid:                              # every combination, the first axis varying slowest
      dataset: [quantum, bernoulli]
      latent: [gaussian, bernoulli, distinguishable, boson]
    seeds: 12                          # 0..11, or a list; the last axis, passed as `seed`
    resources: {gpus: 0}               # GPUs each run asks for (Ray places it on a GPU node)
    retries: 2                         # further attempts of a run whose worker died
    output: ../data/results/sweeps/table1-paper   # optional; relative to this file

An experiment function is called with the fixed parameters, the run's grid values and ``seed``
as keywords; it returns a :class:`~qlatent.experiments.grid.RunOutcome` or a mapping of metric
names to numbers. Values are plain YAML, made into what the function's annotations ask for:

- a parameter annotated with a dataclass (``config: DiscreteConfig``) takes a mapping of its
  fields (nested dataclasses likewise), and a grid axis may vary one field: ``config.n_steps``;
- a parameter annotated ``Path`` takes a string: ``{results}`` stands for the results folder,
  ``{output}`` for the sweep's folder, and a relative path is relative to the sweep file;
- ``run_dir``, when the function takes it, is the run's own folder (for checkpoints), and
  ``runs_dir``, when the function takes it and the file does not set it, is ``{output}/experiment``
  (the experiment names each run's folder in it).

A notebook — a chapter's name, or a ``.ipynb`` path relative to the sweep file — is executed
once per run with those parameters injected and its results folder pointed into the run's
folder; its saved tables are gathered. Everything is checked when the file is loaded — YAML
aliases (refused), more runs than :data:`MAX_RUNS` (counted from the axes' lengths, before
anything is expanded), unknown keys or parameters, a missing required parameter, an empty grid or
axis, values an axis repeats (``1`` and ``1.0``), seeds beyond 64 bits, an experiment that cannot
be imported, every run's values through the experiment's ``validate`` hook when it has one
(:func:`check_runs`), and every run's photon-count banks against the sampling limits through its
``bank_requests`` hook (:func:`check_banks`) — before any run starts (``--dry-run`` included).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fractions
import functools
import hashlib
import importlib
import inspect
import json
import math
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from qlatent.sweep.errors import SweepError

KEYS = ("name", "description", "experiment", "notebook", "parameters", "grid", "seeds", "resources", "retries",
        "output")
#: Keyword the sweep gives an experiment that takes it: the run's own folder.
RUN_DIR = "run_dir"
#: Keyword the sweep gives an experiment that takes it (unless the file sets it): a folder for all runs.
RUNS_DIR = "runs_dir"
#: Parameters a sweep may not set: the tidy tables' ``metric`` and ``value`` columns, and ``run_dir``.
RESERVED = ("metric", "value", RUN_DIR)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Most runs a sweep may have unless the caller raises it (``qlatent sweep --max-runs N``): the
#: count is the product of the axes' lengths, checked before any run is expanded.
MAX_RUNS = 10_000
#: The most ``max_runs`` may be raised to: a million runs take half a minute just to list (``--dry-run``),
#: and their records a million folders.
MAX_RUNS_LIMIT = 1_000_000
#: Seeds are below 2**64, what ``torch.manual_seed`` and numpy's generators take.
SEED_LIMIT = 2**64


def equality_key(value: Any) -> Any:
    """A hashable key of a plain YAML value: equal exactly when Python takes the values as equal.

    Numbers compare by exact value whatever their type (``1``, ``1.0`` and ``true``; ``0.0`` and
    ``-0.0``; but ``9007199254740993`` is not ``9007199254740992.0``, which a float comparison would
    call equal), and lists and mappings element by element (``[1, 2]`` and ``[1.0, 2.0]``).
    """
    if isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return ("number", fractions.Fraction(value))
    if isinstance(value, list):
        return ("list", tuple(equality_key(item) for item in value))
    if isinstance(value, Mapping):
        return ("mapping", frozenset((equality_key(key), equality_key(item)) for key, item in value.items()))
    return (type(value).__name__, value)


def canonical(value: Any) -> str:
    """Sorted-key JSON without spaces: equal parameters give equal strings (the hashing form)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def resolve_experiment(reference: str) -> Callable[..., Any]:
    """The function a ``"package.module:function"`` reference names.

    Raises
    ------
    SweepError
        If the reference is malformed, the module cannot be imported (missing, a syntax error, or
        it raised while imported: one line naming the module and the error) or has no such callable.
    """
    module_name, colon, attribute = reference.partition(":") if isinstance(reference, str) else ("", "", "")
    if not colon or not module_name or not attribute:
        raise SweepError(f"experiment {reference!r} must be written 'package.module:function'")
    try:
        with user_code(f"experiment {reference!r}: importing {module_name!r} failed", "the module"):
            target: Any = importlib.import_module(module_name)
    except SweepError as error:
        cause = error.__cause__
        if isinstance(cause, ImportError):
            raise SweepError(f"experiment {reference!r}: cannot import {module_name!r} ({cause})") from None
        if isinstance(cause, SyntaxError):
            file = cause.filename or _module_file(module_name)  # a NUL byte's error names neither file nor line
            where = ", ".join(part for part in (file, cause.lineno and f"line {cause.lineno}") if part)
            where = f" ({where})" if where else ""
            raise SweepError(f"experiment {reference!r}: module {module_name!r} has a syntax error{where}: "
                             f"{cause.msg}") from None
        raise SweepError(str(error)) from None
    for part in attribute.split("."):
        with user_code(f"experiment {reference!r}: looking up {part!r} in {module_name!r} failed", "the lookup"):
            found = hasattr(target, part)
            if found:
                target = getattr(target, part)
        if not found:
            raise SweepError(f"experiment {reference!r}: {module_name!r} has no {attribute!r}")
    if not callable(target):
        raise SweepError(f"experiment {reference!r} is not callable")
    return target


def _module_file(module_name: str) -> str | None:
    """The file a module is imported from, or None where that cannot be found out."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module_name)
    except Exception:  # a parent package that cannot be imported, a malformed name
        return None
    return spec.origin if spec is not None and spec.has_location else None


def check_function_parameters(reference: str, function: Callable[..., Any], given: list[str]) -> tuple[bool, bool]:
    """Check the sweep's parameter names against the function's signature.

    ``given`` may hold dotted names (``config.n_steps``); their first part must be a parameter
    annotated with a dataclass. Returns whether the function takes ``run_dir`` and ``runs_dir``.

    Raises
    ------
    SweepError
        Naming unknown parameters (and the known ones), or required ones the sweep does not give.
    """
    try:
        signature = inspect.signature(function)
    except (ValueError, TypeError) as error:  # a builtin or class Python cannot describe
        raise SweepError(f"experiment {reference}: its parameters cannot be read ({error}); "
                         "name a Python function") from None
    keyword = {name: p for name, p in signature.parameters.items()
               if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    takes_any = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    heads = list(dict.fromkeys(name.split(".")[0] for name in given))
    unknown = [name for name in heads if name not in keyword and not takes_any]
    if unknown:
        raise SweepError(f"experiment {reference} takes no parameter(s) {', '.join(unknown)}; "
                         f"it takes: {', '.join(n for n in keyword if n != RUN_DIR) or 'none'}")
    hints = type_hints(function)
    for name in given:
        head = name.split(".")[0]
        if "." in name and dataclass_type(hints.get(head)) is None:
            raise SweepError(f"{name}: parameter {head!r} of experiment {reference} is not a dataclass, "
                             "so it has no fields to set")
    takes_runs_dir = RUNS_DIR in keyword and RUNS_DIR not in heads
    missing = [name for name, p in keyword.items() if p.default is p.empty and name not in heads
               and name != RUN_DIR and not (name == RUNS_DIR and takes_runs_dir)]
    if missing:
        raise SweepError(f"experiment {reference} needs parameter(s) {', '.join(missing)}, "
                         "which the sweep file does not give")
    return RUN_DIR in keyword, takes_runs_dir


@contextlib.contextmanager
def user_code(failed: str, subject: str) -> Iterator[None]:
    """Run a block of the user's code (importing their module, a hook): whatever it raises is one SweepError.

    The error reads ``<failed>: TypeName: message`` (``<subject> exited with status N`` for
    ``sys.exit``), with the original exception as its ``__cause__``. Anything is caught —
    ``BaseException`` subclasses and a ``KeyboardInterrupt`` the code raised itself — except the
    user's own Ctrl-C, which still stops the command.

    Raises
    ------
    SweepError
        If the block raised.
    """
    from qlatent.sweep.executors import failure_line, user_interrupts

    with user_interrupts() as pressed:
        try:
            yield
        except BaseException as error:  # the user's code may raise anything
            if isinstance(error, KeyboardInterrupt) and pressed:
                raise
            raise SweepError(f"{failed}: {failure_line(error, subject)}") from error


def _refusal(reference: str, check: Callable[..., Any], arguments: Mapping[str, Any]) -> ValueError | TypeError | None:
    """The ``ValueError``/``TypeError`` with which the hook refuses ``arguments`` (None if it accepts them).

    Raises
    ------
    SweepError
        If the hook itself fails any other way (another exception, ``sys.exit``): a broken hook.
    """
    try:
        with user_code(f"the validate hook of experiment {reference} failed", "the validate hook"):
            check(**arguments)
    except SweepError as error:
        if isinstance(error.__cause__, (ValueError, TypeError)):
            return error.__cause__
        raise SweepError(str(error)) from None
    return None


def check_runs(reference: str, function: Callable[..., Any],
               tasks: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Run the experiment's ``validate`` hook (if it has one) on every run's arguments; train nothing.

    An experiment exposes ``function.validate``: a callable taking the same keyword arguments as
    ``function`` that makes the checks ``function`` makes before any work and raises
    ``ValueError`` (or ``TypeError``) on a value the run would refuse; a
    :class:`qlatent.checks.ParameterError` names the parameter. ``tasks`` pairs each run's grid
    values with its built arguments (:meth:`SweepSpec.task`).

    Raises
    ------
    SweepError
        For the first refused run, with the experiment's message: naming the parameter and its
        value (``grid value latent='cauchy' is refused ...``) when the hook names it, else the run's
        grid values.
    """
    from qlatent.checks import ParameterError
    from qlatent.sweep.errors import describe_job

    check = getattr(function, "validate", None)
    if check is None:
        return
    if not callable(check):
        raise SweepError(f"experiment {reference}: its validate hook is not callable ({type(check).__name__})")
    for job, arguments in tasks:
        error = _refusal(reference, check, arguments)
        if error is None:
            continue
        if isinstance(error, ParameterError):
            where = "grid value" if error.parameter in job else "parameter"
            raise SweepError(f"{where} {error.parameter}={error.value!r} is refused by experiment {reference}: "
                             f"{error}")
        raise SweepError(f"the run {describe_job(job)} is refused by experiment {reference}: {error}")


def check_banks(reference: str, function: Callable[..., Any],
                tasks: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Size every run's photon-count banks against the sampling limits; sample nothing.

    An experiment whose runs draw banks exposes ``function.bank_requests``: a callable taking the
    same keyword arguments as ``function`` and returning the
    :class:`~qlatent.qpu.SampleRequest` of each bank the run asks the sample store for (None for
    a latent without one). A bank already in the run's store (its ``store`` argument, else the
    default) is read whatever its size; each other one is estimated by its backend
    (:func:`~qlatent.qpu.limits.estimate_sampling`) and checked against
    :class:`~qlatent.qpu.limits.SamplingLimits` with its defaults, which ``qlatent sweep
    --max-memory GB --max-hours H`` sets through the environment, as the run itself would.

    Raises
    ------
    SweepError
        For the first run with a bank past a limit: its grid values and the estimate, with the
        options that raise the limit; or if a limit's environment variable (``$QLATENT_MAX_HOURS``,
        ``$QLATENT_MAX_MEMORY_GB``) is not a number, naming it.
    """
    from qlatent.qpu.backends import backend_kind, get_backend
    from qlatent.qpu.errors import SampleSizeError
    from qlatent.qpu.limits import SamplingLimits, estimate_sampling
    from qlatent.qpu.store import SampleStore
    from qlatent.sweep.errors import describe_job

    list_banks = getattr(function, "bank_requests", None)
    if list_banks is None:
        return
    try:
        limits = SamplingLimits()
    except ValueError as error:  # a malformed $QLATENT_MAX_* variable
        raise SweepError(f"the runs of experiment {reference} cannot be sized: {error}") from None
    refusals: dict[str, str | None] = {}  # request id -> the refusal (None: within the limits or stored)
    backends: dict[str, Any] = {}  # backends that run here estimate time too; others are sized by their counts
    for job, arguments in tasks:
        store = arguments.get("store")
        store = store if isinstance(store, SampleStore) else SampleStore(store)
        for request in list_banks(**arguments):
            if request is None:
                continue
            request_id = request.request_id()
            if request_id not in refusals:
                refusals[request_id] = None
                if request_id not in store:
                    if request.backend not in backends:
                        backends[request.backend] = get_backend(request.backend) if backend_kind(
                            request.backend)[0] in ("local", "perceval") else None
                    try:
                        limits.check(estimate_sampling(request, backends[request.backend]), request)
                    except SampleSizeError as error:
                        refusals[request_id] = str(error)
            if refusals[request_id] is not None:
                raise SweepError(f"the run {describe_job(job)} is refused by experiment {reference}: its photon-count "
                                 f"bank is too large: {refusals[request_id]}")


def type_hints(target: Any) -> dict[str, Any]:
    """``typing.get_type_hints`` of a function or class, or ``{}`` where they cannot be resolved."""
    try:
        return typing.get_type_hints(target)
    except Exception:  # unresolvable annotations just mean no conversion
        return {}


def _members(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def dataclass_type(hint: Any) -> type | None:
    """The dataclass a hint names (also inside ``X | None``), or None."""
    for member in _members(hint):
        if isinstance(member, type) and dataclasses.is_dataclass(member):
            return member
    return None


def fold_dotted(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"config": {...}, "config.n_steps": 5}`` → ``{"config": {..., "n_steps": 5}}`` (dotted names last win).

    Raises
    ------
    SweepError
        If a dotted name sets a field of a parameter given as something other than a mapping.
    """
    folded: dict[str, Any] = {name: value for name, value in values.items() if "." not in name}
    for name, value in values.items():
        if "." not in name:
            continue
        *path, last = name.split(".")
        target = folded
        for part in path:
            target[part] = dict(target.get(part) or {}) if isinstance(target.get(part, {}), Mapping) else None
            if target[part] is None:
                raise SweepError(f"{name}: {part!r} is given as a value, so none of its fields can be set")
            target = target[part]
        target[last] = value
    return folded


def build_value(hint: Any, value: Any, where: str, path: Callable[[str], Path]) -> Any:
    """Make a plain YAML value into what ``hint`` asks for: a dataclass from a mapping, a ``Path`` from a string.

    Raises
    ------
    SweepError
        Naming ``where``, if a mapping names fields the dataclass lacks or the dataclass refuses a value.
    """
    cls = dataclass_type(hint)
    if cls is not None and isinstance(value, Mapping):
        fields = [field.name for field in dataclasses.fields(cls) if field.init]
        unknown = [str(name) for name in value if name not in fields]
        if unknown:
            raise SweepError(f"{where}: {cls.__name__} has no field(s) {', '.join(unknown)}; "
                             f"it has: {', '.join(fields)}")
        hints = type_hints(cls)
        arguments = {name: build_value(hints.get(name), item, f"{where}.{name}", path) for name, item in value.items()}
        try:
            return cls(**arguments)
        except (TypeError, ValueError) as error:
            raise SweepError(f"{where}: {error}") from None
    if isinstance(value, str) and Path in _members(hint):
        return path(value)
    return value


def _check_notebook(reference: str, base_dir: Path, fixed: Mapping[str, Any],
                    grid: Mapping[str, list[Any]]) -> tuple[str, Path]:
    """The notebook a sweep names — a book chapter's name, or a path (relative to the sweep file) —
    as ``(name, source path)``, with its parameters checked.

    Raises
    ------
    SweepError
        If the notebook is unknown or does not declare a parameter of the sweep.
    """
    from qlatent.runner.errors import RunnerError
    from qlatent.runner.execution import check_parameters, resolve_notebook

    candidate = Path(reference).expanduser()
    if candidate.suffix == ".ipynb" and not candidate.is_absolute() and (base_dir / candidate).is_file():
        reference = str(base_dir / candidate)
    try:
        notebook, path = resolve_notebook(reference)
        check_parameters(notebook, path, dict(fixed))
        for axis, values in grid.items():
            for value in values:
                check_parameters(notebook, path, {axis: value})
    except RunnerError as error:
        raise SweepError(str(error)) from None
    return notebook, path.resolve()


def _check_axis(name: str, values: list[Any]) -> list[Any]:
    """An axis's values, checked: plain YAML, no two equal as Python compares them, seeds in range.

    Values YAML types differently but Python takes as equal (``1`` and ``1.0``) would be separate
    runs of one experiment, so they count as a repeat; ``true``/``false`` beside numbers (``true
    == 1``) is refused, as is a table column mixing them.
    """
    if not values:
        raise SweepError(f"grid axis {name!r} is empty: give it at least one value")
    numbers = [value for value in values if isinstance(value, (int, float))]
    if any(isinstance(value, bool) for value in numbers) and not all(isinstance(value, bool) for value in numbers):
        raise SweepError(f"grid axis {name!r} mixes true/false with numbers: {values}")
    try:
        canonical(values)
        distinct = {equality_key(value) for value in values}
    except (TypeError, ValueError, OverflowError) as error:
        raise SweepError(f"grid axis {name!r} holds a value that is not plain YAML: {error}") from None
    if len(distinct) != len(values):
        raise SweepError(f"grid axis {name!r} repeats a value: {values}")
    if name == "seed":
        check_seeds(values, "grid axis 'seed'")
    return values


def check_seeds(seeds: list[Any], where: str) -> None:
    """Refuse seeds that are not integers in ``[0, 2**64)`` (:data:`SEED_LIMIT`), naming ``where``."""
    bad = [seed for seed in seeds if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT]
    if bad:
        raise SweepError(f"{where} must be non-negative integers below 2**64 (what torch and numpy take), "
                         f"got {bad[0]!r}")


def _axes(grid: Any, seeds: Any, max_runs: int) -> dict[str, list[Any]]:
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or not 1 <= max_runs <= MAX_RUNS_LIMIT:
        raise SweepError(f"the limit on runs must be a whole number in [1, {MAX_RUNS_LIMIT:,}], got {max_runs!r}")
    if grid is None:
        grid = {}
    if not isinstance(grid, Mapping):
        raise SweepError(f"grid must map parameter names to lists of values, got {type(grid).__name__}")
    lengths: dict[str, int] = {}
    for name, values in grid.items():
        if not isinstance(values, list):
            raise SweepError(f"grid axis {name!r} must be a list of values, got {values!r}")
        lengths[str(name)] = len(values)
    if seeds is not None:
        if "seed" in lengths:
            raise SweepError("give seeds either as `seeds` or as a grid axis `seed`, not both")
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            if seeds < 1:
                raise SweepError(f"seeds must be a positive count or a list of seeds, got {seeds}")
            lengths["seed"] = seeds
        elif not isinstance(seeds, list) or not seeds:
            raise SweepError(f"seeds must be a positive count or a non-empty list of non-negative integers, "
                             f"got {seeds!r}")
        else:
            lengths["seed"] = len(seeds)
    if not lengths:
        raise SweepError("the sweep's grid is empty: give `grid` (parameter: [values, ...]) and/or `seeds`")
    n_runs = math.prod(lengths.values())  # from the lengths alone: nothing is expanded before this check
    if n_runs > max_runs:
        sizes = ", ".join(f"{name!r}: {length:,}" for name, length in lengths.items())
        raise SweepError(f"the sweep has {n_runs:,} runs (the product of its axes' lengths, {sizes}), "
                         f"more than the limit of {max_runs:,}; "
                         "split it, or raise the limit (qlatent sweep --max-runs N)")
    axes = {str(name): _check_axis(str(name), values) for name, values in grid.items()}
    if seeds is not None:
        seeds = list(range(seeds)) if isinstance(seeds, int) else seeds
        check_seeds(seeds, "seeds")
        if len(set(seeds)) != len(seeds):
            raise SweepError(f"seeds repeat: {seeds}")
        axes["seed"] = seeds
    return axes


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: use :func:`load_sweep` (a file) or :meth:`from_mapping` to make one."""

    name: str
    experiment: str | None
    notebook: str | None
    parameters: dict[str, Any]
    grid: dict[str, list[Any]]
    output: Path
    gpus: float = 0.0
    retries: int = 2
    description: str = ""
    takes_run_dir: bool = False
    takes_runs_dir: bool = False
    base_dir: Path = Path(".")
    notebook_path: Path | None = None

    @classmethod
    def from_mapping(cls, data: Any, *, name: str, base_dir: Path, output: str | Path | None = None,
                     max_runs: int = MAX_RUNS) -> SweepSpec:
        """Check a parsed sweep file (see the module docstring) and resolve its experiment.

        ``max_runs`` bounds the number of runs (the product of the axes' lengths, computed before
        anything is expanded).

        Raises
        ------
        SweepError
            On any problem, naming it — before anything runs.
        """
        from qlatent.sweep.engine import DEFAULT_RETRIES

        if not isinstance(data, Mapping):
            raise SweepError("a sweep file must be a mapping (experiment, parameters, grid, seeds, ...)")
        unknown = [str(key) for key in data if key not in KEYS]
        if unknown:
            raise SweepError(f"unknown key(s) in the sweep file: {', '.join(unknown)}; known: {', '.join(KEYS)}")
        name = str(data.get("name", name))
        if not _NAME.match(name):
            raise SweepError(f"sweep name {name!r} must be letters, digits, '_', '-' or '.'")
        if ("experiment" in data) == ("notebook" in data):
            raise SweepError("a sweep file names exactly one of `experiment` (package.module:function) or `notebook`")
        fixed = data.get("parameters") or {}
        if not isinstance(fixed, Mapping):
            raise SweepError(f"parameters must be a mapping of name: value, got {type(fixed).__name__}")
        fixed = {str(key): value for key, value in fixed.items()}
        axes = _axes(data.get("grid"), data.get("seeds"), max_runs)
        if "seed" in fixed:
            check_seeds([fixed["seed"]], "parameter 'seed'")
        both = sorted(set(fixed) & set(axes))
        if both:
            raise SweepError(f"parameter(s) {', '.join(both)} are both fixed and in the grid")
        reserved = sorted((set(fixed) | set(axes)) & set(RESERVED))
        if reserved:
            raise SweepError(f"parameter(s) {', '.join(reserved)} are reserved: the sweep sets run_dir, and "
                             "metric and value are table columns")
        try:
            canonical({"parameters": fixed, "grid": axes})
        except (TypeError, ValueError) as error:
            raise SweepError(f"parameters and grid values must be plain YAML values (numbers, strings, lists, "
                             f"mappings): {error}") from None
        resources = data.get("resources") or {}
        if not isinstance(resources, Mapping) or set(resources) - {"gpus"}:
            raise SweepError(f"resources takes only `gpus`, got {resources!r}")
        from qlatent.sweep.executors import check_gpus

        gpus = check_gpus(resources.get("gpus", 0), "resources.gpus")
        retries = data.get("retries", DEFAULT_RETRIES)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise SweepError(f"retries must be a non-negative integer, got {retries!r}")
        if output is None:
            if "output" in data:
                output = base_dir / check_output(data["output"], "output")
            else:
                from qlatent.paths import results_dir

                output = results_dir() / "sweeps" / name
        else:
            output = Path(check_output(output, "the output folder"))
        if Path(output).exists() and not Path(output).is_dir():
            raise SweepError(f"output {str(output)!r} is a file, not a folder: name a folder for the runs and tables")
        takes_run_dir = takes_runs_dir = False
        experiment = notebook = notebook_path = None
        if "experiment" in data:
            experiment = str(data["experiment"])
            function = resolve_experiment(experiment)
            takes_run_dir, takes_runs_dir = check_function_parameters(experiment, function, [*fixed, *axes])
        else:
            dotted = [name for name in [*fixed, *axes] if "." in name]
            if dotted:
                raise SweepError(f"notebook parameters have no fields: {', '.join(dotted)}")
            notebook, notebook_path = _check_notebook(str(data["notebook"]), Path(base_dir), fixed, axes)
        spec = cls(name, experiment, notebook, fixed, axes, Path(output).resolve(), float(gpus), retries,
                   str(data.get("description", "")), takes_run_dir, takes_runs_dir, Path(base_dir).resolve(),
                   notebook_path)
        if experiment is not None:
            # Every run's arguments are built once here, and checked by the experiment's validate
            # hook, so a bad grid value fails now (also on --dry-run), not after the runs start.
            tasks = [(job, spec.task(job, spec.output)) for job in spec.jobs()]
            check_runs(experiment, function, tasks)
            check_banks(experiment, function, tasks)
        return spec

    @property
    def target(self) -> str:
        """``package.module:function`` or ``notebook:NAME``."""
        return self.experiment if self.experiment is not None else f"notebook:{self.notebook}"

    def jobs(self) -> list[dict[str, Any]]:
        """Every run's grid values (first axis varying slowest, seeds last)."""
        from qlatent.experiments.grid import product_jobs

        return product_jobs(**self.grid)

    def key(self, job: Mapping[str, Any]) -> str:
        """A run's key: 16 hex digits of the SHA-256 of the experiment, the fixed parameters and the job."""
        payload = canonical({"experiment": self.target, "parameters": self.parameters, "job": dict(job)})
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def function(self) -> Callable[..., Any]:
        """What each task calls: the experiment itself, or the notebook runner bound to the notebook."""
        if self.experiment is not None:
            return resolve_experiment(self.experiment)
        from qlatent.sweep.notebooks import execute_notebook_run

        return functools.partial(execute_notebook_run, str(self.notebook_path or self.notebook))

    def path(self, text: str) -> Path:
        """A path from the file: ``{results}`` and ``{output}`` expanded, relative to the sweep file."""
        from qlatent.paths import results_dir

        text = text.replace("{results}", str(results_dir())).replace("{output}", str(self.output))
        path = Path(text).expanduser()
        return (path if path.is_absolute() else self.base_dir / path).resolve()

    def task(self, job: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
        """The keyword arguments of one run's call (dataclasses and paths built from the file's values).

        Raises
        ------
        SweepError
            If a value cannot be made into what the experiment's annotation asks for.
        """
        if self.notebook is not None:
            return {"parameters": {**self.parameters, **job}, "run_dir": str(run_dir)}
        values = fold_dotted({**self.parameters, **job})
        if self.takes_runs_dir:
            values[RUNS_DIR] = str(self.output / "experiment")
        hints = type_hints(resolve_experiment(self.experiment))
        arguments = {name: build_value(hints.get(name), value, name, self.path) for name, value in values.items()}
        if self.takes_run_dir:
            arguments[RUN_DIR] = run_dir
        return arguments

    def to_dict(self) -> dict[str, Any]:
        """The checked sweep as JSON (recorded beside the runs)."""
        return {"name": self.name, "description": self.description, "experiment": self.experiment,
                "notebook": self.notebook,
                "notebook_path": None if self.notebook_path is None else str(self.notebook_path),
                "parameters": self.parameters, "grid": self.grid,
                "resources": {"gpus": self.gpus}, "retries": self.retries, "output": str(self.output)}


def check_output(output: Any, what: str) -> str | Path:
    """A sweep's output folder as given: a path (text), not empty, without NUL bytes.

    Raises
    ------
    SweepError
        Naming ``what``, for anything else (None, a list, ``""``, ``"a\\0b"``).
    """
    if not isinstance(output, (str, Path)) or not str(output).strip() or "\0" in str(output):
        raise SweepError(f"{what} must be a folder's path (text), got {output!r:.80}; "
                         "leave it out for data/results/sweeps/NAME")
    return output


def load_sweep(path: str | Path, *, output: str | Path | None = None, max_runs: int = MAX_RUNS) -> SweepSpec:
    """Read and check a sweep file (see the module docstring).

    Parameters
    ----------
    path : path
        The YAML file.
    output : path, optional
        Where runs and tables go, instead of the file's ``output`` (default
        ``results_dir()/sweeps/<name>``).
    max_runs : int
        Most runs the sweep may have (:data:`MAX_RUNS` by default).

    Raises
    ------
    SweepError
        If the file is missing, a directory, not UTF-8, not valid YAML or repeats a key in one
        mapping (:func:`qlatent.readers.load_yaml`, which also reads ``1e-3`` as a float), uses
        a YAML alias (``*name``: a few hundred bytes of aliases can stand for gigabytes), or on
        any problem :meth:`SweepSpec.from_mapping` finds.
    """
    from qlatent.readers import BadFileError, load_yaml

    path = Path(path)
    try:
        data = load_yaml(path, "sweep file", _sweep_loader())
    except BadFileError as error:
        raise SweepError(str(error)) from None
    try:
        return SweepSpec.from_mapping(data, name=path.stem, base_dir=path.resolve().parent,
                                      output=output, max_runs=max_runs)
    except SweepError as error:
        raise SweepError(f"{path}: {error}") from None


def _sweep_loader() -> type:
    """:class:`qlatent.readers.StrictLoader` refusing aliases (``*name``), which a sweep file never needs."""
    import yaml

    from qlatent.readers import StrictLoader

    class SweepLoader(StrictLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, f"an alias (*{event.anchor}) is not allowed in a sweep file: write the value out",
                    event.start_mark)
            return super().compose_node(parent, index)

    return SweepLoader
