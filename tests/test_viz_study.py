"""course_lib.viz.study: each plot returns a Figure that shows the data it was given."""

from types import SimpleNamespace as NS

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_lib.experiments.analysis import pruned_accuracy
from course_lib.experiments.lottery import lottery_study, make_model
from course_lib.training.data import load
from course_lib.training.train import train
from course_lib.viz.study import (
    plot_layer_tolerance,
    plot_one_shot_vs_iterative_seeds,
    plot_prune_finetune_seeds,
    plot_pruned_at_rate,
    plot_refit_at_rate,
    plot_rewinding,
    plot_ticket_masks,
    plot_transfer,
    plot_weight_movement,
)
from course_lib.viz.widgets import SliderFigure, int_slider, rate_slider

DATA = load("digits")


@pytest.fixture(scope="module")
def net():
    model = make_model("24", 64, 10, seed=0)
    train(model, DATA, epochs=3, lr=5e-3, progress=False)
    return model


@pytest.fixture(scope="module")
def histories():
    return lottery_study(
        DATA,
        model="16",
        rounds=2,
        seeds=[0, 1],
        epochs=1,
        rate=0.5,
        rewind_iter=[0, 4],
        keep_history=True,
        progress=False,
    )


def test_pruned_at_rate_marks_the_measured_accuracy_and_follows_a_slider(net):
    curve = {"rates": [0.0, 0.5, 0.9], "layer": [90.0, 85.0, 40.0], "global": [90.0, 88.0, 60.0]}
    w = SliderFigure(
        lambda rate: plot_pruned_at_rate(net, DATA.test, rate, curve=curve, input_shape=(8, 8)),
        rate=rate_slider(value=0.3),
    )
    w.sliders["rate"].value = 0.7
    ax = w.figure.axes[0]
    marks = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    assert marks["layer"].get_xdata().tolist() == [70.0]
    assert marks["layer"].get_ydata()[0] == pruned_accuracy(net, DATA.test, 0.7, "layer")
    assert marks["global"].get_ydata()[0] == pruned_accuracy(net, DATA.test, 0.7, "global")
    curves = [line for line in ax.lines if not line.get_gid() and len(line.get_xdata()) == 3]
    assert [c.get_ydata().tolist() for c in curves] == [curve["layer"], curve["global"]]
    image = w.figure.axes[1].images[0].get_array()
    assert image.shape == (8, 8) and float(image.mean()) == pytest.approx(0.3, abs=0.01)


def _pf(sparsity, dense, pruned, tuned):
    return NS(sparsity=sparsity, dense_acc=dense, pruned_acc=pruned, finetuned_acc=tuned)


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
    with pytest.raises(ValueError, match="highlight"):
        plot_prune_finetune_seeds(seeds, highlight=0.5)


def test_one_shot_vs_iterative_seeds_averages():
    a = NS(
        epochs=[1, 2],
        one_shot_acc=[80.0, 86.0],
        iterative_acc=[90.0, 84.0],
        densities=[0.5, 0.25],
        target_sparsity=0.75,
        dense_acc=92.0,
    )
    b = NS(
        epochs=[1, 2],
        one_shot_acc=[82.0, 88.0],
        iterative_acc=[92.0, 86.0],
        densities=[0.5, 0.25],
        target_sparsity=0.75,
        dense_acc=94.0,
    )
    ax = plot_one_shot_vs_iterative_seeds([a, b]).axes[0]
    assert ax.lines[0].get_ydata().tolist() == [81.0, 87.0]
    assert ax.lines[1].get_ydata().tolist() == [91.0, 85.0]
    assert [t.get_text() for t in ax.texts] == ["50% left", "25% left"]


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
    w = SliderFigure(lambda sparsity: plot_layer_tolerance({"a": scans}, sparsity), sparsity=rate_slider(value=0.8))
    w.sliders["sparsity"].value = 0.55
    assert [float(p.get_height()) for p in w.figure.axes[0].patches] == [95.0, 94.0]


def test_refit_at_rate_markers(net):
    fig = plot_refit_at_rate(net, DATA, "fc1", 0.5)
    marks = {line.get_gid(): line.get_ydata()[0] for line in fig.axes[0].lines if line.get_gid()}
    assert set(marks) == {"removed", "refit"} and marks["refit"] >= marks["removed"] - 1
    assert "12 of 24" in fig.axes[0].get_xlabel()


def test_ticket_masks_slider_steps_through_rounds(histories):
    h = histories[0]
    w = SliderFigure(lambda round: plot_ticket_masks(h, round, (8, 8)), round=int_slider("round", 0, 0, 2))
    assert float(w.figure.axes[0].images[0].get_array().mean()) == 1.0
    for r in (1, 2):
        w.sliders["round"].value = r
        shown = w.figure.axes[0].images[0].get_array()
        assert np.array_equal(np.asarray(shown), h.masks[r][0]["fc1.weight"].float().numpy())
    assert "round 2" in w.figure._suptitle.get_text()
    with pytest.raises(ValueError, match="round"):
        plot_ticket_masks(h, 3)
    with pytest.raises(ValueError, match="keep_history"):
        plot_ticket_masks(lottery_study(DATA, model="8", rounds=1, seeds=1, epochs=1, progress=False), 1)


def test_rewinding_plots_each_rewind_point(histories):
    ax = plot_rewinding(histories).axes[0]
    lines = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    assert set(lines) == {"rewind 0", "rewind 4", "reinit"}
    res = histories[4]
    expected = [np.mean([r.final_test_acc for r in res.dense])] + [
        np.mean([r.final_test_acc for r in res.runs[("ticket", k)]]) for k in (1, 2)
    ]
    assert lines["rewind 4"].get_ydata() == pytest.approx(expected)


def test_weight_movement_plot_data():
    g = torch.Generator().manual_seed(1)
    w0 = torch.randn(6, 5, generator=g)
    keep = torch.rand(6, 5, generator=g) > 0.5
    fig = plot_weight_movement(w0, 3 * w0 * keep, keep, w0 + 0.5)
    offsets = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(offsets[:, 0], w0[keep].numpy()) and np.allclose(offsets[:, 1], 3 * w0[keep].numpy())


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
