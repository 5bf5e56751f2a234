"""Unit tests of course_lib.pruning.magnitude: per-tensor, global and per-model magnitude masks."""

import copy

import pytest
import torch
from torch import nn

from course_lib import global_magnitude_masks, magnitude_mask, magnitude_masks
from course_lib.training.models import mlp


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- magnitude_mask
def test_magnitude_mask_prunes_smallest_absolute_values_not_signed():
    w = torch.tensor([-10.0, 0.5, 3.0, -0.1, 2.0, -4.0])
    mask = magnitude_mask(w, 0.5)
    # |w| = 10, .5, 3, .1, 2, 4 -> the three smallest are .1, .5, 2
    assert torch.equal(mask, torch.tensor([True, False, True, False, False, True]))
    assert mask.dtype == torch.bool and mask.shape == w.shape


def test_magnitude_mask_keeps_the_weight_shape_for_matrices_and_conv_kernels():
    for shape in [(4, 6), (3, 2, 3, 3)]:
        w = _rand(*shape)
        mask = magnitude_mask(w, 0.4)
        assert mask.shape == w.shape
        assert int((~mask).sum()) == round(0.4 * w.numel())
        assert w.abs()[~mask].max() <= w.abs()[mask].min()


@pytest.mark.parametrize("s, numel, pruned", [(0.5, 5, 2), (0.5, 7, 4), (0.25, 10, 2), (0.25, 6, 2), (0.75, 14, 10)])
def test_magnitude_mask_count_rounds_half_to_even(s, numel, pruned):
    mask = magnitude_mask(_rand(numel, seed=numel), s)
    assert int((~mask).sum()) == pruned


def test_magnitude_mask_sparsities_zero_and_one():
    w = _rand(3, 5)
    assert magnitude_mask(w, 0.0).all()
    assert not magnitude_mask(w, 1.0).any()
    assert not magnitude_mask(w, 1).any()  # int 1 means the sparsity 1.0, not "prune one entry"


def test_magnitude_mask_is_pure():
    w = torch.nn.Parameter(_rand(4, 4))
    before = w.detach().clone()
    magnitude_mask(w, 0.5)
    assert torch.equal(w.detach(), before)
    assert w.grad is None


def test_magnitude_mask_ties_are_deterministic_earlier_entry_pruned_first():
    w = torch.ones(40)
    w[7] = 5.0
    mask = magnitude_mask(w, 0.25)  # 10 of the 39 equal ones go: the first ten, skipping 7
    expected = torch.ones(40, dtype=torch.bool)
    expected[[0, 1, 2, 3, 4, 5, 6, 8, 9, 10]] = False
    assert torch.equal(mask, expected)
    for _ in range(5):
        assert torch.equal(magnitude_mask(w.clone(), 0.25), mask)


def test_magnitude_mask_ties_with_signs_and_2d():
    w = torch.tensor([[1.0, -1.0, 2.0], [-1.0, 1.0, -2.0]])
    # |w| ties: four 1s, two 2s; flattened order decides
    assert torch.equal(magnitude_mask(w, 0.5), torch.tensor([[False, False, True], [False, True, True]]))


def test_magnitude_mask_respects_prior_and_counts_it_toward_the_target():
    w = torch.tensor([5.0, 0.1, 4.0, 0.2, 3.0, 2.0])
    prior = torch.tensor([False, True, True, True, True, True])  # prunes the LARGEST weight
    mask = magnitude_mask(w, 0.5, prior=prior)
    # 3 pruned in all: the prior's one, then the two smallest of the rest (.1, .2)
    assert torch.equal(mask, torch.tensor([False, False, True, False, True, True]))
    assert not (mask & ~prior).any()


def test_magnitude_mask_prior_at_same_sparsity_returns_the_prior():
    w = _rand(20, seed=4)
    prior = torch.ones(20, dtype=torch.bool)
    prior[[0, 5, 19]] = False  # not the smallest weights
    assert torch.equal(magnitude_mask(w, 3 / 20, prior=prior), prior)


