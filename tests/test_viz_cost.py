"""course_lib.viz.cost: each plot returns a Figure whose data are the measured numbers;
a slider (SliderFigure) changes them."""

import functools

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib import measure
from course_lib.measure.energy import HOROWITZ_45NM, EnergyBreakdown
from course_lib.measure.size import model_bytes
from course_lib.pruning.magnitude import magnitude_mask
from course_lib.pruning.structured import row_norm_mask, shrink_mlp
from course_lib.training.models import mlp
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
    assert "Sparsity 0.80" in fig.get_suptitle()


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
        rows = {k: row_norm_mask(w[k], s) for k in ("fc1.weight", "fc2.weight")}
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
    with pytest.raises(ValueError, match="sparsity"):
        cost.plot_size_vs_sparsity(NET, sparsity=1.5)


def test_latency_vs_sparsity_plots_the_measured_numbers():
    fig = cost.plot_latency_vs_sparsity(
        [0.5, 0.8, 0.9], {"dense": 2.0, "csr": [4.0, 2.0, 1.0]}, sparsity=0.88, break_even=0.8
    )
    ax = fig.axes[0]
    dense, csr = ax.get_lines()[:2]
    assert list(dense.get_ydata()) == [2.0, 2.0, 2.0] and list(csr.get_ydata()) == [4.0, 2.0, 1.0]
    assert "2.00x" in ax.get_title() and "0.90" in ax.get_title()
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="latencies_ms"):
        cost.plot_latency_vs_sparsity([0.5, 0.9], {"csr": [1.0]})
    with pytest.raises(ValueError, match="sparsity"):
        cost.plot_latency_vs_sparsity([0.5], {"csr": [1.0]}, sparsity=2)
    # a numpy scalar is a flat line too
    flat = cost.plot_latency_vs_sparsity([0.5, 0.9], {"dense": np.float32(3.0)}).axes[0].get_lines()[0]
    assert list(flat.get_ydata()) == [3.0, 3.0]
