"""Plots of what pruning saves: size, work, latency and energy (each returns a new ``Figure``).

Figures are made by :func:`course_lib.viz.figure.new_figure`, so a notebook shows each
once, as a cell's last expression. Functions that take a ``sparsity`` compute what
they show from it, so a slider can drive them::

    SliderFigure(functools.partial(plot_pruning_costs, model), sparsity=sparsity_slider())

Timings of a sweep are measured once, outside: :func:`plot_latency_vs_sparsity` takes the
measured numbers and a ``sparsity`` only moves its marker (re-timing a whole sweep on every
slider move would be slow); :func:`plot_speed_at_batch_size` times one sparsity, quickly,
at the batch size a slider gives. A sparsity is always the fraction of the *weights* removed
(:mod:`course_lib.measure.costs`), for every variant, neurons removed included. The energy
numbers are Horowitz's 45 nm table (ISSCC 2014, :mod:`course_lib.measure.energy`).

>>> fig = plot_energy_table()
>>> [float(b.get_width()) for b in fig.axes[0].patches][:2]
[0.1, 0.9]
"""

from __future__ import annotations

import numbers
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.measure.costs import neuron_fraction, pruning_costs
from course_lib.measure.energy import HOROWITZ_45NM, EnergyBreakdown, energy_table
from course_lib.measure.size import csr_bytes, model_bytes
from course_lib.measure.timing import Speedup, noise_note, speed_sweep
from course_lib.pruning.masks import n_to_prune, prunable_weights
from course_lib.viz.figure import new_figure

__all__ = [
    "VARIANT_COLORS",
    "plot_energy_table",
    "plot_energy_breakdown",
    "plot_pruning_costs",
    "plot_pruned_energy",
    "plot_latency_vs_sparsity",
    "plot_speed_at_batch_size",
    "size_curves",
    "plot_size_vs_sparsity",
]

VARIANT_COLORS = {"dense": "0.45", "masked": "tab:orange", "csr": "tab:blue", "neurons removed": "tab:green"}
PART_COLORS = {"compute": "tab:purple", "SRAM reads": "tab:cyan", "DRAM reads": "tab:red"}


def plot_energy_table(table: Mapping[str, float] = HOROWITZ_45NM) -> Figure:
    """The slide's energy table (Horowitz, ISSCC 2014, 45 nm) as horizontal bars on a log scale.

    y axis: one bar per operation, cheapest at the bottom (memory reads coloured apart
    from arithmetic); x axis: picojoules per 32-bit operation, log scale.

    Args:
        table: {operation: picojoules}; by default :data:`course_lib.measure.energy.HOROWITZ_45NM`.

    Returns:
        A new ``Figure`` with one axes.

    Raises:
        ValueError: ``table`` is empty.
        ZeroDivisionError: an energy is 0 (the table is not checked: give positive pJ).

    >>> fig = plot_energy_table({"add": 1.0, "DRAM read": 640.0})
    >>> [float(b.get_width()) for b in fig.axes[0].patches]
    [1.0, 640.0]
    """
    rows = energy_table() if table is HOROWITZ_45NM else sorted(table.items(), key=lambda kv: kv[1])
    labels, values = [r[0] for r in rows], [r[1] for r in rows]
    fig = new_figure((8, 3.4))
    ax = fig.subplots()
    colors = [
        "tab:red"
        if "DRAM" in lab
        else "tab:cyan"
        if "SRAM" in lab
        else "tab:olive"
        if "Register" in lab
        else "tab:purple"
        for lab in labels
    ]  # memory reads vs arithmetic
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(values)), labels)
    ax.set_xscale("log")
    ax.set_xlim(0.05, 5000)
    for i, v in enumerate(values):
        ax.text(v * 1.15, i, f"{v:g} pJ", va="center", fontsize=9)
    cheapest = min(values)
    ax.set_xlabel(f"pJ per 32-bit operation (log scale); the dearest costs {max(values) / cheapest:,.0f}x the cheapest")
    ax.set_title("Energy per operation, 45 nm, 0.9 V (Horowitz, ISSCC 2014)")
    return fig


def _headroom(ax, top: float, factor: float = 1.18) -> None:
    """Bars from zero, with room above the tallest for the text written on it (inside the frame)."""
    ax.set_ylim(0, top * factor if top > 0 else 1)


