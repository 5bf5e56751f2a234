"""Magnitude pruning: the weights with the smallest |w| are the least important.

The magnitude heuristic of Han et al. 2015 ("Learning both Weights and Connections for
Efficient Neural Networks"), layer-wise or with one threshold across layers. All three
functions are pure: they return new masks and never touch the weights.

* :func:`magnitude_mask`: one tensor;
* :func:`global_magnitude_masks`: a dict of tensors, one threshold across all of them;
* :func:`magnitude_masks`: the prunable weights of a model, layer-wise or global.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.pruning.masks import check_mask, check_weight, n_to_prune, prunable_weights, smallest_k_mask

__all__ = ["magnitude_mask", "global_magnitude_masks", "magnitude_masks", "SCOPES"]

#: How :func:`magnitude_masks` ranks: each layer alone, or all layers against one threshold.
SCOPES = ("layer", "global")


def _prior_sparsity_error(name: str, sparsity: float, pruned: int, numel: int) -> ValueError:
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

    ``sparsity`` is the *total* target: with a ``prior`` mask, what the prior
    pruned stays pruned and counts toward it, and the rest is taken from the
    smallest surviving |w|; a target that prunes fewer entries than the prior
    already did is a ``ValueError``. Ties in |w| are broken by position (earlier
    entry pruned first), so the same input always gives the same mask.

    Without a prior it agrees with
    ``torch.nn.utils.prune.l1_unstructured(module, name, amount=float(sparsity))``
    (torch's iterative pruning instead reads ``amount`` as a fraction of what remains).

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
            raise _prior_sparsity_error("sparsity", s, already, weight.numel())
    return smallest_k_mask(_scores(weight, prior), k)


def global_magnitude_masks(
    weights: Mapping[str, torch.Tensor],
    sparsity: float,
    prior: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Masks with one |w| threshold across all ``weights`` (a dict name -> tensor).

    ``round(sparsity * total)`` entries are pruned over all tensors together, so
    layers with many small weights lose more. ``prior`` (a dict of masks for the
    same names) is respected as in :func:`magnitude_mask`. Ties are broken by the
    order of ``weights`` and then by position.

    Without a prior it agrees with
    ``torch.nn.utils.prune.global_unstructured(..., pruning_method=L1Unstructured, amount=float(sparsity))``.

    >>> m = global_magnitude_masks({"a": torch.tensor([1., 9.]), "b": torch.tensor([2., 3.])}, 0.5)
    >>> m["a"], m["b"]
    (tensor([False,  True]), tensor([False,  True]))
    """
    if not isinstance(weights, Mapping):
        raise TypeError(f"weights must be a dict {{name: floating-point tensor}}, got {type(weights).__name__}")
    if not weights:
        raise ValueError("weights must be a non-empty dict {name: floating-point tensor}, got an empty one")
    for name, w in weights.items():
        check_weight(w, name=f"weights[{name!r}]")
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
            raise _prior_sparsity_error("sparsity", s, already, flat.numel())
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

    Args:
        model: any ``nn.Module``; it is not changed (pure).
        sparsity: a float in [0, 1], the sparsity of every prunable weight (``scope="layer"``)
            or of all of them together (``scope="global"``); or a dict {parameter name:
            sparsity} for some layers only, each at its own target (layer-wise only), e.g.
            from :func:`course_lib.pruning.schedules.layer_sparsities`.
        scope: ``"layer"`` (each tensor loses its sparsity of entries) or ``"global"`` (one
            |w| threshold across tensors, :func:`global_magnitude_masks`).
        prior: masks already applied, {parameter name: bool tensor}; what is pruned stays
            pruned, so the targets are totals, not the extra fraction.

    Returns:
        {parameter name: bool tensor of the weight's shape, ``True`` = keep}, for every
        prunable weight (a float ``sparsity``) or for the names in the dict.

    Raises:
        ValueError: an unknown ``scope``, a sparsity outside [0, 1] or below a prior mask's,
            a dict naming parameters the model lacks, or a dict with ``scope="global"``.
        TypeError: ``model`` is not an ``nn.Module``, or ``sparsity`` is neither a number
            nor a dict.

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
    prior = dict(prior or {})
    if isinstance(sparsity, Mapping):
        if scope != "layer":
            raise ValueError("a dict of per-layer sparsities needs scope='layer'")
        if not sparsity:
            raise ValueError("sparsity must be a number or a non-empty dict {parameter name: sparsity}")
        unknown = [n for n in sparsity if n not in weights]
        if unknown:
            raise ValueError(f"sparsity names unknown parameter(s) {unknown}; the model has {sorted(weights)}")
        return {n: magnitude_mask(weights[n], s, prior=prior.get(n)) for n, s in sparsity.items()}
    if scope == "global":
        return global_magnitude_masks(weights, sparsity, prior=prior)
    return {n: magnitude_mask(w, sparsity, prior=prior.get(n)) for n, w in weights.items()}
