"""Plots of notebook 04, pruning a trained network: schedules, prune-finetune, one-shot vs
iterative, layer sensitivity, regression-based pruning (refit), and a network pruned to a
sparsity (a slider plot).

Every function returns a new ``Figure`` (:func:`course_lib.viz.figure.new_figure`). The
``*_seeds`` plots and :func:`plot_layer_tolerance` draw results of several seeds as mean +-
standard deviation; the slider plots (:func:`plot_pruned_at_sparsity`,
:func:`plot_refit_at_sparsity`) compute what they show from the sparsity they are given.

>>> from types import SimpleNamespace as R
>>> seed_results = [[R(sparsity=0.0, dense_acc=90., pruned_acc=90., finetuned_acc=91.),
...                  R(sparsity=0.8, dense_acc=90., pruned_acc=80., finetuned_acc=92.)]] * 2
>>> fig = plot_prune_finetune_seeds(seed_results, highlight=0.8)
>>> [float(b.get_height()) for b in fig.axes[1].patches]
[90.0, 91.0, 80.0, 92.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from course_lib._checks import mean_std
from course_lib.experiments.analysis import input_density, pruned_accuracy
from course_lib.experiments.finetune import one_shot_vs_iterative, train_subset
from course_lib.experiments.refit import least_squares_refit, remove_layer_neurons
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.schedules import cubic_sparsity, iterative_densities, step_rates
from course_lib.pruning.structured import row_keep, row_norm_mask
from course_lib.training.data import Dataset, Split
from course_lib.training.train import evaluate
from course_lib.viz.figure import finish_axes, new_figure

__all__ = [
    "draw_input_density",
    "plot_schedules",
    "plot_iterative_steps",
    "plot_prune_finetune",
    "plot_one_shot_vs_iterative",
    "plot_sensitivity",
    "plot_pruned_at_sparsity",
    "plot_prune_finetune_seeds",
    "plot_one_shot_vs_iterative_seeds",
    "plot_layer_tolerance",
    "plot_refit_scan",
    "plot_refit_at_sparsity",
]

_SCOPE_STYLE = {"layer": ("tab:blue", "layer-wise"), "global": ("tab:purple", "global")}
_SCHEDULE_STYLE = {"geometric": ("tab:blue", "s-", "same rate every step"), "cubic": ("tab:green", "^-", "cubic")}


def _legend_outside(ax: Axes) -> None:
    """Put ``ax``'s legend right of the axes, where it covers no data (constrained layout makes room)."""
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def draw_input_density(ax: Axes, frac: torch.Tensor, title: str) -> None:
    """Draw the density per input (kept fraction of its weights) on ``ax``, in place: an image
    for 2-D inputs (pixels), bars for 1-D. Returns ``None``.

    Args:
        ax: the axes to draw on.
        frac: fractions in [0, 1], shape ``(in_features,)`` or ``(height, width)``, e.g.
            :func:`course_lib.experiments.analysis.input_density`.
        title: the panel's title; the mean fraction is appended.

    The colour or y scale runs up to the largest fraction; the dashed line (bars) gives the mean.
    """
    frac = frac.detach().cpu()
    top = max(float(frac.max()), 1e-6)
    if frac.dim() == 2:
        im = ax.imshow(frac.numpy(), cmap="viridis", vmin=0, vmax=top)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.figure.colorbar(im, ax=ax, shrink=0.8, label="fraction of weights kept")
    else:
        ax.bar(np.arange(frac.numel()), frac.numpy(), color="tab:blue", width=1.0)
        ax.axhline(float(frac.mean()), color="k", ls="--", lw=1, label=f"mean {float(frac.mean()):.1%}")
        ax.set_ylim(0, top * 1.15)
        ax.set_xlabel("input feature")
        ax.set_ylabel("fraction of weights kept")
        ax.legend(fontsize="small", loc="upper right")
    ax.set_title(f"{title} (mean {float(frac.mean()):.1%})", fontsize="medium")


