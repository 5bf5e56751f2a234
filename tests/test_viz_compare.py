"""course_lib.viz.compare: notebook 08's plots draw exactly the comparison they are given (means,
standard deviations, weights remaining, costs, the Pareto front, per-layer densities, sanity
checks, error barriers), keep their legends off the data, follow the sparsity slider, and reject
bad input with a clear error."""

import io
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from figure_checks import assert_honest_layout, legends_right_of_their_axes
from matplotlib.axes import Axes
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

from course_lib.experiments.compare import METHODS
from course_lib.experiments.compare_result import CompareResult, MethodRun
from course_lib.experiments.sanity import CHECKS, SanityResult
from course_lib.viz.compare import (
    CHECK_COLORS,
    METHOD_COLORS,
    METHOD_LABELS,
    METHOD_MARKERS,
    STABLE_BARRIER,
    SparsityView,
    compare_figure,
    pareto_front,
    plot_accuracy_vs_sparsity,
    plot_barrier,
    plot_layer_densities,
    plot_pareto,
    plot_sanity,
    sparsity_view,
)
from course_lib.viz.pareto import DODGE, DODGED, log_ticks
from course_lib.viz.widgets import SliderFigure

LAYERS = ("fc1.weight", "fc2.weight")  # 20 and 8 weights: 28 in all


def _masks(k1: int, k2: int) -> dict[str, torch.Tensor]:
    """fc1 (4 x 5) keeps its first k1 entries, fc2 (2 x 4) its first k2."""
    return {
        "fc1.weight": (torch.arange(20) < k1).reshape(4, 5),
        "fc2.weight": (torch.arange(8) < k2).reshape(2, 4),
    }


#: method -> sparsity -> (kept in fc1, kept in fc2, mean accuracy, spread, cost). Two seeds
#: score mean - spread and mean + spread, so the standard deviation is the spread.
#: At 0.75 (7 of 28 kept): SNIP ties random exactly, SynFlow is dominated by random (dearer,
#: worse), early-bird by IMP (as dear, worse); SNIP empties fc2 (layer collapse).
PLAN = {
    "imp": {0.5: (10, 4, 90.0, 0.5, 1000), 0.75: (5, 2, 80.0, 1.0, 1000)},
    "earlybird": {0.5: (10, 4, 88.0, 1.5, 1000), 0.75: (6, 1, 70.0, 2.0, 1000)},
    "snip": {0.5: (8, 6, 85.0, 1.0, 101), 0.75: (7, 0, 60.0, 3.0, 101)},
    "synflow": {0.5: (11, 3, 86.0, 0.25, 200), 0.75: (4, 3, 55.0, 0.5, 200)},
    "random": {0.5: (10, 4, 84.0, 2.0, 101), 0.75: (5, 2, 60.0, 3.0, 101)},
}
DENSE = [95.0, 97.0]


def _result(plan=PLAN, dense=DENSE) -> CompareResult:
    runs = [
        MethodRun(method, s, seed, acc + sign * spread, cost, _masks(k1, k2), {})
        for method, by_sparsity in plan.items()
        for s, (k1, k2, acc, spread, cost) in by_sparsity.items()
        for seed, sign in ((0, -1), (1, 1))
    ]
    return CompareResult({"dataset": "mnist5k", "model": "lenet"}, runs, list(dense))


def _errorbar(ax: Axes, gid: str) -> ErrorbarContainer:
    return next(c for c in ax.containers if isinstance(c, ErrorbarContainer) and c.lines[0].get_gid() == gid)


def _bar_extents(container) -> list[float]:
    """Half the length of each vertical error bar of an errorbar container."""
    return [round(float(s[1][1] - s[0][1]) / 2, 9) for s in container.lines[2][0].get_segments()]


def _bars(ax: Axes) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _assert_legends_beside_the_data(fig: Figure) -> None:
    """The figure is honest (figure_checks.assert_honest_layout), shows data and has a legend, right
    of its axes."""
    assert any(ax.get_legend() for ax in fig.axes), "the figure has no legend"
    assert any(ax.lines or ax.patches for ax in fig.axes), "the figure shows no data"
    assert legends_right_of_their_axes(fig)
    assert_honest_layout(fig)


