"""course_lib.viz.pruning: each plot returns a Figure whose data is what the text claims,
and a slider (SliderFigure) changes that data. No browser involved."""

import functools

import numpy as np
import pytest
import torch
from figure_checks import (
    assert_honest_layout,
    bars_from_zero,
    cut_by_the_frame,
    every_image_has_its_colorbar,
    texts_outside_their_axes,
)
from matplotlib.figure import Figure

from course_lib import magnitude_mask, nm_mask, row_norm_mask
from course_lib.pruning.error import output_error, scaled_removal_errors
from course_lib.viz import pruning as viz
from course_lib.viz.widgets import SliderFigure, int_slider, sparsity_slider


def _w(rows=6, cols=8, seed=0):
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))


def _pruned(fig, i=0):
    """The pruned cells (True = pruned) of the i-th heatmap of a figure."""
    images = [im for ax in fig.axes for im in ax.images]
    return np.ma.getmaskarray(images[i].get_array())


def test_removal_errors_bars_and_highlight():
    fig = viz.plot_removal_errors(torch.tensor([10.0, -8.0, 0.1]), torch.tensor([0.7, 0.5, 0.01]))
    assert isinstance(fig, Figure)
    bars = fig.axes[0].patches
    assert [round(float(b.get_height()), 3) for b in bars] == [0.7, 0.5, 0.01]
    assert bars[2].get_facecolor() != bars[0].get_facecolor()  # the smallest is highlighted
    assert "0.1" in fig.axes[0].get_title()


def test_plot_mask_shows_exactly_the_mask():
    w = _w()
    mask = magnitude_mask(w, 0.3)
    fig = viz.plot_mask(w, mask)
    assert np.array_equal(_pruned(fig), (~mask).numpy())
    data = fig.axes[0].images[0].get_array().data
    assert np.allclose(data, w.numpy())
    assert fig.axes[1].get_ylabel() == "weight value"  # colorbar


@pytest.mark.parametrize("sparsity", [0.0, 0.25, 0.5, 1.0])
def test_magnitude_plot_matches_magnitude_mask(sparsity):
    w = _w()
    fig = viz.plot_magnitude_mask(w, sparsity)
    assert np.array_equal(_pruned(fig), (~magnitude_mask(w, sparsity)).numpy())
    assert f"sparsity {sparsity:.2f}" in fig.get_suptitle()
    hist_ax = fig.axes[1]
    assert hist_ax.get_xlabel() == "|w|"
    heights = sum(p.get_height() for p in hist_ax.patches)
    assert heights == pytest.approx(w.numel())  # every weight counted once (stacked bars)


def test_magnitude_threshold_line_separates_kept_from_pruned():
    w = _w()
    fig = viz.plot_magnitude_mask(w, 0.5)
    mask = magnitude_mask(w, 0.5)
    line = [ln for ln in fig.axes[1].lines if "threshold" in ln.get_label()][0]
    cut = float(line.get_xdata()[0])
    assert w.abs()[~mask].max() < cut < w.abs()[mask].min()


def test_slider_changes_magnitude_heatmap():
    w = _w()
    sf = SliderFigure(functools.partial(viz.plot_magnitude_mask, w), sparsity=sparsity_slider(value=0.2))
    before = _pruned(sf.figure).copy()
    sf.sliders["sparsity"].value = 0.7
    after = _pruned(sf.figure)
    assert before.sum() == round(0.2 * w.numel())
    assert after.sum() == round(0.7 * w.numel())
    assert np.all(after[before])  # a higher sparsity prunes a superset


def test_layerwise_vs_global_bars():
    weights = {"small": _w(4, 8) * 0.1, "large": _w(4, 8, seed=1)}
    fig = viz.plot_layerwise_vs_global(weights, 0.5)
    heights = [float(p.get_height()) for p in fig.axes[0].patches]
    assert heights[:2] == [0.5, 0.5]  # layer-wise: each layer at the sparsity
    assert heights[2] > 0.5 > heights[3]  # global: the layer with small weights loses more
    assert (heights[2] + heights[3]) / 2 == pytest.approx(0.5)
    sf = SliderFigure(functools.partial(viz.plot_layerwise_vs_global, weights), sparsity=sparsity_slider(value=0.5))
    sf.sliders["sparsity"].value = 0.25
    assert [float(p.get_height()) for p in sf.figure.axes[0].patches][:2] == [0.25, 0.25]


