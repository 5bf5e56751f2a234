"""Sparse training from scratch (SET, RigL): the schedule, one drop-and-grow update by hand, the
per-layer densities, and whole runs that keep every layer's active count exact."""

import math

import pytest
import torch
from torch import nn

from course_lib.pruning.masks import prunable_weights
from course_lib.training.data import as_images
from course_lib.training.models import lenet_300_100, mlp
from course_lib.training.sparse_training import (
    _DropGrow,
    _initial_masks,
    drop_and_grow,
    drop_fraction,
    erk_densities,
    sparse_training,
)
from course_lib.training.train import train

RUN = dict(epochs=2, lr=1e-2, update_every=5, progress=False, threads=1)  # 36 steps, updates at 5..25


# --------------------------------------------------------------------------- drop_fraction
def test_drop_fraction_is_the_cosine_decay_by_hand():
    assert drop_fraction(0, 100) == pytest.approx(0.3)
    assert drop_fraction(25, 100) == pytest.approx(0.15 * (1 + 0.5))  # 25 / 75: cos(pi / 3) = 1/2
    assert drop_fraction(30, 80) == pytest.approx(0.15)  # half way to 60: cos(pi / 2) = 0
    assert drop_fraction(74, 100) > 0 and drop_fraction(75, 100) == 0.0 == drop_fraction(100, 100)
    assert drop_fraction(50, 100, alpha=0.5, end_fraction=1.0) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(step=-1, total_steps=10), ValueError),
        (dict(step=0, total_steps=0), ValueError),
        (dict(step=0, total_steps=10, alpha=1.5), ValueError),
        (dict(step=0, total_steps=10, alpha="0.3"), TypeError),
        (dict(step=0, total_steps=10, end_fraction=0.0), ValueError),
        (dict(step=0, total_steps=10, end_fraction=1.2), ValueError),
    ],
)
def test_drop_fraction_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        drop_fraction(**kwargs)


# --------------------------------------------------------------------------- drop_and_grow
W = torch.tensor([[0.5, -0.1, 0.0, 0.0], [2.0, 0.05, 0.0, 0.0]])
M = torch.tensor([[True, True, False, False], [True, True, False, False]])


def test_rigl_drops_the_smallest_active_and_grows_the_largest_gradient_inactive_by_hand():
    grad = torch.tensor([[9.0, 9.0, 0.3, -0.7], [9.0, 9.0, 0.2, -5.0]])  # the active entries' grads do not count
    new = drop_and_grow(W, M, 2, grad=grad)
    # drops |w| = 0.05 and 0.1; grows |g| = 5.0 and 0.7
    assert new.tolist() == [[True, False, False, True], [True, False, False, True]]
    new1 = drop_and_grow(W, M, 1, grad=grad)
    assert new1.tolist() == [[True, True, False, False], [True, False, False, True]]


def test_a_just_dropped_weight_is_never_grown_back_even_with_the_largest_gradient():
    w, m = torch.tensor([0.1, 1.0, 0.0, 0.0]), torch.tensor([True, True, False, False])
    new = drop_and_grow(w, m, 1, grad=torch.tensor([100.0, 100.0, 1.0, 2.0]))
    assert new.tolist() == [False, True, False, True]


def test_ties_are_broken_by_position():
    w, m = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0]), torch.tensor([True, True, False, False, False])
    assert drop_and_grow(w, m, 1, grad=torch.ones(5)).tolist() == [False, True, True, False, False]


@pytest.mark.parametrize("grow", ["rigl", "set"])
def test_the_count_is_exact_and_only_inactive_entries_grow(grow):
    gen = torch.Generator().manual_seed(0)
    for trial in range(40):
        shape = (int(torch.randint(1, 9, (1,), generator=gen)), int(torch.randint(2, 9, (1,), generator=gen)))
        w, g = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
        mask = torch.rand(shape, generator=gen) < 0.5
        active = int(mask.sum())
        n = min(active, mask.numel() - active) // (1 + trial % 3)
        before = (w.clone(), mask.clone())
        new = drop_and_grow(w, mask, n, grow=grow, grad=g, generator=torch.Generator().manual_seed(trial))
        assert new.dtype == torch.bool and new.shape == mask.shape
        assert int(new.sum()) == active  # exactly unchanged
        assert int((new & mask).sum()) == active - n  # n dropped: none of them (nor any active) grown
        assert int((new & ~mask).sum()) == n  # n grown, all inactive before
        dropped, kept = mask & ~new, mask & new
        if n and kept.any():  # the dropped are the smallest |w| among the active
            assert w[dropped].abs().max() <= w[kept].abs().min()
        assert torch.equal(w, before[0]) and torch.equal(mask, before[1])  # pure


