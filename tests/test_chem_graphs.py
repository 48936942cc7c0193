"""Molecule <-> padded graph tensors: encoder, kekulised bonds, exact round trips, invalid graphs."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from qlatent.chem.graphs import (
    BOND_TYPES,
    N_BOND_TYPES,
    AtomEncoder,
    assemble_molecule,
    canonical_smiles,
    graph_to_mol,
    graphs_to_mols,
    kekule_graph,
    mol_to_graph,
)

NEUTRAL = AtomEncoder.from_atom_types([(6, 0), (7, 0), (8, 0), (9, 0)])
CHARGED = AtomEncoder.from_atom_types([(6, 0), (6, -1), (7, 0), (7, 1), (7, -1), (8, 0), (8, -1), (9, 0)])


def reference(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles), isomericSmiles=False)


def test_encoder_vocabulary_is_sorted_with_padding_at_zero():
    encoder = AtomEncoder.from_atom_types([(8, 0), (6, 0), (6, 0), (7, 1)])
    assert encoder.atom_types == ((6, 0), (7, 1), (8, 0))
    assert encoder.n_types == 4
    assert encoder.labels == ("PAD", "C", "N+", "O")
    assert [encoder.encode(z, q) for z, q in encoder.atom_types] == [1, 2, 3]
    assert [encoder.decode(i) for i in (1, 2, 3)] == list(encoder.atom_types)
    assert AtomEncoder.from_array(encoder.to_array()) == encoder


def test_encoder_from_molecules_ignores_explicit_hydrogens():
    mols = [Chem.AddHs(Chem.MolFromSmiles("CO")), Chem.MolFromSmiles("C[NH3+]")]
    assert AtomEncoder.from_molecules(mols).atom_types == ((6, 0), (7, 1), (8, 0))


@pytest.mark.parametrize(
    ("types", "match"),
    [([], "at least one atom type"), ([(7, 0), (6, 0)], "distinct and sorted"), ([(0, 0)], "1..118")],
)
def test_encoder_rejects_bad_vocabularies(types, match):
    with pytest.raises(ValueError, match=match):
        AtomEncoder(tuple(types))


def test_encoder_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"atomic number 16, charge \+0\) is not in the vocabulary"):
        NEUTRAL.encode(16)
    with pytest.raises(ValueError, match="0 is padding"):
        NEUTRAL.decode(0)
    with pytest.raises(ValueError, match=r"shape \(k, 2\)"):
        AtomEncoder.from_array(np.zeros(3))


def test_bond_vocabulary_is_none_single_double_triple():
    assert N_BOND_TYPES == 4
    assert BOND_TYPES == (None, Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE)


def test_benzene_is_kekulised_and_padded():
    nodes, adjacency = mol_to_graph(Chem.MolFromSmiles("c1ccccc1"), NEUTRAL)
    assert nodes.tolist() == [1] * 6 + [0] * 3
    assert (adjacency == adjacency.T).all() and (np.diag(adjacency) == 0).all()
    ring = adjacency[:6, :6]
    assert sorted(ring[ring > 0].tolist()) == [1] * 6 + [2] * 6  # three single, three double, both directions
    assert ((ring == 2).sum(axis=1) == 1).all()  # every carbon has exactly one double bond
    assert not adjacency[6:].any() and not adjacency[:, 6:].any()


@pytest.mark.parametrize(
    ("smiles", "encoder"),
    [
        ("CCO", NEUTRAL), ("CC#N", NEUTRAL), ("c1ccccc1", NEUTRAL), ("c1cc[nH]c1", NEUTRAL),
        ("c1ccoc1", NEUTRAL), ("O=C1NC(=O)C(F)=C1", NEUTRAL), ("C", NEUTRAL), ("C1CC2CC1C2", NEUTRAL),
        ("[NH3+]CC([O-])=O", CHARGED), ("[C-]#[N+]C", CHARGED), ("C[N-]C#N", CHARGED),
        ("C[N+](=O)[O-]", CHARGED), ("C#[N+][O-]", CHARGED),
    ],
)
def test_graph_round_trip_gives_the_canonical_smiles(smiles, encoder):
    nodes, adjacency = mol_to_graph(Chem.MolFromSmiles(smiles), encoder)
    assert canonical_smiles(graph_to_mol(nodes, adjacency, encoder)) == reference(smiles)


def test_stereochemistry_is_dropped_and_hydrogens_made_implicit():
    mol = Chem.AddHs(Chem.MolFromSmiles("C[C@H](N)O"))
    atoms, bonds = kekule_graph(mol)
    assert atoms == [(6, 0), (6, 0), (7, 0), (8, 0)]
    assert sorted(bonds) == [(0, 1, 1), (1, 2, 1), (1, 3, 1)]
    assert canonical_smiles(mol) == "CC(N)O"


def test_mol_to_graph_errors():
    with pytest.raises(ValueError, match="10 heavy atoms, more than max_atoms=9"):
        mol_to_graph(Chem.MolFromSmiles("CCCCCCCCCC"), NEUTRAL)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        mol_to_graph(Chem.MolFromSmiles("CS"), NEUTRAL)
    dative = Chem.RWMol(Chem.MolFromSmiles("N.C"))
    dative.AddBond(0, 1, Chem.BondType.DATIVE)
    with pytest.raises(ValueError, match="not single, double or triple"):
        kekule_graph(dative.GetMol())


def _graph(atoms: list[int], bonds: list[tuple[int, int, int]], n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    nodes = np.zeros(n, dtype=np.int64)
    nodes[: len(atoms)] = atoms
    adjacency = np.zeros((n, n), dtype=np.int64)
    for i, j, order in bonds:
        adjacency[i, j] = adjacency[j, i] = order
    return nodes, adjacency


def test_invalid_graphs_decode_to_none():
    empty = _graph([], [])
    pentavalent_carbon = _graph([1] * 6, [(0, k, 1) for k in range(1, 6)])
    bond_to_padding = _graph([1, 1], [(1, 4, 1)])
    oxygen_triple = _graph([3, 1], [(0, 1, 3)])
    for nodes, adjacency in (empty, pentavalent_carbon, bond_to_padding, oxygen_triple):
        assert graph_to_mol(nodes, adjacency, NEUTRAL) is None


def test_graphs_valid_only_after_rdkit_moves_charges_are_invalid():
    # RDKit's sanitisation clean-up would turn these neutral-type graphs into C#[N+][O-] and
    # C[N+](=O)[O-]: molecules whose node types are not the graph's and cannot be re-encoded.
    nitrile_oxide = _graph([1, 2, 3], [(0, 1, 3), (1, 2, 2)])
    nitro = _graph([1, 2, 3, 3], [(0, 1, 1), (1, 2, 2), (1, 3, 2)])
    azide = _graph([1, 2, 2, 2], [(0, 1, 1), (1, 2, 2), (2, 3, 3)])
    for nodes, adjacency in (nitrile_oxide, nitro, azide):
        assert graph_to_mol(nodes, adjacency, NEUTRAL) is None
    assert assemble_molecule([(6, 0), (7, 0), (8, 0)], [(0, 1, 3), (1, 2, 2)]) is None


def test_every_valid_decode_of_random_graphs_has_the_graphs_atoms_and_valences():
    rng = np.random.default_rng(0)
    n_graphs, n = 4000, 9
    nodes = rng.integers(0, NEUTRAL.n_types, (n_graphs, n))
    upper = np.triu(np.where(rng.random((n_graphs, n, n)) < 0.12, rng.integers(1, 4, (n_graphs, n, n)), 0), 1)
    adjacency = upper + upper.transpose(0, 2, 1)
    adjacency[(nodes == 0)[:, :, None] | (nodes == 0)[:, None, :]] = 0
    mols = graphs_to_mols(nodes, adjacency, NEUTRAL)
    n_valid = 0
    for atoms, bonds, mol in zip(nodes, adjacency, mols):
        if mol is None:
            continue
        n_valid += 1
        present = atoms > 0
        decoded_atoms, decoded_bonds = kekule_graph(mol)
        assert decoded_atoms == [NEUTRAL.decode(t) for t in atoms[present]]  # neutral, as the graph says
        valence = np.zeros(len(decoded_atoms), dtype=np.int64)
        for i, j, order in decoded_bonds:
            valence[[i, j]] += order
        np.testing.assert_array_equal(valence, bonds[np.ix_(present, present)].sum(axis=1))
    assert n_valid > 500  # the check ran on many molecules


def test_decoding_reads_the_upper_triangle_and_skips_padding_slots():
    nodes, adjacency = _graph([1, 0, 3], [(0, 2, 1)])  # C, padding, O: methanol with a gap
    adjacency[2, 0] = 3  # a lower-triangle entry that disagrees is ignored
    adjacency[0, 0] = 2  # so is the diagonal
    assert canonical_smiles(graph_to_mol(nodes, adjacency, NEUTRAL)) == "CO"


def test_disconnected_graphs_decode_to_multi_fragment_molecules():
    nodes, adjacency = _graph([1, 1], [])
    assert canonical_smiles(graph_to_mol(nodes, adjacency, NEUTRAL)) == "C.C"


def test_batch_decoding_matches_single_decoding():
    graphs = [mol_to_graph(Chem.MolFromSmiles(s), NEUTRAL) for s in ("CCO", "c1ccccc1", "N#CC=O")]
    nodes = np.stack([g[0] for g in graphs]).astype(np.int8)
    adjacency = np.stack([g[1] for g in graphs]).astype(np.int8)
    decoded = [canonical_smiles(m) for m in graphs_to_mols(nodes, adjacency, NEUTRAL)]
    assert decoded == [reference(s) for s in ("CCO", "c1ccccc1", "N#CC=O")]


def test_graph_shape_and_range_errors():
    nodes, adjacency = _graph([1], [])
    with pytest.raises(ValueError, match=r"expected nodes \(n,\) and adjacency \(n, n\)"):
        graph_to_mol(nodes[None], adjacency, NEUTRAL)
    with pytest.raises(ValueError, match="does not match nodes shape"):
        graphs_to_mols(nodes[None], adjacency[None, :5, :5], NEUTRAL)
    with pytest.raises(TypeError, match="integer type indices"):
        graph_to_mol(nodes.astype(float), adjacency, NEUTRAL)
    with pytest.raises(ValueError, match=r"nodes indices must lie in 0..4"):
        graph_to_mol(nodes + 7, adjacency, NEUTRAL)
    with pytest.raises(ValueError, match=r"adjacency indices must lie in 0..3"):
        graph_to_mol(nodes, adjacency - 1, NEUTRAL)


@pytest.mark.parametrize(
    ("smiles", "expected"),
    [
        ("[2H]C([2H])([2H])[2H]", "C"), ("[3H]OC", "CO"), ("[2H]c1ccccc1", "c1ccccc1"),
        ("[13CH3][2H]", "C"), ("[H]/C(F)=C(/[H])F", "FC=CF"), ("F[C@]([H])(Cl)Br", "FC(Cl)Br"),
        ("[H][H]", "[H][H]"),  # no heavy atom to hold it: stays explicit
    ],
)
def test_canonical_smiles_has_no_explicit_hydrogens_isotopes_included(smiles, expected):
    mol = Chem.MolFromSmiles(smiles)
    assert canonical_smiles(mol) == expected
    assert canonical_smiles(Chem.AddHs(mol)) == expected


def test_canonical_smiles_of_missing_or_invalid_molecules_is_none():
    assert canonical_smiles(None) is None
    assert canonical_smiles(Chem.Mol()) is None
    unsanitised = Chem.MolFromSmiles("C(C)(C)(C)(C)C", sanitize=False)
    assert canonical_smiles(unsanitised) is None
    assert assemble_molecule([], []) is None


def test_canonical_smiles_takes_a_smiles_string_and_refuses_other_types():
    assert canonical_smiles("[2H]C([2H])([2H])[2H]") == "C"
    assert canonical_smiles("OCC") == canonical_smiles(Chem.MolFromSmiles("CCO")) == "CCO"
    assert canonical_smiles("C(C)(C)(C)(C)C") is None  # five bonds on carbon: invalid, quietly
    with pytest.raises(TypeError, match="expected an RDKit molecule, a SMILES string or None, got int"):
        canonical_smiles(3)


def test_decoding_an_invalid_graph_prints_nothing(capfd):
    nodes, adjacency = _graph([1, 2, 3], [(0, 1, 3), (1, 2, 2)])  # C#N=O: nitrogen with five bonds
    assert graph_to_mol(nodes, adjacency, NEUTRAL) is None
    assert capfd.readouterr().err == ""
