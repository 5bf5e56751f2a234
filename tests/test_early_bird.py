"""course_lib.experiments.early_bird: the mask distance and the early-bird ticket (You et al. 2020)."""

import copy
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_lib.experiments.early_bird import EarlyBird, draw_early_bird, early_bird, mask_distance, settled_epoch
from course_lib.pruning.magnitude import magnitude_mask, magnitude_masks
from course_lib.training.models import mlp

SPARSITY = 0.8
MAX_EPOCHS = 6
WINDOW = 2


def _net():
    return mlp([64, 32, 10], seed=0)


def _run(digits, net=None, **kw):
    """early_bird at SPARSITY on the digits, threshold 1.0 and window WINDOW unless ``kw`` says otherwise."""
    options = dict(threshold=1.0, window=WINDOW, max_epochs=MAX_EPOCHS, lr=1e-2, progress=False)
    options.update(kw)
    return early_bird(_net() if net is None else net, digits, SPARSITY, **options)


@pytest.fixture(scope="module")
def drawn(digits):
    """(model before, model after, the EarlyBird) of one run with threshold 1.0."""
    net = _net()
    before = copy.deepcopy(net)
    return before, net, _run(digits, net)


def _steps(digits):
    return math.ceil(len(digits.train) / 60)


# --------------------------------------------------------------------------- mask_distance
def test_mask_distance_is_zero_for_equal_masks_and_one_for_complementary_ones():
    gen = torch.Generator().manual_seed(0)
    a = {"w": torch.rand(5, 7, generator=gen) < 0.5, "v": torch.rand(3, generator=gen) < 0.2}
    assert mask_distance(a, {n: m.clone() for n, m in a.items()}) == 0.0
    assert mask_distance(a, {n: ~m for n, m in a.items()}) == 1.0


def test_mask_distance_counts_differing_entries_over_all_names_together():
    a = {"w": torch.tensor([True, False, True, True, False, False, True, True])}
    b = {"w": torch.tensor([True, True, False, True, False, True, True, True])}  # 3 of 8 differ
    assert mask_distance(a, b) == 0.375
    # 1 of 4 and 2 of 6 differ: 3 / 10 over all entries, not the mean of 0.25 and 0.333
    a2 = {"x": torch.tensor([True, True, False, False]), "y": torch.ones(2, 3, dtype=torch.bool)}
    b2 = {"y": torch.tensor([[True, False, True], [False, True, True]]), "x": torch.tensor([True, True, False, True])}
    assert mask_distance(a2, b2) == pytest.approx(0.3, abs=0)


@pytest.mark.parametrize(
    "a, b, error, words",
    [
        ({"w": torch.ones(3, dtype=torch.bool)}, {"v": torch.ones(3, dtype=torch.bool)}, ValueError, "'w'"),
        ({"w": torch.ones(3, dtype=torch.bool)}, {"w": torch.ones(4, dtype=torch.bool)}, ValueError, "b['w']"),
        ({"w": torch.ones(3)}, {"w": torch.ones(3)}, TypeError, "a['w']"),
        ({"w": torch.ones(3, dtype=torch.bool)}, {"w": torch.ones(3)}, TypeError, "torch.bool"),
        ([torch.ones(3, dtype=torch.bool)], {"w": torch.ones(3, dtype=torch.bool)}, TypeError, "a must be a dict"),
        ({}, {}, ValueError, "at least one"),
    ],
)
def test_mask_distance_rejects_masks_that_do_not_match(a, b, error, words):
    with pytest.raises(error) as info:
        mask_distance(a, b)
    assert words in str(info.value)


@given(
    n=st.integers(2, 60),
    sparsity=st.floats(0.0, 1.0),
    seeds=st.tuples(st.integers(0, 2**16), st.integers(0, 2**16)),
)
def test_mask_distance_of_two_masks_at_one_sparsity_is_at_most_twice_the_smaller_fraction(n, sparsity, seeds):
    w1 = torch.randn(n, generator=torch.Generator().manual_seed(seeds[0]))
    w2 = torch.randn(n, generator=torch.Generator().manual_seed(seeds[1]))
    d = mask_distance({"w": magnitude_mask(w1, sparsity)}, {"w": magnitude_mask(w2, sparsity)})
    pruned = round(sparsity * n)
    assert d <= 2 * min(pruned, n - pruned) / n