def test_magnitude_mask_target_below_prior_is_value_error():
    w = _rand(10)
    prior = torch.ones(10, dtype=torch.bool)
    prior[:4] = False
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_mask(w, 0.3, prior=prior)


# --------------------------------------------------------------------------- global_magnitude_masks
def test_global_masks_use_one_threshold_across_tensors():
    weights = {"a": torch.tensor([[0.1, 0.2], [0.3, 0.4]]), "b": torch.tensor([5.0, 0.05, 6.0, 7.0])}
    masks = global_magnitude_masks(weights, 0.5)
    # 4 of 8 go: .05, .1, .2, .3 -> layer a loses 3, layer b loses 1 (not 2 each)
    assert torch.equal(masks["a"], torch.tensor([[False, False], [False, True]]))
    assert torch.equal(masks["b"], torch.tensor([True, False, True, True]))
    assert list(masks) == ["a", "b"]


def test_global_masks_differ_from_layerwise_and_count_is_global():
    weights = {"small": _rand(10, 10, seed=1) * 0.01, "large": _rand(5, 20, seed=2)}
    masks = global_magnitude_masks(weights, 0.3)
    pruned = {k: int((~m).sum()) for k, m in masks.items()}
    assert sum(pruned.values()) == 60
    assert pruned["small"] == 60 and pruned["large"] == 0
    layerwise = magnitude_mask(weights["small"], 0.3)
    assert not torch.equal(masks["small"], layerwise)


def test_global_masks_of_one_tensor_equal_magnitude_mask():
    w = _rand(7, 9, seed=5)
    for s in (0.0, 0.3, 0.5, 1.0):
        assert torch.equal(global_magnitude_masks({"w": w}, s)["w"], magnitude_mask(w, s))


def test_global_masks_own_their_storage():
    masks = global_magnitude_masks({"a": _rand(3, 3), "b": _rand(4)}, 0.5)
    assert masks["a"].untyped_storage().nbytes() == 9
    masks["a"][:] = True
    assert int((~masks["b"]).sum()) >= 1  # b unaffected by writing into a


def test_global_masks_ties_broken_by_dict_order_then_position():
    weights = {"x": torch.ones(3), "y": torch.ones(3)}
    m = global_magnitude_masks(weights, 0.5)
    assert torch.equal(m["x"], torch.tensor([False, False, False]))
    assert torch.equal(m["y"], torch.tensor([True, True, True]))
    m2 = global_magnitude_masks({"y": torch.ones(3), "x": torch.ones(3)}, 0.5)
    assert not m2["y"].any() and m2["x"].all()


def test_global_masks_with_prior_keep_pruned_entries_pruned():
    weights = {"a": torch.tensor([9.0, 8.0, 0.1]), "b": torch.tensor([0.2, 7.0, 6.0])}
    prior = {"a": torch.tensor([False, True, True]), "b": torch.tensor([True, True, True])}
    masks = global_magnitude_masks(weights, 0.5, prior=prior)
    # 3 in all: a[0] (prior), then .1 and .2
    assert torch.equal(masks["a"], torch.tensor([False, True, False]))
    assert torch.equal(masks["b"], torch.tensor([False, True, True]))
    with pytest.raises(ValueError, match="sparsity"):
        global_magnitude_masks(weights, 0.05, prior=prior)  # round(0.3) = 0 < 1 already pruned


def test_global_masks_is_pure():
    weights = {"a": _rand(3, 4), "b": _rand(5)}
    before = {k: v.clone() for k, v in weights.items()}
    global_magnitude_masks(weights, 0.5)
    assert all(torch.equal(weights[k], before[k]) for k in weights)


# --------------------------------------------------------------------------- magnitude_masks (a model)
def test_model_masks_layerwise_are_magnitude_mask_of_each_prunable_weight():
    net = mlp([8, 6, 4, 3], seed=0)
    before = copy.deepcopy(net.state_dict())
    masks = magnitude_masks(net, 0.5)
    assert list(masks) == ["fc1.weight", "fc2.weight", "fc3.weight"]  # weights only, no biases
    for name, p in net.named_parameters():
        if name in masks:
            assert torch.equal(masks[name], magnitude_mask(p.detach(), 0.5))
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # pure


