"""Sparse training from scratch: SET (Mocanu et al. 2018) and RigL (Evci et al. 2020).

A sparse network is trained without ever being dense: it starts from random masks at
per-layer densities (:func:`erk_densities`), trains with Adam while its pruned weights stay
exactly zero (:func:`course_lib.training.train.train`'s loop), and every ``update_every``
steps changes its connections: each layer drops the smallest-magnitude fraction of its
active weights (:func:`drop_fraction`, cosine-decayed) and grows as many new ones
(:func:`drop_and_grow`), at random for SET, where the dense gradient is largest for RigL.
The number of active weights of every layer stays exactly the same.

* Mocanu et al. 2018, "Scalable training of artificial neural networks with adaptive
  sparse connectivity inspired by network science" (Nature Communications): SET, the
  Erdős–Rényi layer densities;
* Evci et al. 2020, "Rigging the Lottery: Making All Tickets Winners" (ICML): RigL, the
  Erdős–Rényi-Kernel densities, the cosine decay of the drop fraction (Algorithm 1).

What happens at an update step, as in RigL's Algorithm 1 (for SET too, so that the two
differ only in where they grow; Mocanu et al. drop a constant fraction after each epoch,
about ``alpha=0.3, end_fraction=1.0`` with ``update_every`` one epoch): the step's
minibatch gives the loss and, for RigL, its dense gradient (w.r.t. every entry of the
weights, pruned ones included); the connections change *in place of* that step's optimizer
step. Dropped weights are set to zero, grown ones start at exactly zero, and the Adam
moments of both are zeroed. Growth picks among the entries that were inactive *before* the
drop, so no active weight is ever grown and a weight just dropped does not come back in
the same update: every update moves exactly ``n`` connections of the layer. (RigL's
reference code grows among the entries inactive after the drop; a weight it drops and
regrows keeps its value, so some of its swaps are no-ops. It also truncates
``drop_fraction * active`` where this module rounds it.)

>>> from course_lib.training.data import load
>>> from course_lib.training.models import mlp
>>> net = mlp([64, 32, 10], seed=0)
>>> run = sparse_training(net, load("digits"), 0.25, epochs=2, lr=1e-2, update_every=5, progress=False)
>>> run.updates, {n: int(m.sum()) for n, m in run.masks.items()}
(5, {'fc1.weight': 412, 'fc2.weight': 180})
>>> run.result.final_test_acc > 70, all(c == run.active[0] for c in run.active)
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._checks import check_int, check_seed, check_sparsity
from course_lib.pruning.masks import check_mask, check_weight, n_to_prune, prunable_weights, smallest_k_mask
from course_lib.pruning.reparam import check_plain
from course_lib.training.config import check_splits, train_config
from course_lib.training.data import Dataset
from course_lib.training.record import TrainResult
from course_lib.training.train import mask_optimizer_state, train

__all__ = [
    "METHODS",
    "DISTRIBUTIONS",
    "SparseTrainResult",
    "erk_densities",
    "drop_fraction",
    "drop_and_grow",
    "sparse_training",
]

#: How new connections are grown: ``"rigl"`` by largest |gradient|, ``"set"`` at random.
METHODS = ("rigl", "set")
#: How the density is spread over the layers (:func:`erk_densities`).
DISTRIBUTIONS = ("erk", "uniform")


def _check_choice(value: object, choices: tuple[str, ...], name: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _check_open_unit(value: object, name: str) -> float:
    """``value`` as a float in (0, 1] (a density, the end of the drop schedule)."""
    number = check_sparsity(value, name)
    if number == 0.0:
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    return number


# --------------------------------------------------------------------------- densities per layer
def _erk_fractions(numels: Mapping[str, int], raw: Mapping[str, float], density: float) -> dict[str, float]:
    """RigL's ERK solve: ``density_l = eps * raw_l``; layers that would pass 1 are made dense, eps re-solved."""
    total = sum(numels.values())
    dense: set[str] = set()
    eps = 0.0
    while len(dense) < len(numels):
        sparse = [n for n in numels if n not in dense]
        budget = density * total - sum(numels[n] for n in dense)
        eps = budget / sum(raw[n] * numels[n] for n in sparse)
        top = max(raw[n] for n in sparse)
        if eps * top <= 1.0:
            break
        dense |= {n for n in sparse if raw[n] == top}
    return {n: 1.0 if n in dense else eps * raw[n] for n in numels}