# --------------------------------------------------------------------------- settled_epoch
def test_settled_epoch_is_the_first_full_window_strictly_below_the_threshold():
    distances = [0.3, 0.05, 0.2, 0.04, 0.1, 0.03, 0.02, 0.01]
    assert settled_epoch(distances, 0.1, 2) == 7  # epochs 4-5 do not count: 0.1 is not < 0.1
    assert settled_epoch(distances, 0.11, 2) == 5
    assert settled_epoch(distances, 0.1, 1) == 2
    assert settled_epoch(distances, 1.0, 3) == 3
    assert settled_epoch(distances, 0.0, 1) is None
    assert settled_epoch(distances, 0.1, 9) is None
    with pytest.raises(ValueError, match="window"):
        settled_epoch(distances, 0.1, 0)
    with pytest.raises(ValueError, match="threshold"):
        settled_epoch(distances, 1.5, 2)


# --------------------------------------------------------------------------- early_bird
def test_early_bird_distances_are_those_of_the_magnitude_masks_of_every_epoch(digits, drawn):
    before, _, eb = drawn
    steps = _steps(digits)
    assert sorted(eb.result.snapshots) == [e * steps for e in range(MAX_EPOCHS + 1)]
    probe = copy.deepcopy(before)
    masks = []
    for e in range(MAX_EPOCHS + 1):
        probe.load_state_dict(eb.result.snapshots[e * steps])
        masks.append(magnitude_masks(probe, SPARSITY, scope="global"))
    expected = []
    for m0, m1 in zip(masks, masks[1:], strict=False):
        differ = sum(int((m0[n] != m1[n]).sum()) for n in m0)
        expected.append(differ / sum(m.numel() for m in m0.values()))
    assert eb.distances == pytest.approx(expected, abs=1e-15)
    assert len(eb.distances) == MAX_EPOCHS
    assert all(0 < d < 2 * (1 - SPARSITY) for d in eb.distances)  # the masks move, within the bound


def test_early_bird_with_threshold_one_draws_after_the_first_window(digits, drawn):
    before, net, eb = drawn
    steps = _steps(digits)
    assert isinstance(eb, EarlyBird) and eb.found
    assert eb.draw_epoch == WINDOW and eb.draw_iteration == WINDOW * steps
    probe = copy.deepcopy(before)
    probe.load_state_dict(eb.result.snapshots[WINDOW * steps])
    ticket = magnitude_masks(probe, SPARSITY, scope="global")
    assert list(eb.masks) == list(ticket) and all(torch.equal(eb.masks[n], ticket[n]) for n in ticket)
    total = sum(m.numel() for m in eb.masks.values())
    assert sum(int((~m).sum()) for m in eb.masks.values()) == round(SPARSITY * total)
    for name, value in before.state_dict().items():  # the ticket trains from the initial weights
        assert torch.equal(eb.init_state[name], value)
    for name, value in net.state_dict().items():  # the model was trained in place, to max_epochs
        assert torch.equal(value, eb.result.snapshots[MAX_EPOCHS * steps][name])
    assert eb.result.iterations[-1] == MAX_EPOCHS * steps


def test_early_bird_draws_at_the_first_window_below_a_threshold_between_the_distances(digits, drawn):
    distances = drawn[2].distances
    threshold = sorted(distances)[-2] + 1e-12  # only the largest distance is not below it
    eb = _run(digits, threshold=threshold)
    assert eb.distances == distances  # same seed, same run
    expected = next(e for e in range(WINDOW, MAX_EPOCHS + 1) if max(distances[e - WINDOW : e]) < threshold)
    assert eb.found and eb.draw_epoch == expected and eb.draw_iteration == expected * _steps(digits)
    assert expected > WINDOW  # the largest distance is early: a later window than with threshold 1


