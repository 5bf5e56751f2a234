"""course_lib.experiments.analysis: what notebooks 04 and 05 measure on top of the experiments."""

import copy
import math

import pytest
import torch

from course_lib.experiments import analysis
from course_lib.experiments.analysis import (
    input_density,
    iteration_to_reach,
    mean_std,
    pruned_accuracy,
    pruned_accuracy_curve,
    tolerable_sparsity,
    weight_movement,
)
from course_lib.experiments.lottery import make_model
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.masks import apply_masks
from course_lib.training.train import TrainResult, evaluate, train


def test_pruned_accuracy_prunes_a_copy(digits):
    net = make_model("32", 64, 10, seed=0)
    train(net, digits, epochs=2, lr=5e-3, progress=False)
    before = copy.deepcopy(net.state_dict())
    for scope in ("layer", "global"):
        pruned = copy.deepcopy(net)
        apply_masks(pruned, magnitude_masks(pruned, 0.7, scope=scope))
        assert pruned_accuracy(net, digits.test, 0.7, scope) == evaluate(pruned, digits.test)[1]
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    curve = pruned_accuracy_curve(net, digits.test, [0.0, 0.5, 1.0])
    assert curve[0] == evaluate(net, digits.test)[1] and curve[2] < 30
    with pytest.raises(ValueError):
        pruned_accuracy(net, digits.test, 1.5)


def test_mean_std_is_the_population_spread():
    assert mean_std([2.0, 4.0]) == (3.0, 1.0)
    assert mean_std([5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError):
        mean_std([])


def test_the_seed_verdict_lives_in_claims_only():
    """One verdict over seeds (issue 12): claims.compare; analysis no longer has its own."""
    assert not {"seed_verdict", "beyond_seed_spread", "paired_gap", "VERDICTS"} & set(dir(analysis))


def test_tolerable_sparsity_stops_at_the_first_drop():
    assert tolerable_sparsity([0.9, 0.5, 0.8], [80.0, 95.0, 94.5], 95.0) == 0.8  # order does not matter
    assert tolerable_sparsity([0.5], [90.0], 95.0) == 0.0
    assert tolerable_sparsity([0.5, 0.9], [95.0, 95.0], 95.0, drop=0.0) == 0.9
    with pytest.raises(ValueError, match="same number"):
        tolerable_sparsity([0.5, 0.9], [95.0], 95.0)


def test_input_density():
    mask = torch.zeros(3, 4, dtype=torch.bool)
    mask[:, 0] = True
    mask[0, 3] = True
    assert input_density(mask).tolist() == pytest.approx([1.0, 0.0, 0.0, 1 / 3])
    assert input_density(mask, (2, 2)).shape == (2, 2)
    with pytest.raises(ValueError, match="input_shape"):
        input_density(mask, (3, 3))
    with pytest.raises(TypeError):
        input_density(mask.float())


def test_weight_movement_on_known_cases():
    g = torch.Generator().manual_seed(0)
    w0 = torch.randn(50, generator=g)
    same = weight_movement(w0, w0.clone())
    assert same["relative_distance"] == 0 and same["correlation"] == pytest.approx(1.0) and same["sign_kept"] == 1
    flipped = weight_movement(w0, -w0)
    assert flipped["relative_distance"] == pytest.approx(2.0) and flipped["correlation"] == pytest.approx(-1.0)
    assert flipped["sign_kept"] == 0
    where = torch.arange(50) < 10
    part = weight_movement(w0, w0 + 1.0, where)
    assert part["count"] == 10
    assert part["relative_distance"] == pytest.approx(math.sqrt(10) / float(w0[:10].norm()))
    assert part["mean_abs_change"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        weight_movement(w0, w0[:10])
    with pytest.raises(TypeError):
        weight_movement(w0, w0, where.float())


def test_iteration_to_reach():
    r = TrainResult(seed=0, iterations=[0, 5, 10], val_acc=[10.0, 60.0, 55.0], test_acc=[9.0, 40.0, 70.0])
    assert iteration_to_reach(r, 60.0) == 5
    assert iteration_to_reach(r, 61.0) is None
    assert iteration_to_reach(r, 50.0, metric="test_acc") == 10
    with pytest.raises(ValueError):
        iteration_to_reach(r, 50.0, metric="loss")


def _curve(val):
    from course_lib.training.train import TrainResult

    return TrainResult(seed=0, iterations=[10 * i for i in range(len(val))], val_acc=list(val), test_acc=list(val))


def test_iterations_to_level_is_set_by_the_reference_run_of_each_seed():
    from course_lib.experiments.analysis import iterations_to_level

    dense = [_curve([10, 50, 60]), _curve([10, 30, 40])]
    ticket = [_curve([10, 58, 60]), _curve([10, 39, 40])]
    assert iterations_to_level(ticket, dense) == [10, 10]  # 57 of seed 0's 60; 38 of seed 1's 40
    assert iterations_to_level(dense, dense) == [20, 20]
    assert iterations_to_level([_curve([10, 20, 30])], [dense[0]]) == [None]
    with pytest.raises(ValueError, match="one run per seed"):
        iterations_to_level(ticket, dense[:1])
    with pytest.raises(ValueError, match="fraction"):
        iterations_to_level(ticket, dense, fraction=0.0)


def test_is_winning_ticket_needs_accuracy_and_speed():
    from course_lib.experiments.analysis import is_winning_ticket

    dense = [_curve([10, 40, 58, 60])]
    assert is_winning_ticket([_curve([10, 58, 59, 59.5])], dense)
    assert not is_winning_ticket([_curve([10, 58, 58, 58])], dense)  # 2 points lower
    assert is_winning_ticket([_curve([10, 58, 58, 58])], dense, drop=2.0)
    assert not is_winning_ticket([_curve([10, 20, 40, 60])], dense)  # 95% of 60 at 30, dense at 20
    assert is_winning_ticket([_curve([10, 20, 40, 60])], dense, slack=1.5)
    with pytest.raises(ValueError, match="slack"):
        is_winning_ticket(dense, dense, slack=0.5)
