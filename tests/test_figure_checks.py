"""The figure checks of tests/figure_checks.py can fail: each fires on a figure broken on purpose
(a cut label, a legend over a point, a text above the bars, a raised bar axis, an image without
its colour bar) and passes on the same figure made right."""

import numpy as np
import pytest
from figure_checks import (
    assert_honest_layout,
    bars_from_zero,
    cut_by_the_frame,
    every_image_has_its_colorbar,
    figure_legends_over_axes,
    legend_covers,
    legends_over_titles,
    legends_right_of_their_axes,
    texts_outside_their_axes,
)
from matplotlib.figure import Figure

from course_lib.viz.figure import new_figure


def _axes(figsize=(4, 3)):
    return new_figure(figsize).add_subplot()


def test_cut_by_the_frame_sees_a_label_or_a_text_beyond_the_edge():
    fig = Figure(figsize=(3, 2))  # no constrained layout: a long y label runs off the page
    ax = fig.subplots()
    ax.set_ylabel("a y label far too long to fit a figure this small\nand a second line")
    assert cut_by_the_frame(fig)
    with pytest.raises(AssertionError, match="a label is cut by the frame"):
        assert_honest_layout(fig)
    ax = _axes((3, 3))
    ax.set_title("a title far too long to fit into a figure three inches wide, so the frame cuts it")
    assert cut_by_the_frame(ax.figure)
    ax.set_title("short")
    assert not cut_by_the_frame(ax.figure)
    ax.figure.text(0.9, 0.5, "a label that runs off the right edge")
    assert cut_by_the_frame(ax.figure)
    assert_honest_layout(_axes().figure)  # an empty axes passes everything


def test_legend_covers_a_line_point_a_bar_a_scatter_point_an_error_bar_and_a_text():
    ax = _axes()
    ax.plot(np.linspace(0, 1, 50), np.linspace(1, 0, 50), "o", label="a long legend entry over the data")
    ax.legend(loc="upper left")
    covered = legend_covers(ax.figure)
    assert covered and all("legend of axes" in c and "line 'a long legend entry" in c for c in covered)
    with pytest.raises(AssertionError, match="a legend covers data"):
        assert_honest_layout(ax.figure)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))  # moved beside the axes: covers nothing
    assert legend_covers(ax.figure) == []
    assert_honest_layout(ax.figure)
    for draw, what in [
        (lambda ax: ax.bar([0.5], [0.5], width=1.0, label="bar"), "covers Rectangle"),
        (lambda ax: ax.scatter([0.5], [0.5], label="scatter"), "covers a point of scatter"),
        (lambda ax: ax.errorbar([0.5], [0.9], yerr=[0.4], ls="none", label="error bar"), "of error bar"),
        (lambda ax: ax.text(0.5, 0.5, "a label", ha="center"), "covers Text"),
    ]:
        ax = _axes()
        ax.set(xlim=(0, 1), ylim=(0, 1))
        draw(ax)
        ax.plot([], [], label="a legend entry")
        ax.legend(loc="center", bbox_to_anchor=(0.5, 0.5))
        assert any(what in c for c in legend_covers(ax.figure)), what
    ax = _axes()  # a figure legend covers data just as well
    ax.plot([0.5], [0.5], "o", label="a point")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.figure.legend(loc="center")
    assert any(c.startswith("figure legend 0 covers a point") for c in legend_covers(ax.figure))


def test_texts_outside_their_axes_sees_a_text_above_the_bars():
    ax = _axes((3, 2))
    ax.bar([0, 1], [1.0, 2.0])
    ax.text(1, 2.0, "200%", va="bottom")  # no headroom: the text sits above the frame
    assert [t.startswith("Text(1, 2.0, '200%')") for t in texts_outside_their_axes(ax.figure)] == [True]
    with pytest.raises(AssertionError, match="a text lies outside its axes"):
        assert_honest_layout(ax.figure)
    ax.set_ylim(0, 2.5)
    assert texts_outside_their_axes(ax.figure) == []
    assert_honest_layout(ax.figure)


