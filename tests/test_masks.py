"""Unit tests of course_lib.masks: sparsity measures, prunable weights, applying masks."""

import pytest
import torch
from torch import nn

from course_lib import apply_masks, density, masked, masks_sparsity, model_sparsity, prunable_weights, sparsity
from course_lib._checks import check_sparsity
from course_lib.pruning.masks import n_to_prune, smallest_k_mask
from course_lib.training.models import mlp


# --------------------------------------------------------------------------- sparsity / density
@pytest.mark.parametrize(
    "values, expected",
    [
        ([1.0, 2.0, 3.0, 4.0], 0.0),
        ([0.0, 2.0, 3.0, 4.0], 0.25),
        ([0.0, -0.0, 3.0, 0.0], 0.75),
        ([0.0, 0.0], 1.0),
        ([1e-30, -1e-30, 0.0], 1 / 3),  # tiny is not zero
    ],
)
def test_sparsity_and_density_of_float_tensor(values, expected):
    t = torch.tensor(values)
    assert sparsity(t) == pytest.approx(expected)
    assert density(t) == pytest.approx(1 - expected)


def test_sparsity_of_mask_counts_false_and_of_int_tensor_counts_zeros():
    assert sparsity(torch.tensor([[True, False], [False, False]])) == 0.75
    assert density(torch.tensor([[True, False], [False, False]])) == 0.25
    assert sparsity(torch.tensor([0, 5, 0, 7, 9])) == 0.4


def test_sparsity_of_multi_dim_tensor():
    t = torch.ones(3, 4, 5)
    t[1] = 0
    assert sparsity(t) == pytest.approx(20 / 60)
    assert isinstance(sparsity(t), float)


# --------------------------------------------------------------------------- masks_sparsity
def test_masks_sparsity_weights_each_mask_by_its_size():
    masks = {"big": torch.zeros(3, 10, dtype=torch.bool), "small": torch.ones(10, dtype=torch.bool)}
    # 30 pruned of 40 (not the mean 0.5 of the two per-mask sparsities)
    assert masks_sparsity(masks) == 0.75


def test_masks_sparsity_all_kept_and_all_pruned():
    assert masks_sparsity({"a": torch.ones(2, 2, dtype=torch.bool)}) == 0.0
    assert masks_sparsity({"a": torch.zeros(2, 2, dtype=torch.bool)}) == 1.0


# --------------------------------------------------------------------------- prunable_weights / model_sparsity
def test_prunable_weights_are_the_weight_matrices_of_an_mlp():
    net = mlp([8, 5, 4, 3], seed=0)
    w = prunable_weights(net)
    assert list(w) == ["fc1.weight", "fc2.weight", "fc3.weight"]
    assert w["fc2.weight"] is net.fc2.weight  # the parameters themselves, not copies
    assert [tuple(p.shape) for p in w.values()] == [(5, 8), (4, 5), (3, 4)]


def test_prunable_weights_include_conv_kernels_and_skip_norm_params():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2))
    assert list(prunable_weights(net)) == ["0.weight", "3.weight"]


def test_model_sparsity_counts_only_prunable_weights_by_default():
    net = mlp([4, 3, 2], seed=0)  # fc1: 12 weights, fc2: 6 weights
    with torch.no_grad():
        net.fc1.weight[0] = 0  # 4 zeros
        net.fc1.bias.zero_()  # biases are not counted
    assert model_sparsity(net) == pytest.approx(4 / 18)
    assert model_sparsity(net, names=["fc1.weight"]) == pytest.approx(4 / 12)
    assert model_sparsity(net, names=["fc1.bias"]) == 1.0
    assert model_sparsity(net, names=("fc1.weight", "fc1.bias")) == pytest.approx(7 / 15)


def test_model_sparsity_after_apply_masks_equals_masks_sparsity():
    net = mlp([6, 5, 4], seed=1)
    g = torch.Generator().manual_seed(3)
    masks = {n: torch.rand(p.shape, generator=g) > 0.4 for n, p in prunable_weights(net).items()}
    apply_masks(net, masks)
    assert model_sparsity(net) == pytest.approx(masks_sparsity(masks))


