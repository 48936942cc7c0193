"""Replay recorded shots: a set from the store, a user's files in the open format, or hardware shots
in the plain ``qlatent.shots/1`` format (:mod:`qlatent.qpu.shots`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qlatent.qpu.errors import UnknownSampleSetError
from qlatent.qpu.sampleset import SampleRequest, SampleSet, postselect, postselection_report, utc_now
from qlatent.qpu.store import SampleStore, read_sample_files

if TYPE_CHECKING:
    from qlatent.qpu.limits import SamplingEstimate
    from qlatent.qpu.shots import ShotsDescription
    from qlatent.qpu.store import PartialRun

_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
_MATCHED_FIELDS = ("input_state", "model", "indistinguishability", "transmission", "brightness", "detection")


class RecordedBackend:
    """Serves the recorded shots that pass a matching request's post-selection (the first ``n_samples``).

    Parameters
    ----------
    source : str
        A path to a ``qlatent.shots/1`` description (``<name>.json`` beside ``<name>.csv``, see
        :mod:`qlatent.qpu.shots`); a path to ``<name>.json`` or ``<name>.npz`` of a set in the open
        format (the other file of the pair must sit beside it); or a request id (or unique
        prefix of one) in ``store``.
    store : SampleStore, optional
        Where ids are looked up; defaults to ``SampleStore()``.

    Raises
    ------
    UnknownSampleSetError
        (a :class:`KeyError`) If ``source`` is neither an existing file nor a stored id.
    CorruptSampleError
        If recorded files in the open format fail verification.
    ValueError, FileNotFoundError
        If a ``qlatent.shots/1`` pair is malformed (see :func:`~qlatent.qpu.shots.read_shots_file`),
        or a JSON file is neither such a description nor a sample set's provenance (not JSON, a
        list, or an object with no ``format`` and no ``counts`` entry).
    """

    def __init__(self, source: str, *, store: SampleStore | None = None) -> None:
        from qlatent.qpu.shots import is_shots_file, read_shots_description

        self.name = f"recorded:{source}"
        path = Path(source)
        #: A shots description whose counts are read by :meth:`sample`, as far as the request needs.
        self.shots: ShotsDescription | None = None
        self.counts: np.ndarray | None = None
        if is_shots_file(path):
            shots = self.shots = read_shots_description(path)
            self.location = str(path)
            self.recorded_request = SampleRequest("recorded", shots.circuit, shots.input_state, 1,
                                                  detection=shots.detection).to_dict()
            self.recorded_min_detected = shots.min_detected
            self.origin: dict[str, Any] = {"format": "qlatent.shots/1", "device": shots.device, **shots.notes}
            return
        if path.suffix.lower() in (".json", ".npz") and path.exists():
            if not path.is_file():  # a FIFO would block the read below
                raise ValueError(f"recorded:{source} is not a regular file")
            json_path = path if path.suffix.lower() == ".json" else path.with_suffix(".json")
            _check_is_provenance(json_path, source)
            recorded = read_sample_files(path.with_suffix(".npz"), json_path)
            self.location = str(json_path)
        else:
            store = store if store is not None else SampleStore()
            try:
                request_id = store.resolve(source)
            except UnknownSampleSetError as error:
                raise UnknownSampleSetError(f"recorded:{source}: no such file, and {error}") from None
            recorded = store.load(request_id)
            self.location = str(store.paths(request_id)[1])
        self.counts = recorded.counts
        self.recorded_request = recorded.provenance["request"]
        self.recorded_min_detected = int(self.recorded_request.get("min_detected", 0))
        self.origin = {"replayed_from": recorded.request_id, "recorded_backend": recorded.provenance["backend"],
                       "recorded_at": recorded.provenance.get("finished_at")}

    def estimate(self, request: SampleRequest) -> SamplingEstimate:
        """Memory of the replayed counts and their copies (for a shots file, the shots the request
        keeps plus one block being parsed: it is read only as far as needed); no sampling time."""
        from qlatent.qpu.limits import COUNTS_COPIES, SamplingEstimate, counts_bytes
        from qlatent.qpu.shots import PARSE_MEMORY_BYTES

        if self.counts is None:
            return SamplingEstimate((1 + COUNTS_COPIES) * counts_bytes(request) + PARSE_MEMORY_BYTES)
        return SamplingEstimate(int(self.counts.nbytes) + COUNTS_COPIES * counts_bytes(request))

    def sample(self, request: SampleRequest, *, checkpoint: PartialRun | None = None,
               progress: bool = False) -> SampleSet:
        """The recorded shots for ``request``, after its post-selection.

        Raises
        ------
        ValueError
            If the shots have another number of modes than the request (both named), the
            recording was made with another circuit, input state, photon model, noise or
            detection, or post-selected above ``request.min_detected``, or fewer than
            ``request.n_samples`` shots pass the post-selection.
        """
        started_at = utc_now()
        n_modes = self.shots.n_modes if self.shots is not None else self.counts.shape[1]
        if n_modes != request.n_modes:
            raise ValueError(f"recording {self.location} holds shots of {n_modes} modes, but the "
                             f"request has {request.n_modes} modes")
        mismatched = [name for name in _MATCHED_FIELDS if self.recorded_request[name] != request.to_dict()[name]]
        if self.recorded_request["circuit"]["sha256"] != request.circuit["sha256"]:
            mismatched.insert(0, "circuit")
        if mismatched:
            raise ValueError(f"recording {self.location} does not match the request: "
                             f"different {', '.join(mismatched)}")
        if self.recorded_min_detected > request.min_detected:
            raise ValueError(f"recording {self.location} kept only shots with at least {self.recorded_min_detected} "
                             f"detected photons; the request asks for min_detected={request.min_detected}")
        details: dict[str, Any] = {"name": self.name, "file": self.location, **self.origin}
        if self.shots is not None:
            passed, n_shots, details["sha256"] = self._read_shots(request)
        else:
            passed, n_shots = postselect(self.counts, request.min_detected), len(self.counts)
        if len(passed) < request.n_samples:
            kept = f" of which {len(passed)} pass min_detected={request.min_detected}" if request.min_detected else ""
            raise ValueError(f"recording {self.location} holds {n_shots} shots{kept}, fewer than the "
                             f"{request.n_samples} requested")
        if request.min_detected:
            details["postselection"] = postselection_report(request.min_detected, n_shots, len(passed))
        return SampleSet.create(request, np.asarray(passed[: request.n_samples]), backend_details=details,
                                started_at=started_at)


    def _read_shots(self, request: SampleRequest) -> tuple[np.ndarray, int, dict[str, str]]:
        """The first ``request.n_samples`` shots of the shots file passing its post-selection, the
        shots read to find them, and the pair's checksums (kept in the provenance, checked on
        replay by :func:`check_replayed_source`)."""
        from qlatent.qpu.shots import read_shots_file

        shots = read_shots_file(self.location, max_shots=request.n_samples, min_detected=request.min_detected)
        if shots.sha256 != self.shots.sha256:
            raise ValueError(f"recording {self.location} changed since it was opened; ask again")
        return shots.counts, shots.n_read, shots.checksums


def check_replayed_source(request: SampleRequest, sample_set: SampleSet) -> None:
    """Refuse a stored set replayed from a ``qlatent.shots/1`` file whose shots have changed since.

    A ``recorded:<file>`` request is keyed by the file's path, so a file rewritten under the same
    name would otherwise be answered with the old shots. The set's provenance keeps the pair's
    checksums (``backend.sha256``); only a file that no longer exists leaves the set as it is.

    Raises
    ------
    ValueError
        Naming the file and the stored set, if the description or the counts differ from those
        the set was taken from, the set was stored without their checksums, or a set taken from
        shots names a file that is there but no longer reads as shots (another format, broken
        JSON, a FIFO).
    """
    from qlatent.qpu.shots import FORMAT, is_shots_file, shots_checksums

    source = request.backend.removeprefix("recorded:")
    if not request.backend.startswith("recorded:"):
        return
    backend = sample_set.provenance.get("backend", {})
    recorded = backend.get("sha256")
    if not is_shots_file(source):
        from_shots = isinstance(recorded, dict) or str(backend.get("format", "")).startswith(FORMAT.split("/")[0])
        if from_shots and os.path.lexists(source):
            raise ValueError(f"recorded:{source}: stored sample set {sample_set.request_id} was taken from "
                             f"{FORMAT} shots, but the file no longer reads as shots; restore the file, or delete "
                             f"the set's two files ({sample_set.request_id}.npz and .json in the sample store) to "
                             "replay what it holds now")
        return
    current = shots_checksums(source)
    if recorded == current:
        return
    if not isinstance(recorded, dict):
        why = "was stored without the shots' checksums, so it cannot be told from them"
    else:
        changed = [part for part in ("description", "counts") if recorded.get(part) != current[part]]
        why = f"was taken from other shots: the {' and the '.join(changed)} changed since"
    raise ValueError(f"recorded:{source}: stored sample set {sample_set.request_id} {why}; delete its two files "
                     f"({sample_set.request_id}.npz and .json in the sample store) to replay the file as it is now, "
                     "or restore the file")


def _check_is_provenance(json_path: Path, source: str) -> None:
    """Refuse a JSON file that is neither a shots description nor a sample set's provenance, naming both
    formats; a file that is one of them (or is missing) is left to its reader's own checks."""
    from qlatent.qpu.shots import FORMAT, is_shots_file

    if is_shots_file(json_path):  # reached through the .npz of a name whose .json is a shots description
        raise ValueError(f"recorded:{source}: {json_path.name} beside it is a {FORMAT} shots description: "
                         f"name it, recorded:{json_path}")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return  # read_sample_files names the missing file
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        found = f"is not readable JSON ({error})"
    else:
        if isinstance(meta, dict) and "counts" in meta:
            return
        if not isinstance(meta, dict):
            found = f"holds a JSON {_JSON_TYPES.get(type(meta), type(meta).__name__)}"
        elif "format" in meta:
            found = f"declares the format {str(meta['format'])[:60]!r}"
        else:
            found = "has neither a \"format\" nor a \"counts\" entry"
    raise ValueError(f"recorded:{source}: {json_path.name} {found}; expected a {FORMAT} shots description "
                     f"(\"format\": \"{FORMAT}\") or a sample set's provenance file")