def _parts(e: EnergyBreakdown) -> dict[str, float]:
    """The picojoules of ``e`` by part, in the order of ``PART_COLORS``."""
    return {"compute": e.compute_pj, "SRAM reads": e.sram_pj, "DRAM reads": e.dram_pj}


def plot_energy_breakdown(breakdowns: Mapping[str, EnergyBreakdown], title: str = "") -> Figure:
    """Where the energy of one inference goes: stacked bars (compute, SRAM, DRAM) per variant.

    x axis: one bar per entry of ``breakdowns``. Left axes: microjoules per inference,
    with the total written on top; right axes: the same as shares of each bar (percent).
    The bars' segments, bottom to top, are compute, SRAM reads, DRAM reads.

    Args:
        breakdowns: a non-empty dict {label: :class:`~course_lib.measure.energy.EnergyBreakdown`}.
        title: the figure's title; a default one if empty.

    Returns:
        A new ``Figure`` with two axes (absolute, then shares).

    Raises:
        TypeError: ``breakdowns`` is not a non-empty dict of ``EnergyBreakdown``.

    >>> fig = plot_energy_breakdown({"a": EnergyBreakdown(1e6, 1e6, 0, 8e6)})
    >>> [round(float(b.get_height()), 1) for b in fig.axes[1].patches]  # shares: compute, SRAM, DRAM
    [20.0, 0.0, 80.0]
    """
    if not isinstance(breakdowns, Mapping) or not breakdowns:
        raise TypeError("breakdowns must be a non-empty dict {label: EnergyBreakdown}")
    for k, e in breakdowns.items():
        if not isinstance(e, EnergyBreakdown):
            raise TypeError(f"breakdowns[{k!r}] must be an EnergyBreakdown, got {type(e).__name__}")
    names = list(breakdowns)
    fig = new_figure((11, 3.8))
    ax_abs, ax_rel = fig.subplots(1, 2)
    x = np.arange(len(names))
    bottom_abs, bottom_rel = np.zeros(len(names)), np.zeros(len(names))
    totals = np.array([breakdowns[n].total_pj for n in names], dtype=float)
    for part, color in PART_COLORS.items():
        vals = np.array([_parts(breakdowns[n])[part] for n in names], dtype=float)
        ax_abs.bar(x, vals / 1e6, bottom=bottom_abs, color=color, label=part)
        share = np.divide(100 * vals, totals, out=np.zeros_like(vals), where=totals > 0)
        ax_rel.bar(x, share, bottom=bottom_rel, color=color, label=part)
        bottom_abs += vals / 1e6
        bottom_rel += share
    for i, t in enumerate(totals):
        ax_abs.text(i, t / 1e6, f"{t / 1e6:.3g} µJ", ha="center", va="bottom", fontsize=9)
    _headroom(ax_abs, float(totals.max()) / 1e6, 1.3)
    for ax in (ax_abs, ax_rel):
        ax.set_xticks(x, names, rotation=15)
    ax_abs.set_ylabel("energy per inference / µJ")
    ax_rel.set_ylabel("share of the energy / %")
    ax_rel.set_ylim(0, 100)
    fig.legend(*ax_abs.get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle(title or "Where the energy of one inference goes (Horowitz 45 nm costs)")
    return fig


def plot_pruning_costs(model: nn.Sequential, sparsity: float = 0.9, cache_kib: int = 0, batch_size: int = 1) -> Figure:
    """Size in memory and on disk, MACs and energy of ``model`` pruned to ``sparsity``, per variant.

    The variants are :func:`course_lib.measure.pruned_variants`: dense, masked (zeros
    stored dense), CSR, and that fraction of the hidden neurons removed. x axis of each of
    the four panels: those variants, left to right; y axis: KiB in memory (panel 1), KiB on
    disk (2), MACs per sample (3) and microjoules per inference (4), each bar labelled with
    its percentage of dense; bars from zero. The title gives the sparsity of the weights
    each variant really has (neurons removed: as near as whole neurons go).

    Args:
        model: an MLP, ``nn.Sequential`` of Linear and ReLU layers; not changed.
        sparsity: the fraction of the weights pruned, a float in [0, 1].
        cache_kib: KiB of on-chip SRAM for the energy estimate (0: every read from DRAM).
        batch_size: inputs per batch for the energy estimate (weights are read once a batch).

    Returns:
        A new ``Figure`` with four axes.

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential``, or ``sparsity`` is not a number.
        ValueError: ``sparsity`` is outside [0, 1].

    >>> fig = plot_pruning_costs(nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)), 0.5)
    >>> [ax.get_title() for ax in fig.axes][2], [float(b.get_height()) for b in fig.axes[2].patches]
    ('MACs per sample', [80.0, 80.0, 40.0, 40.0])
    """
    sparsity = check_sparsity(sparsity)
    costs = pruning_costs(model, sparsity, cache_bytes=int(cache_kib) * 1024, batch_size=batch_size)
    names = list(costs)
    panels = [
        ("in memory / KiB", [costs[n]["memory_bytes"] / 1024 for n in names]),
        ("on disk (torch.save) / KiB", [costs[n]["disk_bytes"] / 1024 for n in names]),
        ("MACs per sample", [costs[n]["macs"] for n in names]),
        ("energy per inference / µJ", [costs[n]["energy"].total_pj / 1e6 for n in names]),
    ]
    fig = new_figure((12, 3.6))
    axes = fig.subplots(1, 4)
    for ax, (label, vals) in zip(axes, panels, strict=False):
        ax.bar(range(len(names)), vals, color=[VARIANT_COLORS[n] for n in names])
        ax.set_xticks(range(len(names)), names, rotation=25, fontsize=8)
        ax.set_title(label, fontsize=10)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v / vals[0]:.0%}", ha="center", va="bottom", fontsize=8)
        _headroom(ax, max(vals))
    removed = costs["neurons removed"]["sparsity"]
    fig.suptitle(
        f"Sparsity {sparsity:.2f} of the weights (neurons removed: {removed:.3f}): what each way of storing "
        f"the pruned model costs (percent of dense; SRAM {int(cache_kib)} KiB)",
        fontsize=10,
    )
    return fig


