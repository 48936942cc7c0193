"""Execute one notebook with papermill, skipping it when nothing that shapes its output has changed.

A notebook is re-executed when its source, its injected parameters, qlatent's code
(:func:`qlatent.provenance.code_fingerprint`) or the files of its recordings
(``data/recorded/<notebook>/**``) differ from its last successful execution, recorded in a stamp
file beside the executed copy. Executed notebooks are written to a temporary file and renamed, and
the result tables, figures and manifest the notebook saves are staged
(:data:`qlatent.results.STAGING_ENV`) and published only when it succeeds, so a failure leaves the
previous good copy and results in place; the failed copy is kept under ``_build/failed/`` for
inspection.
"""

from __future__ import annotations

import ast
import errno
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qlatent.io import atomic_path, atomic_write_json
from qlatent.paths import build_dir, executed_dir, notebooks_dir, project_root, results_dir
from qlatent.provenance import code_fingerprint
from qlatent.runner.errors import NotebookFailed, RunnerError

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
    """Map a notebook name (``01_interference``) or path to ``(name, source path)``."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".ipynb" and candidate.is_file():
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
    """Refuse parameters the notebook does not declare, or of a type it does not expect.

    A parameter's type is its annotation (``int``, ``float``, ``None | str``, ``Optional[list[int]]``,
    also as a string) or else the type of its default; an int is a float, a bool is not a number,
    and ``None`` is accepted for any parameter ("not set"). A notebook without a ``parameters``
    cell takes no parameter.

    Raises
    ------
    RunnerError
        Naming the parameter: undeclared, of the wrong type, or ``profile`` (which only the
        runner sets, from ``--profile``, so a run's label always matches its parameters); or the
        notebook cannot be read (:func:`read_notebook`).
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
            raise RunnerError(
                f"notebook {name!r} declares no parameter {key!r}; it declares: {', '.join(declared) or 'none'}"
            )
        expected, accepted = _declared_type(declared[key])
        if accepted is None or value is None:  # None: "not set" / "all", for any parameter
            continue
        wrong_bool = isinstance(value, bool) and bool not in accepted
        if wrong_bool or not isinstance(value, accepted):
            raise RunnerError(
                f"parameter {key!r} of notebook {name!r} expects {expected}, got {type(value).__name__} {value!r}"
            )


def _declared_type(declaration: dict[str, Any]) -> tuple[str, tuple[type, ...] | None]:
    """``(type as written, accepted Python types)`` of a parameter: its annotation if any, else the
    type of its default literal. Accepted types are ``None`` (anything) when unknown."""
    annotated = declaration.get("inferred_type_name", "None")
    if annotated and annotated != "None":
        try:
            return annotated, _annotation_types(ast.parse(annotated, mode="eval").body)
        except SyntaxError:
            return annotated, None
    try:
        name = type(ast.literal_eval(declaration.get("default", "None"))).__name__
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "None", None
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


def execution_fingerprint(path: Path, parameters: dict[str, Any]) -> str:
    """Hash of everything that shapes an executed notebook: source, parameters, qlatent's code and
    the files of the notebook's recordings (a chapter shows them beside its own numbers)."""
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    digest.update(code_fingerprint().encode())
    digest.update(json.dumps(recorded_files(path.stem), sort_keys=True).encode())
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


def _last_fingerprint(name: str) -> str | None:
    stamp = last_execution(name)
    return None if stamp is None else stamp.get("fingerprint")


def is_up_to_date(name: str, path: Path, parameters: dict[str, Any]) -> bool:
    """True when the executed copy exists and was made from exactly this source, parameters and code."""
    return executed_path(name).is_file() and _last_fingerprint(name) == execution_fingerprint(path, parameters)


def execute(name_or_path: str, parameters: dict[str, Any] | None = None, *, force: bool = False,
            progress_bar: bool | None = None, profile: str | None = None, origin: str = "run") -> ExecutionResult:
    """Execute a notebook with ``parameters`` injected, unless it is up to date and ``force`` is False.

    A notebook that declares a ``profile`` parameter is told the profile it runs under (``"custom"``
    when ``profile`` is None: parameters of one's own), so it can label its numbers and find its
    recordings. The result tables, figures and manifest it saves through
    :class:`qlatent.results.ResultStore` are published only if it succeeds. ``origin`` (one of
    :data:`ORIGINS`) is kept in the stamp, so ``qlatent book`` can tell a user's own run from its own.

    Raises
    ------
    RunnerError
        Unknown or unreadable notebook, undeclared parameter, wrong parameter type or a hand-set
        ``profile`` (before any work); or a disk too full to save the executed copy (the previous
        copy and results are kept).
    NotebookFailed
        A cell raised; the message names the notebook, the cell, the line that raised and the error.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

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
    if not force and output.is_file() and _last_fingerprint(name) == fingerprint:
        return ExecutionResult(name, "skipped", 0.0, output)

    started = time.perf_counter()
    _quiet_papermill()
    show_progress = sys.stderr.isatty() if progress_bar is None else progress_bar
    results_dir().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{name}-", dir=results_dir()))
    try:
        with atomic_path(output) as tmp:
            try:
                papermill.execute_notebook(
                    str(path), str(tmp), parameters=parameters, cwd=str(project_root()),
                    progress_bar=show_progress, log_output=False,
                    kernel_manager_class=_local_kernel_manager(results_staging=staging),
                )
            except PapermillExecutionError as exc:
                failed = _keep_failed_copy(name, tmp)
                message = str(exc.evalue).strip().splitlines()
                error = f"{exc.ename}: {message[0]}" if message else exc.ename
                line_number, line = failing_line(exc.source, exc.traceback)
                raise NotebookFailed(name, exc.cell_index, error, str(failed), line, line_number) from None
            except Exception as exc:  # kernel died, failed to start, timed out
                if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:  # disk full: not the notebook's fault
                    raise RunnerError(f"notebook {name!r}: its executed copy could not be written to "
                                      f"{exc.filename or tmp}: {exc.strerror or exc}; the previous copy "
                                      "and results are kept") from None
                failed = _keep_failed_copy(name, tmp)
                raise NotebookFailed(name, None, f"{type(exc).__name__}: {exc}", str(failed)) from None
            publish_staged(staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    atomic_write_json(_stamp_path(name), {
        "notebook": name,
        "source": str(path),
        "parameters": parameters,
        "requested": requested,
        "profile": profile,
        "origin": origin,
        "fingerprint": fingerprint,
        "seconds": round(seconds, 3),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    return ExecutionResult(name, "executed", seconds, output)


def _papermill_unknown_parameter(record: Any) -> bool:
    """Logging filter: drop papermill's "Passed unknown parameter" (its parser misses annotated
    parameters; :func:`check_parameters` has refused every undeclared one already)."""
    return not str(record.msg).startswith("Passed unknown parameter")


def _quiet_papermill() -> None:
    import logging

    logger = logging.getLogger("papermill")
    if _papermill_unknown_parameter not in logger.filters:
        logger.addFilter(_papermill_unknown_parameter)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^-*>\s*(\d+)\s?(.*)$")
_IMPORT = re.compile(r"^(import|from)\s")


def failing_line(source: str, traceback: list[str] | None) -> tuple[int | None, str]:
    """The line of a cell that raised, as ``(line number in the cell, its text)``.

    Read from the kernel's traceback: the first frame's ``---->`` arrow is the cell's own line (a
    call into qlatent, or the ``raise``). Without one (a traceback in another format), the cell's
    first line that is not blank, a comment or an import, with no number.
    """
    for line in "\n".join(traceback or []).splitlines():
        match = _ARROW.match(_ANSI.sub("", line).strip())
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


def _local_kernel_manager(results_staging: Path | None = None) -> type:
    """A kernel manager talking to its kernel over local IPC sockets instead of TCP on loopback.

    Nothing is exposed on the network, it works where the loopback interface is down, and the
    kernel does not warn about unencrypted TCP on every start. The kernel's environment names
    ``results_staging`` as :data:`qlatent.results.STAGING_ENV` (and never inherits one otherwise,
    so a notebook run inside a kernel does not stage into its parent's execution), and turns
    progress bars off (:data:`qlatent.progress.PROGRESS_ENV`): an executed chapter is a page, where a
    bar is a widget loading scripts from the internet or a warning on stderr. Shutting the
    kernel down does not interrupt it first (jupyter_client's default): an idle kernel needs no
    SIGINT, and one arriving inside a message handler printed
    ``[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel``.
    """
    from jupyter_client.manager import KernelManager

    from qlatent.progress import PROGRESS_ENV
    from qlatent.results import STAGING_ENV

    class LocalKernelManager(KernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            env = dict(kw.pop("env", None) or os.environ)
            env.pop(STAGING_ENV, None)
            env[PROGRESS_ENV] = "0"
            if results_staging is not None:
                env[STAGING_ENV] = str(results_staging)
            return await super()._async_pre_start_kernel(env=env, **kw)

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return LocalKernelManager


def _keep_failed_copy(name: str, partial: Path) -> Path | None:
    if not partial.is_file() or partial.stat().st_size == 0:
        return None
    target = build_dir() / "failed" / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(partial, target)
    return target
