"""Datasets.

- :mod:`qlatent.data.qm9` — QM9 (from the ``qm9pack`` wheel, or a user's SMILES file) as padded
  molecular graphs with a seeded split.
- :mod:`qlatent.data.moons` — scikit-learn's two moons (the flow-matching appendix).
- :mod:`qlatent.data.images` — scikit-learn's 8×8 digits, or a local CIFAR-10 (python batches,
  verified by checksum before unpickling), as images in [−1, 1] (the diffusion appendix).
"""
