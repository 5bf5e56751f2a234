"""Plots of notebook 05, lottery tickets (Frankle & Carbin 2019): does the ticket win (accuracy
against the sparsity, training curves, rewinding), and what does it keep (its mask
round by round, how far its weights moved, how it does on other data)?

Every function returns a new ``Figure`` (:func:`course_lib.viz.figure.new_figure`). Results
of several seeds are drawn as mean +- standard deviation. :func:`plot_lottery` also takes
the ``to_json()`` dict of a :class:`~course_lib.experiments.lottery_result.LotteryResult`
(e.g. read back from ``python -m course_lib lottery --json``). The x axis "percent of weights
remaining" of the paper is drawn as sparsity (percent of weights pruned, growing to the right),
spaced by the logarithm of the weights left as in the paper. Legends sit right of the axes, over
no data; bars start at zero.

>>> js = {"dense_test_acc": 97.0, "rows": [
...     {"variant": "ticket", "round": 1, "weights_remaining": 0.5, "test_acc_mean": 97.5, "test_acc_std": 0.2}]}
>>> [(line.get_xdata().tolist(), line.get_ydata().tolist())
...  for line in plot_lottery(js).axes[0].lines if line.get_gid() == "ticket"]
[([0.0, 50.0], [97.0, 97.5])]
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from course_lib._checks import mean_std
from course_lib.experiments.analysis import input_density
from course_lib.experiments.lottery_result import LotteryResult
from course_lib.training.conv_models import CONV_MODELS
from course_lib.training.train import TrainResult
from course_lib.viz.figure import finish_axes, new_figure
from course_lib.viz.finetune import draw_input_density

__all__ = [
    "VARIANT_LABELS",
    "VARIANT_COLORS",
    "plot_lottery",
    "plot_training_curves",
    "plot_lottery_curves",
    "plot_rewinding",
    "plot_rewinding_at",
    "rewinding_slider",
    "plot_ticket_masks",
    "plot_weight_movement",
    "plot_transfer",
]

#: Legend labels of the lottery variants.
VARIANT_LABELS = {
    "ticket": "winning ticket (rewound)",
    "reinit": "same mask, random reinit",
    "random_prune": "random mask, same init",
}
#: Colors of the lottery variants (as in the LTH paper: the ticket in blue).
VARIANT_COLORS = {"ticket": "tab:blue", "reinit": "tab:orange", "random_prune": "tab:green"}

#: metric -> (row key of the mean, row key of the std or None, key of the dense value, y label)
_METRICS = {
    "test_acc": ("test_acc_mean", "test_acc_std", "dense_test_acc", "test accuracy (%)"),
    "early_stop_iter": (
        "early_stop_iter_mean",
        "early_stop_iter_std",
        "dense_early_stop_iter_mean",
        "early-stopping iteration",
    ),
    "early_stop_test_acc": ("early_stop_test_acc_mean", None, "dense_test_acc", "test accuracy at early stop (%)"),
}


def _as_json(result: LotteryResult | Mapping[str, Any]) -> Mapping[str, Any]:
    to_json = getattr(result, "to_json", None)
    if callable(to_json):  # a LotteryResult, or anything that writes its JSON
        return to_json()
    if isinstance(result, Mapping) and "rows" in result:
        return result
    raise TypeError("result must be a LotteryResult or its to_json() dict (with 'rows')")


def _pruned_scale(s: np.ndarray) -> np.ndarray:
    """x position of a sparsity in percent: ``-log10`` of the fraction of weights left (rounds evenly spaced)."""
    return -np.log10(np.clip(1 - np.asarray(s, dtype=float) / 100, 1e-9, None))


def _pruned_scale_inverse(u: np.ndarray) -> np.ndarray:
    return 100 * (1 - 10 ** (-np.asarray(u, dtype=float)))


def _sparsity_axis(ax: Axes, sparsities: Sequence[float]) -> None:
    """x axis of sparsity (percent of weights pruned), growing to the right, spaced by log(weights left)."""
    ax.set_xscale("function", functions=(_pruned_scale, _pruned_scale_inverse))
    ticks = sorted({round(s, 2) for s in sparsities})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:.3g}" for t in ticks], rotation=45 if len(ticks) > 6 else 0)
    low, high = _pruned_scale(np.array([min(ticks), max(ticks)]))
    pad = 0.06 * max(float(high - low), 0.1)
    ax.set_xlim(*_pruned_scale_inverse(np.array([low - pad, high + pad])).tolist())
    ax.set_xlabel("sparsity (% of weights pruned; log scale of the weights left)")
    ax.grid(True, alpha=0.3)


def _percent_axis(ax: Axes, percents: Sequence[float]) -> None:
    """The former x axis, percent of weights remaining (log, decreasing); :mod:`course_lib.viz.compare`
    still draws it until it moves to :func:`_sparsity_axis`."""
    ax.set_xscale("log")
    ticks = sorted({round(p, 3) for p in percents}, reverse=True)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:.3g}" for t in ticks], rotation=45 if len(ticks) > 6 else 0)
    ax.set_xlim(max(ticks) * 1.15, min(ticks) / 1.15)
    ax.set_xlabel("percent of weights remaining (log scale)")
    ax.grid(True, alpha=0.3)


def _legend_outside(ax: Axes) -> None:
    """The legend right of the axes, where it covers no data point (constrained layout makes room)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", borderaxespad=0.0)


