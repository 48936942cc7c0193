"""Molecules as padded graph tensors, the representation MolGAN generates (De Cao & Kipf 2018, sec. 2).

A molecule with at most ``max_atoms`` heavy atoms is the pair

- ``nodes``: ``(max_atoms,)`` integers, the node type of each atom; ``0`` is padding (no atom);
- ``adjacency``: ``(max_atoms, max_atoms)`` symmetric integers, the bond between two atoms:
  ``0`` none, ``1`` single, ``2`` double, ``3`` triple.

Choices, and why:

- **Hydrogens are implicit**: RDKit recomputes them from default valences when decoding.
- **Graphs are kekulised**, so there is no aromatic bond type. MolGAN reads its SDF with RDKit's
  sanitisation on, so aromatic bonds appear there as a fifth bond type. An aromatic label is not
  checkable bond by bond: a generated graph with aromatic bonds outside a kekulisable ring fails
  sanitisation, and a ring labelled aromatic hides which Kekulé structure (hence which hydrogen
  count) is meant. With integer bond orders every bond has an order, valences are local sums,
  the graph fixes the molecule, and RDKit perceives aromaticity again on decoding.
- **Node types are (atomic number, formal charge) pairs**, collected from the data by
  :class:`AtomEncoder`. On neutral data (the default QM9 recipe drops charged molecules) this is
  MolGAN's atomic-number vocabulary; keeping charged molecules adds types such as ``N+``/``O-``.
- Decoding takes the graph **as given**: a graph valid only after RDKit's clean-up moves charges
  (``C#N=O`` → ``C#[N+][O-]`` from neutral node types) is invalid, so every decoded molecule has
  exactly the graph's node types and re-encodes to it (:func:`assemble_molecule`).
- Decoding reads the **upper triangle** of the adjacency only (a generator that samples each
  entry independently need not give a symmetric matrix); the diagonal is ignored. A bond that
  touches a padding node makes the graph invalid.
- Canonical SMILES are written **without stereochemistry** (``isomericSmiles=False``): graphs carry
  none, so stereoisomers are one graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import rdchem

#: Version of the graph encoding; part of every cache key built on it.
ENCODER_VERSION = 1

#: Bond vocabulary: index -> RDKit bond type (index 0 = no bond).
BOND_TYPES: tuple[rdchem.BondType | None, ...] = (
    None,
    rdchem.BondType.SINGLE,
    rdchem.BondType.DOUBLE,
    rdchem.BondType.TRIPLE,
)
N_BOND_TYPES = len(BOND_TYPES)
_BOND_INDEX = {bond_type: index for index, bond_type in enumerate(BOND_TYPES) if bond_type is not None}

AtomType = tuple[int, int]
Bond = tuple[int, int, int]


@dataclass(frozen=True)
class AtomEncoder:
    """Node vocabulary: index 0 is padding, index ``i >= 1`` is ``atom_types[i - 1]``.

    Parameters
    ----------
    atom_types
        Distinct ``(atomic number, formal charge)`` pairs, sorted; build it from data with
        :meth:`from_atom_types` or :meth:`from_molecules` (as MolGAN builds its encoder from the
        atomic numbers present in the dataset).
    """

    atom_types: tuple[AtomType, ...]

    def __post_init__(self) -> None:
        types = tuple((int(z), int(q)) for z, q in self.atom_types)
        if not types:
            raise ValueError("an AtomEncoder needs at least one atom type")
        if list(types) != sorted(set(types)):
            raise ValueError(f"atom types must be distinct and sorted, got {types}")
        bad = [z for z, _ in types if not 1 <= z <= 118]
        if bad:
            raise ValueError(f"atomic numbers must lie in 1..118 (hydrogens are implicit), got {bad}")
        object.__setattr__(self, "atom_types", types)
        object.__setattr__(self, "_index", {t: i + 1 for i, t in enumerate(types)})

    @classmethod
    def from_atom_types(cls, atom_types: Iterable[AtomType]) -> AtomEncoder:
        """Encoder for the distinct ``(atomic number, formal charge)`` pairs in ``atom_types``."""
        return cls(tuple(sorted({(int(z), int(q)) for z, q in atom_types})))

    @classmethod
    def from_molecules(cls, mols: Iterable[Chem.Mol]) -> AtomEncoder:
        """Encoder for the heavy-atom types present in ``mols``."""
        return cls.from_atom_types(
            (atom.GetAtomicNum(), atom.GetFormalCharge())
            for mol in mols for atom in mol.GetAtoms() if atom.GetAtomicNum() != 1
        )

    @property
    def n_types(self) -> int:
        """Number of node types, padding included."""
        return len(self.atom_types) + 1

    @property
    def labels(self) -> tuple[str, ...]:
        """Readable name per index: ``"PAD"``, then element symbols with their charge (``"N+"``)."""
        table = Chem.GetPeriodicTable()
        names = ["PAD"]
        for z, q in self.atom_types:
            charge = {0: "", 1: "+", -1: "-"}.get(q, f"{q:+d}")
            names.append(table.GetElementSymbol(z) + charge)
        return tuple(names)

    def encode(self, atomic_num: int, formal_charge: int = 0) -> int:
        """Index of an atom type; ``ValueError`` if the type is not in the vocabulary."""
        try:
            return self._index[(int(atomic_num), int(formal_charge))]
        except KeyError:
            raise ValueError(
                f"atom type (atomic number {atomic_num}, charge {formal_charge:+d}) is not in the "
                f"vocabulary {self.labels[1:]}"
            ) from None

    def decode(self, index: int) -> AtomType:
        """The ``(atomic number, formal charge)`` pair of a non-padding index."""
        if not 1 <= int(index) < self.n_types:
            raise ValueError(f"node index {index} is not an atom type (valid: 1..{self.n_types - 1}; 0 is padding)")
        return self.atom_types[int(index) - 1]

    def to_array(self) -> np.ndarray:
        """The vocabulary as a ``(k, 2)`` integer array (for caches)."""
        return np.asarray(self.atom_types, dtype=np.int64).reshape(-1, 2)

    @classmethod
    def from_array(cls, array: np.ndarray) -> AtomEncoder:
        """Inverse of :meth:`to_array`."""
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[1] != 2:
            raise ValueError(f"atom-type array must have shape (k, 2), got {array.shape}")
        return cls(tuple((int(z), int(q)) for z, q in array))


def kekule_graph(mol: Chem.Mol) -> tuple[list[AtomType], list[Bond]]:
    """Heavy atoms and kekulised bonds of a sanitised molecule, as plain lists.

    Returns
    -------
    atoms
        ``(atomic number, formal charge)`` per heavy atom, in RDKit's atom order.
    bonds
        ``(i, j, order)`` with ``i < j`` and ``order`` in 1..3 (the bond vocabulary index).

    Raises
    ------
    ValueError
        If the molecule cannot be kekulised or holds a bond that is not single, double or triple
        (dative, zero-order, ...).
    """
    # Index-based access: iterating mol.GetAtoms() goes through a slow Python sequence wrapper.
    mol = Chem.Mol(mol)
    if any(mol.GetAtomWithIdx(k).GetAtomicNum() == 1 for k in range(mol.GetNumAtoms())):
        mol = Chem.RemoveHs(mol)
    try:
        Chem.Kekulize(mol, clearAromaticFlags=True)
    except ValueError as error:  # RDKit's KekulizeException derives from ValueError
        raise ValueError(f"molecule cannot be kekulised: {error}") from None
    atoms = []
    for k in range(mol.GetNumAtoms()):
        atom = mol.GetAtomWithIdx(k)
        atoms.append((atom.GetAtomicNum(), atom.GetFormalCharge()))
    bonds = []
    for k in range(mol.GetNumBonds()):
        bond = mol.GetBondWithIdx(k)
        order = _BOND_INDEX.get(bond.GetBondType())
        if order is None:
            raise ValueError(f"bond type {bond.GetBondType()} is not single, double or triple")
        i, j = sorted((bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()))
        bonds.append((i, j, order))
    return atoms, bonds


#: Sanitisation for decoding: every RDKit step except the two clean-ups, which rewrite a graph
#: RDKit would otherwise reject (``C#N=O``, ``N(=O)=O``, ``Cl(=O)(=O)(=O)O``, metal-ligand bonds)
#: into charge-separated forms (``C#[N+][O-]``) whose atom types and bond orders are not the
#: graph's. Skipping them makes such graphs fail the valence check instead.
_SANITIZE_AS_GIVEN = (Chem.SanitizeFlags.SANITIZE_ALL
                      ^ Chem.SanitizeFlags.SANITIZE_CLEANUP
                      ^ Chem.SanitizeFlags.SANITIZE_CLEANUP_ORGANOMETALLICS)


def assemble_molecule(atoms: Sequence[AtomType], bonds: Iterable[Bond]) -> Chem.Mol | None:
    """Sanitised molecule from heavy-atom types and ``(i, j, order)`` bonds; ``None`` if RDKit rejects it.

    Hydrogens are added implicitly by sanitisation (default valences). The molecule is the graph
    exactly as given: RDKit's clean-up steps, which would move formal charges and bond orders
    (a neutral pentavalent nitrogen becomes ``[N+]`` with an ``[O-]`` neighbour), are not run, so
    such a graph fails the valence check. Hence every molecule returned has the requested
    ``(atomic number, formal charge)`` per atom and re-encodes to the same atoms and valences.
    An empty atom list, or a molecule that fails sanitisation (valence, kekulisation), gives
    ``None``.
    """
    if len(atoms) == 0:
        return None
    editable = Chem.RWMol()
    for z, q in atoms:
        atom = Chem.Atom(int(z))
        atom.SetFormalCharge(int(q))
        editable.AddAtom(atom)
    for i, j, order in bonds:
        editable.AddBond(int(i), int(j), BOND_TYPES[order])
    mol = editable.GetMol()
    try:
        Chem.SanitizeMol(mol, sanitizeOps=_SANITIZE_AS_GIVEN)
    except ValueError:  # RDKit's MolSanitizeException family derives from ValueError
        return None
    return mol


def mol_to_graph(mol: Chem.Mol, encoder: AtomEncoder, max_atoms: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``(nodes, adjacency)`` tensors of a molecule (see the module docstring for the layout).

    Raises
    ------
    ValueError
        If the molecule has more than ``max_atoms`` heavy atoms, an atom type outside the
        encoder's vocabulary, or a bond that cannot be written single/double/triple.
    """
    atoms, bonds = kekule_graph(mol)
    if len(atoms) > max_atoms:
        raise ValueError(f"molecule has {len(atoms)} heavy atoms, more than max_atoms={max_atoms}")
    nodes = np.zeros(max_atoms, dtype=np.int64)
    nodes[: len(atoms)] = [encoder.encode(z, q) for z, q in atoms]
    adjacency = np.zeros((max_atoms, max_atoms), dtype=np.int64)
    for i, j, order in bonds:
        adjacency[i, j] = adjacency[j, i] = order
    return nodes, adjacency


