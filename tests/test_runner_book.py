"""`qlatent book` after `qlatent run`: the user's run is kept unless a profile is asked for explicitly."""

import json

import nbformat
import pytest
from conftest import run_cli

PROFILES = "quick:\n  notebooks:\n    93_book: {}\nstandard:\n  notebooks:\n    93_book: {scale: 2.0}\n"


@pytest.fixture
def tiny_book(project_copy):
    """A project whose book is one tiny chapter that prints its parameters."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# A tiny chapter"),
        nbformat.v4.new_code_cell("profile = 'quick'\nscale = 1.0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(f'scale={scale} profile={profile}')"),
    ]
    nbformat.write(notebook, project_copy / "notebooks" / "93_book.ipynb")
    (project_copy / "notebooks" / "profiles.yml").write_text(PROFILES)
    (project_copy / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/executed/93_book\n")
    return project_copy


def stamp(root):
    return json.loads((root / "book" / "executed" / "93_book.run.json").read_text())


def printed(root):
    executed = nbformat.read(root / "book" / "executed" / "93_book.ipynb", as_version=4)
    return "".join(output.get("text", "") for cell in executed.cells for output in cell.get("outputs", []))


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_book_keeps_a_custom_run_until_a_profile_is_asked_for(tiny_book):
    ok(run_cli(tiny_book, "book"))
    ok(run_cli(tiny_book, "run", "93_book", "-p", "scale", "5.0"))
    assert stamp(tiny_book)["parameters"] == {"scale": 5.0, "profile": "custom"}

    kept = ok(run_cli(tiny_book, "book"))
    assert ("93_book: keeping your `qlatent run` of it (parameters {'scale': 5.0}); "
            "`qlatent book --profile quick` replaces it") in kept
    assert "93_book: unchanged since its last successful run, skipped" in kept
    assert stamp(tiny_book)["parameters"] == {"scale": 5.0, "profile": "custom"}
    assert "scale=5.0 profile=custom" in printed(tiny_book)
    assert "93_book: unchanged" in ok(run_cli(tiny_book, "book", "--only", "93_book"))
    assert "scale=5.0 profile=custom" in printed(tiny_book)

    replaced = ok(run_cli(tiny_book, "book", "--profile", "quick"))
    assert ("93_book: REPLACING your `qlatent run` of it (parameters {'scale': 5.0}) "
            "with the 'quick' profile's parameters (--profile given)") in replaced
    assert "93_book: executed in" in replaced
    assert stamp(tiny_book)["parameters"] == {"profile": "quick"}
    assert "scale=1.0 profile=quick" in printed(tiny_book)
    again = ok(run_cli(tiny_book, "book"))  # the book's own execution now: nothing kept, nothing replaced
    assert "keeping" not in again and "REPLACING" not in again and "skipped" in again


def test_a_kept_run_is_re_executed_with_its_own_parameters_when_its_notebook_changes(tiny_book):
    ok(run_cli(tiny_book, "run", "93_book", "--profile", "standard"))
    assert stamp(tiny_book)["parameters"] == {"scale": 2.0, "profile": "standard"}
    path = tiny_book / "notebooks" / "93_book.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("print('changed')"))
    nbformat.write(notebook, path)
    kept = ok(run_cli(tiny_book, "book"))
    assert "keeping your `qlatent run` of it (the 'standard' profile)" in kept
    assert "93_book: executed in" in kept
    assert "scale=2.0 profile=standard" in printed(tiny_book) and "changed" in printed(tiny_book)


def test_a_run_with_the_books_own_parameters_is_no_custom_run(tiny_book):
    ok(run_cli(tiny_book, "run", "93_book"))  # the quick profile's parameters
    built = ok(run_cli(tiny_book, "book"))
    assert "keeping" not in built and "REPLACING" not in built
    assert "93_book: unchanged since its last successful run, skipped" in built


def add_cell(root, source, markdown=False):
    path = root / "notebooks" / "93_book.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append((nbformat.v4.new_markdown_cell if markdown else nbformat.v4.new_code_cell)(source))
    nbformat.write(notebook, path)


def outputs(root):
    executed = nbformat.read(root / "book" / "executed" / "93_book.ipynb", as_version=4)
    return [output for cell in executed.cells for output in cell.get("outputs", [])]


def test_chapters_show_no_progress_bar_and_no_return_value_of_a_writer(tiny_book):
    add_cell(tiny_book, "The mean photon number $\\langle n_j \\rangle = \\sum_k |U_{jk}|^2$.", markdown=True)
    add_cell(tiny_book, "import os\n"
                        "from qlatent.progress import bar\n"
                        "from qlatent.results import ResultStore\n"
                        "for _ in bar(range(3), desc='steps', disable=False):\n"
                        "    pass\n"
                        "print('progress setting:', os.environ.get('QLATENT_PROGRESS'))\n"
                        "ResultStore('93_book').write_manifest({})")
    ok(run_cli(tiny_book, "book"))
    last = outputs(tiny_book)[-1:]
    assert [(output["output_type"], output.get("text")) for output in last] == \
        [("stream", "progress setting: 0\n")]
    assert all(output.get("name") != "stderr" and output["output_type"] != "execute_result"
               and "application/vnd.jupyter.widget-view+json" not in output.get("data", {})
               for output in outputs(tiny_book))
    page = (tiny_book / "_build" / "html" / "book" / "executed" / "93_book.html").read_text()
    assert 'src="../../_static/mathjax/tex-mml-chtml.js' in page and "cdn.jsdelivr" not in page  # math served locally
    assert (tiny_book / "_build" / "html" / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()


@pytest.mark.parametrize("source, finding", [
    ("import sys\nprint('UserWarning: something odd', file=sys.stderr)",
     "93_book.html: stderr output: UserWarning: something odd"),
    ("from pathlib import Path\nPath.cwd() / 'manifest.json'", "93_book.html: object repr: PosixPath("),
])
def test_the_book_fails_on_a_page_showing_what_a_reader_must_not_see(tiny_book, source, finding):
    add_cell(tiny_book, source)
    failed = run_cli(tiny_book, "book")
    assert failed.returncode != 0
    assert "the built book at" in failed.stderr and "problem(s) a reader would see" in failed.stderr
    assert f"book/executed/{finding}" in failed.stderr
    if "Path" in source:  # the machine path is named too
        assert f"book/executed/93_book.html: machine path: {tiny_book}" in failed.stderr


def test_a_partial_copy_left_in_the_books_sources_never_breaks_the_build(tiny_book):
    ok(run_cli(tiny_book, "run", "93_book"))
    executed = tiny_book / "book" / "executed"
    # What a killed run of an older qlatent left beside the executed copies (a hidden, complete-looking notebook).
    (executed / ".93_book.k1ll3d00.ipynb.tmp.ipynb").write_bytes((executed / "93_book.ipynb").read_bytes())
    built = ok(run_cli(tiny_book, "book"))  # strict: a page outside the toc was an error
    assert "93_book: unchanged since its last successful run, skipped" in built
    assert not (tiny_book / "_build" / "html" / "book" / "executed" / ".93_book.k1ll3d00.ipynb.tmp.html").exists()
    # The notebook's next execution removes it.
    ok(run_cli(tiny_book, "run", "93_book", "--force"))
    assert sorted(path.name for path in executed.iterdir()) == ["93_book.ipynb", "93_book.run.json"]