def _errorbar_line(ax: Axes, x: Sequence[float], ms: Sequence[tuple[float, float]], gid: str, **style: Any) -> None:
    """A line of means with std error bars (``ms``: (mean, std) per point), its line tagged ``gid``."""
    mean, std = np.array([m for m, _ in ms], dtype=float), np.array([s for _, s in ms], dtype=float)
    cont = ax.errorbar(np.asarray(x, dtype=float), mean, yerr=std, marker="o", ms=4, capsize=3, **style)
    cont.lines[0].set_gid(gid)


def _default_title(js: Mapping[str, Any]) -> str | None:
    config = js.get("config", {})
    if not config:
        return None
    model = config.get("model", "")
    if model == "lenet":
        model = "LeNet-300-100"
    elif str(model).lower() not in CONV_MODELS:
        model = f"MLP, hidden {model}"
    rewind = config.get("rewind_iter", 0)
    seeds = len(js.get("seeds", [])) or "?"
    return f"{config.get('dataset', '')}, {model}: {seeds} seeds, rewind to " + (
        "init" if not rewind else f"iteration {rewind}"
    )


def plot_lottery(
    result: LotteryResult | Mapping[str, Any], metric: str = "test_acc", title: str | None = None
) -> Figure:
    """The LTH paper's plot: ``metric`` against sparsity (percent of weights pruned), one line per variant.

    Args:
        result: a :class:`~course_lib.experiments.lottery_result.LotteryResult` or its
            ``to_json()`` dict.
        metric: ``"test_acc"`` (final test accuracy), ``"early_stop_iter"`` (the iteration of
            minimal validation loss, the paper's measure of learning speed) or
            ``"early_stop_test_acc"``.
        title: the axes title (default: data set, model, seeds and rewinding point).

    Returns:
        The figure: each line starts at the dense network (sparsity 0), error bars are the
        standard deviation over seeds; labels :data:`VARIANT_LABELS`, gids the variant names.

    Raises:
        ValueError: an unknown metric.
        TypeError: ``result`` is neither a result nor its JSON dict.

    >>> js = {"dense_test_acc": 97.0, "dense_test_acc_std": 0.1, "rows": [
    ...     {"variant": "ticket", "round": 1, "weights_remaining": 0.5, "test_acc_mean": 97.5, "test_acc_std": 0.2},
    ...     {"variant": "reinit", "round": 1, "weights_remaining": 0.5, "test_acc_mean": 96.0, "test_acc_std": 0.3}]}
    >>> fig = plot_lottery(js)
    >>> [(line.get_gid(), line.get_ydata().tolist()) for line in fig.axes[0].lines if line.get_gid()]
    [('ticket', [97.0, 97.5]), ('reinit', [97.0, 96.0])]
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}")
    js = _as_json(result)
    mean_key, std_key, dense_key, ylabel = _METRICS[metric]
    dense = js.get(dense_key)
    dense_std = js.get("dense_test_acc_std", 0.0) if metric == "test_acc" else 0.0
    fig = new_figure()
    ax = fig.add_subplot()
    sparsities = [0.0]
    for variant in [v for v in VARIANT_LABELS if any(r["variant"] == v for r in js["rows"])]:
        rows = sorted((r for r in js["rows"] if r["variant"] == variant), key=lambda r: r["round"])
        x = [100.0 * (1 - r["weights_remaining"]) for r in rows]
        ms = [(float(r[mean_key]), float(r.get(std_key, 0.0)) if std_key else 0.0) for r in rows]
        if dense is not None:
            x, ms = [0.0, *x], [(float(dense), float(dense_std or 0.0)), *ms]
        sparsities += x
        _errorbar_line(ax, x, ms, variant, color=VARIANT_COLORS[variant], label=VARIANT_LABELS[variant])
    if dense is not None and metric != "early_stop_iter":
        ax.axhline(dense, color="0.5", ls=":", lw=1, label="dense network")
    _sparsity_axis(ax, sparsities)
    ax.set_ylabel(ylabel)
    title = _default_title(js) if title is None else title
    if title:
        ax.set_title(title, fontsize="medium")
    _legend_outside(ax)
    return fig


def _runs_by_label(runs: TrainResult | Sequence[TrainResult] | Mapping[str, Any]) -> dict[str, list[TrainResult]]:
    """Normalize runs: a TrainResult, a list of them, or a dict label -> run(s)."""
    if isinstance(runs, Mapping):
        return {str(k): (list(v) if isinstance(v, (list, tuple)) else [v]) for k, v in runs.items()}
    if isinstance(runs, Sequence):
        return {f"run {i}": [r] for i, r in enumerate(runs)}
    return {"run": [runs]}


#: Line colours of training curves labelled by variant: the variants', and the dense network in grey.
_LINE_COLORS = {**VARIANT_COLORS, "dense": "0.5"}

_CURVE_LABELS = {
    "val_acc": "validation accuracy (%)",
    "test_acc": "test accuracy (%)",
    "val_loss": "validation loss",
    "train_loss": "training loss",
}


def _variant_of(label: str) -> str | None:
    """The variant (or ``"dense"``) a curve's label names: the label itself or its first word."""
    for name in sorted(_LINE_COLORS, key=len, reverse=True):
        if label == name or label.startswith(name + " "):
            return name
    return None


