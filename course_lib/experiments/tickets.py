"""Finding a lottery ticket, one round at a time: prune by magnitude, rewind, train.

One round of iterative magnitude pruning (IMP) with rewinding (Frankle & Carbin 2019,
"The Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural Networks"): prune a
fraction of the remaining weights of each layer by magnitude (Han et al. 2015), keeping
the previous mask; *rewind* the survivors to their values at initialization, or at an
early iteration ``k`` of the dense run (late rewinding, Frankle et al. 2020, "Linear Mode
Connectivity and the Lottery Ticket Hypothesis"); train again.

* :func:`prune_and_rewind`: the prune-rewind step, shared by :func:`imp_round` (one
  network, trained with :func:`course_lib.training.train.train`) and by
  :func:`course_lib.experiments.lottery.lottery_study` (every seed and control of a round
  trained together);
* :func:`start_variant`: where the ticket and its two controls start (``"reinit"``: the
  ticket's mask on a fresh initialization; ``"random_prune"``: a random mask with the
  ticket's per-layer counts, :func:`random_masks`, on the ticket's initial weights).

>>> from course_lib.training.models import mlp
>>> net = mlp([3, 4, 2], seed=0); init = mlp([3, 4, 2], seed=1).state_dict()
>>> masks = prune_and_rewind(net, init, {"fc1.weight": 0.5})
>>> int(masks["fc1.weight"].sum()), bool((net.fc1.weight[~masks["fc1.weight"]] == 0).all())
(6, True)
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib._checks import check_int
from course_lib.experiments.lottery_result import VARIANTS, TensorDict
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.masks import apply_masks, check_mask, check_masks, prunable_weights
from course_lib.pruning.reparam import PRUNE, check_plain
from course_lib.pruning.schedules import layer_sparsities
from course_lib.training.data import Dataset
from course_lib.training.train import TrainResult, train

__all__ = ["derived_seed", "random_masks", "check_state", "rewind", "prune_and_rewind", "imp_round", "start_variant"]


def derived_seed(*parts: int) -> int:
    """A seed in [0, 2**31) derived from integers (e.g. study seed, round, purpose); deterministic.

    Uses numpy's ``SeedSequence``, so nearby inputs give unrelated seeds.

    Args:
        *parts: non-negative integers (anything ``int()`` accepts).

    Returns:
        An ``int`` in [0, 2**31), the same for the same parts in the same order.

    Raises:
        ValueError: a part is negative (``SeedSequence`` takes non-negative entropy).

    >>> derived_seed(0, 1, 2) == derived_seed(0, 1, 2) != derived_seed(0, 2, 1)
    True
    """
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


def random_masks(masks: Mapping[str, torch.Tensor], seed: int = 0) -> TensorDict:
    """Random masks with exactly as many kept entries per tensor as ``masks`` (a pure function).

    The ``"random_prune"`` control of Frankle & Carbin 2019: the ticket's per-layer sparsity
    at positions drawn uniformly (``torch.randperm`` with a generator seeded by ``seed``).

    Args:
        masks: {name: bool tensor}, ``True`` = keep.
        seed: the seed of the draw; the same seed gives the same masks.

    Returns:
        {name: bool tensor of the same shape with the same number of ``True``}.

    Raises:
        TypeError/ValueError: a mask is not a bool tensor.

    >>> m = random_masks({"w": torch.tensor([True, True, False, False, False])}, seed=0)
    >>> int(m["w"].sum())
    2
    """
    gen = torch.Generator().manual_seed(int(seed))
    out = {}
    for name, mask in masks.items():
        check_mask(mask, mask.shape, name=f"masks[{name!r}]")
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[torch.randperm(mask.numel(), generator=gen)[: int(mask.sum())]] = True
        out[name] = keep.reshape(mask.shape)
    return out


def check_state(model: nn.Module, state: Mapping[str, torch.Tensor], name: str = "state") -> None:
    """Raise ``ValueError`` unless ``state`` has exactly the names and shapes of ``model.state_dict()``.

    >>> from course_lib.training.models import mlp
    >>> check_state(mlp([2, 1]), {})
    Traceback (most recent call last):
    ...
    ValueError: state must hold exactly the model's entries: missing ['fc1.bias', 'fc1.weight'], unexpected []
    """
    current = model.state_dict()
    missing, extra = sorted(set(current) - set(state)), sorted(set(state) - set(current))
    if missing or extra:
        raise ValueError(f"{name} must hold exactly the model's entries: missing {missing}, unexpected {extra}")
    wrong = [n for n, t in state.items() if tuple(t.shape) != tuple(current[n].shape)]
    if wrong:
        raise ValueError(f"{name} has tensors of another shape than the model's: {wrong}")


def rewind(model: nn.Module, state: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor] | None) -> None:
    """Set ``model``'s weights to ``state`` (a saved ``state_dict``) and zero the pruned ones, in place.

    This is the LTH's reset (Frankle & Carbin 2019): the surviving weights take their saved
    values exactly (at initialization, or at iteration ``k`` for late rewinding), the
    others are zero. ``masks`` ``None`` or empty: no pruning.

    Args:
        model: the network to reset, in place.
        state: a ``state_dict`` of ``model`` (same names and shapes), e.g. saved at iteration k.
        masks: {parameter name: bool tensor of that parameter's shape}, ``True`` = keep.

    A model pruned by ``torch.nn.utils.prune`` is rewound with its own ``state_dict`` (holding
    ``weight_orig`` and ``weight_mask``), and its masks (named ``"fc1.weight"``) are combined into
    ``weight_mask`` (:func:`course_lib.pruning.masks.apply_masks`).

    Raises:
        ValueError: ``state`` misses or adds names, or has a tensor of another shape; a mask
            names an unknown parameter or has the wrong shape, or a weight computed by
            ``torch.nn.utils.parametrize``. Checked before anything is written: on an error
            ``model`` is unchanged.
        TypeError: a mask is not a bool tensor.

    >>> import copy
    >>> from course_lib.training.models import mlp
    >>> net = mlp([2, 2, 1], seed=0); init = copy.deepcopy(net.state_dict())
    >>> with torch.no_grad():
    ...     _ = net.fc1.weight.add_(1.0)
    >>> rewind(net, init, {"fc1.weight": torch.tensor([[True, False], [True, True]])})
    >>> net.fc1.weight.data.equal(init["fc1.weight"] * torch.tensor([[1., 0.], [1., 1.]]))
    True
    """
    check_state(model, state)
    checked = check_masks(model, masks) if masks else {}
    check_plain(model, "rewind with masks", names=checked, allow=(PRUNE,))  # before anything is written
    model.load_state_dict(state)
    if checked:
        apply_masks(model, checked)


def prune_and_rewind(
    model: nn.Module,
    rewind_state: Mapping[str, torch.Tensor],
    sparsities: Mapping[str, float],
    prior: Mapping[str, torch.Tensor] | None = None,
) -> TensorDict:
    """The step between two trainings of IMP: prune the trained ``model`` by magnitude, rewind it.

    Args:
        model: the trained network; rewound in place.
        rewind_state: the ``state_dict`` to rewind to (initialization or iteration ``k``).
        sparsities: {parameter name: total sparsity in [0, 1] after this round}, e.g.
            :func:`course_lib.pruning.schedules.layer_sparsities`.
        prior: the previous round's masks; what they pruned stays pruned.

    Returns:
        The new masks {name: bool tensor}, layer-wise magnitude masks of the *trained* weights
        (:func:`course_lib.pruning.magnitude.magnitude_masks`); ``model`` then holds
        ``rewind_state`` under them.

    Raises:
        ValueError: unknown parameter names, or a sparsity below the prior's.

    >>> from course_lib.training.models import mlp
    >>> net = mlp([3, 4, 2], seed=0); init = mlp([3, 4, 2], seed=1).state_dict()
    >>> m = prune_and_rewind(net, init, {"fc1.weight": 0.5})
    >>> int((~m["fc1.weight"]).sum()), net.fc1.weight.data.equal(init["fc1.weight"] * m["fc1.weight"])
    (6, True)
    """
    masks = magnitude_masks(model, sparsities, prior=prior)
    rewind(model, rewind_state, masks)
    return masks


def imp_round(
    model: nn.Module,
    data: Dataset,
    masks: Mapping[str, torch.Tensor] | None,
    rewind_state: Mapping[str, torch.Tensor],
    rates: Mapping[str, float] | float,
    pruning_round: int,
    **train_kwargs: Any,
) -> tuple[TensorDict, TrainResult]:
    """One IMP round on a trained ``model``: :func:`prune_and_rewind`, then retrain (Frankle & Carbin 2019).

    Args:
        model: the trained network; pruned, rewound and retrained in place.
        data: the :class:`~course_lib.training.data.Dataset` to train on.
        masks: the previous round's masks (``None`` before the first round).
        rewind_state: the ``state_dict`` to rewind to.
        rates: per layer, the fraction of the *remaining* weights pruned per round
            ({name: rate}), or one rate for every prunable weight.
        pruning_round: this round's number r >= 1: each layer's total sparsity is
            ``1 - (1 - rate) ** r``.
        **train_kwargs: for :func:`course_lib.training.train.train` (epochs, lr, seed, ...).

    Returns:
        ``(new_masks, run)``: the masks and the retraining's
        :class:`~course_lib.training.train.TrainResult`.

    Raises:
        ValueError: a rate outside [0, 1), ``pruning_round`` < 1, unknown parameter names, or a
            training argument :func:`~course_lib.training.train.train` rejects.
        TypeError: ``rates`` is neither a number nor a dict, or an unknown training argument.
        On any of these ``model`` is left as it was.

    >>> import copy
    >>> from course_lib.training.data import load
    >>> from course_lib.training.models import mlp
    >>> data = load("digits"); net = mlp([64, 32, 10], seed=0)
    >>> init = copy.deepcopy(net.state_dict())
    >>> _ = train(net, data, epochs=1, progress=False)
    >>> masks, run = imp_round(net, data, None, init, 0.5, pruning_round=1, epochs=1, progress=False)
    >>> round(float((~masks["fc1.weight"]).float().mean()), 2)
    0.5
    """
    if isinstance(rates, Mapping):
        per_layer = dict(rates)
    elif isinstance(rates, numbers.Real) and not isinstance(rates, bool):
        per_layer = {n: float(rates) for n in prunable_weights(model)}
    else:
        raise TypeError(f"rates must be a number or a dict {{parameter name: rate}}, got {type(rates).__name__}")
    sparsities = layer_sparsities(per_layer, check_int(pruning_round, "pruning_round", 1))
    before = copy.deepcopy(model.state_dict())
    try:
        new_masks = prune_and_rewind(model, rewind_state, sparsities, prior=masks)
        return new_masks, train(model, data, new_masks, **train_kwargs)
    except (TypeError, ValueError):  # bad input (train checks its arguments before any step)
        model.load_state_dict(before)
        raise


def start_variant(
    variant: str,
    build: Callable[[int], nn.Module],
    seed: int,
    pruning_round: int,
    rewind_state: Mapping[str, torch.Tensor],
    masks: Mapping[str, torch.Tensor],
) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """The network a ``variant`` of round ``pruning_round`` starts training from, and its masks.

    The one place that defines the controls of Frankle & Carbin 2019 and their seeds.

    Args:
        variant: ``"ticket"`` (``masks`` on ``rewind_state``), ``"reinit"`` (``masks`` on a
            fresh network of seed ``derived_seed(seed, pruning_round, 1)``) or ``"random_prune"``
            (:func:`random_masks` of seed ``derived_seed(seed, pruning_round, 2)`` on ``rewind_state``).
        build: ``build(seed)`` makes a fresh network.
        seed: the study seed the ticket belongs to.
        pruning_round: the round (it seeds the controls).
        rewind_state: the ticket's saved weights.
        masks: the ticket's masks.

    Returns:
        ``(network, masks)``; the network's pruned weights are zero (``"reinit"``: once trained).

    Raises:
        ValueError: ``variant`` is not one of :data:`VARIANTS`.

    >>> from course_lib.training.models import mlp
    >>> build = lambda s: mlp([3, 4, 2], seed=s)
    >>> init = build(0).state_dict(); m = magnitude_masks(build(0), {"fc1.weight": 0.5})
    >>> net, masks = start_variant("ticket", build, 0, 1, init, m)
    >>> bool((net.fc1.weight[~masks["fc1.weight"]] == 0).all())
    True
    >>> net, masks = start_variant("random_prune", build, 0, 1, init, m)
    >>> int(masks["fc1.weight"].sum()) == int(m["fc1.weight"].sum())
    True
    """
    if variant == "ticket":
        net = build(seed)
        rewind(net, rewind_state, masks)
        return net, dict(masks)
    if variant == "reinit":
        return build(derived_seed(seed, pruning_round, 1)), dict(masks)
    if variant == "random_prune":
        job_masks = random_masks(masks, seed=derived_seed(seed, pruning_round, 2))
        net = build(seed)
        rewind(net, rewind_state, job_masks)
        return net, job_masks
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
