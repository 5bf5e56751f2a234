"""Is a figure honest? The checks every test of ``course_lib.viz`` shares (issue 12, "Figures"):
nothing cut by the frame, no legend over data, texts inside their axes, figure legends beside the
axes, bars from zero, a colour bar beside every image.

Plain functions on a matplotlib ``Figure`` (or ``Axes``): each draws the figure first (constrained
layout places things only then; ``drawn=True`` skips it), measures in display pixels and answers a
bool or a list of what is wrong, so a test can show a check firing on a figure broken on purpose
(tests/test_figure_checks.py). ``assert_honest_layout`` asserts the checks every figure must pass.
Tests import them as ``from figure_checks import ...`` (pytest puts tests/ on ``sys.path``: it has
no ``__init__.py``, and tests/conftest.py imports its neighbours the same way).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

__all__ = [
    "assert_honest_layout",
    "bars_from_zero",
    "cut_by_the_frame",
    "every_image_has_its_colorbar",
    "figure_legends_over_axes",
    "legend_covers",
    "legends_right_of_their_axes",
    "texts_outside_their_axes",
]


def _lay_out(fig: Figure, drawn: bool) -> None:
    """Draw ``fig`` unless the caller just did: drawing runs the constrained layout, which places
    the axes, legends and texts (also on a figure pyplot has closed)."""
    if not drawn:
        fig.draw_without_rendering()


def _overhang(fig: Figure) -> tuple[Bbox, Bbox]:
    """(what is drawn, the page allowed), both in inches, of a figure laid out already."""
    pad = min(1.0 / fig.dpi, 0.01)  # one pixel, or 0.01 inch on a figure of more than 100 dpi
    return fig.get_tightbbox(), fig.bbox_inches.padded(pad)


def cut_by_the_frame(fig: Figure, *, drawn: bool = False) -> bool:
    """True when something drawn (title, axis label, tick label, text, legend, colour bar) reaches
    beyond the figure's edge by more than one pixel (0.01 inch at most): the frame would cut it.

    Args:
        fig: the figure, laid out here.
        drawn: ``True`` when ``fig`` was just drawn (``fig.draw_without_rendering()``): not again.

    Returns:
        ``True`` when a part of the drawing lies outside the page.
    """
    _lay_out(fig, drawn)
    used, frame = _overhang(fig)
    return not (frame.contains(used.x0, used.y0) and frame.contains(used.x1, used.y1))


def _legends(fig: Figure) -> list[tuple[str, Legend]]:
    """Every visible legend of ``fig``: the figure's own, then each axes' legend, with a name."""
    found = [(f"figure legend {i}", g) for i, g in enumerate(fig.legends)]
    found += [(f"legend of {_name(ax)}", g) for ax in fig.axes if (g := ax.get_legend()) is not None]
    return [(name, g) for name, g in found if g.get_visible()]


def _name(ax: Axes) -> str:
    """'axes 1 ('its title')': where the axes stands in its figure, and its title or y label."""
    title = ax.get_title() or ax.get_ylabel()
    return f"axes {ax.figure.axes.index(ax)}" + (f" ({title!r})" if title else "")


def _data_points(ax: Axes) -> list[tuple[str, np.ndarray]]:
    """(what, display coordinates n x 2) of the data drawn as points in ``ax``: each line's
    vertices, each scatter's points and the ends of error bars (LineCollection segments)."""
    found = []
    for line in ax.lines:
        if line.get_visible():
            found.append((f"line {line.get_label()!r}", line.get_transform().transform(line.get_xydata())))
    for c in ax.collections:
        if not c.get_visible():
            continue
        xy = np.asarray(c.get_offsets(), dtype=float)
        if isinstance(c, PathCollection) and len(xy):
            found.append((f"scatter {c.get_label()!r}", c.get_offset_transform().transform(xy)))
        elif isinstance(c, LineCollection) and c.get_segments():
            ends = np.concatenate([np.asarray(s, dtype=float)[[0, -1]] for s in c.get_segments() if len(s)])
            found.append((f"error bar {c.get_label()!r}", c.get_transform().transform(ends)))
    return found


