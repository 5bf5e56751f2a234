"""course_lib.size: counts and bytes equal hand-computed values; the CSR formula matches torch."""

import io
import warnings

import pytest
import torch

from course_lib import magnitude_mask, row_norm_mask, shrink_mlp
from course_lib.measure.size import (
    csr_bytes,
    csr_tensor_bytes,
    disk_bytes,
    masked_state,
    model_bytes,
    nonzero_count,
    param_count,
    to_csr,
)
from course_lib.training.models import lenet_300_100, mlp


def _net():
    """3 -> 4 -> 2 MLP with known weights: 12 + 4 + 8 + 2 = 26 parameters."""
    net = mlp([3, 4, 2], seed=0)
    with torch.no_grad():
        net.fc1.weight.copy_(torch.arange(1.0, 13.0).reshape(4, 3))
        net.fc1.bias.fill_(1.0)
        net.fc2.weight.copy_(torch.arange(1.0, 9.0).reshape(2, 4))
        net.fc2.bias.fill_(1.0)
    return net


def test_counts_by_hand():
    net = _net()
    assert param_count(net) == 26
    assert nonzero_count(net) == 26
    keep = torch.ones(4, 3, dtype=torch.bool)
    keep[0] = False  # neuron 0 of fc1: 3 weights
    keep[1, 2] = False
    assert nonzero_count(net, {"fc1.weight": keep}) == 22
    assert param_count(lenet_300_100()) == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10


def test_masked_state_does_not_touch_the_model():
    net = _net()
    before = net.fc1.weight.clone()
    state = masked_state(net, {"fc1.weight": torch.zeros(4, 3, dtype=torch.bool)})
    assert torch.equal(net.fc1.weight, before)
    assert state["fc1.weight"].abs().sum() == 0 and torch.equal(state["fc2.weight"], net.fc2.weight)


def test_csr_formula_matches_a_real_torch_csr_tensor():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(30, 50, generator=gen)
    w[torch.rand(30, 50, generator=gen) < 0.8] = 0
    nnz = int(torch.count_nonzero(w))
    c = to_csr(w)
    assert c.values().numel() == nnz and c.col_indices().dtype == torch.int32 and c.crow_indices().dtype == torch.int32
    parts = c.values().numel() * 4 + c.col_indices().numel() * 4 + c.crow_indices().numel() * 4
    assert csr_tensor_bytes(c) == parts == csr_bytes(30, nnz) == nnz * 8 + 31 * 4
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore")
        c64 = w.to_sparse_csr()  # torch's own CSR has int64 indices: larger
    assert csr_tensor_bytes(c64) == csr_bytes(30, nnz, index_bytes=8)
    assert torch.equal(c.to_dense(), w)


def test_model_bytes_three_formats_by_hand():
    net = _net()
    keep = torch.ones(4, 3, dtype=torch.bool)
    keep[0] = False  # remove neuron 0 entirely
    masks = {"fc1.weight": keep}
    assert model_bytes(net) == 26 * 4
    assert model_bytes(net, masks) == 26 * 4  # masked weights stored dense still take their place
    # CSR: fc1 9 non-zeros over 4 rows, fc2 8 over 2 rows, biases dense (6 floats)
    assert model_bytes(net, masks, "csr") == (9 * 8 + 5 * 4) + (8 * 8 + 3 * 4) + 6 * 4
    # shrunk: fc1 3x3 + 3, fc2 2x3 + 2
    assert model_bytes(net, masks, "shrunk") == (9 + 3 + 6 + 2) * 4
    small = shrink_mlp(net, masks)
    assert model_bytes(net, masks, "shrunk") == model_bytes(small)


def test_csr_is_smaller_than_dense_only_when_sparse_enough():
    net = lenet_300_100()
    w = dict(net.named_parameters())
    for s, smaller in [(0.3, False), (0.7, True), (0.95, True)]:
        masks = {k: magnitude_mask(w[k], s) for k in ("fc1.weight", "fc2.weight", "fc3.weight")}
        assert (model_bytes(net, masks, "csr") < model_bytes(net)) is smaller


def test_disk_bytes_is_the_saved_length():
    net = _net()
    buf = io.BytesIO()
    torch.save({k: v.detach() for k, v in net.named_parameters()}, buf)
    assert disk_bytes(net) == len(buf.getvalue())
    big = lenet_300_100()
    masks = {"fc1.weight": row_norm_mask(big.fc1.weight, 0.5)}
    assert disk_bytes(big, masks) > disk_bytes(big, masks, "shrunk")
    assert 0 < disk_bytes(big) - model_bytes(big) < 4000  # headers only


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: param_count("net"), "model"),
        (lambda: model_bytes(_net(), fmt="coo"), "fmt"),
        (lambda: model_bytes(_net(), {"fc9.weight": torch.ones(1, dtype=torch.bool)}), "masks"),
        (lambda: model_bytes(_net(), {"fc1.weight": torch.ones(4, 3)}), "masks['fc1.weight']"),
        (lambda: model_bytes(_net(), [1, 2]), "masks"),
        (lambda: csr_bytes(-1, 3), "rows"),
        (lambda: csr_bytes(3, 2.5), "nnz"),
        (lambda: csr_bytes(3, 2, index_bytes=0), "index_bytes"),
        (lambda: to_csr(torch.ones(3)), "weight"),
        (lambda: csr_tensor_bytes(torch.ones(2, 2)), "tensor"),
        (lambda: disk_bytes(_net(), fmt=None), "fmt"),
    ],
)
def test_bad_input_names_the_argument(call, word):
    with pytest.raises((TypeError, ValueError), match=word.replace("[", r"\[").replace("]", r"\]")):
        call()
