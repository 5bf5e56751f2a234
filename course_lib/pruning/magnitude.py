"""Magnitude pruning: the weights with the smallest |w| are the least important.

The magnitude criterion of Han et al. 2015 ("Learning both Weights and Connections for
Efficient Neural Networks", NeurIPS), layer-wise or with one threshold across layers
(global, as Frankle & Carbin 2019 do for VGG-19 and ResNet-18). All three functions are pure:
they return new masks and never touch the weights. Ties in |w| are broken by position
(the earlier entry is pruned first), so the same weights always give the same mask.

* :func:`magnitude_mask`: one tensor;
* :func:`global_magnitude_masks`: a dict of tensors, one threshold across all of them;
* :func:`magnitude_masks`: the prunable weights of a model, layer-wise or global.

They agree with ``torch.nn.utils.prune.l1_unstructured`` and ``global_unstructured``
(tests/test_oracle_torch_prune.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.pruning.masks import (
    check_mask,
    check_weight,
    check_weights,
    n_to_prune,
    prunable_weights,
    smallest_k_mask,
)

__all__ = ["magnitude_mask", "global_magnitude_masks", "magnitude_masks", "SCOPES"]

#: How :func:`magnitude_masks` ranks: each layer alone, or all layers against one threshold.
SCOPES = ("layer", "global")


def prior_sparsity_error(name: str, sparsity: float, pruned: int, numel: int) -> ValueError:
    """The error for a target ``sparsity`` below what a prior mask already pruned (masks only shrink)."""
    return ValueError(
        f"{name}={sparsity} is below the prior mask's sparsity {pruned / numel:.4f}: "
        "masks only shrink, so the target must be at least what is already pruned"
    )


def _scores(weight: torch.Tensor, prior) -> torch.Tensor:
    """|w|, with already-pruned entries ranked first (score -1 < any |w|)."""
    scores = weight.detach().abs()
    if prior is not None:
        scores = torch.where(prior, scores, torch.full_like(scores, -1.0))
    return scores


def magnitude_mask(weight: torch.Tensor, sparsity: float, prior: torch.Tensor | None = None) -> torch.Tensor:
    """Keep-mask pruning the ``round(sparsity * numel)`` entries of ``weight`` with smallest |w|.

    Han et al. 2015's magnitude criterion on one tensor. Ties in |w| are broken by
    position (earlier entry pruned first), so the same input always gives the same mask.
    Without a prior it agrees with
    ``torch.nn.utils.prune.l1_unstructured(module, name, amount=float(sparsity))``
    (torch's iterative pruning instead reads ``amount`` as a fraction of what remains,
    a *rate*).

    Args:
        weight: a finite floating-point tensor of any shape (not changed).
        sparsity: the *total* fraction to prune, a float in [0, 1] (a one-element tensor
            is read as its number).
        prior: a bool mask of ``weight``'s shape already applied: what it pruned stays
            pruned and counts toward ``sparsity``; the rest is taken from the smallest
            surviving |w|.

    Returns:
        A bool tensor of ``weight``'s shape, ``True`` = keep, with exactly
        ``round(sparsity * numel)`` entries ``False``.

    Raises:
        TypeError: ``weight`` is not a floating-point tensor, ``sparsity`` is not a number,
            or ``prior`` is not a bool tensor.
        ValueError: ``weight`` is empty or not finite, ``sparsity`` is outside [0, 1], ``prior``
            has another shape, or ``sparsity`` prunes fewer entries than ``prior`` already did.

    >>> magnitude_mask(torch.tensor([10., -8., 0.1]), 1/3)
    tensor([ True,  True, False])
    >>> magnitude_mask(torch.tensor([10., -8., 0.1, 5.]), 0.5, prior=torch.tensor([True, True, True, False]))
    tensor([ True,  True, False, False])
    """
    check_weight(weight)
    s = check_sparsity(sparsity)
    if prior is not None:
        check_mask(prior, weight.shape, name="prior")
    k = n_to_prune(s, weight.numel())
    if prior is not None:
        already = int((~prior).sum().item())
        if k < already:
            raise prior_sparsity_error("sparsity", s, already, weight.numel())
    return smallest_k_mask(_scores(weight, prior), k)


def global_magnitude_masks(
    weights: Mapping[str, torch.Tensor],
    sparsity: float,
    prior: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Magnitude masks with one |w| threshold across all ``weights`` (global pruning).

    ``round(sparsity * total)`` entries are pruned over all tensors together, so layers
    with many small weights lose more. Ties are broken by the order of ``weights``, then
    by position. Without a prior it agrees with
    ``torch.nn.utils.prune.global_unstructured(..., pruning_method=L1Unstructured, amount=float(sparsity))``.

    Args:
        weights: a non-empty dict {name: finite floating-point tensor}, any shapes.
        sparsity: the total fraction to prune over all tensors, a float in [0, 1].
        prior: masks already applied, {name: bool tensor} for exactly the names of
            ``weights``; respected as in :func:`magnitude_mask`.

    Returns:
        {name: bool tensor of that weight's shape, ``True`` = keep}, in the order of ``weights``.

    Raises:
        TypeError: ``weights`` or ``prior`` is not a dict, or holds a tensor of the wrong dtype.
        ValueError: ``weights`` is empty, ``prior`` names differ from ``weights``', or as
            :func:`magnitude_mask`.

    >>> m = global_magnitude_masks({"a": torch.tensor([1., 9.]), "b": torch.tensor([2., 3.])}, 0.5)
    >>> m["a"], m["b"]
    (tensor([False,  True]), tensor([False,  True]))
    """
    check_weights(weights)
    s = check_sparsity(sparsity)
    if prior is not None:
        if not isinstance(prior, Mapping):
            raise TypeError(f"prior must be a dict {{name: bool tensor}}, got {type(prior).__name__}")
        if set(prior) != set(weights):
            raise ValueError(
                f"prior must have the same names as weights; missing {sorted(set(weights) - set(prior))}, "
                f"unknown {sorted(set(prior) - set(weights))}"
            )
        for name, w in weights.items():
            check_mask(prior[name], w.shape, name=f"prior[{name!r}]")
    names = list(weights)
    flat = torch.cat([_scores(weights[n], None if prior is None else prior[n]).reshape(-1) for n in names])
    k = n_to_prune(s, flat.numel())
    if prior is not None:
        already = sum(int((~prior[n]).sum().item()) for n in names)
        if k < already:
            raise prior_sparsity_error("sparsity", s, already, flat.numel())
    keep = smallest_k_mask(flat, k)
    pieces = keep.split([weights[n].numel() for n in names])
    # clone: each mask owns its storage (not a view into one long vector)
    return {n: piece.reshape(weights[n].shape).clone() for n, piece in zip(names, pieces, strict=False)}


