"""course_lib.viz.finetune: each plot returns a Figure that shows the data it was given."""

from types import SimpleNamespace as NS

import numpy as np
import pytest
from figure_checks import assert_honest_layout
from matplotlib.figure import Figure

from course_lib.experiments.analysis import pruned_accuracy
from course_lib.experiments.finetune import one_shot_vs_iterative, train_subset
from course_lib.experiments.lottery import make_model
from course_lib.experiments.refit import least_squares_refit, refit_scan, remove_layer_neurons
from course_lib.pruning.schedules import step_rates, step_sparsities
from course_lib.pruning.structured import row_keep, row_norm_mask
from course_lib.training.train import evaluate, train
from course_lib.viz.finetune import (
    plot_iterative_steps,
    plot_layer_tolerance,
    plot_one_shot_vs_iterative,
    plot_one_shot_vs_iterative_seeds,
    plot_prune_finetune,
    plot_prune_finetune_seeds,
    plot_pruned_at_sparsity,
    plot_refit_at_sparsity,
    plot_refit_scan,
    plot_schedules,
    plot_sensitivity,
)
from course_lib.viz.widgets import SliderFigure, int_slider, sparsity_slider


@pytest.fixture(scope="module")
def net(digits):
    model = make_model("24", 64, 10, seed=0)
    train(model, digits, epochs=3, lr=5e-3, progress=False)
    return model


def test_pruned_at_sparsity_marks_the_measured_accuracy_and_follows_a_slider(net, digits):
    curve = {"sparsities": [0.0, 0.5, 0.9], "layer": [90.0, 85.0, 40.0], "global": [90.0, 88.0, 60.0]}
    w = SliderFigure(
        lambda sparsity: plot_pruned_at_sparsity(net, digits.test, sparsity, curve=curve, input_shape=(8, 8)),
        sparsity=sparsity_slider(value=0.3),
    )
    w.sliders["sparsity"].value = 0.7
    ax = w.figure.axes[0]
    marks = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    assert marks["layer"].get_xdata().tolist() == [70.0]
    assert marks["layer"].get_ydata()[0] == pruned_accuracy(net, digits.test, 0.7, "layer")
    assert marks["global"].get_ydata()[0] == pruned_accuracy(net, digits.test, 0.7, "global")
    curves = [line for line in ax.lines if not line.get_gid() and len(line.get_xdata()) == 3]
    assert [c.get_ydata().tolist() for c in curves] == [curve["layer"], curve["global"]]
    assert [c.get_xdata().tolist() for c in curves] == [[0.0, 50.0, 90.0]] * 2
    image = w.figure.axes[1].images[0].get_array()
    assert image.shape == (8, 8) and float(image.mean()) == pytest.approx(0.3, abs=0.01)
    assert "sparsity" in ax.get_xlabel()
    assert_honest_layout(w.figure)


def _pf(sparsity, dense, pruned, tuned):
    return NS(sparsity=sparsity, dense_acc=dense, pruned_acc=pruned, finetuned_acc=tuned)


def _one_vs_iter(one_shot, iterative, dense_acc=92.0):
    """A one_shot_vs_iterative result of two points (densities 0.5 then 0.25; target sparsity 0.75)."""
    return NS(
        epochs=[1, 2],
        one_shot_acc=one_shot,
        iterative_acc=iterative,
        densities=[0.5, 0.25],
        target_sparsity=0.75,
        dense_acc=dense_acc,
    )


#: prune_finetune results, a sensitivity scan of fc1 and a refit scan of fc1, as the plots read them
PRUNE_FINETUNE = [NS(sparsity=s, dense_acc=95.0, pruned_acc=90 - 10 * s, finetuned_acc=95 - s) for s in (0.5, 0.9)]
SCAN = NS(sparsities=[0.5, 0.9], acc={"fc1.weight": [95.0, 90.0]}, dense_acc=96.0, sizes={"fc1.weight": 100})
REFIT = NS(
    layer="fc1", sparsities=[0.25, 0.5], removed_acc=[80.0, 50.0], refit_acc=[90.0, 85.0], dense_acc=95.0, split="test"
)


def test_prune_finetune_seeds_shows_means_and_the_control():
    seeds = [
        [_pf(0.0, 90.0, 90.0, 91.0), _pf(0.8, 90.0, 70.0, 92.0)],
        [_pf(0.0, 92.0, 92.0, 91.0), _pf(0.8, 92.0, 80.0, 90.0)],
    ]
    fig = plot_prune_finetune_seeds(seeds, highlight=0.8)
    assert isinstance(fig, Figure)
    left, bars = fig.axes[:2]
    lines = {line.get_gid(): line for line in left.lines if line.get_gid()}
    assert lines["pruned"].get_ydata().tolist() == [91.0, 75.0]  # mean over seeds
    assert lines["finetuned"].get_ydata().tolist() == [91.0, 91.0]
    assert [float(p.get_height()) for p in bars.patches] == [91.0, 91.0, 75.0, 91.0]
    assert [t.get_text() for t in bars.texts] == ["91.0", "91.0", "75.0", "91.0"]
    assert bars.get_ylim() == (0, 100) and "sparsity" in left.get_xlabel()
    assert_honest_layout(fig)
    with pytest.raises(ValueError, match="highlight"):
        plot_prune_finetune_seeds(seeds, highlight=0.5)


