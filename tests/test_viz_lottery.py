"""course_lib.viz.lottery: each plot returns a Figure that shows the data it was given."""

import functools
from types import SimpleNamespace as NS

import numpy as np
import pytest
import torch
from figure_checks import assert_honest_layout
from matplotlib.figure import Figure
from traitlets import TraitError

from course_lib.experiments.analysis import input_density
from course_lib.experiments.lottery import lottery_study
from course_lib.training.train import TrainResult
from course_lib.viz.lottery import (
    VARIANT_COLORS,
    VARIANT_LABELS,
    plot_lottery,
    plot_lottery_curves,
    plot_rewinding,
    plot_rewinding_at,
    plot_ticket_masks,
    plot_training_curves,
    plot_transfer,
    plot_weight_movement,
    rewinding_slider,
)
from course_lib.viz.widgets import SliderFigure, int_slider

JS = {
    "config": {"dataset": "mnist5k", "model": "lenet", "rewind_iter": 0},
    "seeds": [0, 1, 2],
    "dense_test_acc": 94.0,
    "dense_test_acc_std": 0.2,
    "dense_early_stop_iter_mean": 300.0,
    "rows": [
        {
            "variant": v,
            "round": r,
            "weights_remaining": w,
            "test_acc_mean": acc - 0.5 * r * k,
            "test_acc_std": 0.1 * r,
            "early_stop_iter_mean": 300 + 10 * r * k,
            "early_stop_test_acc_mean": acc,
        }
        for k, v in enumerate(("ticket", "reinit", "random_prune"))
        for r, w, acc in ((1, 0.6, 94.5), (2, 0.36, 94.2), (3, 0.216, 93.0))
    ],
}


def _run(val_loss, val_acc, test_acc, seed=0, train_loss=(np.nan, 1, 1)):
    """A TrainResult measured at iterations 0, 5 and 10 (the first training loss is not measured)."""
    n = len(val_acc)
    return TrainResult(
        seed=seed,
        iterations=[0, 5, 10][:n],
        train_loss=list(train_loss)[:n],
        val_loss=list(val_loss),
        val_acc=list(val_acc),
        test_acc=list(test_acc),
    )


def _line(fig, gid):
    return next(line for line in fig.axes[0].lines if line.get_gid() == gid)


def test_plot_lottery_shows_each_variant_from_the_dense_point():
    fig = plot_lottery(JS)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    for k, variant in enumerate(("ticket", "reinit", "random_prune")):
        line = _line(fig, variant)
        container = next(c for c in ax.containers if c.lines[0] is line)
        assert container.get_label() == VARIANT_LABELS[variant]  # the legend entry
        np.testing.assert_allclose(line.get_xdata(), [0, 40, 64, 78.4])  # sparsity, percent
        np.testing.assert_allclose(
            line.get_ydata(), [94.0] + [a - 0.5 * r * k for r, a in ((1, 94.5), (2, 94.2), (3, 93.0))]
        )
    assert ax.get_xscale() == "function"  # spaced by log(weights left), as the paper's axis
    left, right = ax.get_xlim()
    assert left < 0 < 78.4 < right  # sparsity grows to the right
    assert ax.get_xlabel().startswith("sparsity (% of weights pruned")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "40", "64", "78.4"]
    assert_honest_layout(fig)
    # error bars: one vertical segment per point, as long as 2 std
    bars = [c for c in ax.containers if c.lines[0].get_gid() == "reinit"][0]
    segs = bars.lines[2][0].get_segments()
    assert [round(float(s[1][1] - s[0][1]), 6) for s in segs] == [0.4, 0.2, 0.4, 0.6]


def test_training_curves_keep_their_legend_off_the_curves():
    run = _run(val_loss=[2, 1, 1], val_acc=[10, 70, 99], test_acc=[10, 60, 99])
    assert_honest_layout(plot_training_curves({"ticket": run, "dense": run}))


def test_training_curves_show_every_curve_whole():
    """Issue 12: the y axis started above the first evaluations, cutting the curves' start."""
    ticket = _run(val_loss=[2, 1, 1], val_acc=[30, 80, 90], test_acc=[30, 80, 90])
    low = [
        _run(val_loss=[2, 1, 1], val_acc=[12, 40, 60], test_acc=[12, 40, 60]),
        _run(val_loss=[2, 1, 1], val_acc=[8, 42, 62], test_acc=[8, 42, 62], seed=1),
    ]
    ax = plot_training_curves({"ticket": ticket, "reinit": low}).axes[0]
    bottom, top = ax.get_ylim()
    drawn = [y for line in ax.lines for y in line.get_ydata()]
    band = 10.0 - 2.0  # reinit at iteration 0: mean 10, std 2
    assert bottom <= min(min(drawn), band) and bottom >= 0.0 and top >= 100.0
    ax = plot_training_curves({"ticket": _run(val_loss=[2, 1], val_acc=[1, 50], test_acc=[1, 50])}).axes[0]
    assert ax.get_ylim()[0] == 0.0  # never below 0%


