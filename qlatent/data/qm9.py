"""QM9 as MolGAN's padded molecular graphs, read offline, filtered with counts, cached by recipe.

Source, in order: the ``path`` argument; the ``QLATENT_QM9`` environment variable; the CSV files
shipped inside the PyPI package ``qm9pack`` (130,831 molecules; the package is located with
:func:`importlib.util.find_spec` and never imported, since its ``__init__`` needs
``pkg_resources``). A user file is a CSV with a SMILES column (matched case-insensitively).
The sha256 of every source file is recorded; ``expected_sha256`` refuses a mismatch.

Each SMILES goes through these filters, in this order, and is counted under the first it fails:

``unparsable``
    RDKit cannot parse it (or it is empty). Skipped with a warning when the cache is built.
``too_many_atoms``
    More than ``max_atoms`` heavy atoms.
``disconnected``
    More than one fragment (salts, mixtures): MolGAN trains on connected graphs only.
``charged``
    Some atom carries a formal charge (QM9's zwitterions, e.g. ``[NH3+]CCC([O-])=O``). Dropped by
    default so that node types are atomic numbers, as in MolGAN; ``keep_charged=True`` keeps them
    and makes the formal charge part of the node type instead.
``roundtrip_failed``
    Decoding the graph does not give back the molecule's canonical SMILES (for instance a radical,
    whose unpaired electrons a graph with implicit hydrogens cannot hold). Warned about.

The counts are in ``metadata["counts"]`` on every load, cached or not. On qm9pack 1.0.3 (RDKit
2026.9.1) they are: 130,831 read, 580 charged, 130,251 kept, every other filter 0.

The rest is featurised with :mod:`qlatent.chem.graphs` (kekulised, implicit hydrogens, padded to
``max_atoms`` with 0, node vocabulary built from the kept molecules). So graph → molecule →
canonical SMILES reproduces :attr:`QM9Dataset.smiles` exactly for every kept molecule, by
construction, and the tests check it again from the cached tensors.

The featurised tensors of the **whole** source are cached as an ``.npz`` in
``qlatent.paths.cache_dir() / "qm9"``, named by the hash of the recipe (source sha256s, filter
options, encoder version, RDKit version and the sha256 of the featurising code,
:data:`FEATURISER_FILES`, so a change to it cannot reuse tensors it would now make otherwise) and
holding that recipe and a checksum of its arrays; an unreadable or mismatching cache is rebuilt
with a warning. The seeded subset and split are drawn after loading (milliseconds), so every subset
and split shares one cache and one node vocabulary.

References
----------
- Ramakrishnan, Dral, Rupp, von Lilienfeld, *Quantum chemistry structures and properties of 134
  kilo molecules*, Sci. Data 1, 140022 (2014).
- De Cao, Kipf, *MolGAN*, arXiv:1805.11973 (2018), sec. 4 (QM9, at most 9 heavy atoms).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qlatent.io import atomic_path, sha256_file
from qlatent.paths import cache_dir

if TYPE_CHECKING:
    from qlatent.chem.graphs import AtomEncoder

logger = logging.getLogger(__name__)

#: Environment variable naming a user QM9 file (a CSV with a SMILES column).
ENV_VAR = "QLATENT_QM9"
#: Heavy-atom limit of QM9 and of MolGAN's graphs.
MAX_ATOMS = 9
FILTERS = ("unparsable", "too_many_atoms", "disconnected", "charged", "roundtrip_failed")
_QM9PACK_FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
#: The code that turns SMILES into the cached tensors (this module and the graph encoding); its
#: sha256 is part of the cache's recipe.
FEATURISER_FILES = (Path(__file__).resolve(), Path(__file__).resolve().parent.parent / "chem" / "graphs.py")
_CACHE_KEYS = ("nodes", "adjacency", "smiles", "source_row", "atom_types", "recipe", "counts", "checksum")


class ChecksumError(ValueError):
    """A source file's sha256 differs from the one the caller expected."""


