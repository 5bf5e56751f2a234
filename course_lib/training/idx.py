"""The full MNIST from its IDX files: reading them, and downloading them verified.

The four files of LeCun et al.'s MNIST (http://yann.lecun.com/exdb/mnist/, "the IDX
file format" section) are read with :func:`read_idx`; missing ones are downloaded by
:func:`fetch`, which checks each against its SHA-256 (:data:`MNIST_SHA256`) and writes
it atomically. :func:`read_mnist` does both for a folder;
``course_lib.training.data.load("mnist", root=...)`` splits the result.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from course_lib._checks import publish

__all__ = ["MNIST_FILES", "MNIST_SHA256", "read_idx", "fetch", "read_mnist"]

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

#: IDX type code -> numpy dtype of the (big-endian) data.
_IDX_DTYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> torch.Tensor:
    """Read an IDX file (the MNIST format), gzipped or not, into a tensor.

    The header is ``0, 0, type code, ndim`` then ``ndim`` big-endian int32 sizes;
    gzip is recognized by its magic bytes, not by the file name.

    Args:
        path: the file.

    Returns:
        A tensor of the header's shape and type (``uint8`` for MNIST), in native byte order.

    Raises:
        ValueError: a bad magic number, or fewer/more data bytes than the header announces.

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


def fetch(url: str, dest: str | os.PathLike[str], sha256: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` if needed, verifying its SHA-256; return ``dest``.

    An existing ``dest`` with the right checksum is kept (no download). The bytes go
    to a temporary file beside ``dest`` and replace it atomically (``os.replace``)
    only when the checksum matches; on a mismatch or any error the temporary file
    is removed, nothing is left at ``dest``, and the error is raised. ``file://``
    URLs work too.

    Args:
        url: where to download from.
        dest: the file to write (its folder is created).
        sha256: the expected SHA-256, 64 hex digits.
        timeout: seconds to wait for the server.

    Returns:
        ``dest`` as a ``Path``.

    Raises:
        ValueError: ``sha256`` is not 64 hex digits, or the downloaded bytes do not match it.
        OSError: the download failed (``urllib.error.URLError`` is one).

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
        publish(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _find_idx(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (root / name).exists():
            return root / name
    return None


def read_mnist(
    root: str | os.PathLike[str], url: str | None = None, sha256: Mapping[str, str] | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The full MNIST from the IDX files in ``root`` (``.gz`` or not), downloading missing ones.

    Args:
        root: folder of the four :data:`MNIST_FILES`.
        url: base URL to download a missing file from (``url + "/" + name + ".gz"``).
        sha256: file name -> SHA-256 of the downloads (default :data:`MNIST_SHA256`).

    Returns:
        ``(train_images, train_labels, test_images, test_labels)``: uint8 tensors,
        images ``(n, 28, 28)`` and labels ``(n,)`` (60,000 and 10,000 for MNIST).

    Raises:
        FileNotFoundError: a file is missing and no ``url`` is given.
        ValueError: no checksum for a file to download, a checksum mismatch, or image
            and label counts that disagree.
    """
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
    return train_x, train_y, test_x, test_y