def test_set_is_reproducible_with_the_same_generator_seed_and_random_otherwise():
    w = torch.randn(20, 30, generator=torch.Generator().manual_seed(1))
    mask = torch.rand(20, 30, generator=torch.Generator().manual_seed(2)) < 0.3
    draw = [drop_and_grow(w, mask, 50, grow="set", generator=torch.Generator().manual_seed(s)) for s in (7, 7, 8)]
    assert torch.equal(draw[0], draw[1])
    assert not torch.equal(draw[0], draw[2])
    # random, not the first inactive positions: the grown entries spread over the rows
    grown = draw[0] & ~mask
    assert grown.any(dim=1).sum() > 10


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n=5), ValueError, r"n must be an int in \[0, 4\]"),
        (dict(n=-1), ValueError, "n must be an int >= 0"),
        (dict(n=True), ValueError, "n must be an int"),
        (dict(mask=M[:, :3]), ValueError, "mask must have shape"),
        (dict(mask=M.float()), TypeError, "mask must have dtype torch.bool"),
        (dict(weight=W.long()), TypeError, "weight must be a floating-point"),
        (dict(grow="prune"), ValueError, "grow must be one of"),
        (dict(grad=None), ValueError, "grow='rigl' needs grad"),
        (dict(grad=torch.ones(4, 2)), ValueError, "grad must have weight's shape"),
        (dict(grad=torch.full((2, 4), math.nan)), ValueError, "grad must contain only finite"),
        (dict(grow="set"), TypeError, "grow='set' needs generator"),
    ],
)
def test_drop_and_grow_rejects_bad_input(kwargs, error, match):
    args = dict(weight=W, mask=M, n=1, grad=torch.ones(2, 4)) | kwargs
    with pytest.raises(error, match=match):
        drop_and_grow(args.pop("weight"), args.pop("mask"), args.pop("n"), **args)


def test_n_above_the_inactive_count_is_rejected():
    with pytest.raises(ValueError, match=r"\[0, 1\].*3 active and 1 inactive"):
        drop_and_grow(torch.ones(4), torch.tensor([True, True, True, False]), 2, grad=torch.ones(4))


# --------------------------------------------------------------------------- densities per layer
def test_erk_on_lenet_by_hand():
    # raw = (n_in + n_out) / (n_in n_out): fc3 (110 / 1000) would pass 1 and is dense; then
    # eps = (26620 - 1000) / (1084 + 400) for fc1 (784x300) and fc2 (300x100)
    d = erk_densities(lenet_300_100(), 0.1)
    eps = 25620 / 1484
    assert d["fc3.weight"] == 1.0
    assert d["fc1.weight"] == pytest.approx(eps * 1084 / 235200, abs=1 / 235200)
    assert d["fc2.weight"] == pytest.approx(eps * 400 / 30000, abs=1 / 30000)


@pytest.mark.parametrize("density", [0.001, 0.02, 0.1, 0.37, 0.8, 1.0])
@pytest.mark.parametrize("sizes", [[784, 300, 100, 10], [64, 32, 10], [40, 100, 100, 10]])
def test_erk_hits_the_target_count_and_gives_larger_layers_less(sizes, density):
    weights = prunable_weights(mlp(sizes))
    d = erk_densities(mlp(sizes), density)
    kept = {n: d[n] * w.numel() for n, w in weights.items()}
    assert all(abs(k - round(k)) < 1e-6 for k in kept.values())  # whole weights
    total = sum(w.numel() for w in weights.values())
    assert sum(round(k) for k in kept.values()) == round(density * total)  # exactly the target
    assert all(0 < v <= 1 for v in d.values())
    by_size = sorted(weights, key=lambda n: weights[n].numel())
    assert [d[n] for n in by_size] == sorted((d[n] for n in by_size), reverse=True)


def test_erk_keeps_at_least_one_weight_per_layer():
    net = lenet_300_100()
    d = erk_densities(net, 1e-6)  # round(0.27) = 0 weights asked for: one per layer
    kept = {n: round(d[n] * w.numel()) for n, w in prunable_weights(net).items()}
    assert kept == {"fc1.weight": 1, "fc2.weight": 1, "fc3.weight": 1}


