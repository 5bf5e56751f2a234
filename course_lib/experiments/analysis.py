"""Measurements behind notebooks 04 (train, prune, fine-tune) and 05 (lottery tickets).

The experiments themselves live in :mod:`course_lib.experiments.finetune`,
:mod:`course_lib.experiments.refit` and :mod:`course_lib.experiments.lottery`; this module
adds what the notebooks measure on top:

* results over seeds: :func:`mean_std` (a verdict on two settings measured on the same seeds,
  "higher on every seed", "beyond the seed spread", is :func:`course_lib.experiments.claims.compare`,
  the course's one such verdict);
* the accuracy of a trained network pruned to a sparsity, without fine-tuning
  (:func:`pruned_accuracy`, fast enough for a slider), the highest sparsity it tolerates
  (:func:`tolerable_sparsity`), and which inputs a first-layer mask keeps
  (:func:`input_density`);
* how far the weights travel during training (:func:`weight_movement`, the LTH's
  "are the initial weights close to the final ones?", Frankle & Carbin 2019) and how fast
  a run learns (:func:`iteration_to_reach`, :func:`iterations_to_level`, :func:`race`), and
  the LTH's definition of a winning ticket with numbers (:func:`is_winning_ticket`).

>>> mean_std([1.0, 2.0, 3.0])
(2.0, 0.816496580927726)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from course_lib._checks import check_sparsity, mean_std
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.masks import apply_masks
from course_lib.pruning.reparam import plain_copy
from course_lib.training.data import Split
from course_lib.training.train import TrainResult, evaluate

__all__ = [
    "mean_std",
    "pruned_accuracy",
    "pruned_accuracy_curve",
    "input_density",
    "tolerable_sparsity",
    "weight_movement",
    "iteration_to_reach",
    "iterations_to_level",
    "is_winning_ticket",
    "race",
    "faster_on_every_seed",
]


# --------------------------------------------------------------------------- pruning a trained net
@torch.no_grad()
def pruned_accuracy(model: nn.Module, split: Split, sparsity: float, scope: str = "layer") -> float:
    """Accuracy (percent) on ``split`` of a copy of ``model`` magnitude-pruned to ``sparsity``, no fine-tuning.

    Args:
        model: a trained network; not changed.
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        split: the examples to measure on (e.g. ``data.test``).
        sparsity: the fraction of weights pruned, in [0, 1].
        scope: ``"layer"`` (every layer at ``sparsity``) or ``"global"`` (one |w| threshold,
            Han et al. 2015), see :func:`course_lib.pruning.magnitude.magnitude_masks`.

    Returns:
        The test accuracy in percent, a ``float`` in [0, 100].

    Raises:
        ValueError/TypeError: a bad sparsity or scope.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> pruned_accuracy(net, data.test, 0.0) == evaluate(net, data.test)[1]
    True
    """
    check_sparsity(sparsity)
    net = plain_copy(model)  # torch.nn.utils.prune / parametrize made permanent
    apply_masks(net, magnitude_masks(net, sparsity, scope=scope))
    return evaluate(net, split)[1]


def pruned_accuracy_curve(
    model: nn.Module, split: Split, sparsities: Sequence[float], scope: str = "layer"
) -> list[float]:
    """:func:`pruned_accuracy` at each of ``sparsities`` (e.g. a grid computed once for a slider).

    Args:
        model: a trained network; not changed.
        split: the examples to measure on (e.g. ``data.test``).
        sparsities: fractions of weights pruned, each in [0, 1].
        scope: ``"layer"`` or ``"global"``, as for :func:`pruned_accuracy`.

    Returns:
        One accuracy in percent per sparsity, in the same order.

    Raises:
        ValueError/TypeError: a bad sparsity or scope.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> len(pruned_accuracy_curve(net, data.test, [0.0, 0.5, 1.0]))
    3
    """
    return [pruned_accuracy(model, split, s, scope) for s in sparsities]


def input_density(mask: torch.Tensor, input_shape: Sequence[int] | None = None) -> torch.Tensor:
    """Density of the first layer per input feature: the fraction of its outgoing weights kept.

    Args:
        mask: bool tensor of shape ``(out_features, in_features)``, ``True`` = keep.
        input_shape: reshape the result to it, e.g. ``(28, 28)`` for MNIST pixels.

    Returns:
        Float tensor of shape ``(in_features,)`` or ``input_shape``: the mean of each column.

    Raises:
        TypeError: ``mask`` is not a 2-D bool tensor.
        ValueError: ``input_shape`` does not hold ``in_features`` entries.

    >>> input_density(torch.tensor([[True, False, True, True], [True, False, False, True]]), (2, 2))
    tensor([[1.0000, 0.0000],
            [0.5000, 1.0000]])
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.dim() != 2:
        raise TypeError("mask must be a 2-D bool tensor (out_features, in_features), True = keep")
    frac = mask.float().mean(0)
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if math.prod(shape) != frac.numel():
            raise ValueError(f"input_shape {shape} does not hold the mask's {frac.numel()} inputs")
        frac = frac.reshape(shape)
    return frac


