"""Progress bars: on where a person watches, off in the kernels that execute the book's chapters."""

import io
import subprocess
import sys

import pytest
from tqdm.std import tqdm as std_tqdm

from qlatent import progress


@pytest.mark.parametrize("value", ["0", "false", "OFF", " no "])
def test_the_environment_turns_every_bar_off_whatever_the_caller_asks(monkeypatch, value):
    monkeypatch.setenv(progress.PROGRESS_ENV, value)
    stream = io.StringIO()
    with progress.bar(total=3, disable=False, file=stream) as bar:
        shown = not bar.disable
        bar.update(3)
    assert not shown and stream.getvalue() == ""


@pytest.mark.parametrize("value", [None, "", "1", "on"])
def test_bars_show_otherwise(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    else:
        monkeypatch.setenv(progress.PROGRESS_ENV, value)
    stream = io.StringIO()
    with progress.bar(total=3, disable=False, file=stream, desc="steps") as bar:
        shown = not bar.disable
        bar.update(3)
    assert shown and "steps: 100%" in stream.getvalue()
    with progress.bar(total=3, disable=True, file=stream) as quiet:
        assert quiet.disable  # the caller's own choice is kept


def test_outside_a_notebook_kernel_the_bar_is_text_and_tqdm_auto_is_never_imported():
    code = ("import sys, warnings; warnings.simplefilter('error')\n"
            "from qlatent import progress\n"
            "from tqdm.std import tqdm\n"
            "assert progress.bar_class() is tqdm\n"
            "progress.bar(range(2), disable=True)\n"
            "print('tqdm.autonotebook' in sys.modules, 'tqdm.auto' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False False"
    assert progress.bar_class() is std_tqdm


def test_every_bar_in_qlatent_is_made_by_the_progress_module():
    from pathlib import Path

    package = Path(progress.__file__).parent
    offenders = [str(path.relative_to(package)) for path in package.rglob("*.py")
                 if path.name != "progress.py"
                 and ("from tqdm" in path.read_text() or "import tqdm" in path.read_text())]
    assert offenders == []