def test_erk_covers_conv_kernels_and_uniform_is_exact():
    net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.Flatten(), nn.Linear(16 * 16, 10))
    d = erk_densities(net, 0.2)
    # raw = sum(shape) / prod(shape): 15 / 72 (conv 1->8, 3x3), 30 / 1152 (conv 8->16), 266 / 2560 (linear)
    eps = round(0.2 * 3784) / (15 + 30 + 266)  # none passes 1: density_l = eps * raw_l, to a whole weight
    assert d["0.weight"] == pytest.approx(eps * 15 / 72, abs=1 / 72)
    assert d["2.weight"] == pytest.approx(eps * 30 / 1152, abs=1 / 1152)
    assert d["4.weight"] == pytest.approx(eps * 266 / 2560, abs=1 / 2560)
    assert round(sum(d[n] * w.numel() for n, w in prunable_weights(net).items())) == round(0.2 * 3784)
    assert erk_densities(net, 0.9)["0.weight"] == 1.0  # would pass 1: dense
    assert erk_densities(net, 0.2, distribution="uniform") == {"0.weight": 0.2, "2.weight": 0.2, "4.weight": 0.2}


@pytest.mark.parametrize(
    "model, kwargs, error",
    [
        ("net", dict(density=0.0), ValueError),
        ("net", dict(density=1.5), ValueError),
        ("net", dict(density="0.1"), TypeError),
        ("net", dict(density=0.1, distribution="global"), ValueError),
        (nn.ReLU(), dict(density=0.1), ValueError),
        ("not a model", dict(density=0.1), TypeError),
    ],
)
def test_erk_densities_rejects_bad_input(model, kwargs, error):
    with pytest.raises(error):
        erk_densities(mlp([4, 3, 2]) if model == "net" else model, **kwargs)


# --------------------------------------------------------------------------- one update inside training
def _one_update(method):
    """A 64-16-10 net at density 0.3 after 3 Adam steps, then the update at step 5 of 10.

    The first step's gradients are not masked, so the pruned entries have Adam moments (their
    weights are masked after each step): growing must zero them, not find them zero."""
    torch.manual_seed(0)
    net = mlp([64, 16, 10], seed=0)
    weights = prunable_weights(net)
    masks, gen = _initial_masks(weights, {n: 0.3 for n in weights}, seed=0)
    keep = {weights[n]: m.float() for n, m in masks.items()}
    with torch.no_grad():
        for p, k in keep.items():
            p.mul_(k)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = torch.randn(30, 64), torch.randint(0, 10, (30,))
    for step in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        for p, k in keep.items():
            p.grad.mul_(k if step else 1.0)
        opt.step()
        with torch.no_grad():
            for p, k in keep.items():
                p.mul_(k)
    hook = _DropGrow(net, masks, method, (10, 5, 0.3, 0.75), gen)
    return net, weights, masks, keep, opt, hook, x, y


def test_rigl_update_grows_by_the_dense_gradient_at_zero_with_zero_moments():
    net, weights, old, keep, opt, hook, x, y = _one_update("rigl")
    dense = torch.autograd.grad(nn.functional.cross_entropy(net(x), y), list(weights.values()))
    before = {n: w.detach().clone() for n, w in weights.items()}
    assert all((opt.state[w]["exp_avg"][~old[n]] != 0).any() for n, w in weights.items())
    assert hook(4, x, y, keep, opt) is None  # not an update step: the optimizer step runs
    loss = hook(5, x, y, keep, opt)
    assert loss is not None and loss.shape == () and hook.updates == 1
    frac = drop_fraction(5, 10)
    for (name, w), g in zip(weights.items(), dense, strict=True):
        new, mask = hook.masks[name], old[name]
        n = round(frac * int(mask.sum()))
        assert n > 0 and torch.equal(new, drop_and_grow(before[name], mask, n, grad=g))  # the dense gradient
        grown, dropped = new & ~mask, mask & ~new
        assert (w[~new] == 0).all() and (w[grown] == 0).all()  # grown start at exactly zero
        assert torch.equal(w[new & mask], before[name][new & mask])  # the kept weights did not move
        for state in ("exp_avg", "exp_avg_sq"):
            assert (opt.state[w][state][grown | dropped] == 0).all()
        assert opt.state[w]["exp_avg"][new & mask].abs().sum() > 0  # the others' moments are kept
        assert torch.equal(keep[w], new.float())  # later steps mask the gradients with the new mask
        assert hook.active[-1][name] == int(mask.sum())
    assert hook.regrown == sum(int((hook.masks[n] & ~old[n]).sum()) for n in old)


