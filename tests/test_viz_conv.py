"""course_lib.viz.conv: notebook 07's plots draw exactly the data they are given (filter masks,
the channel-rate sweep with the slider's rate marked, the lecture's table beside this machine's),
and reject bad input with a clear error."""

from types import SimpleNamespace as NS

import numpy as np
import pytest
import torch
from figure_checks import assert_honest_layout
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from course_lib.experiments.conv import LECTURE_TABLE, channel_sweep
from course_lib.training.config import num_threads
from course_lib.training.conv_models import vgg
from course_lib.training.data import as_images
from course_lib.viz.conv import SWEEP_PANELS, plot_channel_sweep, plot_filter_masks, plot_lecture_table
from course_lib.viz.widgets import SliderFigure, sparsity_slider


def _weight(shape=(6, 2, 3, 3), seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _heatmaps(fig):
    return [ax for ax in fig.axes if ax.images]


# --------------------------------------------------------------------------- plot_filter_masks
@pytest.mark.parametrize(("sparsity", "p"), [(0.5, 1), (1 / 3, 2), (0.0, 1), (1.0, 1)])
def test_filter_masks_prunes_single_weights_left_and_whole_smallest_filters_right(sparsity, p):
    w = _weight()
    fig = plot_filter_masks(w, sparsity, p=p)
    assert isinstance(fig, Figure)
    fine, filters = (ax.images[0].get_array() for ax in _heatmaps(fig))
    rows = w.reshape(6, -1).numpy()
    assert fine.shape == filters.shape == (6, 18)  # one row per filter, in_channels x kh x kw columns
    np.testing.assert_array_equal(fine.data, rows)
    np.testing.assert_array_equal(filters.data, rows)
    pruned = np.ma.getmaskarray(filters)
    assert all(r.all() or not r.any() for r in pruned)  # whole filters only
    norms = np.linalg.norm(rows, ord=p, axis=1)
    k = round(sparsity * 6)
    assert sorted(np.flatnonzero(pruned.all(axis=1)).tolist()) == sorted(np.argsort(norms)[:k].tolist())
    fine_pruned = np.ma.getmaskarray(fine)
    assert int(fine_pruned.sum()) == round(sparsity * w.numel())
    if 0 < fine_pruned.sum() < w.numel():  # the smallest |w| go
        assert np.abs(rows[fine_pruned]).max() <= np.abs(rows[~fine_pruned]).min()


def test_filter_masks_labels_filters_and_input_channels():
    fig = plot_filter_masks(_weight((4, 3, 2, 2)), 0.5)
    left, right = _heatmaps(fig)
    assert left.get_ylabel() == "filter (output channel)" and right.get_ylabel() == ""
    assert left.get_xlabel() == right.get_xlabel() == "input channel x kernel position (3 x 4)"
    assert "filters with smallest L1 norm" in right.get_title() and "sparsity 0.50" in right.get_title()
    assert fig.get_suptitle() == "A conv layer's 4 filters at sparsity 0.50"
    [bar] = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]  # the mask images have a colour bar
    assert bar.get_ylabel() or bar.get_xlabel() or bar.get_title()
    assert plot_filter_masks(_weight(), torch.tensor(0.25)).get_suptitle().endswith("sparsity 0.25")


