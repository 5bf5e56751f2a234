"""course_lib.sparse: a CSR MLP computes what the masked model computes; 2:4 is guarded."""

import pytest
import torch
from torch import nn

from course_lib import magnitude_mask, prunable_weights
from course_lib.measure.sparse import csr_mlp, semi_structured_mlp, semi_structured_support
from course_lib.measure.timing import example_input, latency
from course_lib.training.models import mlp


def test_csr_mlp_computes_the_masked_model():
    net = mlp([20, 16, 8, 3], seed=0)
    masks = {k: magnitude_mask(w, 0.7) for k, w in prunable_weights(net).items()}
    x = example_input(net, 5)
    ref = mlp([20, 16, 8, 3], seed=0)
    with torch.no_grad():
        for k, p in ref.named_parameters():
            if k in masks:
                p.masked_fill_(~masks[k], 0)
        fast = csr_mlp(net, masks)
        assert torch.allclose(fast(x), ref(x), atol=1e-5)
        assert all(
            w.layout == torch.sparse_csr and w.col_indices().dtype == torch.int32
            for kind, w, _ in fast.layers
            if kind == "linear"
        )
        assert latency(fast, x, repeats=2).median_s > 0  # runs under no_grad, not inference_mode


def test_semi_structured_guard():
    ok, why = semi_structured_support()
    assert isinstance(why, str) and why
    if not ok:
        with pytest.raises(RuntimeError):
            semi_structured_mlp(mlp([64, 64, 10]), {})


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: csr_mlp(nn.Linear(2, 2)), "model"),
        (lambda: csr_mlp(nn.Sequential(nn.Linear(2, 2), nn.Tanh())), "Tanh"),
        (lambda: csr_mlp(mlp([4, 3, 2]), {"fc1.weight": torch.ones(3, 4)}), "masks"),
    ],
)
def test_bad_input(call, word):
    with pytest.raises((TypeError, ValueError), match=word):
        call()
