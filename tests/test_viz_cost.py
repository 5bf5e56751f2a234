"""course_lib.viz.cost: each plot returns a Figure whose data are the measured numbers;
a slider (SliderFigure) changes them."""

import functools

import numpy as np
import pytest
from figure_checks import assert_honest_layout, legends_over_titles
from matplotlib.figure import Figure

from course_lib import measure
from course_lib.measure.costs import neuron_fraction
from course_lib.measure.energy import HOROWITZ_45NM, EnergyBreakdown
from course_lib.measure.size import model_bytes
from course_lib.measure.timing import LatencyStats, SpeedSweep
from course_lib.pruning.magnitude import magnitude_mask
from course_lib.pruning.structured import row_norm_mask, shrink_mlp
from course_lib.training.models import lenet_300_100, mlp
from course_lib.viz import cost
from course_lib.viz.widgets import SliderFigure, int_slider, sparsity_slider

NET = mlp([32, 16, 8, 4], seed=0)


def _heights(ax):
    return [float(p.get_height()) for p in ax.patches]


def test_energy_table_bars_are_the_table_on_a_log_axis():
    fig = cost.plot_energy_table()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [float(p.get_width()) for p in ax.patches] == sorted(HOROWITZ_45NM.values())
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "32 bit DRAM Memory"


def test_energy_breakdown_stacks_compute_sram_dram():
    fig = cost.plot_energy_breakdown({"a": EnergyBreakdown(1e6, 1e6, 0, 8e6), "b": EnergyBreakdown(0, 0, 5e5, 5e5)})
    ax_abs, ax_rel = fig.axes[:2]
    # bars are added part by part: compute (a, b), SRAM (a, b), DRAM (a, b); microjoules
    assert _heights(ax_abs) == pytest.approx([2.0, 0.0, 0.0, 0.5, 8.0, 0.5])
    assert _heights(ax_rel) == pytest.approx([20.0, 0.0, 0.0, 50.0, 80.0, 50.0])
    # whole picojoules (ints) too: shares of an int array once failed to divide in place
    assert_honest_layout(fig)  # stacked bars from zero, legend off the bars
    ints = cost.plot_energy_breakdown({"a": EnergyBreakdown(1, 1, 0, 8)})
    assert _heights(ints.axes[1]) == pytest.approx([20.0, 0.0, 80.0])
    with pytest.raises(TypeError, match="breakdowns"):
        cost.plot_energy_breakdown({"a": 1.0})


def test_pruning_costs_panels_are_pruning_costs():
    fig = cost.plot_pruning_costs(NET, sparsity=0.8)
    c = measure.pruning_costs(NET, 0.8)
    names = list(c)
    assert _heights(fig.axes[0]) == pytest.approx([c[n]["memory_bytes"] / 1024 for n in names])
    assert _heights(fig.axes[1]) == pytest.approx([c[n]["disk_bytes"] / 1024 for n in names])
    assert _heights(fig.axes[2]) == [c[n]["macs"] for n in names]
    assert _heights(fig.axes[3]) == pytest.approx([c[n]["energy"].total_pj / 1e6 for n in names])
    assert _heights(fig.axes[0])[0] == _heights(fig.axes[0])[1]  # masked = dense in memory
    assert "Sparsity 0.80" in fig.get_suptitle() and f"{c['neurons removed']['sparsity']:.3f}" in fig.get_suptitle()
    assert [ax.get_ylim()[0] for ax in fig.axes] == [0, 0, 0, 0]  # bars from zero
    assert [ax.get_ylabel() or ax.get_title() for ax in fig.axes][0] == "in memory / KiB"
    assert_honest_layout(fig)


def test_energy_figures_keep_their_labels_inside():
    assert_honest_layout(cost.plot_energy_table())
    fig = cost.plot_pruned_energy(NET, 0.9)
    assert fig.axes[0].get_ylim()[0] == 0 and fig.axes[0].get_ylabel() == "energy per inference / µJ"
    assert_honest_layout(fig)


def test_pruned_energy_follows_a_slider():
    w = SliderFigure(
        functools.partial(cost.plot_pruned_energy, NET),
        sparsity=sparsity_slider(value=0.5),
        cache_kib=int_slider("SRAM KiB", 0, 0, 64),
    )
    before = _heights(w.figure.axes[0])
    w.sliders["sparsity"].value = 0.9
    after = _heights(w.figure.axes[0])
    e = measure.pruning_costs(NET, 0.9)["csr"]["energy"]
    assert after[2] == pytest.approx(e.compute_pj / 1e6)  # compute of the csr bar
    assert after[2] < before[2]
    w.sliders["cache_kib"].value = 64  # the whole model fits on chip: no DRAM part
    assert _heights(w.figure.axes[0])[8:] == pytest.approx([0, 0, 0, 0])