def legend_covers(fig: Figure, *, drawn: bool = False) -> list[str]:
    """What any legend (the figure's or an axes') hides of any axes: line vertices, scatter points
    and error-bar ends inside the legend's box, bars (any patch) and non-empty texts overlapping it.

    Args:
        fig: the figure, laid out here.
        drawn: ``True`` when ``fig`` was just drawn (``fig.draw_without_rendering()``): not again.

    Returns:
        One line per covered thing, naming the legend, the axes and the data; ``[]`` when the
        legends cover nothing.
    """
    _lay_out(fig, drawn)
    covered = []
    for legend_name, legend in _legends(fig):
        box = legend.get_window_extent()
        for ax in fig.axes:
            for what, xy in _data_points(ax):
                under = [(round(x, 1), round(y, 1)) for x, y in xy.tolist() if box.contains(x, y)]
                covered += [f"{legend_name} covers a point of {what} in {_name(ax)} at {p} px" for p in under]
            for artist in [*ax.patches, *(t for t in ax.texts if t.get_text())]:
                if artist.get_visible() and box.overlaps(artist.get_window_extent()):
                    covered.append(f"{legend_name} covers {artist} in {_name(ax)}")
    return covered


def texts_outside_their_axes(fig: Figure, tolerance: float = 1.0, *, drawn: bool = False) -> list[str]:
    """Texts written in an axes (``ax.text``, ``ax.annotate``: value labels over bars, names of
    points) that reach beyond that axes' frame: cut, or over a neighbour's tick labels.

    Args:
        fig: the figure, laid out here.
        drawn: ``True`` when ``fig`` was just drawn (``fig.draw_without_rendering()``): not again.
        tolerance: how far, in pixels, a text may reach over the frame (0 for none).

    Returns:
        ``repr`` of each text outside its frame, with its axes; ``[]`` when all are inside.
    """
    _lay_out(fig, drawn)
    outside = []
    for ax in fig.axes:
        frame = ax.get_window_extent().padded(tolerance)
        for text in ax.texts:
            box = text.get_window_extent()
            if text.get_visible() and text.get_text() and not (frame.contains(*box.min) and frame.contains(*box.max)):
                outside.append(f"{text!r} in {_name(ax)}")
    return outside


def figure_legends_over_axes(fig: Figure, *, drawn: bool = False) -> list[str]:
    """Figure legends (``fig.legend``) that overlap an axes (a colour bar's included): a figure
    legend is meant to stand beside the plots, where it can cover no data.

    Args:
        fig: the figure, laid out here.
        drawn: ``True`` when ``fig`` was just drawn (``fig.draw_without_rendering()``): not again.

    Returns:
        One line per (figure legend, axes) that overlap; ``[]`` when none does.
    """
    _lay_out(fig, drawn)
    return [
        f"{name} overlaps {_name(ax)}"
        for name, legend in _legends(fig)
        if name.startswith("figure legend")
        for ax in fig.axes
        if legend.get_window_extent().overlaps(ax.get_window_extent())
    ]


def legends_right_of_their_axes(fig: Figure, *, drawn: bool = False) -> bool:
    """True when every axes legend stands right of its axes' frame (outside it, where it can cover
    none of that axes' data); vacuously true for a figure without axes legends.

    Args:
        fig: the figure, laid out here.
        drawn: ``True`` when ``fig`` was just drawn (``fig.draw_without_rendering()``): not again.

    Returns:
        ``False`` when some axes' legend starts left of that axes' right edge.
    """
    _lay_out(fig, drawn)
    legends = [(ax, g) for ax in fig.axes if (g := ax.get_legend()) is not None]
    return all(legend.get_window_extent().x0 >= ax.get_window_extent().x1 for ax, legend in legends)


def _bars(ax: Axes) -> list[tuple[bool, Rectangle]]:
    """(vertical?, bar) for each bar of ``ax``'s bar containers (``ax.bar``, ``ax.barh``, ``ax.hist``)."""
    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    return [(c.orientation != "horizontal", p) for c in containers for p in c.patches]