@dataclass(frozen=True, eq=False)
class QM9Dataset:
    """Featurised QM9: padded graph tensors, canonical SMILES, encoder, split and provenance.

    Attributes
    ----------
    nodes
        ``(N, max_atoms)`` int64 node-type indices (0 = padding), see :mod:`qlatent.chem.graphs`.
    adjacency
        ``(N, max_atoms, max_atoms)`` int64 symmetric bond indices (0 none, 1 single, 2 double,
        3 triple).
    smiles
        Canonical SMILES (RDKit, no stereochemistry) of each molecule.
    atom_encoder
        Node vocabulary built from the kept molecules of the whole source (not of the subset).
    train_index, val_index, test_index
        Sorted row indices into the arrays above; disjoint, covering all rows.
    source_row
        Row of each molecule in the source (the qm9pack parts read as one table).
    metadata
        Source files and sha256s, filter counts, recipe and its hash, cache path and hit, split.
    """

    nodes: np.ndarray
    adjacency: np.ndarray
    smiles: list[str]
    atom_encoder: AtomEncoder
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray
    source_row: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.smiles)

    @property
    def max_atoms(self) -> int:
        """Padded graph size."""
        return self.nodes.shape[1]

    @property
    def n_atom_types(self) -> int:
        """Node types, padding included."""
        return self.atom_encoder.n_types

    @property
    def n_bond_types(self) -> int:
        """Edge types, "no bond" included."""
        from qlatent.chem.graphs import N_BOND_TYPES

        return N_BOND_TYPES

    def split_index(self, split: str) -> np.ndarray:
        """Row indices of ``"train"``, ``"val"`` or ``"test"``."""
        indices = {"train": self.train_index, "val": self.val_index, "test": self.test_index}
        if split not in indices:
            raise ValueError(f"split must be one of {sorted(indices)}, got {split!r}")
        return indices[split]

    def split_smiles(self, split: str) -> list[str]:
        """Canonical SMILES of one split (the training set for novelty, the test set for FCD)."""
        return [self.smiles[i] for i in self.split_index(split)]

    def molecules(self, index: Sequence[int] | np.ndarray | None = None) -> list:
        """Decode rows (all by default) back to RDKit molecules."""
        from qlatent.chem.graphs import graphs_to_mols

        rows = np.arange(len(self)) if index is None else np.asarray(index, dtype=np.int64)
        return graphs_to_mols(self.nodes[rows], self.adjacency[rows], self.atom_encoder)


