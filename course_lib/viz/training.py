"""Plots for Part II: training curves, prune-finetune, schedules and lottery tickets.

Every function returns a new matplotlib ``Figure`` (created through ``pyplot`` so
a notebook displays it as a cell's last expression, then closed in ``pyplot`` so
it is shown once). Lottery plots take a :class:`course_lib.experiments.lottery.LotteryResult`
or its ``to_json()`` dict (e.g. read back from the CLI's ``--json`` file).

>>> fig = plot_schedules(rate=0.5, rounds=2)
>>> fig.axes[0].lines[0].get_ydata().tolist()
[100.0, 50.0, 25.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from course_lib.pruning.schedules import cubic_sparsity, iterative_densities
from course_lib.viz.figure import finish_axes, new_figure

__all__ = [
    "VARIANT_LABELS",
    "VARIANT_COLORS",
    "plot_lottery",
    "plot_training_curves",
    "plot_lottery_curves",
    "plot_schedules",
    "plot_prune_finetune",
    "plot_one_shot_vs_iterative",
    "plot_sensitivity",
    "plot_refit_scan",
]

#: Legend labels of the lottery variants.
VARIANT_LABELS = {
    "ticket": "winning ticket (rewound)",
    "reinit": "same mask, random reinit",
    "random_prune": "random mask, same init",
}
#: Colors of the lottery variants (as in the LTH paper: the ticket in blue).
VARIANT_COLORS = {"ticket": "tab:blue", "reinit": "tab:orange", "random_prune": "tab:green"}

_METRICS = {
    "test_acc": ("test_acc_mean", "test_acc_std", "test accuracy (%)"),
    "early_stop_iter": ("early_stop_iter_mean", "early_stop_iter_std", "early-stopping iteration"),
    "early_stop_test_acc": ("early_stop_test_acc_mean", None, "test accuracy at early stop (%)"),
}


def _as_json(result) -> dict:
    if hasattr(result, "to_json"):
        return result.to_json()
    if isinstance(result, Mapping) and "rows" in result:
        return result
    raise TypeError("result must be a LotteryResult or its to_json() dict (with 'rows')")


def _percent_axis(ax, percents: Sequence[float]) -> None:
    """Log x axis of 'percent of weights remaining', decreasing to the right, ticked at ``percents``."""
    ax.set_xscale("log")
    ticks = sorted(set(round(p, 3) for p in percents), reverse=True)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:.3g}" for t in ticks], rotation=45 if len(ticks) > 6 else 0)
    ax.set_xlim(max(ticks) * 1.15, min(ticks) / 1.15)  # inverted: sparsity grows to the right
    ax.set_xlabel("percent of weights remaining (log scale)")
    ax.grid(True, alpha=0.3)


def plot_lottery(result, metric: str = "test_acc", title: str | None = None) -> Figure:
    """LTH-paper plot: ``metric`` vs percent of weights remaining, one line per variant.

    ``metric`` is ``"test_acc"`` (final test accuracy), ``"early_stop_iter"`` or
    ``"early_stop_test_acc"``. Each line starts at the dense network (100%); error
    bars are the standard deviation over seeds; the x axis is logarithmic and
    decreasing, so sparsity grows to the right. Line labels are
    :data:`VARIANT_LABELS`; ``line.get_gid()`` is the variant name.

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
    mean_key, std_key, ylabel = _METRICS[metric]
    dense_key = {
        "test_acc": "dense_test_acc",
        "early_stop_iter": "dense_early_stop_iter_mean",
        "early_stop_test_acc": "dense_test_acc",
    }[metric]
    dense = js.get(dense_key)
    dense_std = js.get("dense_test_acc_std", 0.0) if metric == "test_acc" else 0.0
    fig = new_figure()
    ax = fig.add_subplot()
    variants = [v for v in VARIANT_LABELS if any(r["variant"] == v for r in js["rows"])]
    percents = [100.0]
    for variant in variants:
        rows = sorted((r for r in js["rows"] if r["variant"] == variant), key=lambda r: r["round"])
        x = [100.0 * r["weights_remaining"] for r in rows]
        y = [r[mean_key] for r in rows]
        err = [r.get(std_key, 0.0) if std_key else 0.0 for r in rows]
        if dense is not None:
            x, y, err = [100.0, *x], [dense, *y], [dense_std or 0.0, *err]
        percents += list(x)
        x, y, err = (np.asarray(v, dtype=float) for v in (x, y, err))
        cont = ax.errorbar(
            x, y, yerr=err, marker="o", ms=4, capsize=3, color=VARIANT_COLORS[variant], label=VARIANT_LABELS[variant]
        )
        cont.lines[0].set_gid(variant)
    if dense is not None and metric != "early_stop_iter":
        ax.axhline(dense, color="0.5", ls=":", lw=1, label="dense network")
    _percent_axis(ax, percents)
    ax.set_ylabel(ylabel)
    config = js.get("config", {})
    if title is None and config:
        rewind = config.get("rewind_iter", 0)
        model = config.get("model", "")
        model = "LeNet-300-100" if model == "lenet" else f"MLP, hidden {model}"
        title = f"{config.get('dataset', '')}, {model}: {len(js.get('seeds', [])) or '?'} seeds, rewind to " + (
            "init" if not rewind else f"iteration {rewind}"
        )
    if title:
        ax.set_title(title)
    ax.legend(loc="lower left", fontsize="small")
    return fig