# --------------------------------------------------------------------------- pareto_front
@pytest.mark.parametrize(
    ("costs", "accs", "front"),
    [
        ([101, 101, 200, 1000, 1000], [60, 60, 55, 80, 70], [0, 1, 3]),  # a tie, two dominated points
        ([10, 20, 30], [50, 70, 60], [0, 1]),
        ([30, 20, 10], [90, 80, 70], [2, 1, 0]),  # sorted by cost
        ([10, 20], [70, 70], [0]),  # as accurate but dearer: dominated
        ([10, 10], [60, 70], [1]),  # as cheap but less accurate: dominated
        ([5], [1.0], [0]),
        ([], [], []),
    ],
)
def test_pareto_front_is_exactly_the_points_nothing_dominates(costs, accs, front):
    assert pareto_front(costs, accs) == front


def test_pareto_front_rejects_lists_of_different_lengths():
    with pytest.raises(ValueError, match="costs and accs must have the same length, got 2 and 1"):
        pareto_front([1, 2], [3.0])


# --------------------------------------------------------------------------- accuracy vs sparsity
def test_accuracy_vs_sparsity_draws_each_methods_mean_and_std_against_sparsity():
    res = _result()
    fig = plot_accuracy_vs_sparsity(res)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    for method, plan in PLAN.items():
        bars = _errorbar(ax, method)
        x = [100 - 100 * (k1 + k2) / 28 for k1, k2, *_ in plan.values()]  # sparsity, percent
        np.testing.assert_allclose(bars.lines[0].get_xdata(), x)
        np.testing.assert_allclose(bars.lines[0].get_ydata(), [p[2] for p in plan.values()])
        np.testing.assert_allclose(_bar_extents(bars), [p[3] for p in plan.values()])
        assert bars.get_label() == METHOD_LABELS[method]
        assert bars.lines[0].get_color() == METHOD_COLORS[method]
    assert ax.get_xscale() == "function"  # spaced by the log of the weights left
    left, right = ax.get_xlim()
    assert left < 50 < 75 < right  # sparsity on x, growing to the right
    assert ax.get_xlabel() == "sparsity (% of weights pruned; log scale of the weights left)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["50", "75"]
    assert ax.get_ylabel() == "test accuracy (%)"
    dense = [line for line in ax.lines if line.get_label() == "dense network"]
    assert len(dense) == 1 and list(dense[0].get_ydata()) == [96.0, 96.0] and dense[0].get_linestyle() == "--"
    assert "2 seeds" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["dense network"] + [METHOD_LABELS[m] for m in PLAN]
    _assert_legends_beside_the_data(fig)


def test_accuracy_vs_sparsity_without_dense_runs_draws_no_dense_line_and_uses_a_given_axes():
    fig, ax = plt.subplots()
    assert plot_accuracy_vs_sparsity(_result(dense=[]), ax=ax) is fig
    assert not [line for line in ax.lines if line.get_label() == "dense network"]
    assert len(fig.axes) == 1
    plt.close(fig)


def test_every_method_has_a_label_and_its_own_colour():
    assert set(METHOD_LABELS) == set(METHOD_COLORS) == set(METHODS)
    assert len(set(METHOD_COLORS.values())) == len(METHODS)
    assert set(CHECK_COLORS) == set(CHECKS)


# --------------------------------------------------------------------------- Pareto plot
def _marker_centres(fig: Figure, ax: Axes, methods) -> dict[str, tuple[float, float]]:
    """Where each method's marker is drawn, in pixels (after the layout)."""
    fig.draw_without_rendering()
    out = {}
    for m in methods:
        line = _errorbar(ax, m).lines[0]
        out[m] = tuple(line.get_transform().transform(line.get_xydata())[0])
    return out


def test_pareto_plot_puts_each_method_at_its_cost_and_marks_the_front():
    fig = plot_pareto(_result(), 0.75)
    ax = fig.axes[0]
    for method, plan in PLAN.items():
        *_, acc, spread, cost = plan[0.75]
        bars = _errorbar(ax, method)
        assert bars.lines[0].get_xdata().tolist() == [cost]
        assert bars.lines[0].get_ydata().tolist() == [acc]
        assert _bar_extents(bars) == [spread]
        assert bars.lines[0].get_color() == METHOD_COLORS[method]
        assert bars.lines[0].get_marker() == METHOD_MARKERS[method]
    front = next(line for line in ax.lines if line.get_gid() == "pareto front")
    # random and SNIP tie (both on the front), then IMP; SynFlow and early-bird are dominated
    assert front.get_xdata().tolist() == [101, 101, 1000]
    assert front.get_ydata().tolist() == [60.0, 60.0, 80.0]
    assert front.get_drawstyle() == "steps-post"
    # named in the legend, one marker each (no text on the axes that could overlap)
    assert [t.get_text() for t in ax.texts] == ["", ""]  # the two leader lines of the tie
    legend = ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [METHOD_LABELS[m] for m in PLAN] + ["Pareto front (not dominated)", DODGED]
    assert [h.get_marker() for h in legend.legend_handles[: len(PLAN)]] == [METHOD_MARKERS[m] for m in PLAN]
    assert ax.get_xscale() == "log" and "training iterations" in ax.get_xlabel()
    assert "25% of weights remaining" in ax.get_title()
    _assert_legends_beside_the_data(fig)


