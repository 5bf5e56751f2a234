"""Plots of notebook 08, finding tickets early: what each ticket-finding method buys and costs.

The measurements come from :mod:`course_lib.experiments.compare` (a
:class:`~course_lib.experiments.compare_result.CompareResult`),
:mod:`course_lib.experiments.sanity` (a :class:`~course_lib.experiments.sanity.SanityResult`)
and :mod:`course_lib.experiments.instability` (``InstabilityRow`` s); these functions only draw
them. Accuracies are test accuracies in percent, drawn as the mean over seeds with error bars
of one standard deviation.

Every function returns a ``Figure``: a new one (:func:`course_lib.viz.figure.new_figure`), or
the one of the ``ax`` it is given, so :func:`compare_figure` and :class:`SparsityView` put
several plots side by side. Legends sit outside the axes, where they cover no point.

>>> import torch
>>> from course_lib.experiments.compare_result import MethodRun
>>> m = {"w": torch.tensor([True, False, False, False])}
>>> res = CompareResult({}, [MethodRun("random", 0.75, 0, 50.0, 10, m, {}),
...                          MethodRun("snip", 0.75, 0, 60.0, 11, m, {})])
>>> fig = plot_pareto(res, 0.75)
>>> [line.get_ydata().tolist() for line in fig.axes[0].lines if line.get_gid() == "pareto front"]
[[50.0, 60.0]]
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any, Protocol

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from course_lib._checks import check_sparsity
from course_lib.experiments.compare_result import CompareResult
from course_lib.experiments.sanity import CHECKS, SanityResult
from course_lib.viz.figure import new_figure
from course_lib.viz.lottery import VARIANT_COLORS, _errorbar_line, _percent_axis
from course_lib.viz.widgets import SliderFigure

__all__ = [
    "METHOD_LABELS",
    "METHOD_COLORS",
    "CHECK_COLORS",
    "STABLE_BARRIER",
    "InstabilityRowLike",
    "pareto_front",
    "plot_accuracy_vs_sparsity",
    "plot_pareto",
    "plot_layer_densities",
    "plot_sanity",
    "plot_barrier",
    "compare_figure",
    "SparsityView",
    "sparsity_view",
]

#: Legend labels of the methods of :data:`course_lib.experiments.compare.METHODS`.
METHOD_LABELS = {
    "imp": "IMP ticket",
    "earlybird": "early-bird ticket",
    "snip": "SNIP",
    "grasp": "GraSP",
    "synflow": "SynFlow",
    "magnitude": "magnitude at init",
    "random": "random pruning",
    "rigl": "RigL",
    "set": "SET",
}
#: Colours of the methods: the IMP ticket blue as in notebook 05, random pruning grey.
METHOD_COLORS = {
    "imp": "tab:blue",
    "earlybird": "tab:cyan",
    "snip": "tab:orange",
    "grasp": "tab:green",
    "synflow": "tab:red",
    "magnitude": "tab:purple",
    "random": "tab:gray",
    "rigl": "tab:brown",
    "set": "tab:pink",
}
#: Colours of the sanity checks, those of notebook 05's variants where they match.
CHECK_COLORS = {
    "original": VARIANT_COLORS["ticket"],
    "reinit": VARIANT_COLORS["reinit"],
    "shuffled": VARIANT_COLORS["random_prune"],
    "inverted": "tab:red",
}
#: Frankle et al. 2020 call training stable when the error barrier is below 2 percentage points.
STABLE_BARRIER = 2.0
_X_COST = "training iterations spent to find and train (log scale)"
_Y_ACC = "test accuracy (%)"


class InstabilityRowLike(Protocol):
    """What :func:`plot_barrier` reads of an ``InstabilityRow`` (:mod:`course_lib.experiments.instability`)."""

    rewind_iter: int
    barrier: float
    errors: list[float]
    alphas: list[float]
    final_test_acc: float


def _label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def _color(method: str) -> str:
    return METHOD_COLORS.get(method, "black")


def _figure_of(ax: Axes | None, what: str = "ax") -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure with one axes when ``ax`` is None."""
    if ax is None:
        fig = new_figure()
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"{what} must be a matplotlib Axes or None, got {type(ax).__name__}")
    root = ax.get_figure(root=True)
    if not isinstance(root, Figure):
        raise ValueError(f"{what} must belong to a figure")
    return root, ax