def _curve_colors(labels: Sequence[str]) -> list[Any]:
    """The variants' colours when every label names a different variant (or dense); else a viridis gradient."""
    kinds = [_variant_of(label) for label in labels]
    distinct = len({k for k in kinds if k}) == len(kinds)
    if all(kinds) and distinct and any(k in VARIANT_COLORS for k in kinds):
        return [_LINE_COLORS[k] for k in kinds if k]
    cmap = plt.get_cmap("viridis")
    return [cmap(i / max(1, len(labels) - 1) * 0.9) for i in range(len(labels))]


def plot_training_curves(
    runs: TrainResult | Sequence[TrainResult] | Mapping[str, Any], metric: str = "val_acc", title: str | None = None
) -> Figure:
    """``metric`` over training iterations, one line per run or label; early stops marked with a dot.

    Args:
        runs: a :class:`~course_lib.training.train.TrainResult`, a list of them (one line
            each) or a dict ``label -> run or list of runs`` (one line per label: the mean
            over its runs, shaded +- one standard deviation).
        metric: ``"val_acc"``, ``"test_acc"``, ``"val_loss"`` or ``"train_loss"``.
        title: the axes title.

    Returns:
        The figure. An accuracy axis reaches from just below the lowest point drawn (the
        first evaluation included, so no curve is cut) to 100%. When the labels are lottery
        variants (each is, or starts with, a different name of :data:`VARIANT_COLORS` or
        ``"dense"``, e.g. ``"ticket (20% left)"``), lines take the variant's colour (dense in
        grey); otherwise a viridis gradient.

    Raises:
        ValueError: an unknown metric.

    >>> r = TrainResult(seed=0, iterations=[0, 10], train_loss=[float("nan"), 1.0], val_loss=[2.0, 1.0],
    ...                 val_acc=[10.0, 80.0], test_acc=[11.0, 79.0])
    >>> fig = plot_training_curves({"dense": [r, r]})
    >>> fig.axes[0].lines[0].get_label(), fig.axes[0].lines[0].get_ydata().tolist()
    ('dense', [10.0, 80.0])
    >>> fig = plot_training_curves({"ticket (20% left)": r, "reinit (20% left)": r})
    >>> [line.get_color() for line in fig.axes[0].lines[::2]]
    ['tab:blue', 'tab:orange']
    """
    if metric not in _CURVE_LABELS:
        raise ValueError(f"metric must be one of {sorted(_CURVE_LABELS)}, got {metric!r}")
    fig = new_figure()
    ax = fig.add_subplot()
    groups = _runs_by_label(runs)
    lowest = np.inf  # the lowest point drawn, band included: the axis shows every curve whole
    for color, (label, group) in zip(_curve_colors(list(groups)), groups.items(), strict=True):
        its = np.asarray(group[0].iterations)
        values = np.array([getattr(r, metric) for r in group], dtype=float)
        mean = np.nanmean(values, axis=0) if values.shape[0] > 1 else values[0]
        std = np.nanstd(values, axis=0) if values.shape[0] > 1 else np.zeros_like(mean)
        ax.plot(its, mean, color=color, label=label)
        if values.shape[0] > 1:
            ax.fill_between(its, mean - std, mean + std, color=color, alpha=0.2, lw=0)
        if metric.endswith("acc"):
            lowest = min(lowest, float(np.nanmin(mean - std)))
        stop = float(np.mean([r.early_stop_iter for r in group]))
        ax.plot([stop], [np.interp(stop, its, mean)], "o", color=color, ms=5)
    if np.isfinite(lowest):
        ax.set_ylim(max(0.0, lowest - 2), 100.5)
    finish_axes(ax, "training iteration", _CURVE_LABELS[metric])
    _legend_outside(ax)
    if title:
        ax.set_title(title)
    return fig


