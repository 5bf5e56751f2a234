"""Why rewinding works: instability analysis and linear mode connectivity.

Frankle et al. 2020 ("Linear Mode Connectivity and the Lottery Ticket Hypothesis", ICML)
train two copies of a network from the same point, iteration ``k`` of a run, with different
minibatch orders, and evaluate the networks on the straight line between the two results.
If the error never rises above the endpoints' (the *error barrier* is about zero), the
training from ``k`` on is *stable* to SGD noise; they find that IMP finds tickets at high
sparsity exactly when it rewinds to such a stable point, which is why rewinding to an early
iteration rather than to initialization works (notebook 05's late-rewinding result).

* :func:`interpolate_states`: ``(1 - alpha) a + alpha b`` of two ``state_dict`` s;
* :func:`error_barrier`: the test error along the line and its barrier (:class:`Barrier`);
* :func:`instability`: the barrier against the rewind iteration (one :class:`InstabilityRow`
  per ``k``), for the dense network or a masked one (a ticket).

Measured here (MNIST-5k, LeNet-300-100 seed 0, 4 epochs, ``k`` = 0, 59, 236, 11 points):
the dense network's barrier is 0.7, 0.5 and 0.3 percentage points, its early-bird ticket's
at 98% sparsity 0.3, 0.15, 0.25 and a random mask's 0.35, 0.2, 0.25: LeNet on MNIST is
already about stable at initialization, as Frankle et al. report for LeNet (their unstable
cases are the larger conv nets, ResNet-20 and VGG-16 on CIFAR-10).

>>> a, b = {"w": torch.tensor([0.0, 2.0])}, {"w": torch.tensor([4.0, 2.0])}
>>> interpolate_states(a, b, 0.25)["w"]
tensor([1., 2.])
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from course_lib._checks import (
    check_bool,
    check_float,
    check_int,
    check_iterations,
    check_seed,
    check_seeds,
    check_sparsity,
    check_threads,
)
from course_lib.experiments.tickets import check_state, rewind
from course_lib.pruning.reparam import plain_copy
from course_lib.training.config import check_model, check_splits, checked_masks, has_conv, mlp_layers
from course_lib.training.data import Dataset, Split
from course_lib.training.record import TrainResult, cpu_copy, evaluate
from course_lib.training.stacked import train_many
from course_lib.training.train import CONV_EVAL_BATCH, train

__all__ = ["interpolate_states", "Barrier", "error_barrier", "InstabilityRow", "instability"]

TensorDict = dict[str, torch.Tensor]


def _check_states(a: object, b: object) -> None:
    """Raise unless ``a`` and ``b`` are dicts of tensors with the same names, shapes and dtypes."""
    for label, state in (("a", a), ("b", b)):
        if not isinstance(state, Mapping) or not all(isinstance(t, torch.Tensor) for t in state.values()):
            raise TypeError(f"{label} must be a dict {{name: tensor}} (a state_dict), got {type(state).__name__}")
    assert isinstance(a, Mapping) and isinstance(b, Mapping)  # checked above; for mypy
    if set(a) != set(b):
        first = next(n for n in [*a, *b] if n not in a or n not in b)
        raise ValueError(f"a and b must have the same names; {first!r} is in only one of them")
    for name, t in a.items():
        if tuple(t.shape) != tuple(b[name].shape):
            raise ValueError(f"a[{name!r}] has shape {tuple(t.shape)} but b[{name!r}] {tuple(b[name].shape)}")
        if t.dtype != b[name].dtype:
            raise TypeError(f"a[{name!r}] has dtype {t.dtype} but b[{name!r}] {b[name].dtype}")


def interpolate_states(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], alpha: float) -> TensorDict:
    """The point ``alpha`` of the way from ``a`` to ``b``: ``(1 - alpha) * a + alpha * b``, entry by entry.

    The straight line of Frankle et al. 2020. Floating-point tensors are interpolated
    (``alpha = 0`` gives ``a`` and ``alpha = 1`` gives ``b`` exactly); integer and bool
    tensors (e.g. BatchNorm's ``num_batches_tracked``) are copied from ``a``. BatchNorm's
    running statistics are floats: interpolated like the weights.

    Args:
        a: a ``state_dict``, {name: tensor}.
        b: a ``state_dict`` with the same names, shapes and dtypes (moved to ``a``'s devices).
        alpha: where on the line, a number in [0, 1].

    Returns:
        A new dict {name: new tensor} in the order of ``a``; ``a`` and ``b`` are not changed.

    Raises:
        TypeError: ``a`` or ``b`` is not a dict of tensors, a dtype differs, ``alpha`` is not
            a number.
        ValueError: the names or a shape differ, ``alpha`` is outside [0, 1].

    >>> s = interpolate_states({"w": torch.tensor([1.0]), "n": torch.tensor(3)},
    ...                        {"w": torch.tensor([3.0]), "n": torch.tensor(9)}, 0.5)
    >>> s["w"], s["n"]
    (tensor([2.]), tensor(3))
    """
    _check_states(a, b)
    alpha = check_sparsity(alpha, "alpha")
    out = {}
    for name, t in a.items():
        other = b[name].to(t.device)
        out[name] = (1.0 - alpha) * t + alpha * other if t.is_floating_point() else t.clone()
    return out


@dataclass
class Barrier:
    """The error along the line between two networks (Frankle et al. 2020).

    Attributes:
        alphas: the points, ``0 = a, ..., 1 = b``, evenly spaced.
        errors: test error (percent, ``100 - accuracy``) of the interpolated network at each alpha.
        barrier: ``max(errors) - (errors[0] + errors[-1]) / 2``, percentage points: the
            paper's error barrier height. Since the endpoints are among the alphas it is
            never negative (exactly, in floats too), and it is 0 when the error is the same
            everywhere on the line.
    """

    alphas: list[float]
    errors: list[float]
    barrier: float


def error_barrier(
    model: nn.Module,
    state_a: Mapping[str, torch.Tensor],
    state_b: Mapping[str, torch.Tensor],
    split: Split,
    *,
    points: int = 11,
) -> Barrier:
    """Test error of ``model`` with the weights at ``points`` evenly spaced points from ``state_a`` to ``state_b``.

    Frankle et al. 2020's error barrier (they use 30 points). Each point is
    :func:`interpolate_states`, loaded into ``model`` and evaluated in eval mode
    (:func:`course_lib.training.record.evaluate`): a BatchNorm layer uses the interpolated
    running statistics as they are, not recomputed for the interpolated weights (which
    can make a BatchNorm net's barrier larger than with recomputed statistics). The model's
    own weights and modes are restored afterwards, also on an error: for the caller the
    function is pure.

    Args:
        model: the architecture of both states; its device is the one ``split`` must be on.
        state_a: a ``state_dict`` of ``model`` (alpha = 0).
        state_b: another (alpha = 1), same names, shapes and dtypes.
        split: where to measure the error (``x``: inputs, ``y``: int64 labels ``(n,)``),
            usually ``data.test``.
        points: number of alphas including both ends, an int >= 2.

    Returns:
        A :class:`Barrier` (errors in percent).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, a state is not a dict of tensors, or
            ``split`` has no ``x`` and ``y``.
        ValueError: the states do not match each other or the model, ``points < 2``.

    >>> from course_lib.training.models import mlp
    >>> net = mlp([2, 3, 2], seed=0)
    >>> gen = torch.Generator().manual_seed(0)
    >>> split = Split(torch.randn(20, 2, generator=gen), torch.randint(0, 2, (20,), generator=gen))
    >>> error_barrier(net, net.state_dict(), net.state_dict(), split, points=3).barrier
    0.0
    """
    check_model(model)
    _check_states(state_a, state_b)
    check_state(model, state_a, "state_a")
    if not hasattr(split, "x") or not hasattr(split, "y"):
        raise TypeError(f"split must be a course_lib.training.data.Split (x, y), got {type(split).__name__}")
    points = check_int(points, "points", 2)
    alphas = [i / (points - 1) for i in range(points)]
    eval_batch = CONV_EVAL_BATCH if has_conv(model) else None
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    errors = []
    try:
        for alpha in alphas:
            model.load_state_dict(interpolate_states(state_a, state_b, alpha))
            errors.append(100.0 - evaluate(model, split, eval_batch)[1])
    finally:
        model.load_state_dict(saved)
    return Barrier(alphas, errors, max(errors) - (errors[0] + errors[-1]) / 2)


@dataclass
class InstabilityRow:
    """The instability of training from one rewind point (Frankle et al. 2020).

    Attributes:
        rewind_iter: ``k``, the iteration of the parent run both copies start from.
        barrier: the error barrier between the two trained copies (percentage points,
            :class:`Barrier`), on the test split.
        errors: test error (percent) at each alpha.
        alphas: the points of the line, ``0`` (copy 0) to ``1`` (copy 1).
        final_test_acc: the two copies' final test accuracy, averaged (percent).
        states: the two trained copies' ``state_dict`` s (CPU copies).
    """

    rewind_iter: int
    barrier: float
    errors: list[float]
    alphas: list[float]
    final_test_acc: float
    states: tuple[TensorDict, ...] = field(default=(), repr=False)


def _stackable(model: nn.Module) -> bool:
    """Whether :func:`~course_lib.training.stacked.train_many` can train ``model`` (a course MLP with biases)."""
    try:
        return all(layer.bias is not None for _, layer in mlp_layers(model))
    except (TypeError, ValueError):
        return False


def _train_all(
    nets: Sequence[nn.Module],
    data: Dataset,
    masks: TensorDict,
    seeds: Sequence[int],
    settings: dict[str, float | int],
    save_at: Sequence[int] = (),
    progress: bool = True,
    threads: int | None = None,
) -> list[TrainResult]:
    """Train ``nets`` in place under ``masks``, net ``i`` with minibatch order ``seeds[i]``.

    Course MLPs are trained together (:func:`~course_lib.training.stacked.train_many`),
    other models one by one (:func:`~course_lib.training.train.train`); ``settings`` holds
    ``epochs``, ``lr`` and ``batch_size``.
    """
    epochs, lr, batch_size = int(settings["epochs"]), float(settings["lr"]), int(settings["batch_size"])
    job_masks = [masks or None] * len(nets)
    if _stackable(nets[0]):
        return train_many(
            nets,
            data,
            job_masks,
            seeds=list(seeds),
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            save_at=save_at,
            progress=progress,
            threads=threads,
        )
    return [
        train(
            net,
            data,
            m,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            seed=s,
            save_at=save_at,
            progress=progress,
            threads=threads,
        )
        for net, m, s in zip(nets, job_masks, seeds, strict=True)
    ]


def instability(
    model: nn.Module,
    data: Dataset,
    rewind_iters: Sequence[int],
    *,
    masks: Mapping[str, torch.Tensor] | None = None,
    epochs: int = 4,
    lr: float = 1.2e-3,
    batch_size: int = 60,
    seed: int = 0,
    copy_seeds: tuple[int, int] = (1, 2),
    points: int = 11,
    progress: bool = True,
    threads: int | None = None,
) -> list[InstabilityRow]:
    """The error barrier between two copies trained from iteration ``k``, for each ``k`` of ``rewind_iters``.

    Frankle et al. 2020's instability analysis: a parent run of ``model`` (under ``masks``
    if given, e.g. a ticket) trains ``epochs`` epochs with minibatch order ``seed``, its
    weights kept at every ``k``. From each snapshot (``masks`` applied) two copies train
    ``epochs`` epochs more with minibatch orders ``copy_seeds[0]`` and ``copy_seeds[1]``,
    Adam's state starting afresh at ``k``; then :func:`error_barrier` between them on
    ``data.test``. Every ``k`` gets the same training length (the paper trains the copies
    to the end of the parent run, ``T - k`` iterations), so the rows differ only in where
    the copies start. Course MLPs train stacked
    (:func:`~course_lib.training.stacked.train_many`, all copies in one run), other models
    with :func:`~course_lib.training.train.train`. ``model`` is not changed: everything
    trains on deep copies (on the CPU).

    Args:
        model: the network at initialization (its weights are the parent's start).
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        data: a :class:`course_lib.training.data.Dataset`.
        rewind_iters: distinct iterations ``k`` of the parent run, ints in
            ``[0, epochs * ceil(n_train / batch_size)]``.
        masks: {parameter name: bool mask}, ``True`` = keep, or ``None`` (dense); pruned
            weights stay exactly zero in the parent and in every copy.
        epochs: epochs of the parent run and of each copy, an int >= 1.
        lr: Adam's learning rate (> 0).
        batch_size: examples per minibatch, an int >= 1.
        seed: the parent run's minibatch order, an int >= 0.
        copy_seeds: the two copies' minibatch orders, two different ints >= 0.
        points: alphas on the line, an int >= 2 (both ends included).
        progress: show progress bars.
        threads: torch CPU threads (int >= 1), or ``None`` for the trainers' choice.

    Returns:
        One :class:`InstabilityRow` per ``k``, in the order of ``rewind_iters``; the same
        numbers for the same arguments.

    Raises:
        ValueError: an argument out of range, a ``k`` past the parent run, equal
            ``copy_seeds``, a mask of an unknown parameter or the wrong shape.
        TypeError: ``model`` or ``data`` of the wrong type, a mask that is not bool.
    """
    check_model(model)
    n_train = len(check_splits(data)[0])
    iters = check_iterations(rewind_iters, "rewind_iters")
    checked = checked_masks(model, masks)
    settings: dict[str, float | int] = dict(
        epochs=check_int(epochs, "epochs", 1),
        lr=check_float(lr, "lr", strict=True),
        batch_size=check_int(batch_size, "batch_size", 1),
    )
    seed, seeds = check_seed(seed), check_seeds(copy_seeds, "copy_seeds")
    if len(seeds) != 2:
        raise ValueError(f"copy_seeds must be two different ints >= 0, got {copy_seeds!r}")
    total = int(settings["epochs"]) * math.ceil(n_train / int(settings["batch_size"]))
    if max(iters) > total:
        raise ValueError(f"rewind_iters must be in [0, {total}] (the parent run's iterations), got {iters}")
    points = check_int(points, "points", 2)
    progress, threads = check_bool(progress, "progress"), check_threads(threads)
    parent = plain_copy(model)  # trained together with plain copies: torch.nn.utils.prune / parametrize made permanent
    snaps = _train_all([parent], data, checked, [seed], settings, iters, progress, threads)[0].snapshots
    nets = [copy.deepcopy(parent) for _ in range(2 * len(iters))]
    for i, net in enumerate(nets):
        rewind(net, snaps[iters[i // 2]], checked)
    results = _train_all(nets, data, checked, seeds * len(iters), settings, (), progress, threads)
    rows = []
    for j, k in enumerate(iters):
        pair = [cpu_copy(nets[2 * j + c].state_dict()) for c in (0, 1)]
        bar = error_barrier(nets[2 * j], pair[0], pair[1], data.test, points=points)
        acc = (results[2 * j].final_test_acc + results[2 * j + 1].final_test_acc) / 2
        rows.append(InstabilityRow(k, bar.barrier, bar.errors, bar.alphas, acc, tuple(pair)))
    return rows