def _validate_graphs(nodes: np.ndarray, adjacency: np.ndarray, encoder: AtomEncoder) -> tuple[np.ndarray, np.ndarray]:
    nodes = np.asarray(nodes)
    adjacency = np.asarray(adjacency)
    if nodes.ndim != 2 or adjacency.ndim != 3:
        raise ValueError(f"expected nodes (N, n) and adjacency (N, n, n), got {nodes.shape} and {adjacency.shape}")
    if adjacency.shape != (nodes.shape[0], nodes.shape[1], nodes.shape[1]):
        raise ValueError(f"adjacency shape {adjacency.shape} does not match nodes shape {nodes.shape}")
    for name, array, upper in (("nodes", nodes, encoder.n_types), ("adjacency", adjacency, N_BOND_TYPES)):
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name} must hold integer type indices, got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= upper):
            raise ValueError(f"{name} indices must lie in 0..{upper - 1}, got range {array.min()}..{array.max()}")
    return nodes, adjacency


def _decode_one(nodes: list[int], bonds: list[Bond], encoder: AtomEncoder) -> Chem.Mol | None:
    """Molecule of one graph given its node indices and upper-triangle ``(i, j, order)`` entries."""
    present = [k for k, t in enumerate(nodes) if t != 0]
    position = {k: p for p, k in enumerate(present)}
    if any(i not in position or j not in position for i, j, _ in bonds):
        return None
    return assemble_molecule([encoder.atom_types[nodes[k] - 1] for k in present],
                             [(position[i], position[j], order) for i, j, order in bonds])