def _runs_by_label(runs) -> dict[str, list]:
    """Normalize runs: a TrainResult, a list of them, or a dict label -> run(s)."""
    if isinstance(runs, Mapping):
        return {str(k): (list(v) if isinstance(v, (list, tuple)) else [v]) for k, v in runs.items()}
    if isinstance(runs, (list, tuple)):
        return {f"run {i}": [r] for i, r in enumerate(runs)}
    return {"run": [runs]}


#: Line colours of training curves labelled by variant: the variants', and the dense network in grey.
_LINE_COLORS = {**VARIANT_COLORS, "dense": "0.5"}


def _variant_of(label: str) -> str | None:
    """The variant (or ``"dense"``) a curve's label names: the label itself or its first word."""
    for name in sorted(_LINE_COLORS, key=len, reverse=True):
        if label == name or label.startswith(name + " "):
            return name
    return None


def plot_training_curves(runs, metric: str = "val_acc", title: str | None = None) -> Figure:
    """``metric`` (``val_acc``, ``test_acc``, ``val_loss`` or ``train_loss``) over training iterations.

    ``runs`` is a :class:`~course_lib.training.train.TrainResult`, a list of them (one line
    each) or a dict ``label -> run or list of runs`` (one line per label: the mean
    over its runs, shaded +- one standard deviation). The early-stopping iteration
    of each line (its mean) is marked with a dot. When the labels are lottery
    variants (each label is, or starts with, a different name of :data:`VARIANT_COLORS`
    or ``"dense"``, e.g. ``"ticket (20% left)"``), lines take the variant's colour as in
    the other lottery plots (dense in grey); otherwise a viridis gradient.

    >>> from course_lib.training.train import TrainResult
    >>> r = TrainResult(seed=0, iterations=[0, 10], train_loss=[float("nan"), 1.0], val_loss=[2.0, 1.0],
    ...                 val_acc=[10.0, 80.0], test_acc=[11.0, 79.0])
    >>> fig = plot_training_curves({"dense": [r, r]})
    >>> fig.axes[0].lines[0].get_label(), fig.axes[0].lines[0].get_ydata().tolist()
    ('dense', [10.0, 80.0])
    >>> fig = plot_training_curves({"ticket (20% left)": r, "reinit (20% left)": r})
    >>> [line.get_color() for line in fig.axes[0].lines[::2]]
    ['tab:blue', 'tab:orange']
    """
    labels = {
        "val_acc": "validation accuracy (%)",
        "test_acc": "test accuracy (%)",
        "val_loss": "validation loss",
        "train_loss": "training loss",
    }
    if metric not in labels:
        raise ValueError(f"metric must be one of {sorted(labels)}, got {metric!r}")
    fig = new_figure()
    ax = fig.add_subplot()
    cmap = plt.get_cmap("viridis")
    groups = _runs_by_label(runs)
    kinds = [_variant_of(label) for label in groups]
    by_variant = all(kinds) and len(set(kinds)) == len(kinds) and any(k in VARIANT_COLORS for k in kinds)
    for i, (label, group) in enumerate(groups.items()):
        its = np.asarray(group[0].iterations)
        values = np.array([getattr(r, metric) for r in group], dtype=float)
        mean = np.nanmean(values, axis=0) if values.shape[0] > 1 else values[0]
        color = _LINE_COLORS[kinds[i]] if by_variant else cmap(i / max(1, len(groups) - 1) * 0.9)
        (line,) = ax.plot(its, mean, color=color, label=label)
        if values.shape[0] > 1:
            std = np.nanstd(values, axis=0)
            ax.fill_between(its, mean - std, mean + std, color=color, alpha=0.2, lw=0)
        stop = float(np.mean([r.early_stop_iter for r in group]))
        ax.plot([stop], [np.interp(stop, its, mean)], "o", color=color, ms=5)
    ax.set_xlabel("training iteration")
    ax.set_ylabel(labels[metric])
    if metric.endswith("acc"):
        lows = [np.nanmin(getattr(r, metric)[1:]) for g in groups.values() for r in g if len(r.iterations) > 1]
        if lows:
            ax.set_ylim(max(0.0, min(lows) - 2), 100.5)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def plot_lottery_curves(
    result, variant: str = "ticket", rounds: Sequence[int] | None = None, metric: str = "test_acc"
) -> Figure:
    """Training curves of one variant of a :class:`~course_lib.experiments.lottery.LotteryResult` at several
    rounds (LTH Figure 3): one line per level of weights remaining, the dense run first.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import lottery_study
    >>> res = lottery_study(load("digits"), model="16", rounds=1, seeds=1, epochs=1, progress=False)
    >>> [line.get_label() for line in plot_lottery_curves(res).axes[0].get_legend().get_lines()]
    ['100% (dense)', '53.4%']
    """
    if variant not in VARIANT_LABELS:
        raise ValueError(f"variant must be one of {sorted(VARIANT_LABELS)}, got {variant!r}")
    all_rounds = sorted(r for v, r in result.runs if v == variant)
    rounds = all_rounds if rounds is None else list(rounds)
    missing = [r for r in rounds if r not in all_rounds]
    if missing:
        raise ValueError(f"rounds {missing} were not run; available: {all_rounds}")
    groups = {"100% (dense)": result.dense}
    for r in rounds:
        groups[f"{100 * result.weights_remaining[r]:.3g}%"] = result.runs[(variant, r)]
    return plot_training_curves(groups, metric=metric, title=VARIANT_LABELS[variant])