def test_every_method_has_its_own_marker():
    assert set(METHOD_MARKERS) == set(METHODS) and len(set(METHOD_MARKERS.values())) == len(METHODS)


def test_pareto_plot_sets_a_tie_side_by_side_and_keeps_its_data_exact():
    fig = plot_pareto(_result(), 0.75)
    ax = fig.axes[0]
    at = _marker_centres(fig, ax, PLAN)
    exact = {m: tuple(ax.transData.transform((PLAN[m][0.75][4], PLAN[m][0.75][2]))) for m in PLAN}
    # SNIP and random tie at (101, 60): drawn apart, on either side of the exact spot
    (sx, sy), (rx, ry) = at["snip"], at["random"]
    assert sy == pytest.approx(ry) and abs(sx - rx) >= DODGE * fig.dpi / 72 - 1e-6
    assert min(sx, rx) < exact["snip"][0] < max(sx, rx)
    assert _errorbar(ax, "snip").lines[0].get_xdata().tolist() == [101]  # data unchanged
    # the points alone stay where they are
    for m in ("imp", "earlybird", "synflow"):
        assert at[m] == pytest.approx(exact[m])
    dots = [line for line in ax.lines if line.get_marker() == "." and line.get_xdata().tolist() == [101]]
    assert len(dots) == 2  # a dot at the exact point of each moved marker


def test_pareto_plot_names_every_method_once_and_no_markers_overlap_when_every_method_is_at_chance():
    # what 2% of the weights gave on the digits in one epoch: everything near 10%, costs 36 to 288
    at_chance = {
        "imp": (10.03, 0.0, 288),
        "earlybird": (10.03, 0.0, 72),
        "snip": (10.03, 0.0, 37),
        "grasp": (10.03, 0.0, 38),
        "synflow": (11.84, 1.81, 136),
        "magnitude": (10.03, 0.0, 36),
        "random": (9.89, 0.14, 36),
        "rigl": (9.89, 0.14, 36),
        "set": (9.89, 0.14, 36),
    }
    plan = {m: {0.98: (1, 0, acc, spread, cost)} for m, (acc, spread, cost) in at_chance.items()}
    for fig in (plot_pareto(_result(plan), 0.98), compare_figure(_result(plan))):
        ax = fig.axes[-1]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[: len(at_chance)] == [METHOD_LABELS[m] for m in at_chance]  # each method named once
        assert not [t.get_text() for t in ax.texts if t.get_text()]
        at = _marker_centres(fig, ax, at_chance)
        size = 7 * fig.dpi / 72  # the markers' size in pixels
        clashes = [
            (a, b)
            for i, a in enumerate(at_chance)
            for b in list(at_chance)[:i]
            if abs(at[a][0] - at[b][0]) < size and abs(at[a][1] - at[b][1]) < size
        ]
        assert not clashes
        x0, x1 = sorted(ax.get_window_extent().intervalx)
        assert all(x0 + size / 2 < x < x1 - size / 2 for x, _ in at.values())  # whole markers inside the axes
        _assert_legends_beside_the_data(fig)


def test_pareto_cost_axis_has_plain_ticks_that_do_not_crowd():
    # the default comparison's costs at 2%: 236 to 1,888 iterations
    plan = {
        "imp": {0.98: (1, 0, 92.8, 0.2, 1888)},
        "earlybird": {0.98: (1, 0, 91.3, 0.4, 472)},
        "synflow": {0.98: (1, 0, 87.6, 0.4, 336)},
        "snip": {0.98: (1, 0, 86.6, 0.2, 237)},
        "random": {0.98: (1, 0, 33.4, 7.7, 236)},
    }
    for fig in (plot_pareto(_result(plan), 0.98), compare_figure(_result(plan))):
        ax = fig.axes[-1]
        fig.draw_without_rendering()
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        texts = [t.get_text() for t in labels]
        assert texts and all(t.replace(",", "").isdigit() for t in texts)  # 300, 1,000: no 3x10^2
        assert [float(t.replace(",", "")) for t in texts] == pytest.approx(list(ax.get_xticks()))
        assert not [t for t in ax.get_xticklabels(minor=True) if t.get_text()]
        boxes = [t.get_window_extent() for t in labels]
        assert all(a.x1 + 5 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))  # apart, left to right