def plot_pruned_energy(model: nn.Sequential, sparsity: float = 0.9, cache_kib: int = 0, batch_size: int = 1) -> Figure:
    """:func:`plot_energy_breakdown` of the four variants of ``model`` pruned to ``sparsity``.

    Args:
        model, sparsity, cache_kib, batch_size: as :func:`plot_pruning_costs`.

    Returns:
        A new ``Figure``: stacked bars per variant (dense, masked, csr, neurons removed).

    Raises:
        TypeError, ValueError: as :func:`plot_pruning_costs`.
    """
    sparsity = check_sparsity(sparsity)
    costs = pruning_costs(model, sparsity, cache_bytes=int(cache_kib) * 1024, batch_size=batch_size)
    return plot_energy_breakdown(
        {n: c["energy"] for n, c in costs.items()},
        title=f"Energy of one inference at sparsity {sparsity:.2f}, "
        f"{int(cache_kib)} KiB of on-chip SRAM, batch {batch_size}",
    )


LINE_STYLES: dict[
    str, dict[str, Any]
] = {  # dense: a broad grey band under the others, so a curve lying on it shows on top
    "dense": {"lw": 4.0, "alpha": 0.5, "zorder": 1},
    "masked": {"ls": "--", "marker": "s", "mfc": "none", "zorder": 3},
    "csr": {"marker": "o", "zorder": 2},
    "neurons removed": {"marker": "^", "zorder": 2},
}


def _per_sparsity(xs: np.ndarray, values: Mapping[str, Sequence[float] | float] | None, name: str) -> dict:
    """{label: array of one value per sparsity}; a single number is repeated (a flat line)."""
    if values is None:
        return {}
    if not isinstance(values, Mapping) or not values:
        raise TypeError(f"{name} must be a non-empty dict {{label: one value per sparsity}}")
    out = {}
    for k, v in values.items():
        ys = np.full(len(xs), float(v)) if isinstance(v, numbers.Real) else np.asarray(v, dtype=float)
        if ys.shape != xs.shape:
            raise ValueError(f"{name}[{k!r}] must have one value per sparsity ({len(xs)}), got {ys.shape}")
        out[k] = ys
    return out


def _lines(ax, xs: np.ndarray, curves: Mapping[str, np.ndarray], removed: Mapping[str, np.ndarray]) -> None:
    """One line per curve, at the sparsity each variant really has where ``removed`` gives it."""
    for k, ys in curves.items():
        style = {"marker": "o", **LINE_STYLES.get(k, {})}
        ax.plot(removed.get(k, xs), ys, label=k, color=VARIANT_COLORS.get(k), **style)
    ax.set_xlabel("sparsity (fraction of the weights removed)")


