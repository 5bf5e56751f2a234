"""Oracle tests: our masks equal torch.nn.utils.prune's where the two overlap.

Weights are continuous random numbers (no ties in |w| or in row norms), so the
two implementations must choose exactly the same entries. Sparsities include 0, 1
and sparsities whose ``sparsity * numel`` ends in .5 (both round half to even).
"""

import copy
import random

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from course_lib import apply_masks, global_magnitude_masks, magnitude_mask, magnitude_masks, masked, row_norm_mask
from course_lib.training.models import mlp

SPARSITIES = [0.0, 1.0, 0.1, 0.2, 0.3, 0.5, 0.6, 0.75, 0.9, 0.95, 0.99, 1 / 3, 2 / 3]


class Holder(nn.Module):
    """A module holding one tensor as its ``weight`` parameter (any shape)."""

    def __init__(self, weight):
        super().__init__()
        self.weight = nn.Parameter(weight.clone())


def _shape(rng):
    dims = rng.choice([1, 2, 2, 2, 3, 4])
    return tuple(rng.randint(1, 9) for _ in range(dims))


def _half_sparsity(rng, numel):
    """A sparsity whose sparsity * numel is exactly k + 0.5 (or None when numel cannot have one)."""
    options = [(0.5, 2, 1), (0.25, 4, 2), (0.75, 4, 2), (0.125, 8, 4), (0.375, 8, 4)]
    fitting = [r for r, mod, rem in options if numel % mod == rem]
    return rng.choice(fitting) if fitting else None


def _cases(seed, n):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        shape = _shape(rng)
        numel = 1
        for d in shape:
            numel *= d
        sparsity = _half_sparsity(rng, numel) if i % 3 == 0 else None
        cases.append((shape, sparsity if sparsity is not None else rng.choice(SPARSITIES), 1000 * seed + i))
    return cases


