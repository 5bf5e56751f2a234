"""Plots of notebooks 04 (train, prune, fine-tune) and 05 (lottery tickets) with spread over seeds.

They complement :mod:`course_lib.viz.training` (one run, or the LTH-paper plot):
here results of several seeds are drawn as mean +- standard deviation, and the
slider plots compute what they show from a rate or a round. Every function
returns a new ``Figure`` (:func:`course_lib.viz.figure.new_figure`).

>>> from types import SimpleNamespace as R
>>> seed_results = [[R(sparsity=0.0, dense_acc=90., pruned_acc=90., finetuned_acc=91.),
...                  R(sparsity=0.8, dense_acc=90., pruned_acc=80., finetuned_acc=92.)]] * 2
>>> fig = plot_prune_finetune_seeds(seed_results, highlight=0.8)
>>> [float(b.get_height()) for b in fig.axes[1].patches]
[90.0, 91.0, 80.0, 92.0]
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from course_lib.experiments.analysis import input_keep_fraction, mean_std, pruned_accuracy
from course_lib.experiments.finetune import least_squares_refit, magnitude_masks
from course_lib.pruning.structured import remove_neurons, row_keep, row_norm_mask
from course_lib.training.train import evaluate
from course_lib.viz.figure import new_figure
from course_lib.viz.training import VARIANT_COLORS, VARIANT_LABELS

__all__ = [
    "plot_pruned_at_rate",
    "plot_prune_finetune_seeds",
    "plot_one_shot_vs_iterative_seeds",
    "plot_layer_tolerance",
    "plot_refit_at_rate",
    "plot_ticket_masks",
    "plot_rewinding",
    "plot_weight_movement",
    "plot_transfer",
]


def _keep_fraction_panel(ax, frac: torch.Tensor, title: str) -> None:
    """Kept fraction per input: an image for 2-D inputs (pixels), bars for 1-D inputs; the colour
    or y scale runs up to the largest fraction, and the dashed line / title give the mean."""
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


# --------------------------------------------------------------------------- notebook 04
def plot_pruned_at_rate(
    model,
    split,
    rate: float,
    curve: Mapping[str, Sequence[float]] | None = None,
    input_shape: Sequence[int] | None = None,
    layer: str = "fc1.weight",
) -> Figure:
    """The trained ``model`` magnitude-pruned at ``rate`` without fine-tuning (a slider plot).

    Left: accuracy on ``split`` against the pruning rate; ``curve`` (precomputed, e.g. with
    :func:`course_lib.experiments.analysis.pruned_accuracy_curve`) holds ``"rates"`` and one list of
    accuracies per scope (``"layer"``, ``"global"``); the markers at ``rate`` are computed
    now. Right: for layer-wise pruning at ``rate``, the fraction of ``layer``'s weights
    kept per input (an image when ``input_shape`` is 2-D, e.g. MNIST pixels).

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> fig = plot_pruned_at_rate(net, data.test, 0.5, input_shape=(8, 8))
    >>> [line.get_gid() for line in fig.axes[0].lines if line.get_gid()]
    ['layer', 'global']
    >>> float(fig.axes[1].images[0].get_array().mean())
    0.5
    """
    fig = new_figure((10, 3.8))
    ax, right = fig.subplots(1, 2, width_ratios=[1.4, 1])
    colors = {"layer": "tab:blue", "global": "tab:purple"}
    labels = {"layer": "layer-wise", "global": "global"}
    if curve is not None:
        x = [100 * r for r in curve["rates"]]
        for scope in ("layer", "global"):
            if scope in curve:
                ax.plot(x, curve[scope], "-", color=colors[scope], alpha=0.6, label=f"{labels[scope]} (curve)")
    now = {}
    for scope in ("layer", "global"):
        now[scope] = pruned_accuracy(model, split, rate, scope)
        (pt,) = ax.plot(
            [100 * rate],
            [now[scope]],
            "o",
            ms=8,
            color=colors[scope],
            label=f"{labels[scope]} at {rate:.0%}: {now[scope]:.1f}%",
        )
        pt.set_gid(scope)
    ax.axvline(100 * rate, color="0.6", lw=1, ls="--")
    ax.set_xlabel("pruning rate (% of weights removed), no fine-tuning")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    masks = magnitude_masks(model, rate, "layer")
    frac = input_keep_fraction(masks[layer], input_shape)
    _keep_fraction_panel(right, frac, f"{layer}: kept per input, layer-wise {rate:.0%}")
    return fig


def _seed_matrix(results_by_seed, attr: str) -> np.ndarray:
    return np.array([[getattr(r, attr) for r in results] for results in results_by_seed], dtype=float)


def plot_prune_finetune_seeds(results_by_seed: Sequence[Sequence], highlight: float = 0.8) -> Figure:
    """Train-prune-finetune over seeds (lists of :class:`course_lib.experiments.finetune.PruneFinetuneResult`,
    one list per seed, the same sparsities in each; sparsity 0.0 = the dense network
    fine-tuned as long, the fair control).

    Left: mean +- std accuracy vs sparsity, right after pruning (line gid ``"pruned"``) and
    after fine-tuning (gid ``"finetuned"``), dense as a dotted line. Right: bars at ``highlight``
    sparsity: dense (trained), dense + the same fine-tuning, pruned, pruned + fine-tuned;
    the dots are the seeds.
    """
    results_by_seed = [list(r) for r in results_by_seed]
    if not results_by_seed or not results_by_seed[0]:
        raise ValueError("results_by_seed must hold one non-empty list of results per seed")
    sp = [r.sparsity for r in results_by_seed[0]]
    if highlight not in sp:
        raise ValueError(f"highlight must be one of the sparsities {sp}, got {highlight!r}")
    pruned, tuned = _seed_matrix(results_by_seed, "pruned_acc"), _seed_matrix(results_by_seed, "finetuned_acc")
    dense = _seed_matrix(results_by_seed, "dense_acc")[:, 0]
    fig = new_figure((10, 3.8))
    ax, bars = fig.subplots(1, 2, width_ratios=[1.4, 1])
    x = [100 * s for s in sp]
    for gid, values, marker, color, label in (
        ("pruned", pruned, "o", "tab:red", "pruned, no fine-tuning"),
        ("finetuned", tuned, "s", "tab:blue", "pruned + fine-tuned"),
    ):
        cont = ax.errorbar(x, values.mean(0), yerr=values.std(0), marker=marker, capsize=3, color=color, label=label)
        cont.lines[0].set_gid(gid)
    ax.axhline(dense.mean(), color="0.4", ls=":", label=f"dense (trained): {dense.mean():.1f}%")
    ax.set_xlabel("sparsity (% of weights pruned, layer-wise)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    ax.set_title(f"{len(results_by_seed)} seeds: mean +- std", fontsize="medium")
    j, j0 = sp.index(highlight), sp.index(0.0) if 0.0 in sp else None
    groups = [("dense\n(trained)", dense, "0.5")]
    if j0 is not None:
        groups.append(("dense +\nsame epochs", tuned[:, j0], "0.7"))
    groups += [
        (f"pruned\n{highlight:.0%}", pruned[:, j], "tab:red"),
        (f"pruned {highlight:.0%}\n+ fine-tuned", tuned[:, j], "tab:blue"),
    ]
    for i, (label, values, color) in enumerate(groups):
        bars.bar(i, values.mean(), yerr=values.std(), color=color, capsize=4, label=label)
        bars.plot(np.full(len(values), i), values, "k.", ms=4)
    bars.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize="small")
    low = min(float(v.min()) for _, v, _ in groups)
    bars.set_ylim(max(0.0, low - 5), min(100.0, max(float(v.max()) for _, v, _ in groups) + 2))
    bars.set_ylabel("test accuracy (%)")
    bars.grid(True, axis="y", alpha=0.3)
    return fig


def plot_one_shot_vs_iterative_seeds(results: Sequence) -> Figure:
    """One-shot vs iterative pruning over seeds (a list of
    :class:`course_lib.experiments.finetune.OneShotVsIterative`, same settings): mean +- std test accuracy
    after each fine-tuning step. Line 0: one-shot, line 1: iterative (annotated with its
    percent of weights remaining).

    >>> from types import SimpleNamespace as R
    >>> res = R(epochs=[1, 2], one_shot_acc=[80., 85.], iterative_acc=[90., 88.], densities=[0.5, 0.25],
    ...         target_sparsity=0.75, dense_acc=92.)
    >>> plot_one_shot_vs_iterative_seeds([res, res]).axes[0].lines[1].get_ydata().tolist()
    [90.0, 88.0]
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one OneShotVsIterative")
    first = results[0]
    one = np.array([r.one_shot_acc for r in results], dtype=float)
    it = np.array([r.iterative_acc for r in results], dtype=float)
    dense = np.mean([r.dense_acc for r in results])
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(first.epochs, one.mean(0), "o-", color="tab:red", label=f"one-shot to {first.target_sparsity:.0%}")
    ax.plot(first.epochs, it.mean(0), "s-", color="tab:blue", label="iterative: prune a little, fine-tune, repeat")
    for values, color in ((one, "tab:red"), (it, "tab:blue")):
        ax.fill_between(
            first.epochs, values.mean(0) - values.std(0), values.mean(0) + values.std(0), color=color, alpha=0.2, lw=0
        )
    for e, a, d in zip(first.epochs, it.mean(0), first.densities, strict=False):
        ax.annotate(
            f"{100 * d:.3g}% left",
            (e, a),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize="x-small",
            color="tab:blue",
        )
    ax.axhline(dense, color="0.5", ls=":", label="dense (trained)")
    ax.set_xticks(first.epochs)
    ax.set_xlim(min(first.epochs) - 0.4, max(first.epochs) + 0.4)
    ax.set_xlabel("fine-tuning epochs so far (the same for both)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{len(results)} seeds: mean +- std", fontsize="medium")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def _nearest(values: Sequence[float], x: float) -> int:
    return int(np.argmin([abs(v - x) for v in values]))