def test_plot_lottery_other_metrics_and_bad_input():
    fig = plot_lottery(JS, metric="early_stop_iter")
    np.testing.assert_allclose(_line(fig, "reinit").get_ydata(), [300, 310, 320, 330])
    with pytest.raises(ValueError, match="metric"):
        plot_lottery(JS, metric="loss")
    with pytest.raises(TypeError, match="LotteryResult"):
        plot_lottery({"x": 1})


def test_training_curves_mean_and_lottery_curves(digits):
    a = _run(val_loss=[2, 1, 1.5], val_acc=[10, 70, 80], test_acc=[10, 60, 70], train_loss=[np.nan, 1, 0.5])
    b = _run(val_loss=[2, 0.5, 1], val_acc=[20, 80, 90], test_acc=[10, 60, 70], seed=1, train_loss=[np.nan, 1, 0.5])
    fig = plot_training_curves({"sparse": [a, b]}, metric="val_acc")
    line = fig.axes[0].lines[0]
    assert line.get_label() == "sparse" and line.get_ydata().tolist() == [15, 75, 85]
    assert fig.axes[0].lines[1].get_xdata().tolist() == [5.0]  # early stop marker (both at iteration 5)
    res = lottery_study(digits, model="16", rounds=2, seeds=1, epochs=1, lr=5e-3, progress=False)
    fig = plot_lottery_curves(res, variant="reinit", rounds=[2], metric="val_acc")
    assert fig.axes[0].lines[0].get_ydata().tolist() == res.dense[0].val_acc
    assert fig.axes[0].lines[2].get_ydata().tolist() == res.runs[("reinit", 2)][0].val_acc
    assert_honest_layout(fig)
    with pytest.raises(ValueError, match="rounds"):
        plot_lottery_curves(res, rounds=[3])
    assert _line(plot_lottery(res), "ticket").get_ydata()[0] == pytest.approx(res.dense_test_acc)


def test_training_curves_colour_lottery_variants_as_the_other_lottery_plots():
    run = _run(val_loss=[2, 1], val_acc=[10, 70], test_acc=[10, 60])
    fig = plot_training_curves(
        {"ticket (20% left)": run, "reinit (20% left)": run, "random_prune (20% left)": run, "dense (100%)": run}
    )
    curves = [line for line in fig.axes[0].lines if not line.get_label().startswith("_")]
    assert [(line.get_label().split()[0], line.get_color()) for line in curves] == [
        ("ticket", VARIANT_COLORS["ticket"]),
        ("reinit", VARIANT_COLORS["reinit"]),
        ("random_prune", VARIANT_COLORS["random_prune"]),
        ("dense", "0.5"),
    ]
    assert VARIANT_COLORS == {"ticket": "tab:blue", "reinit": "tab:orange", "random_prune": "tab:green"}
    # the early-stop dots share their line's colour
    dots = [line for line in fig.axes[0].lines if line.get_label().startswith("_")]
    assert [d.get_color() for d in dots] == [c.get_color() for c in curves]
    # other labels (e.g. rounds of one variant) keep the gradient
    other = plot_training_curves({"100% (dense)": run, "53.4%": run}).axes[0].lines
    assert other[0].get_color() not in VARIANT_COLORS.values()
    assert plot_training_curves({"ticket": run, "my run": run}).axes[0].lines[0].get_color() != "tab:blue"
    # two lines of one variant would look alike: gradient too
    twice = plot_training_curves({"ticket round 1": run, "ticket round 3": run}).axes[0].lines
    assert twice[0].get_color() != twice[2].get_color()


def test_rewinding_plots_each_rewind_point(small_histories):
    ax = plot_rewinding(small_histories).axes[0]
    lines = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    assert set(lines) == {"rewind 0", "rewind 7", "reinit"}
    res = small_histories[7]
    expected = [np.mean([r.final_test_acc for r in res.dense])] + [
        np.mean([r.final_test_acc for r in res.runs[("ticket", k)]]) for k in (1, 2)
    ]
    assert lines["rewind 7"].get_ydata() == pytest.approx(expected)
    reinit = small_histories[0]
    assert lines["reinit"].get_ydata() == pytest.approx([np.mean(reinit.test_accs("reinit", k)) for k in (1, 2)])
    assert lines["rewind 7"].get_xdata() == pytest.approx(
        [0.0] + [100 * (1 - res.weights_remaining[k]) for k in (1, 2)]
    )
    assert_honest_layout(ax.figure)


