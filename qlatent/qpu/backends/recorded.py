"""Replay recorded shots: a set from the store, a user's files in the open format, or hardware shots
in the plain ``qlatent.shots/1`` format (:mod:`qlatent.qpu.shots`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qlatent.qpu.errors import UnknownSampleSetError
from qlatent.qpu.sampleset import SampleRequest, SampleSet, postselect, postselection_report, utc_now
from qlatent.qpu.store import SampleStore, read_sample_files

if TYPE_CHECKING:
    from qlatent.qpu.limits import SamplingEstimate
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
        from qlatent.qpu.shots import is_shots_file, read_shots_file

        self.name = f"recorded:{source}"
        path = Path(source)
        if is_shots_file(path):
            shots = read_shots_file(path)
            self.counts = shots.counts
            self.location = str(path)
            self.recorded_request = SampleRequest("recorded", shots.circuit, shots.input_state, 1,
                                                  detection=shots.detection).to_dict()
            self.recorded_min_detected = shots.min_detected
            self.origin: dict[str, Any] = {"format": "qlatent.shots/1", "device": shots.device, **shots.notes}
            return
        if path.suffix.lower() in (".json", ".npz") and path.exists():
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
        """Memory of the replayed counts (already read) and their copies; no sampling time."""
        from qlatent.qpu.limits import COUNTS_COPIES, SamplingEstimate, counts_bytes

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
        if self.counts.shape[1] != request.n_modes:
            raise ValueError(f"recording {self.location} holds shots of {self.counts.shape[1]} modes, but the "
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
        passed = postselect(self.counts, request.min_detected)
        if len(passed) < request.n_samples:
            kept = f" of which {len(passed)} pass min_detected={request.min_detected}" if request.min_detected else ""
            raise ValueError(f"recording {self.location} holds {len(self.counts)} shots{kept}, fewer than the "
                             f"{request.n_samples} requested")
        details: dict[str, Any] = {"name": self.name, "file": self.location, **self.origin}
        if request.min_detected:
            details["postselection"] = postselection_report(request.min_detected, len(self.counts), len(passed))
        return SampleSet.create(request, np.asarray(passed[: request.n_samples]), backend_details=details,
                                started_at=started_at)


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
