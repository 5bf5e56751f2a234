"""Measurements behind notebooks 04 (train, prune, fine-tune) and 05 (lottery tickets).

The experiments themselves live in :mod:`course_lib.finetune` and
:mod:`course_lib.lottery`; this module adds what the notebooks measure on top:

* the accuracy of a trained network pruned at a rate, without fine-tuning
  (:func:`pruned_accuracy`, fast enough for a slider) and the highest rate a
  layer tolerates (:func:`tolerable_sparsity`);
* :func:`lottery_with_history`: the study of :func:`course_lib.lottery.lottery_study`
  (same seeds, same numbers) that also keeps each round's masks and trained
  weights, and trains the dense networks once for several rewinding points;
* how far the weights travel during training (:func:`weight_movement`);
* a ticket trained on another data set (:func:`transfer_ticket`);
* :func:`mean_std` and :func:`paired_gap` to state results with their spread over seeds.

>>> mean_std([1.0, 2.0, 3.0])
(2.0, 0.816496580927726)
"""
from __future__ import annotations

import copy
import dataclasses
import math
import numbers
import statistics
import time
from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .data import NORMALIZATION, Dataset, Split, load
from .finetune import magnitude_masks
from .lottery import (
    PRESETS,
    VARIANTS,
    LotteryResult,
    derived_seed,
    make_model,
    prune_masks,
    random_masks,
    rewind,
)
from .masks import apply_masks, check_sparsity, prunable_weights
from .schedules import layer_rates, layer_sparsities
from .train import TrainResult, evaluate, train_many

__all__ = [
    "mean_std",
    "paired_gap",
    "pruned_accuracy",
    "pruned_accuracy_curve",
    "input_keep_fraction",
    "tolerable_sparsity",
    "TicketHistory",
    "lottery_with_history",
    "weight_movement",
    "iteration_to_reach",
    "transfer_ticket",
    "digits_as_mnist",
    "transfer_target",
]


# --------------------------------------------------------------------------- spread over seeds
def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and (population) standard deviation of ``values``; the std of one value is 0.

    >>> mean_std([5.0])
    (5.0, 0.0)
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("values must hold at least one number")
    return float(statistics.fmean(values)), float(statistics.pstdev(values)) if len(values) > 1 else 0.0


