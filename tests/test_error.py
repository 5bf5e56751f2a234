"""course_lib.error: output error of a pruned layer."""

import functools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_lib import magnitude_mask, nm_mask, row_norm_mask
from course_lib.pruning.error import (
    error_curve,
    layer_output,
    output_error,
    relative_difference,
    removal_errors,
    scaled_removal_errors,
    weight_error,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_slide_example_removing_small_weight_hurts_least():
    x = torch.randn(2000, 3, generator=_gen())
    errors = removal_errors(torch.tensor([10.0, -8.0, 0.1]), x, activation=torch.relu)
    assert errors.shape == (3,)
    assert int(errors.argmin()) == 2
    assert errors[2] < 0.05 < errors[1] < errors[0]


def test_output_error_extremes_and_bias():
    w = torch.randn(5, 7, generator=_gen())
    x = torch.randn(50, 7, generator=_gen(1))
    keep_all = torch.ones_like(w, dtype=torch.bool)
    assert output_error(w, keep_all, x) == 0.0
    assert output_error(w, ~keep_all, x) == pytest.approx(1.0)
    b = torch.randn(5, generator=_gen(2))
    # with a bias the fully pruned layer still outputs b, so the error is below 1 here
    y = x @ w.T + b
    expected = float((b.expand_as(y) - y).norm() / y.norm())
    assert output_error(w, ~keep_all, x, bias=b) == pytest.approx(expected)


def test_layer_output_matches_linear_and_single_neuron():
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(10, 4, generator=_gen())
    assert torch.allclose(layer_output(layer.weight, x, layer.bias, torch.relu), torch.relu(layer(x)))
    out = layer_output(torch.tensor([1.0, 2.0, 0.0, 0.0]), x)
    assert out.shape == (10, 1)
    assert torch.allclose(out[:, 0], x[:, 0] + 2 * x[:, 1])


def test_pure_nothing_modified():
    w = torch.randn(3, 4, generator=_gen())
    x = torch.randn(6, 4, generator=_gen(1))
    mask = magnitude_mask(w, 0.5)
    w0, x0, m0 = w.clone(), x.clone(), mask.clone()
    output_error(w, mask, x, activation=torch.relu)
    removal_errors(w, x)
    error_curve(w, x, magnitude_mask, [0.25, 0.75])
    assert torch.equal(w, w0) and torch.equal(x, x0) and torch.equal(mask, m0)


def test_weight_error_values():
    w = torch.tensor([[3.0, 4.0]])
    assert weight_error(w, torch.tensor([[True, True]])) == 0.0
    assert weight_error(w, torch.tensor([[False, True]])) == pytest.approx(0.6)


def test_error_curve_identity_inputs_is_monotone_for_magnitude():
    w = torch.randn(6, 8, generator=_gen())
    sparsities = [i / 8 for i in range(9)]
    curve = error_curve(w, torch.eye(8), magnitude_mask, sparsities)
    assert curve[0] == 0.0 and curve[-1] == pytest.approx(1.0)
    assert all(a <= b + 1e-12 for a, b in zip(curve, curve[1:], strict=False))
    # with identity inputs the output error is the weight error
    assert curve[4] == pytest.approx(weight_error(w, magnitude_mask(w, 0.5)))


def test_error_curve_accepts_partial_mask_functions():
    w = torch.randn(8, 8, generator=_gen())
    x = torch.randn(20, 8, generator=_gen(1))
    rows = error_curve(w, x, functools.partial(row_norm_mask, p=1), [0.5])
    assert rows == [output_error(w, row_norm_mask(w, 0.5, p=1), x)]


@given(seed=st.integers(0, 10_000), rows=st.integers(1, 6), groups=st.integers(1, 4))
def test_magnitude_beats_any_mask_of_same_count_in_weight_error(seed, rows, groups):
    w = torch.randn(rows, 4 * groups, generator=_gen(seed))
    nm = nm_mask(w, 2, 4)
    random_keep = torch.randperm(w.numel(), generator=_gen(seed + 1))[: w.numel() // 2]
    rnd = torch.zeros(w.numel(), dtype=torch.bool)
    rnd[random_keep] = True
    best = weight_error(w, magnitude_mask(w, 0.5))
    assert best <= weight_error(w, nm) + 1e-9
    assert best <= weight_error(w, rnd.reshape(w.shape)) + 1e-9


def test_scaled_removal_errors_rows_are_removal_errors_on_scaled_inputs():
    w = torch.tensor([10.0, -8.0, 0.1])
    x = torch.randn(2000, 3, generator=_gen())
    got = scaled_removal_errors(w, x, 2, [1.0, 90.0, 1000.0], activation=torch.relu)
    assert got.shape == (3, 3) and got.dtype == torch.float64
    for row, scale in zip(got, [1.0, 90.0, 1000.0], strict=True):
        expected = removal_errors(w, x * torch.tensor([1.0, 1.0, scale]), activation=torch.relu)
        assert torch.allclose(row, expected)
    # the slide's ranking flips: 0.1 cheapest at 1, neither cheapest nor dearest at 90, dearest at 1000
    assert got.argmin(dim=1).tolist() == [2, 1, 1] and got.argmax(dim=1).tolist() == [0, 0, 2]
    x0 = x.clone()
    scaled_removal_errors(w, x, 0, [3.0])
    assert torch.equal(x, x0)  # the inputs are not scaled in place


def test_relative_difference_is_scale_free_and_wide():
    a = torch.tensor([3.0, 4.0])
    assert relative_difference(a, a) == 0.0
    assert relative_difference(torch.zeros(2), a) == 1.0
    assert relative_difference(1000 * torch.tensor([3.0, 0.0]), 1000 * a) == pytest.approx(0.8)
    big = torch.full((4,), 60000.0, dtype=torch.float16)  # its squared norm overflows float16
    assert relative_difference(big, big * 0.5) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda w, m, x: output_error(w, m, x.numpy()), TypeError, "inputs"),
        (lambda w, m, x: output_error(w, m, x[:, :3]), ValueError, "inputs"),
        (lambda w, m, x: output_error(w, m, x.long()), TypeError, "inputs"),
        (lambda w, m, x: output_error(w, m[:, :3], x), ValueError, "mask"),
        (lambda w, m, x: output_error(w, m.float(), x), TypeError, "mask"),
        (lambda w, m, x: output_error(w, m, torch.zeros_like(x)), ValueError, "inputs"),
        (lambda w, m, x: output_error(w, m, x, bias=torch.zeros(2)), ValueError, "bias"),
        (lambda w, m, x: output_error(w, m, x, activation="relu"), TypeError, "activation"),
        (lambda w, m, x: weight_error(torch.zeros_like(w), m), ValueError, "weight"),
        (lambda w, m, x: error_curve(w, x, "magnitude", [0.5]), TypeError, "mask_fn"),
        (lambda w, m, x: error_curve(w, x, magnitude_mask, [1.5]), ValueError, "sparsities"),
        (lambda w, m, x: error_curve(w, x, magnitude_mask, []), ValueError, "sparsities"),
        (lambda w, m, x: removal_errors([1.0, 2.0], x), TypeError, "weight"),
        (lambda w, m, x: scaled_removal_errors(w, x, 4, [2.0]), ValueError, "index"),
        (lambda w, m, x: scaled_removal_errors(w, x, -1, [2.0]), ValueError, "index"),
        (lambda w, m, x: scaled_removal_errors(w, x, 0, [0.0]), ValueError, "scales"),
        (lambda w, m, x: scaled_removal_errors(w, x, 0, ["2"]), TypeError, "scales"),
        (lambda w, m, x: scaled_removal_errors(w, x, 0, []), ValueError, "scales"),
        (lambda w, m, x: relative_difference(w, w.long()), TypeError, "reference"),
        (lambda w, m, x: relative_difference(w, w[:2]), ValueError, "shape"),
        (lambda w, m, x: relative_difference(w, torch.zeros_like(w)), ValueError, "reference"),
    ],
)
def test_bad_input_names_the_argument(call, exc, words):
    w = torch.randn(3, 4, generator=_gen())
    x = torch.randn(5, 4, generator=_gen(1))
    with pytest.raises(exc, match=words):
        call(w, magnitude_mask(w, 0.5), x)
