"""course_lib.latency: sane statistics (no timing thresholds), interleaving, sweeps, break-even."""

import pytest
import torch
from torch import nn

from course_lib.measure.timing import (
    NOISY_SPREAD,
    LatencyStats,
    SpeedSweep,
    break_even_sparsity,
    compare_latency,
    example_input,
    latency,
    noise_note,
    speed_sweep,
    speedup,
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


def test_speedup_pairs_the_runs_of_one_round():
    # a burst of load hits both models in round 2: the paired ratios stay 2, the medians' ratio would not
    dense = LatencyStats((2.0, 2.0, 8.0, 2.0, 2.0))
    rows = LatencyStats((1.0, 1.0, 4.0, 1.0, 1.0))
    s = speedup(dense, rows, "rows")
    assert s.ratios == (2.0, 2.0, 2.0, 2.0, 2.0) and (s.median, s.q1, s.q3) == (2.0, 2.0, 2.0)
    assert s.direction == 1 and s.text == "rows vs dense: speedup 2.00× (quartiles 2.00–2.00, 5 paired runs), faster"
    slower = speedup(rows, dense, "dense", "rows")
    assert slower.direction == -1 and slower.short == "0.50× (0.50–0.50)" and slower.words == "slower"


def test_speedup_inside_the_noise_is_not_a_finding():
    # the same work timed twice: faster in some rounds, slower in others -> no direction
    same = speedup(LatencyStats((1.0, 1.0, 1.0, 1.0, 1.0)), LatencyStats((0.7, 1.3, 0.9, 1.2, 1.0)), "masked")
    assert same.median == 1.0 and same.q1 < 1 < same.q3
    assert same.direction == 0 and same.text.endswith("no clear difference (the quartiles include 1×)")
    # a median above 1 is not enough: only when three runs in four agree
    mostly = speedup(LatencyStats((1.0,) * 5), LatencyStats((0.5, 0.5, 0.5, 1.25, 1.25)), "csr")  # 3 of 5 faster
    assert mostly.median > 1 and mostly.direction == 0
    one = speedup(LatencyStats((2.0,)), LatencyStats((1.0,)), "x")
    assert one.direction == 0 and one.words == "one run, not decided"


def test_noise_note_fires_only_on_a_wide_middle_half():
    steady = LatencyStats((1.0, 1.1, 1.05, 0.95))
    assert noise_note([steady]) == ""
    noisy = LatencyStats((1.5, 1.5, 2.5, 2.5))  # middle half from 1.5 to 2.5 around a median of 2.0
    assert noisy.spread == pytest.approx(0.5) and noise_note([steady, noisy]) == ""  # exactly at the limit
    wider = LatencyStats((1.0, 1.0, 3.0, 3.0))
    assert wider.spread == pytest.approx(1.0) and wider.spread > NOISY_SPREAD
    assert noise_note([steady, wider]).startswith("noisy run: the middle half of some timings spread over 1.00× ")
    assert noise_note([wider], threshold=2.0) == ""


def test_sweep_speedups_against_dense_are_paired():
    d, c = LatencyStats((2.0, 4.0, 2.0)), LatencyStats((1.0, 2.0, 1.0))
    sweep = SpeedSweep((0.5, 0.9), 8, {"dense": (d,), "csr": (d, c)})
    assert sweep.versus_dense("csr", 0.9).text.startswith("csr at 90% vs dense: speedup 2.00× (quartiles 2.00–2.00")
    assert sweep.versus_dense("csr", 0.5).direction == 0
    with pytest.raises(ValueError, match="sparsity"):
        sweep.versus_dense("csr", 0.8)
    with pytest.raises(ValueError, match="name"):
        sweep.versus_dense("dense", 0.5)


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
        (lambda: speedup(LatencyStats((1.0,)), 1.0), "other"),
        (lambda: speedup(LatencyStats((1.0,)), LatencyStats((1.0, 1.0))), "runs"),
        (lambda: speedup(LatencyStats((0.0,)), LatencyStats((1.0,))), "> 0"),
        (lambda: noise_note([]), "stats"),
        (lambda: noise_note([1.0]), "LatencyStats"),
        (lambda: noise_note([LatencyStats((1.0,))], threshold=0), "threshold"),
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
