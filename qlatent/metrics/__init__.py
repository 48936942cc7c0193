"""Metrics.

- :mod:`qlatent.metrics.distributions` — distances between sample sets: Wasserstein-1, sliced
  Wasserstein, MMD, energy distance, precision / recall / density / coverage.
- :mod:`qlatent.metrics.molecules` — validity, uniqueness, novelty, diversity, QED, logP, SA,
  MolGAN's normalised rewards and the Fréchet ChemNet Distance.
- :mod:`qlatent.metrics.images` — a small classifier trained in-house on the images, the Fréchet
  distance of its features (not FID) and per-class coverage.
- :mod:`qlatent.metrics.latent_stats` — a latent's own count statistics: Fano factor, pair
  covariance, third cumulants, pattern entropy and distance to the data.
"""
