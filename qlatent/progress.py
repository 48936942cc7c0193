"""Progress bars for long loops, kept out of the book.

Every progress bar in qlatent is made by :func:`bar`: a ``tqdm.notebook`` widget in an interactive
Jupyter kernel that has ``ipywidgets``, a text bar on ``stderr`` anywhere else. When the environment
variable :data:`PROGRESS_ENV` is ``0`` (``qlatent book`` / ``qlatent run`` set it in the kernels that
execute the chapters), every bar is disabled whatever its caller asked for: a bar in an executed
notebook is a widget whose state makes the rendered page load the widget scripts from the internet,
or, without ``ipywidgets``, tqdm's "IProgress not found" warning printed into the page.

``tqdm.auto`` is never imported: it warns on stderr when a kernel lacks ``ipywidgets``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: ``0`` (or ``false``/``off``/``no``) disables every progress bar in this process.
PROGRESS_ENV = "QLATENT_PROGRESS"
_OFF = {"0", "false", "off", "no"}


def enabled() -> bool:
    """False when :data:`PROGRESS_ENV` turns progress bars off."""
    return os.environ.get(PROGRESS_ENV, "").strip().lower() not in _OFF


def _in_notebook_kernel() -> bool:
    if "ipykernel.zmqshell" not in sys.modules:
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def bar_class() -> type:
    """``tqdm.notebook.tqdm`` in a Jupyter kernel with ``ipywidgets``, else ``tqdm.std.tqdm`` (silently)."""
    if _in_notebook_kernel():
        try:
            import tqdm.notebook as notebook
        except ImportError:
            notebook = None
        if notebook is not None and getattr(notebook, "IProgress", None) is not None:
            return notebook.tqdm
    from tqdm.std import tqdm

    return tqdm


def bar(*args: Any, **kwargs: Any) -> Any:
    """A tqdm progress bar (same arguments as ``tqdm.tqdm``), disabled when :func:`enabled` is False."""
    if not enabled():
        kwargs["disable"] = True
    return bar_class()(*args, **kwargs)


def write(message: str) -> None:
    """Print ``message`` without breaking a progress bar on the same stream (``tqdm.write``)."""
    from tqdm.std import tqdm

    tqdm.write(message)
