"""course_lib.training.cifar: CIFAR-10 read from test-written files in the official format.

The files are small (five training batches and a test batch of 20 pictures each) but laid
out as the official python version: pickles (protocol 2) of dicts with bytes keys holding a
uint8 ``(n, 3072)`` array (red, green, blue 32x32 planes, row by row) and a list of labels,
in ``cifar-10-batches-py/`` or in ``cifar-10-python.tar.gz``. No test touches the network:
downloads come from ``file://`` URLs.
"""

import hashlib
import io
import os
import pickle
import re
import tarfile

import numpy as np
import pytest
import torch

from course_lib.training import idx
from course_lib.training.cifar import (
    CIFAR10_ARCHIVE,
    CIFAR10_CLASSES,
    CIFAR10_FOLDER,
    CIFAR10_TEST_BATCH,
    CIFAR10_TRAIN_BATCHES,
    CIFAR10_URL,
    read_cifar10,
)
from course_lib.training.data import NORMALIZATION, load

PER_BATCH = 20
NAMES = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)


def _batch(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    labels = [int(c) for c in rng.permutation(np.arange(PER_BATCH) % 10)]
    return {
        b"batch_label": f"batch {seed}".encode(),
        b"labels": labels,
        b"data": rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8),
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(PER_BATCH)],
    }


def _files(batches=None) -> dict[str, bytes]:
    """File name -> bytes of the six batches and batches.meta, pickled as the official files are."""
    batches = batches or {name: _batch(i) for i, name in enumerate(NAMES)}
    files = {name: b if isinstance(b, bytes) else pickle.dumps(b, protocol=2) for name, b in batches.items()}
    meta = {b"num_cases_per_batch": PER_BATCH, b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_vis": 3072}
    files["batches.meta"] = pickle.dumps(meta, protocol=2)
    return files


def _write_folder(root, files=None):
    folder = root / CIFAR10_FOLDER
    folder.mkdir(parents=True)
    for name, raw in (files or _files()).items():
        (folder / name).write_bytes(raw)
    return folder


def _write_archive(root, files=None):
    root.mkdir(parents=True, exist_ok=True)
    path = root / CIFAR10_ARCHIVE
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in (files or _files()).items():
            info = tarfile.TarInfo(f"{CIFAR10_FOLDER}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def _expected():
    batches = [_batch(i) for i in range(len(NAMES))]
    data = [torch.from_numpy(b[b"data"].reshape(-1, 3, 32, 32)) for b in batches]
    labels = [torch.tensor(b[b"labels"]) for b in batches]
    return torch.cat(data[:5]), torch.cat(labels[:5]), data[5], labels[5]


def test_archive_and_folder_give_identical_tensors(tmp_path):
    _write_folder(tmp_path / "extracted")
    _write_archive(tmp_path / "archived")
    from_folder = read_cifar10(tmp_path / "extracted")
    from_archive = read_cifar10(str(tmp_path / "archived"))
    assert [p.name for p in (tmp_path / "archived").iterdir()] == [CIFAR10_ARCHIVE]  # nothing extracted
    for got, want, a in zip(from_folder, _expected(), from_archive, strict=True):
        assert got.dtype == want.dtype == a.dtype and torch.equal(got, want) and torch.equal(a, want)
    train_x, train_y, test_x, test_y = from_folder
    assert train_x.shape == (100, 3, 32, 32) and train_x.dtype == torch.uint8 and train_y.dtype == torch.int64
    assert test_x.shape == (20, 3, 32, 32) and test_y.shape == (20,)
    # the six files straight in root are accepted too
    flat = tmp_path / "extracted" / CIFAR10_FOLDER
    assert torch.equal(read_cifar10(flat)[0], train_x)


def test_pixel_layout_is_red_green_blue_planes_row_by_row(tmp_path):
    batches = {name: _batch(i) for i, name in enumerate(NAMES)}
    picture = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.full(1024, 30)]).astype(np.uint8)
    picture[1 * 1024 + 3 * 32 + 7] = 200  # green, row 3, column 7
    batches["data_batch_2"][b"data"][5] = picture
    _write_folder(tmp_path, _files(batches))
    train_x, *_ = read_cifar10(tmp_path)
    image = train_x[PER_BATCH + 5]  # the 6th picture of the second batch
    assert image[1, 3, 7] == 200 and image[1, 7, 3] == 20  # row before column
    assert image[0].unique().tolist() == [10] and image[2].unique().tolist() == [30]  # channels first


