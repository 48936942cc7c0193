"""Ctrl-C that stops at once: one place for the SIGINT handling of long commands.

Python turns SIGINT into :class:`KeyboardInterrupt` only between bytecodes of the main thread, and
a library's clean-up after it may wait on child processes (a kernel asked to shut down politely,
a worker pool draining its queue) before the command can exit. :func:`stop_on_interrupt` runs a
callback from the signal handler first, the place to kill such children without waiting, and
then raises :class:`KeyboardInterrupt` as usual. The CLI turns that into one line and exit
status :data:`qlatent.exit_status.EXIT_INTERRUPTED`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def stop_on_interrupt(stop: Callable[[], None]) -> Iterator[None]:
    """Within the block, SIGINT calls ``stop()`` and then raises :class:`KeyboardInterrupt`.

    ``stop`` runs inside the signal handler, in the main thread: it should only kill or signal
    what the block started (it may run more than once, on every further Ctrl-C). The previous
    handler is restored afterwards. Outside the main thread (where Python allows no signal
    handler), or where SIGINT is ignored (a background job of a non-interactive shell), the
    block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        yield
        return

    def handler(signum: int, frame: object) -> None:
        try:
            stop()
        finally:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