def load_qm9(
    path: str | os.PathLike[str] | None = None,
    *,
    expected_sha256: str | Sequence[str] | None = None,
    max_atoms: int = MAX_ATOMS,
    keep_charged: bool = False,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int | np.random.Generator | None = 0,
    subset: int | None = None,
    cache: bool = True,
) -> QM9Dataset:
    """Load QM9 (or a user SMILES file) as padded molecular graphs with a seeded split.

    Parameters
    ----------
    path
        A CSV file with a SMILES column; default: ``$QLATENT_QM9``, else the files of ``qm9pack``.
    expected_sha256
        The hex sha256 of the source file (a sequence: one per file, for the three qm9pack parts).
    max_atoms
        Heavy-atom limit and padded graph size (MolGAN: 9).
    keep_charged
        Keep molecules with charged atoms, encoding the charge in the node type (default: drop
        and count them).
    val_fraction, test_fraction
        Fractions of the (subset of the) data in the validation and test splits, rounded down as
        in MolGAN; the rest is training data.
    seed
        Seeds the one permutation that picks the subset and the split.
    subset
        Keep only the first ``subset`` molecules of that seeded permutation (quick runs). Applied
        after the cache, so the cache and the node vocabulary are those of the whole source.
    cache
        Read and write the featurised tensors in ``cache_dir() / "qm9"``.

    Raises
    ------
    FileNotFoundError
        If the file (or the qm9pack data) does not exist.
    ModuleNotFoundError
        If no file is given and ``qm9pack`` is not installed.
    ChecksumError
        If a source file's sha256 differs from ``expected_sha256`` (both hashes in the message).
    ValueError
        For a file without a SMILES column (the columns found are listed), bad fractions,
        subset or ``max_atoms``, or when no molecule survives the filters.
    """
    _check_int("max_atoms", max_atoms, minimum=1)
    if subset is not None:
        _check_int("subset", subset, minimum=1)
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= float(value) < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got {val_fraction + test_fraction}")

    source, files = _source_files(path)
    hashes = [sha256_file(f) for f in files]
    _check_expected(files, hashes, expected_sha256)

    from rdkit import rdBase

    from qlatent.chem.graphs import ENCODER_VERSION, AtomEncoder

    recipe = {
        "dataset": "qm9-graphs",
        "source_sha256": hashes,
        "max_atoms": int(max_atoms),
        "keep_charged": bool(keep_charged),
        "filters": [f for f in FILTERS if not (keep_charged and f == "charged")],
        "encoder_version": ENCODER_VERSION,
        "rdkit": rdBase.rdkitVersion,
        "code_sha256": _featuriser_code_hash(),
    }
    recipe_json = json.dumps(recipe, sort_keys=True)
    recipe_hash = hashlib.sha256(recipe_json.encode()).hexdigest()
    cache_file = cache_dir() / "qm9" / f"qm9-graphs-{recipe_hash[:16]}.npz" if cache else None

    arrays = _read_cache(cache_file, recipe_json) if cache_file is not None and cache_file.exists() else None
    cache_hit = arrays is not None
    if arrays is None:
        smiles_in = _read_smiles(files)
        arrays = _featurise(smiles_in, max_atoms=max_atoms, keep_charged=keep_charged)
        arrays["recipe"] = np.asarray(recipe_json)
        arrays["checksum"] = np.asarray(_checksum(arrays))
        if cache_file is not None:
            with atomic_path(cache_file) as tmp:
                np.savez(tmp, **arrays)
    counts = json.loads(str(arrays["counts"]))
    if counts["kept"] == 0:
        raise ValueError(f"no molecule of {source} passed the filters (counts: {counts})")

    n_kept = counts["kept"]
    if subset is not None and subset > n_kept:
        raise ValueError(f"subset={subset} exceeds the {n_kept} molecules kept")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    chosen = rng.permutation(n_kept)[: subset if subset is not None else n_kept]
    rows = np.sort(chosen)
    n = len(chosen)
    n_val, n_test = int(val_fraction * n), int(test_fraction * n)
    n_train = n - n_val - n_test
    position = np.searchsorted(rows, chosen)
    train_index = np.sort(position[:n_train])
    val_index = np.sort(position[n_train:n_train + n_val])
    test_index = np.sort(position[n_train + n_val:])

    metadata = {
        "source": source,
        "files": [{"path": str(f), "sha256": h} for f, h in zip(files, hashes)],
        "recipe": recipe,
        "recipe_hash": recipe_hash,
        "counts": counts,
        "unique_smiles": int(len(set(arrays["smiles"][rows].tolist()))),
        "cache": {"path": str(cache_file) if cache_file is not None else None, "hit": cache_hit},
        "subset": subset,
        "split": {
            "seed": int(seed) if isinstance(seed, int | np.integer) else None if seed is None else repr(seed),
            "val_fraction": val_fraction,
            "test_fraction": test_fraction,
            "n_train": int(n_train),
            "n_val": int(n_val),
            "n_test": int(n_test),
        },
    }
    return QM9Dataset(
        nodes=arrays["nodes"][rows].astype(np.int64),
        adjacency=arrays["adjacency"][rows].astype(np.int64),
        smiles=arrays["smiles"][rows].tolist(),
        atom_encoder=AtomEncoder.from_array(arrays["atom_types"]),
        train_index=train_index,
        val_index=val_index,
        test_index=test_index,
        source_row=arrays["source_row"][rows],
        metadata=metadata,
    )


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _featuriser_code_hash() -> str:
    digest = hashlib.sha256()
    for file in FEATURISER_FILES:
        digest.update(Path(file).read_bytes())
    return digest.hexdigest()


