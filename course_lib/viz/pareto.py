"""The Pareto plot's geometry: which points no other dominates, markers at one cost side by side,
and a log cost axis with ticks far enough apart to read. Used by :func:`course_lib.viz.compare.plot_pareto`.

A Pareto plot of accuracy against cost puts many methods at almost the same cost (every
method that trains one sparse network pays about the same iterations), so their markers fall
on top of each other: :func:`close_groups` finds them and :func:`dodge` draws them side by
side, each tied by a thin line to a dot at its exact position (the data stay exact).

>>> pareto_front([236, 237, 336, 1888], [85.4, 86.6, 87.6, 92.8])
[0, 1, 2, 3]
>>> close_groups([(0.0, 85.4), (0.3, 86.6), (0.5, 83.9), (60.0, 92.8)], within=11.0)
[[0, 1, 2], [3]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from matplotlib.transforms import offset_copy

__all__ = ["DODGE", "DODGED", "pareto_front", "close_groups", "dodge", "log_ticks"]

#: Points between the markers the Pareto plot sets side by side (same cost, close accuracies).
DODGE = 11.0
#: The Pareto legend's last entry when markers were set side by side (lines no wider than
#: "Pareto front (not dominated)", so the legend does not grow sideways).
DODGED = "(markers at about the\n same cost: side by side,\n a dot at the exact cost)"


def pareto_front(costs: Sequence[float], accs: Sequence[float]) -> list[int]:
    """The points no other point dominates, by increasing cost.

    A point is dominated when another costs at most as much and is at least as accurate,
    and is strictly better in one of the two. Equal points do not dominate each other.

    Args:
        costs: cost of each point (e.g. training iterations), lower is better.
        accs: accuracy of each point (e.g. percent), higher is better; as long as ``costs``.

    Returns:
        Indices into ``costs`` of the non-dominated points, sorted by cost (then accuracy).

    Raises:
        ValueError: ``costs`` and ``accs`` differ in length.

    >>> pareto_front([10, 20, 30, 20], [50.0, 70.0, 60.0, 70.0])
    [0, 1, 3]
    """
    if len(costs) != len(accs):
        raise ValueError(f"costs and accs must have the same length, got {len(costs)} and {len(accs)}")

    def dominates(j: int, i: int) -> bool:
        no_worse = costs[j] <= costs[i] and accs[j] >= accs[i]
        return no_worse and (costs[j] < costs[i] or accs[j] > accs[i])

    n = range(len(costs))
    front = [i for i in n if not any(dominates(j, i) for j in n)]
    return sorted(front, key=lambda i: (costs[i], accs[i]))


def close_groups(points: Sequence[tuple[float, float]], within: float) -> list[list[int]]:
    """Points whose markers would sit on top of each other.

    Two points are close when they are less than ``within`` apart both across and up (a
    marker's size, in the unit of ``points``); a group is every point chained to another by
    closeness.

    Args:
        points: ``(x, y)`` of each point where it is drawn, e.g. in typographic points.
        within: the distance below which two markers overlap, same unit.

    Returns:
        Every point's index in exactly one group (a group of one: a point alone); within a
        group by x, then index; groups in the order of their leftmost point.

    >>> close_groups([(10.0, 50.0), (12.0, 55.0), (30.0, 52.0), (12.0, 90.0)], within=11.0)
    [[0, 1], [3], [2]]
    """
    group = list(range(len(points)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for i, (xi, yi) in enumerate(points):
        for j, (xj, yj) in enumerate(points[:i]):
            if abs(xi - xj) < within and abs(yi - yj) < within:
                group[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in sorted(range(len(points)), key=lambda i: (points[i][0], i)):
        members.setdefault(root(i), []).append(i)
    return list(members.values())


def dodge(ax: Axes, containers: Sequence[ErrorbarContainer], costs: Sequence[float], accs: Sequence[float]) -> bool:
    """Draw the markers of each :func:`close_groups` group side by side, :data:`DODGE` points apart.

    Each point of a group of two or more is moved sideways in the drawing only (its data stay
    exact), centred on the group, and tied by a thin line to a small dot at its exact
    position; the x axis grows so the outermost markers stay inside. Call after everything
    else that takes room in the figure (legends, titles) is drawn: it lays the figure out
    (``draw_without_rendering``) to see where the markers land. Markers closer than
    :data:`DODGE` points overlap.

    Args:
        ax: the axes the points are drawn in, with a log x axis.
        containers: the ``ax.errorbar`` container of each point (marker, caps and bar move together).
        costs: each point's x (> 0 on a log axis).
        accs: each point's y.

    Returns:
        Whether some markers were moved (the caller's legend can then say so, :data:`DODGED`).

    Raises:
        ValueError: ``ax`` belongs to no figure.
    """
    fig = ax.get_figure(root=True)
    if not isinstance(fig, Figure):
        raise ValueError("ax must belong to a figure")
    fig.draw_without_rendering()  # lay the figure out: the markers' final places
    to_points = 72.0 / fig.dpi
    groups = close_groups(
        [tuple(p) for p in ax.transData.transform(list(zip(costs, accs, strict=True))) * to_points], DODGE
    )
    for members in (g for g in groups if len(g) > 1):
        for k, i in enumerate(members):
            dx = (k - (len(members) - 1) / 2) * DODGE
            shift = offset_copy(ax.transData, fig=fig, x=dx, units="points")
            for artist in [containers[i].lines[0], *containers[i].lines[1], *containers[i].lines[2]]:
                artist.set_transform(shift)
            color = containers[i].lines[0].get_color()
            ax.plot([costs[i]], [accs[i]], ".", ms=3, color=color, zorder=3)  # the exact point
            leader = {"arrowstyle": "-", "color": color, "lw": 0.6, "shrinkA": 0, "shrinkB": 4}
            ax.annotate("", (costs[i], accs[i]), xytext=(dx, 0), textcoords="offset points", arrowprops=leader)
    if all(len(g) == 1 for g in groups):
        return False
    reach = (max(len(g) for g in groups) - 1) / 2 * DODGE + DODGE  # centre to the outermost marker's edge
    _make_room(ax, min(costs), max(costs), min(reach / (ax.bbox.width * to_points), 0.4))
    return True


def _make_room(ax: Axes, low: float, high: float, share: float) -> None:
    """Widen ``ax``'s log x axis so ``low`` and ``high`` lie at least ``share`` of its width
    inside it (a fixed point: the shares depend on the widened span itself)."""
    lo, hi = (math.log10(v) for v in ax.get_xlim())
    a, b = math.log10(low), math.log10(high)
    left, right = lo, hi
    for _ in range(20):
        span = right - left
        left, right = min(lo, a - share * span), max(hi, b + share * span)
    ax.set_xlim(10.0**left, 10.0**right)


def log_ticks(ax: Axes) -> None:
    """Plain-number ticks on ``ax``'s log x axis (``1,000``, not ``10^3``), far enough apart to read.

    The ticks are ``m x 10^k`` with ``m`` in (1, 2, 3, 5), then (1, 2, 5), (1, 3), (1,): the
    first set with at least two ticks in view and at least a sixth of the axis between two
    neighbours (else the two ends of the axis); no minor ticks. Call after the limits are set.

    Args:
        ax: axes with a log x axis and positive limits.
    """
    lo, hi = ax.get_xlim()
    span = math.log10(hi / lo)
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    ticks: list[float] = []
    for subs in ((1, 2, 3, 5), (1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0**k for k in decades for m in subs if lo <= m * 10.0**k <= hi]
        if len(ticks) >= 2 and min(math.log10(b / a) for a, b in zip(ticks[:-1], ticks[1:], strict=True)) >= span / 6:
            break
    else:
        ticks = [lo, hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{t:,.0f}" for t in ticks]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(lo, hi)
