"""Datasets.

- :mod:`qlatent.data.qm9` — QM9 (from the ``qm9pack`` wheel, or a user's SMILES file) as padded
  molecular graphs with a seeded split.
"""