def test_log_ticks_pick_fewer_ticks_over_more_decades():
    for lo, hi, expected in [(200, 2000, [200, 300, 500, 1000, 2000]), (30, 30000, [100, 1000, 10000])]:
        fig, ax = plt.subplots()
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        log_ticks(ax)
        assert list(ax.get_xticks()) == expected and ax.get_xlim() == (lo, hi)
        plt.close(fig)


def test_early_bird_label_says_when_its_masks_did_not_settle():
    def runs(settled):
        m = _masks(5, 2)
        return [
            MethodRun("earlybird", 0.75, seed, 70.0, 1000, m, {}, 4 if not ok else 2, ok)
            for seed, ok in enumerate(settled)
        ] + [MethodRun("random", 0.75, seed, 60.0, 101, m, {}) for seed in range(len(settled))]

    for settled, label in [
        ([False, False], "early-bird ticket (not settled)"),
        ([True, False], "early-bird ticket (settled in 1 of 2 runs)"),
        ([True, True], "early-bird ticket"),
    ]:
        res = CompareResult({}, runs(settled))
        for fig in (plot_pareto(res, 0.75), plot_accuracy_vs_sparsity(res)):
            assert label in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
            plt.close(fig)


def test_pareto_plot_at_the_other_sparsity():
    ax = plot_pareto(_result(), 0.5).axes[0]
    front = next(line for line in ax.lines if line.get_gid() == "pareto front")
    assert front.get_xdata().tolist() == [101, 200, 1000] and front.get_ydata().tolist() == [85.0, 86.0, 90.0]
    assert "50% of weights remaining" in ax.get_title()


# --------------------------------------------------------------------------- layer densities
def test_layer_densities_show_the_fraction_each_method_keeps_of_each_layer():
    fig = plot_layer_densities(_result(), 0.75)
    ax = fig.axes[0]
    groups = _bars(ax)
    assert [g.get_label() for g in groups] == [METHOD_LABELS[m] for m in PLAN]
    for g, plan in zip(groups, PLAN.values(), strict=True):
        k1, k2 = plan[0.75][:2]
        np.testing.assert_allclose([b.get_height() for b in g.patches], [k1 / 20, k2 / 8])
        assert all(b.get_y() == 0 for b in g.patches)
    snip = groups[list(PLAN).index("snip")]
    assert snip.patches[1].get_height() == 0.0  # fc2 collapsed
    centers = np.array([[b.get_x() + b.get_width() / 2 for b in g.patches] for g in groups])
    assert np.all(np.diff(centers, axis=0) > 0)  # methods side by side within a layer
    assert np.all(np.abs(centers - [[0, 1]]) < 0.5)  # each bar in its layer's group
    assert [t.get_text() for t in ax.get_xticklabels()] == list(LAYERS)
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_ylabel() == "density (fraction kept)"
    overall = [line for line in ax.lines if line.get_label() == "overall density"]
    assert len(overall) == 1 and list(overall[0].get_ydata()) == [0.25, 0.25]
    assert "25% of weights remaining" in ax.get_title()
    _assert_legends_beside_the_data(fig)


# --------------------------------------------------------------------------- sanity checks
SANITY = SanityResult(
    0.75,
    {
        ("imp", "original"): [79.0, 81.0],
        ("imp", "shuffled"): [60.0, 64.0],
        ("imp", "reinit"): [61.0, 61.0],
        ("snip", "original"): [57.0, 63.0],
        ("snip", "shuffled"): [59.0, 61.0],
        ("snip", "reinit"): [58.0, 62.0],
        ("snip", "inverted"): [20.0, 30.0],
    },
)