# --------------------------------------------------------------------------- one run
def plot_schedules(rate: float = 0.2, rounds: int = 10) -> Figure:
    """Percent of weights remaining under iterative pruning and under the cubic schedule.

    Iterative pruning removes ``rate`` of the *remaining* weights per round (Han et al.
    2015; Frankle & Carbin 2019); the cubic schedule of Zhu & Gupta 2017 reaches the same
    final sparsity over the same rounds, pruning fast early and slowly late.

    Args:
        rate: the fraction of the remaining weights pruned per round, in [0, 1).
        rounds: the number of rounds (>= 1).

    Returns:
        The figure: line 0 iterative, line 1 cubic.

    Raises:
        ValueError: a rate outside [0, 1) or rounds < 0.

    >>> fig = plot_schedules(rate=0.5, rounds=2)
    >>> [round(float(v), 1) for v in fig.axes[0].lines[1].get_ydata()]
    [100.0, 34.4, 25.0]
    """
    densities = iterative_densities(rate, rounds)
    final = 1.0 - densities[-1]
    fig = new_figure()
    ax = fig.add_subplot()
    x = np.arange(rounds + 1)
    label = f"iterative: {rate:.0%} of remaining per round"
    ax.plot(x, [100 * d for d in densities], "o-", drawstyle="steps-post", label=label)
    cubic = [100 * (1 - cubic_sparsity(int(t), final, 0.0, 0, max(1, rounds), 1)) for t in x]
    ax.plot(x, cubic, "s--", label="cubic (Zhu & Gupta 2017), same final sparsity")
    ax.set_ylim(0, 105)
    finish_axes(ax, "pruning round (or pruning step)", "percent of weights remaining")
    _legend_outside(ax)
    return fig


def plot_iterative_steps(
    model: nn.Module,
    data: Dataset,
    steps: int,
    target: float = 0.98,
    n_train: int = 500,
    schedule: str = "geometric",
    scope: str = "global",
    seed: int = 0,
) -> Figure:
    """Prune ``model`` to ``target`` in ``steps`` prune-finetune steps, now, on a small setting (a slider plot).

    Runs :func:`course_lib.experiments.finetune.one_shot_vs_iterative` with 1 epoch of
    fine-tuning per step on ``n_train`` training images
    (:func:`course_lib.experiments.finetune.train_subset`), so that it answers in seconds and
    "prune less each time, more iterations" (Han et al. 2015) can be tried. The one-shot
    network is pruned to ``target`` at once and fine-tuned as many epochs.

    Args:
        model: the trained network; not changed.
        data: the data set (fine-tuning on ``n_train`` of its training images, accuracy on its test split).
        steps: the number of prune-finetune steps, an int >= 1.
        target: the final sparsity, in [0, 1].
        n_train: training images used for fine-tuning.
        schedule: the iterative schedule, one of :data:`course_lib.pruning.schedules.SCHEDULES`
            (``"cubic"``: Zhu & Gupta 2017).
        scope: ``"layer"`` or ``"global"`` magnitude pruning.
        seed: the choice of images and the minibatch order.

    Returns:
        The figure. Left: the rate of each step (the fraction of the remaining weights it
        pruned, bars with gid ``"rates"``). Right: test accuracy after each step's fine-tuning
        against the sparsity reached (x), line gid ``"iterative"``, and the one-shot network
        after ``steps`` epochs at ``target`` (gid ``"one-shot"``).

    Raises:
        ValueError: ``steps`` < 1, ``target`` outside [0, 1], ``n_train`` out of range, an unknown
            ``scope`` or ``schedule``.
    """
    run = one_shot_vs_iterative(
        model,
        train_subset(data, n_train, seed),
        target,
        steps=steps,
        scope=scope,
        schedule=schedule,
        seed=seed,
        progress=False,
    )
    sparsity = [100 * (1 - d) for d in run.densities]
    fig = new_figure((11, 3.8))
    left, ax = fig.subplots(1, 2, width_ratios=[1, 1.3])
    rates = [100 * r for r in step_rates([s / 100 for s in sparsity])]
    left.bar(run.epochs, rates, color="tab:blue", gid="rates")
    left.set_ylim(0, 100)
    left.set_xticks(run.epochs)
    left.set_xlabel("prune-finetune step")
    left.set_ylabel("rate: % of the remaining weights pruned")
    left.grid(True, axis="y", alpha=0.3)
    color, marker, label = _SCHEDULE_STYLE[schedule]
    (line,) = ax.plot(sparsity, run.iterative_acc, marker, color=color, label=f"iterative, {label}")
    line.set_gid("iterative")
    label = f"one-shot, {steps} epoch(s) of fine-tuning"
    (point,) = ax.plot([100 * target], [run.one_shot_acc[-1]], "o", ms=8, color="tab:red", label=label)
    point.set_gid("one-shot")
    ax.set_xlim(0, 100)
    finish_axes(ax, "sparsity (% of weights pruned)", "test accuracy (%)", run.dense_acc, "dense (trained)")
    _legend_outside(ax)
    title = f"{steps} step(s) to {target:.0%}, 1 epoch on {n_train} images per step"
    ax.set_title(title, fontsize="medium")
    return fig