def plot_lottery_curves(
    result: LotteryResult, variant: str = "ticket", rounds: Sequence[int] | None = None, metric: str = "test_acc"
) -> Figure:
    """Training curves of one variant at several rounds (the LTH paper's Figure 3), dense first.

    Args:
        result: a :class:`~course_lib.experiments.lottery_result.LotteryResult`.
        variant: one of :data:`VARIANT_LABELS`.
        rounds: the rounds to show (default all), one line per level of weights remaining.
        metric: as in :func:`plot_training_curves`.

    Returns:
        The figure of :func:`plot_training_curves`: one line per round, labelled by the
        percent of weights remaining (mean +- std over seeds), titled by the variant.

    Raises:
        ValueError: an unknown variant or metric, or rounds that were not run.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import lottery_study
    >>> res = lottery_study(load("digits"), model="16", rounds=1, seeds=1, epochs=1, progress=False)
    >>> [line.get_label() for line in plot_lottery_curves(res).axes[0].get_legend().get_lines()]
    ['100% (dense)', '53.4%']
    """
    if variant not in VARIANT_LABELS:
        raise ValueError(f"variant must be one of {sorted(VARIANT_LABELS)}, got {variant!r}")
    all_rounds = sorted(r for v, r in result.runs if v == variant)
    chosen = all_rounds if rounds is None else list(rounds)
    missing = [r for r in chosen if r not in all_rounds]
    if missing:
        raise ValueError(f"rounds {missing} were not run; available: {all_rounds}")
    groups = {"100% (dense)": result.dense}
    for r in chosen:
        groups[f"{100 * result.weights_remaining[r]:.3g}%"] = result.runs[(variant, r)]
    return plot_training_curves(groups, metric=metric, title=VARIANT_LABELS[variant])


