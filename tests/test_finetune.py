"""course_lib.experiments.finetune: prune-finetune, one-shot vs iterative, layer sensitivity."""

import copy

import pytest
import torch

from course_lib.experiments.finetune import (
    evaluation_split,
    layer_sensitivity,
    one_shot_vs_iterative,
    prune_finetune,
    train_prune_finetune,
    train_subset,
    train_test_gap,
)
from course_lib.experiments.lottery import make_model
from course_lib.pruning.masks import n_to_prune
from course_lib.pruning.schedules import step_sparsities
from course_lib.training.data import load
from course_lib.training.train import evaluate

DATA = load("digits")


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=False))


def test_prune_finetune_keeps_masks_and_recovers_accuracy(trained):
    before = copy.deepcopy(trained)
    results = prune_finetune(trained, DATA, [0.5, 0.95], epochs=2, lr=5e-3, progress=False)
    assert _same(before, trained)  # the given model is not changed
    for r in results:
        for name, m in r.masks.items():
            assert int((~m).sum()) == n_to_prune(r.sparsity, m.numel())
            assert (dict(r.model.named_parameters())[name][~m] == 0).all()
    hard = results[1]
    assert hard.pruned_acc < hard.dense_acc - 5  # 95% pruned hurts...
    assert hard.finetuned_acc > hard.pruned_acc + 5  # ...and fine-tuning recovers much of it
    glob = prune_finetune(trained, DATA, [0.9], epochs=1, scope="global", progress=False)[0]
    total = sum(m.numel() for m in glob.masks.values())
    assert sum(int((~m).sum()) for m in glob.masks.values()) == n_to_prune(0.9, total)
    with pytest.raises(ValueError, match="scope"):
        prune_finetune(trained, DATA, [0.5], scope="row", progress=False)
    with pytest.raises(ValueError, match="sparsities"):
        prune_finetune(trained, DATA, [], progress=False)


def test_train_prune_finetune_trains_a_copy():
    net = make_model("16", 64, 10, seed=0)
    before = copy.deepcopy(net)
    dense, results = train_prune_finetune(net, DATA, [0.8], train_epochs=2, epochs=1, lr=5e-3, progress=False)
    assert _same(before, net)
    assert results[0].dense_acc == dense.final_test_acc


def test_one_shot_vs_iterative_same_final_sparsity_and_budget(trained):
    before = copy.deepcopy(trained)
    res = one_shot_vs_iterative(trained, DATA, 0.9, steps=3, epochs_per_step=1, lr=5e-3, progress=False)
    assert _same(before, trained)
    assert res.epochs == [1, 2, 3]
    assert res.densities[0] > res.densities[1] > res.densities[2]
    for name, w in res.models["iterative"].named_parameters():
        if w.dim() == 2:  # both end at exactly the target sparsity, layer by layer
            shot = dict(res.models["one_shot"].named_parameters())[name]
            assert int((w == 0).sum()) == int((shot == 0).sum()) == n_to_prune(0.9, w.numel())
    assert res.densities[-1] == pytest.approx(0.1, abs=2e-3)
    assert len(res.one_shot_acc) == len(res.iterative_acc) == len(res.iterative_pruned_acc) == 3
    # the first iterative prune is gentler than the one-shot prune
    assert res.iterative_pruned_acc[0] >= res.one_shot_pruned_acc


def test_layer_sensitivity(trained):
    before = copy.deepcopy(trained)
    scan = layer_sensitivity(trained, DATA, [0.0, 0.5, 1.0])
    assert _same(before, trained)
    assert list(scan.acc) == ["fc1.weight", "fc2.weight", "fc3.weight"]
    assert scan.sizes == {"fc1.weight": 2048, "fc2.weight": 512, "fc3.weight": 160}
    for accs in scan.acc.values():
        assert accs[0] == scan.dense_acc and accs[2] < 30  # a fully pruned layer kills the network
    only = layer_sensitivity(trained, DATA, [0.5], layers=["fc2.weight"], split="test")
    assert list(only.acc) == ["fc2.weight"] and only.split == "test"
    with pytest.raises(ValueError, match="layers"):
        layer_sensitivity(trained, DATA, [0.5], layers=["fc1.bias"])


def test_evaluation_split():
    assert evaluation_split(DATA, "val") is DATA.val
    with pytest.raises(ValueError, match="split"):
        evaluation_split(DATA, "validation")


def test_one_shot_vs_iterative_follows_the_cubic_schedule(trained):
    res = one_shot_vs_iterative(trained, DATA, 0.9, steps=3, schedule="cubic", lr=5e-3, progress=False)
    assert res.schedule == "cubic"
    expected = [1 - s for s in step_sparsities(0.9, 3, "cubic")]
    assert res.densities == pytest.approx(expected, abs=2e-3)  # not the same-rate schedule's
    assert res.densities[0] != pytest.approx(1 - step_sparsities(0.9, 3)[0], abs=2e-3)
    with pytest.raises(ValueError, match="schedule"):
        one_shot_vs_iterative(trained, DATA, 0.9, steps=2, schedule="linear", progress=False)


def test_train_subset_and_train_test_gap(trained):
    small = train_subset(DATA, 50, seed=1)
    assert len(small.train) == 50 and small.test is DATA.test and small.val is DATA.val
    assert torch.equal(small.train.x, train_subset(DATA, 50, seed=1).train.x)  # same seed, same images
    assert not torch.equal(small.train.x, train_subset(DATA, 50, seed=2).train.x)
    rows = {tuple(r.tolist()) for r in DATA.train.x.flatten(1)}
    assert all(tuple(r.tolist()) in rows for r in small.train.x.flatten(1))
    with pytest.raises(ValueError, match="n_train"):
        train_subset(DATA, len(DATA.train) + 1)
    with pytest.raises(ValueError, match="n_train"):
        train_subset(DATA, 0)
    gap = train_test_gap(trained, DATA)
    assert gap == evaluate(trained, DATA.train)[1] - evaluate(trained, DATA.test)[1]
    assert gap > 0  # 8 epochs on 1,079 digits: it fits its training set better than the test set


def test_one_shot_vs_iterative_without_the_one_shot_copy_trains_the_same_iterative_network(trained):
    both = one_shot_vs_iterative(trained, DATA, 0.9, steps=2, schedule="cubic", lr=5e-3, progress=False)
    alone = one_shot_vs_iterative(
        trained, DATA, 0.9, steps=2, schedule="cubic", one_shot=False, lr=5e-3, progress=False
    )
    assert alone.one_shot_acc == [] and list(alone.models) == ["iterative"]
    assert alone.densities == both.densities and alone.iterative_pruned_acc == both.iterative_pruned_acc
    assert alone.iterative_acc == pytest.approx(both.iterative_acc, abs=0.3)  # stacked or alone: the same run
    with pytest.raises(TypeError, match="one_shot"):
        one_shot_vs_iterative(trained, DATA, 0.9, steps=2, one_shot=1, progress=False)
