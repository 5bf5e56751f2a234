"""Tests of course_lib.pruning.at_init: SNIP, GraSP, SynFlow at initialization.

Oracles: SNIP against a backpropagation written by hand (explicit matrices, no autograd); the
Hessian-gradient product against central finite differences of that hand-written gradient (and
of autograd's first-order gradient for a conv net with BatchNorm); SynFlow against Tanaka et al.
2020's Theorem 1 (every layer of a bias-free ReLU MLP carries the same total score, R)."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import course_lib.pruning.at_init as at_init
from course_lib.pruning.at_init import (
    METHODS,
    PAPER_SCOPE,
    SCORE_PASSES,
    grasp_scores,
    hessian_gradient_product,
    init_masks,
    init_scores,
    snip_scores,
    synflow_masks,
    synflow_scores,
)
from course_lib.pruning.scores import magnitude_scores, random_scores, score_masks
from course_lib.training.conv_models import vgg
from course_lib.training.models import lenet_300_100, mlp


def _batch(n_in, batch=6, classes=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, n_in, generator=g), torch.randint(0, classes, (batch,), generator=g)


# --------------------------------------------------------------------------- backprop by hand
def _hand_grads(w1, b1, w2, b2, x, y, temperature=1.0):
    """dL/dW1, dL/dW2 of L = mean CE(softmax((W2 relu(W1 x + b1) + b2) / T), y), by hand."""
    a = x @ w1.T + b1
    h = a * (a > 0)
    z = (h @ w2.T + b2) / temperature
    e = torch.exp(z - z.max(dim=1, keepdim=True).values)
    p = e / e.sum(dim=1, keepdim=True)
    onehot = torch.zeros_like(p)
    onehot[torch.arange(len(y)), y] = 1.0
    dlogits = (p - onehot) / (len(y) * temperature)  # d mean-CE / d (W2 h + b2)
    dh = dlogits @ w2
    return (dh * (a > 0)).T @ x, dlogits.T @ h


def _params64(net):
    return [p.detach().double() for p in (net.fc1.weight, net.fc1.bias, net.fc2.weight, net.fc2.bias)]


def _fd_hvp(net, x, y, v1, v2, temperature=1.0):
    """(H v) by central differences of the hand-written gradient, in float64."""
    w1, b1, w2, b2 = _params64(net)
    eps = 1e-6 / float(torch.sqrt((v1**2).sum() + (v2**2).sum()))
    plus = _hand_grads(w1 + eps * v1, b1, w2 + eps * v2, b2, x, y, temperature)
    minus = _hand_grads(w1 - eps * v1, b1, w2 - eps * v2, b2, x, y, temperature)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus, strict=True)]


def test_snip_equals_the_saliency_computed_by_hand():
    net = mlp([3, 5, 2], seed=0)
    x, y = _batch(3, batch=7)
    w1, b1, w2, b2 = _params64(net)
    g1, g2 = _hand_grads(w1, b1, w2, b2, x.double(), y)
    signed = {"fc1.weight": g1 * w1, "fc2.weight": g2 * w2}
    assert all(bool((s < 0).any()) and bool((s > 0).any()) for s in signed.values())  # abs matters
    scores = snip_scores(net, x, y)
    assert list(scores) == ["fc1.weight", "fc2.weight"]
    for n, s in signed.items():
        assert scores[n].dtype == torch.float32 and scores[n].device.type == "cpu"
        torch.testing.assert_close(scores[n].double(), s.abs(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("temperature", [1.0, 7.0])
def test_hessian_gradient_product_matches_finite_differences(temperature):
    net = mlp([4, 6, 3], seed=1).double()
    x, y = _batch(4, batch=8, classes=3, seed=1)
    x = x.double()
    w1, b1, w2, b2 = _params64(net)
    g1, g2 = _hand_grads(w1, b1, w2, b2, x, y, temperature)
    v1, v2 = torch.randn(w1.shape, dtype=torch.float64), torch.randn(w2.shape, dtype=torch.float64)
    for vector, (u1, u2) in ((None, (g1, g2)), ({"fc1.weight": v1, "fc2.weight": v2}, (v1, v2))):
        hv = hessian_gradient_product(net, x, y, vector, temperature=temperature)
        fd = _fd_hvp(net, x, y, u1, u2, temperature)
        for got, want in zip(hv.values(), fd, strict=True):
            assert got.dtype == torch.float64
            scale = float(want.abs().max())
            assert scale > 0
            torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7 * scale)


def test_hessian_gradient_product_of_a_conv_net_with_batchnorm_matches_finite_differences():
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 3)
    ).double()
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(5, 1, 6, 6, generator=g, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    names = ["0.weight", "4.weight"]
    v = {n: torch.randn(dict(net.named_parameters())[n].shape, generator=g, dtype=torch.float64) for n in names}

    def grad_at(step):  # first-order autograd gradient of a copy moved by step * v
        moved = copy.deepcopy(net)
        with torch.no_grad():
            for n, p in moved.named_parameters():
                if n in v:
                    p += step * v[n]
        loss = nn.functional.cross_entropy(moved(x), y)
        return torch.autograd.grad(loss, [dict(moved.named_parameters())[n] for n in names])

    eps = 1e-6
    fd = [(p - m) / (2 * eps) for p, m in zip(grad_at(eps), grad_at(-eps), strict=True)]
    hv = hessian_gradient_product(net, x, y, v)
    for n, want in zip(names, fd, strict=True):
        torch.testing.assert_close(hv[n], want, rtol=1e-5, atol=1e-7 * float(want.abs().max()))


def test_grasp_is_w_times_hg_with_the_temperature_larger_kept():
    net = mlp([4, 6, 3], seed=2).double()
    x, y = _batch(4, batch=8, classes=3, seed=2)
    x = x.double()
    w1, b1, w2, b2 = _params64(net)
    by_t = {}
    for t in (1.0, 200.0):
        g1, g2 = _hand_grads(w1, b1, w2, b2, x, y, t)
        hg1, hg2 = _fd_hvp(net, x, y, g1, g2, t)
        want = {"fc1.weight": w1 * hg1, "fc2.weight": w2 * hg2}  # = -S of the paper
        by_t[t] = got = grasp_scores(net, x, y, temperature=t)
        for n in want:
            assert got[n].dtype == torch.float32
            torch.testing.assert_close(got[n].double(), want[n], rtol=1e-5, atol=1e-6 * float(want[n].abs().max()))
    assert torch.equal(grasp_scores(net, x, y)["fc1.weight"], by_t[200.0]["fc1.weight"])  # T = 200 by default
    ratio = by_t[1.0]["fc1.weight"] / by_t[200.0]["fc1.weight"]
    assert float(ratio.max() - ratio.min()) > 1.0  # the temperature changes the ranking, not only the scale


# --------------------------------------------------------------------------- SynFlow
def _bias_free_mlp(widths, seed):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
        layers += [nn.Linear(a, b, bias=False)] + ([nn.ReLU()] if i < len(widths) - 2 else [])
    return nn.Sequential(*layers)


@settings(max_examples=25)
@given(widths=st.lists(st.integers(1, 12), min_size=2, max_size=5), seed=st.integers(0, 10**6))
def test_synflow_conserves_the_flow_every_layer_of_a_bias_free_relu_mlp_totals_r(widths, seed):
    net = _bias_free_mlp(widths, seed)
    g = torch.Generator().manual_seed(seed)
    masks = {n: torch.rand(p.shape, generator=g) < 0.8 for n, p in net.named_parameters()}
    for m in (None, masks):
        scores = synflow_scores(net, (widths[0],), m)
        # R by hand: ones through the |W| (masked) matrices, summed
        flow = torch.ones(widths[0], dtype=torch.float64)
        for n, p in net.named_parameters():
            w = p.detach().double().abs() * (1.0 if m is None else m[n])
            flow = w @ flow
        r = float(flow.sum())
        totals = [float(s.double().sum()) for s in scores.values()]
        assert totals == pytest.approx([r] * len(totals), rel=1e-5, abs=1e-30)
        assert all(bool((s >= 0).all()) for s in scores.values())
        if m is not None:
            assert all(bool((scores[n][~m[n]] == 0).all()) for n in m)


def test_synflow_with_biases_or_signed_weights_would_break_conservation():
    """The conservation test can fail: a net with biases does not conserve it."""
    net = mlp([5, 7, 4, 3], seed=0)
    totals = [float(s.sum()) for s in synflow_scores(net, (5,)).values()]
    assert max(totals) / min(totals) > 1.01


class _Recorder:
    """Wraps score_masks in at_init and keeps every (sparsity, masks) it returns."""

    def __init__(self):
        self.calls = []

    def __call__(self, scores, sparsity, **kwargs):
        out = score_masks(scores, sparsity, **kwargs)
        self.calls.append((sparsity, out))
        return out


@settings(max_examples=15)
@given(s=st.floats(0.0, 1.0), rounds=st.integers(1, 7), seed=st.integers(0, 1000))
def test_synflow_masks_shrink_round_by_round_on_the_exponential_schedule(s, rounds, seed):
    net = mlp([6, 5, 4, 3], seed=seed)
    total = 6 * 5 + 5 * 4 + 4 * 3
    recorder = _Recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(at_init, "score_masks", recorder)
        final = synflow_masks(net, s, (6,), rounds=rounds)
    steps = [m for _, m in recorder.calls[-rounds:]] if s < 1.0 else [final]
    previous = {n: torch.ones_like(m) for n, m in final.items()}
    for k, masks in enumerate(steps, start=1):
        pruned = sum(int((~m).sum()) for m in masks.values())
        expected = round(s * total) if k == len(steps) else round((1 - (1 - s) ** (k / rounds)) * total)
        assert pruned == expected
        assert all(not bool((masks[n] & ~previous[n]).any()) for n in masks)  # masks only shrink
        previous = masks
    assert all(torch.equal(final[n], previous[n]) for n in final)


@pytest.mark.parametrize("s", [0.0, 0.5, 0.9, 0.99, 1.0])
def test_synflow_masks_prune_exactly_the_target(s):
    net = mlp([10, 8, 4], seed=3)
    masks = synflow_masks(net, s, (10,), rounds=10)
    assert sum(int((~m).sum()) for m in masks.values()) == round(s * (80 + 32))
    layer = synflow_masks(net, s, (10,), rounds=4, scope="layer")
    assert [int((~m).sum()) for m in layer.values()] == [round(s * 80), round(s * 32)]


def test_synflow_masks_respect_a_prior_and_the_schedule_starts_from_it():
    net = mlp([10, 8, 4], seed=3)
    prior = {"fc1.weight": torch.rand(8, 10, generator=torch.Generator().manual_seed(0)) < 0.5}
    masks = synflow_masks(net, 0.8, (10,), rounds=5, prior=prior)
    assert not bool((masks["fc1.weight"] & ~prior["fc1.weight"]).any())
    assert sum(int((~m).sum()) for m in masks.values()) == round(0.8 * 112)
    with pytest.raises(ValueError, match="below the prior"):
        synflow_masks(net, 0.1, (10,), rounds=5, prior=prior)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synflow_avoids_the_layer_collapse_of_magnitude_and_snip(seed):
    """A wide-then-narrow MLP at 99.7% sparsity (25 of 8,200 weights kept): magnitude and SNIP,
    ranked globally, empty the wide first layer (no path from input to output); iterative SynFlow
    keeps every layer and a connected network (Tanaka et al. 2020, Figure 1)."""
    net = mlp([400, 20, 10], seed=seed)
    x, y = _batch(400, batch=64, classes=10, seed=seed)
    for method in ("magnitude", "snip"):
        kept = [int(m.sum()) for m in init_masks(method, net, 0.997, x=x, y=y).values()]
        assert min(kept) == 0, (method, kept)
    masks = init_masks("synflow", net, 0.997, x=x)
    assert min(int(m.sum()) for m in masks.values()) >= 1
    assert sum(int(m.sum()) for m in masks.values()) == 8200 - round(0.997 * 8200)
    assert float(sum(s.sum() for s in synflow_scores(net, (400,), masks).values())) > 0  # still connected


def test_one_synflow_round_is_not_enough_where_the_iterations_help():
    net = mlp([400, 20, 10], seed=0)
    one = synflow_masks(net, 0.997, (400,), rounds=1)
    assert min(int(m.sum()) for m in one.values()) == 0  # one-shot SynFlow collapses here too


# --------------------------------------------------------------------------- purity
def _snapshot(model):
    return (
        {n: t.clone() for n, t in model.state_dict().items()},
        {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()},
        {n: p.requires_grad for n, p in model.named_parameters()},
        [m.training for m in model.modules()],
        torch.get_rng_state(),
    )


def _same(a, b):
    state_a, grad_a, req_a, mode_a, rng_a = a
    state_b, grad_b, req_b, mode_b, rng_b = b
    assert all(torch.equal(state_a[n], state_b[n]) for n in state_a)
    assert all((grad_a[n] is None and grad_b[n] is None) or torch.equal(grad_a[n], grad_b[n]) for n in grad_a)
    assert req_a == req_b and mode_a == mode_b and torch.equal(rng_a, rng_b)


def _models():
    net = mlp([12, 6, 3], seed=0)
    net.fc1.weight.grad = torch.full_like(net.fc1.weight, 0.5)
    net.fc2.bias.requires_grad_(False)
    conv = vgg("vgg11", width=1 / 16, input_size=16, seed=0)
    conv.conv2.weight.grad = torch.ones_like(conv.conv2.weight)
    g = torch.Generator().manual_seed(0)
    return [
        (net, torch.randn(5, 12, generator=g), torch.tensor([0, 1, 2, 0, 1])),
        (conv, torch.randn(4, 1, 16, 16, generator=g), torch.tensor([0, 3, 9, 1])),
    ]


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_every_score_function_leaves_the_model_as_it_was(mode):
    for model, x, y in _models():
        model.train(mode == "train")
        before = _snapshot(model)
        names = [n for n, p in model.named_parameters() if p.dim() >= 2]
        for method in METHODS:
            scores = init_scores(method, model, x=x, y=y)
            assert list(scores) == names
            for n, p in model.named_parameters():
                if n in scores:
                    assert scores[n].shape == p.shape and scores[n].dtype == torch.float32
                    assert bool(torch.isfinite(scores[n]).all())
        init_masks("synflow", model, 0.9, x=x, rounds=2)
        hessian_gradient_product(model, x, y)
        with pytest.raises(ValueError):
            snip_scores(model, x, y + 100)  # an error half-way leaves nothing changed either
        _same(before, _snapshot(model))


def test_scores_on_a_batchnorm_net_depend_on_its_mode_as_it_is():
    conv = vgg("vgg11", width=1 / 16, input_size=16, seed=0)
    x, y = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 2, 3])
    train = snip_scores(conv.train(), x, y)["conv1.weight"]
    evaluated = snip_scores(conv.eval(), x, y)["conv1.weight"]
    assert not torch.allclose(train, evaluated)


# --------------------------------------------------------------------------- entry points
def test_the_tables_cover_every_method_as_the_papers_rank():
    assert METHODS == ("snip", "grasp", "synflow", "magnitude", "random")
    assert set(PAPER_SCOPE) == set(METHODS) == set(SCORE_PASSES)
    assert PAPER_SCOPE["random"] == "layer" and {PAPER_SCOPE[m] for m in METHODS[:4]} == {"global"}
    assert SCORE_PASSES == {"snip": 1, "grasp": 2, "synflow": 100, "magnitude": 0, "random": 0}


def test_init_scores_and_masks_are_the_score_functions_ranked_as_the_paper():
    net = mlp([8, 6, 3], seed=4)
    x, y = _batch(8, batch=5, classes=3, seed=4)
    direct = {
        "snip": snip_scores(net, x, y),
        "grasp": grasp_scores(net, x, y),
        "synflow": synflow_scores(net, (8,)),
        "magnitude": magnitude_scores(net),
        "random": random_scores(net, seed=7),
    }
    for method, want in direct.items():
        got = init_scores(method, net, x=x, y=y, seed=7)
        assert all(torch.equal(got[n], want[n]) for n in want)
        masks = init_masks(method, net, 0.6, x=x, y=y, seed=7, rounds=4)
        if method == "synflow":
            expected = synflow_masks(net, 0.6, (8,), rounds=4)
        else:
            expected = score_masks(want, 0.6, scope=PAPER_SCOPE[method])
        assert all(torch.equal(masks[n], expected[n]) for n in expected)
    layer = init_masks("snip", net, 0.5, x=x, y=y, scope="layer")
    assert [int((~m).sum()) for m in layer.values()] == [24, 9]
    assert [int((~m).sum()) for m in init_masks("random", net, 0.5, seed=1).values()] == [24, 9]


# --------------------------------------------------------------------------- bad input
def _bad_calls():
    net = mlp([4, 3, 2], seed=0)
    x, y = _batch(4, batch=3)
    return [
        (lambda: snip_scores("net", x, y), TypeError, "model must be a torch.nn.Module"),
        (lambda: snip_scores(nn.Sequential(nn.ReLU()), x, y), ValueError, "no prunable weight"),
        (lambda: snip_scores(net, x.long(), y), TypeError, "x must be a floating-point tensor"),
        (lambda: snip_scores(net, x[0], y), ValueError, r"x must have shape \(batch, \.\.\.\)"),
        (lambda: snip_scores(net, x[:0], y[:0]), ValueError, "batch >= 1"),
        (lambda: snip_scores(net, x * float("nan"), y), ValueError, "x must contain only finite"),
        (lambda: snip_scores(net, x, y.float()), TypeError, "y must be an int64 tensor"),
        (lambda: snip_scores(net, x, y[:2]), ValueError, r"y must have shape \(batch,\)"),
        (lambda: snip_scores(net, x, y + 2), ValueError, r"y must hold class labels in \[0, 1\]"),
        (lambda: snip_scores(net, x, -y - 1), ValueError, "y must hold class labels"),
        (lambda: grasp_scores(net, x, y, temperature=0), ValueError, "temperature must be a finite number > 0"),
        (lambda: hessian_gradient_product(net, x, y, {"fc1.weight": x}), ValueError, "vector must be a dict"),
        (
            lambda: hessian_gradient_product(net, x, y, {"fc1.weight": torch.ones(3, 4), "fc2.weight": x}),
            ValueError,
            r"vector\['fc2.weight'\] must be a tensor of the weight's shape",
        ),
        (lambda: synflow_scores(net, (0,)), ValueError, "tuple of ints >= 1"),
        (lambda: synflow_scores(net, (4,), {"fc9.weight": torch.ones(1)}), ValueError, "unknown parameter"),
        (lambda: synflow_masks(net, 0.5, (4,), rounds=0), ValueError, "rounds must be an int >= 1"),
        (
            lambda: synflow_masks(net, 0.5, (4,), prior={"fc1.bias": torch.ones(3) > 0}),
            ValueError,
            "prior names unknown",
        ),
        (lambda: synflow_masks(net, 0.5, (4,), prior={"fc1.weight": torch.ones(3, 4)}), TypeError, "torch.bool"),
        (lambda: synflow_masks(net, 1.5, (4,)), ValueError, r"sparsity must be a number in \[0, 1\]"),
        (lambda: synflow_masks(net, 0.5, (4,), scope="net"), ValueError, "scope must be one of"),
        (lambda: init_masks("obd", net, 0.5, x=x, y=y), ValueError, "method must be one of.*snip.*random"),
        (lambda: init_scores("obd", net), ValueError, "method must be one of"),
        (lambda: init_masks("snip", net, 0.5, x=x), ValueError, "needs a batch: pass x .* and y"),
        (lambda: init_scores("grasp", net, y=y), ValueError, "needs a batch: pass x .* and y"),
        (lambda: init_masks("synflow", net, 0.5), ValueError, "'synflow' needs x"),
        (lambda: init_scores("synflow", net), ValueError, "'synflow' needs a batch: pass x"),
        (lambda: init_masks("random", net, 0.5, scope="net"), ValueError, "scope must be None or one of"),
        (lambda: init_masks("random", net, -0.1), ValueError, r"sparsity must be a number in \[0, 1\]"),
        (lambda: init_masks("random", net, 0.5, seed=-1), ValueError, "seed must be an int >= 0"),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls())))
def test_bad_input_gets_an_error_naming_the_argument(index):
    call, err, match = _bad_calls()[index]
    with pytest.raises(err, match=match):
        call()


def test_a_batch_or_input_shape_that_does_not_fit_the_model_names_the_argument():
    from course_lib.training.models import mlp

    net = mlp([8, 6, 3], seed=0)
    x, y = torch.randn(4, 7), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"x: a batch of shape \(4, 7\) does not fit the model"):
        snip_scores(net, x, y)
    with pytest.raises(ValueError, match=r"input_shape: an input of shape \(7,\) does not fit the model"):
        synflow_scores(net, (7,))


def test_synflow_masks_do_not_depend_on_threads_and_restore_them():
    net = lenet_300_100(seed=0)
    before = torch.get_num_threads()
    one = synflow_masks(net, 0.98, (28, 28), rounds=5, threads=1)
    two = synflow_masks(net, 0.98, (28, 28), rounds=5, threads=2)
    assert all(torch.equal(one[n], two[n]) for n in one) and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        init_masks("synflow", net, 0.5, x=torch.zeros(1, 28, 28), threads=0)