def plot_rewinding(results: Mapping[int, LotteryResult]) -> Figure:
    """Test accuracy against sparsity for tickets rewound to different iterations.

    Late rewinding (Frankle et al. 2020): mean +- std over seeds per rewinding point; the
    reinit control of the first one (if run) in orange.

    Args:
        results: ``{rewind_iter: LotteryResult}`` from
            :func:`course_lib.experiments.lottery.rewinding_study`.

    Returns:
        The figure; line gids ``"rewind <k>"`` and ``"reinit"``.

    Raises:
        KeyError: a result without the ``"ticket"`` variant at every round.
        ValueError: a result without dense runs.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import rewinding_study
    >>> res = rewinding_study(load("digits"), [0, 3], model="8", rounds=1, seeds=[0], epochs=1, progress=False)
    >>> [l.get_gid() for l in plot_rewinding(res).axes[0].lines if l.get_gid()]
    ['rewind 0', 'rewind 3', 'reinit']
    """
    fig = new_figure()
    ax = fig.add_subplot()
    cmap = ["tab:blue", "tab:cyan", "tab:purple", "tab:olive", "tab:brown"]
    sparsities = [0.0]
    for i, (k, res) in enumerate(results.items()):
        rounds = range(1, res.rounds + 1)
        x = [0.0] + [100 * (1 - res.weights_remaining[r]) for r in rounds]
        ms = [mean_std([d.final_test_acc for d in res.dense])] + [mean_std(res.test_accs("ticket", r)) for r in rounds]
        label = "ticket, rewound to init" if k == 0 else f"ticket, rewound to iteration {k}"
        _errorbar_line(ax, x, ms, f"rewind {k}", color=cmap[i % len(cmap)], label=label)
        sparsities += x
    first = next(iter(results.values()), None)
    if first is not None and "reinit" in first.variants:
        rounds = range(1, first.rounds + 1)
        x = [100 * (1 - first.weights_remaining[r]) for r in rounds]
        ms = [mean_std(first.test_accs("reinit", r)) for r in rounds]
        _errorbar_line(ax, x, ms, "reinit", color=VARIANT_COLORS["reinit"], label=VARIANT_LABELS["reinit"])
    _sparsity_axis(ax, sparsities)
    ax.set_ylabel("test accuracy (%)")
    _legend_outside(ax)
    return fig


def plot_rewinding_at(results: Mapping[int, LotteryResult], rewind_iter: int) -> Figure:
    """The slider view of :func:`plot_rewinding`: rewinding to init against rewinding to ``rewind_iter``.

    Args:
        results: ``{rewind_iter: LotteryResult}`` from
            :func:`course_lib.experiments.lottery.rewinding_study`, the first one at iteration 0.
        rewind_iter: one of the keys of ``results``.

    Returns:
        :func:`plot_rewinding` of the first result (and its reinit control) and the one at
        ``rewind_iter`` (just the first when ``rewind_iter`` is that one's), titled by it.

    Raises:
        ValueError: ``rewind_iter`` is not a key of ``results``.
    """
    if isinstance(rewind_iter, bool) or rewind_iter not in results:
        raise ValueError(f"rewind_iter must be one of the rewinding points {list(results)}, got {rewind_iter!r}")
    first = next(iter(results))
    fig = plot_rewinding({first: results[first], rewind_iter: results[rewind_iter]})
    fig.axes[0].set_title(f"late rewinding: the tickets rewound to iteration {rewind_iter}", fontsize="medium")
    return fig


def rewinding_slider(results: Mapping[int, LotteryResult], value: int | None = None) -> widgets.SelectionSlider:
    """A slider over the rewinding points that were run, for :func:`plot_rewinding_at`.

    Only the keys of ``results`` can be chosen (a point that was not run cannot be picked);
    it reports only on release. Use it as ``SliderFigure(functools.partial(plot_rewinding_at,
    results), rewind_iter=rewinding_slider(results))``.

    Args:
        results: ``{rewind_iter: LotteryResult}`` from
            :func:`course_lib.experiments.lottery.rewinding_study`.
        value: the start point, a key of ``results`` (default: the last one).

    Returns:
        An ``ipywidgets.SelectionSlider`` whose options are the iterations (labelled
        ``"0 (init)"`` for iteration 0) and whose value is the chosen iteration (an int).

    Raises:
        ValueError: ``results`` is empty, or ``value`` is not one of its keys.

    >>> s = rewinding_slider({0: None, 59: None, 118: None}, value=59)
    >>> s.options, s.value, s.label
    ((('0 (init)', 0), ('59', 59), ('118', 118)), 59, '59')
    """
    points = list(results)
    if not points:
        raise ValueError("results: one LotteryResult per rewinding point, got none")
    start = points[-1] if value is None else value
    if isinstance(start, bool) or start not in points:
        raise ValueError(f"value must be one of the rewinding points {points}, got {value!r}")
    return widgets.SelectionSlider(
        options=[("0 (init)" if k == 0 else str(k), k) for k in points],
        value=start,
        description="rewind to iteration",
        continuous_update=False,
        style={"description_width": "initial"},
    )


