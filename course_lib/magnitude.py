"""Magnitude pruning: the weights with the smallest |w| are the least important.

Both functions are pure: they return new masks and never touch the weights.
"""
from __future__ import annotations

from typing import Mapping

import torch

from .masks import check_mask, check_sparsity, check_weight, n_to_prune, smallest_k_mask

__all__ = ["magnitude_mask", "global_magnitude_masks"]


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
    return {n: piece.reshape(weights[n].shape).clone() for n, piece in zip(names, pieces)}