@pytest.mark.parametrize(
    ("weight", "kwargs", "error", "match"),
    [
        (torch.randn(4, 9), {}, ValueError, r"weight must be a conv weight .* got shape \(4, 9\)"),
        (torch.randn(2, 2, 3, 3, 1), {}, ValueError, r"got shape \(2, 2, 3, 3, 1\)"),
        ([[1.0, 2.0]], {}, TypeError, "weight must be a torch.Tensor, got list"),
        (torch.ones(2, 1, 3, 3, dtype=torch.int64), {}, TypeError, "floating-point"),
        (torch.randn(2, 1, 3, 3), {"sparsity": 1.5}, ValueError, r"sparsity must be a number in \[0, 1\]"),
        (torch.randn(2, 1, 3, 3), {"sparsity": -0.1}, ValueError, "sparsity"),
        (torch.randn(2, 1, 3, 3), {"sparsity": "half"}, TypeError, "sparsity"),
        (torch.randn(2, 1, 3, 3), {"p": 3}, ValueError, "p"),
    ],
)
def test_filter_masks_rejects_bad_input(weight, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_filter_masks(weight, **{"sparsity": 0.5, **kwargs})


# --------------------------------------------------------------------------- plot_channel_sweep
SWEEP = NS(
    rates=[0.0, 0.25, 0.5, 0.75],
    macs_ratio=[1.0, 0.56, 0.26, 0.07],
    size_kib=[600.0, 340.0, 160.0, 40.0],
    ms_per_64=[9.0, 5.0, 3.0, 2.0],
    acc=[97.0, 91.0, 60.0, 20.0],
    dense_acc=97.0,
)


@pytest.mark.parametrize(("rate", "nearest"), [(0.0, 0), (0.3, 1), (0.45, 2), (0.5, 2), (1.0, 3)])
def test_channel_sweep_draws_every_measure_and_marks_the_nearest_rate(rate, nearest):
    fig = plot_channel_sweep(SWEEP, rate)
    assert len(fig.axes) == 4
    for ax, (attr, label) in zip(fig.axes, SWEEP_PANELS, strict=True):
        curve, mark = ax.lines[0], ax.lines[1]
        assert curve.get_xdata().tolist() == [0.0, 25.0, 50.0, 75.0]
        assert curve.get_ydata().tolist() == getattr(SWEEP, attr)
        assert mark.get_xdata().tolist() == [100 * SWEEP.rates[nearest]]
        assert mark.get_ydata().tolist() == [getattr(SWEEP, attr)[nearest]]
        assert mark.get_color() == "tab:red"
        assert ax.get_ylabel() == label and "channels removed" in ax.get_xlabel()
    references = [line for line in fig.axes[3].lines[2:] if list(line.get_ydata()) == [97.0, 97.0]]
    assert len(references) == 1 and all(len(ax.lines) == 2 for ax in fig.axes[:3])  # the dense accuracy only
    i = nearest
    head, time = fig.get_suptitle().split("\n")
    assert head == (
        f"{100 * SWEEP.rates[i]:.0f}% of channels removed: {SWEEP.macs_ratio[i]:.2f}x the MACs, "
        f"{SWEEP.size_kib[i] / 600:.2f}x the size, {SWEEP.acc[i]:.1f}% accuracy"
    )
    assert time.startswith(f"time: 9.00 → {SWEEP.ms_per_64[i]:.2f} ms per 64 pictures, ")


def test_every_figure_keeps_its_labels_inside_the_frame():
    for fig in (plot_filter_masks(_weight(), 0.5), plot_channel_sweep(SWEEP, 0.5)):
        assert_honest_layout(fig)


def test_channel_sweep_title_at_half_the_channels():
    title = plot_channel_sweep(SWEEP, 0.5).get_suptitle()
    assert title == (
        "50% of channels removed: 0.26x the MACs, 0.27x the size, 60.0% accuracy\n"
        "time: 9.00 → 3.00 ms per 64 pictures, 3.0× smaller"
    )


def test_channel_sweep_title_says_larger_when_the_smaller_network_timed_slower():
    # the review's case: 26.19 -> 33.69 ms must not read "0.78x faster"
    slower = NS(**{**vars(SWEEP), "ms_per_64": [26.19, 30.0, 33.69, 20.0]})
    title = plot_channel_sweep(slower, 0.5).get_suptitle()
    assert title.endswith("time: 26.19 → 33.69 ms per 64 pictures, 1.3× larger")
    assert "faster" not in title
    assert plot_channel_sweep(SWEEP, 0.0).get_suptitle().endswith("time: 9.00 → 9.00 ms per 64 pictures, the same")


def test_channel_sweep_compares_size_and_time_with_the_dense_rate_wherever_it_is():
    shuffled = NS(**{k: v[::-1] if isinstance(v, list) else v for k, v in vars(SWEEP).items()})
    assert plot_channel_sweep(shuffled, 0.5).get_suptitle() == plot_channel_sweep(SWEEP, 0.5).get_suptitle()
    no_dense = NS(**{k: v[1:] if isinstance(v, list) else v for k, v in vars(SWEEP).items()})
    title = plot_channel_sweep(no_dense, 0.5).get_suptitle()
    assert title == "50% of channels removed: 0.26x the MACs, 60.0% accuracy"  # no dense model to compare with


@pytest.mark.parametrize(
    ("rate", "error"), [(1.5, ValueError), (-0.1, ValueError), (float("nan"), ValueError), ("0.5", TypeError)]
)
def test_channel_sweep_rejects_a_rate_outside_0_1(rate, error):
    with pytest.raises(error, match="rate must be a number in"):
        plot_channel_sweep(SWEEP, rate)


def test_channel_sweep_plots_a_measured_sweep_and_follows_a_slider(digits):
    data = as_images(digits)
    with num_threads(1):
        sweep = channel_sweep(vgg(width=0.0625, input_size=8), data, [0.0, 0.5], repeats=1, threads=1)
    w = SliderFigure(lambda rate: plot_channel_sweep(sweep, rate), rate=sparsity_slider("rate", 0.0, 0.0, 0.9, 0.1))
    assert w.figure.axes[0].lines[1].get_xdata().tolist() == [0.0]
    w.sliders["rate"].value = 0.4
    for ax, (attr, _) in zip(w.figure.axes, SWEEP_PANELS, strict=True):
        assert ax.lines[0].get_ydata().tolist() == getattr(sweep, attr)
        assert ax.lines[1].get_xdata().tolist() == [50.0]
        assert ax.lines[1].get_ydata().tolist() == [getattr(sweep, attr)[1]]
    assert f"{sweep.macs_ratio[1]:.2f}x the MACs" in w.figure.get_suptitle()


# --------------------------------------------------------------------------- plot_lecture_table
def _row(lecture, size_kib, ms_per_64, family=None):
    return NS(family=family or f"{lecture} (small)", lecture=lecture, size_kib=size_kib, ms_per_64=ms_per_64)


def test_lecture_table_bars_are_the_lectures_ratios_beside_the_measured_ones():
    rows = [_row("VGG19", (0.6, 0.15), (10.0, 4.0)), _row("SimpleNet", (0.1, 0.05), (8.0, 2.0)),
            _row("MobileNet V1", (0.2, 0.08), (6.0, 5.0))]  # fmt: skip
    fig = plot_lecture_table(rows)
    size_ax, time_ax = fig.axes
    table = LECTURE_TABLE
    lecture_size = [table[n].size_mb[1] / table[n].size_mb[0] for n in ("VGG19", "SimpleNet", "MobileNet V1")]
    lecture_time = [table[n].ms_per_64[1] / table[n].ms_per_64[0] for n in ("VGG19", "SimpleNet", "MobileNet V1")]
    for ax, lecture, here in ((size_ax, lecture_size, [0.25, 0.5, 0.4]), (time_ax, lecture_time, [0.4, 0.25, 5 / 6])):
        heights = [b.get_height() for b in ax.patches]
        np.testing.assert_allclose(heights, lecture + here)
        assert [b.get_facecolor() for b in ax.patches] == [to_rgba("tab:gray")] * 3 + [to_rgba("tab:blue")] * 3
        xs = [b.get_x() + b.get_width() / 2 for b in ax.patches]
        np.testing.assert_allclose(xs, [-0.2, 0.8, 1.8, 0.2, 1.2, 2.2])  # each row's two bars side by side
        names = [t.get_text() for t in ax.get_xticklabels()]
        assert names == [f"{n}\n(small)\nlecture: {n}" for n in ("VGG19", "SimpleNet", "MobileNet V1")]
        assert [t.get_text() for t in ax.texts] == [f"{h:.2f}" for h in here]  # measured bars are labelled
        assert ax.get_ylabel().endswith("after / before")
        assert ax.get_legend() is None and ax.get_ylim() == (0.0, 1.15 * max(1.0, *lecture, *here))
    assert size_ax.get_ylabel() == "model size: after / before"
    assert time_ax.get_ylabel() == "time per 64 pictures: after / before"
    [legend] = fig.legends  # one, below the axes: it covers no bar
    assert [t.get_text() for t in legend.get_texts()] == ["lecture (CIFAR-10)", "measured here"]
    assert_honest_layout(fig)


def test_lecture_table_names_what_was_measured_beside_the_lectures_row():
    rows = [_row("VGG19", (0.6, 0.15), (10.0, 4.0), family="VGG-11 (1/8 width)"),
            _row("DenseNet40", (0.2, 0.06), (6.0, 5.0), family="DenseNet-10 (k=4)"),
            _row("SimpleNet", (0.2, 0.06), (6.0, 5.0), family="SimpleNet")]  # fmt: skip
    fig = plot_lecture_table(rows)
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "VGG-11\n(1/8 width)\nlecture: VGG19",
            "DenseNet-10\n(k=4)\nlecture: DenseNet40",
            "SimpleNet",  # the full-size row is the lecture's network itself
        ]
    assert_honest_layout(fig)


def test_lecture_table_names_of_the_notebooks_four_families_do_not_overlap():
    families = [("SimpleNet (1/16 width)", "SimpleNet"), ("VGG-11 (1/8 width)", "VGG19"),
                ("DenseNet-10 (k=4)", "DenseNet40"), ("MobileNet V1 (1/8 width)", "MobileNet V1")]  # fmt: skip
    fig = plot_lecture_table([_row(lecture, (1.0, 0.25), (10.0, 6.0), family=f) for f, lecture in families])
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False)), [(b.x0, b.x1) for b in boxes]


def test_lecture_table_rejects_a_row_not_in_the_lecture():
    with pytest.raises(ValueError, match="'ResNet18'") as err:
        plot_lecture_table([_row("VGG19", (1.0, 0.5), (1.0, 0.5)), _row("ResNet18", (1.0, 0.5), (1.0, 0.5))])
    assert "DenseNet40" in str(err.value)