def _apportion(fractions: Mapping[str, float], numels: Mapping[str, int], target: int) -> dict[str, int]:
    """Integer kept counts: floors (at least 1 per layer), then +1 by largest remainder up to ``target``."""
    ideal = {n: fractions[n] * numels[n] for n in numels}
    counts = {n: min(numels[n], max(1, math.floor(ideal[n]))) for n in numels}
    short = target - sum(counts.values())
    order = sorted((n for n in numels if counts[n] < numels[n]), key=lambda n: -(ideal[n] - counts[n]))
    for n in order[: max(short, 0)]:  # sorted() is stable: ties go to the earlier layer
        counts[n] += 1
    return counts


def erk_densities(model: nn.Module, density: float, *, distribution: str = "erk") -> dict[str, float]:
    """Per-layer densities of ``model``'s prunable weights whose weighted total is ``density``.

    ``"erk"``: the Erdős–Rényi-Kernel rule of Evci et al. 2020 (RigL), which is Mocanu et
    al. 2018's Erdős–Rényi rule for Linear layers: ``density_l ∝ sum(shape_l) / prod(shape_l)``
    (``(n_in + n_out) / (n_in * n_out)`` for a Linear weight, ``(c_in + c_out + k_h + k_w) /
    (c_in * c_out * k_h * k_w)`` for a conv kernel), so small layers stay denser; layers that
    would pass density 1 are made dense and the others rescaled (RigL's procedure). The
    densities are then rounded to whole weights: every layer keeps at least one weight and
    the total kept is exactly ``round(density * total)`` (largest remainders get the
    leftover weights); only when ``density * total`` is below the number of layers can the
    one-weight floor make it more. Each returned density is ``kept_l / numel_l``, so
    ``round(density_l * numel_l)`` is that layer's count.
    ``"uniform"``: every layer at ``density`` exactly (each layer keeps
    ``round(density * numel_l)``: the total is within half a weight per layer of the target).

    Args:
        model: an ``nn.Module`` with at least one prunable weight
            (:func:`course_lib.pruning.masks.prunable_weights`: 2 or more dimensions).
        density: the fraction of the prunable weights kept, in (0, 1].
        distribution: ``"erk"`` or ``"uniform"`` (:data:`DISTRIBUTIONS`).

    Returns:
        {parameter name: density in (0, 1]}, in ``named_parameters`` order.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``density`` is not a number.
        ValueError: ``density`` outside (0, 1], an unknown ``distribution``, no prunable weight.

    >>> from course_lib.training.models import lenet_300_100
    >>> d = erk_densities(lenet_300_100(), 0.1)
    >>> {n: round(v, 4) for n, v in d.items()}
    {'fc1.weight': 0.0796, 'fc2.weight': 0.2302, 'fc3.weight': 1.0}
    >>> round(sum(v * w.numel() for v, w in zip(d.values(), prunable_weights(lenet_300_100()).values())))
    26620
    """
    weights = prunable_weights(model)
    density = _check_open_unit(density, "density")
    _check_choice(distribution, DISTRIBUTIONS, "distribution")
    if not weights:
        raise ValueError("model has no prunable weight (no parameter with 2 or more dimensions)")
    if distribution == "uniform":
        return {n: density for n in weights}
    numels = {n: w.numel() for n, w in weights.items()}
    raw = {n: sum(w.shape) / w.numel() for n, w in weights.items()}
    fractions = _erk_fractions(numels, raw, density)
    counts = _apportion(fractions, numels, round(density * sum(numels.values())))
    return {n: counts[n] / numels[n] for n in weights}