def magnitude_masks(
    model: nn.Module,
    sparsity: float | Mapping[str, float],
    *,
    scope: str = "layer",
    prior: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Magnitude masks of a model's prunable weights (every weight with 2 or more dims).

    The one function for "magnitude masks of a model's layers" (Han et al. 2015):
    :func:`magnitude_mask` per tensor, or :func:`global_magnitude_masks` across them. The
    weights ranked are those the model computes with (:func:`~course_lib.pruning.masks.prunable_weights`):
    under ``torch.nn.utils.prune``, ``weight_orig * weight_mask``, named ``"fc1.weight"``.

    Args:
        model: any ``nn.Module``; it is not changed (pure).
        sparsity: a float in [0, 1], the sparsity of every prunable weight (``scope="layer"``)
            or of all of them together (``scope="global"``); or a dict {parameter name:
            sparsity} for some layers only, each at its own target (layer-wise only), e.g.
            from :func:`course_lib.pruning.schedules.layer_sparsities`.
        scope: ``"layer"`` (each tensor loses its sparsity of entries) or ``"global"`` (one
            |w| threshold across tensors, :func:`global_magnitude_masks`).
        prior: masks already applied, {parameter name: bool tensor} for some or all of the
            prunable weights; what is pruned stays pruned, so the targets are totals, not the
            extra fraction.

    Returns:
        {parameter name: bool tensor of the weight's shape, ``True`` = keep}, for every
        prunable weight (a float ``sparsity``) or for the names in the dict.

    Raises:
        ValueError: an unknown ``scope``, a sparsity outside [0, 1] or below a prior mask's,
            a dict (``sparsity`` or ``prior``) naming parameters that are not prunable weights
            of the model, or a dict of sparsities with ``scope="global"``.
        TypeError: ``model`` is not an ``nn.Module``, ``sparsity`` is neither a number nor a
            dict, or ``prior`` is not a dict of bool masks.

    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> m = magnitude_masks(net, 0.5)
    >>> [round(float((~v).float().mean()), 2) for v in m.values()]
    [0.5, 0.5]
    >>> int((~magnitude_masks(net, {"0.weight": 0.25})["0.weight"]).sum())
    8
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    weights = {n: p.detach() for n, p in prunable_weights(model).items()}
    masks = _check_model_prior(weights, prior)
    if isinstance(sparsity, Mapping):
        if scope != "layer":
            raise ValueError("a dict of per-layer sparsities needs scope='layer'")
        if not sparsity:
            raise ValueError("sparsity must be a number or a non-empty dict {parameter name: sparsity}")
        unknown = [n for n in sparsity if n not in weights]
        if unknown:
            raise ValueError(f"sparsity names unknown parameter(s) {unknown}; the model has {sorted(weights)}")
        return {n: _layer_mask(n, weights[n], s, masks.get(n), f"sparsity[{n!r}]") for n, s in sparsity.items()}
    s = check_sparsity(sparsity)
    if scope == "global" and weights:
        # one threshold: layers without a prior mask take part with nothing pruned yet
        full = {n: masks.get(n, torch.ones_like(w, dtype=torch.bool)) for n, w in weights.items()}
        return global_magnitude_masks(weights, s, prior=full if masks else None)
    return {n: _layer_mask(n, w, s, masks.get(n), "sparsity") for n, w in weights.items()}


def _layer_mask(
    name: str, weight: torch.Tensor, sparsity: object, prior: torch.Tensor | None, sparsity_name: str
) -> torch.Tensor:
    """:func:`magnitude_mask` of one layer of a model, with errors that name the layer."""
    check_weight(weight, name=f"weight {name!r}")
    s = check_sparsity(sparsity, name=sparsity_name)
    if prior is not None:
        check_mask(prior, weight.shape, name=f"prior[{name!r}]")
    return magnitude_mask(weight, s, prior=prior)


def _check_model_prior(weights: Mapping[str, torch.Tensor], prior: object) -> dict[str, torch.Tensor]:
    """``prior`` as a dict (empty for ``None``), or raise unless it names prunable weights only."""
    if prior is None:
        return {}
    if not isinstance(prior, Mapping):
        raise TypeError(f"prior must be None or a dict {{parameter name: bool tensor}}, got {type(prior).__name__}")
    unknown = [n for n in prior if n not in weights]
    if unknown:
        raise ValueError(f"prior names unknown parameter(s) {unknown}; the prunable weights are {sorted(weights)}")
    return dict(prior)
