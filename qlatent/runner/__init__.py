"""Execute parameterised notebooks with papermill and build the Jupyter Book from the executed copies."""

from qlatent.runner.errors import RunnerError

__all__ = ["RunnerError"]
