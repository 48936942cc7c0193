"""Small labelled image sets for the diffusion appendix: scikit-learn's 8×8 digits, or a local CIFAR-10.

The paper trains its denoising-diffusion GAN on CIFAR-10 (Appendix F), which cannot be downloaded
here. The book uses the 1,797 handwritten digits that ship inside scikit-learn
(:func:`sklearn.datasets.load_digits`: 8×8 pixels, 17 grey levels, 10 classes); users with the
CIFAR-10 *python version* on disk pass its folder to :func:`load_cifar10`.

Every set is returned as an :class:`ImageSet`: float32 images of shape (n, channels, height,
width) scaled to [−1, 1] (the range of the diffusion's data), int64 labels and provenance.

CIFAR-10 files are verified **before** they are unpickled: each file's digest must equal the
expected one (the MD5 values published with the dataset, which are the only published ones, or
SHA-256 digests the caller passes), and unpickling allows only the NumPy array constructors the
batches contain. The SHA-256 of every file read is recorded in ``ImageSet.source``.

References
----------
- Alpaydin, Kaynak, *Optical Recognition of Handwritten Digits*, UCI repository (1998); the
  scikit-learn copy holds the 1,797-image test part.
- Krizhevsky, *Learning Multiple Layers of Features from Tiny Images*, tech. report (2009);
  file layout and checksums from https://www.cs.toronto.edu/~kriz/cifar.html.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qlatent.io import sha256_file

#: Folder name inside the official archive ``cifar-10-python.tar.gz``.
CIFAR10_FOLDER = "cifar-10-batches-py"
#: The MD5 digests published with the CIFAR-10 python version (file name → hex digest).
CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
CIFAR10_SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAR_SHAPE = (3, 32, 32)


class ImageDataError(ValueError):
    """An image folder or file is missing, fails its checksum or holds arrays of the wrong shape."""


@dataclass(frozen=True)
class ImageSet:
    """Labelled images scaled to [−1, 1].

    Attributes
    ----------
    images
        float32 array of shape (n, channels, height, width), values in [−1, 1].
    labels
        int64 array of shape (n,), values in ``range(len(class_names))``.
    class_names
        One name per class.
    name
        Short label for tables and manifests.
    source
        Provenance (origin, files and their SHA-256 digests, scaling).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    name: str
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ImageDataError(f"images must have shape (n, channels, height, width), got {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ImageDataError(f"labels must have shape ({self.images.shape[0]},), got {self.labels.shape}")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ImageDataError(f"labels must lie in 0..{len(self.class_names) - 1}")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width)."""
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def flat(self) -> np.ndarray:
        """Images as rows of shape (n, channels·height·width)."""
        return self.images.reshape(len(self), -1)

    def _take(self, index: np.ndarray, suffix: str) -> ImageSet:
        return ImageSet(self.images[index], self.labels[index], self.class_names, f"{self.name}-{suffix}",
                        {**self.source, "subset": suffix, "size": int(len(index))})

    def split(self, test_fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
        """A seeded split into (train, test), stratified by class so both keep the class balance.

        Raises
        ------
        ValueError
            If ``test_fraction`` is not in (0, 1) or a part would be empty.
        """
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        rng = np.random.default_rng(seed)
        test = []
        for label in range(self.n_classes):
            members = np.flatnonzero(self.labels == label)
            rng.shuffle(members)
            test.append(members[: int(round(test_fraction * len(members)))])
        test_index = np.sort(np.concatenate(test))
        train_index = np.setdiff1d(np.arange(len(self)), test_index)
        if len(test_index) == 0 or len(train_index) == 0:
            raise ValueError(f"test_fraction={test_fraction} leaves an empty part of {len(self)} images")
        return self._take(train_index, f"train{seed}"), self._take(test_index, f"test{seed}")

    def describe(self) -> dict[str, Any]:
        """Name, size, shape, classes and provenance, for manifests."""
        return {"name": self.name, "size": len(self), "image_shape": list(self.image_shape),
                "classes": list(self.class_names), "source": self.source}


def load_digits_images() -> ImageSet:
    """scikit-learn's 1,797 handwritten 8×8 digits, one channel, grey levels 0…16 mapped to [−1, 1].

    The pixel value ``v`` becomes ``v / 8 − 1``. Nothing is downloaded: the data ship in the wheel.
    """
    import sklearn
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images.astype(np.float32) / 8.0 - 1.0)[:, None, :, :]
    digest = hashlib.sha256(np.ascontiguousarray(bunch.images.astype(np.uint8)).tobytes()).hexdigest()
    return ImageSet(images, bunch.target.astype(np.int64), tuple(str(c) for c in bunch.target_names), "digits",
                    {"origin": f"sklearn.datasets.load_digits (scikit-learn {sklearn.__version__})",
                     "pixels_sha256": digest, "scaling": "v / 8 - 1 (grey levels 0..16)"})


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and NumPy arrays only: no other class can be constructed.

    ``_codecs.encode`` is how Python 3 writes ``bytes`` at pickle protocol 2.
    """

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: only NumPy arrays are expected")
        return super().find_class(module.replace("numpy.core", "numpy._core"), name)


def _digest(path: Path, expected: str) -> tuple[str, str]:
    """The file's digest with the algorithm ``expected`` implies (32 hex digits: MD5, 64: SHA-256)."""
    algorithms = {32: "md5", 64: "sha256"}
    algorithm = algorithms.get(len(expected))
    if algorithm is None:
        raise ValueError(f"checksum for {path.name} must be 32 (MD5) or 64 (SHA-256) hex digits, got {expected!r}")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return algorithm, digest.hexdigest()


def _cifar_folder(path: str | Path) -> Path:
    folder = Path(path).expanduser()
    if (folder / CIFAR10_FOLDER).is_dir():
        folder = folder / CIFAR10_FOLDER
    if not folder.is_dir():
        raise ImageDataError(f"CIFAR-10 folder {folder} does not exist; pass the {CIFAR10_FOLDER!r} folder "
                             "of the python version (cifar-10-python.tar.gz, extracted)")
    return folder


def _verified_file(folder: Path, name: str, checksums: Mapping[str, str]) -> tuple[Path, str]:
    path = folder / name
    if not path.is_file():
        raise ImageDataError(f"CIFAR-10 file {path} is missing")
    if name not in checksums:
        raise ImageDataError(f"no checksum given for {name}; pass checksums={{{name!r}: '<sha256>', ...}}")
    expected = checksums[name].lower()
    algorithm, actual = _digest(path, expected)
    if actual != expected:
        raise ImageDataError(f"CIFAR-10 file {path} fails its checksum: {algorithm} {actual}, expected {expected}; "
                             "the file is corrupt, truncated or not the CIFAR-10 python version")
    return path, sha256_file(path)


def _unpickle(path: Path) -> dict[bytes, Any]:
    try:
        content = _ArrayUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise ImageDataError(f"CIFAR-10 file {path} is not a python batch: {error}") from error
    if not isinstance(content, dict):
        raise ImageDataError(f"CIFAR-10 file {path} holds a {type(content).__name__}, not a batch dict")
    return content


def load_cifar10(path: str | Path, split: str = "train", checksums: Mapping[str, str] | None = None,
                 max_images: int | None = None) -> ImageSet:
    """A local copy of CIFAR-10 (python version) as an :class:`ImageSet` of 3×32×32 images in [−1, 1].

    Parameters
    ----------
    path
        The ``cifar-10-batches-py`` folder, or the folder that holds it.
    split
        ``"train"`` (``data_batch_1`` … ``data_batch_5``, 50,000 images) or ``"test"``
        (``test_batch``, 10,000 images).
    checksums
        File name → expected hex digest (32 digits: MD5, 64: SHA-256) for every file read,
        ``batches.meta`` included. Default: :data:`CIFAR10_MD5`, the published digests.
    max_images
        Keep only the first this many images (in file order), or all with ``None``.

    Returns
    -------
    ImageSet
        Pixel ``v`` (0…255) becomes ``v / 127.5 − 1``; ``source["files"]`` maps each file read to
        its SHA-256.

    Raises
    ------
    ImageDataError
        If the folder or a file is missing, a file fails its checksum (checked before unpickling),
        is not a batch, or holds data not of shape (n, 3072) uint8 with n labels in 0…9.
    ValueError
        On an unknown ``split`` or a non-positive ``max_images``.
    """
    if split not in CIFAR10_SPLITS:
        raise ValueError(f"split must be one of {sorted(CIFAR10_SPLITS)}, got {split!r}")
    if max_images is not None and (isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1):
        raise ValueError(f"max_images must be a positive int or None, got {max_images!r}")
    checksums = dict(CIFAR10_MD5 if checksums is None else checksums)
    folder = _cifar_folder(path)
    files: dict[str, str] = {}
    meta_path, files["batches.meta"] = _verified_file(folder, "batches.meta", checksums)
    names = _unpickle(meta_path).get(b"label_names")
    class_names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names) if names else CIFAR10_CLASSES
    if len(class_names) != len(CIFAR10_CLASSES):
        raise ImageDataError(f"{meta_path} names {len(class_names)} classes, CIFAR-10 has {len(CIFAR10_CLASSES)}")
    images, labels, total = [], [], 0
    for name in CIFAR10_SPLITS[split]:
        if max_images is not None and total >= max_images:
            break
        batch_path, files[name] = _verified_file(folder, name, checksums)
        batch = _unpickle(batch_path)
        data, batch_labels = batch.get(b"data"), batch.get(b"labels")
        size = int(np.prod(_CIFAR_SHAPE))
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != size:
            shape = getattr(data, "shape", None)
            raise ImageDataError(f"{batch_path}: data must be a uint8 array of shape (n, {size}), got "
                                 f"{getattr(data, 'dtype', type(data).__name__)} of shape {shape}")
        batch_labels = np.asarray(batch_labels, dtype=np.int64) if batch_labels is not None else None
        if batch_labels is None or batch_labels.shape != (data.shape[0],) or \
                batch_labels.min(initial=0) < 0 or batch_labels.max(initial=0) >= len(class_names):
            raise ImageDataError(f"{batch_path}: labels must be {data.shape[0]} integers in 0..{len(class_names) - 1}")
        images.append(data.reshape(-1, *_CIFAR_SHAPE))
        labels.append(batch_labels)
        total += data.shape[0]
    pixels = np.concatenate(images)[:max_images]
    return ImageSet((pixels.astype(np.float32) / 127.5 - 1.0), np.concatenate(labels)[:max_images], class_names,
                    f"cifar10-{split}", {"origin": f"CIFAR-10 python version at {folder}", "split": split,
                                         "files": files, "scaling": "v / 127.5 - 1 (0..255)"})


def load_images(dataset: str, split: str = "train", checksums: Mapping[str, str] | None = None,
                max_images: int | None = None) -> ImageSet:
    """``"digits"`` (scikit-learn's 8×8 digits) or a path to a CIFAR-10 folder (see :func:`load_cifar10`)."""
    if dataset == "digits":
        return load_digits_images()
    return load_cifar10(dataset, split=split, checksums=checksums, max_images=max_images)
