"""Plots for Part I: which weights a pruning criterion removes, and what it costs.

Every function returns a new matplotlib ``Figure``, made by :func:`new_figure`: it
is created through ``pyplot`` (which loads the notebook's inline backend, so the
figure displays as a cell's last expression) and closed in ``pyplot`` at once (so
it is shown once, not twice, and figures do not pile up in ``pyplot``). The
functions that take a ``sparsity`` (or ``n``, ``m``) compute their mask
themselves, so a slider can drive them::

    SliderFigure(functools.partial(plot_magnitude_mask, weight), sparsity=sparsity_slider())

In heatmaps a cell is a weight (row = output neuron, column = input), coloured by
its value; pruned cells are dark grey.

>>> fig = plot_magnitude_mask(torch.tensor([[10., -8., 0.1]]), 1/3)
>>> fig.axes[0].images[0].get_array().mask.tolist()
[[False, False, True]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Patch

from course_lib._checks import check_float, check_sparsity
from course_lib.pruning.error import Activation, output_error, scaled_removal_errors
from course_lib.pruning.magnitude import global_magnitude_masks, magnitude_mask
from course_lib.pruning.masks import check_mask, check_weight
from course_lib.pruning.nm import nm_mask
from course_lib.pruning.structured import row_norm_mask
from course_lib.viz.figure import new_figure

__all__ = [
    "PRUNED_COLOR",
    "new_figure",
    "plot_removal_errors",
    "plot_input_scale",
    "plot_mask",
    "plot_magnitude_mask",
    "plot_fine_vs_structured",
    "plot_error_curves",
    "plot_layerwise_vs_global",
    "plot_nm_mask",
    "plot_nm_vs_unstructured",
]

PRUNED_COLOR = "0.25"  # dark grey: a pruned cell
KEPT_COLOR = "tab:blue"
_CMAP = matplotlib.colormaps["RdBu_r"].with_extremes(bad=PRUNED_COLOR)
_ANNOTATE_MAX = 64  # write the value into each cell of matrices up to this many entries


# --------------------------------------------------------------------------- helpers
def _rows(t: torch.Tensor) -> np.ndarray:
    """A tensor as a 2-D numpy array: a 1-D weight is one row (one neuron)."""
    t = t.detach().cpu()
    t = t.reshape(1, -1) if t.dim() == 1 else t.reshape(t.shape[0], -1)
    return t.numpy() if t.dtype == torch.bool else t.float().numpy()


def _pruned_legend(fig: Figure, extra: Sequence[Artist] = ()) -> None:
    """A legend below the axes (outside them, so it covers nothing): dark grey = pruned, then ``extra``."""
    handles = [Patch(facecolor=PRUNED_COLOR, label="pruned weight (mask False)"), *extra]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)


def _outside_legend(fig: Figure, ax: Axes, ncol: int = 2) -> None:
    """The legend of ``ax``'s lines, bars and points below the figure's axes, where it covers no data."""
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=ncol, fontsize=8, frameon=False)


def _removal_bars(ax: Axes, errors: Sequence[float], labels: Sequence[str]) -> int:
    """Bars from zero of the error of removing each weight; the smallest in green. Returns its index."""
    best = int(np.argmin(errors))
    colours = ["tab:green" if i == best else "tab:gray" for i in range(len(errors))]
    bars = ax.bar(range(len(errors)), errors, color=colours)
    ax.bar_label(bars, fmt="%.3f")
    ax.set_xticks(range(len(errors)), [f"remove\n{lab}" for lab in labels])
    ax.set_ylabel("relative output error")
    ax.set_ylim(0, max(max(errors), 1e-12) * 1.18)  # from zero, with room for the bar labels
    return best


def _heatmap(ax: Axes, weight: torch.Tensor, mask: torch.Tensor, title: str) -> AxesImage:
    """Draw ``weight`` with pruned cells in dark grey on ``ax``; return the image."""
    w, keep = _rows(weight), _rows(mask)
    vmax = float(np.abs(w).max()) or 1.0
    im = ax.imshow(np.ma.masked_array(w, mask=~keep), cmap=_CMAP, vmin=-vmax, vmax=vmax, interpolation="nearest")
    if w.size <= _ANNOTATE_MAX:
        for (i, j), value in np.ndenumerate(w):
            colour = "white" if (not keep[i, j] or abs(value) > 0.6 * vmax) else "black"
            ax.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_title(title)
    ax.set_xlabel("input (column)")
    ax.set_ylabel("output neuron (row)")
    return im


# --------------------------------------------------------------------------- 01: magnitude
def plot_removal_errors(weight: torch.Tensor, errors: torch.Tensor, labels: Sequence[str] | None = None) -> Figure:
    """Bar chart of the output error of removing each single weight; the smallest is highlighted.

    x axis: one bar per weight ("remove w0 = 10", ...); y axis, from zero: the relative output
    error (e.g. from :func:`course_lib.pruning.error.removal_errors`), written on each bar.

    Args:
        weight: the weights, a finite float tensor of any shape (flattened, one bar each).
        errors: one error per weight, a tensor of ``weight``'s shape.
        labels: one label per weight; by default ``"w{i} = {value}"``.

    Returns:
        A new ``Figure`` with one axes.

    Raises:
        TypeError: ``weight`` is not a float tensor.
        ValueError: ``errors`` has another shape, or ``labels`` another length.

    >>> fig = plot_removal_errors(torch.tensor([10., -8., 0.1]), torch.tensor([0.8, 0.6, 0.01]))
    >>> [round(float(p.get_height()), 2) for p in fig.axes[0].patches]
    [0.8, 0.6, 0.01]
    """
    check_weight(weight)
    if not isinstance(errors, torch.Tensor) or errors.shape != weight.shape:
        raise ValueError(f"errors must be a tensor of weight's shape {tuple(weight.shape)}")
    w = weight.detach().reshape(-1).tolist()
    e = errors.detach().reshape(-1).double().tolist()
    if labels is None:
        labels = [f"w{i} = {v:.3g}" for i, v in enumerate(w)]
    if len(labels) != len(w):
        raise ValueError(f"labels must have one entry per weight ({len(w)}), got {len(labels)}")
    fig = new_figure((max(4.0, 1.2 * len(w)), 3.5))
    ax = fig.add_subplot()
    best = _removal_bars(ax, e, labels)
    ax.set_title(f"Error of removing one weight\n(smallest: removing {labels[best]})")
    return fig


def plot_input_scale(
    weight: torch.Tensor,
    inputs: torch.Tensor,
    scale: float,
    index: int = 2,
    bias: torch.Tensor | None = None,
    activation: Activation | None = None,
    scales: Sequence[float] | None = None,
) -> Figure:
    """Which single weight is cheapest to remove when input ``index`` is ``scale`` times larger.

    The magnitude heuristic (Han et al. 2015) assumes inputs of similar scale; this figure
    shows where its ranking breaks (the slides' neuron in notebook 01). Left: bars from zero
    of the relative output error of removing each weight, with input ``index`` times
    ``scale`` (x: the weight removed, y: relative output error). Right: the same errors
    against the scale (x: scale of the input, log axis; y: relative output error), one line
    per weight and a dashed line at ``scale``. Errors from
    :func:`course_lib.pruning.error.scaled_removal_errors`.

    Args:
        weight: a finite float tensor ``(in_features,)`` (one neuron) or ``(out, in_features)``.
        inputs: a float tensor ``(batch, in_features)``.
        scale: the factor of input ``index``, a finite float > 0 (a slider moves it).
        index: the input scaled, an int in ``[0, in_features)``.
        bias, activation: the layer's bias and activation (e.g. ``torch.relu``).
        scales: the scales of the right panel, finite floats > 0; by default 49 points
            from 1 to 1000, evenly spaced on the log axis.

    Returns:
        A new ``Figure`` with two axes (bars first); the suptitle says whether the weight
        with the smallest |w| is the cheapest to remove at ``scale``.

    Raises:
        TypeError: ``weight`` or ``inputs`` is not a float tensor, or ``scale`` not a number.
        ValueError: ``scale`` or a value of ``scales`` is not finite and > 0, ``index`` is out
            of range, or the shapes do not match.

    >>> x = torch.randn(500, 3, generator=torch.Generator().manual_seed(0))
    >>> fig = plot_input_scale(torch.tensor([10., -8., 0.1]), x, 1000.0, activation=torch.relu)
    >>> int(np.argmax([p.get_height() for p in fig.axes[0].patches]))  # removing 0.1 now costs most
    2
    """
    check_weight(weight)
    scale = check_float(scale, "scale", strict=True)
    grid = sorted({*(np.logspace(0, 3, 49).tolist() if scales is None else list(scales)), scale})
    curves = scaled_removal_errors(weight, inputs, index, grid, bias, activation)
    errors = curves[grid.index(scale)].tolist()
    w = weight.detach().reshape(-1).tolist()
    labels = [f"w{i} = {v:.3g}" for i, v in enumerate(w)]
    fig = new_figure((11, 4))
    ax_bars, ax_scale = fig.subplots(1, 2)
    best = _removal_bars(ax_bars, errors, labels)
    ax_bars.set_title(f"input x{index} × {scale:g}: cheapest to remove {labels[best]}")
    for i, label in enumerate(labels):
        ax_scale.plot(grid, curves[:, i].numpy(), label=f"remove {label}")
    ax_scale.axvline(scale, color="gray", linestyle="--", linewidth=1, label=f"scale {scale:g}")
    ax_scale.set_xscale("log")
    ax_scale.set_ylim(bottom=0)
    ax_scale.set_xlabel(f"scale of input x{index} (log axis)")
    ax_scale.set_ylabel("relative output error")
    ax_scale.set_title("error of removing each weight vs the scale")
    ax_scale.grid(alpha=0.3)
    _outside_legend(fig, ax_scale, ncol=len(labels) + 1)
    holds = best == int(np.argmin(np.abs(w)))
    fig.suptitle(
        f"Magnitude ranking {'holds' if holds else 'fails'}: the smallest |w| is "
        f"{'' if holds else 'not '}the cheapest weight to remove"
    )
    return fig


def plot_mask(weight: torch.Tensor, mask: torch.Tensor, title: str = "pruning mask") -> Figure:
    """Heatmap of ``weight`` with the cells ``mask`` prunes in dark grey, and a colorbar.

    x axis: input (column); y axis: output neuron (row); colour: the weight's value
    (blue negative, red positive); matrices up to 64 entries have each value written in.

    Args:
        weight: a finite float tensor; 2-D as ``(out_features, in_features)``, 1-D as one row.
        mask: a bool mask of ``weight``'s shape, ``True`` = keep.
        title: the axes title.

    Returns:
        A new ``Figure`` with the heatmap and its colorbar.

    Raises:
        TypeError: ``weight`` is not a float tensor or ``mask`` not a bool tensor.
        ValueError: ``mask`` has another shape.

    >>> fig = plot_mask(torch.tensor([[1., -2.], [3., 0.5]]), torch.tensor([[True, False], [True, True]]))
    >>> fig.axes[0].images[0].get_array().mask.tolist()
    [[False, True], [False, False]]
    """
    check_weight(weight)
    check_mask(mask, weight.shape)
    fig = new_figure((6, 4))
    ax = fig.add_subplot()
    im = _heatmap(ax, weight, mask, title)
    fig.colorbar(im, ax=ax, label="weight value", shrink=0.8)
    _pruned_legend(fig)
    return fig


def plot_magnitude_mask(weight: torch.Tensor, sparsity: float) -> Figure:
    """Magnitude pruning (:func:`course_lib.magnitude_mask`) of ``weight`` at ``sparsity``.

    Left: the heatmap of :func:`plot_mask` (x: input, y: output neuron, pruned cells dark
    grey). Right: a stacked histogram of |w| (x: |w|, y: number of weights), kept vs
    pruned, with a dashed line at the threshold the sparsity implies.

    Args:
        weight: a finite float tensor; 2-D as ``(out_features, in_features)``, 1-D as one row.
        sparsity: the fraction of entries pruned, a float in [0, 1].

    Returns:
        A new ``Figure`` with two axes (heatmap first) and a colorbar.

    Raises:
        TypeError: ``weight`` is not a float tensor, or ``sparsity`` is not a number.
        ValueError: ``sparsity`` is outside [0, 1].

    >>> fig = plot_magnitude_mask(torch.tensor([[10., -8., 0.1, 5.]]), 0.5)
    >>> int(fig.axes[0].images[0].get_array().mask.sum())
    2
    """
    check_weight(weight)
    sparsity = check_sparsity(sparsity)
    mask = magnitude_mask(weight, sparsity)
    pruned = int((~mask).sum())
    fig = new_figure((10, 4))
    fig.suptitle(
        f"Magnitude pruning at sparsity {sparsity:.2f}: the {pruned} of {weight.numel()} weights "
        "with the smallest |w| are pruned"
    )
    ax_map, ax_hist = fig.subplots(1, 2, width_ratios=[3, 2])
    im = _heatmap(ax_map, weight, mask, "which weights are pruned")
    fig.colorbar(im, ax=ax_map, label="weight value", shrink=0.8)
    a = weight.detach().abs().reshape(-1).double().numpy()
    keep = mask.reshape(-1).numpy()
    top = a.max() if a.max() > 0 else 1.0
    if 0 < pruned < a.size:  # a bin edge halfway between the largest pruned and smallest kept |w|
        cut = (a[~keep].max() + a[keep].min()) / 2
        n_low = max(1, round(24 * cut / top))
        bins = np.concatenate([np.linspace(0.0, cut, n_low + 1), np.linspace(cut, top, max(1, 24 - n_low) + 1)[1:]])
    else:
        bins = np.linspace(0.0, top, 25)
    ax_hist.hist([a[keep], a[~keep]], bins=bins, stacked=True, color=[KEPT_COLOR, PRUNED_COLOR])
    extra: list[Artist] = [Patch(facecolor=KEPT_COLOR, label="kept weight (histogram)")]
    if 0 < pruned < a.size:
        extra.append(ax_hist.axvline(cut, color="tab:red", linestyle="--", label=f"threshold |w| = {cut:.3g}"))
    ax_hist.set_xlabel("|w|")
    ax_hist.set_ylabel("number of weights")
    ax_hist.set_title("|w| of kept and pruned weights")
    _pruned_legend(fig, extra)
    return fig


def plot_layerwise_vs_global(weights: Mapping[str, torch.Tensor], sparsity: float) -> Figure:
    """Per-layer sparsity of layer-wise vs global magnitude pruning at the same total ``sparsity``.

    Layer-wise prunes every layer to ``sparsity``; global uses one |w| threshold for all
    layers (:func:`course_lib.global_magnitude_masks`), so it takes more from layers whose
    weights are small. x axis: one pair of bars per layer (name and shape); y axis, from zero:
    the fraction of that layer pruned; a dotted line marks ``sparsity``. The legend sits below
    the axes, so no bar hides under it.

    Args:
        weights: a non-empty dict {name: finite float tensor}, e.g. a model's prunable weights.
        sparsity: the total fraction pruned, a float in [0, 1].

    Returns:
        A new ``Figure`` with one axes: layer-wise bars first, then global bars.

    Raises:
        TypeError: ``weights`` is not a non-empty dict, or ``sparsity`` is not a number.
        ValueError: ``sparsity`` is outside [0, 1], or a weight is not valid.

    >>> fig = plot_layerwise_vs_global({"a": torch.tensor([1., 2.]), "b": torch.tensor([5., 6.])}, 0.5)
    >>> [round(float(p.get_height()), 2) for p in fig.axes[0].patches]
    [0.5, 0.5, 1.0, 0.0]
    """
    if not isinstance(weights, Mapping) or not weights:
        raise TypeError("weights must be a non-empty dict {name: floating-point tensor}")
    sparsity = check_sparsity(sparsity)
    layerwise = {n: magnitude_mask(w, sparsity) for n, w in weights.items()}
    global_ = global_magnitude_masks(weights, sparsity)
    names = list(weights)
    x = np.arange(len(names))
    fig = new_figure((max(5.0, 1.8 * len(names)), 3.8))
    ax = fig.add_subplot()
    for shift, (label, masks) in zip((-0.2, 0.2), (("layer-wise", layerwise), ("global", global_)), strict=False):
        values = [float((~masks[n]).sum()) / masks[n].numel() for n in names]
        bars = ax.bar(x + shift, values, width=0.4, label=label)
        ax.bar_label(bars, fmt="%.2f")
    ax.axhline(sparsity, color="black", linestyle=":", linewidth=1, label=f"overall sparsity {sparsity:.2f}")
    ax.set_xticks(x, [f"{n}\n{tuple(weights[n].shape)}" for n in names])
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("sparsity of the layer")
    ax.set_title("Layer-wise vs global magnitude pruning\n(same total number of weights pruned)")
    _outside_legend(fig, ax, ncol=3)
    return fig


# --------------------------------------------------------------------------- 02: fine vs structured
def plot_fine_vs_structured(
    weight: torch.Tensor,
    sparsity: float,
    p: int = 2,
    inputs: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    activation: Activation | None = None,
) -> Figure:
    """Fine-grained vs structured pruning of one layer at the same ``sparsity``, side by side.

    Left: magnitude pruning (single cells, :func:`course_lib.magnitude_mask`); right: whole
    rows by their L``p`` norm (:func:`course_lib.row_norm_mask`). Each is a heatmap (x: input,
    y: output neuron, pruned cells dark grey) titled with its sparsity and, given ``inputs``,
    the layer's relative output error (:func:`course_lib.pruning.error.output_error`).

    Args:
        weight: a finite float tensor ``(out_features, in_features)``.
        sparsity: the fraction pruned, a float in [0, 1] (of entries, and of rows).
        p: the row norm, 1 or 2.
        inputs: ``None``, or a float tensor ``(batch, in_features)`` to measure output errors on.
        bias, activation: the layer's bias and activation for the output error.

    Returns:
        A new ``Figure`` with two heatmaps (fine-grained first) and a shared colorbar.

    Raises:
        TypeError: ``weight`` is not a float tensor, or ``sparsity`` is not a number.
        ValueError: ``weight`` is not 2-D, ``sparsity`` is outside [0, 1], ``p`` is not 1 or
            2, or ``inputs``/``bias`` do not match ``weight``.

    >>> fig = plot_fine_vs_structured(torch.tensor([[1., -2.], [3., 0.5]]), 0.5)
    >>> [im.get_array().mask.tolist() for ax in fig.axes for im in ax.images]
    [[[True, False], [False, True]], [[True, True], [False, False]]]
    """
    check_weight(weight, min_dim=2)
    sparsity = check_sparsity(sparsity)
    masks = {
        "fine-grained: smallest |w|": magnitude_mask(weight, sparsity),
        f"structured: rows with smallest L{p} norm": row_norm_mask(weight, sparsity, p=p),
    }
    fig = new_figure((11, 4.2))
    fig.suptitle(f"Fine-grained vs structured pruning at sparsity {sparsity:.2f}")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (label, mask) in zip(axes, masks.items(), strict=False):
        title = f"{label}\nsparsity {float((~mask).sum()) / mask.numel():.2f}"
        if inputs is not None:
            title += f", output error {output_error(weight, mask, inputs, bias, activation):.3f}"
        im = _heatmap(ax, weight, mask, title)
    axes[1].set_ylabel("")
    fig.colorbar(im, ax=list(axes), label="weight value", shrink=0.8)
    _pruned_legend(fig)
    return fig


def plot_error_curves(
    x: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    sparsity: float | None = None,
    xlabel: str = "sparsity (fraction of weights pruned)",
    ylabel: str = "relative output error",
    title: str = "Output error vs sparsity",
) -> Figure:
    """One line per entry of ``curves`` against ``x`` (the sparsities), with a movable marker.

    x axis: ``x`` (``xlabel``, by default the sparsity); y axis: the curves' values
    (``ylabel``, by default the relative output error). With ``sparsity``, a dashed
    vertical line there and each curve's value at it (linearly interpolated) in the legend,
    which sits below the axes.

    Args:
        x: at least 2 increasing numbers.
        curves: a non-empty dict {label: one value per entry of ``x``}.
        sparsity: ``None``, or where to draw the marker, within ``[x[0], x[-1]]``.
        xlabel, ylabel, title: the axis labels and the title.

    Returns:
        A new ``Figure`` with one axes, one line per curve in the order of ``curves``.

    Raises:
        TypeError: ``curves`` is not a non-empty dict.
        ValueError: ``x`` is not increasing, a curve has another length, or ``sparsity`` lies
            outside the range of ``x``.

    >>> fig = plot_error_curves([0, 0.5, 1], {"fine": [0, 0.2, 1], "rows": [0, 0.5, 1]}, sparsity=0.5)
    >>> [line.get_ydata().tolist() for line in fig.axes[0].lines[:2]]
    [[0.0, 0.2, 1.0], [0.0, 0.5, 1.0]]
    """
    xs = np.asarray(x, dtype=float)
    if xs.ndim != 1 or xs.size < 2 or np.any(np.diff(xs) <= 0):
        raise ValueError("x must be an increasing sequence of at least 2 numbers")
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError("curves must be a non-empty dict {label: values at x}")
    for label, values in curves.items():
        if len(values) != xs.size:
            raise ValueError(f"curves[{label!r}] has {len(values)} values, x has {xs.size}")
    at = None
    if sparsity is not None:
        at = float(sparsity)
        if not xs[0] <= at <= xs[-1]:
            raise ValueError(f"sparsity must lie in the range of x [{xs[0]}, {xs[-1]}], got {sparsity}")
    fig = new_figure((6.5, 4))
    ax = fig.add_subplot()
    for label, values in curves.items():
        ys = np.asarray(values, dtype=float)
        if at is not None:
            label = f"{label} ({np.interp(at, xs, ys):.4g} at {at:.2f})"
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
    if at is not None:
        ax.axvline(at, color="gray", linestyle="--", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _outside_legend(fig, ax, ncol=1 if len(curves) > 2 else len(curves))
    return fig


# --------------------------------------------------------------------------- 03: n:m
def plot_nm_mask(weight: torch.Tensor, n: int, m: int) -> Figure:
    """Heatmap of the n:m mask of ``weight`` (:func:`course_lib.nm_mask`), a white line between groups.

    x axis: input (column), with a white line after every ``m`` consecutive inputs; y axis:
    output neuron (row); pruned cells dark grey. For a slider, an impossible choice
    (``n > m``, or ``m`` not dividing the row length) gives a figure that says why
    instead of raising.

    Args:
        weight: a finite float tensor ``(out_features, in_features)``.
        n: entries kept per group, an int.
        m: the group length, an int.

    Returns:
        A new ``Figure``: the heatmap and a colorbar, or one text-only axes.

    Raises:
        TypeError: ``weight`` is not a float tensor, or ``n``/``m`` is not an int.
        ValueError: ``weight`` is not 2-D.

    >>> fig = plot_nm_mask(torch.tensor([[1., -5., 3., 0.5]]), 2, 4)
    >>> fig.axes[0].images[0].get_array().mask.tolist()
    [[True, False, False, True]]
    >>> fig = plot_nm_mask(torch.tensor([[1., -5., 3., 0.5]]), 3, 2)
    >>> fig.axes[0].texts[0].get_text()
    'n:m = 3:2 is not possible:\\nn must be in [1, m] = [1, 2], got n=3'
    """
    check_weight(weight, min_dim=2)
    try:
        mask = nm_mask(weight, n, m)
    except ValueError as err:
        fig = new_figure((6, 2.5))
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, f"n:m = {n}:{m} is not possible:\n{err}", ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return fig
    fig = new_figure((max(6.0, 0.4 * weight.shape[-1] + 2), max(3.0, 0.4 * weight.shape[0] + 1.5)))
    ax = fig.add_subplot()
    im = _heatmap(
        ax,
        weight,
        mask,
        f"{n}:{m} sparsity: in each group of {m} consecutive inputs\n"
        f"of a row the {n} largest |w| are kept (density n/m = {n / m:.2f})",
    )
    for boundary in range(m, weight.shape[-1], m):
        ax.axvline(boundary - 0.5, color="white", linewidth=2)
    fig.colorbar(im, ax=ax, label="weight value", shrink=0.8)
    _pruned_legend(fig)
    return fig


#: Markers and colours of the n:m patterns in :func:`plot_nm_vs_unstructured` (blue is the line's).
_NM_MARKERS = ("o", "^", "s", "D", "v", "P", "X", "*", "h", "<", ">", "p")
_NM_COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan",
               "tab:gray", "black")  # fmt: skip


def plot_nm_vs_unstructured(
    sparsities: Sequence[float],
    unstructured: Sequence[float],
    nm_points: Mapping[str, tuple[float, float]],
    ylabel: str = "relative output error",
) -> Figure:
    """Error vs sparsity: a line for unstructured magnitude pruning and one point per n:m pattern.

    x axis: the sparsity (fraction of weights pruned, ``1 - n/m`` for a pattern), as on every
    sparsity axis of the course; y axis: ``ylabel`` (by default the relative output error).
    n:m sparsity as in Mishra et al. 2021. Each pattern has its own marker and colour, named in
    the legend below the axes (no text on the axes: patterns of one sparsity sit close together,
    on or near the line).

    Args:
        sparsities: at least 2 sparsities of the unstructured line, each in [0, 1].
        unstructured: the error of unstructured pruning at each sparsity.
        nm_points: a non-empty dict {"n:m": (sparsity, error)}.
        ylabel: the y axis label.

    Returns:
        A new ``Figure`` with one axes: the line, then one scatter collection per pattern, in the
        order of ``nm_points``, labelled with its key.

    Raises:
        TypeError: ``nm_points`` is not a non-empty dict.
        ValueError: ``sparsities`` and ``unstructured`` differ in length or have fewer than 2
            values, or a sparsity lies outside [0, 1].

    >>> fig = plot_nm_vs_unstructured([0.0, 0.5, 0.75], [0.0, 0.2, 0.5], {"2:4": (0.5, 0.4)})
    >>> fig.axes[0].collections[0].get_offsets().tolist(), fig.axes[0].get_xlabel()
    ([[0.5, 0.4]], 'sparsity (fraction of weights pruned)')
    """
    xs = np.asarray(sparsities, dtype=float)
    if xs.ndim != 1 or xs.size < 2 or len(unstructured) != xs.size:
        raise ValueError("sparsities and unstructured must be sequences of the same length (at least 2)")
    if not isinstance(nm_points, Mapping) or not nm_points:
        raise TypeError('nm_points must be a non-empty dict {"n:m": (sparsity, error)}')
    points = np.array([tuple(map(float, v)) for v in nm_points.values()])
    if np.any(xs < 0) or np.any(xs > 1) or np.any(points[:, 0] < 0) or np.any(points[:, 0] > 1):
        raise ValueError("sparsities (of the line and of nm_points) must lie in [0, 1]")
    fig = new_figure((6.5, 4.6))
    ax = fig.add_subplot()
    ax.plot(xs, np.asarray(unstructured, dtype=float), marker="o", markersize=3, label="unstructured magnitude")
    # one marker and colour per pattern, named in the legend below the axes: several patterns share a
    # sparsity (1:2, 2:4, 4:8, 8:16), and labels written beside the points ran into the line and each other
    for k, (label, (x, e)) in enumerate(zip(nm_points, points, strict=True)):
        marker, colour = _NM_MARKERS[k % len(_NM_MARKERS)], _NM_COLOURS[k % len(_NM_COLOURS)]
        ax.scatter(
            [x], [e], s=42, marker=marker, color=colour, zorder=3, edgecolors="black", linewidths=0.5, label=label
        )
    low, high = min(xs.min(), points[:, 0].min()), max(xs.max(), points[:, 0].max())
    ax.set_xlim(low - 0.03, high + 0.03)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("sparsity (fraction of weights pruned)")
    ax.set_ylabel(ylabel)
    ax.set_title("n:m patterns vs unstructured pruning at the same sparsity")
    ax.grid(alpha=0.3)
    _outside_legend(fig, ax, ncol=5)
    return fig