def plot_latency_vs_sparsity(
    sparsities: Sequence[float],
    latencies_ms: Mapping[str, Sequence[float] | float],
    sparsity: float | None = None,
    break_even: float | None = None,
    title: str = "",
    removed: Mapping[str, Sequence[float]] | None = None,
    accuracy: Mapping[str, Sequence[float] | float] | None = None,
) -> Figure:
    """Measured latency (and, optionally, accuracy) against the sparsity of the weights, one line per variant.

    Left axes: x the fraction of the weights removed, y time per batch in ms (median, log
    scale). Dense is a broad grey band drawn first, masked a dashed line with open squares on
    top of it, so both show where they coincide. With ``accuracy``, a right axes: the same x,
    y test accuracy in percent (0-100). The legend sits outside the axes.

    Args:
        sparsities: the measured sparsities, a non-empty 1-D sequence.
        latencies_ms: {label: one time (ms) per sparsity, or a single number drawn as a
            flat line, e.g. dense, which does not depend on the zeros}.
        sparsity: ``None``, or where to draw a marker line: at the measured sparsity nearest
            to it, the axes' title gives each variant's speedup over ``"dense"`` (the ratio of the
            medians; on a second line, so it stays within the axes' width, clear of the legend).
        break_even: ``None``, or the sparsity from which CSR is faster (a dotted line).
        title: the figure's title, if any.
        removed: ``None``, or {label: the fraction of the weights that variant really removed at
            each sparsity} (:attr:`course_lib.measure.SpeedSweep.removed`): its line is drawn there.
        accuracy: ``None``, or {label: test accuracy in percent per sparsity, or one number}.

    Returns:
        A new ``Figure`` with one axes, or two with ``accuracy``.

    Raises:
        TypeError: ``latencies_ms`` (``removed``, ``accuracy``) is not a non-empty dict, or
            ``sparsity`` is not a number.
        ValueError: ``sparsities`` is empty, a curve has another length, or ``sparsity`` is
            outside [0, 1].

    >>> fig = plot_latency_vs_sparsity([0.5, 0.9], {"dense": 2.0, "csr": [4.0, 1.0]}, sparsity=0.9)
    >>> fig.axes[0].get_title()
    'at sparsity 0.90, speedup over dense (of the medians):\\ncsr 2.00×'
    """
    xs = np.asarray(sparsities, dtype=float)
    if xs.ndim != 1 or len(xs) == 0:
        raise ValueError("sparsities must be a non-empty 1-D sequence")
    curves = _per_sparsity(xs, latencies_ms, "latencies_ms")
    if not curves:
        raise TypeError("latencies_ms must be a non-empty dict {label: times in ms}")
    at = _per_sparsity(xs, removed, "removed")
    acc = _per_sparsity(xs, accuracy, "accuracy")
    fig = new_figure((11, 4) if acc else (8, 4))
    axes = fig.subplots(1, 2 if acc else 1, squeeze=False)[0]
    ax = axes[0]
    _lines(ax, xs, curves, at)
    ax.set_yscale("log")
    ax.set_ylabel("time per batch / ms (median, log scale)")
    if break_even is not None:
        ax.axvline(break_even, color="tab:blue", ls=":", lw=1)
        ax.annotate(f"CSR faster from {break_even:.0%}", (break_even, 1), xycoords=("data", "axes fraction"),
                    xytext=(0, -4), textcoords="offset points", rotation=90, va="top", ha="right",
                    color="tab:blue", fontsize=8)  # fmt: skip
    if sparsity is not None:
        sparsity = check_sparsity(sparsity)
        i = int(np.argmin(np.abs(xs - sparsity)))
        ax.axvline(xs[i], color="k", lw=0.8)
        if "dense" in curves:
            text = ", ".join(f"{k} {curves['dense'][i] / ys[i]:.2f}×" for k, ys in curves.items() if k != "dense")
            ax.set_title(f"at sparsity {xs[i]:.2f}, speedup over dense (of the medians):\n{text}", fontsize=9)
    if acc:
        _lines(axes[1], xs, acc, at)
        axes[1].set_ylim(0, 100)
        axes[1].set_ylabel("test accuracy / % (no fine-tuning)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_speed_at_batch_size(
    model: nn.Sequential, batch_size: int = 64, sparsity: float = 0.9, repeats: int = 9, number: int = 3
) -> Figure:
    """Time per input of ``model`` and its pruned versions at one batch size, measured now, with the spread.

    Times :func:`course_lib.measure.speed_sweep` at the one ``sparsity`` (interleaved, two
    warm-up calls each, ``repeats`` runs of ``number`` calls): a fraction of a second for an MLP
    the size of LeNet-300-100, so a batch-size slider can drive it. x axis: the variants (dense,
    masked, csr, neurons removed); y axis: microseconds per input (median time per batch /
    ``batch_size``, bars from zero), whiskers from the first to the third quartile of the runs.
    Above each pruned bar: its :func:`course_lib.measure.speedup` over dense, paired run by run
    (median, quartiles, and "faster" / "slower" only when three runs in four agree). When a
    timing is noisy (:func:`course_lib.measure.noise_note`), the bars are grey and the title says so.

    Args:
        model: an ``nn.Sequential`` MLP; not changed.
        batch_size: inputs per batch (int >= 1).
        sparsity: the fraction of the weights pruned, a float in [0, 1].
        repeats, number: as in :func:`course_lib.measure.compare_latency` (small: the slider
            should answer quickly; the numbers are noisier than a sweep's, the whiskers show it).

    Returns:
        A new ``Figure`` with one axes.

    Raises:
        TypeError, ValueError: as :func:`course_lib.measure.speed_sweep`.

    >>> from course_lib.training.models import mlp
    >>> fig = plot_speed_at_batch_size(mlp([8, 6, 4]), batch_size=2, repeats=2, number=1)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['dense', 'masked', 'csr', 'neurons removed']
    """
    sweep = speed_sweep(model, [sparsity], batch_size=batch_size, repeats=repeats, warmup=2, number=number)
    names = ["dense", "masked", "csr", "neurons removed"]
    runs = [sweep.stats[n][0] for n in names]
    us = 1e6 / sweep.batch_size  # seconds per batch -> µs per input
    mid = np.array([r.median_s * us for r in runs])
    low, high = np.array([r.q1_s * us for r in runs]), np.array([r.q3_s * us for r in runs])
    noisy = noise_note(runs)
    fig = new_figure((7, 4))
    ax = fig.subplots()
    colors = ["0.8"] * len(names) if noisy else [VARIANT_COLORS[n] for n in names]
    ax.bar(range(len(names)), mid, yerr=[mid - low, high - mid], capsize=4, color=colors, ecolor="0.2")
    ax.set_xticks(range(len(names)), names)
    for i, name in enumerate(names):
        fast = sweep.versus_dense(name, sweep.sparsities[0]) if i else None
        label = "reference" if fast is None else f"{fast.median:.2f}× ({fast.q1:.2f}–{fast.q3:.2f})\n{_verdict(fast)}"
        ax.text(i, high[i], label, ha="center", va="bottom", fontsize=8)
    _headroom(ax, float(high.max()), 1.35)
    ax.set_ylabel("time per input / µs (median; whiskers: quartiles)")
    head = (
        f"batch {sweep.batch_size}, sparsity {sweep.sparsities[0]:.2f} of the weights, measured now: "
        f"speedup over dense on the bars\n(median and quartiles of {len(runs[0].times_s)} paired runs)"
    )
    ax.set_title(head + ("\n" + textwrap.fill(noisy.upper()[:1] + noisy[1:], 95) if noisy else ""), fontsize=9)
    return fig


