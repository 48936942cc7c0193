"""Execute one notebook with papermill, skipping it when nothing that shapes its output has changed.

A notebook is re-executed when its source, its injected parameters, qlatent's code
(:func:`qlatent.provenance.code_fingerprint`) or the files of its recordings
(``data/recorded/<notebook>/**``) differ from its last successful execution, recorded in a stamp
file beside the executed copy, or when the results that execution published (their SHA-256, kept
in the stamp) were changed since by anything else.

An execution never leaves a half-made state behind, whether a cell raises, the kernel dies or the
run is interrupted or killed:

* the executed copy is written under ``_build/executing/`` (outside the book's source tree) and
  moved into ``book/executed/`` only when every cell succeeded;
* the result tables, figures and manifest the notebook saves are staged
  (:data:`qlatent.results.STAGING_ENV`) and published only then; the stamp is removed before
  they are published and written after, so a run killed in between is never taken as current;
* the kernel talks over IPC sockets in a private folder of its own, and is killed (with its
  process group) on every way out;
* one notebook is executed by one process at a time: a second ``qlatent run`` of it is refused
  with a message naming the first (a lock under ``_build/locks/``); different notebooks may run
  at once. Leftovers of a killed execution of the notebook are removed when it next runs.

A failed copy is kept under ``_build/failed/`` for inspection.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qlatent.interrupts import stop_on_interrupt
from qlatent.io import atomic_path, atomic_write_json
from qlatent.paths import build_dir, executed_dir, notebooks_dir, profiles_file, project_root, results_dir
from qlatent.provenance import code_fingerprint
from qlatent.runner.errors import Interrupted, KernelDied, NotebookFailed, ParametersRefused, RunnerError
from qlatent.runner.profiles import load_profiles

# papermill's inferred type names → the Python types a value may have (bool is not a number here).
_ACCEPTED_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}
# ... and those an annotation names (a list parameter may be written as a tuple default).
_ANNOTATED_TYPES: dict[str, tuple[type, ...]] = {
    **_ACCEPTED_TYPES, "None": (type(None),), "tuple": (list, tuple), "Sequence": (list, tuple),
    "Mapping": (dict,),
}

#: ``name`` must be at most ``other``.
AT_MOST = "at most"
#: ``name`` must be a whole multiple of ``other``.
MULTIPLE_OF = "a multiple of"
#: Rules between a notebook's parameters, ``(name, relation, other)``, checked in this order. A
#: training curve logs a row every ``log_every`` steps, so a run shorter than that has no curve to
#: draw; a chapter that reads the scores logged at a step (``compare_step``, or the last step of a
#: run, in 03) finds them only at a multiple of ``log_every`` within the runs' length.
PARAMETER_RULES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "03_mixture": (("log_every", AT_MOST, "latent_steps"), ("log_every", AT_MOST, "depth_steps"),
                   ("compare_step", AT_MOST, "latent_steps"), ("latent_steps", MULTIPLE_OF, "log_every"),
                   ("depth_steps", MULTIPLE_OF, "log_every"), ("compare_step", MULTIPLE_OF, "log_every")),
    "04_discrete": (("log_every", AT_MOST, "n_steps"),),
    "04b_mechanism": (("log_every", AT_MOST, "n_steps"),),
    "05_qm9": (("log_every", AT_MOST, "n_steps"), ("log_every", AT_MOST, "fast_n_steps")),
    "06_flows_diffusion": (("log_every", AT_MOST, "flow_steps"), ("log_every", AT_MOST, "ddgan_steps")),
}
#: The parameter through which the runner tells a notebook its profile; never set by hand.
PROFILE_PARAMETER = "profile"
#: ``errno`` of a write that failed for want of space (or on a read-only disk), not because of the notebook.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
#: Who asked for an execution, kept in its stamp: ``qlatent book``, ``qlatent run``, ``qlatent record``.
ORIGINS = ("book", "run", "record")


@dataclass(frozen=True)
class ExecutionResult:
    """What happened to one notebook: ``executed`` or ``skipped``, how long it took, where it is."""

    name: str
    status: str
    seconds: float
    output: Path


def available_notebooks() -> list[str]:
    """Names (file stems) of the source notebooks."""
    return sorted(path.stem for path in notebooks_dir().glob("*.ipynb"))


def resolve_notebook(name_or_path: str) -> tuple[str, Path]:
    """Map a notebook name (``01_interference``) or path to ``(name, source path)``.

    Raises
    ------
    RunnerError
        An unknown name, or a path elsewhere named like one of the book's notebooks (its executed
        copy would replace the chapter's).
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".ipynb" and candidate.is_file():
        chapter = notebooks_dir() / candidate.name
        if chapter.is_file() and chapter.resolve() != candidate.resolve():
            raise RunnerError(f"{name_or_path} is named like the book's notebook {candidate.stem!r} "
                              f"({chapter}) and would replace its executed copy; rename it")
        return candidate.stem, candidate.resolve()
    path = notebooks_dir() / f"{candidate.stem if candidate.suffix == '.ipynb' else name_or_path}.ipynb"
    if not path.is_file():
        raise RunnerError(f"unknown notebook {name_or_path!r}; available: {', '.join(available_notebooks()) or 'none'}")
    return path.stem, path