def source_identity(path: str | os.PathLike[str] | None = None) -> tuple[tuple[str, int, int], ...]:
    """``(file, size in bytes, modification time in ns)`` of each source file :func:`load_qm9` would
    read for ``path`` (``$QLATENT_QM9`` or qm9pack when None): a cheap key for in-process memos,
    which change when the file, the environment variable or the file's content changes.

    Raises
    ------
    FileNotFoundError, ModuleNotFoundError
        As :func:`load_qm9`.
    """
    identity = []
    for file in _source_files(path)[1]:
        stat = file.stat()
        identity.append((str(file), stat.st_size, stat.st_mtime_ns))
    return tuple(identity)


def _source_files(path: str | os.PathLike[str] | None) -> tuple[str, list[Path]]:
    """The source's description and its files: the argument, ``$QLATENT_QM9``, else qm9pack's CSVs."""
    if path is None and os.environ.get(ENV_VAR):
        path = os.environ[ENV_VAR]
    if path is not None:
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise FileNotFoundError(f"QM9 file {file} does not exist")
        return f"file {file}", [file]
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"qm9pack is not installed: install it (pip install qm9pack==1.0.3), pass path=, or set ${ENV_VAR}"
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = [data / name for name in _QM9PACK_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"qm9pack is installed but its data files are missing: {missing}")
    return f"qm9pack {importlib.metadata.version('qm9pack')}", files


def _check_expected(files: list[Path], hashes: list[str], expected: str | Sequence[str] | None) -> None:
    if expected is None:
        return
    expected_list = [expected] if isinstance(expected, str) else list(expected)
    if len(expected_list) != len(files):
        raise ValueError(f"expected_sha256 gives {len(expected_list)} hashes for {len(files)} source files")
    for file, actual, wanted in zip(files, hashes, expected_list):
        if actual != wanted.lower():
            raise ChecksumError(f"sha256 mismatch for {file}: expected {wanted}, got {actual}")


def _read_smiles(files: list[Path]) -> list[str]:
    """The SMILES column of every file, concatenated (only that column is parsed)."""
    import pandas as pd

    smiles: list[str] = []
    for file in files:
        columns = list(pd.read_csv(file, nrows=0).columns)
        matches = [c for c in columns if str(c).strip().lower() == "smiles"]
        if len(matches) != 1:
            problem = "no SMILES column" if not matches else f"several SMILES columns {matches}"
            raise ValueError(f"{problem} in {file}; columns found: {columns}")
        frame = pd.read_csv(file, usecols=matches, dtype=str, keep_default_na=False)
        smiles.extend(frame[matches[0]].tolist())
    return smiles


def _classify(smiles: list[str], max_atoms: int, keep_charged: bool) -> list[tuple]:
    """Per SMILES, ``(filter name,)`` or ``("kept", canonical, atoms, bonds)``."""
    from rdkit import Chem, rdBase

    from qlatent.chem.graphs import assemble_molecule, kekule_graph

    out: list[tuple] = []
    with rdBase.BlockLogs():
        for text in smiles:
            mol = Chem.MolFromSmiles(text) if text.strip() else None
            if mol is None or mol.GetNumAtoms() == 0:
                out.append(("unparsable",))
                continue
            if mol.GetNumHeavyAtoms() > max_atoms:
                out.append(("too_many_atoms",))
                continue
            if len(Chem.GetMolFrags(mol)) > 1:
                out.append(("disconnected",))
                continue
            if not keep_charged and any(mol.GetAtomWithIdx(k).GetFormalCharge() for k in range(mol.GetNumAtoms())):
                out.append(("charged",))
                continue
            reference = Chem.MolToSmiles(mol, isomericSmiles=False)
            try:
                atoms, bonds = kekule_graph(mol)
            except ValueError:
                out.append(("roundtrip_failed",))
                continue
            decoded = assemble_molecule(atoms, bonds)
            if decoded is None or Chem.MolToSmiles(decoded, isomericSmiles=False) != reference:
                out.append(("roundtrip_failed",))
                continue
            out.append(("kept", reference, atoms, bonds))
    return out