def _verdict(fast: Speedup) -> str:
    """The word under a bar's speedup: faster, slower or not clear (the quartiles include 1×)."""
    return {1: "faster", -1: "slower"}.get(fast.direction, "not clear")


def size_curves(model: nn.Sequential, sparsities: Sequence[float]) -> dict[str, list[float]]:
    """Bytes in memory of ``model`` at each sparsity: dense, CSR (int32 and int64 indices), neurons removed.

    CSR sizes come from :func:`course_lib.measure.size.csr_bytes` with
    ``round(s * numel)`` zeros per weight (what :func:`course_lib.magnitude_mask`
    prunes); "neurons removed" removes the fraction of each hidden layer's neurons that
    removes about ``s`` of the weights (:func:`course_lib.measure.costs.neuron_fraction`;
    what :func:`course_lib.shrink_mlp` leaves), computed without building the models.

    Args:
        model: an MLP whose only weights are its ``nn.Linear`` layers; not changed.
        sparsities: fractions pruned, each a float in [0, 1].

    Returns:
        {"dense", "csr int32", "csr int64", "neurons removed": bytes at each sparsity}.

    Raises:
        TypeError: ``model`` has weights other than its Linear layers, or a sparsity is not
            a number.
        ValueError: a sparsity is outside [0, 1].

    >>> c = size_curves(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)), [0.0, 0.5])
    >>> c["dense"], c["csr int32"]
    ([120, 120], [248, 152])
    """
    weights = prunable_weights(model)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    if len(linears) != len(weights):
        raise TypeError("model must be an MLP whose only weights are its nn.Linear layers")
    other = model_bytes(model) - sum(w.numel() * w.element_size() for w in weights.values())
    item = next(iter(weights.values())).element_size()
    out: dict[str, list[float]] = {"dense": [], "csr int32": [], "csr int64": [], "neurons removed": []}
    for s in sparsities:
        s = check_sparsity(s, name="sparsities")
        kept = {k: w.numel() - int(round(s * w.numel())) for k, w in weights.items()}
        out["dense"].append(model_bytes(model))
        for key, ib in (("csr int32", 4), ("csr int64", 8)):
            out[key].append(other + sum(csr_bytes(w.shape[0], kept[k], 4, ib) for k, w in weights.items()))
        # neurons removed: what shrink_mlp leaves when row_norm_mask prunes round(s * rows) rows per hidden layer
        n_in, total, f = linears[0].in_features, 0, neuron_fraction(model, s)
        for i, layer in enumerate(linears):
            last = i == len(linears) - 1
            n_out = layer.out_features if last else layer.out_features - n_to_prune(f, layer.out_features)
            has_bias = layer.bias is not None or i > 0  # shrink_mlp gives every later layer a bias
            total += n_out * n_in + (n_out if has_bias else 0)
            n_in = n_out
        out["neurons removed"].append(total * item)
    return out


