"""Linear-optical interferometers and exact boson sampling.

Algorithms
----------
* Haar-random unitaries: QR of a complex Ginibre matrix with the phase fix (Mezzadri, Notices AMS
  54, 592 (2007)) -- :mod:`qlatent.photonics.interferometers`.
* Universal rectangular mesh and its decomposition (Clements et al., Optica 3, 1460 (2016)) --
  :mod:`qlatent.photonics.clements`.
* Time-bin loop interferometers of ORCA's PT-Series (one beam splitter per bin and loop) --
  :mod:`qlatent.photonics.timebin`.
* Permanent: Glynn's formula with Gray-code updates, O(n 2^n)
  (D. G. Glynn, European J. Combin. 31, 1887 (2010)) -- :mod:`qlatent.photonics.permanents`.
* All column-deleted sub-permanents of a (k-1) x k matrix for the price of one permanent, by the
  Laplace expansion inside Glynn's sum (Clifford & Clifford, SODA 2018, arXiv:1706.01260, sec. 4).
* Sums grouped by row multiplicity: prod(mu + 1) terms instead of 2^n for matrices with
  repeated rows, the average-case saving of Clifford & Clifford, "Faster classical boson sampling"
  (arXiv:2005.04214, 2020); repeated rows take the (mu + 1)-th roots of unity of MacMahon's
  coefficient form (stable for many photons in one mode), single rows Glynn's signs; the terms in
  reflected mixed-radix Gray order (Knuth, TAOCP 7.2.1.1, algorithm H), rescaled by powers of two
  -- :func:`qlatent.photonics.permanents.column_deleted_permanents`.
* Exact sampling of indistinguishable photons, arbitrary Fock inputs: Clifford & Clifford algorithm B
  (SODA 2018), with a table of sub-permanents on column subsets for small n, batched over cores --
  :mod:`qlatent.photonics.sampling`.
* Distinguishable and partially distinguishable photons: each photon independently interferes
  with probability x; equal to pairwise internal overlaps x, HOM visibility x^2 (Tichy, J. Phys. B
  47, 103001 (2014), eq. (60)); Perceval's NoiseModel(indistinguishability=V) is x = sqrt(V) --
  :mod:`qlatent.photonics.probabilities`.
* Post-selection on at least k detected photons (a lossy processor's discarded shots): survivors
  drawn before any photon is placed, so rejected shots cost nothing --
  :func:`qlatent.photonics.sampling.sample_postselected`.
* Loss: binomial thinning of the input photons for uniform loss; unitary dilation of a sub-unitary
  transfer matrix to 2m modes for per-mode loss (Halmos 1950) -- :mod:`qlatent.photonics.models`.
* Exact output probabilities |Per(U_st)|^2 / (prod s! prod t!) (Scheel 2004; Aaronson & Arkhipov
  2011) over the Fock basis, enumerated and ranked as in QuantEcon's simplex grid --
  :mod:`qlatent.photonics.fock`.

Exports (loaded on first use, so importing the package stays cheap): see ``__all__``.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

from qlatent.lazy import lazy_exports

#: The modules holding ``@njit(cache=True)`` kernels, which call one another.
JITTED_SOURCES = ("fock.py", "permanents.py", "probabilities.py", "sampling.py")


def source_digest(folder: Path = Path(__file__).parent) -> str:
    """First 16 hex digits of the SHA-256 of the jitted modules' sources (:data:`JITTED_SOURCES` in ``folder``)."""
    digest = hashlib.sha256()
    for name in JITTED_SOURCES:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


def _key_numba_cache_by_source() -> None:
    # Numba checks a cached kernel against its own file only: a kernel calling into another module (the
    # sampler into the permanents) kept running the old callee after that module changed. One cache folder
    # per version of the jitted sources: $NUMBA_CACHE_DIR (else qlatent's cache) / src-<digest>, for the
    # whole process (a user's own cached kernels land in it too). A folder Numba cannot write would send it,
    # silently, to an unkeyed cache beside the sources: a keyed one in the temporary directory is used instead.
    from qlatent.paths import cache_dir

    numba = sys.modules.get("numba")
    base = Path((numba.config.CACHE_DIR if numba is not None else "") or os.environ.get("NUMBA_CACHE_DIR")
                or cache_dir() / "numba")
    if re.fullmatch(r"src-[0-9a-f]{16}", base.name):  # inherited from a parent, of this version or an older one
        base = base.parent
    keyed = base / f"src-{source_digest()}"
    try:
        keyed.mkdir(parents=True, exist_ok=True)
        writable = os.access(keyed, os.W_OK | os.X_OK)
    except OSError:
        writable = False
    if not writable:
        fallback = Path(tempfile.gettempdir()) / "qlatent-numba" / keyed.name
        warnings.warn(f"Numba cache folder {keyed} is not writable; caching in {fallback}", stacklevel=2)
        keyed = fallback
    os.environ["NUMBA_CACHE_DIR"] = str(keyed)
    if numba is not None:
        numba.config.CACHE_DIR = str(keyed)


_key_numba_cache_by_source()

_EXPORTS = {
    "permanent": "qlatent.photonics.permanents",
    "sample": "qlatent.photonics.sampling",
    "sample_postselected": "qlatent.photonics.sampling",
    "output_probabilities": "qlatent.photonics.probabilities",
    "pattern_probability": "qlatent.photonics.probabilities",
    "fock_basis": "qlatent.photonics.fock",
    "fock_index": "qlatent.photonics.fock",
    "validate_transfer_matrix": "qlatent.photonics.validation",
    "validate_input_state": "qlatent.photonics.validation",
    "Interferometer": "qlatent.photonics.interferometers",
    "haar_unitary": "qlatent.photonics.interferometers",
    "haar_interferometer": "qlatent.photonics.interferometers",
    "from_matrix": "qlatent.photonics.interferometers",
    "ClementsMesh": "qlatent.photonics.clements",
    "decompose": "qlatent.photonics.clements",
    "mesh_unitary": "qlatent.photonics.clements",
    "clements_interferometer": "qlatent.photonics.clements",
    "timebin_unitary": "qlatent.photonics.timebin",
    "timebin_interferometer": "qlatent.photonics.timebin",
    "random_timebin_interferometer": "qlatent.photonics.timebin",
    "n_beam_splitters": "qlatent.photonics.timebin",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
