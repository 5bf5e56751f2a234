"""course_lib.latency: sane statistics (no timing thresholds), interleaving, sweeps, break-even."""

import pytest
import torch
from torch import nn

from course_lib.measure.timing import (
    LatencyStats,
    break_even_sparsity,
    compare_latency,
    example_input,
    latency,
    speed_sweep,
)
from course_lib.training.models import mlp


def test_latency_stats_are_sane():
    net = mlp([16, 8, 4], seed=0)
    calls = []
    s = latency(lambda x: calls.append(1) or net(x), example_input(net, 64), warmup=2, repeats=7, number=3)
    assert len(calls) == 2 + 7 * 3
    assert len(s.times_s) == 7 and all(t > 0 for t in s.times_s)
    assert s.min_s <= s.q1_s <= s.median_s <= s.q3_s <= s.max_s
    assert s.spread >= 0 and s.median_ms == pytest.approx(1e3 * s.median_s)
    assert "ms" in str(s)


def test_quartiles_by_hand():
    s = LatencyStats((4.0, 1.0, 3.0, 2.0, 5.0))
    assert (s.min_s, s.q1_s, s.median_s, s.q3_s, s.max_s) == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert s.spread == pytest.approx(2 / 3)


def test_compare_latency_interleaves_and_uses_no_grad():
    order, grads = [], []

    def make(name):
        def f(x):
            order.append(name)
            grads.append(torch.is_grad_enabled())

        return f

    compare_latency({"a": make("a"), "b": make("b")}, torch.zeros(1), warmup=0, repeats=4)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert not any(grads)


def test_speed_sweep_shapes_and_speedups():
    sweep = speed_sweep(mlp([12, 8, 6, 3], seed=0), [0.5, 0.9], batch_size=4, repeats=3, warmup=1)
    assert sweep.sparsities == (0.5, 0.9) and sweep.batch_size == 4
    assert len(sweep.stats["dense"]) == 1 and all(
        len(sweep.stats[k]) == 2 for k in ("masked", "csr", "neurons removed")
    )
    dense = sweep.median_ms("dense")
    assert dense[0] == dense[1] > 0
    assert sweep.speedup("csr") == pytest.approx([d / c for d, c in zip(dense, sweep.median_ms("csr"), strict=False)])
    be = sweep.break_even("csr")
    assert be is None or 0.5 <= be <= 0.9
    with pytest.raises(ValueError, match="name"):
        sweep.median_ms("coo")


def test_break_even():
    assert break_even_sparsity([0.5, 0.8, 0.9], 1.0, [2.0, 1.0, 0.5]) == 0.8
    # crossing interpolated in log ratio: ratio 2 at 0.5 and 0.5 at 0.9 -> halfway
    assert break_even_sparsity([0.5, 0.9], [1.0, 1.0], [2.0, 0.5]) == pytest.approx(0.7)
    assert break_even_sparsity([0.5, 0.9], 1.0, [0.9, 0.5]) == 0.5  # faster everywhere measured
    assert break_even_sparsity([0.5, 0.9], 1.0, [0.5, 1.5]) is None  # slower at the end: no break-even
    # a dip that does not last is not a break-even
    assert break_even_sparsity([0.5, 0.6, 0.8, 0.9], 1.0, [0.9, 1.1, 0.8, 0.5]) == pytest.approx(0.7, abs=0.1)


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: latency(nn.Linear(2, 2), torch.zeros(1, 2), repeats=0), "repeats"),
        (lambda: latency(nn.Linear(2, 2), torch.zeros(1, 2), warmup=-1), "warmup"),
        (lambda: latency(nn.Linear(2, 2), torch.zeros(1, 2), number=1.5), "number"),
        (lambda: latency(nn.Linear(2, 2), [[0.0, 0.0]]), "x"),
        (lambda: latency("model", torch.zeros(1, 2)), "models"),
        (lambda: compare_latency({}, torch.zeros(1)), "models"),
        (lambda: example_input(nn.ReLU()), "Linear"),
        (lambda: example_input(nn.Linear(2, 2), batch_size=0), "batch_size"),
        (lambda: speed_sweep(nn.Linear(2, 2), [0.5]), "model"),
        (lambda: speed_sweep(mlp([4, 3, 2]), [0.9, 0.5]), "sparsities"),
        (lambda: speed_sweep(mlp([4, 3, 2]), [1.5]), "sparsities"),
        (lambda: break_even_sparsity([0.9, 0.5], 1.0, [1.0, 1.0]), "sparsities"),
        (lambda: break_even_sparsity([0.5, 0.9], 1.0, [1.0]), "sparse_s"),
    ],
)
def test_bad_input(call, word):
    with pytest.raises((TypeError, ValueError), match=word):
        call()


def test_threads_are_set_and_restored():
    seen = []
    before = torch.get_num_threads()
    latency(lambda x: seen.append(torch.get_num_threads()), torch.zeros(1), warmup=0, repeats=2, threads=1)
    assert seen == [1, 1] and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        latency(nn.Linear(2, 2), torch.zeros(1, 2), threads=0)
    assert torch.get_num_threads() == before
