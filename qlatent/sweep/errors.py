"""Errors of the sweep machinery: a user error before any run starts, or runs that failed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class SweepError(Exception):
    """A problem the user can fix, found before any run starts (bad sweep file, executor or address)."""


def describe_job(job: Mapping[str, Any]) -> str:
    """``latent=boson, seed=3``: a job's parameters on one line."""
    return ", ".join(f"{key}={value!r}" for key, value in job.items()) or "(no parameters)"


class Terminated(BaseException):
    """SIGTERM reached the sweep while it waited on Ray (whose own handler would end it with a native stack dump).

    A ``BaseException``, as ``KeyboardInterrupt`` is: it stops the sweep, it is not a run's failure.
    """


class RunsFailed(RuntimeError):
    """Some runs raised while the others completed; each failure is named by its parameters.

    Attributes
    ----------
    failures : list of (dict, str)
        Each failed run's parameters and its error (``"TypeName: message"``).
    completed : object
        What the completed runs gave (for :func:`qlatent.experiments.grid.run_grid`, a
        :class:`~qlatent.experiments.grid.GridResults` over them, or None when none completed).
    """

    def __init__(self, failures: Sequence[tuple[Mapping[str, Any], str]], n_runs: int, completed: Any = None) -> None:
        self.failures = [(dict(job), error) for job, error in failures]
        self.n_runs = n_runs
        self.completed = completed
        first_job, first_error = self.failures[0]
        more = f" and {len(self.failures) - 1} more" if len(self.failures) > 1 else ""
        # The first line names a failure: notebook errors show only the first line of a message.
        lines = [f"{len(self.failures)} of {n_runs} run(s) failed (the others completed): "
                 f"{describe_job(first_job)}: {first_error}{more}"]
        if len(self.failures) > 1:
            lines += [f"  {describe_job(job)}: {error}" for job, error in self.failures]
        super().__init__("\n".join(lines))
