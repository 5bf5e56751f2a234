"""course_lib.viz.training: each plot returns a Figure that shows the data it was given."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib.experiments.lottery import lottery_study
from course_lib.training.data import load
from course_lib.training.train import TrainResult
from course_lib.viz.training import (
    VARIANT_COLORS,
    VARIANT_LABELS,
    plot_lottery,
    plot_lottery_curves,
    plot_one_shot_vs_iterative,
    plot_prune_finetune,
    plot_refit_scan,
    plot_schedules,
    plot_sensitivity,
    plot_training_curves,
)

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
        np.testing.assert_allclose(line.get_xdata(), [100, 60, 36, 21.6])
        np.testing.assert_allclose(
            line.get_ydata(), [94.0] + [a - 0.5 * r * k for r, a in ((1, 94.5), (2, 94.2), (3, 93.0))]
        )
    assert ax.get_xscale() == "log"
    left, right = ax.get_xlim()
    assert left > 100 > 21.6 > right  # inverted: sparsity grows to the right
    assert "percent of weights remaining" in ax.get_xlabel()
    # error bars: one vertical segment per point, as long as 2 std
    bars = [c for c in ax.containers if c.lines[0].get_gid() == "reinit"][0]
    segs = bars.lines[2][0].get_segments()
    assert [round(float(s[1][1] - s[0][1]), 6) for s in segs] == [0.4, 0.2, 0.4, 0.6]


def test_plot_lottery_other_metrics_and_bad_input():
    fig = plot_lottery(JS, metric="early_stop_iter")
    np.testing.assert_allclose(_line(fig, "reinit").get_ydata(), [300, 310, 320, 330])
    with pytest.raises(ValueError, match="metric"):
        plot_lottery(JS, metric="loss")
    with pytest.raises(TypeError, match="LotteryResult"):
        plot_lottery({"x": 1})


def test_training_curves_mean_and_lottery_curves():
    a = TrainResult(
        seed=0,
        iterations=[0, 5, 10],
        train_loss=[np.nan, 1, 0.5],
        val_loss=[2, 1, 1.5],
        val_acc=[10, 70, 80],
        test_acc=[10, 60, 70],
    )
    b = TrainResult(
        seed=1,
        iterations=[0, 5, 10],
        train_loss=[np.nan, 1, 0.5],
        val_loss=[2, 0.5, 1],
        val_acc=[20, 80, 90],
        test_acc=[10, 60, 70],
    )
    fig = plot_training_curves({"sparse": [a, b]}, metric="val_acc")
    line = fig.axes[0].lines[0]
    assert line.get_label() == "sparse" and line.get_ydata().tolist() == [15, 75, 85]
    assert fig.axes[0].lines[1].get_xdata().tolist() == [5.0]  # early stop marker (both at iteration 5)
    res = lottery_study(load("digits"), model="16", rounds=2, seeds=1, epochs=1, lr=5e-3, progress=False)
    fig = plot_lottery_curves(res, variant="reinit", rounds=[2], metric="val_acc")
    assert fig.axes[0].lines[0].get_ydata().tolist() == res.dense[0].val_acc
    assert fig.axes[0].lines[2].get_ydata().tolist() == res.runs[("reinit", 2)][0].val_acc
    with pytest.raises(ValueError, match="rounds"):
        plot_lottery_curves(res, rounds=[3])
    assert _line(plot_lottery(res), "ticket").get_ydata()[0] == pytest.approx(res.dense_test_acc)


def test_training_curves_colour_lottery_variants_as_the_other_lottery_plots():
    run = TrainResult(
        seed=0, iterations=[0, 5], train_loss=[np.nan, 1], val_loss=[2, 1], val_acc=[10, 70], test_acc=[10, 60]
    )
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


def test_schedule_and_finetune_plots_show_their_numbers():
    fig = plot_schedules(rate=0.2, rounds=3)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [100, 80, 64, 51.2])
    assert fig.axes[0].lines[1].get_ydata()[-1] == pytest.approx(51.2)

    from types import SimpleNamespace as NS

    res = [NS(sparsity=s, dense_acc=95.0, pruned_acc=90 - 10 * s, finetuned_acc=95 - s) for s in (0.5, 0.9)]
    fig = plot_prune_finetune(res)
    assert fig.axes[0].lines[0].get_xdata().tolist() == [50, 90]
    assert fig.axes[0].lines[0].get_ydata().tolist() == [85, 81]
    one = NS(
        epochs=[1, 2],
        one_shot_acc=[80.0, 85.0],
        iterative_acc=[90.0, 88.0],
        densities=[0.5, 0.25],
        target_sparsity=0.75,
        dense_acc=92.0,
    )
    assert plot_one_shot_vs_iterative(one).axes[0].lines[0].get_ydata().tolist() == [80, 85]
    scan = NS(
        sparsities=[0.5, 0.9],
        acc={"fc1.weight": [95.0, 90.0], "fc2.weight": [94.0, 60.0]},
        dense_acc=96.0,
        sizes={"fc1.weight": 100, "fc2.weight": 10},
    )
    fig = plot_sensitivity(scan)
    assert [line.get_ydata().tolist() for line in fig.axes[0].lines[:2]] == [[95, 90], [94, 60]]
    refit = NS(
        layer="fc1",
        sparsities=[0.25, 0.5],
        removed_acc=[80.0, 50.0],
        refit_acc=[90.0, 85.0],
        dense_acc=95.0,
        split="test",
    )
    assert plot_refit_scan(refit).axes[0].lines[0].get_ydata().tolist() == [80, 50]
