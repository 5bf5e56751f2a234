"""Plots of what pruning saves: size, work, latency and energy (each returns a new ``Figure``).

Figures are made by :func:`course_lib.viz.figure.new_figure`, so a notebook shows each
once, as a cell's last expression. Functions that take a ``sparsity`` compute what
they show from it, so a slider can drive them::

    SliderFigure(functools.partial(plot_pruning_costs, model), sparsity=sparsity_slider())

Timings are measured once, outside: :func:`plot_latency_vs_sparsity` takes the
measured numbers and a ``sparsity`` only moves its marker (re-timing on every slider
move would be slow and noisy). The energy numbers are Horowitz's 45 nm table (ISSCC
2014, :mod:`course_lib.measure.energy`).

>>> fig = plot_energy_table()
>>> [float(b.get_width()) for b in fig.axes[0].patches][:2]
[0.1, 0.9]
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.measure import pruning_costs
from course_lib.measure.energy import HOROWITZ_45NM, EnergyBreakdown, energy_table
from course_lib.measure.size import csr_bytes, model_bytes
from course_lib.pruning.masks import prunable_weights
from course_lib.viz.figure import new_figure

__all__ = [
    "VARIANT_COLORS",
    "plot_energy_table",
    "plot_energy_breakdown",
    "plot_pruning_costs",
    "plot_pruned_energy",
    "plot_latency_vs_sparsity",
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
    fig = new_figure((10, 3.6))
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
        ax_abs.text(i, t / 1e6, f"{t / 1e6:.3g} uJ", ha="center", va="bottom", fontsize=9)
    for ax in (ax_abs, ax_rel):
        ax.set_xticks(x, names, rotation=15)
    ax_abs.set_ylabel("energy per inference / uJ")
    ax_rel.set_ylabel("share of the energy / %")
    ax_rel.set_ylim(0, 100)
    ax_abs.legend(loc="upper right", fontsize=8, framealpha=0.9)
    fig.suptitle(title or "Where the energy of one inference goes (Horowitz 45 nm costs)")
    return fig


def plot_pruning_costs(model: nn.Sequential, sparsity: float = 0.9, cache_kib: int = 0, batch_size: int = 1) -> Figure:
    """Size in memory and on disk, MACs and energy of ``model`` pruned to ``sparsity``, per variant.

    The variants are :func:`course_lib.measure.pruned_variants`: dense, masked (zeros
    stored dense), CSR, and that fraction of the hidden neurons removed. x axis of each of
    the four panels: those variants, left to right; y axis: KiB in memory (panel 1), KiB on
    disk (2), MACs per sample (3) and microjoules per inference (4), each bar labelled with
    its percentage of dense.

    Args:
        model: an MLP, ``nn.Sequential`` of Linear and ReLU layers; not changed.
        sparsity: the fraction of weights (and of hidden neurons) pruned, a float in [0, 1].
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
        ("energy per inference / uJ", [costs[n]["energy"].total_pj / 1e6 for n in names]),
    ]
    fig = new_figure((12, 3.4))
    axes = fig.subplots(1, 4)
    for ax, (label, vals) in zip(axes, panels, strict=False):
        ax.bar(range(len(names)), vals, color=[VARIANT_COLORS[n] for n in names])
        ax.set_xticks(range(len(names)), names, rotation=25, fontsize=8)
        ax.set_title(label, fontsize=10)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v / vals[0]:.0%}", ha="center", va="bottom", fontsize=8)
    fig.suptitle(
        f"Sparsity {sparsity:.2f}: what each way of storing the pruned model costs "
        f"(percent of dense; SRAM {int(cache_kib)} KiB)"
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


def plot_latency_vs_sparsity(
    sparsities: Sequence[float],
    latencies_ms: Mapping[str, Sequence[float] | float],
    sparsity: float | None = None,
    break_even: float | None = None,
    title: str = "",
) -> Figure:
    """Measured latency against sparsity, one line per variant (``masked`` dashed).

    x axis: the sparsity; y axis: time per batch in ms (median, log scale).

    Args:
        sparsities: the measured sparsities, a non-empty 1-D sequence.
        latencies_ms: {label: one time (ms) per sparsity, or a single number drawn as a
            flat line, e.g. dense, which does not depend on the zeros}.
        sparsity: ``None``, or where to draw a marker line: at the measured sparsity nearest
            to it, the title gives each variant's speedup over ``"dense"``.
        break_even: ``None``, or the sparsity from which CSR is faster (a dotted line).
        title: the figure's title, if any.

    Returns:
        A new ``Figure`` with one axes.

    Raises:
        TypeError: ``latencies_ms`` is not a non-empty dict, or ``sparsity`` is not a number.
        ValueError: ``sparsities`` is empty, a curve has another length, or ``sparsity`` is
            outside [0, 1].

    >>> fig = plot_latency_vs_sparsity([0.5, 0.9], {"dense": 2.0, "csr": [4.0, 1.0]}, sparsity=0.9)
    >>> fig.axes[0].get_title()
    'at sparsity 0.90, speedup over dense: csr: 2.00x'
    """
    xs = np.asarray(sparsities, dtype=float)
    if xs.ndim != 1 or len(xs) == 0:
        raise ValueError("sparsities must be a non-empty 1-D sequence")
    if not isinstance(latencies_ms, Mapping) or not latencies_ms:
        raise TypeError("latencies_ms must be a non-empty dict {label: times in ms}")
    curves = {}
    for k, v in latencies_ms.items():
        ys = np.full(len(xs), float(v)) if isinstance(v, numbers.Real) else np.asarray(v, dtype=float)
        if ys.shape != xs.shape:
            raise ValueError(f"latencies_ms[{k!r}] must have one time per sparsity ({len(xs)}), got {ys.shape}")
        curves[k] = ys
    fig = new_figure((7, 4))
    ax = fig.subplots()
    for k, ys in curves.items():
        ax.plot(
            xs, ys, marker="o", label=k, color=VARIANT_COLORS.get(k), ls="--" if k == "masked" else "-"
        )  # dashed: masked often lies on dense
    ax.set_yscale("log")
    ax.set_xlabel("sparsity (fraction of weights, or of hidden neurons, removed)")
    ax.set_ylabel("time per batch / ms (median, log scale)")
    if break_even is not None:
        ax.axvline(break_even, color="tab:blue", ls=":", lw=1)
        right = break_even > 0.5 * (xs[0] + xs[-1])
        ax.text(
            break_even,
            ax.get_ylim()[1],
            f" CSR faster from {break_even:.0%} ",
            color="tab:blue",
            va="top",
            ha="right" if right else "left",
            fontsize=9,
        )
    if sparsity is not None:
        sparsity = check_sparsity(sparsity)
        i = int(np.argmin(np.abs(xs - sparsity)))
        ax.axvline(xs[i], color="k", lw=0.8)
        if "dense" in curves:
            text = ", ".join(f"{k}: {curves['dense'][i] / ys[i]:.2f}x" for k, ys in curves.items() if k != "dense")
            ax.set_title(f"at sparsity {xs[i]:.2f}, speedup over dense: {text}", fontsize=9)
    ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def size_curves(model: nn.Sequential, sparsities: Sequence[float]) -> dict[str, list[float]]:
    """Bytes in memory of ``model`` at each sparsity: dense, CSR (int32 and int64 indices), neurons removed.

    CSR sizes come from :func:`course_lib.measure.size.csr_bytes` with
    ``round(s * numel)`` zeros per weight (what :func:`course_lib.magnitude_mask`
    prunes); "neurons removed" removes that fraction of each hidden layer's neurons
    (what :func:`course_lib.shrink_mlp` leaves), computed without building the models.

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
        n_in, total = linears[0].in_features, 0
        for i, layer in enumerate(linears):
            last = i == len(linears) - 1
            n_out = layer.out_features if last else layer.out_features - int(round(s * layer.out_features))
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
    title giving each variant's size there as a percentage of dense.

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
    ax.set_xlabel("sparsity (fraction of weights, or of hidden neurons, removed)")
    ax.set_ylabel("parameters in memory / KiB")
    if sparsity is not None:
        sparsity = check_sparsity(sparsity)
        at = size_curves(model, [sparsity])
        ax.axvline(sparsity, color="k", lw=0.8)
        ax.set_title(
            f"at sparsity {sparsity:.2f}: "
            + ", ".join(f"{k} {v[0] / at['dense'][0]:.0%}" for k, v in at.items() if k != "dense")
            + " of dense",
            fontsize=9,
        )
    ax.legend(fontsize=8)
    return fig
