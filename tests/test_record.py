"""course_lib.training.record: the one recorder both trainers share, tested on its own.

A fake evaluator and fake weights make every recorded number known in advance, so each
assertion checks the recorder's bookkeeping (when it evaluates, what train loss it
averages, which iterations it snapshots), not the trainers."""

import math

import pytest
import torch

from course_lib.training.config import train_config
from course_lib.training.data import Split
from course_lib.training.record import Recorder, TrainResult

VAL = Split(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))
TEST = Split(torch.ones(3, 2), torch.zeros(3, dtype=torch.long))


class FakeRuns:
    """K runs whose 'loss' on a split is the number of evaluations so far (val) or minus it (test),
    and whose weights are one tensor holding the step count."""

    def __init__(self, k):
        self.k, self.calls, self.steps = k, [], 0

    def evaluate(self, split):
        self.calls.append("val" if split is VAL else "test")
        n = len(self.calls)
        sign = 1.0 if split is VAL else -1.0
        return [sign * n + r for r in range(self.k)], [10.0 * n + r for r in range(self.k)]

    def state(self):
        return [{"w": torch.tensor([float(self.steps), float(r)])} for r in range(self.k)]


def _cfg(n_train=10, batch_size=3, epochs=2, eval_every=None, save_at=()):
    return train_config(
        epochs=epochs,
        lr=0.1,
        batch_size=batch_size,
        optimizer="sgd",
        n_train=n_train,
        eval_every=eval_every,
        save_at=save_at,
    )


def _run(recorder, runs, losses_per_step):
    recorder.start()
    for it, losses in enumerate(losses_per_step, start=1):
        runs.steps = it
        recorder.step(it, losses)


def test_evaluates_at_zero_every_eval_every_and_at_the_end():
    cfg = _cfg(eval_every=3)  # 4 steps per epoch, 8 in all: evaluations at 0, 3, 6, 8
    runs = FakeRuns(1)
    rec = Recorder([7], cfg, runs.evaluate, runs.state, VAL, TEST)
    _run(rec, runs, [torch.tensor([1.0])] * cfg.total)
    (r,) = rec.finish(seconds=2.0)
    assert r.seed == 7 and r.iterations == [0, 3, 6, 8]
    assert runs.calls == ["val", "test"] * 4  # validation first, then test, at each evaluation
    assert r.val_loss == [1.0, 3.0, 5.0, 7.0] and r.test_acc == [20.0, 40.0, 60.0, 80.0]
    assert r.val_acc == [10.0, 30.0, 50.0, 70.0] and r.seconds == 2.0


def test_train_loss_is_the_mean_since_the_last_evaluation_and_nan_at_zero():
    cfg = _cfg(eval_every=3)
    runs = FakeRuns(2)
    rec = Recorder([0, 1], cfg, runs.evaluate, runs.state, VAL, TEST)
    losses = [torch.tensor([float(i), 10.0 * i]) for i in range(1, cfg.total + 1)]
    _run(rec, runs, losses)
    a, b = rec.finish(seconds=4.0)
    assert math.isnan(a.train_loss[0]) and math.isnan(b.train_loss[0])
    assert a.train_loss[1:] == [2.0, 5.0, 7.5]  # mean of (1,2,3), (4,5,6), (7,8)
    assert b.train_loss[1:] == [20.0, 50.0, 75.0]
    assert a.seconds == b.seconds == 2.0  # the time of both runs, shared
    assert a.to_dict()["train_loss"][0] is None


def test_losses_are_summed_in_their_own_dtype():
    """train() hands float64 losses (as Python floats summed them), train_many float32: the
    recorder must not change the precision of either."""
    cfg = _cfg(n_train=3, batch_size=1, epochs=1)  # 3 steps, one evaluation at the end
    big, small = 1.0, 2.0**-24  # small is lost when added to 1.0 in float32, kept in float64
    for dtype in (torch.float32, torch.float64):
        runs = FakeRuns(1)
        rec = Recorder([0], cfg, runs.evaluate, runs.state, VAL, TEST)
        _run(rec, runs, [torch.tensor([x], dtype=dtype) for x in (big, small, small)])
        expected = (big + 2 * small) / 3 if dtype == torch.float64 else big / 3
        assert rec.finish(0.0)[0].train_loss[1] == expected


def test_snapshots_only_at_save_at_with_each_runs_weights():
    cfg = _cfg(save_at=[0, 2, 8])
    runs = FakeRuns(2)
    rec = Recorder([0, 1], cfg, runs.evaluate, runs.state, VAL, TEST)
    _run(rec, runs, [torch.zeros(2)] * cfg.total)
    for k, r in enumerate(rec.finish(0.0)):
        assert sorted(r.snapshots) == [0, 2, 8]
        assert all(torch.equal(r.snapshots[it]["w"], torch.tensor([float(it), float(k)])) for it in (0, 2, 8))


def test_early_stopping_is_the_first_minimal_validation_loss():
    r = TrainResult(seed=0, iterations=[0, 5, 10, 15], val_loss=[3.0, 1.0, 1.0, 2.0], test_acc=[10, 60, 70, 65])
    assert r.early_stop_index == 1 and r.early_stop_iter == 5 and r.early_stop_test_acc == 60
    assert r.final_test_acc == 65


def test_one_evaluator_result_per_run_is_required():
    cfg = _cfg()
    runs = FakeRuns(1)  # says one number per split, for two runs
    rec = Recorder([0, 1], cfg, runs.evaluate, runs.state, VAL, TEST)
    with pytest.raises(ValueError, match="one loss and one accuracy per run"):
        rec.start()
    assert all(r.iterations == [] for r in rec.results)  # nothing half-recorded
