"""Read the YAML and JSON files qlatent is given, with one-line errors naming the file.

Every such file (``notebooks/profiles.yml``, sweep files, ``data/paper/reported.yml``, notebooks,
result and recording manifests) is read here, so each fails the same way: a missing file, a
directory, bytes that are not UTF-8, bad syntax (with its line) and, in YAML, a key given twice in
one mapping all raise :class:`BadFileError`, whose message names the file.

YAML is read with PyYAML's safe loader and two changes (:class:`StrictLoader`):

* numbers are read as people write them and as YAML 1.2 and papermill read them: ``1e-3``, ``1E5``,
  ``2.5e3``, ``-.5`` are floats (YAML 1.1, PyYAML's default, reads them as text; it wants a dot
  and a signed exponent, ``1.0e-3``);
* a key repeated in one mapping is refused (PyYAML keeps the last one silently).
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

__all__ = ["BadFileError", "StrictLoader", "load_json", "load_yaml", "parse_value", "read_text"]


class BadFileError(ValueError):
    """A file that cannot be read or parsed; the message is one line and names the file."""


#: Floats YAML 1.1 misses and YAML 1.2 (and Python, and papermill's ``-p``) read as numbers: an
#: exponent without a dot or without a sign (``1e-3``, ``1E5``, ``1.5e3``), a signed leading dot (``-.5``).
_MORE_FLOATS = re.compile(r"""^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
                               |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?)$""", re.VERBOSE)


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping gives the same key twice."""


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader reading YAML 1.2 floats and refusing a key repeated in one mapping."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` then explicit keys: overriding is what a merge is for
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: the safe constructor reports it
                if first is not None:
                    raise DuplicateKeyError(
                        None, None, f"repeats the key {key!r} (first given at line {first.start_mark.line + 1})",
                        key_node.start_mark)
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _MORE_FLOATS, list("-+0123456789."))


#: Largest file :func:`read_text` reads, in bytes: an executed notebook with its figures stays far below.
MAX_FILE_BYTES = 256 * 2**20
#: Largest YAML file :func:`load_yaml` parses, in bytes: PyYAML parses about 80 kB a second on a
#: loaded machine (a 2.3 MB sweep file took 28 s); qlatent's own YAML files are under 11 kB.
MAX_YAML_BYTES = 512 * 2**10


def _kind_of_file(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_text(path: str | os.PathLike[str], what: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path`` (``what`` names the kind of file in messages: ``"profiles file"``).

    Only a regular file of at most ``max_bytes`` bytes is read: a pipe, a device (``/dev/zero``)
    or a directory is refused without waiting on it, and a larger file before it is read.

    Raises
    ------
    BadFileError
        If ``path`` does not exist, is not a regular file, is larger than ``max_bytes``, cannot be
        read or is not UTF-8 text.
    """
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO would otherwise wait for a writer; a regular file ignores it.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise BadFileError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise BadFileError(f"{what} {path} is a directory, not a file") from None
    except OSError as error:
        raise BadFileError(f"cannot read {what} {path}: {error.strerror or error}") from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise BadFileError(f"{what} {path} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise BadFileError(f"{what} {path} is {_kind_of_file(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise BadFileError(f"{what} {path} is {info.st_size:,} bytes, more than the {max_bytes:,} bytes "
                               f"a {what} may have")
        os.set_blocking(descriptor, True)
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read(max_bytes + 1)  # a file still growing stops here
    except OSError as error:
        raise BadFileError(f"cannot read {what} {path}: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:
        raise BadFileError(f"{what} {path} grew beyond the {max_bytes:,} bytes a {what} may have while it was read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadFileError(f"{what} {path} is not UTF-8 text (byte 0x{data[error.start]:02x} at line {line}); "
                           "save it as UTF-8") from None


def load_yaml(path: str | os.PathLike[str], what: str, loader: type[StrictLoader] = StrictLoader) -> Any:
    """Parse the YAML file ``path`` with ``loader`` (a :class:`StrictLoader`, or a subclass).

    Raises
    ------
    BadFileError
        As :func:`read_text` (with at most :data:`MAX_YAML_BYTES`), or for invalid YAML, a repeated
    key (naming the line) or nesting deeper than Python's recursion limit.
    """
    text = read_text(path, what, MAX_YAML_BYTES)
    try:
        return yaml.load(text, Loader=loader)  # StrictLoader is a SafeLoader
    except RecursionError:  # PyYAML composes and constructs nested nodes recursively
        raise BadFileError(f"{what} {path} nests lists or mappings too deeply to be read") from None
    except DuplicateKeyError as error:
        raise BadFileError(f"{what} {path} {error.problem} at line {error.problem_mark.line + 1}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BadFileError(f"{what} {path} is not valid YAML{where}: {getattr(error, 'problem', None) or error}") \
            from None


def load_json(path: str | os.PathLike[str], what: str) -> Any:
    """Parse the JSON file ``path``.

    Raises
    ------
    BadFileError
        As :func:`read_text`, or for invalid JSON, naming the line and column (and saying the file
        ends early when it was cut short), for arrays or objects nested deeper than Python's
        recursion limit, and for a whole number longer than Python converts (4,300 digits by default).
    """
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        cut = " (it ends early: truncated?)" if not text[error.pos:].strip() or _ends_early(text) else ""
        raise BadFileError(f"{what} {path} is not valid JSON at line {error.lineno} column {error.colno}: "
                           f"{error.msg}{cut}") from None
    except RecursionError:
        raise BadFileError(f"{what} {path} nests arrays or objects too deeply to be read") from None
    except ValueError as error:  # Python's limit on the digits of an int, the only other error json raises
        raise BadFileError(f"{what} {path} cannot be read: {str(error).split(':')[0]}") from None


def _ends_early(text: str) -> bool:
    """True when ``text`` is a JSON document cut short: more brackets opened than closed (outside
    strings), or a string left open."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return in_string or depth > 0


def parse_value(text: str) -> Any:
    """A value written on the command line, read as papermill's ``-p`` reads it, else as YAML.

    ``3`` → int, ``1e-3``, ``0.5``, ``inf`` and ``nan`` → float, ``true``/``True`` → bool,
    ``None``/``null`` → None, ``[1, 2]`` and ``{a: 1}`` → list and dict; anything else (or invalid
    YAML) is the text itself. YAML here is PyYAML's (YAML 1.1) with YAML 1.2's float forms, so
    ``yes``/``no`` are booleans and ``2026-01-01`` is a date: quote such text (``-p label "'yes'"``).
    """
    if text.strip() == "None":  # papermill's spelling; YAML's is null
        return None
    if text.strip().lower() in ("inf", "+inf", "-inf", "nan"):  # papermill reads these with float()
        return float(text)
    try:
        return yaml.load(text, Loader=StrictLoader)  # StrictLoader is a SafeLoader
    except yaml.YAMLError:
        return text