# --------------------------------------------------------------------------- one update
def drop_fraction(step: int, total_steps: int, *, alpha: float = 0.3, end_fraction: float = 0.75) -> float:
    """The fraction of a layer's active weights dropped (and regrown) at ``step``: RigL's cosine decay.

    ``alpha / 2 * (1 + cos(pi * step / (end_fraction * total_steps)))`` for ``step <
    end_fraction * total_steps``, else 0 (Evci et al. 2020, Eq. 1; no update after
    ``end_fraction`` of training).

    Args:
        step: the training step (optimizer steps taken), an int >= 0.
        total_steps: the steps of the whole run, an int >= 1.
        alpha: the fraction at step 0, in [0, 1] (RigL: 0.3).
        end_fraction: the fraction of training after which nothing changes, in (0, 1] (RigL: 0.75).

    Returns:
        A float in ``[0, alpha]``.

    Raises:
        ValueError: a step < 0, total_steps < 1, alpha outside [0, 1], end_fraction outside (0, 1].
        TypeError: ``alpha`` or ``end_fraction`` is not a number.

    >>> drop_fraction(0, 1000), drop_fraction(375, 1000), drop_fraction(750, 1000)
    (0.3, 0.15, 0.0)
    """
    step = check_int(step, "step", 0)
    total_steps = check_int(total_steps, "total_steps", 1)
    alpha = check_sparsity(alpha, "alpha")
    stop = _check_open_unit(end_fraction, "end_fraction") * total_steps
    if step >= stop:
        return 0.0
    return alpha / 2 * (1 + math.cos(math.pi * step / stop))