def plot_prune_finetune(results: Sequence[Any]) -> Figure:
    """Accuracy against sparsity for train-prune-finetune (Han et al. 2015), one seed.

    Args:
        results: :class:`course_lib.experiments.finetune.PruneFinetuneResult` (or objects with
            ``sparsity``, ``dense_acc``, ``pruned_acc``, ``finetuned_acc``), one per sparsity.

    Returns:
        The figure: line 0 right after pruning, line 1 after fine-tuning, dotted: dense.

    Raises:
        ValueError: no result.

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
    _legend_outside(ax)
    return fig


def plot_one_shot_vs_iterative(result: Any) -> Figure:
    """:func:`plot_one_shot_vs_iterative_seeds` for one :class:`~course_lib.experiments.finetune.OneShotVsIterative`.

    Args:
        result: one ``OneShotVsIterative`` (one seed).

    Returns:
        The ``Figure`` of :func:`plot_one_shot_vs_iterative_seeds` (no spread over seeds).

    >>> from types import SimpleNamespace as R
    >>> res = R(epochs=[1, 2], one_shot_acc=[80., 85.], iterative_acc=[90., 88.], densities=[0.5, 0.25],
    ...         target_sparsity=0.75, dense_acc=92.)
    >>> plot_one_shot_vs_iterative(res).axes[0].lines[1].get_ydata().tolist()
    [90.0, 88.0]
    """
    return plot_one_shot_vs_iterative_seeds([result])


def plot_sensitivity(scan: Any) -> Figure:
    """Per-layer sensitivity: accuracy when only one layer is pruned, against that layer's sparsity.

    Args:
        scan: a :class:`course_lib.experiments.finetune.SensitivityScan` (``sparsities``,
            ``acc`` layer -> accuracies, ``dense_acc``, ``sizes``).

    Returns:
        The figure: one line per layer, labelled with its number of weights.

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
    _legend_outside(ax)
    return fig


