"""Keep Ctrl-C working around Perceval: exqalibur, its compiled core, takes SIGINT and keeps it.

Importing Perceval, and every computation it hands to exqalibur (a ``Sampler`` call, for one),
installs exqalibur's own C-level SIGINT handler, which stays after the call returns. Python's
handler never runs again: a Ctrl-C between Perceval calls (in our loops, while polling a cloud
job) only sets exqalibur's flag ``InterruptSignalHandler::interrupted``, which its next
computation clears, and a ``samples fetch`` on a Perceval backend cannot be stopped. During a
computation exqalibur's handler makes the call raise ``KeyboardInterrupt`` itself.

The cure, :func:`python_sigint`, runs around every block of Perceval code: afterwards it
reinstalls Python's handler and, if exqalibur's flag caught a SIGINT meanwhile (in Perceval's
Python code after the computation), clears it and delivers the signal to Python. The flag is
read through ``ctypes`` from exqalibur's exported symbol (exqalibur 1.4); where it cannot be
found, only the handler is restored and a Ctrl-C inside such a window may be lost.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

#: exqalibur's exported flag ``InterruptSignalHandler::interrupted`` (a C++ ``bool``).
_FLAG_SYMBOL = "_ZN22InterruptSignalHandler11interruptedE"
_flag: Any = None
_flag_looked_up = False


def _exqalibur_flag() -> Any:
    """exqalibur's interrupted flag as a ``ctypes.c_bool`` in its memory, or None (not loaded, or not found)."""
    global _flag, _flag_looked_up
    if _flag_looked_up:
        return _flag
    module = sys.modules.get("exqalibur.exqalibur")
    path = getattr(module, "__file__", None)
    if path is None:
        return None  # not imported yet: look again next time
    _flag_looked_up = True
    try:
        _flag = ctypes.c_bool.in_dll(ctypes.CDLL(path), _FLAG_SYMBOL)
    except (OSError, ValueError, AttributeError):
        _flag = None
    return _flag


def restore_python_sigint(*, deliver: bool = True) -> None:
    """Reinstall, at the C level, the SIGINT handler Python believes it has (no-op off the main thread).

    ``signal.getsignal`` still reports Python's handler after exqalibur replaced it underneath, and
    ``signal.signal`` with that same handler puts it back.

    Parameters
    ----------
    deliver : bool
        If exqalibur's handler caught a SIGINT since its last computation, raise the signal again
        now, for Python's handler (by default: ``KeyboardInterrupt`` here). False: only clear it
        (an interrupt is already on its way up).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    flag = _exqalibur_flag()
    pending = bool(flag is not None and flag.value)
    if pending:
        flag.value = False
    handler = signal.getsignal(signal.SIGINT)
    if handler is None:  # installed from outside Python; leave it alone
        return
    signal.signal(signal.SIGINT, handler)
    if pending and deliver:
        signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def python_sigint() -> Iterator[None]:
    """Run a block that imports or calls Perceval, then give SIGINT back to Python (also a decorator).

    A Ctrl-C that exqalibur's handler caught during the block is delivered when it ends.

    Example::

        with python_sigint():
            import perceval as pcvl
            results = Sampler(processor).samples(1000)
    """
    try:
        yield
    except BaseException:
        restore_python_sigint(deliver=False)
        raise
    restore_python_sigint()
