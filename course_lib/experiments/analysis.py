"""Measurements behind notebooks 04 (train, prune, fine-tune) and 05 (lottery tickets).

The experiments themselves live in :mod:`course_lib.finetune` and
:mod:`course_lib.lottery`; this module adds what the notebooks measure on top:

* the accuracy of a trained network pruned at a rate, without fine-tuning
  (:func:`pruned_accuracy`, fast enough for a slider) and the highest rate a
  layer tolerates (:func:`tolerable_sparsity`);
* how far the weights travel during training (:func:`weight_movement`);
* a ticket trained on another data set (:func:`transfer_ticket`, from a
  :func:`course_lib.experiments.lottery.lottery_study` run with ``keep_history=True``);
* :func:`mean_std` and :func:`paired_gap` to state results with their spread over seeds.

>>> mean_std([1.0, 2.0, 3.0])
(2.0, 0.816496580927726)
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._checks import check_sparsity, mean_std
from course_lib.experiments.finetune import magnitude_masks
from course_lib.experiments.lottery import VARIANTS, LotteryResult, make_model, start_variant
from course_lib.pruning.masks import apply_masks
from course_lib.training.data import NORMALIZATION, Dataset, Split, load
from course_lib.training.stacked import train_many
from course_lib.training.train import TrainResult, evaluate

__all__ = [
    "mean_std",
    "paired_gap",
    "pruned_accuracy",
    "pruned_accuracy_curve",
    "input_keep_fraction",
    "tolerable_sparsity",
    "weight_movement",
    "iteration_to_reach",
    "transfer_ticket",
    "digits_as_mnist",
    "transfer_target",
]


# --------------------------------------------------------------------------- spread over seeds


def paired_gap(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """``(mean, std, min)`` of the per-seed differences ``a[i] - b[i]`` (paired by seed).

    A gap whose ``min`` is above 0 held on every seed.

    >>> paired_gap([90.0, 92.0], [85.0, 91.0])
    (3.0, 2.0, 1.0)
    """
    a, b = [float(v) for v in a], [float(v) for v in b]
    if len(a) != len(b) or not a:
        raise ValueError(f"a and b must hold the same number (>= 1) of values, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b, strict=False)]
    mean, std = mean_std(diffs)
    return mean, std, min(diffs)


# --------------------------------------------------------------------------- pruning a trained net
@torch.no_grad()
def pruned_accuracy(model: nn.Module, split, sparsity: float, scope: str = "layer") -> float:
    """Accuracy (percent) on ``split`` of a copy of ``model`` magnitude-pruned to ``sparsity``,
    without fine-tuning (``scope``: ``"layer"`` or ``"global"``, see
    :func:`course_lib.experiments.finetune.magnitude_masks`). ``model`` is not changed.

    >>> from course_lib.training.data import load
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

    >>> from course_lib.training.data import load
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


def tolerable_sparsity(
    sparsities: Sequence[float], accs: Sequence[float], dense_acc: float, drop: float = 1.0
) -> float:
    """Highest sparsity up to which the accuracy stays within ``drop`` points of ``dense_acc``:
    the largest ``sparsities[i]`` such that every ``accs[j] >= dense_acc - drop`` for
    ``sparsities[j] <= sparsities[i]``; 0.0 if already the first one falls below.

    >>> tolerable_sparsity([0.5, 0.8, 0.9, 0.95], [95.0, 94.5, 90.0, 94.9], 95.2)
    0.8
    """
    pairs = sorted(zip([float(s) for s in sparsities], [float(a) for a in accs], strict=False))
    if not pairs:
        raise ValueError("sparsities must not be empty")
    best = 0.0
    for s, a in pairs:
        if a < dense_acc - drop:
            break
        best = s
    return best


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
    for it, value in zip(run.iterations, getattr(run, metric), strict=False):
        if value >= level:
            return it
    return None


# --------------------------------------------------------------------------- transfer
def transfer_ticket(
    result: LotteryResult,
    round: int,
    target: Dataset,
    *,
    variants: Sequence[str] = VARIANTS,
    dense: bool = True,
    progress: bool = False,
    threads: int | None = None,
) -> dict[str, list[TrainResult]]:
    """Train the tickets of ``round`` (found on ``result``'s data set) on another data set ``target``.

    ``result`` comes from :func:`course_lib.experiments.lottery.lottery_study` with ``keep_history=True``.
    Per seed, each variant starts as in the study (:func:`course_lib.experiments.lottery.start_variant`):
    ``"ticket"`` is the source's mask on its rewound weights; ``"reinit"`` the same mask
    with a fresh initialization; ``"random_prune"`` a random mask with the same per-layer
    counts on the rewound weights; ``"dense"`` (if ``dense``) the whole network from its
    initialization. Training settings (epochs, lr, batch size, optimizer, minibatch seeds)
    are the source study's; all runs are trained together. Returns ``{variant: [run per
    seed]}``. ``target`` must have the source's input size and classes.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import lottery_study
    >>> res = lottery_study(load("digits"), model="16", rounds=1, seeds=[0], epochs=1, keep_history=True,
    ...                     progress=False)
    >>> runs = transfer_ticket(res, 1, load("digits", seed=1))
    >>> sorted(runs), len(runs["ticket"])
    (['dense', 'random_prune', 'reinit', 'ticket'], 1)
    """
    if not isinstance(result, LotteryResult) or not result.masks:
        raise TypeError("result must be a LotteryResult from lottery_study(..., keep_history=True)")
    cfg = result.config
    if isinstance(round, bool) or round not in result.masks or round < 1:
        raise ValueError(f"round must be one of the study's rounds 1..{result.rounds}, got {round!r}")
    if not isinstance(target, Dataset):
        raise TypeError(f"target must be a course_lib.training.data.Dataset, got {type(target).__name__}")
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"variants must be names from {VARIANTS}, got {list(variants)!r}")
    in_features = result.init[0]["fc1.weight"].shape[1]
    if target.in_features != in_features:
        raise ValueError(f"target has {target.in_features} input features, the tickets {in_features}")

    def build(seed: int) -> nn.Sequential:
        return make_model(cfg["model"], target.in_features, target.num_classes, seed=seed)

    jobs = []
    for variant in [v for v in VARIANTS if v in variants]:
        for i, seed in enumerate(result.seeds):
            net, masks = start_variant(variant, build, seed, round, result.rewind_state[i], result.masks[round][i])
            jobs.append((variant, net, masks, seed))
    if dense:
        for i, seed in enumerate(result.seeds):
            net = build(seed)
            net.load_state_dict(result.init[i])
            jobs.append(("dense", net, None, seed))
    runs = train_many(
        [j[1] for j in jobs],
        target,
        [j[2] for j in jobs],
        seeds=[j[3] for j in jobs],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        batch_size=cfg["batch_size"],
        optimizer=cfg.get("optimizer", "adam"),
        progress=progress,
        threads=threads,
    )
    out: dict[str, list[TrainResult]] = {}
    for job, run in zip(jobs, runs, strict=False):
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
    raise ValueError(
        f"name must be 'mnist1d', 'mnist5k' or 'mnist' (a transfer target is defined for those), got {name!r}"
    )