def test_fine_vs_structured_panels_and_slider():
    w = _w(8, 8)
    x = torch.randn(30, 8, generator=torch.Generator().manual_seed(1))
    fig = viz.plot_fine_vs_structured(w, 0.5, p=1, inputs=x)
    assert np.array_equal(_pruned(fig, 0), (~magnitude_mask(w, 0.5)).numpy())
    assert np.array_equal(_pruned(fig, 1), (~row_norm_mask(w, 0.5, p=1)).numpy())
    err = output_error(w, row_norm_mask(w, 0.5, p=1), x)
    assert f"{err:.3f}" in fig.axes[1].get_title()
    sf = SliderFigure(functools.partial(viz.plot_fine_vs_structured, w), sparsity=sparsity_slider(value=0.25))
    rows_before = _pruned(sf.figure, 1).all(axis=1).sum()
    sf.sliders["sparsity"].value = 0.75
    assert rows_before == 2 and _pruned(sf.figure, 1).all(axis=1).sum() == 6


def test_error_curves_lines_and_sparsity_marker():
    x = [0.0, 0.5, 1.0]
    curves = {"fine": [0.0, 0.2, 1.0], "rows": [0.0, 0.6, 1.0]}
    fig = viz.plot_error_curves(x, curves)
    lines = fig.axes[0].lines
    assert [ln.get_ydata().tolist() for ln in lines] == list(curves.values())
    sf = SliderFigure(functools.partial(viz.plot_error_curves, x, curves), sparsity=sparsity_slider(value=0.25))
    marker = sf.figure.axes[0].lines[-1]
    assert float(marker.get_xdata()[0]) == 0.25
    assert "(0.1 at 0.25)" in sf.figure.axes[0].lines[0].get_label()  # 4 significant digits, as 93.59 at 0.50
    sf.sliders["sparsity"].value = 0.5
    assert float(sf.figure.axes[0].lines[-1].get_xdata()[0]) == 0.5
    assert "(0.2 at 0.50)" in sf.figure.axes[0].lines[0].get_label()


def test_nm_plot_and_sliders_for_n_and_m():
    w = _w(4, 24)
    sf = SliderFigure(functools.partial(viz.plot_nm_mask, w), n=int_slider("n", 2, 1, 8), m=int_slider("m", 4, 1, 8))
    assert np.array_equal(_pruned(sf.figure), (~nm_mask(w, 2, 4)).numpy())
    sf.sliders["m"].value = 8
    assert np.array_equal(_pruned(sf.figure), (~nm_mask(w, 2, 8)).numpy())
    sf.sliders["n"].value = 6
    assert _pruned(sf.figure).mean() == pytest.approx(1 - 6 / 8)
    sf.sliders["m"].value = 5  # does not divide 24: the figure says so instead of raising
    assert "not possible" in sf.figure.axes[0].texts[0].get_text()
    assert not sf.figure.axes[0].images


def test_nm_vs_unstructured_points_on_a_sparsity_axis():
    fig = viz.plot_nm_vs_unstructured([0.0, 0.5, 0.75], [0.0, 0.3, 0.6], {"1:4": (0.75, 0.7), "2:4": (0.5, 0.4)})
    ax = fig.axes[0]
    assert ax.lines[0].get_xdata().tolist() == [0.0, 0.5, 0.75]  # sparsity, as on every axis of the course
    assert ax.lines[0].get_ydata().tolist() == [0.0, 0.3, 0.6]
    assert [c.get_offsets().tolist() for c in ax.collections] == [[[0.75, 0.7]], [[0.5, 0.4]]]
    assert [c.get_label() for c in ax.collections] == ["1:4", "2:4"]
    [legend] = fig.legends  # below the axes, naming the line and every pattern
    assert [t.get_text() for t in legend.get_texts()] == ["unstructured magnitude", "1:4", "2:4"]
    assert ax.get_xlabel() == "sparsity (fraction of weights pruned)" and "density" not in ax.get_xlabel()
    assert ax.get_ylim()[0] == 0


