"""Unit tests of course_lib.structured: row-norm masks and physical removal of neurons."""

import pytest
import torch
from torch import nn

from course_lib import apply_masks, remove_neurons, row_keep, row_norm_mask, shrink_mlp
from course_lib.training.models import mlp


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --------------------------------------------------------------------------- row_norm_mask
def test_row_norm_mask_l1_and_l2_rank_rows_differently():
    # row 0: L1 = 3, L2 = 3;  row 1: L1 = 4, L2 = 2;  row 2: L1 = 10, L2 ~ 5.8
    w = torch.tensor([[3.0, 0.0, 0.0, 0.0], [1.0, -1.0, 1.0, -1.0], [5.0, 3.0, 1.0, 1.0]])
    l1 = row_norm_mask(w, 1 / 3, p=1)
    l2 = row_norm_mask(w, 1 / 3, p=2)
    assert torch.equal(row_keep(l1), torch.tensor([False, True, True]))
    assert torch.equal(row_keep(l2), torch.tensor([True, False, True]))
    assert torch.equal(row_norm_mask(w, 1 / 3), l2)  # p=2 is the default


def test_row_norm_mask_prunes_whole_rows_and_rounds_the_row_count():
    w = _rand(7, 5)
    for s, rows in [(0.0, 0), (0.5, 4), (0.3, 2), (1.0, 7)]:  # 3.5 -> 4, 2.1 -> 2
        mask = row_norm_mask(w, s)
        assert mask.shape == w.shape and mask.dtype == torch.bool
        per_row = mask.sum(dim=1)
        assert set(per_row.tolist()) <= {0, 5}  # a row is all kept or all pruned
        assert int((per_row == 0).sum()) == rows


def test_row_norm_mask_on_conv_weight_prunes_output_channels():
    w = _rand(6, 2, 3, 3, seed=1)
    mask = row_norm_mask(w, 0.5, p=1)
    kept = row_keep(mask)
    assert int(kept.sum()) == 3
    norms = w.abs().sum(dim=(1, 2, 3))
    assert norms[~kept].max() < norms[kept].min()
    assert torch.equal(mask, kept.view(6, 1, 1, 1).expand_as(w))


def test_row_norm_mask_ties_broken_by_row_index():
    w = torch.ones(6, 3)
    assert torch.equal(row_keep(row_norm_mask(w, 0.5)), torch.tensor([False, False, False, True, True, True]))
    assert torch.equal(row_norm_mask(w.clone(), 0.5), row_norm_mask(w, 0.5))


