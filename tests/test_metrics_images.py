"""The in-house classifier's Fréchet distance and class coverage on the digits."""

import numpy as np
import pytest

from qlatent.data.images import load_digits_images
from qlatent.metrics.distributions import frechet_distance
from qlatent.metrics.images import (
    ClassifierConfig,
    class_coverage,
    classifier_frechet_distance,
    feature_statistics,
    train_classifier,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def trained(torch_one_thread):
    train, test = load_digits_images().split(0.2, seed=0)
    return train_classifier(train.images, train.labels, 10, ClassifierConfig(n_epochs=8)), train, test


def test_classifier_is_deterministic_and_learns_the_digits(trained):
    classifier, train, test = trained
    assert classifier.accuracy(test.images, test.labels) > 0.9
    again = train_classifier(train.images, train.labels, 10, ClassifierConfig(n_epochs=8))
    np.testing.assert_array_equal(again.features(test.images[:20]), classifier.features(test.images[:20]))
    assert classifier.features(test.images).shape == (len(test), 64)


def test_frechet_distance_is_that_of_the_fitted_feature_gaussians(trained):
    classifier, train, test = trained
    assert classifier_frechet_distance(classifier, test.images, test.images) == pytest.approx(0.0, abs=1e-6)
    features_a, features_b = classifier.features(train.images), classifier.features(test.images)
    expected = frechet_distance(features_a.mean(0), np.cov(features_a.T), features_b.mean(0), np.cov(features_b.T))
    assert classifier_frechet_distance(classifier, train.images, test.images) == pytest.approx(expected, rel=1e-9)
    noise = np.random.default_rng(0).uniform(-1, 1, size=test.images.shape)
    assert classifier_frechet_distance(classifier, noise, test.images) > \
        20 * classifier_frechet_distance(classifier, train.images, test.images)


def test_class_coverage_counts_classes_with_enough_share(trained):
    classifier, _, test = trained
    coverage, shares = class_coverage(classifier, test.images, test.labels)
    assert coverage == 1.0 and shares.sum() == pytest.approx(1.0)
    only_threes = test.images[classifier.predict(test.images) == 3]  # every one classified as a 3
    coverage, shares = class_coverage(classifier, only_threes, test.labels)
    assert coverage == pytest.approx(0.1) and shares.argmax() == 3
    with pytest.raises(ValueError, match=r"min_share must be in \(0, 1\]"):
        class_coverage(classifier, only_threes, test.labels, min_share=0.0)


def test_bad_input_is_refused(trained):
    classifier, _, test = trained
    with pytest.raises(ValueError, match=r"images have shape \(3, 64\), the classifier takes \(n, 1, 8, 8\)"):
        classifier.features(np.zeros((3, 64)))
    with pytest.raises(ValueError, match="need at least 2 images for a covariance"):
        feature_statistics(classifier, test.images[:1])
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        train_classifier(test.images, test.labels + 1, 10)
