"""Chemistry helpers: molecules as the padded graphs MolGAN generates.

- :mod:`qlatent.chem.graphs` — :class:`~qlatent.chem.graphs.AtomEncoder` (node vocabulary built
  from the data, index 0 = padding), the fixed bond vocabulary (0 none, 1 single, 2 double,
  3 triple; kekulised), :func:`~qlatent.chem.graphs.mol_to_graph`,
  :func:`~qlatent.chem.graphs.graph_to_mol`, :func:`~qlatent.chem.graphs.graphs_to_mols`,
  :func:`~qlatent.chem.graphs.sanitized_copy` and :func:`~qlatent.chem.graphs.canonical_smiles`.

The submodule imports RDKit; this package ``__init__`` does not, so ``import qlatent.chem`` is free.

References
----------
De Cao, Kipf, *MolGAN: An implicit generative model for small molecular graphs*,
arXiv:1805.11973 (2018), section 2 (graph representation).
"""