def _featurise(smiles: list[str], *, max_atoms: int, keep_charged: bool) -> dict[str, np.ndarray]:
    """Filter and featurise every SMILES; arrays for the cache (int8 tensors, counts as JSON)."""
    from qlatent.chem.graphs import AtomEncoder

    records = _classify(smiles, max_atoms, keep_charged)

    tally = Counter(record[0] for record in records)
    counts = {"read": len(smiles), **{name: tally.get(name, 0) for name in FILTERS}, "kept": tally.get("kept", 0)}
    kept = [(row, record) for row, record in enumerate(records) if record[0] == "kept"]
    examples = {name: [smiles[row] for row, record in enumerate(records) if record[0] == name][:3]
                for name in ("unparsable", "roundtrip_failed")}
    for name, shown in examples.items():
        if counts[name]:
            warnings.warn(f"QM9: {counts[name]} of {len(smiles)} SMILES skipped as {name} (first: {shown})",
                          stacklevel=3)
    logger.info("QM9 featurised: %s", counts)

    encoder = AtomEncoder.from_atom_types(t for _, record in kept for t in record[2]) if kept else None
    n = len(kept)
    nodes = np.zeros((n, max_atoms), dtype=np.int8)
    adjacency = np.zeros((n, max_atoms, max_atoms), dtype=np.int8)
    for k, (_, (_, _, atoms, bonds)) in enumerate(kept):
        nodes[k, : len(atoms)] = [encoder.encode(z, q) for z, q in atoms]
        for i, j, order in bonds:
            adjacency[k, i, j] = adjacency[k, j, i] = order
    return {
        "nodes": nodes,
        "adjacency": adjacency,
        "smiles": np.asarray([record[1] for _, record in kept], dtype=str),
        "source_row": np.asarray([row for row, _ in kept], dtype=np.int64),
        "atom_types": encoder.to_array() if encoder is not None else np.zeros((0, 2), dtype=np.int64),
        "counts": np.asarray(json.dumps(counts, sort_keys=True)),
    }


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the cached data arrays (not the checksum itself)."""
    digest = hashlib.sha256()
    for key in ("nodes", "adjacency", "smiles", "source_row", "atom_types", "counts", "recipe"):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _read_cache(file: Path, recipe_json: str) -> dict[str, np.ndarray] | None:
    """The cached arrays, or ``None`` (with a warning) if the file is unreadable or does not match."""
    try:
        with np.load(file, allow_pickle=False) as npz:
            missing = [key for key in _CACHE_KEYS if key not in npz.files]
            if missing:
                raise ValueError(f"missing arrays {missing}")
            arrays = {key: npz[key] for key in _CACHE_KEYS}
        if str(arrays["recipe"]) != recipe_json:
            raise ValueError("its recipe differs from the requested one")
        if str(arrays["checksum"]) != _checksum(arrays):
            raise ValueError("its checksum does not match its contents")
    except Exception as error:  # any unreadable file (bad zip, truncated, wrong contents) is rebuilt
        warnings.warn(f"QM9 cache {file} is unusable ({type(error).__name__}: {error}); rebuilding it",
                      stacklevel=3)
        return None
    return arrays


def write_subset_csv(path: str | os.PathLike[str], n: int, *, seed: int = 0) -> Path:
    """Write a seeded random subset of ``n`` kept QM9 molecules as a CSV that :func:`load_qm9` reads.

    Columns ``smiles`` (canonical, as stored) and ``source_row`` (the molecule's row in qm9pack's
    parts, read as one table), in source order. A committed file of a few thousand molecules
    featurises in seconds, where the whole source takes a minute or more: the QM9 chapter's quick
    profile reads ``data/qm9/quick_subset.csv``, made with ``write_subset_csv(path, 6000, seed=0)``.

    Raises
    ------
    ValueError
        If ``n`` exceeds the molecules kept (see :func:`load_qm9`).
    """
    import pandas as pd

    dataset = load_qm9(subset=n, seed=seed)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        pd.DataFrame({"smiles": dataset.smiles, "source_row": dataset.source_row}).to_csv(tmp, index=False)
    return target
