"""qlatent: the reproducible companion to *Quantum latent distributions in deep generative models*."""

__version__ = "0.1.0"