def test_row_norm_mask_with_prior_uses_surviving_weights_and_never_revives():
    w = torch.tensor([[10.0, 10.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    prior = torch.tensor([[False, True], [True, True], [True, True], [False, False]])
    # surviving norms: row0 = 10 (one entry left), row1 ~1.4, row2 ~2.8, row3 dead
    mask = row_norm_mask(w, 0.5, prior=prior)
    assert torch.equal(row_keep(mask), torch.tensor([True, False, True, False]))
    assert torch.equal(mask[0], torch.tensor([False, True]))  # prior's pruned entry stays pruned
    assert not (mask & ~prior).any()
    with pytest.raises(ValueError, match="sparsity"):
        row_norm_mask(w, 0.0, prior=prior)


def test_row_norm_mask_prior_shrinks_the_norm_of_a_partly_pruned_row():
    w = torch.tensor([[5.0, 0.5], [2.0, 2.0]])
    assert torch.equal(row_keep(row_norm_mask(w, 0.5)), torch.tensor([True, False]))
    prior = torch.tensor([[False, True], [True, True]])  # row 0 keeps only 0.5
    assert torch.equal(row_keep(row_norm_mask(w, 0.5, prior=prior)), torch.tensor([False, True]))


# --------------------------------------------------------------------------- row_keep
def test_row_keep_any_entry_keeps_the_row():
    mask = torch.tensor([[False, False, True], [False, False, False], [True, True, True]])
    assert torch.equal(row_keep(mask), torch.tensor([True, False, True]))
    assert torch.equal(row_keep(torch.tensor([True, False])), torch.tensor([True, False]))
    conv = torch.zeros(3, 2, 2, 2, dtype=torch.bool)
    conv[1, 1, 0, 1] = True
    assert torch.equal(row_keep(conv), torch.tensor([False, True, False]))


# --------------------------------------------------------------------------- remove_neurons
def _pair(n_in=5, hidden=6, n_out=3, seed=0, bias=True, dtype=torch.float32):
    torch.manual_seed(seed)
    a = nn.Linear(n_in, hidden, bias=bias, dtype=dtype)
    b = nn.Linear(hidden, n_out, bias=bias, dtype=dtype)
    with torch.no_grad():  # biases of both signs, so some removed neurons send relu(b) > 0 on
        for layer in (a, b):
            layer.weight.copy_(_rand(*layer.weight.shape, seed=seed + 1, dtype=dtype))
            if bias:
                layer.bias.copy_(_rand(*layer.bias.shape, seed=seed + 2, dtype=dtype))
    return a, b


def _masked_pair_out(a, b, keep, x):
    w = a.weight * keep[:, None]
    return b(torch.relu(nn.functional.linear(x, w, a.bias)))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("keep", [[1, 0, 1, 1, 0, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]])
def test_remove_neurons_computes_what_the_masked_pair_computes(keep, bias):
    a, b = _pair(bias=bias)
    keep = torch.tensor(keep, dtype=torch.bool)
    a2, b2 = remove_neurons(a, b, keep)
    assert a2.out_features == int(keep.sum()) == b2.in_features
    assert (a2.in_features, b2.out_features) == (5, 3)
    x = _rand(16, 5, seed=9)
    expected = _masked_pair_out(a, b, keep, x)
    got = b2(torch.relu(a2(x)))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    if not keep.all() and bias:  # the fold matters: dropping the constant would be wrong
        naive = b2.bias.detach() - b.bias.detach()
        assert naive.abs().max() > 1e-3


def test_remove_neurons_keeps_the_kept_weights_exactly_in_float64():
    a, b = _pair(dtype=torch.float64)
    keep = torch.tensor([True, False, True, True, False, False])
    a2, b2 = remove_neurons(a, b, keep)
    assert a2.weight.dtype == b2.weight.dtype == torch.float64
    assert torch.equal(a2.weight, a.weight[keep])
    assert torch.equal(a2.bias, a.bias[keep])
    assert torch.equal(b2.weight, b.weight[:, keep])
    x = _rand(8, 5, seed=3, dtype=torch.float64)
    torch.testing.assert_close(b2(torch.relu(a2(x))), _masked_pair_out(a, b, keep, x), rtol=1e-12, atol=1e-12)


def test_remove_neurons_accepts_a_weight_shaped_mask_and_leaves_inputs_alone():
    a, b = _pair()
    before = [t.clone() for t in (a.weight, a.bias, b.weight, b.bias)]
    mask = torch.ones(6, 5, dtype=torch.bool)
    mask[2] = False
    mask[4, :4] = False  # row 4 still keeps one entry: the neuron stays
    a2, b2 = remove_neurons(a, b, mask)
    assert a2.out_features == 5
    assert torch.equal(a2.weight, a.weight[[0, 1, 3, 4, 5]])
    for t, t0 in zip((a.weight, a.bias, b.weight, b.bias), before, strict=False):
        assert torch.equal(t, t0)


def test_remove_neurons_does_not_touch_the_global_rng():
    a, b = _pair()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    remove_neurons(a, b, torch.tensor([True, False, True, False, True, False]))
    assert torch.equal(torch.rand(3), expected)


def test_remove_neurons_with_other_activation_folds_that_activation():
    a, b = _pair()
    keep = torch.tensor([True, False, False, True, True, False])
    a2, b2 = remove_neurons(a, b, keep, activation=torch.tanh)
    x = _rand(4, 5, seed=2)
    expected = b(torch.tanh(nn.functional.linear(x, a.weight * keep[:, None], a.bias)))
    torch.testing.assert_close(b2(torch.tanh(a2(x))), expected, rtol=1e-5, atol=1e-6)


def test_remove_neurons_second_without_bias_gets_one_when_folding():
    a, _ = _pair()
    b = nn.Linear(6, 3, bias=False)
    keep = torch.tensor([True, False, True, False, True, False])
    a2, b2 = remove_neurons(a, b, keep)
    assert b2.bias is not None
    x = _rand(4, 5, seed=2)
    torch.testing.assert_close(b2(torch.relu(a2(x))), _masked_pair_out(a, b, keep, x), rtol=1e-5, atol=1e-6)
    _, b3 = remove_neurons(a, b, torch.ones(6, dtype=torch.bool))  # nothing to fold: no bias added
    assert b3.bias is None


# --------------------------------------------------------------------------- shrink_mlp
def _masked_model(net, masks):
    import copy

    m = copy.deepcopy(net)
    apply_masks(m, masks)
    return m


def _row_masks(net, keeps):
    """Masks that empty the rows not in keeps[name] and also prune random single entries."""
    g = torch.Generator().manual_seed(7)
    masks = {}
    for name, keep in keeps.items():
        p = dict(net.named_parameters())[name]
        m = (torch.rand(p.shape, generator=g) > 0.2) & keep[:, None]
        m[keep, 0] = True  # kept rows keep at least one entry
        masks[name] = m
    return masks


@pytest.mark.parametrize(
    "keep1, keep2",
    [
        ([1, 0, 1, 1, 0, 1, 0, 1], [1, 0, 0, 1, 1]),
        ([1] * 8, [1] * 5),  # nothing removed
        ([0] * 8, [1, 1, 0, 1, 1]),  # every neuron of fc1 removed
        ([1, 1, 0, 0, 1, 0, 1, 0], [0] * 5),  # every neuron of fc2 removed
    ],
)
def test_shrink_mlp_gives_a_smaller_model_with_the_masked_outputs(keep1, keep2):
    net = mlp([10, 8, 5, 4], seed=0)
    with torch.no_grad():  # make hidden biases clearly non-zero, of both signs
        for layer in (net.fc1, net.fc2, net.fc3):
            layer.bias.copy_(_rand(*layer.bias.shape, seed=layer.out_features))
    k1, k2 = torch.tensor(keep1, dtype=torch.bool), torch.tensor(keep2, dtype=torch.bool)
    masks = _row_masks(net, {"fc1.weight": k1, "fc2.weight": k2})
    masks["fc3.weight"] = torch.rand(4, 5, generator=torch.Generator().manual_seed(1)) > 0.5
    state = {k: v.clone() for k, v in net.state_dict().items()}

    small = shrink_mlp(net, masks)

    assert [name for name, _ in small.named_children()] == ["flatten", "fc1", "relu1", "fc2", "relu2", "fc3"]
    assert small.fc1.out_features == int(k1.sum()) == small.fc2.in_features
    assert small.fc2.out_features == int(k2.sum()) == small.fc3.in_features
    assert small.fc3.out_features == 4
    x = _rand(32, 10, seed=5)
    with torch.no_grad():
        torch.testing.assert_close(small(x), _masked_model(net, masks)(x), rtol=1e-5, atol=1e-5)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())  # model unchanged


def test_shrink_mlp_all_neurons_removed_outputs_a_constant():
    net = mlp([6, 4, 3], seed=1)
    masks = {"fc1.weight": torch.zeros(4, 6, dtype=torch.bool)}
    small = shrink_mlp(net, masks)
    assert small.fc1.out_features == 0 and small.fc2.in_features == 0
    x = _rand(5, 6, seed=2)
    out = small(x)
    assert out.shape == (5, 3)
    torch.testing.assert_close(out, out[:1].expand(5, 3))  # no dependence on the input
    torch.testing.assert_close(out, _masked_model(net, masks)(x))
    expected = net.fc2.bias + net.fc2.weight @ torch.relu(net.fc1.bias)
    torch.testing.assert_close(out[0], expected)


def test_shrink_mlp_without_masks_is_an_equal_copy():
    net = mlp([6, 4, 3], seed=1)
    small = shrink_mlp(net, {})
    assert small is not net and small.fc1 is not net.fc1
    for (k, v), (k2, v2) in zip(net.state_dict().items(), small.state_dict().items(), strict=False):
        assert k == k2 and torch.equal(v, v2)


def test_shrink_mlp_with_row_norm_mask_on_lenet_like_model():
    net = mlp([20, 12, 8, 3], seed=2)
    masks = {"fc1.weight": row_norm_mask(net.fc1.weight, 0.5), "fc2.weight": row_norm_mask(net.fc2.weight, 0.25)}
    small = shrink_mlp(net, masks)
    assert (small.fc1.out_features, small.fc2.out_features) == (6, 6)
    n_small = sum(p.numel() for p in small.parameters())
    assert n_small < sum(p.numel() for p in net.parameters())
    x = _rand(9, 20, seed=6)
    with torch.no_grad():
        torch.testing.assert_close(small(x), _masked_model(net, masks)(x), rtol=1e-5, atol=1e-5)


def test_shrink_mlp_works_on_plain_indexed_sequential():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    masks = {"0.weight": row_norm_mask(net[0].weight, 0.5, p=1)}
    small = shrink_mlp(net, masks)
    assert small[0].out_features == 3
    x = _rand(3, 4)
    with torch.no_grad():
        torch.testing.assert_close(small(x), _masked_model(net, masks)(x))