def plot_size_vs_sparsity(
    model: nn.Sequential,
    sparsity: float | None = None,
    sparsities: Sequence[float] = tuple(np.round(np.linspace(0, 0.99, 34), 3)),
) -> Figure:
    """Bytes in memory against sparsity (:func:`size_curves`), with a marker at ``sparsity``.

    x axis: the sparsity; y axis: KiB of parameters in memory. Lines, in order: dense,
    CSR int32, CSR int64 (dashed), neurons removed. With ``sparsity``, a marker line and a
    title giving each variant's size there as a percentage of dense (two lines, within the
    axes' width: the legend beside the axes covers none of it).

    Args:
        model: an MLP, as :func:`size_curves`.
        sparsity: ``None``, or where to draw the marker, a float in [0, 1].
        sparsities: the x values of the curves.

    Returns:
        A new ``Figure`` with one axes.

    Raises:
        TypeError, ValueError: as :func:`size_curves`, also for ``sparsity``.
    """
    xs = list(sparsities)
    curves = size_curves(model, xs)
    fig = new_figure((7, 4))
    ax = fig.subplots()
    styles = {  # (colour, line style)
        "dense": ("0.45", "-"),
        "csr int32": ("tab:blue", "-"),
        "csr int64": ("tab:blue", "--"),
        "neurons removed": ("tab:green", "-"),
    }
    for k, ys in curves.items():
        color, ls = styles[k]
        ax.plot(xs, [y / 1024 for y in ys], label=k, color=color, ls=ls)
    ax.set_xlabel("sparsity (fraction of the weights removed)")
    ax.set_ylabel("parameters in memory / KiB")
    ax.set_ylim(bottom=0)
    if sparsity is not None:
        sparsity = check_sparsity(sparsity)
        at = size_curves(model, [sparsity])
        ax.axvline(sparsity, color="k", lw=0.8)
        ax.set_title(
            f"at sparsity {sparsity:.2f}, size as a share of dense:\n"
            + ", ".join(f"{k} {v[0] / at['dense'][0]:.0%}" for k, v in at.items() if k != "dense"),
            fontsize=9,
        )
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    return fig
