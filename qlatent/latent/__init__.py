"""Latent distributions: the interface every generative model takes, and the classical baselines.

- :class:`LatentDistribution` — ``sample(n, generator) -> (n, dim)`` float32 tensor, ``name``,
  ``dim``, ``describe()``; :func:`check_latent_dim` compares a latent with a model's input size.
- :class:`BankLatent` — rows drawn from a pre-drawn bank (photon counts from the sample store,
  recorded hardware shots), with :class:`CountPostprocess` (dequantisation noise, standardisation).
- Classical baselines: :class:`GaussianLatent`, :class:`UniformLatent`, :class:`BernoulliLatent`,
  :class:`IndependentCountsLatent` (matched to photon-count marginals),
  :class:`ShuffledCountsLatent` (each mode's counts permuted independently).
- Challengers of the boson latent (:mod:`qlatent.latent.challengers`):
  :class:`DirichletMultinomialLatent` and :class:`GaussianCopulaLatent`.

Importing this subpackage imports torch; ``import qlatent`` does not import it.
"""

from qlatent.latent.bank import BankLatent, bank_sha256
from qlatent.latent.base import LatentDistribution, check_latent_dim
from qlatent.latent.challengers import DirichletMultinomialLatent, GaussianCopulaLatent
from qlatent.latent.classical import (
    BernoulliLatent,
    GaussianLatent,
    IndependentCountsLatent,
    ShuffledCountsLatent,
    UniformLatent,
)
from qlatent.latent.postprocess import CountPostprocess

__all__ = [
    "BankLatent",
    "BernoulliLatent",
    "CountPostprocess",
    "DirichletMultinomialLatent",
    "GaussianCopulaLatent",
    "GaussianLatent",
    "IndependentCountsLatent",
    "LatentDistribution",
    "ShuffledCountsLatent",
    "UniformLatent",
    "bank_sha256",
    "check_latent_dim",
]