def tolerable_sparsity(
    sparsities: Sequence[float], accs: Sequence[float], dense_acc: float, drop: float = 1.0
) -> float:
    """Highest sparsity up to which the accuracy stays within ``drop`` points of ``dense_acc``.

    That is the largest ``sparsities[i]`` such that every ``accs[j] >= dense_acc - drop`` for
    ``sparsities[j] <= sparsities[i]``; 0.0 if already the first one falls below. The
    sparsities need not be sorted.

    Args:
        sparsities: the sparsities measured, each in [0, 1].
        accs: the accuracy (percent) at each sparsity, in the same order.
        dense_acc: the unpruned network's accuracy (percent).
        drop: how many points below ``dense_acc`` still count as tolerated.

    Returns:
        The highest tolerated sparsity, a ``float`` (0.0 if none is tolerated).

    Raises:
        ValueError: no sparsity, or not one accuracy per sparsity.

    >>> tolerable_sparsity([0.5, 0.8, 0.9, 0.95], [95.0, 94.5, 90.0, 94.9], 95.2)
    0.8
    """
    if len(sparsities) != len(accs) or not sparsities:
        raise ValueError(
            f"sparsities and accs must hold the same number (>= 1) of values, got {len(sparsities)} and {len(accs)}"
        )
    pairs = sorted(zip([float(s) for s in sparsities], [float(a) for a in accs], strict=True))
    best = 0.0
    for s, a in pairs:
        if a < dense_acc - drop:
            break
        best = s
    return best


# --------------------------------------------------------------------------- weights: init vs final
def weight_movement(init: torch.Tensor, final: torch.Tensor, where: torch.Tensor | None = None) -> dict[str, float]:
    """How far the entries ``where`` moved from ``init`` to ``final`` (computed in float64).

    Frankle & Carbin 2019 ask whether a winning ticket's initial weights are already close
    to their final values; this measures it.

    Args:
        init, final: the weights before and after training, tensors of the same shape.
        where: bool tensor of that shape selecting the entries (default all; at least 2).

    Returns:
        ``relative_distance`` ``||final - init|| / ||init||`` (0: unchanged; 1: moved as far as
        the weights are long), ``correlation`` (Pearson, of the init and final values),
        ``sign_kept`` (fraction of entries whose sign did not change), ``mean_abs_init`` and
        ``mean_abs_change`` (mean |final - init|), and ``count``.

    Raises:
        ValueError: shapes differ, or ``where`` selects fewer than 2 entries.
        TypeError: ``where`` is not a bool tensor of the weights' shape.

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
    """First evaluated iteration at which ``run``'s ``metric`` reaches ``level``; ``None`` if never.

    Args:
        run: a :class:`~course_lib.training.train.TrainResult`.
        level: the accuracy to reach, in percent.
        metric: ``"val_acc"`` or ``"test_acc"``.

    Returns:
        The iteration (an ``int``), or ``None`` if the metric never reached ``level``.

    Raises:
        ValueError: another metric.

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


# --------------------------------------------------------------------------- learning speed of tickets
def _check_runs(runs: Sequence[TrainResult], reference: Sequence[TrainResult]) -> None:
    if len(runs) != len(reference) or not runs:
        raise ValueError(
            f"runs and reference must hold one run per seed each (>= 1), got {len(runs)} and {len(reference)}"
        )


def iterations_to_level(
    runs: Sequence[TrainResult], reference: Sequence[TrainResult], fraction: float = 0.95
) -> list[int | None]:
    """Per seed, the first iteration at which ``runs[i]`` reaches ``fraction`` of ``reference[i]``'s best val accuracy.

    A measure of learning speed that does not depend on where training stops (unlike the
    early-stopping iteration of Frankle & Carbin 2019, which sits at the end of a run that
    is still improving): the level is fixed by the reference run (e.g. the dense network of
    the same seed), and a run that never gets there gets ``None``.

    Args:
        runs: one :class:`~course_lib.training.train.TrainResult` per seed (e.g. a ticket's).
        reference: one run per seed, in the same order (e.g. the dense network's).
        fraction: the level as a fraction of the reference's best validation accuracy, in (0, 1].

    Returns:
        One iteration (``int``) or ``None`` per seed.

    Raises:
        ValueError: ``runs`` and ``reference`` differ in length or are empty, or ``fraction``
            is outside (0, 1].

    >>> dense = TrainResult(seed=0, iterations=[0, 10, 20, 30], val_acc=[10.0, 40.0, 60.0, 62.0])
    >>> fast = TrainResult(seed=0, iterations=[0, 10, 20, 30], val_acc=[10.0, 60.0, 61.0, 61.0])
    >>> iterations_to_level([fast, dense], [dense, dense])   # 95% of 62.0 = 58.9
    [10, 20]
    """
    _check_runs(runs, reference)
    if not 0 < float(fraction) <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    return [iteration_to_reach(r, fraction * max(ref.val_acc)) for r, ref in zip(runs, reference, strict=True)]