# --------------------------------------------------------------------------- apply_masks / masked
def test_apply_masks_zeroes_exactly_the_false_entries_in_place():
    net = mlp([4, 3, 2], seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    weight_obj = net.fc1.weight
    mask = torch.tensor([[True, False, True, False], [False, False, False, False], [True, True, True, True]])
    result = apply_masks(net, {"fc1.weight": mask})
    assert result is None
    assert net.fc1.weight is weight_obj  # same Parameter, changed in place
    assert torch.equal(net.fc1.weight, torch.where(mask, before["fc1.weight"], torch.zeros(())))
    for k in ("fc1.bias", "fc2.weight", "fc2.bias"):  # not in masks: untouched
        assert torch.equal(net.state_dict()[k], before[k])


def test_apply_masks_is_idempotent_and_empty_dict_changes_nothing():
    net = mlp([5, 4, 3], seed=2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    apply_masks(net, {})
    assert all(torch.equal(net.state_dict()[k], v) for k, v in before.items())
    mask = torch.rand(4, 5, generator=torch.Generator().manual_seed(0)) > 0.5
    apply_masks(net, {"fc1.weight": mask})
    once = net.fc1.weight.clone()
    apply_masks(net, {"fc1.weight": mask})
    assert torch.equal(net.fc1.weight, once)
    assert int((once == 0).sum()) == int((~mask).sum())


def test_apply_masks_keeps_the_autograd_graph_usable():
    net = mlp([3, 2], seed=0)
    apply_masks(net, {"fc1.weight": torch.tensor([[True, False, True], [False, True, True]])})
    assert net.fc1.weight.requires_grad
    net(torch.ones(1, 3)).sum().backward()
    assert net.fc1.weight.grad is not None


def test_masked_returns_a_new_tensor_and_leaves_weight_alone():
    w = torch.tensor([[1.0, -2.0], [3.0, -4.0]])
    mask = torch.tensor([[False, True], [True, False]])
    out = masked(w, mask)
    assert torch.equal(out, torch.tensor([[0.0, -2.0], [3.0, 0.0]]))
    assert torch.equal(w, torch.tensor([[1.0, -2.0], [3.0, -4.0]]))
    assert out.data_ptr() != w.data_ptr()
    assert torch.equal(masked(w, torch.ones(2, 2, dtype=torch.bool)), w)
    assert torch.equal(masked(w, torch.zeros(2, 2, dtype=torch.bool)), torch.zeros(2, 2))


# --------------------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    "s, numel, expected",
    [
        (0.0, 10, 0),
        (1.0, 10, 10),
        (0.3, 10, 3),
        # x.5 cases (exact binary fractions): round half to even, like torch.nn.utils.prune
        (0.5, 5, 2),
        (0.5, 7, 4),
        (0.25, 6, 2),
        (0.25, 10, 2),
        (0.75, 6, 4),
        (0.75, 14, 10),
        (0.125, 4, 0),
    ],
)
def test_n_to_prune_rounds_half_to_even(s, numel, expected):
    assert n_to_prune(s, numel) == expected


def test_smallest_k_mask_breaks_ties_by_position():
    scores = torch.tensor([2.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    assert smallest_k_mask(scores, 0).all()
    assert torch.equal(smallest_k_mask(scores, 2), torch.tensor([True, False, True, True, False, True]))
    assert torch.equal(smallest_k_mask(scores, 4), torch.tensor([True, False, False, False, False, True]))
    assert not smallest_k_mask(scores, 6).any()


def test_check_sparsity_accepts_numbers_and_one_element_tensors():
    assert check_sparsity(0) == 0.0 and isinstance(check_sparsity(0), float)
    assert check_sparsity(1) == 1.0
    assert check_sparsity(torch.tensor(0.25)) == 0.25