def graphs_to_mols(nodes: np.ndarray, adjacency: np.ndarray, encoder: AtomEncoder) -> list[Chem.Mol | None]:
    """Decode a batch of graphs, ``(N, n)`` node and ``(N, n, n)`` bond indices, to molecules.

    An invalid graph (no atoms, a bond to a padding node, a valence RDKit rejects) decodes to
    ``None``; it never raises. Only the upper triangle of each adjacency matrix is read.

    Raises
    ------
    ValueError, TypeError
        If the arrays have the wrong shapes, are not integer, or hold indices outside the
        vocabularies (a caller error, not an invalid molecule).
    """
    nodes, adjacency = _validate_graphs(nodes, adjacency, encoder)
    upper = np.triu(adjacency, 1)
    graph, row, col = np.nonzero(upper)
    entries = np.stack([row, col, upper[graph, row, col]], axis=1).tolist()
    bounds = np.searchsorted(graph, np.arange(len(nodes) + 1)).tolist()
    with rdBase.BlockLogs():  # an invalid graph is None here, not a valence message on stderr
        return [_decode_one(atoms, entries[bounds[k]:bounds[k + 1]], encoder)
                for k, atoms in enumerate(nodes.tolist())]


def graph_to_mol(nodes: np.ndarray, adjacency: np.ndarray, encoder: AtomEncoder) -> Chem.Mol | None:
    """Decode one graph, ``(n,)`` node and ``(n, n)`` bond indices; ``None`` if it is not a valid molecule."""
    nodes = np.asarray(nodes)
    adjacency = np.asarray(adjacency)
    if nodes.ndim != 1 or adjacency.ndim != 2:
        raise ValueError(f"expected nodes (n,) and adjacency (n, n), got {nodes.shape} and {adjacency.shape}")
    return graphs_to_mols(nodes[None], adjacency[None], encoder)[0]


