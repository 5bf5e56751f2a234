"""course_lib.study: what notebooks 04 and 05 measure on top of finetune/lottery."""

import copy
import math

import pytest
import torch
from test_lottery import DATA, SMALL  # the same small study the engine tests use

from course_lib.experiments.analysis import (
    digits_as_mnist,
    input_keep_fraction,
    iteration_to_reach,
    mean_std,
    paired_gap,
    pruned_accuracy,
    pruned_accuracy_curve,
    tolerable_sparsity,
    transfer_target,
    transfer_ticket,
    weight_movement,
)
from course_lib.experiments.finetune import magnitude_masks
from course_lib.experiments.lottery import lottery_study, make_model
from course_lib.pruning.masks import apply_masks
from course_lib.training.data import load
from course_lib.training.train import TrainResult, evaluate, train


@pytest.fixture(scope="module")
def study():
    return lottery_study(DATA, keep_history=True, **SMALL)


def test_transfer_ticket_trains_the_source_masks_on_the_target(study):
    h = study
    target = load("digits", seed=3)
    runs = transfer_ticket(h, 2, target)
    assert sorted(runs) == ["dense", "random_prune", "reinit", "ticket"]
    assert all(len(v) == 2 for v in runs.values())
    # the ticket's run on the source and on the target start from the same weights but see other data
    assert (
        runs["ticket"][0].test_acc[0] != h.runs[("ticket", 2)][0].test_acc[0]
        or runs["ticket"][0].test_acc[-1] != h.runs[("ticket", 2)][0].test_acc[-1]
    )
    # on the source data, the transferred ticket's run is the study's run
    again = transfer_ticket(h, 2, DATA, variants=["ticket"], dense=False)
    assert again["ticket"][0].test_acc == pytest.approx(h.runs[("ticket", 2)][0].test_acc, abs=0.2)
    with pytest.raises(ValueError, match="round"):
        transfer_ticket(h, 5, target)
    with pytest.raises(ValueError, match="input features"):
        transfer_ticket(h, 1, load("mnist1d"))
    with pytest.raises(TypeError, match="keep_history"):
        transfer_ticket(lottery_study(DATA, model="8", rounds=1, seeds=1, epochs=1, progress=False), 1, target)


def test_transfer_targets():
    d = digits_as_mnist()
    assert d.input_shape == (28, 28) and d.num_classes == 10
    pixels = d.train.x * d.std + d.mean
    assert float(pixels.min()) >= -1e-5 and float(pixels.max()) <= 1 + 1e-5
    assert float(pixels[:, :4].abs().max()) < 1e-5  # the 4-pixel frame is empty, as in MNIST
    assert transfer_target("mnist1d").name == "mnist1d-regenerated"
    assert not torch.equal(transfer_target("mnist1d").train.x[:5], load("mnist1d").train.x[:5])
    with pytest.raises(ValueError, match="name"):
        transfer_target("digits")


def test_pruned_accuracy_prunes_a_copy():
    net = make_model("32", 64, 10, seed=0)
    train(net, DATA, epochs=2, lr=5e-3, progress=False)
    before = copy.deepcopy(net.state_dict())
    pruned = copy.deepcopy(net)
    apply_masks(pruned, magnitude_masks(pruned, 0.7, "global"))
    assert pruned_accuracy(net, DATA.test, 0.7, "global") == evaluate(pruned, DATA.test)[1]
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    curve = pruned_accuracy_curve(net, DATA.test, [0.0, 0.5, 1.0])
    assert curve[0] == evaluate(net, DATA.test)[1] and curve[2] < 30
    with pytest.raises(ValueError):
        pruned_accuracy(net, DATA.test, 1.5)


def test_spread_helpers():
    assert mean_std([2.0, 4.0]) == (3.0, 1.0)
    assert paired_gap([3.0, 5.0], [1.0, 4.0]) == (1.5, 0.5, 1.0)
    with pytest.raises(ValueError):
        paired_gap([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        mean_std([])


def test_tolerable_sparsity_stops_at_the_first_drop():
    assert tolerable_sparsity([0.9, 0.5, 0.8], [80.0, 95.0, 94.5], 95.0) == 0.8  # order does not matter
    assert tolerable_sparsity([0.5], [90.0], 95.0) == 0.0
    assert tolerable_sparsity([0.5, 0.9], [95.0, 95.0], 95.0, drop=0.0) == 0.9


def test_input_keep_fraction():
    mask = torch.zeros(3, 4, dtype=torch.bool)
    mask[:, 0] = True
    mask[0, 3] = True
    assert input_keep_fraction(mask).tolist() == pytest.approx([1.0, 0.0, 0.0, 1 / 3])
    assert input_keep_fraction(mask, (2, 2)).shape == (2, 2)
    with pytest.raises(ValueError, match="input_shape"):
        input_keep_fraction(mask, (3, 3))
    with pytest.raises(TypeError):
        input_keep_fraction(mask.float())


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
