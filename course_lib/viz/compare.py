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
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator

from course_lib._checks import check_sparsity
from course_lib.experiments.compare_result import CompareResult
from course_lib.experiments.sanity import CHECKS, SanityResult
from course_lib.viz.figure import new_figure
from course_lib.viz.lottery import VARIANT_COLORS
from course_lib.viz.pareto import DODGED, dodge, log_ticks, pareto_front
from course_lib.viz.widgets import SliderFigure

__all__ = [
    "METHOD_LABELS",
    "METHOD_COLORS",
    "METHOD_MARKERS",
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
#: Markers of the methods, all different: points at the same cost stay apart in the Pareto plot.
METHOD_MARKERS = {
    "imp": "o",
    "earlybird": "D",
    "snip": "s",
    "grasp": "^",
    "synflow": "v",
    "magnitude": "P",
    "random": "X",
    "rigl": "<",
    "set": ">",
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


def _legend_outside(ax: Axes, title: str | None = None, handles: list[Any] | None = None) -> None:
    """The legend right of the axes, where it covers no data (of ``handles`` if given)."""
    where: dict[str, Any] = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    if handles is None:
        ax.legend(fontsize="small", title=title, **where)
    else:
        ax.legend(handles=handles, fontsize="small", title=title, **where)


def _marker_handle(method: str, label: str) -> Line2D:
    """A legend entry: the method's marker in its colour, as drawn by :func:`_errorbars`."""
    return Line2D([], [], ls="none", label=label, **_marker_style(method))


def _marker_style(method: str) -> dict[str, Any]:
    """Hollow markers, one shape per method: points at the same spot stay told apart."""
    color = _color(method)
    return dict(marker=METHOD_MARKERS.get(method, "o"), ms=7, mew=1.5, mfc="none", mec=color, color=color)


def _method_label(result: CompareResult, method: str, sparsity: float | None = None) -> str:
    """The legend label of ``method``; the early-bird's says when its masks had not settled
    (:meth:`~course_lib.experiments.compare_result.CompareResult.earlybird_status`)."""
    status = result.earlybird_status(sparsity) if method == "earlybird" else ""
    return f"{_label(method)} ({status})" if status else _label(method)


def _errorbars(
    ax: Axes, x: Sequence[float], rows: Sequence[dict[str, Any]], method: str, **style: Any
) -> ErrorbarContainer:
    """Means of ``rows`` at ``x`` with error bars of one std, in the method's colour and marker
    (gid of the line: ``method``; label: ``style["label"]``)."""
    cont = ax.errorbar(
        np.asarray(x, dtype=float),
        np.array([r["test_acc_mean"] for r in rows], dtype=float),
        yerr=np.array([r["test_acc_std"] for r in rows], dtype=float),
        capsize=3,
        elinewidth=1.0,
        **_marker_style(method),
        **style,
    )
    cont.lines[0].set_gid(method)
    return cont


def _kept_log(x: Any) -> Any:
    """Sparsity (percent) to -log10 of the fraction of weights left: 90% -> 1, 99% -> 2."""
    return -np.log10(np.clip(1 - np.asarray(x, dtype=float) / 100, 1e-9, None))


def _kept_log_inverse(y: Any) -> Any:
    return 100 * (1 - 10 ** -np.asarray(y, dtype=float))


def _sparsity_axis(ax: Axes, percents: Sequence[float]) -> None:
    """x axis of sparsity (percent pruned), growing to the right, spaced by the log of the weights left
    (so 90, 99 and 99.9% are evenly apart), ticked at ``percents``."""
    ax.set_xscale("function", functions=(_kept_log, _kept_log_inverse))
    ticks = sorted({round(p, 3) for p in percents})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:.3g}" for t in ticks], rotation=45 if len(ticks) > 6 else 0)
    low, high = _kept_log(min(ticks)), _kept_log(max(ticks))
    pad = 0.1 * max(high - low, 0.5)
    ax.set_xlim(float(_kept_log_inverse(max(low - pad, 0.0))), float(_kept_log_inverse(high + pad)))
    ax.set_xlabel("sparsity (% of weights pruned; log scale of the weights left)")
    ax.grid(True, alpha=0.3)


def plot_accuracy_vs_sparsity(result: CompareResult, *, ax: Axes | None = None) -> Figure:
    """Test accuracy of every method against the weights remaining (notebook 08's first plot).

    One line per method (gid: the method's name, label :data:`METHOD_LABELS`, the
    early-bird's with "(not settled)" when its masks settled in no run; the method's colour
    and marker :data:`METHOD_MARKERS`): x = sparsity, the percent of the prunable weights
    pruned, growing to the right and spaced by the log of the weights left (90, 99 and 99.9%
    evenly apart), y = mean test accuracy over seeds, error bars one standard
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
        x = [100 * (1 - r["weights_remaining"]) for r in mine]
        _errorbars(ax, x, mine, method, label=_method_label(result, method))
    if result.dense_acc:
        ax.axhline(float(np.mean(result.dense_acc)), color="0.5", ls="--", lw=1, label="dense network")
    _sparsity_axis(ax, [100 * (1 - r["weights_remaining"]) for r in rows])
    ax.set_ylabel(_Y_ACC)
    seeds = len({r.seed for r in result.runs})
    ax.set_title(f"accuracy after training, mean ± std over {seeds} seed{'s' * (seeds > 1)}", fontsize="medium")
    _legend_outside(ax)
    return fig


def plot_pareto(result: CompareResult, sparsity: float, *, ax: Axes | None = None) -> Figure:
    """Accuracy against what it cost to get it, one point per method, at one target sparsity.

    x = ``cost_iterations`` (training iterations spent to find *and* train the sparse
    network, log axis with plain-number ticks), y = mean test accuracy with error bars of one
    standard deviation, each point (gid: the method's name) in the method's colour and marker
    (:data:`METHOD_MARKERS`), named in the legend beside the axes; markers that would overlap
    are drawn side by side (:func:`course_lib.viz.pareto.dodge`; their data stay exact); the
    early-bird's label says "(not settled)" when its masks settled in no seed (its ticket is
    then one-shot magnitude pruning after the dense run). The Pareto front
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
    points = [_errorbars(ax, [c], [r], r["method"], ls="none") for r, c in zip(rows, costs, strict=True)]
    ax.set_xscale("log")
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
    handles = [_marker_handle(r["method"], _method_label(result, r["method"], target)) for r in rows]
    handles += [h for h in ax.get_lines() if h.get_gid() == "pareto front"]
    _legend_outside(ax, handles=handles)
    if dodge(ax, points, costs, accs):  # after the legend: it lays the figure out
        _legend_outside(ax, handles=[*handles, Line2D([], [], ls="none", label=DODGED)])
    log_ticks(ax)
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