def _hydrogen_removal() -> Chem.RemoveHsParameters:
    """RDKit's ``RemoveHs`` settings, also removing the hydrogens it keeps for isotopes and stereo.

    By default ``RemoveHs`` keeps an isotopic hydrogen (``[2H]``) and one that defines double-bond
    stereo or carries a wedge; graphs and canonical SMILES here hold neither isotopes nor stereo,
    so those hydrogens become implicit too.
    """
    params = Chem.RemoveHsParameters()
    params.removeIsotopes = True
    params.removeDefiningBondStereo = True
    params.removeWithWedgedBond = True
    params.showWarnings = False
    return params


_REMOVE_HS = _hydrogen_removal()


def sanitized_copy(mol: Chem.Mol | str | None) -> Chem.Mol | None:
    """A sanitised copy without explicit hydrogen atoms, or ``None`` for a missing or invalid molecule.

    ``mol`` is an RDKit molecule or a SMILES string (parsed here).

    Hydrogen atoms become implicit, isotopic ones (``[2H]``, ``[3H]``) and stereo-defining ones
    included. Only hydrogens that cannot be implicit stay: one without a heavy neighbour (``[H][H]``,
    a lone ``[H+]``), one bonded to two atoms, or one next to a dummy atom. Unsanitised molecules
    are accepted; one RDKit rejects (valence, kekulisation) or one without atoms gives ``None``
    instead of raising.
    """
    if isinstance(mol, str):
        with rdBase.BlockLogs():
            mol = Chem.MolFromSmiles(mol, sanitize=False)
    elif mol is not None and not isinstance(mol, Chem.Mol):
        raise TypeError(f"expected an RDKit molecule, a SMILES string or None, got {type(mol).__name__}")
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    copy = Chem.Mol(mol)
    try:
        with rdBase.BlockLogs():
            Chem.SanitizeMol(copy)
        if any(copy.GetAtomWithIdx(k).GetAtomicNum() == 1 for k in range(copy.GetNumAtoms())):
            copy = Chem.RemoveHs(copy, _REMOVE_HS)
    except ValueError:
        return None
    return copy


def canonical_smiles(mol: Chem.Mol | str | None) -> str | None:
    """RDKit canonical SMILES without stereochemistry, isotopes or explicit hydrogens; ``None`` if invalid.

    ``mol`` is an RDKit molecule or a SMILES string. It is sanitised on a copy with its hydrogens
    made implicit (:func:`sanitized_copy`), so ``[2H]C([2H])([2H])[2H]`` gives ``C``; an invalid
    molecule gives ``None``. Raises ``TypeError`` for anything else.
    """
    copy = sanitized_copy(mol)
    return None if copy is None else Chem.MolToSmiles(copy, isomericSmiles=False)
