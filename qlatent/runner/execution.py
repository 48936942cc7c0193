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

#: The parameter through which the runner tells a notebook its profile; never set by hand.
PROFILE_PARAMETER = "profile"
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


def declared_parameters(name: str, path: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its cell tagged ``parameters``."""
    import papermill

    if not _has_parameters_cell(path):
        raise RunnerError(f"notebook {name!r} has no cell tagged 'parameters'")
    return papermill.inspect_notebook(str(path))


def _has_parameters_cell(path: Path) -> bool:
    cells = json.loads(path.read_text()).get("cells", [])
    return any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in cells)


def check_parameters(name: str, path: Path, parameters: dict[str, Any]) -> None:
    """Refuse parameters the notebook does not declare, or of a type it does not expect.

    Raises
    ------
    RunnerError
        Naming the parameter: undeclared, of the wrong type, or ``profile`` (which only the
        runner sets, from ``--profile``, so a run's label always matches its parameters).
    """
    declared = declared_parameters(name, path)
    if PROFILE_PARAMETER in parameters and PROFILE_PARAMETER in declared:
        raise RunnerError(
            f"parameter {PROFILE_PARAMETER!r} of notebook {name!r} is set by the runner, not by hand: "
            f"use `qlatent run {name} --profile NAME` to run a profile's parameters "
            "(parameters of your own are labelled 'custom')"
        )
    for key, value in parameters.items():
        if key not in declared:
            raise RunnerError(
                f"notebook {name!r} declares no parameter {key!r}; it declares: {', '.join(declared) or 'none'}"
            )
        expected = _declared_type(declared[key])
        accepted = _ACCEPTED_TYPES.get(expected)
        if accepted is None or value is None:  # None: "not set" / "all", for any parameter
            continue
        wrong_bool = isinstance(value, bool) and bool not in accepted
        if wrong_bool or not isinstance(value, accepted):
            raise RunnerError(
                f"parameter {key!r} of notebook {name!r} expects {expected}, got {type(value).__name__} {value!r}"
            )


def _declared_type(declaration: dict[str, Any]) -> str:
    """Type name of a parameter: its annotation if any, else the type of its default literal."""
    annotated = declaration.get("inferred_type_name", "None")
    if annotated != "None":
        return annotated
    try:
        return type(ast.literal_eval(declaration.get("default", "None"))).__name__
    except (ValueError, SyntaxError):
        return "None"


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
        Unknown notebook, undeclared parameter, wrong parameter type or a hand-set ``profile``
        (before any work).
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