# --------------------------------------------------------------------------- a slider plot, and seeds
def plot_pruned_at_sparsity(
    model: nn.Module,
    split: Split,
    sparsity: float,
    curve: Mapping[str, Sequence[float]] | None = None,
    input_shape: Sequence[int] | None = None,
    layer: str = "fc1.weight",
) -> Figure:
    """The trained ``model`` magnitude-pruned to ``sparsity`` without fine-tuning (a slider plot).

    Args:
        model: a trained network; not changed.
        split: the examples to measure on (e.g. ``data.test``).
        sparsity: the fraction of weights pruned, in [0, 1].
        curve: precomputed curves: ``"sparsities"`` and one list of accuracies per scope
            (``"layer"``, ``"global"``), e.g. from
            :func:`course_lib.experiments.analysis.pruned_accuracy_curve`.
        input_shape: the inputs' shape, e.g. ``(28, 28)``: the right panel is then an image.
        layer: the weight whose kept inputs the right panel shows.

    Returns:
        The figure. Left: accuracy on ``split`` against sparsity, the markers at ``sparsity``
        computed now (gids ``"layer"``, ``"global"``). Right: under layer-wise pruning, the
        fraction of ``layer``'s weights kept per input.

    Raises:
        ValueError: a sparsity outside [0, 1].

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> fig = plot_pruned_at_sparsity(net, data.test, 0.5, input_shape=(8, 8))
    >>> [line.get_gid() for line in fig.axes[0].lines if line.get_gid()]
    ['layer', 'global']
    >>> float(fig.axes[1].images[0].get_array().mean())
    0.5
    """
    fig = new_figure((12, 3.8))
    ax, right = fig.subplots(1, 2, width_ratios=[1.2, 1])
    for scope, (color, name) in _SCOPE_STYLE.items():
        if curve is not None and scope in curve:
            x = [100 * s for s in curve["sparsities"]]
            ax.plot(x, curve[scope], "-", color=color, alpha=0.6, label=f"{name} (curve)")
    for scope, (color, name) in _SCOPE_STYLE.items():
        acc = pruned_accuracy(model, split, sparsity, scope)
        label = f"{name} at {sparsity:.0%}: {acc:.1f}%"
        (point,) = ax.plot([100 * sparsity], [acc], "o", ms=8, color=color, label=label)
        point.set_gid(scope)
    ax.axvline(100 * sparsity, color="0.6", lw=1, ls="--")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    finish_axes(ax, "sparsity (% of weights removed), no fine-tuning", "test accuracy (%)")
    _legend_outside(ax)
    frac = input_density(magnitude_masks(model, sparsity)[layer], input_shape)
    draw_input_density(right, frac, f"{layer}: kept per input, layer-wise {sparsity:.0%}")
    return fig


def _seed_matrix(results_by_seed: Sequence[Sequence[Any]], attr: str) -> np.ndarray:
    return np.array([[getattr(r, attr) for r in results] for results in results_by_seed], dtype=float)


def _seed_bars(ax: Axes, groups: Sequence[tuple[str, np.ndarray, str]]) -> None:
    """Bars of mean +- std per group (label, values per seed, colour), the seeds as dots."""
    for i, (label, values, color) in enumerate(groups):
        ax.bar(i, values.mean(), yerr=values.std(), color=color, capsize=4, label=label)
        ax.plot(np.full(len(values), i), values, "k.", ms=4)
        ax.text(i, 3, f"{values.mean():.1f}", ha="center", va="bottom", fontsize="small", color="white")
    ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize="small")
    ax.set_ylim(0, 100)  # bars start at zero: their heights are the accuracies
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, axis="y", alpha=0.3)


def plot_prune_finetune_seeds(results_by_seed: Sequence[Sequence[Any]], highlight: float = 0.8) -> Figure:
    """Train-prune-finetune over seeds (Han et al. 2015), with the fair control.

    Args:
        results_by_seed: one list of :class:`course_lib.experiments.finetune.PruneFinetuneResult`
            per seed, the same sparsities in each; sparsity 0.0 is the dense network
            fine-tuned as long (the fair control).
        highlight: the sparsity of the bar panel; one of the sparsities.

    Returns:
        The figure. Left: mean +- std accuracy against sparsity, right after pruning (line
        gid ``"pruned"``) and after fine-tuning (gid ``"finetuned"``), dense dotted. Right:
        bars at ``highlight``: dense (trained), dense + the same fine-tuning, pruned, pruned
        + fine-tuned; the dots are the seeds.

    Raises:
        ValueError: no results, or ``highlight`` is not one of the sparsities.
    """
    results_by_seed = [list(r) for r in results_by_seed]
    if not results_by_seed or not results_by_seed[0]:
        raise ValueError("results_by_seed must hold one non-empty list of results per seed")
    sp = [r.sparsity for r in results_by_seed[0]]
    if highlight not in sp:
        raise ValueError(f"highlight must be one of the sparsities {sp}, got {highlight!r}")
    pruned, tuned = _seed_matrix(results_by_seed, "pruned_acc"), _seed_matrix(results_by_seed, "finetuned_acc")
    dense = _seed_matrix(results_by_seed, "dense_acc")[:, 0]
    fig = new_figure((12, 3.8))
    ax, bars = fig.subplots(1, 2, width_ratios=[1.2, 1])
    x = [100 * s for s in sp]
    for gid, values, marker, color, label in (
        ("pruned", pruned, "o", "tab:red", "pruned, no fine-tuning"),
        ("finetuned", tuned, "s", "tab:blue", "pruned + fine-tuned"),
    ):
        cont = ax.errorbar(x, values.mean(0), yerr=values.std(0), marker=marker, capsize=3, color=color, label=label)
        cont.lines[0].set_gid(gid)
    ax.axhline(dense.mean(), color="0.4", ls=":", label=f"dense (trained): {dense.mean():.1f}%")
    finish_axes(ax, "sparsity (% of weights pruned, layer-wise)", "test accuracy (%)")
    _legend_outside(ax)
    ax.set_title(f"{len(results_by_seed)} seeds: mean +- std", fontsize="medium")
    j = sp.index(highlight)
    groups = [("dense\n(trained)", dense, "0.5")]
    if 0.0 in sp:
        groups.append(("dense +\nsame epochs", tuned[:, sp.index(0.0)], "0.7"))
    groups += [
        (f"pruned\n{highlight:.0%}", pruned[:, j], "tab:red"),
        (f"pruned {highlight:.0%}\n+ fine-tuned", tuned[:, j], "tab:blue"),
    ]
    _seed_bars(bars, groups)
    return fig