def _check_result(result: object) -> CompareResult:
    """``result``; TypeError for another type, ValueError when it has no runs."""
    if not isinstance(result, CompareResult):
        raise TypeError(f"result must be a CompareResult (from compare_study), got {type(result).__name__}")
    if not result.runs:
        raise ValueError("result has no runs: nothing to plot")
    return result


def _rows(result: object) -> list[dict[str, Any]]:
    return _check_result(result).rows()


def _target(result: CompareResult, sparsity: object) -> float:
    """The target sparsity of ``result`` equal to ``sparsity`` (to 1e-9: a slider's float is fine)."""
    value = check_sparsity(sparsity)
    _check_result(result)
    for s in result.sparsities:
        if math.isclose(s, value, rel_tol=0.0, abs_tol=1e-9):
            return s
    raise ValueError(f"sparsity {sparsity!r} is not one of the result's target sparsities {result.sparsities}")


def _rows_at(result: CompareResult, sparsity: object) -> tuple[float, list[dict[str, Any]]]:
    target = _target(result, sparsity)
    return target, [r for r in _rows(result) if r["sparsity"] == target]


def _remaining(sparsity: float) -> str:
    return f"{100 * (1 - sparsity):.3g}% of weights remaining"


def _legend_outside(ax: Axes, title: str | None = None) -> None:
    """The legend right of the axes, where it covers no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small", title=title)


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


def _label_groups(costs: Sequence[float], accs: Sequence[float], close: float) -> list[list[int]]:
    """Points whose names would print on top of each other (costs within 10%, accuracies within
    ``close``), most accurate first within a group and groups by decreasing accuracy."""
    groups: list[list[int]] = []
    for i in sorted(range(len(costs)), key=lambda i: (-accs[i], costs[i])):
        for g in groups:
            if max(costs[i], costs[g[0]]) <= 1.1 * min(costs[i], costs[g[0]]) and accs[g[-1]] - accs[i] <= close:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _name_points(ax: Axes, names: Sequence[str], costs: Sequence[float], accs: Sequence[float]) -> None:
    """Write each point's name beside it (right of it in the cheaper half of the log x axis, left
    in the dearer half). Points that would print their names on top of each other share one label
    (:func:`_label_groups`); a label that would still overlap an earlier one moves down, joined
    to its point by a thin line. Call after the points are drawn and the x scale set."""
    ax.get_xlim(), ax.get_ylim()  # autoscale to the points (and their error bars) now
    lo, hi = ax.get_ylim()
    groups = _label_groups(costs, accs, 0.04 * (hi - lo))
    size = FontProperties(size="small").get_size_in_points()
    to_points = 72.0 / ax.figure.dpi * 0.85  # 0.85: room for the layout shrinking the axes
    middle = math.sqrt(min(costs) * max(costs))
    placed: list[tuple[float, ...]] = []
    for g in groups:
        text = ", ".join(names[i] for i in g)
        x, y = ax.transData.transform((costs[g[0]], accs[g[0]])) * to_points
        right = costs[g[0]] <= middle * (1 + 1e-9)
        width, height, dx, dy = 0.6 * size * len(text), 1.3 * size, 5.0 if right else -5.0, 4.0
        x0 = x + dx if right else x + dx - width
        while any(_overlaps((x0, y + dy, x0 + width, y + dy + height), b) for b in placed) and dy > -500:
            dy -= height / 2
        placed.append((x0, y + dy, x0 + width, y + dy + height))
        ax.annotate(
            text,
            (costs[g[0]], accs[g[0]]),
            xytext=(dx, dy),
            textcoords="offset points",
            ha="left" if right else "right",
            fontsize="small",
            arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5} if dy < 0 else None,
        )


def plot_accuracy_vs_sparsity(result: CompareResult, *, ax: Axes | None = None) -> Figure:
    """Test accuracy of every method against the weights remaining (notebook 08's first plot).

    One line per method (gid: the method's name, label :data:`METHOD_LABELS`): x = percent of
    the prunable weights remaining, on a log axis decreasing to the right (sparsity grows to
    the right, as in notebook 05), y = mean test accuracy over seeds, error bars one standard
    deviation. The dense network's mean accuracy (``result.dense_acc``) is a dashed line.

    Args:
        result: a :class:`~course_lib.experiments.compare_result.CompareResult`.
        ax: the axes to draw into (default: a new figure).

    Returns:
        The figure of ``ax``.

    Raises:
        TypeError: ``result`` is not a ``CompareResult``, ``ax`` not an ``Axes``.
        ValueError: ``result`` has no runs.
    """
    rows = _rows(result)
    fig, ax = _figure_of(ax)
    for method in result.methods:
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["sparsity"])
        x = [100 * r["weights_remaining"] for r in mine]
        ms = [(r["test_acc_mean"], r["test_acc_std"]) for r in mine]
        _errorbar_line(ax, x, ms, method, color=_color(method), label=_label(method))
    if result.dense_acc:
        ax.axhline(float(np.mean(result.dense_acc)), color="0.5", ls="--", lw=1, label="dense network")
    _percent_axis(ax, [100 * r["weights_remaining"] for r in rows])
    ax.set_xlabel("weights remaining (%, log scale)")
    ax.set_ylabel(_Y_ACC)
    seeds = len({r.seed for r in result.runs})
    ax.set_title(f"accuracy after training, mean ± std over {seeds} seed{'s' * (seeds > 1)}", fontsize="medium")
    _legend_outside(ax)
    return fig


def plot_pareto(result: CompareResult, sparsity: float, *, ax: Axes | None = None) -> Figure:
    """Accuracy against what it cost to get it, one point per method, at one target sparsity.

    x = ``cost_iterations`` (training iterations spent to find *and* train the sparse
    network, log axis), y = mean test accuracy with error bars of one standard deviation,
    each point (gid: the method's name) annotated with its method. The Pareto front
    (:func:`pareto_front` of the means) is a step line (gid ``"pareto front"``): the best
    accuracy a budget of iterations buys among the methods compared.

    Args:
        result: a :class:`~course_lib.experiments.compare_result.CompareResult`.
        sparsity: one of ``result.sparsities`` (a float in [0, 1]).
        ax: the axes to draw into (default: a new figure).

    Returns:
        The figure of ``ax``; its title gives the weights remaining in percent.

    Raises:
        TypeError: ``result`` is not a ``CompareResult``, ``sparsity`` not a number, ``ax``
            not an ``Axes``.
        ValueError: ``result`` has no runs, ``sparsity`` is not one of its target
            sparsities, or a cost is not positive (a log axis cannot show it).
    """
    target, rows = _rows_at(result, sparsity)
    costs = [float(r["cost_iterations"]) for r in rows]
    if min(costs) <= 0:
        raise ValueError(f"cost_iterations must be positive for the log axis, got {costs}")
    fig, ax = _figure_of(ax)
    accs = [r["test_acc_mean"] for r in rows]
    for r, cost, acc in zip(rows, costs, accs, strict=True):
        _errorbar_line(ax, [cost], [(acc, r["test_acc_std"])], r["method"], color=_color(r["method"]), ls="none")
    ax.set_xscale("log")
    _name_points(ax, [_label(r["method"]) for r in rows], costs, accs)
    front = pareto_front(costs, accs)
    ax.step(
        [costs[i] for i in front],
        [accs[i] for i in front],
        where="post",
        color="0.3",
        lw=1.2,
        ls="--",
        label="Pareto front (not dominated)",
        gid="pareto front",
        zorder=0,
    )
    ax.set_xlabel(_X_COST)
    ax.set_ylabel(_Y_ACC)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"accuracy against cost at {_remaining(target)}", fontsize="medium")
    _legend_outside(ax)
    return fig


def plot_layer_densities(result: CompareResult, sparsity: float, *, ax: Axes | None = None) -> Figure:
    """The fraction of each layer that each method keeps, at one target sparsity.

    Grouped bars: one group per layer (parameter name), one bar per method (a
    ``BarContainer`` labelled by :data:`METHOD_LABELS`, in the order of ``result.methods``),
    height = the layer's density (fraction kept, mean over seeds; ``row["layer_density"]``).
    A dotted line marks the overall density ``1 - sparsity``. A bar near 0 is a layer that
    collapsed: SynFlow (Tanaka et al. 2020) is built to avoid it, SNIP at extreme sparsity
    is not.

    Args:
        result: a :class:`~course_lib.experiments.compare_result.CompareResult`.
        sparsity: one of ``result.sparsities`` (a float in [0, 1]).
        ax: the axes to draw into (default: a new figure).

    Returns:
        The figure of ``ax``; the y axis runs from 0 to 1.

    Raises:
        TypeError: ``result`` is not a ``CompareResult``, ``sparsity`` not a number, ``ax``
            not an ``Axes``.
        ValueError: ``result`` has no runs, or ``sparsity`` is not one of its target sparsities.
    """
    target, rows = _rows_at(result, sparsity)
    fig, ax = _figure_of(ax)
    layers = list(dict.fromkeys(name for r in rows for name in r["layer_density"]))
    width = 0.8 / len(rows)
    x = np.arange(len(layers), dtype=float)
    for k, r in enumerate(rows):
        heights = [r["layer_density"].get(name, float("nan")) for name in layers]
        offset = (k - (len(rows) - 1) / 2) * width
        ax.bar(x + offset, heights, width, color=_color(r["method"]), label=_label(r["method"]))
    ax.axhline(1 - target, color="0.3", ls=":", lw=1, label="overall density")
    ax.set_xticks(x, layers)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("layer")
    ax.set_ylabel("density (fraction kept)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title(f"density per layer at {_remaining(target)}", fontsize="medium")
    _legend_outside(ax)
    return fig


def plot_sanity(sanity: SanityResult, *, ax: Axes | None = None) -> Figure:
    """The sanity checks of Frankle et al. 2021: each method's accuracy under each check.

    Grouped bars: one group per method, one bar per check of
    :data:`~course_lib.experiments.sanity.CHECKS` the result has (``original``,
    ``shuffled``, ``reinit``, ``inverted``; a ``BarContainer`` per check labelled by its
    name, bars only where the method has the check), height = mean test accuracy, error
    bars one standard deviation over seeds. The y axis starts at 0.

    Args:
        sanity: a :class:`~course_lib.experiments.sanity.SanityResult`.
        ax: the axes to draw into (default: a new figure).

    Returns:
        The figure of ``ax``.

    Raises:
        TypeError: ``sanity`` is not a ``SanityResult``, ``ax`` not an ``Axes``.
        ValueError: ``sanity`` has no accuracies.
    """
    if not isinstance(sanity, SanityResult):
        raise TypeError(f"sanity must be a SanityResult (from sanity_checks), got {type(sanity).__name__}")
    if not sanity.accs:
        raise ValueError("sanity has no accuracies: nothing to plot")
    rows = sanity.rows()
    fig, ax = _figure_of(ax)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    checks = [c for c in CHECKS if any(r["check"] == c for r in rows)]
    width = 0.8 / len(checks)
    for k, check in enumerate(checks):
        mine = [r for r in rows if r["check"] == check]
        x = [methods.index(r["method"]) + (k - (len(checks) - 1) / 2) * width for r in mine]
        ax.bar(
            x,
            [r["test_acc_mean"] for r in mine],
            width,
            yerr=[r["test_acc_std"] for r in mine],
            capsize=3,
            color=CHECK_COLORS.get(check, "black"),
            label=check,
        )
    ax.set_xticks(range(len(methods)), [textwrap.fill(_label(m), 10) for m in methods])
    ax.set_ylim(0.0, 1.05 * max(r["test_acc_mean"] + r["test_acc_std"] for r in rows))
    ax.set_ylabel(_Y_ACC)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title(f"sanity checks (Frankle et al. 2021) at {_remaining(sanity.sparsity)}", fontsize="medium")
    _legend_outside(ax, title="check")
    return fig


def plot_barrier(rows: Sequence[InstabilityRowLike], *, axes: Sequence[Axes] | None = None) -> Figure:
    """Instability analysis (Frankle et al. 2020): the error along the line between two copies.

    Left: test error (percent) along the straight line from copy 0 (``alpha = 0``) to copy 1
    (``alpha = 1``), one line per rewind iteration (gid ``"rewind k"``, increasing ``k``).
    Right: the error barrier (percentage points) against the rewind iteration (gid
    ``"barrier"``), with the paper's stability threshold of :data:`STABLE_BARRIER` points.

    Args:
        rows: ``InstabilityRow`` s of :func:`course_lib.experiments.instability.instability`,
            or any objects with ``rewind_iter`` (int), ``barrier`` (percentage points),
            ``errors`` and ``alphas`` (lists of the same length; percent and [0, 1]) and
            ``final_test_acc`` (percent).
        axes: two axes to draw into (default: a new figure with two).

    Returns:
        The figure of ``axes``.

    Raises:
        TypeError: ``axes`` are not two ``Axes``.
        ValueError: ``rows`` is empty, or a row's ``errors`` and ``alphas`` differ in length.
    """
    rows = sorted(rows, key=lambda r: r.rewind_iter)
    if not rows:
        raise ValueError("rows must hold at least one InstabilityRow, got none")
    for r in rows:
        if len(r.errors) != len(r.alphas):
            raise ValueError(
                f"row of rewind_iter {r.rewind_iter}: errors and alphas must have the same length, "
                f"got {len(r.errors)} and {len(r.alphas)}"
            )
    if axes is None:
        fig = new_figure((12, 4.0))
        left, right = fig.subplots(1, 2)
    elif len(axes) != 2:
        raise TypeError(f"axes must be two matplotlib Axes, got {len(axes)}")
    else:
        (fig, left), (_, right) = _figure_of(axes[0], "axes[0]"), _figure_of(axes[1], "axes[1]")
    colors = [f"C{i % 10}" for i in range(len(rows))]
    for r, color in zip(rows, colors, strict=True):
        label = f"k = {r.rewind_iter} ({r.final_test_acc:.1f}% at the ends)"
        left.plot(r.alphas, r.errors, "o-", ms=3, color=color, label=label, gid=f"rewind {r.rewind_iter}")
    left.set_xlabel("alpha: (1 - alpha) copy 0 + alpha copy 1")
    left.set_ylabel("test error (%)")
    left.set_title("error along the line between the two copies", fontsize="medium")
    left.grid(True, alpha=0.3)
    _legend_outside(left, title="rewind iteration")
    right.plot(
        [r.rewind_iter for r in rows],
        [r.barrier for r in rows],
        "o-",
        color="tab:blue",
        gid="barrier",
        label="error barrier",
    )
    right.axhline(STABLE_BARRIER, color="0.5", ls=":", lw=1, label=f"stable below {STABLE_BARRIER:g} points")
    right.set_xlabel("rewind iteration k")
    right.set_ylabel("error barrier (percentage points)")
    right.set_title("instability against the rewind point", fontsize="medium")
    right.grid(True, alpha=0.3)
    _legend_outside(right)
    return fig


def compare_figure(result: CompareResult) -> Figure:
    """The plot of ``python -m course_lib compare --plot``: accuracy against the weights remaining
    (:func:`plot_accuracy_vs_sparsity`) beside the Pareto plot at the highest target sparsity
    (:func:`plot_pareto`).

    Args:
        result: a :class:`~course_lib.experiments.compare_result.CompareResult`.

    Returns:
        A new figure with two axes (accuracy against weights remaining first).

    Raises:
        TypeError: ``result`` is not a ``CompareResult``.
        ValueError: ``result`` has no runs, or a cost is not positive.
    """
    _check_result(result)
    fig = new_figure((13, 4.6))
    left, right = fig.subplots(1, 2)
    plot_accuracy_vs_sparsity(result, ax=left)
    plot_pareto(result, max(result.sparsities), ax=right)
    cfg = result.config
    if cfg.get("dataset") or cfg.get("model"):
        fig.suptitle(f"{cfg.get('dataset', '')}, model {cfg.get('model', '')}".strip(", "))
    return fig


class SparsityView:
    """The sparsity slider's callback: the Pareto plot and the per-layer densities at one sparsity.

    Calling the view with a target sparsity of the result redraws, into one reused figure
    (:attr:`figure`), :func:`plot_pareto` (left) and :func:`plot_layer_densities` (right) at
    that sparsity. :meth:`widget` wires it to a slider over the result's target sparsities
    (:class:`course_lib.viz.widgets.SliderFigure`).

    Args:
        result: a :class:`~course_lib.experiments.compare_result.CompareResult`.

    Attributes:
        result: the comparison shown.
        sparsities: its target sparsities, increasing.
        figure: the figure every call redraws.

    Raises:
        TypeError: ``result`` is not a ``CompareResult``.
        ValueError: ``result`` has no runs.
    """

    def __init__(self, result: CompareResult):
        self.result = _check_result(result)
        self.sparsities = result.sparsities
        self.figure = new_figure((13, 4.6))

    def __call__(self, sparsity: float) -> Figure:
        """Redraw at ``sparsity`` and return :attr:`figure`.

        Raises:
            TypeError: ``sparsity`` is not a number.
            ValueError: ``sparsity`` is not one of :attr:`sparsities` (the figure is left as it was).
        """
        target = _target(self.result, sparsity)
        self.figure.clear()
        left, right = self.figure.subplots(1, 2)
        plot_pareto(self.result, target, ax=left)
        plot_layer_densities(self.result, target, ax=right)
        return self.figure

    def slider(self, value: float | None = None) -> widgets.SelectionSlider:
        """A slider over :attr:`sparsities` (labelled by the percent of weights remaining),
        starting at ``value`` (default: the highest); it reports only on release."""
        options = [(f"{s:.3g} ({100 * (1 - s):.3g}% left)", s) for s in self.sparsities]
        start = self.sparsities[-1] if value is None else _target(self.result, value)
        return widgets.SelectionSlider(
            options=options,
            value=start,
            description="sparsity",
            continuous_update=False,
            style={"description_width": "initial"},
        )

    def widget(self, value: float | None = None) -> SliderFigure:
        """The slider above the figure, for a notebook cell (see :meth:`slider`)."""
        return SliderFigure(self, sparsity=self.slider(value))


def sparsity_view(result: CompareResult) -> SparsityView:
    """The callback of notebook 08's sparsity slider: a :class:`SparsityView` of ``result``.

    Args:
        result: a :class:`~course_lib.experiments.compare_result.CompareResult`.

    Returns:
        ``update``, called as ``update(sparsity) -> Figure`` with one of ``result.sparsities``;
        ``update.widget()`` is the slider with the figure.

    Raises:
        TypeError: ``result`` is not a ``CompareResult``.
        ValueError: ``result`` has no runs.

    >>> import torch
    >>> from course_lib.experiments.compare_result import MethodRun
    >>> m = {"fc1.weight": torch.tensor([True, False]), "fc2.weight": torch.tensor([True, True])}
    >>> res = CompareResult({}, [MethodRun("snip", s, 0, 90.0, 5, m, {}) for s in (0.25, 0.5)])
    >>> update = sparsity_view(res)
    >>> [float(b.get_height()) for b in update(0.5).axes[1].patches]
    [0.5, 1.0]
    """
    return SparsityView(result)
