"""course_lib.experiments.instability: interpolation, the error barrier and instability analysis
(Frankle et al. 2020, linear mode connectivity)."""

import copy

import pytest
import torch
from torch import nn

from course_lib.experiments.instability import Barrier, error_barrier, instability, interpolate_states
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.training.models import mlp
from course_lib.training.train import train


def _bn_state(seed):
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    torch.manual_seed(seed)
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t))
    net[1].num_batches_tracked.fill_(seed + 1)
    return net.state_dict()


# --------------------------------------------------------------------------- interpolate_states
def test_interpolate_states_gives_the_endpoints_exactly_and_the_mean_halfway():
    a, b = _bn_state(0), _bn_state(1)
    at0, at1, half = (interpolate_states(a, b, alpha) for alpha in (0.0, 1.0, 0.5))
    assert list(at0) == list(a)
    for name in a:
        if a[name].is_floating_point():
            assert torch.equal(at0[name], a[name]) and torch.equal(at1[name], b[name])
            assert torch.equal(half[name], (a[name] + b[name]) / 2)
        else:  # num_batches_tracked: copied from a, at every alpha
            assert torch.equal(at1[name], a[name]) and at1[name].dtype == torch.int64
    assert torch.allclose(interpolate_states(a, b, 0.25)["0.weight"], 0.75 * a["0.weight"] + 0.25 * b["0.weight"])
    at0["0.weight"].add_(1.0)  # new tensors: a is not changed through the result
    assert not torch.equal(at0["0.weight"], a["0.weight"])


@pytest.mark.parametrize(
    "change, alpha, error, words",
    [
        (lambda b: b.pop("0.bias"), 0.5, ValueError, "'0.bias'"),
        (lambda b: b.update({"0.bias": torch.zeros(5)}), 0.5, ValueError, "shape"),
        (lambda b: b.update({"0.bias": torch.zeros(4, dtype=torch.float64)}), 0.5, TypeError, "dtype"),
        (lambda b: None, 1.5, ValueError, "alpha must be a number in [0, 1]"),
        (lambda b: None, "half", TypeError, "alpha"),
    ],
)
def test_interpolate_states_rejects_mismatched_states_and_bad_alphas(change, alpha, error, words):
    a, b = _bn_state(0), dict(_bn_state(1))
    change(b)
    with pytest.raises(error) as info:
        interpolate_states(a, b, alpha)
    assert words in str(info.value)


# --------------------------------------------------------------------------- error_barrier
@pytest.fixture(scope="module")
def pair(digits):
    """Two 64-32-10 MLPs trained from the same start with different minibatch orders."""
    nets = [mlp([64, 32, 10], seed=0) for _ in range(2)]
    for seed, net in enumerate(nets):
        train(net, digits, epochs=1, lr=1e-2, seed=seed, progress=False)
    return [copy.deepcopy(n.state_dict()) for n in nets]


def test_error_barrier_of_a_network_with_itself_is_zero_and_flat(digits, pair):
    net = mlp([64, 32, 10], seed=3)
    bar = error_barrier(net, pair[0], pair[0], digits.test, points=5)
    assert isinstance(bar, Barrier)
    assert bar.alphas == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert bar.barrier == 0.0 and len(set(bar.errors)) == 1 and 0 < bar.errors[0] < 50


def _error_by_hand(state, split):
    """Test error (percent) of the 64-32-10 MLP with ``state``, without course_lib's evaluate."""
    x = split.x.reshape(len(split.x), -1)
    h = torch.relu(x @ state["fc1.weight"].T + state["fc1.bias"])
    logits = h @ state["fc2.weight"].T + state["fc2.bias"]
    return 100.0 * float((logits.argmax(1) != split.y).sum()) / len(split.y)