def plot_one_shot_vs_iterative_seeds(
    results: Sequence[Any], others: Mapping[str, Sequence[Any]] | None = None
) -> Figure:
    """One-shot against iterative pruning over seeds (Han et al. 2015; Zhu & Gupta 2017 for
    the cubic schedule): test accuracy after each fine-tuning step, and the weights left.

    Args:
        results: :class:`course_lib.experiments.finetune.OneShotVsIterative`, one per seed,
            same settings.
        others: more iterative schedules of the same setting, label -> their results (one per
            seed), e.g. ``{"cubic": [...]}``: one more line each (gid ``"others:<label>"``).

    Returns:
        The figure, two panels on the same x axis (fine-tuning epochs). Top: mean test accuracy
        (+- std, shaded, for several seeds); line 0 one-shot, line 1 iterative, then ``others``;
        dotted: dense. Bottom: a table of the percent of weights left after each step, one row
        per network (one-shot, iterative, then ``others``, each with its own densities), written
        in its line's colour: no label sits on a curve.

    Raises:
        ValueError: no result.

    >>> from types import SimpleNamespace as R
    >>> res = R(epochs=[1, 2], one_shot_acc=[80., 85.], iterative_acc=[90., 88.], densities=[0.5, 0.25],
    ...         target_sparsity=0.75, dense_acc=92.)
    >>> fig = plot_one_shot_vs_iterative_seeds([res, res])
    >>> fig.axes[0].lines[1].get_ydata().tolist()
    [90.0, 88.0]
    >>> [t.get_text() for t in fig.axes[1].texts]
    ['25%', '25%', '50%', '25%']
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one OneShotVsIterative")
    first = results[0]
    schedule = _SCHEDULE_STYLE[getattr(first, "schedule", "geometric")][2]
    rows: list[tuple[str, list[Any], str, str, str, str | None]] = [
        (f"one-shot to {first.target_sparsity:.0%}", results, "one_shot_acc", "o-", "tab:red", None),
        (f"iterative, {schedule}", results, "iterative_acc", "s-", "tab:blue", None),
    ]
    colors = ["tab:green", "tab:purple", "tab:brown", "tab:olive"]
    for i, (label, group) in enumerate((others or {}).items()):
        rows.append((f"iterative, {label}", list(group), "iterative_acc", "^-", colors[i % 4], f"others:{label}"))
    fig = new_figure((8.5, 5.2))
    ax, table = fig.subplots(2, 1, sharex=True, height_ratios=[3, 0.45 + 0.35 * len(rows)])
    for label, group, attr, style, color, gid in rows:
        values = np.array([getattr(r, attr) for r in group], dtype=float)
        (line,) = ax.plot(first.epochs, values.mean(0), style, color=color, label=label)
        line.set_gid(gid)
        if len(group) > 1:
            low, high = values.mean(0) - values.std(0), values.mean(0) + values.std(0)
            ax.fill_between(first.epochs, low, high, color=color, alpha=0.2, lw=0)
    dense = float(np.mean([r.dense_acc for r in results]))
    finish_axes(ax, "", "test accuracy (%)", dense, "dense (trained)")
    _legend_outside(ax)
    if len(results) > 1:
        ax.set_title(f"{len(results)} seeds: mean +- std", fontsize="medium")
    _weights_left_table(table, first, rows)
    return fig


def _weights_left_table(ax: Axes, first: Any, rows: Sequence[tuple[Any, ...]]) -> None:
    """Percent of weights left after each step, one row per network of ``rows``, in its colour."""
    for y, (_, group, _, _, color, _) in enumerate(rows):
        left = [1 - first.target_sparsity] * len(first.epochs) if y == 0 else group[0].densities
        for e, d in zip(first.epochs, left, strict=True):
            ax.text(e, y, f"{100 * d:.3g}%", ha="center", va="center", fontsize="small", color=color)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize="small")
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the first row on top
    ax.set_xticks(first.epochs)
    ax.set_xlim(min(first.epochs) - 0.4, max(first.epochs) + 0.4)
    ax.tick_params(axis="y", length=0)
    ax.set_title("weights left after each step (% of the dense network's)", fontsize="small")
    ax.set_xlabel("fine-tuning epochs so far (the same for every network)")


def plot_layer_tolerance(scans: Mapping[str, Sequence[Any]], sparsity: float) -> Figure:
    """Which layer tolerates pruning? One panel per network, mean +- std over seeds.

    Args:
        scans: network label -> :class:`course_lib.experiments.finetune.SensitivityScan`, one
            per seed.
        sparsity: the bars are at the scanned sparsity nearest to it.

    Returns:
        The figure: per layer, in depth order and labelled with its number of weights, the
        accuracy when only that layer is pruned; dotted: the dense accuracy.

    Raises:
        ValueError: no scan.

    >>> from types import SimpleNamespace as S
    >>> scan = S(sparsities=[0.5, 0.9], acc={"fc1.weight": [95., 90.], "fc2.weight": [94., 70.]},
    ...          dense_acc=96., sizes={"fc1.weight": 100, "fc2.weight": 10})
    >>> [float(b.get_height()) for b in plot_layer_tolerance({"net": [scan]}, 0.88).axes[0].patches]
    [90.0, 70.0]
    """
    if not scans:
        raise ValueError("scans must map a network label to a list of SensitivityScan")
    fig = new_figure((4.2 * len(scans) + 0.8, 3.8))
    axes = np.atleast_1d(fig.subplots(1, len(scans), sharey=True))
    for ax, (label, group) in zip(axes, scans.items(), strict=True):
        first = group[0]
        j = int(np.argmin([abs(s - sparsity) for s in first.sparsities]))
        names = list(first.acc)
        biggest = max(first.sizes[n] for n in names)
        for i, name in enumerate(names):
            m, sd = mean_std([g.acc[name][j] for g in group])
            shade = 0.35 + 0.65 * np.log1p(first.sizes[name]) / np.log1p(biggest)
            ax.bar(i, m, yerr=sd, capsize=4, color=(0.12, 0.47, 0.71, shade))
            text = f"{first.sizes[name]:,}\nweights"
            ax.text(i, 2, text, ha="center", va="bottom", fontsize="x-small", color="white")
        ax.axhline(mean_std([g.dense_acc for g in group])[0], color="0.3", ls=":", label="dense")
        ticks = [n.replace(".weight", "") + f"\n(depth {i + 1})" for i, n in enumerate(names)]
        ax.set_xticks(range(len(names)), ticks, fontsize="small")
        ax.set_title(f"{label}: one layer pruned to {first.sparsities[j]:.0%}", fontsize="medium")
        ax.set_ylim(0, 100)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel(f"{getattr(first, 'split', 'val')} accuracy (%)")
    _legend_outside(axes[-1])
    return fig


# --------------------------------------------------------------------------- regression-based pruning (He et al. 2017)
def _refit_curves(ax: Axes, scan: Any, alpha: float = 1.0, markers: bool = True) -> None:
    """A :class:`~course_lib.experiments.refit.RefitScan`'s two curves: neurons removed (red), refit (blue)."""
    x = [100 * s for s in scan.sparsities]
    removed, refit = ("o-", "s-") if markers else ("-", "-")
    ax.plot(x, scan.removed_acc, removed, color="tab:red", alpha=alpha, label="neurons removed" if markers else None)
    label = "removed + next layer refit (least squares)" if markers else None
    ax.plot(x, scan.refit_acc, refit, color="tab:blue", alpha=alpha, label=label)