def plot_schedules(rate: float = 0.2, rounds: int = 10) -> Figure:
    """Percent of weights remaining under iterative pruning (``rate`` of the remaining
    weights per round) and under the cubic schedule of Zhu & Gupta reaching the same
    final sparsity over the same rounds. Line 0 is iterative, line 1 cubic.

    >>> fig = plot_schedules(rate=0.5, rounds=2)
    >>> [round(float(v), 1) for v in fig.axes[0].lines[1].get_ydata()]
    [100.0, 34.4, 25.0]
    """
    densities = iterative_densities(rate, rounds)
    final = 1.0 - densities[-1]
    fig = new_figure()
    ax = fig.add_subplot()
    x = np.arange(rounds + 1)
    ax.plot(
        x,
        [100 * d for d in densities],
        "o-",
        drawstyle="steps-post",
        label=f"iterative: {rate:.0%} of remaining per round",
    )
    cubic = [100 * (1 - cubic_sparsity(int(t), final, 0.0, 0, max(1, rounds), 1)) for t in x]
    ax.plot(x, cubic, "s--", label="cubic (Zhu & Gupta 2017), same final sparsity")
    ax.set_xlabel("pruning round (or pruning step)")
    ax.set_ylabel("percent of weights remaining")
    ax.set_ylim(0, 105)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def plot_prune_finetune(results) -> Figure:
    """Accuracy vs sparsity for train-prune-finetune: right after pruning and after fine-tuning,
    with the dense accuracy as a dotted line (``results``: list from
    :func:`course_lib.experiments.finetune.prune_finetune`). Line 0: pruned, line 1: fine-tuned.

    >>> from types import SimpleNamespace as R
    >>> fig = plot_prune_finetune([R(sparsity=0.5, dense_acc=90., pruned_acc=80., finetuned_acc=91.)])
    >>> fig.axes[0].lines[1].get_ydata().tolist()
    [91.0]
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one prune-finetune result")
    s = [100 * r.sparsity for r in results]
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(s, [r.pruned_acc for r in results], "o-", color="tab:red", label="pruned, no fine-tuning")
    ax.plot(s, [r.finetuned_acc for r in results], "o-", color="tab:blue", label="pruned + fine-tuned")
    finish_axes(ax, "sparsity (% of weights pruned)", "test accuracy (%)", results[0].dense_acc, "dense (trained)")
    return fig


def plot_one_shot_vs_iterative(result) -> Figure:
    """Test accuracy after each fine-tuning step: one-shot (pruned to the target at once)
    vs iterative (pruned a little before each step), against the epochs of fine-tuning.
    Line 0: one-shot, line 1: iterative (annotated with its percent remaining).

    >>> from types import SimpleNamespace as R
    >>> res = R(epochs=[1, 2], one_shot_acc=[80., 85.], iterative_acc=[90., 88.], densities=[0.5, 0.25],
    ...         target_sparsity=0.75, dense_acc=92.)
    >>> plot_one_shot_vs_iterative(res).axes[0].lines[1].get_ydata().tolist()
    [90.0, 88.0]
    """
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(
        result.epochs,
        result.one_shot_acc,
        "o-",
        color="tab:red",
        label=f"one-shot to {result.target_sparsity:.0%} sparsity",
    )
    ax.plot(result.epochs, result.iterative_acc, "s-", color="tab:blue", label="iterative (prune, fine-tune, repeat)")
    for e, a, d in zip(result.epochs, result.iterative_acc, result.densities, strict=False):
        ax.annotate(
            f"{100 * d:.3g}%",
            (e, a),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize="x-small",
            color="tab:blue",
        )
    finish_axes(ax, "fine-tuning epochs so far", "test accuracy (%)", result.dense_acc, "dense (trained)")
    return fig


def plot_sensitivity(scan) -> Figure:
    """Per-layer sensitivity: accuracy when only one layer is pruned, vs that layer's sparsity.

    ``scan`` is a :class:`course_lib.experiments.finetune.SensitivityScan` (``sparsities``,
    ``acc`` dict layer -> accuracies, ``dense_acc``, ``sizes``); one line per layer,
    labelled with its number of weights.

    >>> from types import SimpleNamespace as S
    >>> scan = S(sparsities=[0.5, 0.9], acc={"fc1.weight": [95., 90.]}, dense_acc=96., sizes={"fc1.weight": 100})
    >>> plot_sensitivity(scan).axes[0].lines[0].get_ydata().tolist()
    [95.0, 90.0]
    """
    fig = new_figure()
    ax = fig.add_subplot()
    x = [100 * s for s in scan.sparsities]
    for name, accs in scan.acc.items():
        ax.plot(x, accs, "o-", label=f"{name} ({scan.sizes[name]:,} weights)")
    finish_axes(ax, "sparsity of the one pruned layer (%)", "accuracy (%)", scan.dense_acc)
    return fig


def plot_refit_scan(scan) -> Figure:
    """Regression-based pruning: accuracy vs fraction of a layer's neurons removed, as is
    (line 0) and after the least-squares refit of the next layer (line 1)
    (``scan``: :class:`course_lib.experiments.finetune.RefitScan`).

    >>> from types import SimpleNamespace as S
    >>> scan = S(layer="fc1", sparsities=[0.5], removed_acc=[60.], refit_acc=[90.], dense_acc=95., split="test")
    >>> plot_refit_scan(scan).axes[0].lines[1].get_ydata().tolist()
    [90.0]
    """
    fig = new_figure()
    ax = fig.add_subplot()
    x = [100 * s for s in scan.sparsities]
    ax.plot(x, scan.removed_acc, "o-", color="tab:red", label="neurons removed")
    ax.plot(x, scan.refit_acc, "s-", color="tab:blue", label="removed + next layer refit (least squares)")
    finish_axes(
        ax, f"neurons of {scan.layer} removed (%)", f"{scan.split} accuracy (%)", scan.dense_acc, "before removal"
    )
    return fig