# --------------------------------------------------------------------------- what a ticket keeps
def plot_ticket_masks(
    result: LotteryResult,
    pruning_round: int,
    input_shape: Sequence[int] | None = None,
    seed_index: int = 0,
    layer: str = "fc1.weight",
) -> Figure:
    """The ticket's mask of ``layer`` after ``pruning_round`` rounds (a slider plot over rounds).

    Args:
        result: from :func:`course_lib.experiments.lottery.lottery_study` with ``keep_history=True``.
        pruning_round: a round of the study, 0 (all kept) to ``result.rounds``.
        input_shape: the inputs' shape, e.g. ``(28, 28)``: the right panel is then an image.
        seed_index: which seed's ticket (index into ``result.seeds``).
        layer: a 2-D weight's parameter name.

    Returns:
        The figure. Left: the mask (rows = neurons, columns = inputs; yellow = kept), with a
        colour bar. Right: the fraction kept per input. The title gives each variant's test accuracy.

    Raises:
        ValueError: the result keeps no masks, or an unknown round.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import lottery_study
    >>> res = lottery_study(load("digits"), model="8", rounds=1, seeds=[0], epochs=1, keep_history=True,
    ...                     progress=False)
    >>> fig = plot_ticket_masks(res, 1, (8, 8))
    >>> float(fig.axes[0].images[0].get_array().mean()) == float(res.masks[1][0]["fc1.weight"].float().mean())
    True
    """
    if not result.masks:
        raise ValueError("result keeps no masks: run lottery_study(..., keep_history=True)")
    if pruning_round not in result.masks:
        raise ValueError(f"pruning_round must be one of {sorted(result.masks)}, got {pruning_round!r}")
    mask = result.masks[pruning_round][seed_index][layer]
    fig = new_figure((10, 3.8))
    left, right = fig.subplots(1, 2, width_ratios=[1.3, 1])
    image = left.imshow(mask.float().numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=left, ticks=[0, 1], label="0 = pruned, 1 = kept", shrink=0.8)
    left.set_xlabel("input")
    left.set_ylabel("neuron")
    left.set_title(f"{layer} mask, round {pruning_round}: {mask.float().mean():.1%} kept", fontsize="medium")
    draw_input_density(right, input_density(mask, input_shape), "kept fraction per input")
    if right.get_legend() is not None:  # 1-D inputs: the mean line's legend, off the bars
        _legend_outside(right)
    if pruning_round == 0:
        acc = f"dense: {result.dense_test_acc:.1f}%"
    else:
        ms = {v: mean_std(result.test_accs(v, pruning_round)) for v in result.variants}
        acc = ", ".join(f"{v} {m:.1f}±{sd:.1f}%" for v, (m, sd) in ms.items())
    left_pct = 100 * result.weights_remaining.get(pruning_round, 1.0)
    fig.suptitle(f"round {pruning_round}, {left_pct:.3g}% of weights left: {acc}", fontsize="medium")
    return fig