def test_error_barrier_matches_errors_computed_by_hand_and_restores_the_model(digits, pair):
    net = mlp([64, 32, 10], seed=3)
    net.train()
    own = copy.deepcopy(net.state_dict())
    bar = error_barrier(net, pair[0], pair[1], digits.test, points=4)
    expected = []
    for alpha in (0.0, 1 / 3, 2 / 3, 1.0):
        state = {n: (1 - alpha) * pair[0][n] + alpha * pair[1][n] for n in pair[0]}
        expected.append(_error_by_hand(state, digits.test))
    assert bar.errors == pytest.approx(expected, abs=1e-4)
    assert bar.barrier == pytest.approx(max(expected) - (expected[0] + expected[-1]) / 2, abs=1e-4)
    assert all(torch.equal(v, own[n]) for n, v in net.state_dict().items()) and net.training


def test_error_barrier_between_a_network_and_its_permuted_twin_is_positive(digits, pair):
    """Permuting the hidden units gives the same function (equal endpoints) but not on the line."""
    perm = torch.randperm(32, generator=torch.Generator().manual_seed(0))
    twin = dict(pair[0])
    twin["fc1.weight"], twin["fc1.bias"] = pair[0]["fc1.weight"][perm], pair[0]["fc1.bias"][perm]
    twin["fc2.weight"] = pair[0]["fc2.weight"][:, perm]
    bar = error_barrier(mlp([64, 32, 10], seed=3), pair[0], twin, digits.test, points=5)
    assert bar.errors[0] == pytest.approx(bar.errors[-1], abs=1e-4)
    assert bar.barrier > 5 and bar.barrier == pytest.approx(max(bar.errors) - bar.errors[0], abs=1e-4)


def test_error_barrier_rejects_states_that_do_not_fit_the_model(digits, pair):
    net = mlp([64, 32, 10], seed=3)
    own = copy.deepcopy(net.state_dict())
    wide = mlp([64, 16, 10], seed=0).state_dict()
    with pytest.raises(ValueError, match="shape"):
        error_barrier(net, wide, wide, digits.test)
    with pytest.raises(ValueError, match="points"):
        error_barrier(net, pair[0], pair[1], digits.test, points=1)
    with pytest.raises(TypeError, match="split"):
        error_barrier(net, pair[0], pair[1], digits)
    assert all(torch.equal(v, own[n]) for n, v in net.state_dict().items())


# --------------------------------------------------------------------------- instability
ITERS = [0, 5, 18]


def _instability(digits, net, **kw):
    options = dict(epochs=1, lr=1e-2, points=5, progress=False)
    options.update(kw)
    return instability(net, digits, ITERS, **options)


@pytest.fixture(scope="module")
def masked_rows(digits):
    """(masks, the model before, the model after, rows) of one masked instability run."""
    net = mlp([64, 32, 10], seed=0)
    masks = magnitude_masks(mlp([64, 32, 10], seed=9), 0.7)  # some mask, not the model's own
    before = copy.deepcopy(net.state_dict())
    return masks, before, net, _instability(digits, net, masks=masks)


def test_instability_gives_one_row_per_rewind_iteration_and_does_not_touch_the_model(masked_rows):
    _, before, net, rows = masked_rows
    assert [r.rewind_iter for r in rows] == ITERS
    for row in rows:
        assert row.alphas == [0.0, 0.25, 0.5, 0.75, 1.0] and len(row.errors) == 5
        assert row.barrier == pytest.approx(max(row.errors) - (row.errors[0] + row.errors[-1]) / 2, abs=1e-9)
        # the final accuracy is the mean of the endpoints' (the two trained copies on the test split)
        assert row.final_test_acc == pytest.approx(100 - (row.errors[0] + row.errors[-1]) / 2, abs=1e-3)
        assert not torch.equal(row.states[0]["fc1.weight"], row.states[1]["fc1.weight"])  # other data orders
    assert all(torch.equal(v, before[n]) for n, v in net.state_dict().items())


def test_instability_copies_keep_the_masked_weights_at_zero(masked_rows):
    masks, _, _, rows = masked_rows
    for row in rows:
        for state in row.states:
            for name, mask in masks.items():
                assert (state[name][~mask] == 0).all() and (state[name][mask] != 0).all()