def paired_gap(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """``(mean, std, min)`` of the per-seed differences ``a[i] - b[i]`` (paired by seed).

    A gap whose ``min`` is above 0 held on every seed.

    >>> paired_gap([90.0, 92.0], [85.0, 91.0])
    (3.0, 2.0, 1.0)
    """
    a, b = [float(v) for v in a], [float(v) for v in b]
    if len(a) != len(b) or not a:
        raise ValueError(f"a and b must hold the same number (>= 1) of values, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b)]
    mean, std = mean_std(diffs)
    return mean, std, min(diffs)


# --------------------------------------------------------------------------- pruning a trained net
@torch.no_grad()
def pruned_accuracy(model: nn.Module, split, sparsity: float, scope: str = "layer") -> float:
    """Accuracy (percent) on ``split`` of a copy of ``model`` magnitude-pruned to ``sparsity``,
    without fine-tuning (``scope``: ``"layer"`` or ``"global"``, see
    :func:`course_lib.finetune.magnitude_masks`). ``model`` is not changed.

    >>> from course_lib.data import load
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> pruned_accuracy(net, data.test, 0.0) == evaluate(net, data.test)[1]
    True
    """
    check_sparsity(sparsity)
    net = copy.deepcopy(model)
    apply_masks(net, magnitude_masks(net, sparsity, scope))
    return evaluate(net, split)[1]


def pruned_accuracy_curve(model: nn.Module, split, sparsities: Sequence[float], scope: str = "layer") -> list[float]:
    """:func:`pruned_accuracy` at each of ``sparsities`` (e.g. a grid computed once for a slider).

    >>> from course_lib.data import load
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> len(pruned_accuracy_curve(net, data.test, [0.0, 0.5, 1.0]))
    3
    """
    return [pruned_accuracy(model, split, s, scope) for s in sparsities]


def input_keep_fraction(mask: torch.Tensor, input_shape: Sequence[int] | None = None) -> torch.Tensor:
    """Fraction of the first layer's weights kept per input feature: the mean of the
    mask's columns, reshaped to ``input_shape`` (e.g. ``(28, 28)`` for MNIST pixels).

    >>> input_keep_fraction(torch.tensor([[True, False, True, True], [True, False, False, True]]), (2, 2))
    tensor([[1.0000, 0.0000],
            [0.5000, 1.0000]])
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.dim() != 2:
        raise TypeError("mask must be a 2-D bool tensor (out_features, in_features), True = keep")
    frac = mask.float().mean(0)
    if input_shape is not None:
        input_shape = tuple(int(s) for s in input_shape)
        if math.prod(input_shape) != frac.numel():
            raise ValueError(f"input_shape {input_shape} does not hold the mask's {frac.numel()} inputs")
        frac = frac.reshape(input_shape)
    return frac


def tolerable_sparsity(sparsities: Sequence[float], accs: Sequence[float], dense_acc: float,
                       drop: float = 1.0) -> float:
    """Highest sparsity up to which the accuracy stays within ``drop`` points of ``dense_acc``:
    the largest ``sparsities[i]`` such that every ``accs[j] >= dense_acc - drop`` for
    ``sparsities[j] <= sparsities[i]``; 0.0 if already the first one falls below.

    >>> tolerable_sparsity([0.5, 0.8, 0.9, 0.95], [95.0, 94.5, 90.0, 94.9], 95.2)
    0.8
    """
    pairs = sorted(zip([float(s) for s in sparsities], [float(a) for a in accs]))
    if not pairs:
        raise ValueError("sparsities must not be empty")
    best = 0.0
    for s, a in pairs:
        if a < dense_acc - drop:
            break
        best = s
    return best


# --------------------------------------------------------------------------- lottery with history
@dataclass
class TicketHistory:
    """A :class:`~course_lib.lottery.LotteryResult` for one rewinding point, plus what it threw away.

    Per seed (lists follow ``result.seeds``): ``init`` the weights at initialization,
    ``rewind_state`` the weights rewound to (``init`` when ``rewind_iter == 0``),
    ``dense_final`` the trained dense weights; ``masks[r]`` and ``final[r]`` the
    ticket's masks and trained weights after round ``r`` (``masks[0]`` is all-True).
    """

    rewind_iter: int
    result: LotteryResult
    init: list[dict[str, torch.Tensor]] = field(repr=False)
    rewind_state: list[dict[str, torch.Tensor]] = field(repr=False)
    dense_final: list[dict[str, torch.Tensor]] = field(repr=False)
    masks: dict[int, list[dict[str, torch.Tensor]]] = field(default_factory=dict, repr=False)
    final: dict[int, list[dict[str, torch.Tensor]]] = field(default_factory=dict, repr=False)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def lottery_with_history(
    data: Dataset | str,
    *,
    model: str | Sequence[int] | None = None,
    rounds: int | None = None,
    seeds: int | Sequence[int] = 3,
    rate: float | None = None,
    output_rate: float | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int = 60,
    rewind_iters: Sequence[int] = (0,),
    variants: Sequence[str] = VARIANTS,
    late_variants: Sequence[str] = ("ticket",),
    data_seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
) -> dict[int, TicketHistory]:
    """:func:`course_lib.lottery.lottery_study` for several rewinding points at once, keeping the
    masks and weights; returns ``{rewind_iter: TicketHistory}``.

    The dense networks are trained once (saving the weights at every ``rewind_iters``);
    then every round prunes each rewinding point's own tickets and trains all jobs
    of the round together. ``rewind_iters[0]`` runs ``variants``, the other
    rewinding points ``late_variants``. For ``rewind_iters=(k,)`` the numbers are
    those of ``lottery_study(..., rewind_iter=k)`` (same seeds, minibatches, masks).

    >>> from course_lib.data import load
    >>> hist = lottery_with_history(load("digits"), model="16", rounds=2, seeds=[0], epochs=1,
    ...                             rewind_iters=(0, 5), progress=False)
    >>> sorted(hist), hist[0].result.variants, hist[5].result.variants
    ([0, 5], ['ticket', 'reinit', 'random_prune'], ['ticket'])
    >>> [round(float(hist[0].masks[r][0]["fc1.weight"].float().mean()), 2) for r in (0, 1, 2)]
    [1.0, 0.5, 0.25]
    """
    if isinstance(data, str):
        data = load(data, seed=data_seed)
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a course_lib.data.Dataset or a dataset name, got {type(data).__name__}")
    preset = PRESETS.get(data.name, PRESETS["digits"])
    model = preset["model"] if model is None else model
    rounds = preset["rounds"] if rounds is None else rounds
    rate = preset["rate"] if rate is None else rate
    epochs = preset["epochs"] if epochs is None else epochs
    lr = preset["lr"] if lr is None else lr
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    rewind_iters = list(rewind_iters)
    if (not rewind_iters or len(set(rewind_iters)) != len(rewind_iters)
            or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0 for k in rewind_iters)):
        raise ValueError(f"rewind_iters must be distinct ints >= 0, got {rewind_iters!r}")
    seeds = list(range(seeds)) if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool) else list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in seeds) \
            or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be an int >= 1 or distinct ints >= 0, got {seeds!r}")
    plans = {}
    for j, k in enumerate(rewind_iters):
        vs = list(variants if j == 0 else late_variants)
        if any(v not in VARIANTS for v in vs) or "ticket" not in vs or len(set(vs)) != len(vs):
            raise ValueError(f"variants must be distinct names from {VARIANTS} including 'ticket', got {vs!r}")
        plans[int(k)] = [v for v in VARIANTS if v in vs]

    def build(seed: int) -> nn.Sequential:
        return make_model(model, data.in_features, data.num_classes, seed=seed)

    names = list(prunable_weights(build(0)))
    rates = layer_rates(names, rate, output_rate)
    train_kw = dict(epochs=epochs, lr=lr, batch_size=batch_size, progress=False, threads=threads)
    start = time.perf_counter()

    from tqdm.auto import tqdm

    bar = tqdm(total=rounds + 1, disable=not progress, desc="lottery rounds")
    nets = [build(s) for s in seeds]
    inits = [_state(n) for n in nets]
    dense = train_many(nets, data, seeds=seeds, save_at=sorted(plans), **train_kw)
    last = dense[0].iterations[-1]
    if max(plans) > last:
        raise ValueError(f"rewind_iters {max(plans)} is beyond the {last} training iterations")
    dense_final = [_state(n) for n in nets]
    out: dict[int, TicketHistory] = {}
    for k, vs in plans.items():
        config = dict(dataset=data.name, model=model if isinstance(model, str) else list(model), rounds=int(rounds),
                      rate=float(rate), output_rate=rates[names[-1]], layer_rates=rates, epochs=int(epochs),
                      lr=float(lr), batch_size=int(batch_size), optimizer="adam", rewind_iter=k, variants=vs,
                      data_seed=int(data_seed), n_train=len(data.train))
        hist = TicketHistory(k, LotteryResult(config=config, seeds=seeds, dense=dense), inits,
                             [{n: t.clone() for n, t in r.snapshots[k].items()} for r in dense], dense_final)
        hist.masks[0] = [{n: torch.ones_like(inits[0][n], dtype=torch.bool) for n in names} for _ in seeds]
        hist.final[0] = dense_final
        out[k] = hist
    for r in dense:
        r.snapshots.clear()
    bar.update(1)
    for rnd in range(1, rounds + 1):
        target = layer_sparsities(rates, rnd)
        jobs = []  # (k, variant, seed index, model, mask)
        for k, hist in out.items():
            prior = hist.masks[rnd - 1]
            trained = hist.final[rnd - 1]
            masks = []
            for i in range(len(seeds)):
                net = build(seeds[i])
                net.load_state_dict(trained[i])
                masks.append(prune_masks(net, target, prior=None if rnd == 1 else prior[i]))
            hist.masks[rnd] = masks
            for variant in plans[k]:
                for i, seed in enumerate(seeds):
                    net = build(seed)
                    if variant == "ticket":
                        rewind(net, hist.rewind_state[i], masks[i])
                        job_mask = masks[i]
                    elif variant == "reinit":
                        net = build(derived_seed(seed, rnd, 1))
                        job_mask = masks[i]
                    else:
                        job_mask = random_masks(masks[i], seed=derived_seed(seed, rnd, 2))
                        rewind(net, hist.rewind_state[i], job_mask)
                    jobs.append((k, variant, i, net, job_mask))
        runs = train_many([j[3] for j in jobs], data, [j[4] for j in jobs], seeds=[seeds[j[2]] for j in jobs],
                          **train_kw)
        for k, hist in out.items():
            res = hist.result
            for variant in plans[k]:
                picked = [(job, run) for job, run in zip(jobs, runs) if job[0] == k and job[1] == variant]
                res.runs[(variant, rnd)] = [run for _, run in picked]
                res.nonzero_density[(variant, rnd)] = [
                    {n: float((p != 0).float().mean()) for n, p in prunable_weights(job[3]).items()}
                    for job, _ in picked]
                if variant == "ticket":
                    hist.final[rnd] = [_state(job[3]) for job, _ in picked]
            kept = {n: int(hist.masks[rnd][0][n].sum()) for n in names}
            sizes = {n: hist.masks[rnd][0][n].numel() for n in names}
            res.weights_remaining[rnd] = sum(kept.values()) / sum(sizes.values())
            res.layer_density[rnd] = {n: kept[n] / sizes[n] for n in names}
        bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    for hist in out.values():
        hist.result.seconds = seconds
    return out


# --------------------------------------------------------------------------- weights: init vs final
def weight_movement(init: torch.Tensor, final: torch.Tensor, where: torch.Tensor | None = None) -> dict[str, float]:
    """How far the entries ``where`` (a bool tensor; default all) moved from ``init`` to ``final``.

    Returns ``relative_distance`` ``||final - init|| / ||init||`` (0: unchanged; 1: moved as far
    as the weights are long), ``correlation`` (Pearson, of the init and final values),
    ``sign_kept`` (fraction of entries whose sign did not change), ``mean_abs_init`` and
    ``mean_abs_change`` (mean |final - init|), and ``count``.

    >>> w0 = torch.tensor([1.0, -2.0, 3.0, -4.0])
    >>> m = weight_movement(w0, 2 * w0)
    >>> m["relative_distance"], round(m["correlation"], 6), m["sign_kept"]
    (1.0, 1.0, 1.0)
    """
    if not isinstance(init, torch.Tensor) or not isinstance(final, torch.Tensor) or init.shape != final.shape:
        raise ValueError("init and final must be tensors of the same shape")
    if where is None:
        where = torch.ones_like(init, dtype=torch.bool)
    if not isinstance(where, torch.Tensor) or where.dtype != torch.bool or where.shape != init.shape:
        raise TypeError("where must be a bool tensor of the weights' shape")
    a, b = init[where].double(), final[where].double()
    if a.numel() < 2:
        raise ValueError("where must select at least 2 entries")
    d = b - a
    corr = torch.corrcoef(torch.stack([a, b]))[0, 1]
    return {
        "relative_distance": float(d.norm() / a.norm()),
        "correlation": float(corr),
        "sign_kept": float((torch.sign(a) == torch.sign(b)).double().mean()),
        "mean_abs_init": float(a.abs().mean()),
        "mean_abs_change": float(d.abs().mean()),
        "count": int(a.numel()),
    }


def iteration_to_reach(run: TrainResult, level: float, metric: str = "val_acc") -> int | None:
    """First evaluated iteration at which ``run``'s ``metric`` (percent) reaches ``level``; ``None`` if never.

    >>> r = TrainResult(seed=0, iterations=[0, 10, 20], val_acc=[10.0, 50.0, 70.0])
    >>> iteration_to_reach(r, 50.0), iteration_to_reach(r, 90.0)
    (10, None)
    """
    if metric not in ("val_acc", "test_acc"):
        raise ValueError(f"metric must be 'val_acc' or 'test_acc', got {metric!r}")
    for it, value in zip(run.iterations, getattr(run, metric)):
        if value >= level:
            return it
    return None


# --------------------------------------------------------------------------- transfer
def transfer_ticket(history: TicketHistory, round: int, target: Dataset, *,
                    variants: Sequence[str] = VARIANTS, dense: bool = True,
                    progress: bool = False, threads: int | None = None) -> dict[str, list[TrainResult]]:
    """Train the tickets of ``round`` (found on ``history``'s data set) on another data set ``target``.

    Per seed: ``"ticket"`` is the source's mask on its rewound weights; ``"reinit"``
    the same mask with a fresh initialization; ``"random_prune"`` a random mask with the
    same per-layer counts on the rewound weights; ``"dense"`` (if ``dense``) the whole
    network from its initialization. Training settings (epochs, lr, batch size,
    minibatch seeds) are the source study's; all runs are trained together. Returns
    ``{variant: [run per seed]}``. ``target`` must have the source's input size and classes.

    >>> from course_lib.data import load
    >>> hist = lottery_with_history(load("digits"), model="16", rounds=1, seeds=[0], epochs=1, progress=False)[0]
    >>> runs = transfer_ticket(hist, 1, load("digits", seed=1))
    >>> sorted(runs), len(runs["ticket"])
    (['dense', 'random_prune', 'reinit', 'ticket'], 1)
    """
    res = history.result
    cfg = res.config
    if round not in history.masks or round < 1:
        raise ValueError(f"round must be one of the study's rounds 1..{res.rounds}, got {round!r}")
    if not isinstance(target, Dataset):
        raise TypeError(f"target must be a course_lib.data.Dataset, got {type(target).__name__}")
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"variants must be names from {VARIANTS}, got {list(variants)!r}")
    in_features = history.init[0]["fc1.weight"].shape[1]
    if target.in_features != in_features:
        raise ValueError(f"target has {target.in_features} input features, the tickets {in_features}")

    def build(seed: int) -> nn.Sequential:
        return make_model(cfg["model"], target.in_features, target.num_classes, seed=seed)

    jobs = []
    for variant in [v for v in VARIANTS if v in variants] + (["dense"] if dense else []):
        for i, seed in enumerate(res.seeds):
            masks = history.masks[round][i]
            net = build(seed)
            if variant == "ticket":
                rewind(net, history.rewind_state[i], masks)
            elif variant == "reinit":
                net = build(derived_seed(seed, round, 1))
            elif variant == "random_prune":
                masks = random_masks(masks, seed=derived_seed(seed, round, 2))
                rewind(net, history.rewind_state[i], masks)
            else:
                net.load_state_dict(history.init[i])
                masks = None
            jobs.append((variant, net, masks, seed))
    runs = train_many([j[1] for j in jobs], target, [j[2] for j in jobs], seeds=[j[3] for j in jobs],
                      epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"], progress=progress,
                      threads=threads)
    out: dict[str, list[TrainResult]] = {}
    for job, run in zip(jobs, runs):
        out.setdefault(job[0], []).append(run)
    return out


def digits_as_mnist(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (other writers, other scanner) made to look like MNIST:
    each image upsampled to 20x20 (bilinear) and centred in a 28x28 frame, as MNIST's
    digits are, then standardized with MNIST's constants. Split as ``load("digits", seed)``.

    >>> d = digits_as_mnist()
    >>> d.name, d.input_shape, len(d.train)
    ('digits28', (28, 28), 1079)
    """
    src = load("digits", seed=seed, normalize=False)
    mean, std = NORMALIZATION["mnist5k"]

    def convert(split: Split) -> Split:
        x = F.interpolate(split.x[:, None], size=(20, 20), mode="bilinear", align_corners=False)[:, 0]
        x = F.pad(x.clamp(0, 1), (4, 4, 4, 4))
        return Split((x - mean) / std, split.y)

    return Dataset("digits28", convert(src.train), convert(src.val), convert(src.test), src.num_classes, mean, std)


def transfer_target(name: str, seed: int = 0) -> Dataset:
    """The data set the notebook moves a ticket found on ``name`` to:

    * ``"mnist1d"``: MNIST-1D generated anew (``generator_seed=1`` instead of 42): new
      signals from the same ten templates, with new random shifts, scales, shear and
      noise, i.e. new data for the same task;
    * ``"mnist5k"`` / ``"mnist"``: :func:`digits_as_mnist`, handwritten digits from
      other writers, other scanner, other resolution.

    >>> transfer_target("mnist5k").name, transfer_target("mnist1d").name
    ('digits28', 'mnist1d-regenerated')
    """
    if name == "mnist1d":
        return dataclasses.replace(load("mnist1d", seed=seed, generator_seed=1), name="mnist1d-regenerated")
    if name in ("mnist5k", "mnist"):
        return digits_as_mnist(seed)
    raise ValueError(f"name must be 'mnist1d', 'mnist5k' or 'mnist' (a transfer target is defined for those), "
                     f"got {name!r}")