def test_sanity_bars_are_each_checks_mean_with_its_std_from_zero():
    fig = plot_sanity(SANITY)
    ax = fig.axes[0]
    groups = _bars(ax)
    assert [g.get_label() for g in groups] == ["original", "shuffled", "reinit", "inverted"]
    expected = {
        "original": ([80.0, 60.0], [1.0, 3.0]),
        "shuffled": ([62.0, 60.0], [2.0, 1.0]),
        "reinit": ([61.0, 60.0], [0.0, 2.0]),
        "inverted": ([25.0], [5.0]),  # SNIP only: IMP has no scores to invert
    }
    for g in groups:
        means, stds = expected[g.get_label()]
        np.testing.assert_allclose([b.get_height() for b in g.patches], means)
        np.testing.assert_allclose(_bar_extents(g.errorbar), stds)
        assert all(b.get_y() == 0 for b in g.patches)
    inverted = groups[-1].patches[0]
    assert 0.5 < inverted.get_x() + inverted.get_width() / 2 < 1.5  # in SNIP's group
    assert ax.get_ylim()[0] == 0.0 and ax.get_ylim()[1] > 81.0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["IMP ticket", "SNIP"]  # long names wrap
    assert "25% of weights remaining" in ax.get_title() and "Frankle et al. 2021" in ax.get_title()
    _assert_legends_beside_the_data(fig)


def test_sanity_rejects_what_is_not_a_sanity_result():
    with pytest.raises(TypeError, match="sanity must be a SanityResult"):
        plot_sanity(SANITY.rows())
    with pytest.raises(ValueError, match="no accuracies"):
        plot_sanity(SanityResult(0.5, {}))


# --------------------------------------------------------------------------- instability
@dataclass
class Row:
    rewind_iter: int
    barrier: float
    errors: list
    alphas: list
    final_test_acc: float


ROWS = [
    Row(100, 0.5, [5.0, 5.5, 5.2], [0.0, 0.5, 1.0], 95.0),
    Row(0, 12.0, [6.0, 18.0, 6.0], [0.0, 0.5, 1.0], 94.0),
    Row(20, 3.0, [5.5, 8.5, 5.5], [0.0, 0.5, 1.0], 94.5),
]


def test_barrier_plot_draws_the_error_path_per_rewind_point_and_the_barrier_against_it():
    fig = plot_barrier(ROWS)
    left, right = fig.axes
    paths = [line for line in left.lines if line.get_gid()]
    assert [line.get_gid() for line in paths] == ["rewind 0", "rewind 20", "rewind 100"]
    for line, row in zip(paths, sorted(ROWS, key=lambda r: r.rewind_iter), strict=True):
        assert line.get_xdata().tolist() == row.alphas and line.get_ydata().tolist() == row.errors
        assert f"{row.final_test_acc:.1f}%" in line.get_label()
    barrier = next(line for line in right.lines if line.get_gid() == "barrier")
    assert barrier.get_xdata().tolist() == [0, 20, 100]
    assert barrier.get_ydata().tolist() == [12.0, 3.0, 0.5]
    assert [list(line.get_ydata()) for line in right.lines if line is not barrier] == [[STABLE_BARRIER] * 2]
    assert left.get_ylabel() == "test error (%)" and "percentage points" in right.get_ylabel()
    assert "rewind iteration" in right.get_xlabel() and "alpha" in left.get_xlabel()
    _assert_legends_beside_the_data(fig)


def test_barrier_plot_into_given_axes_and_bad_rows():
    fig, axes = plt.subplots(1, 2)
    assert plot_barrier(ROWS[:1], axes=axes) is fig
    assert axes[1].lines[0].get_ydata().tolist() == [0.5]
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        plot_barrier([])
    with pytest.raises(ValueError, match="rewind_iter 7: errors and alphas must have the same length, got 2 and 3"):
        plot_barrier([Row(7, 1.0, [1.0, 2.0], [0.0, 0.5, 1.0], 90.0)])
    with pytest.raises(TypeError, match="axes must be two matplotlib Axes, got 1"):
        plot_barrier(ROWS, axes=[axes[0]])
    with pytest.raises(TypeError, match=r"axes\[1\] must be a matplotlib Axes"):
        plot_barrier(ROWS, axes=[axes[0], "right"])


# --------------------------------------------------------------------------- CLI figure
def test_compare_figure_is_accuracy_vs_sparsity_beside_the_pareto_plot_at_the_highest_sparsity():
    res = _result()
    fig = compare_figure(res)
    left, right = fig.axes
    alone = plot_accuracy_vs_sparsity(res).axes[0]
    for method in PLAN:
        assert (
            _errorbar(left, method).lines[0].get_ydata().tolist()
            == _errorbar(alone, method).lines[0].get_ydata().tolist()
        )
        assert _errorbar(right, method).lines[0].get_xdata().tolist() == [PLAN[method][0.75][4]]
    assert "25% of weights remaining" in right.get_title()
    assert fig.get_suptitle() == "mnist5k, model lenet"
    _assert_legends_beside_the_data(fig)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=40, bbox_inches="tight")
    assert png.getvalue().startswith(b"\x89PNG")


