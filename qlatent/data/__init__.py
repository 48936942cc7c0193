"""Datasets.

- :mod:`qlatent.data.synthetic` — the synthetic quantum dataset: boson-sampler counts pushed
  through a fixed random network (the paper's theoretical construction).
- :mod:`qlatent.data.qm9` — QM9 (from the ``qm9pack`` wheel, or a user's SMILES file) as padded
  molecular graphs with a seeded split.
"""