def test_size_curves_match_real_models():
    xs = [0.0, 0.25, 0.5, 0.75]
    curves = cost.size_curves(NET, xs)
    w = dict(NET.named_parameters())
    for i, s in enumerate(xs):
        rows = {k: row_norm_mask(w[k], neuron_fraction(NET, s)) for k in ("fc1.weight", "fc2.weight")}
        assert curves["neurons removed"][i] == model_bytes(shrink_mlp(NET, rows))
        weights = {k: magnitude_mask(v, s) for k, v in w.items() if v.dim() == 2}
        assert curves["csr int32"][i] == model_bytes(NET, weights, "csr")
    assert curves["dense"] == [model_bytes(NET)] * 4
    assert all(a > b for a, b in zip(curves["csr int64"], curves["csr int32"], strict=False))


def test_size_vs_sparsity_lines_and_marker():
    fig = cost.plot_size_vs_sparsity(NET, sparsity=0.5, sparsities=[0.0, 0.5, 0.9])
    lines = fig.axes[0].get_lines()
    curves = cost.size_curves(NET, [0.0, 0.5, 0.9])
    for line, key in zip(lines, curves, strict=False):
        assert list(line.get_ydata()) == pytest.approx([v / 1024 for v in curves[key]])
    assert "at sparsity 0.50" in fig.axes[0].get_title()
    assert (
        fig.axes[0]
        .get_title()
        .endswith(", ".join(f"{k} {v[1] / curves['dense'][1]:.0%}" for k, v in curves.items() if k != "dense"))
    )
    assert fig.axes[0].get_xlabel() == "sparsity (fraction of the weights removed)"
    assert fig.axes[0].get_ylabel() == "parameters in memory / KiB" and fig.axes[0].get_ylim()[0] == 0
    assert_honest_layout(fig)
    for s in (0.0, 0.5, 0.9):  # the title of LeNet-300-100's curves (00, 06) stays clear of the legend
        assert legends_over_titles(cost.plot_size_vs_sparsity(lenet_300_100(), sparsity=s)) == []
    with pytest.raises(ValueError, match="sparsity"):
        cost.plot_size_vs_sparsity(NET, sparsity=1.5)


def test_latency_vs_sparsity_plots_the_measured_numbers():
    fig = cost.plot_latency_vs_sparsity(
        [0.5, 0.8, 0.9], {"dense": 2.0, "csr": [4.0, 2.0, 1.0]}, sparsity=0.88, break_even=0.8
    )
    ax = fig.axes[0]
    dense, csr = ax.get_lines()[:2]
    assert list(dense.get_ydata()) == [2.0, 2.0, 2.0] and list(csr.get_ydata()) == [4.0, 2.0, 1.0]
    assert ax.get_title() == "at sparsity 0.90, speedup over dense (of the medians):\ncsr 2.00×"
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="latencies_ms"):
        cost.plot_latency_vs_sparsity([0.5, 0.9], {"csr": [1.0]})
    with pytest.raises(ValueError, match="sparsity"):
        cost.plot_latency_vs_sparsity([0.5], {"csr": [1.0]}, sparsity=2)
    # a numpy scalar is a flat line too
    flat = cost.plot_latency_vs_sparsity([0.5, 0.9], {"dense": np.float32(3.0)}).axes[0].get_lines()[0]
    assert list(flat.get_ydata()) == [3.0, 3.0]


def test_latency_plot_puts_every_variant_at_its_own_sparsity_with_its_accuracy():
    xs = [0.5, 0.9]
    fig = cost.plot_latency_vs_sparsity(
        xs,
        {"dense": 2.0, "masked": [2.0, 2.0], "neurons removed": [1.0, 0.5]},
        removed={"masked": [0.5, 0.9], "neurons removed": [0.49, 0.91]},
        accuracy={"dense": 95.0, "masked": [94.0, 60.0], "neurons removed": [90.0, 30.0]},
        break_even=0.8,
        title="t",
    )
    speed, acc = fig.axes
    dense, masked, removed = speed.get_lines()[:3]
    assert list(removed.get_xdata()) == [0.49, 0.91] and list(dense.get_xdata()) == xs
    assert [list(line.get_ydata()) for line in acc.get_lines()[:3]] == [[95.0, 95.0], [94.0, 60.0], [90.0, 30.0]]
    assert acc.get_ylim() == (0, 100) and acc.get_ylabel() == "test accuracy / % (no fine-tuning)"
    assert speed.get_xlabel() == acc.get_xlabel() == "sparsity (fraction of the weights removed)"
    # the dense band lies under the masked line and is wider: both show where they coincide
    assert dense.get_zorder() < masked.get_zorder() and dense.get_linewidth() > masked.get_linewidth()
    assert masked.get_linestyle() == "--" and masked.get_marker() == "s"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["dense", "masked", "neurons removed"]
    assert_honest_layout(fig)
    with pytest.raises(ValueError, match="accuracy"):
        cost.plot_latency_vs_sparsity(xs, {"dense": 1.0}, accuracy={"dense": [1.0]})
    with pytest.raises(TypeError, match="removed"):
        cost.plot_latency_vs_sparsity(xs, {"dense": 1.0}, removed=[0.5])