def _randn(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_case_lists_cover_sparsities_0_1_and_half_rounding():
    cases = _cases(1, 45)
    sparsities = {r for _, r, _ in cases}
    assert {0.0, 1.0} <= sparsities
    halves = [(s, r) for s, r, _ in cases if (r * torch.Size(s).numel()) % 1 == 0.5]
    assert len(halves) >= 10
    # both directions of half-to-even occur: some round down, some up
    assert {round(r * torch.Size(s).numel()) > r * torch.Size(s).numel() for s, r in halves} == {True, False}


@pytest.mark.parametrize("shape, sparsity, seed", _cases(1, 45))
def test_magnitude_mask_equals_l1_unstructured(shape, sparsity, seed):
    w = _randn(shape, seed)
    holder = Holder(w)
    prune.l1_unstructured(holder, "weight", amount=float(sparsity))
    theirs = holder.weight_mask.bool()
    ours = magnitude_mask(w, sparsity)
    assert torch.equal(ours, theirs)
    assert int((~ours).sum()) == round(sparsity * w.numel())


def _global_cases(seed, n):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        shapes = [_shape(rng) for _ in range(rng.randint(1, 4))]
        total = sum(torch.Size(s).numel() for s in shapes)
        sparsity = _half_sparsity(rng, total) if i % 3 == 0 else None
        cases.append((shapes, sparsity if sparsity is not None else rng.choice(SPARSITIES), 1000 * seed + i))
    return cases


@pytest.mark.parametrize("shapes, sparsity, seed", _global_cases(2, 30))
def test_global_magnitude_masks_equal_global_unstructured(shapes, sparsity, seed):
    # layers on different scales, so a global threshold prunes them unevenly
    weights = {f"w{i}": _randn(s, seed + i) * (i + 1) for i, s in enumerate(shapes)}
    holders = {k: Holder(w) for k, w in weights.items()}
    prune.global_unstructured(
        [(h, "weight") for h in holders.values()], pruning_method=prune.L1Unstructured, amount=float(sparsity)
    )
    ours = global_magnitude_masks(weights, sparsity)
    assert list(ours) == list(weights)
    for k in weights:
        assert torch.equal(ours[k], holders[k].weight_mask.bool()), k


def _row_cases(seed, n):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        shape = (rng.randint(1, 12),) + tuple(rng.randint(1, 6) for _ in range(rng.choice([1, 1, 3])))
        sparsity = _half_sparsity(rng, shape[0]) if i % 3 == 0 else None
        cases.append(
            (shape, sparsity if sparsity is not None else rng.choice(SPARSITIES), rng.choice([1, 2]), 1000 * seed + i)
        )
    return cases


@pytest.mark.parametrize("shape, sparsity, p, seed", _row_cases(3, 40))
def test_row_norm_mask_equals_ln_structured_dim0(shape, sparsity, p, seed):
    w = _randn(shape, seed)
    holder = Holder(w)
    prune.ln_structured(holder, "weight", amount=float(sparsity), n=p, dim=0)
    ours = row_norm_mask(w, sparsity, p=p)
    assert torch.equal(ours, holder.weight_mask.bool())


@pytest.mark.parametrize("p", [1, 2])
def test_row_norm_mask_l1_and_l2_differ_like_torch(p):
    # rows chosen so that L1 and L2 disagree: torch with the other norm must NOT match
    w = torch.tensor([[3.0, 0.0, 0.0, 0.0], [1.2, -1.2, 1.2, -1.2], [5.0, 3.0, 1.0, 1.0]])
    holder = Holder(w)
    prune.ln_structured(holder, "weight", amount=1 / 3, n=3 - p, dim=0)
    assert not torch.equal(row_norm_mask(w, 1 / 3, p=p), holder.weight_mask.bool())


@pytest.mark.parametrize("shape, sparsity, seed", _cases(4, 15))
def test_custom_from_mask_accepts_our_mask_and_gives_apply_masks_weights(shape, sparsity, seed):
    w = _randn(shape, seed)
    mask = magnitude_mask(w, sparsity)
    holder, ours = Holder(w), Holder(w)
    prune.custom_from_mask(holder, "weight", mask=mask)
    apply_masks(ours, {"weight": mask})
    assert torch.equal(holder.weight_mask.bool(), mask)
    assert torch.equal(holder.weight, ours.weight)
    assert torch.equal(holder.weight, masked(w, mask))


def test_custom_from_mask_on_a_whole_model_with_global_masks():
    net = mlp([12, 10, 8, 3], seed=5)
    masks = global_magnitude_masks({k: v for k, v in net.named_parameters() if v.dim() >= 2}, 0.7)
    theirs, ours = copy.deepcopy(net), copy.deepcopy(net)
    for name, mask in masks.items():
        prune.custom_from_mask(theirs.get_submodule(name.rsplit(".", 1)[0]), "weight", mask=mask)
    apply_masks(ours, masks)
    for name in masks:
        layer = name.rsplit(".", 1)[0]
        assert torch.equal(getattr(theirs, layer).weight, getattr(ours, layer).weight)
    x = _randn((4, 12), 0)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), ours(x))
    # prune.remove makes torch's pruning permanent: the same parameters as apply_masks
    for name in masks:
        prune.remove(theirs.get_submodule(name.rsplit(".", 1)[0]), "weight")
    theirs_state, ours_state = theirs.state_dict(), ours.state_dict()
    assert set(theirs_state) == set(ours_state)
    assert all(torch.equal(theirs_state[k], ours_state[k]) for k in ours_state)


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_model_magnitude_masks_equal_torch_on_a_model(scope):
    net = mlp([12, 10, 6, 4], seed=5)
    ours = magnitude_masks(net, 0.6, scope=scope)
    theirs = copy.deepcopy(net)
    layers = [(m, "weight") for m in theirs if isinstance(m, nn.Linear)]
    if scope == "global":
        prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=0.6)
    else:
        for m, name in layers:
            prune.l1_unstructured(m, name, amount=0.6)
    for (name, mask), (m, _) in zip(ours.items(), layers, strict=True):
        assert torch.equal(mask, m.weight_mask.bool()), name