def test_early_bird_that_never_fires_takes_the_mask_after_max_epochs(digits):
    eb = _run(digits, threshold=0.0, scope="layer")
    steps = _steps(digits)
    assert not eb.found and eb.draw_epoch == MAX_EPOCHS and eb.draw_iteration == MAX_EPOCHS * steps
    probe = _net()
    probe.load_state_dict(eb.result.snapshots[MAX_EPOCHS * steps])
    ticket = magnitude_masks(probe, SPARSITY, scope="layer")
    for name, mask in eb.masks.items():
        assert torch.equal(mask, ticket[name])
        assert int((~mask).sum()) == round(SPARSITY * mask.numel())  # layer-wise: exact per layer


@pytest.mark.parametrize(
    "kw, error, words",
    [
        (dict(window=7), ValueError, "window must be an int in [1, max_epochs=6]"),
        (dict(window=0), ValueError, "window"),
        (dict(max_epochs=0), ValueError, "max_epochs"),
        (dict(threshold=-0.1), ValueError, "threshold"),
        (dict(threshold="0.1"), TypeError, "threshold"),
        (dict(scope="row"), ValueError, "scope"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(progress=1), TypeError, "progress"),
        (dict(threads=0), ValueError, "threads"),
    ],
)
def test_early_bird_rejects_bad_arguments_before_training(digits, kw, error, words):
    net = _net()
    before = copy.deepcopy(net.state_dict())
    with pytest.raises(error) as info:
        _run(digits, net, **kw)
    assert words in str(info.value)
    assert all(torch.equal(v, before[n]) for n, v in net.state_dict().items())


def test_early_bird_rejects_a_bad_sparsity_model_or_data(digits):
    with pytest.raises(ValueError, match="sparsity"):
        early_bird(_net(), digits, 1.5, progress=False)
    with pytest.raises(TypeError, match="model"):
        early_bird("net", digits, 0.5, progress=False)
    with pytest.raises(TypeError, match="data"):
        early_bird(_net(), digits.train, 0.5, progress=False)


# --------------------------------------------------------------------------- draw_early_bird
@pytest.mark.parametrize(("sparsity", "scope"), [(0.5, "global"), (0.95, "layer")])
def test_draw_early_bird_is_early_bird_at_another_sparsity_without_training_again(digits, drawn, sparsity, scope):
    _, _, eb = drawn
    distances = _run(digits, threshold=1.0, scope=scope, max_epochs=MAX_EPOCHS).distances  # any run: same seed
    threshold = sorted(distances)[-2] + 1e-12
    again = early_bird(_net(), digits, sparsity, threshold=threshold, window=WINDOW, max_epochs=MAX_EPOCHS,
                       lr=1e-2, progress=False, scope=scope)  # fmt: skip
    drawn_here = draw_early_bird(_net(), eb, sparsity, threshold=threshold, window=WINDOW, scope=scope)
    assert drawn_here.distances == again.distances
    assert (drawn_here.found, drawn_here.draw_epoch, drawn_here.draw_iteration) == (
        again.found, again.draw_epoch, again.draw_iteration)  # fmt: skip
    assert all(torch.equal(drawn_here.masks[n], again.masks[n]) for n in again.masks)
    assert drawn_here.result is eb.result  # the same dense run, not a new one


def test_draw_early_bird_rejects_bad_arguments(drawn):
    _, _, eb = drawn
    with pytest.raises(TypeError, match="bird must be an EarlyBird"):
        draw_early_bird(_net(), eb.result, 0.5, threshold=0.1, window=2)
    with pytest.raises(ValueError, match="window must be an int in \\[1, the run's 6 epochs\\]"):
        draw_early_bird(_net(), eb, 0.5, threshold=0.1, window=MAX_EPOCHS + 1)
    with pytest.raises(ValueError, match="scope"):
        draw_early_bird(_net(), eb, 0.5, threshold=0.1, window=2, scope="rows")
    with pytest.raises(ValueError, match="threshold"):
        draw_early_bird(_net(), eb, 0.5, threshold=1.5, window=2)