def drop_and_grow(
    weight: torch.Tensor,
    mask: torch.Tensor,
    n: int,
    *,
    grow: str = "rigl",
    grad: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The new mask of one layer after one update: ``n`` active weights dropped, ``n`` inactive grown.

    A pure function (nothing is modified). Drop: the ``n`` active entries of smallest
    ``|weight|`` (ties: the earlier entry in row-major order,
    :func:`course_lib.pruning.masks.smallest_k_mask`). Grow: ``n`` entries among those
    inactive in ``mask`` (before the drop, so nothing active is ever grown and nothing just
    dropped comes back): the largest ``|grad|`` for ``"rigl"`` (Evci et al. 2020; ties: the
    earlier entry), uniformly at random from ``generator`` for ``"set"`` (Mocanu et al.
    2018). The number of active entries is exactly unchanged.

    Args:
        weight: the layer's weight, a finite float tensor of any shape.
        mask: its bool keep-mask (``True`` = active), of ``weight``'s shape.
        n: how many to drop and grow, an int in ``[0, min(active, inactive)]``.
        grow: ``"rigl"`` or ``"set"`` (:data:`METHODS`).
        grad: for ``"rigl"``: the dense gradient of the loss w.r.t. ``weight`` (every entry,
            inactive ones included), a finite float tensor of ``weight``'s shape; unused by ``"set"``.
        generator: for ``"set"``: the ``torch.Generator`` of the draw (the same state, the same mask).

    Returns:
        A new bool tensor of ``weight``'s shape and device with as many ``True`` as ``mask``.

    Raises:
        TypeError: ``weight``/``grad`` not a float tensor, ``mask`` not bool, ``"set"`` without a generator.
        ValueError: shapes that differ, ``n`` not an int >= 0 or above the active or the
            inactive count, an unknown ``grow``, ``"rigl"`` without ``grad``, NaN or inf.

    >>> w = torch.tensor([0.5, -0.1, 0.0, 0.0, 2.0]); m = torch.tensor([True, True, False, False, True])
    >>> drop_and_grow(w, m, 1, grad=torch.tensor([9.0, 9.0, 0.3, -0.7, 9.0]))
    tensor([ True, False, False,  True,  True])
    """
    check_weight(weight, "weight")
    check_mask(mask, weight.shape, "mask")
    n = check_int(n, "n", 0)
    grow = _check_choice(grow, METHODS, "grow")
    mask = mask.to(weight.device)
    active = int(mask.sum())
    if n > min(active, mask.numel() - active):
        raise ValueError(
            f"n must be an int in [0, {min(active, mask.numel() - active)}] "
            f"(the layer has {active} active and {mask.numel() - active} inactive entries), got {n}"
        )
    if grow == "rigl":
        if grad is None:
            raise ValueError("grow='rigl' needs grad, the dense gradient of the loss w.r.t. weight")
        if tuple(check_weight(grad, "grad").shape) != tuple(weight.shape):
            raise ValueError(f"grad must have weight's shape {tuple(weight.shape)}, got {tuple(grad.shape)}")
        growth = grad.detach().abs().to(weight.device)
    else:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"grow='set' needs generator, a torch.Generator, got {type(generator).__name__}")
        growth = torch.rand(weight.shape, generator=generator, device=generator.device).to(weight.device)
    survivors = smallest_k_mask(weight.detach().abs().masked_fill(~mask, math.inf), n) & mask
    grown = ~smallest_k_mask(-growth.masked_fill(mask, -math.inf), n)  # the n largest among the inactive
    return survivors | grown


# --------------------------------------------------------------------------- the run
@dataclass
class SparseTrainResult:
    """What :func:`sparse_training` returns.

    Attributes:
        result: the :class:`course_lib.training.record.TrainResult` of the run (accuracies in percent).
        masks: {parameter name: final bool keep-mask} (CPU tensors).
        updates: drop/grow updates done (steps whose optimizer step was an update).
        regrown: weights grown over the run, all layers and updates together (as many were dropped).
        densities: {parameter name: density} of :func:`erk_densities` (constant through the run).
        active: {parameter name: active weights} at the start and after every update (a list
            of ``updates + 1`` dicts, all equal: the counts never change).
    """

    result: TrainResult
    masks: dict[str, torch.Tensor]
    updates: int
    regrown: int
    densities: dict[str, float]
    active: list[dict[str, int]] = field(default_factory=list)


class _DropGrow:
    """The drop/grow update of a sparse run: :func:`course_lib.training.train.train`'s private step hook.

    At step ``it`` (1, 2, ...), when ``it % update_every == 0`` and :func:`drop_fraction`
    of ``it`` is positive, it takes the step: the minibatch loss (and, for RigL, its dense
    gradient), then :func:`drop_and_grow` on every masked layer, updating the weights, the
    optimizer state, the gradient masks ``keep`` and its ``masks``; else it returns ``None``.
    """

    def __init__(
        self,
        model: nn.Module,
        masks: Mapping[str, torch.Tensor],
        method: str,
        schedule: tuple[int, int, float, float],
        generator: torch.Generator,
    ) -> None:
        self.model, self.method, self.generator = model, method, generator
        self.total, self.update_every, self.alpha, self.end_fraction = schedule
        self.masks = dict(masks)
        self.weights = {n: p for n, p in model.named_parameters() if n in self.masks}
        self.updates, self.regrown = 0, 0
        self.active = [self._counts()]

    def _counts(self) -> dict[str, int]:
        return {n: int(m.sum()) for n, m in self.masks.items()}

    def __call__(
        self,
        it: int,
        x: torch.Tensor,
        y: torch.Tensor,
        keep: Mapping[nn.Parameter, torch.Tensor],
        opt: torch.optim.Optimizer,
    ) -> torch.Tensor | None:
        if it % self.update_every:
            return None
        fraction = drop_fraction(it, self.total, alpha=self.alpha, end_fraction=self.end_fraction)
        if fraction == 0.0:
            return None
        if self.method == "rigl":
            loss = F.cross_entropy(self.model(x), y)
            grads = dict(zip(self.weights, torch.autograd.grad(loss, list(self.weights.values())), strict=True))
        else:
            with torch.no_grad():
                loss = F.cross_entropy(self.model(x), y)
            grads = {}
        for name, weight in self.weights.items():
            self._update(name, weight, fraction, grads.get(name), keep[weight], opt)
        self.updates += 1
        self.active.append(self._counts())
        return loss.detach()

    def _update(
        self,
        name: str,
        weight: nn.Parameter,
        fraction: float,
        grad: torch.Tensor | None,
        keep: torch.Tensor,
        opt: torch.optim.Optimizer,
    ) -> None:
        """One layer's drop and grow: the weights, Adam's moments, the gradient mask, the mask."""
        mask = self.masks[name]
        active = int(mask.sum())
        n = min(n_to_prune(fraction, active), mask.numel() - active)
        if n == 0:
            return
        new = drop_and_grow(weight.detach(), mask, n, grow=self.method, grad=grad, generator=self.generator)
        fresh = ~new | (new & ~mask.to(new.device))  # pruned (dropped included) and grown: start from zero
        with torch.no_grad():
            weight.masked_fill_(fresh, 0.0)
            keep.copy_(new)
        mask_optimizer_state(opt, {weight: fresh})
        self.masks[name] = new.cpu()
        self.regrown += n


def _initial_masks(
    weights: Mapping[str, torch.Tensor], densities: Mapping[str, float], seed: int
) -> tuple[dict[str, torch.Tensor], torch.Generator]:
    """Random masks keeping ``round(density_l * numel_l)`` entries of each weight, drawn with ``seed``,
    and the generator of SET's growth (seeded apart from the masks' draw)."""
    from course_lib.experiments.tickets import derived_seed, random_masks  # here: experiments imports training

    counts = {n: torch.arange(w.numel()).reshape(w.shape) < round(densities[n] * w.numel()) for n, w in weights.items()}
    return random_masks(counts, seed=seed), torch.Generator().manual_seed(derived_seed(seed, 1))


def sparse_training(
    model: nn.Module,
    data: Dataset,
    density: float,
    *,
    method: str = "rigl",
    distribution: str = "erk",
    update_every: int = 100,
    alpha: float = 0.3,
    end_fraction: float = 0.75,
    epochs: int = 10,
    lr: float = 1.2e-3,
    batch_size: int = 60,
    seed: int = 0,
    mask_seed: int | None = None,
    progress: bool = True,
    threads: int | None = None,
) -> SparseTrainResult:
    """Train ``model`` sparse from scratch with SET (Mocanu et al. 2018) or RigL (Evci et al. 2020), in place.

    Random initial masks at the densities of :func:`erk_densities`, applied to the model's
    own initialization; Adam training (:func:`course_lib.training.train.train`: pruned
    weights exactly zero); every ``update_every`` steps until ``end_fraction`` of training,
    each layer drops ``round(drop_fraction(step) * active)`` weights and grows as many
    (:func:`drop_and_grow`; for RigL by the dense gradient of that step's minibatch loss),
    in place of that step's optimizer step (see the module's docstring). Grown weights start
    at zero with zero Adam moments. The model ends masked by the final masks.

    Args:
        model: a course MLP (:mod:`course_lib.training.models`) or any model
            :func:`~course_lib.training.train.train` takes (conv nets too); its prunable
            weights (2 or more dimensions) are made sparse, biases stay dense.
        data: a :class:`course_lib.training.data.Dataset`.
        density: fraction of the prunable weights kept, in (0, 1].
        method: ``"rigl"`` or ``"set"`` (:data:`METHODS`).
        distribution: ``"erk"`` or ``"uniform"`` (:data:`DISTRIBUTIONS`).
        update_every: steps between updates (RigL's ΔT), an int >= 1.
        alpha: drop fraction at step 0, in [0, 1].
        end_fraction: fraction of the run after which the masks stay fixed, in (0, 1].
        epochs, lr, batch_size, progress, threads: as :func:`~course_lib.training.train.train`.
        seed: the minibatch order (an int >= 0).
        mask_seed: the initial masks and SET's growth (an int >= 0; default ``seed``).

    Returns:
        A :class:`SparseTrainResult`. The same arguments give the same numbers.

    Raises:
        TypeError, ValueError: a bad argument (as :func:`erk_densities`, :func:`drop_fraction`
            and :func:`~course_lib.training.train.train`), checked before the model changes.
        ValueError: a weight reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` (a
            torch mask would block regrowth; the message says how to make it plain).
    """
    _check_choice(method, METHODS, "method")
    check_plain(model, "sparse_training (drops and regrows the weights themselves)")
    update_every = check_int(update_every, "update_every", 1)
    alpha, end_fraction = check_sparsity(alpha, "alpha"), _check_open_unit(end_fraction, "end_fraction")
    seed = check_seed(seed)
    mask_seed = seed if mask_seed is None else check_seed(mask_seed, "mask_seed")
    densities = erk_densities(model, density, distribution=distribution)
    cfg = train_config(
        epochs=epochs, lr=lr, batch_size=batch_size, optimizer="adam", n_train=len(check_splits(data)[0])
    )
    masks, growth = _initial_masks(prunable_weights(model), densities, mask_seed)
    hook = _DropGrow(model, masks, method, (cfg.total, update_every, alpha, end_fraction), growth)
    run = train(model, data, masks, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                progress=progress, threads=threads, _hook=hook)  # fmt: skip
    return SparseTrainResult(run, hook.masks, hook.updates, hook.regrown, densities, hook.active)