def test_figure_legends_over_axes_sees_a_figure_legend_on_a_plot():
    ax = _axes()
    ax.plot([0, 1], [0, 0], label="a line")  # the legend covers no point, but lies over the axes
    ax.figure.legend(loc="center")
    assert figure_legends_over_axes(ax.figure) and legend_covers(ax.figure) == []
    with pytest.raises(AssertionError, match="a figure legend lies over an axes"):
        assert_honest_layout(ax.figure)
    ax.figure.legends.clear()
    ax.figure.legend(loc="outside lower center")  # constrained layout makes room below the axes
    assert figure_legends_over_axes(ax.figure) == []
    assert_honest_layout(ax.figure)


def test_legends_right_of_their_axes_sees_a_legend_inside_its_axes():
    ax = _axes()
    ax.plot([0, 1], [0, 0], label="a line")
    ax.legend(loc="upper left")  # inside, though it covers no point
    assert legend_covers(ax.figure) == [] and not legends_right_of_their_axes(ax.figure)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    assert legends_right_of_their_axes(ax.figure)


def test_bars_from_zero_sees_a_raised_axis_and_a_floating_bar_and_accepts_stacks_when_asked():
    ax = _axes()
    ax.bar([0], [90.0])
    assert bars_from_zero(ax)
    ax.set_ylim(80, 100)  # a raised axis: bars no longer show their lengths
    assert not bars_from_zero(ax)
    with pytest.raises(AssertionError, match="do not start at zero"):
        assert_honest_layout(ax.figure)
    ax = _axes()
    ax.bar([0], [1.0], bottom=0.5)  # floats on nothing
    assert not bars_from_zero(ax) and not bars_from_zero(ax, stacked=True)
    ax = _axes()
    ax.bar([0, 1], [1.0, 2.0])
    ax.bar([0, 1], [0.5, 0.0], bottom=[1.0, 2.0])  # stacked parts, even an empty one
    assert not bars_from_zero(ax) and bars_from_zero(ax, stacked=True)
    assert_honest_layout(ax.figure)
    ax = _axes()
    ax.barh([0, 1], [3.0, 5.0])  # horizontal bars: their lengths run along x
    assert bars_from_zero(ax)
    ax.set_xlim(2, 6)
    assert not bars_from_zero(ax)
    ax.set_xscale("log")  # a log axis has no zero: not measured by the layout check
    assert not bars_from_zero(ax)
    assert_honest_layout(ax.figure)
    ax = _axes()
    ax.bar([0, 1], [-1.0, 2.0])  # negative bars: the axis must show zero, below the top
    assert bars_from_zero(ax)
    ax.set_ylim(0.5, 2.5)
    assert not bars_from_zero(ax)


def test_every_image_has_its_colorbar_sees_a_mask_without_one():
    fig = new_figure((4, 3))
    assert not every_image_has_its_colorbar(fig)  # no image: nothing to say about its scale
    image = fig.add_subplot().imshow(np.eye(3))
    assert not every_image_has_its_colorbar(fig)
    with pytest.raises(AssertionError, match="an image has no colour bar"):
        assert_honest_layout(fig)
    fig.colorbar(image)
    assert every_image_has_its_colorbar(fig)
    assert_honest_layout(fig)
    fig.add_subplot().imshow(np.eye(3), vmin=-1, vmax=1)  # another scale, without its own bar
    assert not every_image_has_its_colorbar(fig)


def test_legends_over_titles_fires_on_a_long_title_beside_the_legend():
    fig = new_figure((7, 4))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="a line with a long name")
    ax.set_title("at sparsity 0.50: csr int32 100%, csr int64 150%, neurons removed 50% of dense", fontsize=9)
    fig.legend(loc="outside right upper", fontsize=8)
    assert legends_over_titles(fig) == [ax.get_title()]
    ax.set_title("a short title")
    assert legends_over_titles(fig) == []
