"""Image metrics from a small classifier trained in-house: a classifier Fréchet distance and class coverage.

FID needs the Inception network's weights, which cannot be downloaded here, and an Inception
network says little about 8×8 digits anyway. So the image chapter trains a small MLP classifier
on the training images themselves and measures generated images in *its* feature space:

- :func:`classifier_frechet_distance` — the Fréchet distance between Gaussians fitted to the
  classifier's penultimate-layer features of generated and of held-out real images
  (the construction of FID, Heusel et al. 2017, with our classifier in place of Inception). It is
  **not** FID: its values depend on this classifier and are comparable only within one chapter.
- :func:`class_coverage` — the share of generated images the classifier assigns to each class,
  and the fraction of classes that receive at least ``min_share`` of their share in the real
  data (a mode-dropping check in the spirit of the Stacked-MNIST mode count).

References
----------
Heusel, Ramsauer, Unterthiner, Nessler, Hochreiter, *GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium*, NeurIPS 2017 (FID). Metz, Poole, Pfau, Sohl-Dickstein,
*Unrolled GANs*, ICLR 2017 (mode counting on Stacked MNIST).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from qlatent.metrics.distributions import frechet_distance
from qlatent.models.mlp import build_mlp


@dataclass(frozen=True)
class ClassifierConfig:
    """The feature classifier: an MLP on flattened images, trained with Adam on cross-entropy.

    Parameters
    ----------
    hidden
        Hidden widths; features are the last hidden layer's activations.
    n_epochs, batch_size, learning_rate
        Training schedule.
    seed
        Seed of the weights and of the batch order.
    """

    hidden: tuple[int, ...] = (128, 64)
    n_epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.hidden) == 0:
            raise ValueError("the classifier needs at least one hidden layer (its features)")
        for name in ("n_epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))


class ImageClassifier:
    """A trained feature classifier: :meth:`features`, :meth:`predict`, :meth:`accuracy`.

    Build it with :func:`train_classifier`.
    """

    def __init__(self, network: nn.Sequential, image_shape: tuple[int, ...], n_classes: int,
                 config: ClassifierConfig, train_accuracy: float) -> None:
        self.network = network.eval()
        self.image_shape, self.n_classes, self.config = tuple(image_shape), n_classes, config
        self.train_accuracy = train_accuracy
        self.feature_dim = config.hidden[-1]

    def _flat(self, images: Any) -> torch.Tensor:
        array = torch.as_tensor(np.asarray(images, dtype=np.float32))
        if tuple(array.shape[1:]) != self.image_shape:
            raise ValueError(f"images have shape {tuple(array.shape)}, the classifier takes (n, "
                             f"{', '.join(map(str, self.image_shape))})")
        return array.reshape(array.shape[0], -1)

    @torch.no_grad()
    def features(self, images: Any) -> np.ndarray:
        """Penultimate-layer activations, float64 array (n, feature_dim)."""
        return self.network[:-1](self._flat(images)).double().numpy()

    @torch.no_grad()
    def predict(self, images: Any) -> np.ndarray:
        """Predicted class per image, int64 array (n,)."""
        return self.network(self._flat(images)).argmax(dim=1).numpy()

    def accuracy(self, images: Any, labels: Sequence[int]) -> float:
        """Fraction of ``images`` classified as ``labels``."""
        return float(np.mean(self.predict(images) == np.asarray(labels)))

    def describe(self) -> dict[str, Any]:
        return {"kind": "mlp-classifier", **asdict(self.config), "image_shape": list(self.image_shape),
                "n_classes": self.n_classes, "train_accuracy": self.train_accuracy}


def train_classifier(images: np.ndarray, labels: np.ndarray, n_classes: int,
                     config: ClassifierConfig | None = None) -> ImageClassifier:
    """Train the feature classifier on ``images`` (n, channels, height, width) with integer ``labels``.

    Deterministic given ``config.seed`` (weights drawn under a forked RNG, batches from a seeded
    generator).

    Raises
    ------
    ValueError
        If images and labels differ in length or a label is outside ``range(n_classes)``.
    """
    config = config or ClassifierConfig()
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if images.ndim < 2 or labels.shape != (images.shape[0],):
        raise ValueError(f"need images (n, ...) and labels (n,), got {images.shape} and {labels.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    x = torch.from_numpy(images.reshape(images.shape[0], -1))
    y = torch.from_numpy(labels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        network = build_mlp(x.shape[1], n_classes, config.hidden, "relu")
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.n_epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), config.batch_size):
            index = order[start:start + config.batch_size]
            loss = nn.functional.cross_entropy(network(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        train_accuracy = float((network(x).argmax(dim=1) == y).float().mean())
    return ImageClassifier(network, images.shape[1:], n_classes, config, train_accuracy)


def feature_statistics(classifier: ImageClassifier, images: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean (feature_dim,) and covariance (feature_dim, feature_dim) of the classifier's features."""
    features = classifier.features(images)
    if features.shape[0] < 2:
        raise ValueError(f"need at least 2 images for a covariance, got {features.shape[0]}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def classifier_frechet_distance(classifier: ImageClassifier, generated: Any, reference: Any) -> float:
    """Fréchet distance between Gaussians fitted to the classifier features of two image sets.

    Not FID: the features are those of :func:`train_classifier`'s network, not Inception's.
    """
    return frechet_distance(*feature_statistics(classifier, generated), *feature_statistics(classifier, reference))


def class_coverage(classifier: ImageClassifier, generated: Any, reference_labels: Sequence[int],
                   min_share: float = 0.5) -> tuple[float, np.ndarray]:
    """Fraction of classes the generated images cover, and the share predicted as each class.

    A class is covered when its share among the generated images is at least ``min_share`` times
    its share among ``reference_labels``.

    Returns
    -------
    coverage : float
        Covered classes / classes present in the reference.
    shares : numpy.ndarray
        (n_classes,) fractions of generated images predicted as each class.

    Raises
    ------
    ValueError
        If ``min_share`` is not in (0, 1].
    """
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1], got {min_share}")
    predicted = classifier.predict(generated)
    shares = np.bincount(predicted, minlength=classifier.n_classes) / len(predicted)
    reference = np.bincount(np.asarray(reference_labels), minlength=classifier.n_classes) / len(reference_labels)
    present = reference > 0
    covered = shares[present] >= min_share * reference[present]
    return float(covered.mean()), shares