def test_numpy_1_pickles_as_in_the_official_files_are_read(tmp_path):
    files = _files()
    # the official batches (Python 2, numpy 1) name numpy.core.multiarray, numpy 2 numpy._core.multiarray
    old = {k: v.replace(b"numpy._core.multiarray", b"numpy.core.multiarray") for k, v in files.items()}
    assert b"numpy.core.multiarray\n_reconstruct" in old["test_batch"]
    _write_folder(tmp_path, old)
    assert torch.equal(read_cifar10(tmp_path)[2], _expected()[2])


def test_download_only_when_asked_verified_and_not_repeated(tmp_path):
    archive = _write_archive(tmp_path / "mirror")
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError):
        read_cifar10(root, url=archive.as_uri(), sha256=sha)
    got = read_cifar10(root, download=True, url=archive.as_uri(), sha256=sha)
    assert [p.name for p in root.iterdir()] == [CIFAR10_ARCHIVE]
    assert (root / CIFAR10_ARCHIVE).read_bytes() == archive.read_bytes()
    assert all(torch.equal(a, b) for a, b in zip(got, _expected(), strict=True))
    # present now: no download again (the URL does not exist)
    again = read_cifar10(root, download=True, url=(tmp_path / "gone.tar.gz").as_uri(), sha256=sha)
    assert torch.equal(again[0], got[0])


def test_checksum_mismatch_leaves_nothing(tmp_path):
    archive = _write_archive(tmp_path / "mirror")
    root = tmp_path / "data"
    with pytest.raises(ValueError, match="checksum mismatch"):
        read_cifar10(root, download=True, url=archive.as_uri(), sha256="0" * 64)
    assert list(root.iterdir()) == []
    with pytest.raises(ValueError, match="sha256"):
        read_cifar10(root, download=True, url=archive.as_uri(), sha256="c58f30108f718f92721af3b95e74349a")


class _BrokenResponse:
    """A download that stops after its first chunk."""

    def __init__(self, error):
        self.error, self.sent = error, False

    def read(self, size=-1):
        if self.sent:
            raise self.error
        self.sent = True
        return b"x" * 1000

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("error", [ConnectionResetError("peer reset"), KeyboardInterrupt()])
def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch, error):
    monkeypatch.setattr(idx.urllib.request, "urlopen", lambda url, timeout: _BrokenResponse(error))
    root = tmp_path / "data"
    with pytest.raises(type(error)):
        read_cifar10(root, download=True)
    assert list(root.iterdir()) == []


def test_absent_files_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        read_cifar10(tmp_path)
    message = str(info.value)
    for needed in (CIFAR10_URL, "download=True", "--download", CIFAR10_ARCHIVE, CIFAR10_FOLDER, str(tmp_path)):
        assert needed in message
    assert all(name in message for name in NAMES)
    with pytest.raises(FileNotFoundError, match="download=True"):
        load("cifar10", root=tmp_path)
    with pytest.raises(ValueError, match="root="):
        load("cifar10")
    # an incomplete extracted folder does not count
    files = _files()
    del files["data_batch_4"]
    _write_folder(tmp_path, files)
    with pytest.raises(FileNotFoundError, match="CIFAR-10 not found"):
        read_cifar10(tmp_path)


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("as_archive", [False, True])
@pytest.mark.parametrize("func, name", [(os.system, "system"), (eval, "__builtin__.eval")])
def test_a_pickle_naming_other_globals_is_refused(tmp_path, as_archive, func, name):
    marker = tmp_path / "ran"
    code = f"touch {marker}" if func is os.system else f"open({str(marker)!r}, 'w').close()"
    batches = {n: _batch(i) for i, n in enumerate(NAMES)}
    batches["data_batch_3"][b"labels"] = _Evil(func, code)
    files = _files(batches)
    root = tmp_path / "root"
    (_write_archive if as_archive else _write_folder)(root, files)
    with pytest.raises(ValueError, match=rf"data_batch_3 is not a CIFAR-10 batch: refused .*{re.escape(name)}"):
        read_cifar10(root)
    assert not marker.exists()


def _with(name, protocol=2, **changes):
    batches = {n: _batch(i) for i, n in enumerate(NAMES)}
    batch = batches[name]
    for key, value in changes.items():
        if value is None:
            del batch[key.encode()]
        else:
            batch[key.encode()] = value
    batches[name] = pickle.dumps(batch, protocol=protocol)
    return batches


