"""Execute one notebook with papermill, skipping it when nothing that shapes its output has changed.

A notebook is re-executed when its source, its injected parameters or qlatent's code
(:func:`qlatent.provenance.code_fingerprint`) differ from its last successful execution, recorded
in a stamp file beside the executed copy. Executed notebooks are written to a temporary file and
renamed, so a failure leaves the previous good copy in place; the failed copy is kept under
``_build/failed/`` for inspection.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qlatent.io import atomic_path, atomic_write_json
from qlatent.paths import build_dir, executed_dir, notebooks_dir, project_root
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
    """Refuse parameters the notebook does not declare, or of a type it does not expect."""
    declared = declared_parameters(name, path)
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


def execution_fingerprint(path: Path, parameters: dict[str, Any]) -> str:
    """Hash of everything that shapes an executed notebook: source, parameters, qlatent's code."""
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    digest.update(code_fingerprint().encode())
    return digest.hexdigest()


def executed_path(name: str) -> Path:
    return executed_dir() / f"{name}.ipynb"


def _stamp_path(name: str) -> Path:
    return executed_dir() / f"{name}.run.json"


def _last_fingerprint(name: str) -> str | None:
    try:
        return json.loads(_stamp_path(name).read_text()).get("fingerprint")
    except (OSError, ValueError):
        return None


def is_up_to_date(name: str, path: Path, parameters: dict[str, Any]) -> bool:
    """True when the executed copy exists and was made from exactly this source, parameters and code."""
    return executed_path(name).is_file() and _last_fingerprint(name) == execution_fingerprint(path, parameters)


def execute(name_or_path: str, parameters: dict[str, Any] | None = None, *, force: bool = False,
            progress_bar: bool | None = None, profile: str | None = None) -> ExecutionResult:
    """Execute a notebook with ``parameters`` injected, unless it is up to date and ``force`` is False.

    A notebook that declares a ``profile`` parameter is told the profile it runs under (``"custom"``
    when run with parameters of one's own), so it can label its numbers and find its recordings.

    Raises
    ------
    RunnerError
        Unknown notebook, undeclared parameter or wrong parameter type (before any work).
    NotebookFailed
        A cell raised; the message names the notebook, the cell and the error.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    parameters = dict(parameters or {})
    name, path = resolve_notebook(name_or_path)
    check_parameters(name, path, parameters)
    if "profile" in declared_parameters(name, path):
        parameters.setdefault("profile", profile or "custom")
    output = executed_path(name)
    fingerprint = execution_fingerprint(path, parameters)
    if not force and output.is_file() and _last_fingerprint(name) == fingerprint:
        return ExecutionResult(name, "skipped", 0.0, output)

    started = time.perf_counter()
    show_progress = sys.stderr.isatty() if progress_bar is None else progress_bar
    with atomic_path(output) as tmp:
        try:
            papermill.execute_notebook(
                str(path), str(tmp), parameters=parameters, cwd=str(project_root()),
                progress_bar=show_progress, log_output=False, kernel_manager_class=_local_kernel_manager(),
            )
        except PapermillExecutionError as exc:
            failed = _keep_failed_copy(name, tmp)
            message = str(exc.evalue).strip().splitlines()
            error = f"{exc.ename}: {message[0]}" if message else exc.ename
            first_line = next((line for line in exc.source.splitlines() if line.strip()), "")
            raise NotebookFailed(name, exc.cell_index, error, str(failed), first_line) from None
        except Exception as exc:  # kernel died, failed to start, timed out
            failed = _keep_failed_copy(name, tmp)
            raise NotebookFailed(name, None, f"{type(exc).__name__}: {exc}", str(failed)) from None
    seconds = time.perf_counter() - started
    atomic_write_json(_stamp_path(name), {
        "notebook": name,
        "source": str(path),
        "parameters": parameters,
        "fingerprint": fingerprint,
        "seconds": round(seconds, 3),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    return ExecutionResult(name, "executed", seconds, output)


def _local_kernel_manager() -> type:
    """A kernel manager talking to its kernel over local IPC sockets instead of TCP on loopback.

    Nothing is exposed on the network, it works where the loopback interface is down, and the
    kernel does not warn about unencrypted TCP on every start.
    """
    from jupyter_client.manager import KernelManager

    class LocalKernelManager(KernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)

    return LocalKernelManager


def _keep_failed_copy(name: str, partial: Path) -> Path | None:
    if not partial.is_file() or partial.stat().st_size == 0:
        return None
    target = build_dir() / "failed" / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(partial, target)
    return target