def test_one_shot_vs_iterative_seeds_averages():
    a = _one_vs_iter([80.0, 86.0], [90.0, 84.0])
    b = _one_vs_iter([82.0, 88.0], [92.0, 86.0], dense_acc=94.0)
    ax = plot_one_shot_vs_iterative_seeds([a, b]).axes[0]
    assert ax.lines[0].get_ydata().tolist() == [81.0, 87.0]
    assert ax.lines[1].get_ydata().tolist() == [91.0, 85.0]
    assert not ax.texts  # the weights left are in their own panel, not written on the curves
    c = NS(**{**vars(a), "iterative_acc": [70.0, 88.0], "densities": [0.6, 0.25]})
    fig = plot_one_shot_vs_iterative_seeds([a, b], others={"cubic": [c, c]})
    cubic = [line for line in fig.axes[0].lines if line.get_gid() == "others:cubic"]
    assert cubic[0].get_ydata().tolist() == [70.0, 88.0] and "cubic" in cubic[0].get_label()
    assert_honest_layout(fig)
    # the table: one row per network, its own densities, in its line's colour, its label on the row
    table = fig.axes[1]
    rows = {}
    for text in table.texts:
        rows.setdefault(round(text.get_position()[1]), []).append((text.get_position()[0], text.get_text()))
    assert rows == {0: [(1, "25%"), (2, "25%")], 1: [(1, "50%"), (2, "25%")], 2: [(1, "60%"), (2, "25%")]}
    lines = fig.axes[0].lines[:3]
    for text in table.texts:
        assert text.get_color() == lines[round(text.get_position()[1])].get_color()
    labels = [tick.get_text() for tick in table.get_yticklabels()]
    assert labels == [line.get_label() for line in lines] and "cubic" in labels[2]
    assert table.get_ylim()[0] > table.get_ylim()[1]  # the first row (one-shot) on top
    assert "weights left" in table.get_title() and "epochs" in table.get_xlabel()
    assert not _texts_on_data(fig)


def _texts_on_data(fig: Figure) -> list[str]:
    """Texts of ``fig`` whose box holds a line's data point (a label a marker would cover)."""
    fig.draw_without_rendering()
    hits = []
    for ax in fig.axes:
        points = [line.get_transform().transform(line.get_xydata()) for line in ax.lines if len(line.get_xdata())]
        for text in ax.texts:
            box = text.get_window_extent()
            if any(box.contains(x, y) for xy in points for x, y in xy):
                hits.append(text.get_text())
    return hits


def test_texts_on_data_finds_a_label_under_a_marker():
    fig = plot_one_shot_vs_iterative_seeds([_one_vs_iter([80.0, 86.0], [90.0, 84.0])])
    fig.axes[0].annotate("25% left", (2, 84.0), ha="center")  # written on the iterative point, as before
    assert _texts_on_data(fig) == ["25% left"]


def test_layer_tolerance_picks_the_nearest_scanned_sparsity():
    scans = [
        NS(
            sparsities=[0.5, 0.9],
            acc={"fc1.weight": [95.0, 90.0 + s], "fc2.weight": [94.0, 70.0]},
            dense_acc=96.0,
            sizes={"fc1.weight": 100, "fc2.weight": 10},
            split="val",
        )
        for s in (0, 2)
    ]
    fig = plot_layer_tolerance({"a": scans, "b": scans[:1]}, 0.8)
    assert len(fig.axes) == 2
    assert [float(p.get_height()) for p in fig.axes[0].patches] == [91.0, 70.0]
    assert "90%" in fig.axes[0].get_title()
    assert_honest_layout(fig)
    w = SliderFigure(lambda sparsity: plot_layer_tolerance({"a": scans}, sparsity), sparsity=sparsity_slider(value=0.8))
    w.sliders["sparsity"].value = 0.55
    assert [float(p.get_height()) for p in w.figure.axes[0].patches] == [95.0, 94.0]


