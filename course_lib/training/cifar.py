"""CIFAR-10 from its official python-version archive: read safely, downloaded only when asked.

CIFAR-10 (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny Images";
https://www.cs.toronto.edu/~kriz/cifar.html) holds 60,000 32x32 colour pictures of 10
classes (:data:`CIFAR10_CLASSES`): 50,000 for training in five batches ``data_batch_1`` ..
``data_batch_5`` and 10,000 for testing in ``test_batch``. :func:`read_cifar10` reads them
from a folder ``root`` holding the archive ``cifar-10-python.tar.gz`` (its members are read
straight from the tar, nothing is extracted) or the folder ``cifar-10-batches-py/`` extracted
from it. It downloads the archive only when asked (``download=True``), checked against its
SHA-256 and written atomically (:func:`course_lib.training.idx.fetch`).
``course_lib.training.data.load("cifar10", root=...)`` splits and standardizes the result.

Each batch is a pickled dict: ``b"data"``, a uint8 array ``(n, 3072)`` whose row is a
picture's red, green and blue 32x32 planes one after the other, each stored row by row;
``b"labels"``, ``n`` ints in [0, 10). Unpickling a file can run any code it names, so the
batches are read by an unpickler that builds numpy arrays and refuses everything else.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_lib._checks import check_bool, check_float
from course_lib.training.idx import fetch

__all__ = [
    "CIFAR10_URL",
    "CIFAR10_SHA256",
    "CIFAR10_ARCHIVE",
    "CIFAR10_FOLDER",
    "CIFAR10_TRAIN_BATCHES",
    "CIFAR10_TEST_BATCH",
    "CIFAR10_CLASSES",
    "read_cifar10",
]

#: The official python-version archive (170,498,071 bytes).
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
#: SHA-256 of that archive, as Keras's ``cifar10.load_data`` checks it (``file_hash``); the same
#: bytes have the MD5 c58f30108f718f92721af3b95e74349a that the CIFAR page publishes.
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
#: File name of the archive in ``root``.
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
#: The folder the archive extracts to (and the prefix of its members).
CIFAR10_FOLDER = "cifar-10-batches-py"
#: The five training batches (10,000 pictures each), in order.
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
#: The test batch (10,000 pictures).
CIFAR10_TEST_BATCH = "test_batch"
#: Class names by label (``batches.meta``'s ``label_names``).
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

_BATCHES = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
_PIXELS = 3 * 32 * 32


def _numpy_reconstruct() -> Any:
    """numpy's array-rebuilding function, taken from an array's own pickle recipe.

    It is ``numpy._core.multiarray._reconstruct`` in numpy 2 and ``numpy.core.multiarray._reconstruct``
    in numpy 1 (the name the official files, written by Python 2, use).
    """
    return np.empty(0, np.uint8).__reduce__()[0]


#: The only globals a batch may name: what pickled numpy arrays are rebuilt with.
_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # how Python 3 writes bytes at pickle protocol 2: it turns a str into bytes, nothing more
    ("_codecs", "encode"): codecs.encode,
}


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays, lists, dicts, numbers and strings, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        """The allowed global ``module.name``; raises ``pickle.UnpicklingError`` for any other."""
        if (module, name) in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[(module, name)]
        allowed = ", ".join(f"{m}.{n}" for m, n in _SAFE_GLOBALS)
        raise pickle.UnpicklingError(
            f"refused to load the global {module}.{name}: a CIFAR-10 batch holds only numpy arrays, lists "
            f"and strings (allowed: {allowed}); this is not an official batch and could run code"
        )


def _field(batch: dict[Any, Any], key: str, source: str) -> Any:
    """``batch[b"key"]`` (or ``batch["key"]``, as Python 3 writes a str key)."""
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise ValueError(f"{source}: the batch has no {key!r} entry (keys: {sorted(map(repr, batch))})")


def _read_batch(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Pictures ``(n, 3, 32, 32)`` uint8 and labels ``(n,)`` int64 of one pickled batch named ``source``."""
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as err:  # a refused global, or a corrupt pickle (EOFError, struct.error, ...)
        raise ValueError(f"{source} is not a CIFAR-10 batch: {err}") from err
    if not isinstance(batch, dict):
        raise ValueError(f"{source} is not a CIFAR-10 batch: it holds a {type(batch).__name__}, not a dict")
    data, labels = _field(batch, "data", source), np.asarray(_field(batch, "labels", source))
    shape_ok = isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == _PIXELS and len(data) > 0
    if not (shape_ok and data.dtype == np.uint8):
        got = f"a {data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"{source}: 'data' must be a uint8 array of shape (n, {_PIXELS}) with n >= 1, got {got}")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{source}: 'labels' must be {len(data)} ints (one per row of 'data'), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES):
        raise ValueError(f"{source}: labels must lie in [0, 10), got {labels.min()} .. {labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _read_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The six batches of an extracted folder, by name."""
    return {name: _read_batch((folder / name).read_bytes(), str(folder / name)) for name in _BATCHES}


def _read_archive(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The six batches read from the ``.tar.gz`` in one pass (nothing written to disk), by name."""
    wanted = {f"{CIFAR10_FOLDER}/{name}": name for name in _BATCHES}
    found = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                stream = tar.extractfile(member) if name is not None and member.isfile() else None
                if name is not None and stream is not None:
                    found[name] = _read_batch(stream.read(), f"{path}:{member.name}")
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(f"{path} is not a readable {CIFAR10_ARCHIVE} archive: {err}") from err
    missing = [f"{CIFAR10_FOLDER}/{name}" for name in _BATCHES if name not in found]
    if missing:
        raise ValueError(f"{path} lacks the member(s) {missing}; is it the python version of CIFAR-10?")
    return found


def _locate(root: Path) -> Path | None:
    """The extracted folder holding all six batches (``root/cifar-10-batches-py`` or ``root``), else the archive."""
    for folder in (root / CIFAR10_FOLDER, root):
        if all((folder / name).is_file() for name in _BATCHES):
            return folder
    archive = root / CIFAR10_ARCHIVE
    return archive if archive.is_file() else None


def _missing_message(root: Path, url: str) -> str:
    batches = ", ".join(_BATCHES)
    return (
        f"CIFAR-10 not found in {root}: it needs the archive {CIFAR10_ARCHIVE}, or the folder {CIFAR10_FOLDER}/ "
        f"extracted from it (the files {batches}; these six files in {root} itself also do). To download "
        f"the archive from {url} (170 MB, SHA-256 verified) into {root}, pass download=True "
        f"(read_cifar10(root, download=True) or load('cifar10', root=..., download=True)), or add --download "
        f"on the command line (--dataset cifar10 --data-root {root} --download); or save the file there yourself."
    )


def read_cifar10(
    root: str | os.PathLike[str],
    download: bool = False,
    url: str = CIFAR10_URL,
    sha256: str = CIFAR10_SHA256,
    timeout: float = 60.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CIFAR-10 (Krizhevsky 2009) from the folder ``root``, downloading the archive if asked.

    ``root`` may hold the extracted folder ``cifar-10-batches-py/`` (or its six batch files
    directly), which is read first, or the archive ``cifar-10-python.tar.gz``, read member by
    member without extracting it. Without either, ``download=True`` fetches the archive
    from ``url`` into ``root`` (checked against ``sha256``, written atomically: on a
    mismatch or an interrupted download nothing is left in ``root``); an existing copy is
    never downloaded again. Batches are unpickled by an unpickler that only rebuilds numpy
    arrays (a file naming any other global, e.g. ``os.system``, is refused).

    Args:
        root: folder (``str`` or path) of the archive or the extracted batches; created by a download.
        download: download the archive when ``root`` has neither (``False``: raise instead).
        url: where to download from (any URL ``urllib`` opens, ``file://`` included).
        sha256: the expected SHA-256 of the download (64 hex digits; default the official archive's).
        timeout: seconds (> 0) to wait for the server.

    Returns:
        ``(train_x, train_y, test_x, test_y)``: pictures as uint8 tensors ``(n, 3, 32, 32)``
        (channels red, green, blue; pixels 0..255), labels as int64 tensors ``(n,)`` in
        [0, 10); ``n`` is 50,000 and 10,000 for the official files, in the files' order.

    Raises:
        FileNotFoundError: neither the archive nor the batches are in ``root`` and ``download``
            is ``False``; the message says how to get them.
        ValueError: a download whose checksum does not match, an unreadable archive or one
            lacking a batch, a batch that is not a pickled dict of a uint8 ``(n, 3072)`` array and
            ``n`` labels in [0, 10) or that names a global other than numpy's (the message names
            the file), or a bad ``timeout``.
        TypeError: ``root`` is not a path, ``download`` not a bool, ``url`` not a str.
        OSError: the download failed (``urllib.error.URLError`` is one).

    >>> import pickle, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "cifar-10-batches-py"; folder.mkdir()
    >>> for name in CIFAR10_TRAIN_BATCHES + (CIFAR10_TEST_BATCH,):
    ...     batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 7]}
    ...     _ = (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    >>> train_x, train_y, test_x, test_y = read_cifar10(folder.parent)
    >>> train_x.shape, train_x.dtype, train_y.tolist(), test_x.shape
    (torch.Size([10, 3, 32, 32]), torch.uint8, [3, 7, 3, 7, 3, 7, 3, 7, 3, 7], torch.Size([2, 3, 32, 32]))
    """
    if not isinstance(root, str | os.PathLike):
        raise TypeError(f"root must be a folder (str or path), got {type(root).__name__}")
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    root, download = Path(root), check_bool(download, "download")
    timeout = check_float(timeout, "timeout", strict=True)
    source = _locate(root)
    if source is None:
        if not download:
            raise FileNotFoundError(_missing_message(root, url))
        source = fetch(url, root / CIFAR10_ARCHIVE, sha256, timeout=timeout)
    batches = _read_folder(source) if source.is_dir() else _read_archive(source)
    train = [batches[name] for name in CIFAR10_TRAIN_BATCHES]
    test = batches[CIFAR10_TEST_BATCH]
    return (
        torch.from_numpy(np.concatenate([x for x, _ in train])),
        torch.from_numpy(np.concatenate([y for _, y in train])),
        torch.from_numpy(np.array(test[0])),
        torch.from_numpy(test[1].copy()),
    )