def bars_from_zero(ax: Axes, stacked: bool = False) -> bool:
    """True when the bars of ``ax`` are honest lengths: each starts at zero (with ``stacked``, at
    zero or on top of another bar at the same place) and the value axis starts at zero (when all
    bars are positive; with negative bars, it shows zero). Vertical bars (``bar``, ``hist``) are
    measured on y, horizontal ones (``barh``) on x. An axes without bars passes.

    Args:
        ax: the axes, read as it is (limits need no drawing).
        stacked: accept bars that start on top of another bar (stacked parts of a total).

    Returns:
        ``False`` when a bar floats above zero or the axis is cut above zero (bars from 80% make a
        2-point gap look like a halving).
    """
    for vertical in (True, False):
        # (place along the category axis, start, end) of each bar, on the value axis
        bars = [
            (p.get_x(), p.get_y(), p.get_y() + p.get_height())
            if vertical
            else (p.get_y(), p.get_x(), p.get_x() + p.get_width())
            for v, p in _bars(ax)
            if v == vertical
        ]
        for i, (at, start, _) in enumerate(bars):
            on_a_bar = any(at == at2 and np.isclose(start, end) for j, (at2, _, end) in enumerate(bars) if j != i)
            if start != 0 and not (stacked and on_a_bar):
                return False
        ends = [v for bar in bars for v in bar[1:] if np.isfinite(v)]
        low, high = sorted(ax.get_ylim() if vertical else ax.get_xlim())
        if ends and (low != 0 if min(ends) >= 0 else not low <= 0 <= high):
            return False
    return True


def every_image_has_its_colorbar(fig: Figure) -> bool:
    """True when ``fig`` shows images (``imshow``: masks, heatmaps) and each one's colour scale is
    shown by a colour bar of the same limits (its own, or one a twin image with those limits has).

    Args:
        fig: the figure.

    Returns:
        ``False`` for a figure without images, or with an image whose scale has no colour bar.
    """
    images = [im for ax in fig.axes for im in ax.images]
    limits = {tuple(im.colorbar.mappable.get_clim()) for im in images if im.colorbar is not None}
    return bool(images) and all(tuple(im.get_clim()) in limits for im in images)


def _value_scale(ax: Axes, vertical: bool) -> str:
    return ax.get_yscale() if vertical else ax.get_xscale()


def legends_over_titles(fig: Figure) -> list[str]:
    """Titles (the figure's, each axes') and axis labels that a legend overlaps (a long title
    running under a legend beside the axes)."""
    fig.draw_without_rendering()
    titles = [t for ax in fig.axes for t in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label)]
    titles += [fig._suptitle] if fig._suptitle is not None else []
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    return [
        t.get_text()
        for g in legends
        for t in titles
        if t.get_text() and g.get_window_extent().overlaps(t.get_window_extent())
    ]


def assert_honest_layout(fig: Figure) -> None:
    """Assert what every course figure must be: nothing cut by the frame; no legend over data;
    texts inside their axes; figure legends off the axes and off every title and axis label;
    bars from zero (stacked bars allowed; bars on a log value axis, which has no zero and says
    so, are not measured); a colour bar for every image, when there are images.

    Args:
        fig: the figure, laid out here.

    Raises:
        AssertionError: naming the first failed check and what it found.
    """
    fig.draw_without_rendering()  # once: the checks below read the layout it made
    used, frame = _overhang(fig)
    assert not cut_by_the_frame(fig, drawn=True), f"a label is cut by the frame: drawn {used} in, page {frame} in"
    covered = legend_covers(fig, drawn=True)
    assert not covered, "a legend covers data: " + "; ".join(covered[:5])
    outside = texts_outside_their_axes(fig, drawn=True)
    assert not outside, "a text lies outside its axes: " + "; ".join(outside)
    over = figure_legends_over_axes(fig, drawn=True)
    assert not over, "a figure legend lies over an axes: " + "; ".join(over)
    titles = legends_over_titles(fig)
    assert not titles, "a legend covers a title or axis label: " + "; ".join(titles)
    for ax in fig.axes:
        if all(_value_scale(ax, vertical) != "log" for vertical, _ in _bars(ax)):
            assert bars_from_zero(ax, stacked=True), f"the bars of {_name(ax)} do not start at zero"
    if any(ax.images for ax in fig.axes):
        assert every_image_has_its_colorbar(fig), "an image has no colour bar showing its scale"