def plot_weight_movement(
    init: torch.Tensor, ticket_final: torch.Tensor, mask: torch.Tensor, dense_final: torch.Tensor, layer: str = ""
) -> Figure:
    """Are a ticket's initial weights close to its final ones? (Frankle & Carbin 2019 ask.)

    Args:
        init: a layer's weights at initialization.
        ticket_final: the same layer after the ticket's training.
        mask: the ticket's bool mask of the layer (``True`` = kept).
        dense_final: the same layer after the dense training.
        layer: a name for the title.

    Returns:
        The figure. Left: each kept weight's initial value against its value after the
        ticket's training, with the line ``final = init``. Right: histograms of how far each
        weight moved during the *dense* training, ``|w_final - w_init|``, for the weights
        the ticket keeps and for those it prunes.

    Raises:
        ValueError: ``mask`` keeps no weight.
        IndexError: ``mask`` (which must be bool) is a float tensor or has another shape.
        RuntimeError: a tensor that requires grad (pass detached ones, e.g. a ``state_dict``'s).

    >>> g = torch.Generator().manual_seed(0)
    >>> w0 = torch.randn(20, 10, generator=g); m = torch.rand(20, 10, generator=g) > 0.5
    >>> fig = plot_weight_movement(w0, 2 * w0 * m, m, w0 + 1)
    >>> len(fig.axes[0].collections[0].get_offsets()) == int(m.sum())
    True
    """
    a, b = init[mask].numpy(), ticket_final[mask].numpy()
    fig = new_figure((10, 3.8))
    left, right = fig.subplots(1, 2)
    left.scatter(a, b, s=4, alpha=0.4, color="tab:blue")
    lim = float(max(np.abs(a).max(), np.abs(b).max())) * 1.05
    left.plot([-lim, lim], [-lim, lim], "k--", lw=1, label="final = init")
    left.set_xlim(-lim, lim)
    left.set_ylim(-lim, lim)
    left.set_title(f"{layer} kept weights ({int(mask.sum()):,})", fontsize="medium")
    finish_axes(left, "initial weight", "weight after the ticket's training")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize="small")
    moved = (dense_final - init).abs()
    bins = np.linspace(0, float(moved.max()), 40)
    right.hist(moved[mask].numpy(), bins=bins, density=True, alpha=0.6, color="tab:blue", label="kept by the ticket")
    right.hist(moved[~mask].numpy(), bins=bins, density=True, alpha=0.6, color="tab:gray", label="pruned")
    right.set_xlabel("|w_final - w_init| during dense training")
    right.set_ylabel("density")
    right.set_title("how far weights moved in the dense run", fontsize="medium")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize="small", ncols=2)
    return fig


def plot_transfer(
    runs: Mapping[str, Sequence[TrainResult]], source: Mapping[str, Sequence[float]] | None = None, title: str = ""
) -> Figure:
    """Tickets moved to another data set: mean +- std final test accuracy per variant; dots = seeds.

    Args:
        runs: variant (or ``"dense"``) -> runs on the target, e.g. from
            :func:`course_lib.experiments.transfer.transfer_ticket`.
        source: variant -> accuracies (percent) on the source data set, drawn as hollow diamonds.
        title: the axes title.

    Returns:
        The figure: one bar per entry of ``runs``, in order, labelled by
        :data:`VARIANT_LABELS` (``"dense network"`` for ``"dense"``); the y axis runs from 0 to 100%.

    Raises:
        ValueError: ``runs`` is empty, or an entry (or a ``source`` entry) has no runs.

    >>> from types import SimpleNamespace as R
    >>> fig = plot_transfer({"ticket": [R(final_test_acc=60.0), R(final_test_acc=62.0)]})
    >>> [float(b.get_height()) for b in fig.axes[0].patches]
    [61.0]
    """
    fig = new_figure((6.4, 4.0))
    ax = fig.add_subplot()
    colors = {**VARIANT_COLORS, "dense": "0.5"}
    labels = {**VARIANT_LABELS, "dense": "dense network"}
    names = list(runs)
    for i, v in enumerate(names):
        values = [r.final_test_acc for r in runs[v]]
        m, sd = mean_std(values)
        ax.bar(i, m, yerr=sd, capsize=4, color=colors.get(v, "tab:gray"), alpha=0.85)
        ax.plot([i] * len(values), values, "k.", ms=4)
        if source and v in source:
            label = "on the source data" if i == 0 else None
            ax.plot([i + 0.3], [mean_std(source[v])[0]], "D", mfc="none", mec="k", label=label)
    ax.set_xticks(range(len(names)), [textwrap.fill(labels.get(v, v), 14) for v in names], fontsize="small")
    ax.set_ylim(0.0, 100.0)
    ax.set_ylabel("test accuracy on the target (%)")
    ax.grid(True, axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize="medium")
    if source:
        _legend_outside(ax)
    return fig
