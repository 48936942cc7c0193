"""Generative models whose latent distribution is injected, never hard-coded.

- :class:`~qlatent.models.gan.WGANGP`, :class:`~qlatent.models.gan.WGANGPConfig` — Wasserstein GAN
  with gradient penalty, MLP generator and critic (Gulrajani et al., NeurIPS 2017,
  arXiv:1704.00028).
- :func:`~qlatent.models.mlp.build_mlp` — the MLP builder both networks use.
- :class:`~qlatent.models.flow_matching.FlowMatching`,
  :class:`~qlatent.models.flow_matching.FlowMatchingConfig`,
  :class:`~qlatent.models.flow_matching.SourceConfig` — conditional flow matching from any latent
  source, independent or mini-batch OT coupling, fixed-step and adaptive ODE sampling (Lipman et
  al., ICLR 2023, arXiv:2210.02747; Tong et al., TMLR 2024, arXiv:2302.00482).
- :class:`~qlatent.models.ddgan.DDGAN`, :class:`~qlatent.models.ddgan.DDGANConfig` — denoising-
  diffusion GAN, a few denoising steps each a latent-conditioned generator trained adversarially
  (Xiao et al., ICLR 2022, arXiv:2112.07804).
- :class:`~qlatent.models.molgan.MolGAN`, :class:`~qlatent.models.molgan.MolGANConfig`,
  :class:`~qlatent.models.molgan.GraphBank` — MolGAN for 9-atom molecular graphs: MLP generator,
  R-GCN critic and reward network (De Cao & Kipf, arXiv:1805.11973);
  :class:`~qlatent.models.molgan.ReinjectionGenerator` and :func:`~qlatent.models.molgan.recover_latent`
  — the paper's modified, invertible generator (Bacarreza et al., arXiv:2508.19857, Theorem 1).

Names are imported lazily so that importing the package does not import torch.
"""

from __future__ import annotations

from qlatent.lazy import lazy_exports

_EXPORTS = {
    "WGANGP": "qlatent.models.gan",
    "WGANGPConfig": "qlatent.models.gan",
    "build_mlp": "qlatent.models.mlp",
    "MolGAN": "qlatent.models.molgan",
    "MolGANConfig": "qlatent.models.molgan",
    "GraphBank": "qlatent.models.molgan",
    "ReinjectionGenerator": "qlatent.models.molgan",
    "recover_latent": "qlatent.models.molgan",
    "FlowMatching": "qlatent.models.flow_matching",
    "FlowMatchingConfig": "qlatent.models.flow_matching",
    "SourceConfig": "qlatent.models.flow_matching",
    "DDGAN": "qlatent.models.ddgan",
    "DDGANConfig": "qlatent.models.ddgan",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