def _fake_sweep(ms, spread=0.0):
    """A speed_sweep that 'measures' ``ms`` seconds per input, 9 runs each: the middle one exact, the
    others up to ``spread`` (a share of the median) slower or faster, in the same order for all."""

    def sweep(model, sparsities, batch_size, repeats=9, **_):
        steps = [spread * (2 * r / (repeats - 1) - 1) for r in range(repeats)]
        stats = {k: (LatencyStats(tuple(v * batch_size * (1 + d) for d in steps)),) for k, v in ms.items()}
        return SpeedSweep(tuple(sparsities), batch_size, stats)

    return sweep


def test_batch_size_slider_times_the_batch_it_shows(monkeypatch):
    calls = []
    fake = _fake_sweep({"dense": 4e-6, "masked": 4e-6, "csr": 2e-6, "neurons removed": 1e-6}, spread=0.1)
    monkeypatch.setattr(cost, "speed_sweep", lambda *a, **k: calls.append(k["batch_size"]) or fake(*a, **k))
    w = SliderFigure(
        functools.partial(cost.plot_speed_at_batch_size, NET, sparsity=0.9),
        batch_size=int_slider("batch size", 64, 1, 512),
    )
    w.sliders["batch_size"].value = 256
    ax = w.figure.axes[0]
    assert calls == [64, 256]
    assert _heights(ax) == pytest.approx([4.0, 4.0, 2.0, 1.0])  # µs per input (median), whatever the batch
    # whiskers from the first to the third quartile: +-5% of each median here
    (whiskers,) = [c for c in ax.collections if c.get_segments()]
    assert [tuple(np.asarray(seg)[:, 1]) for seg in whiskers.get_segments()] == [
        pytest.approx((0.95 * h, 1.05 * h)) for h in (4.0, 4.0, 2.0, 1.0)
    ]
    # paired runs: the same load in every round, so the speedups are exact and decided
    assert [t.get_text() for t in ax.texts] == [
        "reference",
        "1.00× (1.00–1.00)\nnot clear",
        "2.00× (2.00–2.00)\nfaster",
        "4.00× (4.00–4.00)\nfaster",
    ]
    assert "batch 256" in ax.get_title() and "9 paired runs" in ax.get_title() and "oisy" not in ax.get_title()
    assert ax.get_ylim()[0] == 0 and ax.get_ylabel() == "time per input / µs (median; whiskers: quartiles)"
    assert [p.get_facecolor()[:3] for p in ax.patches][2] == pytest.approx((0.12, 0.47, 0.71), abs=0.01)
    assert_honest_layout(w.figure)


def test_batch_size_plot_greys_a_noisy_run_and_says_so(monkeypatch):
    fake = _fake_sweep({"dense": 4e-6, "masked": 4e-6, "csr": 2e-6, "neurons removed": 1e-6}, spread=0.9)
    monkeypatch.setattr(cost, "speed_sweep", fake)
    ax = cost.plot_speed_at_batch_size(NET, batch_size=8).axes[0]
    assert "Noisy run" in ax.get_title() and "0.90× their median" in ax.get_title()
    assert {p.get_facecolor()[:3] for p in ax.patches} == {(0.8, 0.8, 0.8)}
    assert_honest_layout(ax.figure)


def test_batch_size_plot_calls_a_speedup_inside_the_noise_not_clear(monkeypatch):
    def swapped(model, sparsities, batch_size, **_):  # masked faster in some rounds, slower in others
        dense = LatencyStats((1.0, 1.0, 1.0, 1.0, 1.0))
        stats = {"dense": (dense,), "masked": (LatencyStats((0.8, 1.2, 0.9, 1.1, 1.0)),)}
        return SpeedSweep(tuple(sparsities), batch_size, stats | {"csr": (dense,), "neurons removed": (dense,)})

    monkeypatch.setattr(cost, "speed_sweep", swapped)
    ax = cost.plot_speed_at_batch_size(NET, batch_size=8).axes[0]
    assert ax.texts[1].get_text() == "1.00× (0.91–1.11)\nnot clear"


def test_batch_size_plot_really_times():
    fig = cost.plot_speed_at_batch_size(NET, batch_size=3, sparsity=0.5, repeats=2, number=1)
    assert len(_heights(fig.axes[0])) == 4 and min(_heights(fig.axes[0])) > 0
    with pytest.raises(ValueError, match="batch_size"):
        cost.plot_speed_at_batch_size(NET, batch_size=0)