def read_notebook(name: str, path: Path) -> dict[str, Any]:
    """The notebook file's JSON (``nbformat`` 4: a mapping with a ``cells`` list).

    Raises
    ------
    RunnerError
        One line naming the file: unreadable, not UTF-8, not valid JSON (a truncated file says it
        ends early) or not a notebook.
    """
    from qlatent.readers import BadFileError, load_json

    try:
        notebook = load_json(path, f"notebook {name!r}")
    except BadFileError as error:
        raise RunnerError(str(error)) from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list) \
            or not all(isinstance(cell, dict) for cell in notebook["cells"]):
        raise RunnerError(f"notebook {name!r} ({path}) is not a Jupyter notebook: it has no list of cells")
    return notebook


def declared_parameters(name: str, path: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its cell tagged ``parameters``; empty without one.

    Each top-level assignment to a name is a parameter, annotated (``foo: None | str = None``) or
    not. Maps the name to ``name``, ``inferred_type_name`` (the annotation's text, else
    ``"None"``), ``default`` (the value's source text) and ``help`` (``""``), as
    :func:`papermill.inspect_notebook` does; unlike it, annotations of any form are recognised.

    Raises
    ------
    RunnerError
        The notebook cannot be read (:func:`read_notebook`), or its parameters cell is not valid Python.
    """
    cells = [cell for cell in read_notebook(name, path)["cells"]
             if "parameters" in ((cell.get("metadata") or {}).get("tags") or [])]
    declared: dict[str, dict[str, Any]] = {}
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            raise RunnerError(f"the parameters cell of notebook {name!r} is not valid Python at line {error.lineno}: "
                              f"{error.msg}") from None
        for statement in tree.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                    and statement.value is not None:
                targets, annotation = [statement.target], ast.get_source_segment(source, statement.annotation)
            elif isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
                targets, annotation = statement.targets, None
            else:
                continue
            default = ast.get_source_segment(source, statement.value)
            for target in targets:
                declared[target.id] = {"name": target.id, "inferred_type_name": annotation or "None",
                                       "default": default, "help": ""}
    return declared


def _has_parameters_cell(name: str, path: Path) -> bool:
    return any("parameters" in ((cell.get("metadata") or {}).get("tags") or [])
               for cell in read_notebook(name, path)["cells"])


def check_parameters(name: str, path: Path, parameters: dict[str, Any]) -> None:
    """Refuse parameters the notebook does not declare, of a type it does not expect, or out of order.

    A parameter's type is its annotation (``int``, ``float``, ``None | str``, ``Optional[list[int]]``,
    also as a string) or else the type of its default; an int is a float, a bool is not a number,
    and ``None`` is accepted for any parameter ("not set"). A notebook without a ``parameters``
    cell takes no parameter. The parameters with the notebook's defaults for the others must keep
    the rules :data:`PARAMETER_RULES` names (``log_every`` at most ``n_steps``, ``compare_step`` a
    multiple of ``log_every``, say). The
    notebooks run the same checks themselves (:func:`check_notebook_parameters`).

    Raises
    ------
    RunnerError
        Naming the parameter: undeclared, of the wrong type, breaking a rule, or ``profile`` (which
        only the runner sets, from ``--profile``, so a run's label always matches its
        parameters); or the notebook cannot be read (:func:`read_notebook`).
    """
    declared = declared_parameters(name, path)
    if PROFILE_PARAMETER in parameters and PROFILE_PARAMETER in declared:
        raise RunnerError(
            f"parameter {PROFILE_PARAMETER!r} of notebook {name!r} is set by the runner, not by hand: "
            f"use `qlatent run {name} --profile NAME` to run a profile's parameters "
            "(parameters of your own are labelled 'custom')"
        )
    if parameters and not declared and not _has_parameters_cell(name, path):
        raise RunnerError(f"notebook {name!r} has no cell tagged 'parameters', so it takes no parameter; "
                          f"got: {', '.join(parameters)}")
    for key, value in parameters.items():
        if key not in declared:
            settable = [parameter for parameter in declared if parameter != PROFILE_PARAMETER]
            raise RunnerError(
                f"notebook {name!r} declares no parameter {key!r}; it declares: {', '.join(settable) or 'none'}"
            )
        expected, accepted = _declared_type(declared[key])
        if accepted is None or value is None:  # None: "not set" / "all", for any parameter
            continue
        wrong_bool = isinstance(value, bool) and bool not in accepted
        if wrong_bool or not isinstance(value, accepted):
            raise RunnerError(
                f"parameter {key!r} of notebook {name!r} expects {expected}, got {type(value).__name__} {value!r}"
            )
    _check_rules(name, declared, parameters)


def _check_rules(name: str, declared: dict[str, dict[str, Any]], parameters: dict[str, Any]) -> None:
    """Refuse values breaking a rule of :data:`PARAMETER_RULES`, naming a parameter given: for
    "at most" the larger one if it was given, for "a multiple of" the multiple if it was given."""
    values = {key: _literal(declaration.get("default", "None")) for key, declaration in declared.items()}
    values.update(parameters)
    for first, relation, second in PARAMETER_RULES.get(name, ()):
        low, high = values.get(first), values.get(second)
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in (low, high)):
            continue
        if relation == AT_MOST and low > high:
            if second in parameters:
                raise RunnerError(f"parameter {second!r} of notebook {name!r} is {high}, below {first}={low}: "
                                  f"it must be at least {first} (raise {second} or lower {first})")
            raise RunnerError(f"parameter {first!r} of notebook {name!r} is {low}, above {second}={high}: "
                              f"it must be at most {second} (lower {first} or raise {second})")
        if relation == MULTIPLE_OF and high > 0 and low % high:
            named, value = (second, high) if second in parameters and first not in parameters else (first, low)
            raise RunnerError(f"parameter {named!r} of notebook {name!r} is {value}, but {first}={low} is not a "
                              f"multiple of {second}={high}: scores are logged only every {second} steps, so "
                              f"none would be at step {low} (make {first} a multiple of {second})")


def _literal(source: str) -> Any:
    """The value of a parameter's default literal; ``None`` when it is not a literal."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def check_notebook_parameters(name: str, namespace: dict[str, Any]) -> None:
    """Check, inside a running notebook, the parameters it was given, as ``qlatent run -p`` does.

    Called from the one cell after a chapter's ``parameters`` cell (tagged ``remove-input``) with
    ``globals()``, so a notebook executed by plain papermill (``papermill IN OUT -p n_steps 20``)
    refuses a bad parameter before any work, as :func:`check_parameters` does for the runner: a
    name the notebook does not declare (papermill only warns), a value of the wrong type, values
    breaking a rule (:data:`PARAMETER_RULES`). Every public name of ``namespace`` bound to data
    (not a module, function or class: papermill injects literals) other than the interpreter's
    own (IPython's ``In``, ``Out`` ...) counts as a parameter, so it must be called before any
    other cell binds a value. ``profile`` (which the runner sets) must name a profile of
    ``notebooks/profiles.yml`` or be ``"custom"``, the runner's label of parameters of one's own.

    Parameters
    ----------
    name
        The chapter's name (``04_discrete``); its declared parameters are read from the book's
        notebook of that name.
    namespace
        The notebook's global names and values.

    Raises
    ------
    ParametersRefused
        One line naming the parameter (IPython shows it without a traceback).
    """
    path = notebooks_dir() / f"{name}.ipynb"
    shell = namespace.get("get_ipython")
    hidden = set(getattr(shell(), "user_ns_hidden", ())) if callable(shell) else set()
    parameters = {key: value for key, value in namespace.items()
                  if not key.startswith("_") and key not in hidden and key != PROFILE_PARAMETER
                  and not isinstance(value, types.ModuleType) and not callable(value)}
    try:
        check_parameters(name, path, parameters)
        if PROFILE_PARAMETER in namespace:
            _check_profile_label(name, namespace[PROFILE_PARAMETER])
    except RunnerError as error:
        raise ParametersRefused(str(error)) from None


def _check_profile_label(name: str, value: Any) -> None:
    """Refuse a ``profile`` that is neither a profile of the profiles file nor ``"custom"``."""
    known = [*load_profiles(profiles_file()), "custom"]
    if not isinstance(value, str) or value not in known:
        raise RunnerError(f"{name}: parameter {PROFILE_PARAMETER!r} must be one of {', '.join(known)} (a profile of "
                          f"{profiles_file().name}, or custom for parameters of one's own), got {value!r:.60}")


def _declared_type(declaration: dict[str, Any]) -> tuple[str, tuple[type, ...] | None]:
    """``(type as written, accepted Python types)`` of a parameter: its annotation if any, else the
    type of its default literal. Accepted types are ``None`` (anything) when unknown."""
    annotated = declaration.get("inferred_type_name", "None")
    if annotated and annotated != "None":
        try:
            return annotated, _annotation_types(ast.parse(annotated, mode="eval").body)
        except SyntaxError:
            return annotated, None
    source = declaration.get("default", "None")
    default = _literal(source)
    if default is None and source.strip() != "None":
        return "None", None
    name = type(default).__name__
    return name, _ACCEPTED_TYPES.get(name)


def _annotation_types(node: ast.expr) -> tuple[type, ...] | None:
    """Python types an annotation admits (``X | Y``, ``Optional[X]``, ``Union[...]``, ``list[int]``,
    a string annotation); ``None`` when any value may do (``Any``, a class of the notebook's own)."""
    if isinstance(node, ast.Constant):
        if node.value is None:
            return (type(None),)
        if isinstance(node.value, str):
            try:
                return _annotation_types(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return None
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        parts = [_annotation_types(node.left), _annotation_types(node.right)]
    elif isinstance(node, ast.Subscript):
        base = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base == "Optional":
            parts = [_annotation_types(inner[0]), (type(None),)]
        elif base == "Union":
            parts = [_annotation_types(element) for element in inner]
        else:
            return _annotation_types(node.value)
    else:
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        return _ANNOTATED_TYPES.get(name.lower() if name in ("List", "Dict", "Tuple") else name)
    if any(part is None for part in parts):
        return None
    return tuple(dict.fromkeys(kind for part in parts for kind in part))


def recorded_files(name: str) -> dict[str, str]:
    """SHA-256 of every file of the notebook's recordings (``data/recorded/<name>/**``), keyed by path.

    Hidden entries (a recording being staged) are left out. Empty when the notebook has none.
    """
    from qlatent.io import sha256_file
    from qlatent.recording import recorded_dir

    folder = recorded_dir() / name
    if not folder.is_dir():
        return {}
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files[relative.as_posix()] = sha256_file(path)
    return files


def recordings_read(path: Path) -> list[str]:
    """The chapters whose recordings a notebook reads besides its own: its metadata's
    ``qlatent.reads_recordings`` (the claims page reads every chapter's); ``[]`` when unset.

    Raises
    ------
    RunnerError
        If that metadata is not a list of names.
    """
    metadata = (json.loads(path.read_text()).get("metadata") or {}).get("qlatent") or {}
    names = metadata.get("reads_recordings", [])
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise RunnerError(f"{path.name}: metadata qlatent.reads_recordings must be a list of chapter names, "
                          f"got {names!r}")
    return names


def execution_fingerprint(path: Path, parameters: dict[str, Any]) -> str:
    """Hash of everything that shapes an executed notebook: source, parameters, qlatent's code and
    the files of the notebook's recordings (a chapter shows them beside its own numbers) and of the
    recordings it reads (:func:`recordings_read`)."""
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    digest.update(code_fingerprint().encode())
    for name in [path.stem, *recordings_read(path)]:
        digest.update(json.dumps(recorded_files(name), sort_keys=True).encode())
    return digest.hexdigest()


def executed_path(name: str) -> Path:
    return executed_dir() / f"{name}.ipynb"


def _stamp_path(name: str) -> Path:
    return executed_dir() / f"{name}.run.json"


def last_execution(name: str) -> dict[str, Any] | None:
    """The stamp of the notebook's last successful execution, or ``None``.

    Keys: ``parameters`` (as injected, ``profile`` included), ``requested`` (as asked for),
    ``profile`` (the profile it ran, ``None`` for parameters of one's own), ``origin`` (one of
    :data:`ORIGINS`), ``fingerprint``, ``seconds``, ``finished_at``. Stamps written before
    ``requested``/``origin`` existed lack them.
    """
    try:
        stamp = json.loads(_stamp_path(name).read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def results_digest(experiments: list[str] | tuple[str, ...]) -> dict[str, str]:
    """SHA-256 of every published result file of ``experiments``, keyed ``<experiment>/<path>``.

    Covers the tables, figures and manifest an execution publishes; training run folders
    (``runs/``, checkpoints written in place) and hidden entries are left out.
    """
    from qlatent.io import sha256_file

    files = {}
    for experiment in sorted(experiments):
        folder = results_dir() / experiment
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            relative = path.relative_to(folder)
            if path.is_file() and relative.parts[0] != "runs" and not any(p.startswith(".") for p in relative.parts):
                files[f"{experiment}/{relative.as_posix()}"] = sha256_file(path)
    return files


def _is_current(name: str, fingerprint: str) -> bool:
    """The executed copy, its stamp and the results it published are all this fingerprint's, untouched since."""
    stamp = last_execution(name)
    if stamp is None or stamp.get("fingerprint") != fingerprint or not executed_path(name).is_file():
        return False
    published = stamp.get("results")
    if not isinstance(published, dict):  # a stamp from before results were recorded: nothing vouches for them
        return False
    experiments = sorted({key.split("/", 1)[0] for key in published} | set(stamp.get("experiments") or []))
    return results_digest(experiments) == published


def is_up_to_date(name: str, path: Path, parameters: dict[str, Any]) -> bool:
    """True when the executed copy exists, was made from exactly this source, parameters and code,
    and the results it published are still the ones it published."""
    return _is_current(name, execution_fingerprint(path, parameters))


def execute(name_or_path: str, parameters: dict[str, Any] | None = None, *, force: bool = False,
            progress_bar: bool | None = None, profile: str | None = None, origin: str = "run") -> ExecutionResult:
    """Execute a notebook with ``parameters`` injected, unless it is up to date and ``force`` is False.

    A notebook that declares a ``profile`` parameter is told the profile it runs under (``"custom"``
    when ``profile`` is None: parameters of one's own), so it can label its numbers and find its
    recordings. The result tables, figures and manifest it saves through
    :class:`qlatent.results.ResultStore` are published only if it succeeds. ``origin`` (one of
    :data:`ORIGINS`) is kept in the stamp, so ``qlatent book`` can tell a user's own run from its own.
    On any failure the previous executed copy, stamp and results are left as they were (see the
    module's docstring).

    Raises
    ------
    RunnerError
        Unknown or unreadable notebook, undeclared parameter, wrong parameter type or a hand-set
        ``profile`` (before any work); another process is executing the same notebook (naming it);
        or a disk too full to save the executed copy (the previous copy and results are kept).
    NotebookFailed
        A cell raised; the message names the notebook, the cell, the line that raised and the error.
    KernelDied
        The kernel process ended while a cell ran (or while starting); names the cell and the exit
        status or signal. Noticed within about a second.
    Interrupted
        Ctrl-C (a :class:`KeyboardInterrupt`): the kernel is killed at once, the message names the
        cell that was running.
    """
    from nbformat.warnings import MissingIDFieldWarning

    from qlatent.results import publish_staged

    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
    requested = dict(parameters or {})
    parameters = dict(requested)
    name, path = resolve_notebook(name_or_path)
    check_parameters(name, path, parameters)
    if PROFILE_PARAMETER in declared_parameters(name, path):
        parameters[PROFILE_PARAMETER] = profile or "custom"
    output = executed_path(name)
    fingerprint = execution_fingerprint(path, parameters)
    holder = {"pid": os.getpid(), "command": _command_line(), "origin": origin, "parameters": requested,
              "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with _exclusive(name, holder):
        if not force and _is_current(name, fingerprint):
            return ExecutionResult(name, "skipped", 0.0, output)
        _remove_leftovers(name)
        started = time.perf_counter()
        _quiet_papermill()
        show_progress = sys.stderr.isatty() if progress_bar is None else progress_bar
        results_dir().mkdir(parents=True, exist_ok=True)
        _scratch_dir().mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=_scratch_dir()))
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{name}-", dir=results_dir()))
        kernels: list[Any] = []
        cell: dict[str, int | None] = {"index": None}
        publishing = False
        try:
            partial = work / f"{name}.ipynb"
            with stop_on_interrupt(lambda: _stop_kernels(kernels)), warnings.catch_warnings():
                # nbformat fills in a missing cell id itself; its warning is noise on the user's terminal
                warnings.simplefilter("ignore", MissingIDFieldWarning)
                _run_papermill(name, path, partial, parameters, show_progress, staging, kernels, cell)
            # From here the stamp is gone until the new one is written: a run killed while
            # publishing is never taken as current.
            publishing = True
            _stamp_path(name).unlink(missing_ok=True)
            published = publish_staged(staging)
            _prepare_for_readers(partial, path, output)
            _move_into_place(partial, output)
            seconds = time.perf_counter() - started
            atomic_write_json(_stamp_path(name), {
                "notebook": name,
                "source": str(path),
                "parameters": parameters,
                "requested": requested,
                "profile": profile,
                "origin": origin,
                "fingerprint": fingerprint,
                "experiments": published,
                "results": results_digest(published),
                "seconds": round(seconds, 3),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            })
        except KeyboardInterrupt:
            _stop_kernels(kernels)
            if publishing:
                raise Interrupted(f"notebook {name!r} interrupted while publishing its results; "
                                  "it will execute again on its next run") from None
            where = "" if cell["index"] is None else f" in cell {cell['index'] + 1}"
            raise Interrupted(f"notebook {name!r} interrupted{where}; its previous executed copy and results "
                              "are kept") from None
        finally:
            _stop_kernels(kernels)
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
    return ExecutionResult(name, "executed", seconds, output)


def _run_papermill(name: str, path: Path, partial: Path, parameters: dict[str, Any], show_progress: bool,
                   staging: Path, kernels: list[Any], state: dict[str, int | None],
                   failed_copy: Path | None = None) -> None:
    """Execute ``path`` into ``partial``; turn papermill's and nbclient's failures into runner errors.

    ``state["index"]`` follows the running cell, counted in the source notebook (from 0, papermill's
    injected-parameters cell left out), so a cell keeps its number with or without ``-p``.
    ``failed_copy``: where a failed execution's copy is kept (default ``_build/failed/<name>.ipynb``;
    a sweep's runs keep theirs in their own folders, as runs of one notebook go in parallel).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    injected: list[int] = []  # where papermill inserted its injected-parameters cell, once it ran

    def source_index(index: int) -> int:
        """``index`` in the executed copy as a cell of the notebook the user edits (no injected cell)."""
        return index - 1 if injected and index > injected[0] else index

    def on_cell_start(cell_index: int, cell: Any = None, **_: Any) -> None:
        if cell is not None and "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            injected.append(cell_index)
        state["index"] = source_index(cell_index)

    try:
        papermill.execute_notebook(
            str(path), str(partial), parameters=parameters, cwd=str(project_root()),
            progress_bar=show_progress, log_output=False,
            kernel_manager_class=_local_kernel_manager(results_staging=staging, started=kernels),
            on_cell_start=on_cell_start,
        )
    except PapermillExecutionError as exc:
        failed = _keep_failed_copy(name, partial, failed_copy)
        message = str(exc.evalue).strip().splitlines()
        error = f"{exc.ename}: {message[0]}" if message else exc.ename
        line_number, line = failing_line(exc.source, exc.traceback)
        raise NotebookFailed(name, source_index(exc.cell_index), error, str(failed), line, line_number) from None
    except Exception as exc:  # kernel died, failed to start, timed out, disk full
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:  # disk full: not the notebook's fault
            raise RunnerError(f"notebook {name!r}: its executed copy could not be written to "
                              f"{exc.filename or partial}: {exc.strerror or exc}; the previous copy "
                              "and results are kept") from None
        failed = _keep_failed_copy(name, partial, failed_copy)
        dead = [manager for manager in kernels if manager.exit_status() is not None]
        if dead:
            raise KernelDied(name, state["index"], dead[0].exit_status(), str(failed) if failed else None) from None
        raise NotebookFailed(name, state["index"], f"{type(exc).__name__}: {exc}",
                             str(failed) if failed else None) from None


def _scratch_dir() -> Path:
    """Where executions write their executed copy until it is complete: outside the book's sources."""
    return build_dir() / "executing"


def _project_relative(path: Path) -> str:
    """``path`` relative to the project when inside it, else its file name: never a machine path."""
    try:
        return path.resolve().relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return path.name


def _prepare_for_readers(partial: Path, source: Path, output: Path) -> None:
    """Make the executed copy fit for readers, who download it from the book's pages: papermill's
    absolute ``input_path``/``output_path`` become project-relative, and the input of the cell
    papermill injected with the parameters is collapsed (``hide-input``), as the ``parameters``
    cells are: the "How this page was made" block states them in words."""
    import nbformat

    notebook = nbformat.read(partial, as_version=4)
    recorded = notebook.metadata.get("papermill")
    if recorded is not None:
        recorded["input_path"] = _project_relative(source)
        recorded["output_path"] = _project_relative(output)
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            cell.metadata["tags"] = [*tags, "hide-input"]
    nbformat.write(notebook, partial)


def _move_into_place(partial: Path, output: Path) -> None:
    """Rename the complete executed copy onto ``output`` (copy, then rename, across file systems)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(partial, output)
    except OSError:
        with atomic_path(output) as tmp:
            shutil.copyfile(partial, tmp)


def _leftovers(folder: Path, prefix: str, suffix: str = "") -> list[Path]:
    """Entries of ``folder`` named by :func:`tempfile.mkstemp`/``mkdtemp`` with ``prefix`` and ``suffix``."""
    pattern = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}" + re.escape(suffix) + "$")
    return [path for path in folder.iterdir() if pattern.match(path.name)] if folder.is_dir() else []


def _remove_leftovers(name: str) -> None:
    """Remove what a killed execution of ``name`` left: its scratch copy, its staged results, and the
    hidden partial copies earlier versions wrote beside the executed notebooks. Called under its lock."""
    leftovers = [*_leftovers(_scratch_dir(), f"{name}."), *_leftovers(results_dir(), f".staging-{name}-"),
                 *_leftovers(executed_dir(), f".{name}.", ".ipynb.tmp.ipynb")]
    for path in leftovers:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _command_line() -> str:
    """This process's command, as the user typed it when it is ``qlatent`` / ``python -m qlatent``."""
    import shlex

    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program in ("qlatent", "__main__.py"):
        return shlex.join(["qlatent", *sys.argv[1:]])
    return shlex.join(sys.argv) or "python"


@contextlib.contextmanager
def _exclusive(name: str, holder: dict[str, Any]) -> Iterator[None]:
    """Hold the notebook's lock (``_build/locks/<name>.lock``) for the block, or refuse naming its holder.

    Raises
    ------
    RunnerError
        Another process holds the lock: the message names its command, process id and start time.
    """
    from filelock import FileLock, Timeout

    folder = build_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / f"{name}.lock")
    about = folder / f"{name}.holder.json"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            other = json.loads(about.read_text())
            who = f"`{other['command']}` (process {other['pid']}, started {other['started_at']})"
        except (OSError, ValueError, KeyError, TypeError):
            who = "another process (it has not said which yet)"
        raise RunnerError(f"notebook {name!r} is being executed by {who}; wait for it to finish or stop it, "
                          "then run again") from None
    try:
        atomic_write_json(about, holder)
        yield
    finally:
        about.unlink(missing_ok=True)
        lock.release()


_PAPERMILL_NOISE = (
    "Passed unknown parameter",  # its parser misses annotated parameters; check_parameters refused every undeclared one
    "Kernel died",  # nbclient logs a death on papermill's logger; KernelDied reports it in one line
)


def _papermill_said_already(record: logging.LogRecord) -> bool:
    """Logging filter: drop papermill's messages that the runner reports itself, in its own words."""
    return not record.getMessage().startswith(_PAPERMILL_NOISE)


def _quiet_papermill() -> None:
    logger = logging.getLogger("papermill")
    if _papermill_said_already not in logger.filters:
        logger.addFilter(_papermill_said_already)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^-*>\s*(\d+)\s?(.*)$")
_IMPORT = re.compile(r"^(import|from)\s")
#: The lines with which Python (and IPython) joins the tracebacks of chained exceptions.
_CHAINED = frozenset({"The above exception was the direct cause of the following exception:",
                      "During handling of the above exception, another exception occurred:"})


def failing_line(source: str, traceback: list[str] | None) -> tuple[int | None, str]:
    """The line of a cell that raised, as ``(line number in the cell, its text)``.

    Read from the kernel's traceback: the first frame's ``---->`` arrow is the cell's own line (a
    call into qlatent, or the ``raise``). With chained exceptions (``raise ... from``, or an error
    while handling another) IPython prints the earlier ones first, whose first frame may be a
    library's: only the last part, the exception the cell raised, is read. Without an arrow (a
    traceback in another format), the cell's first line that is not blank, a comment or an
    import, with no number.
    """
    lines = [_ANSI.sub("", line).strip() for line in "\n".join(traceback or []).splitlines()]
    chained = [index for index, line in enumerate(lines) if line in _CHAINED]
    for line in lines[chained[-1] + 1 if chained else 0:]:
        match = _ARROW.match(line)
        if match:
            number = int(match.group(1))
            lines = source.splitlines()
            text = lines[number - 1] if 0 < number <= len(lines) else match.group(2)
            return number, text.strip()
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not _IMPORT.match(stripped):
            return None, stripped
    return None, ""


def _local_kernel_manager(results_staging: Path | None = None, started: list[Any] | None = None) -> type:
    """A kernel manager talking to its kernel over IPC sockets in a private folder, noticing its death.

    * IPC instead of TCP on loopback: nothing is exposed on the network, it works where the
      loopback interface is down, and the kernel does not warn about unencrypted TCP on every
      start. The sockets and the connection file live in a fresh folder of the system's temporary
      directory (short, as socket paths must be), one per kernel: two runs never share a socket,
      and no socket lands in the working directory.
    * Asynchronous (:class:`jupyter_client.AsyncKernelManager`): nbclient then polls the kernel's
      process every second while a cell runs, so a kernel that dies fails the cell at once (the
      synchronous manager's client blocks on the reply forever), and Ctrl-C reaches the runner
      at once.
    * The kernel's environment names ``results_staging`` as :data:`qlatent.results.STAGING_ENV`
      (and never inherits one otherwise, so a notebook run inside a kernel does not stage into
      its parent's execution), and turns progress bars off (:data:`qlatent.progress.PROGRESS_ENV`):
      an executed chapter is a page, where a bar is a widget loading scripts from the internet or a
      warning on stderr.
    * Shutting the kernel down does not interrupt it first (jupyter_client's default): an idle
      kernel needs no SIGINT, and one arriving inside a message handler printed
      ``[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel``.

    Each manager created is appended to ``started`` (if given), so the caller can kill a kernel
    left running (:func:`_stop_kernels`) and read how one ended (``manager.exit_status()``: the
    process's return code, negative for a signal, ``None`` while it runs or before it started).
    """
    from jupyter_client.manager import AsyncKernelManager

    from qlatent.progress import PROGRESS_ENV
    from qlatent.results import STAGING_ENV

    class LocalKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            _remove_orphaned_kernel_dirs()
            self.private_dir = Path(tempfile.mkdtemp(prefix=f"{KERNEL_DIR_PREFIX}{os.getpid()}-"))
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", str(self.private_dir / "ipc"))
            kwargs.setdefault("connection_file", str(self.private_dir / "connection.json"))
            super().__init__(**kwargs)
            self._process: Any = None
            if started is not None:
                started.append(self)

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            env = dict(kw.pop("env", None) or os.environ)
            env.pop(STAGING_ENV, None)
            env[PROGRESS_ENV] = "0"
            if results_staging is not None:
                env[STAGING_ENV] = str(results_staging)
            return await super()._async_pre_start_kernel(env=env, **kw)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            self._process = getattr(self.provisioner, "process", None)

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            try:
                await super()._async_cleanup_resources(restart=restart)
            finally:
                if not restart:
                    shutil.rmtree(self.private_dir, ignore_errors=True)

        def exit_status(self) -> int | None:
            return None if self._process is None else self._process.poll()

        def kill_now(self) -> None:
            """Kill the kernel's process group if it still runs, reap it, remove its private folder."""
            process = self._process
            if process is not None and process.poll() is None:
                try:
                    group = os.getpgid(process.pid)
                    if group != os.getpgrp():  # jupyter_client starts kernels in a session of their own
                        os.killpg(group, signal.SIGKILL)
                    else:
                        process.kill()
                except (ProcessLookupError, PermissionError):
                    pass
                with contextlib.suppress(subprocess.TimeoutExpired):  # nothing more to do for one that will not die
                    process.wait(timeout=10)
            shutil.rmtree(self.private_dir, ignore_errors=True)

    return LocalKernelManager


#: Prefix of a kernel's private folder in the temporary directory, followed by the runner's process id.
KERNEL_DIR_PREFIX = "qlatent-kernel-"


def _remove_orphaned_kernel_dirs() -> None:
    """Remove the private kernel folders of runners that no longer run (killed by SIGKILL, which
    leaves no chance to clean up); a folder whose runner is alive, or is not ours, is left alone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{KERNEL_DIR_PREFIX}*-*"):
        owner = folder.name[len(KERNEL_DIR_PREFIX):].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # another user's live process
            continue


def _stop_kernels(kernels: list[Any]) -> None:
    """Kill every kernel in ``kernels`` that still runs (see :func:`_local_kernel_manager`)."""
    for manager in kernels:
        manager.kill_now()


def _keep_failed_copy(name: str, partial: Path, target: Path | None = None) -> Path | None:
    if not partial.is_file() or partial.stat().st_size == 0:
        return None
    target = target or build_dir() / "failed" / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(partial, target)
    return target