def is_winning_ticket(
    ticket: Sequence[TrainResult],
    dense: Sequence[TrainResult],
    drop: float = 1.0,
    fraction: float = 0.95,
    slack: float = 1.1,
) -> bool:
    """Frankle & Carbin 2019's definition, with numbers: comparable accuracy in a similar number of iterations.

    "Comparable": the ticket's mean final test accuracy is at most ``drop`` points below the
    dense network's. "Similar number of iterations": on every seed the ticket reaches
    ``fraction`` of the dense run's best validation accuracy (:func:`iterations_to_level`),
    and its mean number of iterations to get there is at most ``slack`` times the dense runs'.

    Args:
        ticket: the ticket's runs, one per seed.
        dense: the dense network's runs, one per seed, in the same order.
        drop: accuracy points the ticket may lose (>= 0).
        fraction: the level of :func:`iterations_to_level`, in (0, 1].
        slack: how many times the dense network's iterations still count as similar (>= 1).

    Returns:
        ``True`` when both hold.

    Raises:
        ValueError: as :func:`iterations_to_level`; a negative ``drop`` or ``slack`` below 1.

    >>> dense = TrainResult(seed=0, iterations=[0, 10, 20], val_acc=[10.0, 58.0, 60.0], test_acc=[10.0, 58.0, 60.0])
    >>> slow = TrainResult(seed=0, iterations=[0, 10, 20], val_acc=[10.0, 20.0, 60.0], test_acc=[10.0, 20.0, 60.0])
    >>> is_winning_ticket([dense], [dense]), is_winning_ticket([slow], [dense])
    (True, False)
    """
    if float(drop) < 0 or float(slack) < 1:
        raise ValueError(f"drop must be >= 0 and slack >= 1, got drop={drop!r}, slack={slack!r}")
    its = iterations_to_level(ticket, dense, fraction)
    dense_its = iterations_to_level(dense, dense, fraction)
    accurate = mean_std([r.final_test_acc for r in ticket])[0] >= mean_std([r.final_test_acc for r in dense])[0] - drop
    if not accurate or any(i is None for i in its):
        return False
    reached = [int(i) for i in its if i is not None]
    return sum(reached) <= slack * sum(int(i) for i in dense_its if i is not None)


def race(runs: Sequence[TrainResult], others: Sequence[TrainResult]) -> list[tuple[int | None, int | None]]:
    """Per seed: the iterations ``runs[i]`` and ``others[i]`` need to reach ``others[i]``'s final validation accuracy.

    The LTH's "a reinitialized ticket learns more slowly" (Frankle & Carbin 2019), measured:
    with ``others`` the reinitialized runs, a ticket that learns faster gets there first.

    Args:
        runs, others: one :class:`~course_lib.training.train.TrainResult` per seed each, same order.

    Returns:
        ``[(iterations of runs[i] or None, iterations of others[i]), ...]``.

    Raises:
        ValueError: the two differ in length, or are empty.

    >>> a = TrainResult(seed=0, iterations=[0, 10, 20], val_acc=[10.0, 50.0, 60.0])
    >>> b = TrainResult(seed=0, iterations=[0, 10, 20], val_acc=[10.0, 30.0, 50.0])
    >>> race([a], [b]), faster_on_every_seed(race([a], [b])), faster_on_every_seed(race([b], [a]))
    ([(10, 20)], True, False)
    """
    _check_runs(runs, others)
    return [
        (iteration_to_reach(r, o.val_acc[-1]), iteration_to_reach(o, o.val_acc[-1]))
        for r, o in zip(runs, others, strict=True)
    ]


def faster_on_every_seed(pairs: Sequence[tuple[int | None, int | None]]) -> bool:
    """``True`` when on every seed of :func:`race` the first run got there, and in fewer iterations."""
    return bool(pairs) and all(a is not None and b is not None and a < b for a, b in pairs)