# --------------------------------------------------------------------------- the slider
def _pareto_points(fig: Figure) -> dict[str, tuple[float, float]]:
    ax = fig.axes[0]
    return {m: (_errorbar(ax, m).lines[0].get_xdata()[0], _errorbar(ax, m).lines[0].get_ydata()[0]) for m in PLAN}


def test_sparsity_view_redraws_pareto_and_layer_densities_into_one_figure():
    update = sparsity_view(_result())
    assert isinstance(update, SparsityView) and update.sparsities == [0.5, 0.75]
    for sparsity in (0.5, 0.75, 0.5):
        fig = update(sparsity)
        assert fig is update.figure and len(fig.axes) == 2
        assert _pareto_points(fig) == {m: (p[sparsity][4], p[sparsity][2]) for m, p in PLAN.items()}
        heights = [[b.get_height() for b in g.patches] for g in _bars(fig.axes[1])]
        np.testing.assert_allclose(heights, [[p[sparsity][0] / 20, p[sparsity][1] / 8] for p in PLAN.values()])
        assert f"{100 * (1 - sparsity):.3g}% of weights remaining" in fig.axes[1].get_title()
    assert update(0.75 + 1e-12) is update.figure  # a slider's float
    before = _pareto_points(update.figure)
    with pytest.raises(ValueError, match=r"sparsity 0\.6 is not one of the result's target sparsities \[0\.5, 0\.75\]"):
        update(0.6)
    assert _pareto_points(update.figure) == before and len(update.figure.axes) == 2  # left as it was
    with pytest.raises(ValueError, match=r"sparsity must be a number in \[0, 1\]"):
        update(1.5)
    with pytest.raises(TypeError, match="sparsity"):
        update("0.5")


def test_sparsity_widget_follows_its_slider():
    update = sparsity_view(_result())
    w = update.widget()
    assert isinstance(w, SliderFigure)
    slider = w.sliders["sparsity"]
    assert list(slider.options) == [("0.5 (50% left)", 0.5), ("0.75 (25% left)", 0.75)]
    assert slider.value == 0.75 and not slider.continuous_update
    assert _pareto_points(w.figure)["imp"] == (1000, 80.0)
    slider.value = 0.5
    assert _pareto_points(w.figure)["imp"] == (1000, 90.0)
    assert update.slider(0.5).value == 0.5
    with pytest.raises(ValueError, match="0.9"):
        update.slider(0.9)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "plot", [plot_accuracy_vs_sparsity, compare_figure, sparsity_view, lambda r: plot_pareto(r, 0.5)]
)
def test_plots_reject_what_is_not_a_comparison_or_an_empty_one(plot):
    with pytest.raises(TypeError, match="result must be a CompareResult"):
        plot(_result().to_dict())
    with pytest.raises(ValueError, match="result has no runs"):
        plot(CompareResult({}, []))


@pytest.mark.parametrize("plot", [plot_pareto, plot_layer_densities])
@pytest.mark.parametrize(
    ("sparsity", "error", "match"),
    [
        (0.9, ValueError, r"sparsity 0\.9 is not one of the result's target sparsities \[0\.5, 0\.75\]"),
        (-0.1, ValueError, r"sparsity must be a number in \[0, 1\]"),
        (None, TypeError, "sparsity must be a number"),
    ],
)
def test_plots_at_one_sparsity_reject_a_sparsity_the_result_did_not_run(plot, sparsity, error, match):
    with pytest.raises(error, match=match):
        plot(_result(), sparsity)


def test_plots_reject_an_ax_that_is_not_axes_and_a_cost_a_log_axis_cannot_show():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None, got str"):
        plot_accuracy_vs_sparsity(_result(), ax="left")
    free = {"imp": {0.5: (10, 4, 90.0, 0.5, 0)}}
    with pytest.raises(ValueError, match="cost_iterations must be positive"):
        plot_pareto(_result(free), 0.5)


def test_every_figure_keeps_its_labels_and_legends_inside_the_frame():
    view = sparsity_view(_result())
    for fig in (compare_figure(_result()), plot_sanity(SANITY), plot_barrier(ROWS), view(0.5), view(0.75)):
        assert_honest_layout(fig)
