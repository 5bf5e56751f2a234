"""course_lib.study: what notebooks 04 and 05 measure on top of finetune/lottery."""
import copy
import math

import pytest
import torch

from course_lib.data import load
from course_lib.finetune import magnitude_masks
from course_lib.lottery import lottery_study, make_model
from course_lib.masks import apply_masks
from course_lib.study import (
    digits_as_mnist,
    input_keep_fraction,
    iteration_to_reach,
    lottery_with_history,
    mean_std,
    paired_gap,
    pruned_accuracy,
    pruned_accuracy_curve,
    tolerable_sparsity,
    transfer_target,
    transfer_ticket,
    weight_movement,
)
from course_lib.train import TrainResult, evaluate, train

DATA = load("digits")
SMALL = dict(model="24", rounds=2, seeds=2, rate=0.5, epochs=1, lr=5e-3, progress=False)


@pytest.fixture(scope="module")
def histories():
    return lottery_with_history(DATA, rewind_iters=(0, 7), **SMALL)


def _same_runs(a, b):
    for key in a.runs:
        for x, y in zip(a.runs[key], b.runs[key]):
            assert x.iterations == y.iterations
            assert x.test_acc == pytest.approx(y.test_acc, abs=0.2)   # one example of 359 = 0.28 points
            assert x.val_loss == pytest.approx(y.val_loss, abs=1e-4)


def test_lottery_with_history_gives_lottery_study_numbers(histories):
    _same_runs(lottery_study(DATA, **SMALL), histories[0].result)
    late = lottery_study(DATA, rewind_iter=7, variants=["ticket"], **SMALL)
    _same_runs(late, histories[7].result)
    assert histories[7].result.config["rewind_iter"] == 7
    assert histories[0].result.weights_remaining == late.weights_remaining


def test_history_keeps_masks_and_weights(histories):
    h = histories[0]
    assert sorted(h.masks) == sorted(h.final) == [0, 1, 2]
    for i in range(2):
        assert all(bool(m.all()) for m in h.masks[0][i].values())
        for r in (1, 2):
            for n, m in h.masks[r][i].items():
                assert not bool((m & ~h.masks[r - 1][i][n]).any())              # masks only shrink
                assert bool((h.final[r][i][n][~m] == 0).all())                  # pruned weights stayed zero
                assert not torch.equal(h.final[r][i][n], h.init[i][n] * m)      # and the kept ones trained
        # rewinding to 0 is the initialization; to 7 it is not
        assert all(torch.equal(h.rewind_state[i][n], h.init[i][n]) for n in h.init[i])
        assert not torch.equal(histories[7].rewind_state[i]["fc1.weight"], h.init[i]["fc1.weight"])
    # the dense networks were trained once and are shared
    assert histories[0].result.dense is histories[7].result.dense


def test_lottery_with_history_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rewind_iters"):
        lottery_with_history(DATA, rewind_iters=(0, 0), **SMALL)
    with pytest.raises(ValueError, match="iteration"):
        lottery_with_history(DATA, rewind_iters=(10_000,), **SMALL)
    with pytest.raises(ValueError, match="variants"):
        lottery_with_history(DATA, variants=["reinit"], **SMALL)


def test_transfer_ticket_trains_the_source_masks_on_the_target(histories):
    h = histories[0]
    target = load("digits", seed=3)
    runs = transfer_ticket(h, 2, target)
    assert sorted(runs) == ["dense", "random_prune", "reinit", "ticket"]
    assert all(len(v) == 2 for v in runs.values())
    # the ticket's run on the source and on the target start from the same weights but see other data
    assert runs["ticket"][0].test_acc[0] != h.result.runs[("ticket", 2)][0].test_acc[0] or \
        runs["ticket"][0].test_acc[-1] != h.result.runs[("ticket", 2)][0].test_acc[-1]
    with pytest.raises(ValueError, match="round"):
        transfer_ticket(h, 5, target)
    with pytest.raises(ValueError, match="input features"):
        transfer_ticket(h, 1, load("mnist1d"))


def test_transfer_targets():
    d = digits_as_mnist()
    assert d.input_shape == (28, 28) and d.num_classes == 10
    pixels = d.train.x * d.std + d.mean
    assert float(pixels.min()) >= -1e-5 and float(pixels.max()) <= 1 + 1e-5
    assert float(pixels[:, :4].abs().max()) < 1e-5          # the 4-pixel frame is empty, as in MNIST
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
    assert tolerable_sparsity([0.9, 0.5, 0.8], [80.0, 95.0, 94.5], 95.0) == 0.8   # order does not matter
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