BAD = {
    "short rows": (_with("data_batch_2", data=np.zeros((PER_BATCH, 3071), np.uint8)), "'data' must be"),
    "float pixels": (_with("data_batch_2", data=np.zeros((PER_BATCH, 3072), np.float32)), "'data' must be"),
    # protocol 4: at protocol 2 Python writes empty bytes as a call of __builtin__.bytes, itself refused
    "no pictures": (_with("data_batch_2", 4, data=np.zeros((0, 3072), np.uint8), labels=[]), "n >= 1"),
    "a label short": (_with("data_batch_2", labels=[0] * (PER_BATCH - 1)), "'labels' must be 20 ints"),
    "label 10": (_with("data_batch_2", labels=[10] + [0] * (PER_BATCH - 1)), r"\[0, 10\)"),
    "label -1": (_with("data_batch_2", labels=[-1] + [0] * (PER_BATCH - 1)), r"\[0, 10\)"),
    "float labels": (_with("data_batch_2", labels=[0.5] * PER_BATCH), "'labels' must be 20 ints"),
    "no labels": (_with("data_batch_2", labels=None), "no 'labels' entry"),
    "not a dict": ({**{n: _batch(i) for i, n in enumerate(NAMES)}, "data_batch_2": [1, 2]}, "not a dict"),
    "not a pickle": ({**{n: _batch(i) for i, n in enumerate(NAMES)}, "data_batch_2": b"\x80\x02junk"}, "not a CIFAR"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_batches_are_refused_naming_the_file(tmp_path, case):
    batches, message = BAD[case]
    _write_folder(tmp_path, _files(batches))
    with pytest.raises(ValueError, match=message) as info:
        read_cifar10(tmp_path)
    assert str(tmp_path / CIFAR10_FOLDER / "data_batch_2") in str(info.value)


def test_bad_archives_and_arguments(tmp_path):
    archive = _write_archive(tmp_path / "ok")
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / CIFAR10_ARCHIVE).write_bytes(archive.read_bytes()[:5000])
    with pytest.raises(ValueError, match="not a readable"):
        read_cifar10(cut)
    files = _files()
    del files["test_batch"]
    _write_archive(tmp_path / "partial", files)
    with pytest.raises(ValueError, match=f"lacks .*{CIFAR10_FOLDER}/test_batch"):
        read_cifar10(tmp_path / "partial")
    with pytest.raises(TypeError, match="root"):
        read_cifar10(3)
    with pytest.raises(TypeError, match="download"):
        read_cifar10(tmp_path, download="yes")
    with pytest.raises(ValueError, match="timeout"):
        read_cifar10(tmp_path, download=True, timeout=0)


def test_load_cifar10_splits_and_standardizes(tmp_path):
    _write_archive(tmp_path)
    train_x, train_y, test_x, test_y = _expected()
    d = load("cifar10", root=tmp_path, val_size=10, seed=0)
    assert d.name == "cifar10" and d.num_classes == 10 and d.input_shape == (3, 32, 32)
    assert (len(d.train), len(d.val), len(d.test)) == (90, 10, 20)
    for split in (d.train, d.val, d.test):
        assert split.x.dtype == torch.float32 and split.y.dtype == torch.int64
    assert d.val.y.bincount().tolist() == [1] * 10  # stratified
    assert (d.mean, d.std) == NORMALIZATION["cifar10"]
    raw = load("cifar10", root=tmp_path, val_size=10, seed=0, normalize=False)
    torch.testing.assert_close(d.train.x * d.std + d.mean, raw.train.x, atol=1e-5, rtol=0)
    assert torch.equal(raw.test.x * 255, test_x.float()) and torch.equal(raw.test.y, test_y)
    # train + val are the 100 training pictures, each once
    pixels = torch.cat([raw.train.x, raw.val.x]).mul(255).round().to(torch.uint8).flatten(1)
    assert sorted(map(tuple, pixels[:, :8].tolist())) == sorted(map(tuple, train_x.flatten(1)[:, :8].tolist()))
    assert torch.equal(torch.cat([raw.train.y, raw.val.y]).sort().values, train_y.sort().values)
    same, other = (
        load("cifar10", root=tmp_path, val_size=10, seed=0),
        load("cifar10", root=tmp_path, seed=1, val_size=10),
    )
    assert torch.equal(same.train.x, d.train.x) and torch.equal(same.val.y, d.val.y)
    assert not torch.equal(other.train.x, d.train.x)
    for bad in (0, 100):
        with pytest.raises(ValueError, match="val_size"):
            load("cifar10", root=tmp_path, val_size=bad)
    with pytest.raises(TypeError, match="unknown option"):
        load("cifar10", root=tmp_path, generator_seed=1)


def test_load_cifar10_downloads_when_asked(tmp_path):
    archive = _write_archive(tmp_path / "mirror")
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    d = load("cifar10", root=tmp_path / "data", download=True, url=archive.as_uri(), sha256=sha, val_size=10)
    assert len(d.test) == 20 and (tmp_path / "data" / CIFAR10_ARCHIVE).is_file()