def test_nm_patterns_of_one_sparsity_are_told_apart_without_text_on_the_line():
    """Patterns at the same sparsity (notebook 03: 1:2, 2:4, 4:8, 8:16 at 0.5) get distinct markers
    and colours named in the legend; no label is written over the line or the other points."""
    points = {"1:2": (0.5, 0.5), "2:4": (0.5, 0.49), "4:8": (0.5, 0.48), "8:16": (0.5, 0.47), "1:4": (0.75, 0.76),
              "2:8": (0.75, 0.74), "6:8": (0.25, 0.2), "3:4": (0.25, 0.21), "1:8": (0.875, 0.9)}  # fmt: skip
    fig = viz.plot_nm_vs_unstructured([k / 16 for k in range(16)], [k / 16 for k in range(16)], points)
    ax = fig.axes[0]
    assert len(ax.texts) == 0
    styles = {(c.get_paths()[0].vertices.tobytes(), tuple(c.get_facecolor()[0])) for c in ax.collections}
    assert len(styles) == len(points)  # every pattern looks different
    assert [t.get_text() for t in fig.legends[0].get_texts()][1:] == list(points)
    assert texts_outside_their_axes(fig, tolerance=0) == []
    assert_honest_layout(fig)


def test_input_scale_bars_follow_the_slider_and_the_ranking_flips():
    w = torch.tensor([10.0, -8.0, 0.1])
    x = torch.randn(2000, 3, generator=torch.Generator().manual_seed(0))
    sf = SliderFigure(
        functools.partial(viz.plot_input_scale, w, x, activation=torch.relu), scale=int_slider("scale", 1, 1, 1000)
    )
    bars, curve = sf.figure.axes[:2]
    expected = scaled_removal_errors(w, x, 2, [1.0], activation=torch.relu)[0]
    assert [p.get_height() for p in bars.patches] == pytest.approx(expected.tolist())
    assert "holds" in sf.figure.get_suptitle() and "w2 = 0.1" in bars.get_title()
    assert curve.get_xscale() == "log" and curve.get_xlabel() == "scale of input x2 (log axis)"
    assert [ln.get_label() for ln in curve.lines[:3]] == ["remove w0 = 10", "remove w1 = -8", "remove w2 = 0.1"]
    assert float(curve.lines[-1].get_xdata()[0]) == 1.0  # the marker at the slider's scale
    sf.sliders["scale"].value = 1000
    bars, curve = sf.figure.axes[:2]
    heights = [p.get_height() for p in bars.patches]
    assert heights == pytest.approx(scaled_removal_errors(w, x, 2, [1000.0], activation=torch.relu)[0].tolist())
    assert int(np.argmax(heights)) == 2 and "fails" in sf.figure.get_suptitle()
    assert float(curve.lines[-1].get_xdata()[0]) == 1000.0
    grid = curve.lines[2].get_xdata()
    assert grid[0] == 1.0 and grid[-1] == 1000.0 and np.all(np.diff(grid) > 0)