def plot_refit_scan(scan: Any) -> Figure:
    """Regression-based pruning (He et al. 2017): accuracy against the fraction of a layer's neurons removed.

    Args:
        scan: a :class:`course_lib.experiments.refit.RefitScan`.

    Returns:
        The figure: line 0 as is, line 1 after the least-squares refit of the next layer.

    >>> from types import SimpleNamespace as S
    >>> scan = S(layer="fc1", sparsities=[0.5], removed_acc=[60.], refit_acc=[90.], dense_acc=95., split="test")
    >>> plot_refit_scan(scan).axes[0].lines[1].get_ydata().tolist()
    [90.0]
    """
    fig = new_figure()
    ax = fig.add_subplot()
    _refit_curves(ax, scan)
    xlabel = f"neurons of {scan.layer} removed (%)"
    finish_axes(ax, xlabel, f"{scan.split} accuracy (%)", scan.dense_acc, "before removal")
    _legend_outside(ax)
    return fig


def plot_refit_at_sparsity(
    model: nn.Sequential, data: Dataset, layer: str, sparsity: float, scan: Any = None, n_fit: int | None = None
) -> Figure:
    """Regression-based pruning at one sparsity of a layer's neurons (a slider plot; He et al. 2017).

    Removes the fraction ``sparsity`` of ``layer``'s neurons with the smallest L2 row norm
    and measures the test accuracy as is (:func:`course_lib.experiments.refit.remove_layer_neurons`)
    and after refitting the next layer by least squares on ``n_fit`` training inputs
    (:func:`course_lib.experiments.refit.least_squares_refit`).

    Args:
        model: a trained MLP; not changed.
        data: the data set.
        layer: a hidden Linear layer's name, e.g. ``"fc1"``.
        sparsity: the fraction of the layer's neurons removed, in [0, 1].
        scan: a precomputed :class:`course_lib.experiments.refit.RefitScan`, drawn as curves.
        n_fit: number of training inputs to fit on (default all).

    Returns:
        The figure, markers with gids ``"removed"`` and ``"refit"``.

    Raises:
        ValueError: an unknown layer, a sparsity outside [0, 1].

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> fig = plot_refit_at_sparsity(net, data, "fc1", 0.5)
    >>> sorted(l.get_gid() for l in fig.axes[0].lines if l.get_gid())
    ['refit', 'removed']
    """
    linear = dict(model.named_children()).get(layer)
    if not isinstance(linear, nn.Linear):
        raise ValueError(f"layer must name a hidden Linear layer of model, got {layer!r}")
    keep = row_keep(row_norm_mask(linear.weight.detach(), sparsity))
    removed = evaluate(remove_layer_neurons(model, layer, keep), data.test)[1]
    x_fit = data.train.x if n_fit is None else data.train.x[:n_fit]
    refit = evaluate(least_squares_refit(model, layer, keep, x_fit), data.test)[1]
    fig = new_figure()
    ax = fig.add_subplot()
    if scan is not None:
        _refit_curves(ax, scan, alpha=0.5, markers=False)
        ax.axhline(scan.dense_acc, color="0.5", ls=":", label="before removal")
    for gid, acc, marker, color, label in (
        ("removed", removed, "o", "tab:red", f"neurons removed: {removed:.1f}%"),
        ("refit", refit, "s", "tab:blue", f"removed + next layer refit: {refit:.1f}%"),
    ):
        (point,) = ax.plot([100 * sparsity], [acc], marker, ms=8, color=color, label=label)
        point.set_gid(gid)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    xlabel = f"neurons of {layer} removed (%), {int((~keep).sum())} of {keep.numel()}"
    finish_axes(ax, xlabel, "test accuracy (%)")
    _legend_outside(ax)
    return fig
