"""course_lib.pruning.schedules: pure schedules that hit their targets exactly."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.masks import n_to_prune
from course_lib.pruning.schedules import (
    cubic_schedule,
    cubic_sparsity,
    density_after,
    iterative_densities,
    iterative_sparsities,
    layer_rates,
    layer_sparsities,
    rate_for_density,
    rounds_for_density,
    step_rates,
    step_sparsities,
)
from course_lib.training.models import lenet_300_100


def test_iterative_prunes_a_fraction_of_the_remaining_weights():
    assert iterative_densities(0.2, 3) == [1.0, 0.8, 0.8**2, 0.8**3]
    assert iterative_sparsities(0.5, 3) == [0.0, 0.5, 0.75, 0.875]
    assert density_after(0.4, 8) == 0.6**8
    d = iterative_densities(0.36, 5)
    assert all(math.isclose(b / a, 0.64) for a, b in zip(d, d[1:], strict=False))


@given(st.floats(0.01, 0.99), st.integers(1, 30))
def test_rate_for_density_reaches_the_target(density, rounds):
    rate = rate_for_density(density, rounds)
    assert math.isclose(density_after(rate, rounds), density, rel_tol=1e-9)
    assert density_after(rate, rounds_for_density(rate, density)) <= density * (1 + 1e-12)


def test_rounds_for_density():
    assert rounds_for_density(0.2, 0.8) == 1 and rounds_for_density(0.5, 0.25) == 2
    assert rounds_for_density(0.4, 0.02) == 8  # the CLI default: 0.6**8 = 1.7%


def test_layer_rates_prune_the_output_layer_at_half_rate():
    names = ["fc1.weight", "fc2.weight", "fc3.weight"]
    assert layer_rates(names, 0.2) == {"fc1.weight": 0.2, "fc2.weight": 0.2, "fc3.weight": 0.1}
    assert layer_rates(names, 0.2, output_rate=0.05)["fc3.weight"] == 0.05
    assert layer_rates(["w"], 0.3) == {"w": 0.15}
    assert layer_sparsities({"a": 0.5, "b": 0.25}, 3) == {"a": 0.875, "b": 1 - 0.75**3}


def test_masks_hit_the_per_layer_targets_exactly_round_after_round():
    net = lenet_300_100(seed=0)
    rates = layer_rates(["fc1.weight", "fc2.weight", "fc3.weight"], 0.4)
    params = dict(net.named_parameters())
    masks = None
    gen = torch.Generator().manual_seed(0)
    for rnd in range(1, 9):
        with torch.no_grad():  # new weights each round, as training would give
            for p in params.values():
                p.add_(torch.randn(p.shape, generator=gen) * 0.01)
        new = magnitude_masks(net, layer_sparsities(rates, rnd), prior=masks)
        for name, m in new.items():
            target = 1 - (1 - rates[name]) ** rnd
            assert int((~m).sum()) == n_to_prune(target, m.numel())
            if masks is not None:
                assert not (m & ~masks[name]).any()  # what is pruned stays pruned
        masks = new
    kept = sum(int(m.sum()) for m in masks.values()) / sum(m.numel() for m in masks.values())
    assert 0.017 < kept < 0.018  # about 2% of the weights remain after 8 rounds at 40%


def test_cubic_schedule_hits_start_and_end_exactly():
    assert cubic_sparsity(0, 0.9, 0.1, start_step=0, n_prunes=7) == 0.1
    assert cubic_sparsity(7, 0.9, 0.1, start_step=0, n_prunes=7) == 0.9
    assert cubic_sparsity(1000, 0.9, 0.1, n_prunes=7) == 0.9
    assert cubic_sparsity(5, 0.9, 0.1, start_step=10, n_prunes=7) == 0.1  # before t0
    # between pruning steps the sparsity holds
    assert cubic_sparsity(105, 0.8, start_step=100, n_prunes=4, frequency=10) == 0.0
    assert cubic_sparsity(119, 0.8, start_step=100, n_prunes=4, frequency=10) == cubic_sparsity(
        110, 0.8, start_step=100, n_prunes=4, frequency=10
    )
    sched = cubic_schedule(0.8, start_step=100, n_prunes=4, frequency=10)
    assert [t for t, _ in sched] == [100, 110, 120, 130, 140]
    assert sched[0][1] == 0.0 and sched[-1][1] == 0.8
    for k, (_, s) in enumerate(sched):
        assert math.isclose(s, 0.8 + (0 - 0.8) * (1 - k / 4) ** 3, abs_tol=1e-15)


@given(st.floats(0, 1), st.integers(1, 50), st.integers(1, 20))
def test_cubic_is_monotone_and_front_loaded(final, n, dt):
    values = [cubic_sparsity(t, final, 0.0, 0, n, dt) for t in range(0, n * dt + 1)]
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    steps = [s for _, s in cubic_schedule(final, 0.0, 0, n, dt)]
    gains = [b - a for a, b in zip(steps, steps[1:], strict=False)]
    assert all(
        g2 <= g1 + 1e-12 for g1, g2 in zip(gains, gains[1:], strict=False)
    )  # prunes fast first, slowly at the end


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="rate"):
        density_after(1.0, 2)
    with pytest.raises(ValueError, match="rounds"):
        iterative_densities(0.2, -1)
    with pytest.raises(ValueError, match="final_sparsity"):
        cubic_sparsity(0, 1.5)
    with pytest.raises(ValueError, match="n_prunes"):
        cubic_sparsity(0, 0.5, n_prunes=0)
    with pytest.raises(ValueError, match="names"):
        layer_rates([], 0.2)
    with pytest.raises(ValueError, match="density"):
        rate_for_density(0.0, 3)


def test_step_sparsities_end_at_the_target_and_the_cubic_one_is_gentler_at_the_end():
    same = step_sparsities(0.98, 4)
    cubic = step_sparsities(0.98, 4, "cubic")
    assert same[-1] == cubic[-1] == 0.98 and len(same) == len(cubic) == 4
    rates = step_rates(same)
    assert rates[:3] == pytest.approx([rate_for_density(0.02, 4)] * 3) and rates[-1] == pytest.approx(rates[0])
    # the cubic schedule keeps MORE after step 1 (43% vs 38% left) and prunes less in its last step
    assert 1 - cubic[0] > 1 - same[0] and step_rates(cubic)[-1] < rates[-1]
    assert cubic == [cubic_sparsity(k, 0.98, n_prunes=4) for k in range(1, 5)]
    assert step_sparsities(1.0, 3) == [1.0, 1.0, 1.0] and step_rates([0.5, 1.0, 1.0]) == [0.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="schedule"):
        step_sparsities(0.9, 3, "linear")
    with pytest.raises(ValueError, match="steps"):
        step_sparsities(0.9, 0)
    with pytest.raises(ValueError, match="decrease"):
        step_rates([0.5, 0.4])
    with pytest.raises(ValueError, match="at least one"):
        step_rates([])