def test_set_update_grows_at_random_not_by_gradient():
    *_, keep_r, opt_r, rigl, x, y = _one_update("rigl")
    *_, keep_s, opt_s, set_, _, _ = _one_update("set")
    rigl(5, x, y, keep_r, opt_r)
    set_(5, x, y, keep_s, opt_s)
    assert all(int(set_.masks[n].sum()) == int(rigl.masks[n].sum()) for n in rigl.masks)
    assert any(not torch.equal(set_.masks[n], rigl.masks[n]) for n in rigl.masks)


# --------------------------------------------------------------------------- whole runs
@pytest.fixture(scope="module")
def rigl_run(digits):
    net = mlp([64, 32, 10], seed=0)
    return net, sparse_training(net, digits, 0.25, **RUN)


def test_a_rigl_run_keeps_exact_counts_zeros_and_learns(rigl_run, digits):
    net, run = rigl_run
    weights = prunable_weights(net)
    counts = {n: round(run.densities[n] * w.numel()) for n, w in weights.items()}
    assert counts == {"fc1.weight": 412, "fc2.weight": 180}  # ERK: 592 of 2368 weights
    assert run.updates == 5 and len(run.active) == 6  # at steps 5, 10, 15, 20, 25 (< 0.75 * 36)
    assert all(a == counts for a in run.active)  # after every update
    assert {n: int(m.sum()) for n, m in run.masks.items()} == counts
    for name, w in weights.items():
        assert (w[~run.masks[name]] == 0).all()
    assert run.result.final_test_acc > 60  # chance is 10
    assert run.result.iterations[-1] == 36 and run.regrown > 100
    fixed = sparse_training(mlp([64, 32, 10], seed=0), digits, 0.25, **RUN | dict(alpha=0.0))
    assert fixed.updates == 0 and fixed.regrown == 0
    changed = sum(int((run.masks[n] & ~fixed.masks[n]).sum()) for n in counts)
    assert changed > 0  # the same initial masks (alpha=0 keeps them), then connections moved


def test_same_seed_same_numbers_other_method_other_masks(rigl_run, digits):
    net, run = rigl_run
    again_net = mlp([64, 32, 10], seed=0)
    again = sparse_training(again_net, digits, 0.25, mask_seed=0, **RUN)
    assert all(
        torch.equal(a, b) for a, b in zip(net.state_dict().values(), again_net.state_dict().values(), strict=True)
    )
    assert all(torch.equal(run.masks[n], again.masks[n]) for n in run.masks)
    assert run.result.test_acc == again.result.test_acc
    set_run = sparse_training(mlp([64, 32, 10], seed=0), digits, 0.25, method="set", **RUN)
    assert any(not torch.equal(run.masks[n], set_run.masks[n]) for n in run.masks)
    assert all(a == run.active[0] for a in set_run.active)
    other = sparse_training(mlp([64, 32, 10], seed=0), digits, 0.25, mask_seed=1, **RUN)
    assert any(not torch.equal(run.masks[n], other.masks[n]) for n in run.masks)


def test_uniform_and_a_conv_net(digits):
    run = sparse_training(mlp([64, 32, 10], seed=0), digits, 0.25, distribution="uniform", method="set", **RUN)
    assert run.densities == {"fc1.weight": 0.25, "fc2.weight": 0.25}
    assert {n: int(m.sum()) for n, m in run.masks.items()} == {"fc1.weight": 512, "fc2.weight": 80}
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    crun = sparse_training(conv, as_images(digits), 0.3, **RUN)
    assert crun.updates == 5 and all(a == crun.active[0] for a in crun.active)
    assert (conv[3].weight[~crun.masks["3.weight"]] == 0).all() and crun.result.final_test_acc > 50


def test_a_hook_that_never_steps_leaves_train_unchanged(digits):
    a, b = mlp([64, 16, 10], seed=0), mlp([64, 16, 10], seed=0)
    calls = []
    train(a, digits, epochs=1, lr=1e-2, progress=False)
    train(b, digits, epochs=1, lr=1e-2, progress=False, _hook=lambda it, *_: calls.append(it))
    assert calls == list(range(1, 19))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(method="snip"), ValueError),
        (dict(distribution="global"), ValueError),
        (dict(density=0.0), ValueError),
        (dict(update_every=0), ValueError),
        (dict(alpha=1.5), ValueError),
        (dict(end_fraction=0.0), ValueError),
        (dict(mask_seed=-1), ValueError),
        (dict(seed=1.0), TypeError),
        (dict(epochs=0), ValueError),
        (dict(lr=-1.0), ValueError),
    ],
)
def test_sparse_training_rejects_bad_arguments_before_touching_the_model(digits, kwargs, error):
    net = mlp([64, 32, 10], seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(error):
        sparse_training(net, digits, **dict(density=0.25) | RUN | kwargs)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
