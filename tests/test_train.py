"""course_lib.train: seeded training that keeps pruned weights exactly zero; stacked == single."""

import copy

import pytest
import torch
from torch import nn

from course_lib.pruning.magnitude import magnitude_mask
from course_lib.training.data import load
from course_lib.training.models import mlp
from course_lib.training.stacked import train_many
from course_lib.training.train import mask_optimizer_state, num_threads, train

DATA = load("digits")
SIZES = [64, 24, 16, 10]


def _masks(net, sparsity=0.6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {n: torch.rand(p.shape, generator=gen) > sparsity for n, p in net.named_parameters() if p.dim() == 2}


def _zero_where_pruned(state, masks):
    return all(bool((state[n][~m] == 0).all()) for n, m in masks.items())


@pytest.mark.parametrize("opt, lr", [("adam", 5e-3), ("sgd", 0.05)])
def test_pruned_weights_stay_exactly_zero_at_every_step(opt, lr):
    net = mlp(SIZES, seed=0)
    masks = _masks(net)
    total = 3 * 18
    run = train(
        net, DATA, masks, epochs=3, lr=lr, optimizer=opt, momentum=0.9, progress=False, save_at=range(0, total + 1)
    )
    assert sorted(run.snapshots) == list(range(total + 1))
    assert all(_zero_where_pruned(s, masks) for s in run.snapshots.values())
    assert _zero_where_pruned(net.state_dict(), masks)
    # the kept weights did train
    assert not torch.equal(run.snapshots[0]["fc1.weight"], net.fc1.weight.detach())
    assert run.final_test_acc > run.test_acc[0] + 10  # it learned


@pytest.mark.parametrize("opt, lr", [("adam", 5e-3), ("sgd", 0.05)])
def test_stacked_keeps_zeros_too(opt, lr):
    nets = [mlp(SIZES, seed=s) for s in range(3)]
    masks = [_masks(n, seed=s) for s, n in enumerate(nets)]
    runs = train_many(
        nets, DATA, masks, seeds=[0, 1, 2], epochs=2, lr=lr, optimizer=opt, progress=False, save_at=[1, 7, 36]
    )
    for net, m, r in zip(nets, masks, runs, strict=False):
        assert _zero_where_pruned(net.state_dict(), m)
        assert all(_zero_where_pruned(s, m) for s in r.snapshots.values())


def test_momentum_would_revive_pruned_weights_without_masking():
    """Prune in the middle of SGD-momentum training: the momentum buffer moves pruned weights
    unless the optimizer state (and gradients) are masked, which train() does."""
    net = mlp(SIZES, seed=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    train(net, DATA, epochs=1, optimizer=opt, progress=False)  # momentum buffers are now nonzero
    masks = {"fc1.weight": magnitude_mask(net.fc1.weight, 0.5)}
    naive = copy.deepcopy(net)
    naive_opt = torch.optim.SGD(naive.parameters(), lr=0.05, momentum=0.9)
    naive_opt.load_state_dict(opt.state_dict())
    with torch.no_grad():
        naive.fc1.weight.mul_(masks["fc1.weight"])  # prune once, then step naively
    x, y = DATA.train.x[:60], DATA.train.y[:60]
    nn.functional.cross_entropy(naive(x), y).backward()
    naive_opt.step()
    assert (naive.fc1.weight[~masks["fc1.weight"]] != 0).any()  # revived by momentum
    train(net, DATA, masks, epochs=1, optimizer=opt, progress=False)  # same optimizer, masked state
    assert (net.fc1.weight[~masks["fc1.weight"]] == 0).all()
    buf = opt.state[net.fc1.weight]["momentum_buffer"]
    assert (buf[~masks["fc1.weight"]] == 0).all()


def test_mask_optimizer_state_zeroes_adam_moments():
    w = nn.Parameter(torch.ones(4))
    opt = torch.optim.Adam([w], lr=0.1)
    w.grad = torch.ones(4)
    opt.step()
    pruned = torch.tensor([True, False, True, False])
    mask_optimizer_state(opt, {w: pruned})
    assert (opt.state[w]["exp_avg"][pruned] == 0).all() and (opt.state[w]["exp_avg_sq"][pruned] == 0).all()
    assert (opt.state[w]["exp_avg"][~pruned] != 0).all()


@pytest.mark.parametrize("opt, lr", [("adam", 5e-3), ("sgd", 0.05)])
def test_stacked_path_agrees_with_single_runs(opt, lr):
    seeds = [0, 1, 2]
    nets = [mlp(SIZES, seed=10 + s) for s in seeds]
    masks = [_masks(n, seed=s) for s, n in enumerate(nets)]
    masks[1] = None  # a dense run among sparse ones
    single = [copy.deepcopy(n) for n in nets]
    stacked = [copy.deepcopy(n) for n in nets]
    kw = dict(epochs=2, lr=lr, optimizer=opt, progress=False, eval_every=5)
    runs_single = [train(n, DATA, m, seed=s, **kw) for n, m, s in zip(single, masks, seeds, strict=False)]
    runs_stacked = train_many(stacked, DATA, masks, seeds=seeds, **kw)
    for a, b, ra, rb in zip(single, stacked, runs_single, runs_stacked, strict=False):
        for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=False):
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4, msg=name)
        assert ra.iterations == rb.iterations
        torch.testing.assert_close(torch.tensor(ra.val_loss), torch.tensor(rb.val_loss), atol=1e-4, rtol=1e-4)
        assert max(abs(x - y) for x, y in zip(ra.test_acc, rb.test_acc, strict=False)) <= 0.6  # at most 2 of 359 flips
        assert ra.early_stop_iter == rb.early_stop_iter