def test_model_masks_global_is_global_magnitude_masks():
    net = mlp([8, 6, 4, 3], seed=1)
    weights = {n: p.detach() for n, p in net.named_parameters() if p.dim() >= 2}
    masks = magnitude_masks(net, 0.6, scope="global")
    expected = global_magnitude_masks(weights, 0.6)
    assert all(torch.equal(masks[n], expected[n]) for n in weights)
    per_layer = {n: float((~m).float().mean()) for n, m in masks.items()}
    assert len(set(per_layer.values())) > 1  # one threshold: the layers differ


def test_model_masks_per_layer_dict_and_prior():
    net = mlp([8, 6, 4, 3], seed=2)
    first = magnitude_masks(net, {"fc1.weight": 0.25, "fc3.weight": 0.5})
    assert list(first) == ["fc1.weight", "fc3.weight"]
    assert int((~first["fc1.weight"]).sum()) == 12 and int((~first["fc3.weight"]).sum()) == 6
    with torch.no_grad():
        net.fc1.weight.mul_(-3.0)  # new weights: the ranking of the survivors may change
    second = magnitude_masks(net, {"fc1.weight": 0.5}, prior=first)
    assert int((~second["fc1.weight"]).sum()) == 24
    assert not (second["fc1.weight"] & ~first["fc1.weight"]).any()  # what is pruned stays pruned


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda net: magnitude_masks(net, 0.5, scope="row"), ValueError, r"^scope must be one of"),
        (lambda net: magnitude_masks(net, {"fc1.weight": 0.5}, scope="global"), ValueError, "scope='layer'"),
        (lambda net: magnitude_masks(net, {}), ValueError, r"^sparsity must be a number or a non-empty dict"),
        (lambda net: magnitude_masks(net, {"fc9.weight": 0.5}), ValueError, r"^sparsity names unknown.*fc9"),
        (lambda net: magnitude_masks(net, 1.5), ValueError, r"^sparsity must be a number in \[0, 1\]"),
        (lambda net: magnitude_masks(net, "half"), TypeError, r"^sparsity must be a number"),
        (lambda net: magnitude_masks(net.state_dict(), 0.5), TypeError, r"^model must be a torch.nn.Module"),
    ],
)
def test_model_masks_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(mlp([8, 6, 4, 3], seed=0))


def test_model_masks_of_a_model_without_prunable_weight_is_empty():
    assert magnitude_masks(nn.Sequential(nn.ReLU()), 0.5) == {}


def test_model_masks_global_with_a_prior_on_some_layers():
    net = mlp([8, 6, 4, 3], seed=3)
    prior = {"fc2.weight": magnitude_mask(net.fc2.weight.detach(), 0.5)}
    masks = magnitude_masks(net, 0.7, scope="global", prior=prior)
    total = sum(m.numel() for m in masks.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(0.7 * total)
    assert not (masks["fc2.weight"] & ~prior["fc2.weight"]).any()
    with pytest.raises(ValueError, match=r"^prior names unknown.*fc2.bias"):
        magnitude_masks(net, 0.7, prior={"fc2.bias": torch.ones(4, dtype=torch.bool)})
    with pytest.raises(TypeError, match=r"^prior must be None or a dict"):
        magnitude_masks(net, 0.7, prior=[prior["fc2.weight"]])


def test_magnitude_masks_errors_name_the_layer():
    net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"sparsity\['2.weight'\]"):
        magnitude_masks(net, {"0.weight": 0.5, "2.weight": 2.0})
    with pytest.raises(ValueError, match=r"prior\['0.weight'\]"):
        magnitude_masks(net, 0.5, prior={"0.weight": torch.ones(3, 3, dtype=torch.bool)})
    with torch.no_grad():
        net[2].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"weight '2.weight'"):
        magnitude_masks(net, 0.5)