def test_the_rewinding_slider_picks_among_the_precomputed_points(small_histories):
    slider = rewinding_slider(small_histories, value=0)
    assert [k for _, k in slider.options] == list(small_histories) == [0, 7]  # only the points that were run
    w = SliderFigure(functools.partial(plot_rewinding_at, small_histories), rewind_iter=slider)
    gids = lambda: sorted(line.get_gid() for line in w.figure.axes[0].lines if line.get_gid())  # noqa: E731
    assert gids() == ["reinit", "rewind 0"]
    w.sliders["rewind_iter"].value = 7
    assert gids() == ["reinit", "rewind 0", "rewind 7"]
    shown = next(line for line in w.figure.axes[0].lines if line.get_gid() == "rewind 7").get_ydata()
    assert shown[1] == pytest.approx(np.mean(small_histories[7].test_accs("ticket", 1)))
    assert "iteration 7" in w.figure.axes[0].get_title()
    with pytest.raises(TraitError):  # a point that was not run cannot be picked (the IntSlider let 3 through)
        w.sliders["rewind_iter"].value = 3
    assert "iteration 7" in w.figure.axes[0].get_title()  # the figure still shows the last valid point
    assert rewinding_slider(small_histories).value == 7  # default: the last point
    with pytest.raises(ValueError, match="rewind_iter"):
        plot_rewinding_at(small_histories, 3)
    with pytest.raises(ValueError, match="value"):
        rewinding_slider(small_histories, value=3)
    with pytest.raises(ValueError, match="results"):
        rewinding_slider({})


def test_ticket_masks_slider_steps_through_rounds(small_histories, digits):
    h = small_histories[0]
    w = SliderFigure(
        lambda pruning_round: plot_ticket_masks(h, pruning_round, (8, 8)), pruning_round=int_slider("round", 0, 0, 2)
    )
    assert float(w.figure.axes[0].images[0].get_array().mean()) == 1.0
    for r in (1, 2):
        w.sliders["pruning_round"].value = r
        shown = w.figure.axes[0].images[0].get_array()
        assert np.array_equal(np.asarray(shown), h.masks[r][0]["fc1.weight"].float().numpy())
    assert "round 2" in w.figure._suptitle.get_text()
    with pytest.raises(ValueError, match="pruning_round"):
        plot_ticket_masks(h, 3)
    with pytest.raises(ValueError, match="keep_history"):
        plot_ticket_masks(lottery_study(digits, model="8", rounds=1, seeds=1, epochs=1, progress=False), 1)
    assert_honest_layout(w.figure)  # both images with their colour bars, nothing cut
    colour_bars = [ax for ax in w.figure.axes if ax.get_label() == "<colorbar>"]
    assert colour_bars and colour_bars[0].get_ylabel() == "0 = pruned, 1 = kept"  # the mask's, first
    right = w.figure.axes[1].images[0].get_array()
    assert np.allclose(np.asarray(right), input_density(h.masks[2][0]["fc1.weight"], (8, 8)).numpy())
    title = w.figure._suptitle.get_text()
    for variant in h.variants:
        assert f"{variant} {np.mean(h.test_accs(variant, 2)):.1f}" in title


def test_weight_movement_plot_data():
    g = torch.Generator().manual_seed(1)
    w0 = torch.randn(6, 5, generator=g)
    keep = torch.rand(6, 5, generator=g) > 0.5
    fig = plot_weight_movement(w0, 3 * w0 * keep, keep, w0 + 0.5)
    offsets = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(offsets[:, 0], w0[keep].numpy()) and np.allclose(offsets[:, 1], 3 * w0[keep].numpy())
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == (
        "initial weight",
        "weight after the ticket's training",
    )
    kept_bars = [p for p in fig.axes[1].patches if p.get_facecolor()[:3] == fig.axes[1].patches[0].get_facecolor()[:3]]
    assert sum(p.get_height() * p.get_width() for p in kept_bars) == pytest.approx(1.0)  # a density histogram
    assert fig.axes[1].get_xlabel() == "|w_final - w_init| during dense training"
    assert_honest_layout(fig)


def test_transfer_bars_and_source_markers():
    runs = {
        "ticket": [NS(final_test_acc=60.0), NS(final_test_acc=64.0)],
        "reinit": [NS(final_test_acc=50.0), NS(final_test_acc=50.0)],
    }
    fig = plot_transfer(runs, source={"ticket": [70.0, 72.0]}, title="x")
    ax = fig.axes[0]
    assert [float(p.get_height()) for p in ax.patches] == [62.0, 50.0]
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    assert len(diamonds) == 1 and diamonds[0].get_ydata().tolist() == [71.0]
    assert ax.get_ylim() == (0.0, 100.0)  # bars start at zero
    assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()] == [VARIANT_LABELS[v] for v in runs]
    assert ax.get_ylabel() == "test accuracy on the target (%)"
    assert_honest_layout(fig)


def test_transfer_labels_of_all_four_bars_do_not_overlap():
    runs = {v: [NS(final_test_acc=50.0)] for v in ("ticket", "reinit", "random_prune", "dense")}
    fig = plot_transfer(runs)
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in fig.axes[0].get_xticklabels()]
    assert len(boxes) == 4 and not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False))