def test_stacked_path_agrees_with_weight_decay_bias_masks_and_one_layer():
    """Adam with weight decay, a mask on a bias too, and a one-layer net (its logits come straight
    from the shared-input evaluation product): stacked == single, and pruned entries stay zero."""
    for sizes in (SIZES, [64, 10]):
        nets = [mlp(sizes, seed=20 + s) for s in range(2)]
        masks = [_masks(n, seed=s) for s, n in enumerate(nets)]
        masks[0][f"fc{len(sizes) - 1}.bias"] = torch.arange(10) % 3 != 0  # prune 4 of 10 output biases
        single = [copy.deepcopy(n) for n in nets]
        stacked = [copy.deepcopy(n) for n in nets]
        kw = dict(epochs=2, lr=5e-3, weight_decay=1e-2, progress=False)
        runs_single = [train(n, DATA, m, seed=s, **kw) for s, (n, m) in enumerate(zip(single, masks, strict=False))]
        runs_stacked = train_many(stacked, DATA, masks, seeds=[0, 1], **kw)
        for a, b, m, ra, rb in zip(single, stacked, masks, runs_single, runs_stacked, strict=False):
            assert _zero_where_pruned(b.state_dict(), m) and _zero_where_pruned(a.state_dict(), m)
            for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=False):
                torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4, msg=name)
            torch.testing.assert_close(torch.tensor(ra.val_loss), torch.tensor(rb.val_loss), atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(
                torch.tensor(ra.train_loss[1:]), torch.tensor(rb.train_loss[1:]), atol=1e-4, rtol=1e-4
            )


class _Drift(torch.optim.SGD):
    """SGD that also moves every weight by a constant: zero gradients alone would not keep zeros."""

    def step(self, closure=None):
        super().step(closure)
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(0.01)


def test_an_optimizer_passed_in_has_its_weights_masked_after_every_step():
    net = mlp(SIZES, seed=0)
    masks = _masks(net)
    run = train(
        net, DATA, masks, epochs=1, optimizer=_Drift(net.parameters(), lr=0.05), progress=False, save_at=range(0, 19)
    )
    assert all(_zero_where_pruned(s, masks) for s in run.snapshots.values())
    assert all(bool((p.grad[~masks[n]] == 0).all()) for n, p in net.named_parameters() if n in masks)


def test_same_seed_same_run_other_seed_other_order():
    runs, nets = [], []
    for seed in (0, 0, 1):
        net = mlp(SIZES, seed=0)
        runs.append(train(net, DATA, epochs=1, lr=5e-3, seed=seed, progress=False))
        nets.append(net)
    assert all(torch.equal(p, q) for p, q in zip(nets[0].parameters(), nets[1].parameters(), strict=False))
    assert runs[0].val_loss == runs[1].val_loss and runs[0].test_acc == runs[1].test_acc
    assert not torch.equal(nets[0].fc1.weight, nets[2].fc1.weight)


def test_record_early_stopping_and_snapshots():
    net = mlp(SIZES, seed=0)
    init = copy.deepcopy(net.state_dict())
    run = train(net, DATA, epochs=3, lr=5e-3, eval_every=10, save_at=[0, 7], progress=False)
    assert run.iterations == [0, 10, 20, 30, 40, 50, 54]
    assert len(run.val_loss) == len(run.val_acc) == len(run.test_acc) == len(run.train_loss) == 7
    best = min(range(7), key=lambda i: run.val_loss[i])
    assert run.early_stop_iter == run.iterations[best] and run.early_stop_test_acc == run.test_acc[best]
    assert run.final_test_acc == run.test_acc[-1] and 0 <= run.final_test_acc <= 100
    assert all(torch.equal(init[k], v) for k, v in run.snapshots[0].items())
    assert not torch.equal(run.snapshots[7]["fc1.weight"], init["fc1.weight"])
    d = run.to_dict()
    assert d["train_loss"][0] is None and "snapshots" not in d


def test_threads_are_restored():
    before = torch.get_num_threads()
    train(mlp(SIZES), DATA, epochs=1, threads=1, progress=False)
    assert torch.get_num_threads() == before
    train_many([mlp(SIZES)], DATA, epochs=1, threads=1, progress=False)
    assert torch.get_num_threads() == before
    with num_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_bad_arguments_leave_the_model_untouched():
    net = mlp(SIZES, seed=0)
    before = copy.deepcopy(net.state_dict())
    bad_masks = {"fc1.weight": torch.zeros(24, 64, dtype=torch.bool), "fc2.weight": torch.ones(3, 3, dtype=torch.bool)}
    with pytest.raises(ValueError, match="masks\\['fc2.weight'\\]"):
        train(net, DATA, bad_masks, progress=False)
    with pytest.raises(ValueError, match="unknown parameter"):
        train(net, DATA, {"fc9.weight": torch.ones(1, dtype=torch.bool)}, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train(net, DATA, epochs=0, progress=False)
    with pytest.raises(ValueError, match="optimizer"):
        train(net, DATA, optimizer="rmsprop", progress=False)
    with pytest.raises(ValueError, match="lr"):
        train(net, DATA, lr=-1, progress=False)
    with pytest.raises(ValueError, match="save_at"):
        train(net, DATA, epochs=1, save_at=[1000], progress=False)
    with pytest.raises(TypeError, match="Dataset"):
        train(net, (DATA.train.x, DATA.train.y), progress=False)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train("lenet", DATA, progress=False)
    with pytest.raises(ValueError, match="does not accept the data.*shape \\(2, 8, 8\\)"):
        train(nn.Linear(64, 10), DATA, progress=False)  # any module, but it must take the inputs
    with pytest.raises(ValueError, match="logits"):
        train(nn.Sequential(nn.Flatten(), nn.Linear(64, 5)), DATA, progress=False)  # labels go up to 9
    with pytest.raises(ValueError, match="device='cuda:7'"):
        train(net, DATA, device="cuda:7", progress=False)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    with pytest.raises(ValueError, match="same layer shapes"):
        train_many([mlp(SIZES), mlp([64, 10])], DATA, progress=False)
    with pytest.raises(ValueError, match="one int per model"):
        train_many([mlp(SIZES), mlp(SIZES)], DATA, seeds=[0], progress=False)


def test_train_many_takes_one_seed_per_model_not_one_int():
    """``seeds`` always holds the seeds themselves (lottery_study's int is how many, 0..n-1)."""
    with pytest.raises(TypeError, match=r"one int per model.*\[s\] \* len\(models\)"):
        train_many([mlp(SIZES), mlp(SIZES)], DATA, seeds=3, epochs=1, progress=False)
    a = train_many([mlp(SIZES)], DATA, epochs=1, progress=False)[0]
    b = train_many([mlp(SIZES)], DATA, seeds=[0], epochs=1, progress=False)[0]
    assert a.test_acc == b.test_acc
