"""Plots of notebook 07, pruning conv nets: filter masks, a channel-pruning sweep, the lecture's table.

Every function returns a new ``Figure`` (:func:`course_lib.viz.figure.new_figure`) and draws
only what it is given: the measurements come from :mod:`course_lib.experiments.conv`.

>>> fig = plot_filter_masks(torch.randn(4, 2, 3, 3, generator=torch.Generator().manual_seed(0)), 0.5)
>>> [ax.get_ylabel() for ax in fig.axes[:2]]
['filter (output channel)', '']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from course_lib._checks import check_sparsity
from course_lib.experiments.claims import change
from course_lib.experiments.conv import lecture_ratios
from course_lib.pruning.masks import check_weight
from course_lib.viz.figure import finish_axes, new_figure
from course_lib.viz.pruning import plot_fine_vs_structured

__all__ = ["plot_filter_masks", "plot_channel_sweep", "plot_lecture_table"]


def plot_filter_masks(weight: torch.Tensor, sparsity: float, p: int = 1) -> Figure:
    """A conv weight pruned fine-grained vs by whole filters, at the same ``sparsity``.

    The weight ``(out_channels, in_channels, kh, kw)`` is drawn as a matrix: one row per filter
    (output channel), one column per input channel and kernel position. Left: the smallest
    single weights (:func:`course_lib.magnitude_mask`); right: whole filters with the smallest
    L``p`` norm (:func:`course_lib.pruning.channels.filter_norm_mask`, Li et al. 2017), the
    conv analogue of notebook 02's rows.

    Args:
        weight: a conv weight, a finite float tensor ``(out_channels, in_channels, kh, kw)``.
        sparsity: the fraction pruned, a float in [0, 1] (of weights, and of filters).
        p: the filter norm, 1 or 2.

    Returns:
        A new ``Figure`` with two heatmaps (fine-grained first) and a colorbar.

    Raises:
        ValueError: ``weight`` is not 4-D or not finite, ``sparsity`` outside [0, 1], ``p`` not 1 or 2.
        TypeError: ``weight`` not a float tensor, ``sparsity`` not a number.
    """
    if check_weight(weight).dim() != 4:
        raise ValueError(
            f"weight must be a conv weight (out_channels, in_channels, kh, kw), got shape {tuple(weight.shape)}"
        )
    sparsity = check_sparsity(sparsity)
    fig = plot_fine_vs_structured(weight, sparsity, p=p)
    k = weight.shape[2] * weight.shape[3]
    fig.suptitle(f"A conv layer's {weight.shape[0]} filters at sparsity {sparsity:.2f}")
    axes = [ax for ax in fig.axes if ax.images]
    axes[1].set_title(axes[1].get_title().replace("structured: rows", "filters"))
    for ax in axes:
        ax.set_xlabel(f"input channel x kernel position ({weight.shape[1]} x {k})")
    axes[0].set_ylabel("filter (output channel)")
    return fig


def _nearest(values: Sequence[float], x: float) -> int:
    return int(np.argmin([abs(v - x) for v in values]))


#: The panels of :func:`plot_channel_sweep`: (attribute of the sweep, y label).
SWEEP_PANELS = (
    ("macs_ratio", "MACs (x dense)"),
    ("size_kib", "size (KiB, float32)"),
    ("ms_per_64", "ms per 64 pictures"),
    ("acc", "test accuracy (%), no fine-tuning"),
)


def plot_channel_sweep(sweep: Any, rate: float) -> Figure:
    """What removing channels buys and costs, against the channel pruning rate; ``rate`` marked.

    Args:
        sweep: a :class:`course_lib.experiments.conv.ChannelSweep` (``rates`` and, per rate,
            ``macs_ratio``, ``size_kib``, ``ms_per_64``, ``acc``; ``dense_acc``).
        rate: the fraction of channels removed to highlight, in [0, 1] (the nearest
            measured rate is marked and its numbers written in the title; its size and time
            are compared with rate 0, the dense model, when the sweep measured it: the time
            in the words of :func:`course_lib.experiments.claims.change`, "smaller" or
            "larger" as measured).

    Returns:
        A new ``Figure`` with four panels; the title's second line states the time.

    Raises:
        ValueError: ``rate`` outside [0, 1].

    >>> from types import SimpleNamespace as S
    >>> sw = S(rates=[0.0, 0.5], macs_ratio=[1.0, 0.26], size_kib=[600.0, 160.0], ms_per_64=[9.0, 3.1],
    ...        acc=[97.0, 60.0], dense_acc=97.0)
    >>> fig = plot_channel_sweep(sw, 0.45)
    >>> fig.axes[0].lines[1].get_xdata().tolist()
    [50.0]
    """
    rate = check_sparsity(rate, "rate")
    i = _nearest(sweep.rates, rate)
    x = [100 * r for r in sweep.rates]
    fig = new_figure((11, 6.5))
    axes = fig.subplots(2, 2, sharex=True).ravel()
    for ax, (attr, label) in zip(axes, SWEEP_PANELS, strict=True):
        ys = list(getattr(sweep, attr))
        ax.plot(x, ys, "o-", color="tab:blue")
        ax.plot([x[i]], [ys[i]], "o", color="tab:red", markersize=11, label=f"{ys[i]:.3g} at {x[i]:.0f}%")
        finish_axes(ax, "channels removed in every layer (%)", label, sweep.dense_acc if attr == "acc" else None)
    parts = [f"{x[i]:.0f}% of channels removed: {sweep.macs_ratio[i]:.2f}x the MACs"]
    timing = ""
    if 0.0 in sweep.rates:  # the dense model: the reference of size and time
        d = list(sweep.rates).index(0.0)
        parts.append(f"{sweep.size_kib[i] / sweep.size_kib[d]:.2f}x the size")
        timing = "\n" + change(sweep.ms_per_64[d], sweep.ms_per_64[i], "ms per 64 pictures", "time", 2).text
    fig.suptitle(", ".join([*parts, f"{sweep.acc[i]:.1f}% accuracy"]) + timing)
    return fig


def _bar_name(family: str, lecture: str) -> str:
    """What was measured, then the lecture's row it stands for (once when they are the same)."""
    measured = family.replace(" (", "\n(")
    return measured if family == lecture else f"{measured}\nlecture: {lecture}"