FIGURES = {
    "removal errors": lambda w: viz.plot_removal_errors(
        torch.tensor([10.0, -8.0, 0.1]), torch.tensor([0.7, 0.6, 0.01])
    ),
    "input scale": lambda w: viz.plot_input_scale(
        torch.tensor([10.0, -8.0, 0.1]),
        torch.randn(300, 3, generator=torch.Generator().manual_seed(0)),
        90.0,
        activation=torch.relu,
    ),
    "mask": lambda w: viz.plot_mask(w, magnitude_mask(w, 0.5)),
    "magnitude mask": lambda w: viz.plot_magnitude_mask(w, 0.5),
    "magnitude mask, high sparsity": lambda w: viz.plot_magnitude_mask(w, 0.97),
    "layer-wise vs global": lambda w: viz.plot_layerwise_vs_global({"fc1": w * 0.1, "fc2": w, "fc3": w * 3}, 0.97),
    "fine vs structured": lambda w: viz.plot_fine_vs_structured(w, 0.5, inputs=torch.randn(20, 8)),
    "error curves": lambda w: viz.plot_error_curves(
        [0, 0.5, 1],
        {"fine-grained (|w|)": [0, 0.1, 1], "rows, L1 norm": [0, 0.5, 1], "rows, L2": [0, 0.6, 1]},
        sparsity=0.5,
    ),
    "nm mask": lambda w: viz.plot_nm_mask(_w(4, 24), 2, 4),
    "nm vs unstructured": lambda w: viz.plot_nm_vs_unstructured(
        [k / 16 for k in range(16)], [k / 16 for k in range(16)], {"1:2": (0.5, 0.6), "1:8": (0.875, 0.95)}
    ),
}


@pytest.mark.parametrize("name", FIGURES)
def test_no_legend_covers_data_and_no_label_is_cut(name):
    assert_honest_layout(FIGURES[name](_w()))


@pytest.mark.parametrize("shape", [(6, 8), (4, 8), (2, 4), (1, 4), (4, 24)])
def test_nm_mask_of_a_narrow_weight_keeps_its_title_inside_the_frame(shape):
    assert not cut_by_the_frame(viz.plot_nm_mask(_w(*shape), 2, 4))


@pytest.mark.parametrize("name", ["removal errors", "input scale", "layer-wise vs global"])
def test_bars_start_at_zero(name):
    ax = FIGURES[name](_w()).axes[0]
    assert ax.patches and bars_from_zero(ax)


@pytest.mark.parametrize("name", ["mask", "magnitude mask", "fine vs structured", "nm mask"])
def test_mask_images_have_a_colour_bar(name):
    assert every_image_has_its_colorbar(FIGURES[name](_w()))


def test_figures_have_labels():
    w = _w()
    for fig in (
        viz.plot_magnitude_mask(w, 0.5),
        viz.plot_fine_vs_structured(w, 0.5),
        viz.plot_nm_mask(w, 2, 4),
        viz.plot_error_curves([0, 1], {"a": [0, 1]}),
    ):
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda w: viz.plot_magnitude_mask(w, 1.5), ValueError, "sparsity must be a number in"),
        (lambda w: viz.plot_magnitude_mask(w.numpy(), 0.5), TypeError, "weight"),
        (lambda w: viz.plot_mask(w, (w > 0)[:, :2]), ValueError, "mask"),
        (lambda w: viz.plot_fine_vs_structured(w[0], 0.5), ValueError, "weight"),
        (lambda w: viz.plot_fine_vs_structured(w, 0.5, p=3), ValueError, "p must be 1 or 2"),
        (lambda w: viz.plot_error_curves([0, 1], {"a": [0, 1, 2]}), ValueError, "curves"),
        (lambda w: viz.plot_error_curves([1, 0], {"a": [0, 1]}), ValueError, "x must be"),
        (lambda w: viz.plot_error_curves([0, 1], {"a": [0, 1]}, sparsity=2), ValueError, "sparsity must lie"),
        (lambda w: viz.plot_layerwise_vs_global({"a": w}, -0.1), ValueError, "sparsity"),
        (lambda w: viz.plot_fine_vs_structured(w, "half"), TypeError, "sparsity"),
        (lambda w: viz.plot_removal_errors(w, torch.ones(3)), ValueError, "errors"),
        (lambda w: viz.plot_layerwise_vs_global({}, 0.5), TypeError, "weights"),
        (lambda w: viz.plot_nm_mask(w, 2.0, 4), TypeError, "n must be an int"),
        (lambda w: viz.plot_nm_vs_unstructured([0.5, 1], [0.2], {"2:4": (0.5, 0.3)}), ValueError, "same length"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call(_w())
