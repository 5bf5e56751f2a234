"""Tests of course_lib.pruning.scores: any scores -> keep-masks (larger = keep), magnitude and
random scores. Oracle: with |w| as scores the masks are exactly the magnitude masks."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from course_lib.pruning.magnitude import global_magnitude_masks, magnitude_mask, magnitude_masks
from course_lib.pruning.scores import check_prunable, magnitude_scores, random_scores, score_masks
from course_lib.training.models import mlp


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _weights(seed=0):
    return {"a": _rand(6, 5, seed=seed), "b": _rand(3, 2, 2, 2, seed=seed + 1), "c": _rand(7, seed=seed + 2)}


def _equal(a, b):
    return list(a) == list(b) and all(torch.equal(a[n], b[n]) for n in a)


# --------------------------------------------------------------------------- oracle: magnitude
@pytest.mark.parametrize("s", [0.0, 0.1, 0.37, 0.5, 0.9, 1.0])
def test_abs_weights_as_scores_give_exactly_the_magnitude_masks(s):
    w = _weights()
    scores = {n: t.abs() for n, t in w.items()}
    assert _equal(score_masks(scores, s), global_magnitude_masks(w, s))
    assert _equal(score_masks(scores, s, scope="layer"), {n: magnitude_mask(t, s) for n, t in w.items()})


def test_abs_weights_with_a_prior_give_the_magnitude_masks_with_that_prior():
    w = _weights(seed=3)
    scores = {n: t.abs() for n, t in w.items()}
    for prior in (global_magnitude_masks(w, 0.3), {n: magnitude_mask(t, 0.3) for n, t in w.items()}):
        # a prior that is not the magnitude order: pruned entries the next step would keep
        prior["a"][0, :2] = False
        for s in (0.4, 0.8):
            assert _equal(score_masks(scores, s, prior=prior), global_magnitude_masks(w, s, prior=prior))
        layer = score_masks(scores, 0.8, scope="layer", prior=prior)
        assert _equal(layer, {n: magnitude_mask(t, 0.8, prior=prior[n]) for n, t in w.items()})


def test_magnitude_scores_of_a_model_give_its_magnitude_masks():
    net = mlp([20, 12, 8, 3], seed=1)
    for scope in ("global", "layer"):
        assert _equal(score_masks(magnitude_scores(net), 0.7, scope=scope), magnitude_masks(net, 0.7, scope=scope))


# --------------------------------------------------------------------------- ranking
def test_signed_scores_rank_as_numbers_negative_below_positive():
    mask = score_masks({"a": torch.tensor([-5.0, 0.1, 3.0, -0.2])}, 0.5)["a"]
    assert torch.equal(mask, torch.tensor([False, True, True, False]))  # |s| would prune 0.1 and -0.2
    m = score_masks({"a": torch.tensor([0.5, 2.0]), "b": torch.tensor([-1.0, 1.0])}, 0.5)
    assert torch.equal(m["a"], torch.tensor([False, True])) and torch.equal(m["b"], torch.tensor([False, True]))


def test_ties_are_broken_by_position_then_by_dict_order():
    m = score_masks({"a": torch.ones(2, 2), "b": torch.ones(3)}, 3 / 7)
    assert torch.equal(m["a"], torch.tensor([[False, False], [False, True]])) and bool(m["b"].all())
    m = score_masks({"b": torch.ones(3), "a": torch.ones(2, 2)}, 3 / 7)
    assert not bool(m["b"].any()) and bool(m["a"].all())


def test_global_and_layer_scopes_differ_where_one_tensor_scores_low():
    scores = {"low": torch.arange(10.0), "high": torch.arange(10.0) + 100}
    glob, layer = score_masks(scores, 0.5), score_masks(scores, 0.5, scope="layer")
    assert int(glob["low"].sum()) == 0 and bool(glob["high"].all())
    assert int(layer["low"].sum()) == 5 and int(layer["high"].sum()) == 5


def test_masks_own_their_storage_and_the_scores_are_not_changed():
    scores = _weights()
    before = {n: t.clone() for n, t in scores.items()}
    masks = score_masks(scores, 0.5)
    masks["a"][:] = False
    assert bool(score_masks(scores, 0.5)["b"].any()) and _equal(scores, before)


@given(
    values=st.lists(st.integers(-3, 3), min_size=1, max_size=40),
    cut=st.integers(0, 40),
    s=st.floats(0, 1),
    scope=st.sampled_from(["global", "layer"]),
    prior_bits=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_exact_counts_lowest_pruned_and_the_prior_kept_pruned(values, cut, s, scope, prior_bits):
    flat = torch.tensor(values, dtype=torch.float64)  # small integers: many ties
    cut = min(cut, len(values))
    scores = {"a": flat[:cut], "b": flat[cut:]}
    scores = {n: t for n, t in scores.items() if t.numel()}
    prior = {n: torch.tensor(prior_bits[: t.numel()]) for n, t in scores.items()}
    units = [list(scores)] if scope == "global" else [[n] for n in scores]
    already = [sum(int((~prior[n]).sum()) for n in unit) for unit in units]
    sizes = [sum(scores[n].numel() for n in unit) for unit in units]
    if any(round(s * size) < a for size, a in zip(sizes, already, strict=True)):
        with pytest.raises(ValueError, match="below the prior"):
            score_masks(scores, s, scope=scope, prior=prior)
        return
    masks = score_masks(scores, s, scope=scope, prior=prior)
    for n in scores:
        assert not bool((masks[n] & ~prior[n]).any())  # pruned stays pruned
    for unit, size in zip(units, sizes, strict=True):
        keep = torch.cat([masks[n] for n in unit])
        free = torch.cat([prior[n] for n in unit])
        vals = torch.cat([scores[n] for n in unit])
        assert int((~keep).sum()) == round(s * size)
        newly = free & ~keep
        if bool(newly.any()) and bool(keep.any()):
            assert vals[newly].max() <= vals[keep].min()


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "scores, kwargs, err, match",
    [
        ([torch.ones(2)], {}, TypeError, "scores must be a dict"),
        ({}, {}, ValueError, "non-empty"),
        ({"a": torch.ones(2, dtype=torch.long)}, {}, TypeError, r"scores\['a'\] must be a floating-point"),
        ({"a": torch.tensor([1.0, float("nan")])}, {}, ValueError, "finite"),
        ({"a": torch.tensor([1.0, float("inf")])}, {}, ValueError, "finite"),
        ({"a": torch.ones(0)}, {}, ValueError, "must not be empty"),
        ({"a": torch.ones(2)}, {"sparsity": 1.5}, ValueError, r"sparsity must be a number in \[0, 1\]"),
        ({"a": torch.ones(2)}, {"sparsity": "half"}, TypeError, "sparsity must be a number"),
        ({"a": torch.ones(2)}, {"scope": "model"}, ValueError, "scope must be one of"),
        ({"a": torch.ones(2)}, {"prior": [True]}, TypeError, "prior must be None or a dict"),
        ({"a": torch.ones(2)}, {"prior": {"z": torch.ones(2, dtype=torch.bool)}}, ValueError, "unknown"),
        ({"a": torch.ones(2)}, {"prior": {"a": torch.ones(3, dtype=torch.bool)}}, ValueError, "shape"),
        ({"a": torch.ones(2)}, {"prior": {"a": torch.ones(2)}}, TypeError, "torch.bool"),
        ({"a": torch.ones(4)}, {"prior": {"a": torch.tensor([False, False, True, True])}}, ValueError, "below"),
    ],
)
def test_bad_input_is_named(scores, kwargs, err, match):
    kwargs = {"sparsity": 0.25, **kwargs}
    with pytest.raises(err, match=match):
        score_masks(scores, **kwargs)


def test_check_prunable_rejects_a_non_module_and_a_model_without_weights():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        check_prunable("net")
    with pytest.raises(ValueError, match="no prunable weight"):
        magnitude_scores(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="no prunable weight"):
        random_scores(nn.BatchNorm1d(4))


# --------------------------------------------------------------------------- score functions
def test_magnitude_scores_are_detached_float32_copies_of_abs_w():
    net = mlp([5, 4, 2], seed=0).double()
    scores = magnitude_scores(net)
    assert list(scores) == ["fc1.weight", "fc2.weight"]
    for n, p in net.named_parameters():
        if n in scores:
            assert scores[n].dtype == torch.float32 and not scores[n].requires_grad
            assert torch.equal(scores[n], p.detach().abs().float())
    scores["fc1.weight"].zero_()
    assert bool((net.fc1.weight != 0).any())


def test_random_scores_same_seed_same_scores_independent_of_the_global_rng():
    net = mlp([6, 5, 3], seed=0)
    torch.manual_seed(1)
    a = random_scores(net, seed=4)
    torch.manual_seed(2)
    state = torch.get_rng_state()
    b = random_scores(net, seed=4)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is not used
    assert _equal(a, b)
    c = random_scores(net, seed=5)
    assert not torch.equal(a["fc1.weight"], c["fc1.weight"])
    assert all(v.dtype == torch.float32 and bool(((v >= 0) & (v < 1)).all()) for v in a.values())
    assert {n: v.shape for n, v in a.items()} == {"fc1.weight": (5, 6), "fc2.weight": (3, 5)}


@pytest.mark.parametrize("seed, err", [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_random_scores_reject_a_bad_seed(seed, err):
    with pytest.raises(err, match="seed must be an int >= 0"):
        random_scores(mlp([3, 2]), seed=seed)