def plot_lecture_table(rows: Sequence[Any]) -> Figure:
    """The lecture's after / before ratios (CIFAR-10) beside the ones measured here, per family.

    Args:
        rows: :class:`course_lib.experiments.conv.FamilyRow` s (``family``: what was measured,
            e.g. ``"VGG-11 (1/8 width)"``; ``lecture``: the lecture's row it stands for;
            ``size_kib`` and ``ms_per_64``: ``(before, after)`` measured here).

    Returns:
        A new ``Figure``: left, size after / before; right, time per 64 pictures after / before;
        grey bars the lecture's, blue bars this machine's (labelled with their value), from 0;
        each pair of bars named by what was measured and the lecture's row
        (``"VGG-11\\n(1/8 width)\\nlecture: VGG19"``); the legend below the axes, where it
        covers no bar.

    Raises:
        ValueError: a row whose ``lecture`` is not in the lecture's table.

    >>> from types import SimpleNamespace as S
    >>> row = S(family="VGG-11 (1/8 width)", lecture="VGG19", size_kib=(600.0, 150.0), ms_per_64=(10.0, 4.0))
    >>> fig = plot_lecture_table([row])
    >>> [round(float(b.get_height()), 2) for b in fig.axes[1].patches]
    [0.33, 0.4]
    >>> fig.axes[1].get_xticklabels()[0].get_text()
    'VGG-11\\n(1/8 width)\\nlecture: VGG19'
    """
    lecture = [lecture_ratios(r.lecture) for r in rows]
    names = [_bar_name(r.family, r.lecture) for r in rows]
    here = [(r.size_kib[1] / r.size_kib[0], r.ms_per_64[1] / r.ms_per_64[0]) for r in rows]
    fig = new_figure((13, 4.4))
    x = np.arange(len(rows))
    for k, (ax, what) in enumerate(zip(fig.subplots(1, 2), ("model size", "time per 64 pictures"), strict=True)):
        ax.bar(x - 0.2, [v[k] for v in lecture], 0.4, color="tab:gray", label="lecture (CIFAR-10)")
        bars = ax.bar(x + 0.2, [v[k] for v in here], 0.4, color="tab:blue", label="measured here")
        ax.bar_label(bars, fmt="%.2f", fontsize="small")
        ax.set_xticks(x, names, fontsize=8)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylabel(f"{what}: after / before")
        ax.set_title(f"{what} after removing half the channels")
        tallest = max([1.0, *(v[k] for v in lecture), *(v[k] for v in here)])
        ax.set_ylim(0.0, 1.15 * tallest)  # bars from zero, room for the labels above them
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize="small")  # covers no bar
    return fig