def plot_layer_tolerance(scans: Mapping[str, Sequence], sparsity: float) -> Figure:
    """Which layer tolerates pruning? One panel per network (``scans``: label -> list of
    :class:`course_lib.experiments.finetune.SensitivityScan`, one per seed). Bars: mean +- std accuracy
    when only that layer is pruned to the scanned sparsity nearest ``sparsity``, in depth
    order, labelled with the layer's number of weights; dotted: the dense accuracy.

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
    for ax, (label, group) in zip(axes, scans.items(), strict=False):
        group = list(group)
        j = _nearest(group[0].sparsities, sparsity)
        s = group[0].sparsities[j]
        names = list(group[0].acc)
        sizes = [group[0].sizes[n] for n in names]
        biggest = max(sizes)
        for i, name in enumerate(names):
            values = [g.acc[name][j] for g in group]
            m, sd = mean_std(values)
            shade = 0.35 + 0.65 * np.log1p(sizes[i]) / np.log1p(biggest)
            ax.bar(i, m, yerr=sd, capsize=4, color=(0.12, 0.47, 0.71, shade))
            ax.text(i, 2, f"{sizes[i]:,}\nweights", ha="center", va="bottom", fontsize="x-small", color="white")
        ax.axhline(mean_std([g.dense_acc for g in group])[0], color="0.3", ls=":", label="dense")
        ax.set_xticks(
            range(len(names)),
            [n.replace(".weight", "") + f"\n(depth {i + 1})" for i, n in enumerate(names)],
            fontsize="small",
        )
        ax.set_title(f"{label}: one layer pruned to {s:.0%}", fontsize="medium")
        ax.set_ylim(0, 100)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel(f"{getattr(group[0], 'split', 'val')} accuracy (%)")
    axes[0].legend(fontsize="small", loc="upper right")
    return fig


def plot_refit_at_rate(model, data, layer: str, rate: float, scan=None, n_fit: int | None = None) -> Figure:
    """Regression-based pruning at one rate (a slider plot): remove the fraction ``rate`` of
    ``layer``'s neurons with the smallest L2 row norm, and measure the test accuracy as is and
    after refitting the next layer by least squares on ``n_fit`` training inputs
    (:func:`course_lib.experiments.finetune.least_squares_refit`). ``scan`` (a
    :class:`course_lib.experiments.finetune.RefitScan`, precomputed) draws the curves. Marker gids:
    ``"removed"``, ``"refit"``.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> fig = plot_refit_at_rate(net, data, "fc1", 0.5)
    >>> sorted(l.get_gid() for l in fig.axes[0].lines if l.get_gid())
    ['refit', 'removed']
    """
    a = [n for n, _ in model.named_children()].index(layer)
    keep = row_keep(row_norm_mask(model[a].weight.detach(), rate))
    small = copy.deepcopy(model)
    names = [n for n, _ in model.named_children()]
    first, second = remove_neurons(model[a], model[a + 2], keep)
    setattr(small, names[a], first)
    setattr(small, names[a + 2], second)
    removed = evaluate(small, data.test)[1]
    x_fit = data.train.x if n_fit is None else data.train.x[:n_fit]
    refit = evaluate(least_squares_refit(model, layer, keep, x_fit), data.test)[1]
    fig = new_figure()
    ax = fig.add_subplot()
    if scan is not None:
        x = [100 * s for s in scan.sparsities]
        ax.plot(x, scan.removed_acc, "-", color="tab:red", alpha=0.5)
        ax.plot(x, scan.refit_acc, "-", color="tab:blue", alpha=0.5)
        ax.axhline(scan.dense_acc, color="0.5", ls=":", label="before removal")
    (p1,) = ax.plot([100 * rate], [removed], "o", ms=8, color="tab:red", label=f"neurons removed: {removed:.1f}%")
    (p2,) = ax.plot(
        [100 * rate], [refit], "s", ms=8, color="tab:blue", label=f"removed + next layer refit: {refit:.1f}%"
    )
    p1.set_gid("removed")
    p2.set_gid("refit")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"neurons of {layer} removed (%), {int((~keep).sum())} of {keep.numel()}")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    return fig


# --------------------------------------------------------------------------- notebook 05
def plot_ticket_masks(
    result, round: int, input_shape: Sequence[int] | None = None, seed_index: int = 0, layer: str = "fc1.weight"
) -> Figure:
    """The ticket's mask of ``layer`` after ``round`` rounds (a slider plot over rounds).

    ``result`` is a :class:`course_lib.experiments.lottery.LotteryResult` of
    :func:`course_lib.experiments.lottery.lottery_study` run with ``keep_history=True``. Left: the
    mask (rows = neurons, columns = inputs; yellow = kept). Right: the fraction kept per
    input (an image for 2-D inputs). The title gives each variant's test accuracy.

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
    if round not in result.masks:
        raise ValueError(f"round must be one of {sorted(result.masks)}, got {round!r}")
    mask = result.masks[round][seed_index][layer]
    fig = new_figure((10, 3.8))
    left, right = fig.subplots(1, 2, width_ratios=[1.3, 1])
    left.imshow(mask.float().numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    left.set_xlabel("input")
    left.set_ylabel("neuron")
    left.set_title(f"{layer} mask, round {round}: {mask.float().mean():.1%} kept", fontsize="medium")
    _keep_fraction_panel(right, input_keep_fraction(mask, input_shape), "kept fraction per input")
    res = result
    if round == 0:
        acc = f"dense: {res.dense_test_acc:.1f}%"
    else:
        parts = []
        for v in res.variants:
            m, sd = mean_std([r.final_test_acc for r in res.runs[(v, round)]])
            parts.append(f"{v} {m:.1f}±{sd:.1f}%")
        acc = ", ".join(parts)
    fig.suptitle(
        f"round {round}, {100 * (res.weights_remaining.get(round, 1.0)):.3g}% of weights left: {acc}", fontsize="medium"
    )
    return fig


def plot_rewinding(results: Mapping[int, object]) -> Figure:
    """Test accuracy vs weights remaining for tickets rewound to different iterations
    (``results``: ``{rewind_iter: LotteryResult}`` from
    :func:`course_lib.experiments.lottery.lottery_study` with ``rewind_iter=[0, k, ...]``), mean +- std
    over seeds; the reinit control of the first one (if run) in orange. Line gids:
    ``"rewind <k>"``, ``"reinit"``.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import lottery_study
    >>> res = lottery_study(load("digits"), model="8", rounds=1, seeds=[0], epochs=1, rewind_iter=[0, 3],
    ...                     progress=False)
    >>> [l.get_gid() for l in plot_rewinding(res).axes[0].lines if l.get_gid()]
    ['rewind 0', 'rewind 3', 'reinit']
    """
    fig = new_figure()
    ax = fig.add_subplot()
    cmap = ["tab:blue", "tab:cyan", "tab:purple", "tab:olive"]
    first = None
    ticks = {100.0}
    for i, (k, res) in enumerate(results.items()):
        first = first or res
        rounds = list(range(1, res.rounds + 1))
        x = [100.0] + [100 * res.weights_remaining[r] for r in rounds]
        ticks.update(x)
        ms = [mean_std([d.final_test_acc for d in res.dense])] + [
            mean_std([t.final_test_acc for t in res.runs[("ticket", r)]]) for r in rounds
        ]
        label = "ticket, rewound to init" if k == 0 else f"ticket, rewound to iteration {k}"
        cont = ax.errorbar(
            x,
            [m for m, _ in ms],
            yerr=[s for _, s in ms],
            marker="o",
            ms=4,
            capsize=3,
            color=cmap[i % len(cmap)],
            label=label,
        )
        cont.lines[0].set_gid(f"rewind {k}")
    if first is not None and "reinit" in first.variants:
        rounds = list(range(1, first.rounds + 1))
        x = [100 * first.weights_remaining[r] for r in rounds]
        ms = [mean_std([t.final_test_acc for t in first.runs[("reinit", r)]]) for r in rounds]
        cont = ax.errorbar(
            x,
            [m for m, _ in ms],
            yerr=[s for _, s in ms],
            marker="o",
            ms=4,
            capsize=3,
            color=VARIANT_COLORS["reinit"],
            label=VARIANT_LABELS["reinit"],
        )
        cont.lines[0].set_gid("reinit")
    ax.set_xscale("log")
    ticks = sorted(ticks, reverse=True)
    ax.set_xticks(ticks, [f"{t:.3g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlim(max(ticks) * 1.15, min(ticks) / 1.15)
    ax.set_xlabel("percent of weights remaining (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    return fig


def plot_weight_movement(
    init: torch.Tensor, ticket_final: torch.Tensor, mask: torch.Tensor, dense_final: torch.Tensor, layer: str = ""
) -> Figure:
    """Are a ticket's initial weights close to its final ones?

    Left: each kept weight's initial value against its value after the ticket's training,
    with the line ``final = init`` (points on it did not move). Right: histograms of how
    far each weight moved during the *dense* training, ``|w_final - w_init|``, for the
    weights the ticket keeps and for those it prunes.

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
    left.set_xlabel("initial weight")
    left.set_ylabel("weight after the ticket's training")
    left.set_title(f"{layer} kept weights ({int(mask.sum()):,})", fontsize="medium")
    left.legend(fontsize="small")
    left.grid(True, alpha=0.3)
    moved = (dense_final - init).abs()
    bins = np.linspace(0, float(moved.max()), 40)
    right.hist(moved[mask].numpy(), bins=bins, density=True, alpha=0.6, color="tab:blue", label="kept by the ticket")
    right.hist(moved[~mask].numpy(), bins=bins, density=True, alpha=0.6, color="tab:gray", label="pruned")
    right.set_xlabel("|w_final - w_init| during dense training")
    right.set_ylabel("density")
    right.set_title("how far weights moved in the dense run", fontsize="medium")
    right.legend(fontsize="small")
    return fig


def plot_transfer(
    runs: Mapping[str, Sequence], source: Mapping[str, Sequence[float]] | None = None, title: str = ""
) -> Figure:
    """Tickets moved to another data set: mean +- std final test accuracy per variant
    (``runs``: variant -> runs on the target, e.g. from :func:`course_lib.experiments.analysis.transfer_ticket`),
    dots = seeds; ``source`` (variant -> accuracies on the source data set) as hollow diamonds.

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
            ax.plot(
                [i + 0.3],
                [mean_std(source[v])[0]],
                "D",
                mfc="none",
                mec="k",
                label="on the source data" if i == 0 else None,
            )
    ax.set_xticks(range(len(names)), [labels.get(v, v).replace(", ", ",\n") for v in names], fontsize="small")
    all_values = [r.final_test_acc for v in names for r in runs[v]]
    ax.set_ylim(max(0.0, min(all_values) - 8), min(100.0, max(all_values) + 4))
    ax.set_ylabel("test accuracy on the target (%)")
    ax.grid(True, axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize="medium")
    if source:
        ax.legend(fontsize="small", loc="lower right")
    return fig
