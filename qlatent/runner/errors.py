"""The runner's user-facing errors: each prints as one line naming the culprit."""


class RunnerError(Exception):
    """A problem the user can fix (bad profile, unknown notebook or parameter, failed notebook)."""


class NotebookFailed(RunnerError):
    """A notebook raised while executing; carries the notebook, the failing cell and the error."""

    def __init__(self, notebook: str, cell_index: int | None, error: str, failed_copy: str | None = None,
                 cell_start: str = "") -> None:
        where = "start-up" if cell_index is None else f"cell {cell_index}" + (f" ({cell_start!r})" if cell_start else "")
        kept = f" (failed copy: {failed_copy})" if failed_copy else ""
        super().__init__(f"notebook {notebook!r} failed in {where}: {error}{kept}")
        self.notebook = notebook
        self.cell_index = cell_index
        self.error = error
