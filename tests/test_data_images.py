"""Image sets: scikit-learn's digits, and CIFAR-10 batches the test writes (checksums, shapes, safe unpickling)."""

import hashlib
import os
import pickle

import numpy as np
import pytest

from qlatent.data.images import CIFAR10_CLASSES, ImageDataError, load_cifar10, load_digits_images, load_images
from qlatent.data.moons import load_moons


def test_digits_are_the_sklearn_digits_scaled_to_unit_range():
    from sklearn.datasets import load_digits

    digits = load_digits_images()
    raw = load_digits()
    assert digits.images.shape == (1797, 1, 8, 8) and digits.images.dtype == np.float32
    assert digits.n_classes == 10 and np.array_equal(digits.labels, raw.target)
    np.testing.assert_array_equal((digits.images[:, 0] + 1.0) * 8.0, raw.images)  # v / 8 - 1, inverted
    assert digits.images.min() == -1.0 and digits.images.max() == 1.0
    assert load_images("digits").source == digits.source


def test_split_is_seeded_stratified_and_disjoint():
    digits = load_digits_images()
    train, test = digits.split(0.2, seed=3)
    assert len(train) + len(test) == len(digits)
    counts = np.bincount(test.labels, minlength=10)
    np.testing.assert_array_equal(counts, np.round(0.2 * np.bincount(digits.labels)).astype(int))
    again, _ = digits.split(0.2, seed=3)
    np.testing.assert_array_equal(train.images, again.images)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        digits.split(1.0, seed=0)


def _write_cifar(folder, n_per_batch=4, batches=("data_batch_1", "data_batch_2"), data=None, protocol=2):
    """A miniature CIFAR-10 folder in the python-batch format; returns the SHA-256 of every file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    meta = {b"label_names": [name.encode() for name in CIFAR10_CLASSES], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    written = {}
    for i, name in enumerate(batches):
        pixels = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8) if data is None else data
        labels = [(i * n_per_batch + k) % 10 for k in range(pixels.shape[0])]
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": pixels,
                 b"filenames": [f"img{k}.png".encode() for k in range(pixels.shape[0])]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
        written[name] = (pixels, labels)
    checksums = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    return checksums, written


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar_loader_reads_batches_in_the_official_layout(tmp_path, protocol):
    folder = tmp_path / "cifar-10-batches-py"
    checksums, written = _write_cifar(folder, protocol=protocol)
    checksums.update({f"data_batch_{i}": "0" * 64 for i in (3, 4, 5)})  # never reached: max_images stops first
    images = load_cifar10(tmp_path, checksums=checksums, max_images=8)  # the parent folder is accepted too
    assert images.images.shape == (8, 3, 32, 32) and images.class_names == CIFAR10_CLASSES
    pixels, labels = written["data_batch_2"]
    # row layout: 1024 red, then 1024 green, then 1024 blue values, each a row-major 32x32 plane
    np.testing.assert_allclose(images.images[4, 1, 2, 5], pixels[0, 1024 + 2 * 32 + 5] / 127.5 - 1.0, rtol=1e-6)
    assert images.labels.tolist() == written["data_batch_1"][1] + labels
    assert images.source["files"]["data_batch_1"] == checksums["data_batch_1"]


def test_cifar_md5_checksums_are_accepted(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder, batches=("test_batch",))
    md5 = {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    assert len(load_cifar10(folder, split="test", checksums=md5)) == 4


def test_cifar_wrong_checksum_is_refused_before_unpickling(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder, batches=("test_batch",))
    with pytest.raises(ImageDataError, match=r"batches.meta fails its checksum: md5 [0-9a-f]{32}, expected 5ff9c5"):
        load_cifar10(folder, split="test")  # the published digests, which a fake file cannot match


def test_cifar_wrong_shape_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    checksums, _ = _write_cifar(folder, batches=("test_batch",), data=np.zeros((4, 1024), dtype=np.uint8))
    expected = r"data must be a uint8 array of shape \(n, 3072\), got uint8 of shape \(4, 1024\)"
    with pytest.raises(ImageDataError, match=expected):
        load_cifar10(folder, split="test", checksums=checksums)


def test_cifar_missing_folder_file_or_checksum(tmp_path):
    with pytest.raises(ImageDataError, match="CIFAR-10 folder .* does not exist"):
        load_cifar10(tmp_path / "nowhere")
    folder = tmp_path / "cifar-10-batches-py"
    checksums, _ = _write_cifar(folder, batches=("data_batch_1",))
    with pytest.raises(ImageDataError, match="data_batch_2 is missing"):
        load_cifar10(folder, checksums=checksums)
    del checksums["data_batch_1"]
    with pytest.raises(ImageDataError, match="no checksum given for data_batch_1"):
        load_cifar10(folder, checksums=checksums)
    with pytest.raises(ValueError, match="split must be one of"):
        load_cifar10(folder, split="validation")


def test_cifar_refuses_to_unpickle_anything_but_arrays(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    checksums, _ = _write_cifar(folder, batches=("test_batch",))

    class Payload:
        def __reduce__(self):
            return (os.getcwd, ())

    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Payload()}))
    checksums["test_batch"] = hashlib.sha256((folder / "test_batch").read_bytes()).hexdigest()
    with pytest.raises(ImageDataError, match="refusing to unpickle posix.getcwd"):
        load_cifar10(folder, split="test", checksums=checksums)


def test_moons_are_sklearn_moons():
    from sklearn.datasets import make_moons

    points = load_moons(500, noise=0.1, seed=4)
    expected, _ = make_moons(500, noise=0.1, random_state=4)
    assert points.dtype == np.float32 and points.shape == (500, 2)
    np.testing.assert_allclose(points, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="noise must be finite and non-negative"):
        load_moons(10, noise=-1.0)
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        load_moons(1)