def test_schedule_and_finetune_plots_show_their_numbers():
    fig = plot_schedules(rate=0.2, rounds=3)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [100, 80, 64, 51.2])
    assert fig.axes[0].lines[1].get_ydata()[-1] == pytest.approx(51.2)

    fig = plot_prune_finetune(PRUNE_FINETUNE)
    assert fig.axes[0].lines[0].get_xdata().tolist() == [50, 90]
    assert fig.axes[0].lines[0].get_ydata().tolist() == [85, 81]
    one = _one_vs_iter([80.0, 85.0], [90.0, 88.0])
    assert plot_one_shot_vs_iterative(one).axes[0].lines[0].get_ydata().tolist() == [80, 85]
    scan = NS(
        sparsities=[0.5, 0.9],
        acc={"fc1.weight": [95.0, 90.0], "fc2.weight": [94.0, 60.0]},
        dense_acc=96.0,
        sizes={"fc1.weight": 100, "fc2.weight": 10},
    )
    fig = plot_sensitivity(scan)
    assert [line.get_ydata().tolist() for line in fig.axes[0].lines[:2]] == [[95, 90], [94, 60]]
    fig = plot_one_shot_vs_iterative(one)
    assert fig.axes[0].lines[1].get_ydata().tolist() == [90, 88]
    assert_honest_layout(fig)


def test_schedule_plot_follows_its_sliders():
    w = SliderFigure(
        plot_schedules, rate=sparsity_slider("rate per round", 0.5, 0.05, 0.9), rounds=int_slider("rounds", 2, 1, 15)
    )
    assert w.figure.axes[0].lines[0].get_ydata().tolist() == [100, 50, 25]
    w.sliders["rounds"].value = 3
    assert w.figure.axes[0].lines[0].get_ydata().tolist() == [100, 50, 25, 12.5]


def test_refit_at_sparsity_markers(net, digits):
    fig = plot_refit_at_sparsity(net, digits, "fc1", 0.5)
    marks = {line.get_gid(): line.get_ydata()[0] for line in fig.axes[0].lines if line.get_gid()}
    assert set(marks) == {"removed", "refit"} and marks["refit"] >= marks["removed"] - 1
    assert "12 of 24" in fig.axes[0].get_xlabel()
    keep = row_keep(row_norm_mask(net.fc1.weight.detach(), 0.5))
    assert marks["removed"] == evaluate(remove_layer_neurons(net, "fc1", keep), digits.test)[1]
    assert marks["refit"] == evaluate(least_squares_refit(net, "fc1", keep, digits.train.x), digits.test)[1]
    scan = refit_scan(net, digits, "fc1", [0.25, 0.5])
    fig = plot_refit_at_sparsity(net, digits, "fc1", 0.5, scan=scan)
    curves = [list(line.get_ydata()) for line in fig.axes[0].lines if len(line.get_xdata()) == 2 and not line.get_gid()]
    assert curves[:2] == [scan.removed_acc, scan.refit_acc]
    with pytest.raises(ValueError, match="layer"):
        plot_refit_at_sparsity(net, digits, "fc9", 0.5)


def test_refit_scan_plot_shows_both_curves():
    removed, refit = plot_refit_scan(REFIT).axes[0].lines[:2]
    assert removed.get_ydata().tolist() == [80, 50] and refit.get_ydata().tolist() == [90, 85]
    assert list(removed.get_xdata()) == list(refit.get_xdata()) == [25.0, 50.0]  # sparsity, percent


def test_iterative_steps_slider_runs_the_schedule(net, digits):
    def plot(steps):
        return plot_iterative_steps(net, digits, steps, target=0.9, n_train=200)

    w = SliderFigure(plot, steps=int_slider("steps", 2, 1, 6))
    w.sliders["steps"].value = 3
    left, ax = w.figure.axes
    run = one_shot_vs_iterative(net, train_subset(digits, 200), 0.9, steps=3, scope="global", progress=False)
    line = next(x for x in ax.lines if x.get_gid() == "iterative")
    assert line.get_ydata().tolist() == run.iterative_acc  # the schedule was run for 3 steps, now
    np.testing.assert_allclose(line.get_xdata(), [100 * s for s in step_sparsities(0.9, 3)], atol=0.2)
    point = next(x for x in ax.lines if x.get_gid() == "one-shot")
    assert point.get_xydata().tolist() == [[90.0, run.one_shot_acc[-1]]]
    np.testing.assert_allclose(
        [p.get_height() for p in left.patches], [100 * r for r in step_rates(step_sparsities(0.9, 3))], atol=0.3
    )
    assert "sparsity" in ax.get_xlabel() and "3 step(s)" in ax.get_title()
    assert_honest_layout(w.figure)
    cubic = plot_iterative_steps(net, digits, 3, target=0.9, n_train=200, schedule="cubic")
    x = next(x for x in cubic.axes[1].lines if x.get_gid() == "iterative").get_xdata()
    np.testing.assert_allclose(x, [100 * s for s in step_sparsities(0.9, 3, "cubic")], atol=0.2)
    with pytest.raises(ValueError, match="n_train"):
        plot_iterative_steps(net, digits, 2, n_train=10**6)


def test_every_figure_keeps_its_legend_off_the_data(net, digits):
    for fig in (
        plot_schedules(0.3, 4),
        plot_prune_finetune(PRUNE_FINETUNE),
        plot_sensitivity(SCAN),
        plot_refit_scan(REFIT),
        plot_refit_at_sparsity(net, digits, "fc1", 0.5),
    ):
        assert_honest_layout(fig)