def test_instability_barrier_is_that_of_the_two_copies(digits, masked_rows):
    row = masked_rows[3][1]
    again = error_barrier(mlp([64, 32, 10], seed=5), row.states[0], row.states[1], digits.test, points=5)
    assert again.errors == row.errors and again.barrier == row.barrier


def test_instability_is_deterministic_and_depends_on_the_copy_seeds(digits, masked_rows):
    masks, _, _, rows = masked_rows
    again = _instability(digits, mlp([64, 32, 10], seed=0), masks=masks)
    for r, s in zip(rows, again, strict=True):
        assert (r.barrier, r.errors, r.final_test_acc) == (s.barrier, s.errors, s.final_test_acc)
        assert all(torch.equal(r.states[c][n], s.states[c][n]) for c in (0, 1) for n in r.states[c])
    other = _instability(digits, mlp([64, 32, 10], seed=0), masks=masks, copy_seeds=(1, 3))
    assert all(
        torch.equal(r.states[0][n], o.states[0][n]) for r, o in zip(rows, other, strict=True) for n in r.states[0]
    )
    assert not torch.equal(rows[0].states[1]["fc1.weight"], other[0].states[1]["fc1.weight"])


class _Wrapped(nn.Module):
    """The MLP inside another module: not a course MLP, so it trains one run at a time with train()."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def test_instability_of_other_models_trains_one_by_one_and_agrees_with_the_stacked_path(digits, masked_rows):
    masks, _, _, rows = masked_rows
    wrapped = _Wrapped(mlp([64, 32, 10], seed=0))
    other = _instability(digits, wrapped, masks={f"net.{n}": m for n, m in masks.items()})
    for r, o in zip(rows, other, strict=True):
        assert o.rewind_iter == r.rewind_iter
        for c in (0, 1):
            for n, v in r.states[c].items():
                assert torch.allclose(o.states[c][f"net.{n}"], v, atol=1e-5), (r.rewind_iter, c, n)


def test_instability_copies_are_the_parent_snapshot_trained_again_by_hand(digits, masked_rows):
    masks, before, _, rows = masked_rows
    parent = mlp([64, 32, 10], seed=0)
    snaps = train(parent, digits, masks, epochs=1, lr=1e-2, seed=0, save_at=ITERS, progress=False).snapshots
    for row in rows:
        for c, copy_seed in enumerate((1, 2)):
            net = mlp([64, 32, 10], seed=0)
            net.load_state_dict({n: v * masks[n] if n in masks else v for n, v in snaps[row.rewind_iter].items()})
            train(net, digits, masks, epochs=1, lr=1e-2, seed=copy_seed, progress=False)
            for n, v in net.state_dict().items():
                assert torch.allclose(row.states[c][n], v, atol=1e-5), (row.rewind_iter, c, n)


@pytest.mark.parametrize(
    "kw, error, words",
    [
        (dict(copy_seeds=(1, 1)), ValueError, "copy_seeds"),
        (dict(copy_seeds=(1, 2, 3)), ValueError, "copy_seeds must be two"),
        (dict(epochs=0), ValueError, "epochs"),
        (dict(points=1), ValueError, "points"),
        (dict(lr=-1.0), ValueError, "lr"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(masks={"fc9.weight": torch.ones(2, dtype=torch.bool)}), ValueError, "fc9.weight"),
        (dict(progress="yes"), TypeError, "progress"),
    ],
)
def test_instability_rejects_bad_arguments(digits, kw, error, words):
    with pytest.raises(error) as info:
        _instability(digits, mlp([64, 32, 10], seed=0), **kw)
    assert words in str(info.value)


def test_instability_rejects_rewind_iterations_past_the_parent_run(digits):
    with pytest.raises(ValueError, match=r"rewind_iters must be in \[0, 18\]"):
        instability(mlp([64, 32, 10], seed=0), digits, [0, 19], epochs=1, progress=False)
    with pytest.raises(ValueError, match="rewind_iters"):
        instability(mlp([64, 32, 10], seed=0), digits, [], epochs=1, progress=False)
