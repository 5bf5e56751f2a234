"""Structured pruning: whole neurons (rows of a Linear weight) by their L1/L2 norm,
and physical removal of pruned neurons, which gives a smaller dense model.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .masks import check_mask, check_sparsity, check_weight, n_to_prune, smallest_k_mask

__all__ = ["row_norm_mask", "row_keep", "remove_neurons", "shrink_mlp"]


def row_norm_mask(weight: torch.Tensor, sparsity: float, p: int = 2, prior: torch.Tensor | None = None) -> torch.Tensor:
    """Keep-mask pruning whole rows (neurons) of ``weight`` with the smallest L``p`` norm.

    ``round(sparsity * rows)`` rows are pruned; a row stands for one output neuron
    of a Linear layer (``weight`` has shape ``(out_features, in_features)``).
    ``p`` is 1 or 2. With ``prior``, norms are taken of the surviving weights, rows
    the prior already emptied are pruned first, and the result never revives an
    entry the prior pruned. Ties are broken by row index (earlier row pruned first).

    Agrees with ``torch.nn.utils.prune.ln_structured(module, "weight", amount=sparsity, n=p, dim=0)``.

    >>> row_norm_mask(torch.tensor([[1., 1.], [3., 0.], [0.5, 0.5]]), 1/3, p=1)
    tensor([[ True,  True],
            [ True,  True],
            [False, False]])
    """
    check_weight(weight, min_dim=2)
    s = check_sparsity(sparsity)
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"p must be 1 or 2 (L1 or L2 norm of a row), got {p!r}")
    if prior is not None:
        check_mask(prior, weight.shape, name="prior")
    rows = weight.shape[0]
    w = weight.detach() if prior is None else weight.detach() * prior
    norms = w.reshape(rows, -1).norm(p=p, dim=1)
    k = n_to_prune(s, rows)
    if prior is not None:
        dead = ~prior.reshape(rows, -1).any(dim=1)
        if k < int(dead.sum()):
            raise ValueError(
                f"sparsity={s} prunes {k} row(s) but the prior mask already emptied {int(dead.sum())}: "
                "masks only shrink"
            )
        norms = torch.where(dead, torch.full_like(norms, -1.0), norms)
    keep_rows = smallest_k_mask(norms, k)
    mask = keep_rows.reshape(rows, *([1] * (weight.dim() - 1))).expand_as(weight).clone()
    return mask if prior is None else mask & prior


def row_keep(mask: torch.Tensor) -> torch.Tensor:
    """The 1-D bool vector of rows (neurons) a mask keeps: a row is kept if any entry is.

    >>> row_keep(torch.tensor([[True, False], [False, False]]))
    tensor([ True, False])
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.dim() < 1:
        raise TypeError("mask must be a bool tensor with at least one dimension")
    return mask.reshape(mask.shape[0], -1).any(dim=1)


def remove_neurons(
    first: nn.Linear,
    second: nn.Linear,
    keep: torch.Tensor,
    activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
) -> tuple[nn.Linear, nn.Linear]:
    """Physically remove the hidden neurons of ``first -> activation -> second`` not in ``keep``.

    ``keep`` is a 1-D bool tensor over ``first``'s outputs (or a row mask of
    ``first.weight``'s shape). A removed neuron with a bias still sends the constant
    ``activation(bias)`` on; it is folded into ``second``'s bias, so the smaller
    pair computes exactly what the masked pair computes. Returns two new layers;
    the inputs are not changed.

    >>> torch.manual_seed(0); a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    <torch._C.Generator object at ...>
    >>> a2, b2 = remove_neurons(a, b, torch.tensor([True, False, True, False]))
    >>> a2.weight.shape, b2.weight.shape
    (torch.Size([2, 3]), torch.Size([2, 2]))
    """
    if not isinstance(first, nn.Linear) or not isinstance(second, nn.Linear):
        raise TypeError("first and second must be torch.nn.Linear layers")
    if second.in_features != first.out_features:
        raise ValueError(
            f"second.in_features ({second.in_features}) must equal first.out_features ({first.out_features})"
        )
    if isinstance(keep, torch.Tensor) and keep.dim() == 2:
        check_mask(keep, first.weight.shape, name="keep")
        keep = row_keep(keep)
    check_mask(keep, (first.out_features,), name="keep")
    idx = keep.nonzero().flatten()
    with torch.no_grad():
        new_first = nn.Linear(first.in_features, len(idx), bias=first.bias is not None)
        new_first.weight.copy_(first.weight[idx])
        if first.bias is not None:
            new_first.bias.copy_(first.bias[idx])
        new_second = nn.Linear(len(idx), second.out_features, bias=True)
        new_second.weight.copy_(second.weight[:, idx])
        bias = second.bias.clone() if second.bias is not None else torch.zeros(second.out_features)
        if first.bias is not None and (~keep).any():
            dropped = ~keep
            bias += second.weight[:, dropped] @ activation(first.bias[dropped])
        new_second.bias.copy_(bias)
    return new_first.to(first.weight.dtype), new_second.to(second.weight.dtype)


def shrink_mlp(model: nn.Sequential, masks: dict[str, torch.Tensor]) -> nn.Sequential:
    """A smaller dense copy of an MLP (``nn.Sequential`` of Linear / ReLU / Flatten) with
    every neuron whose weight row is fully masked removed.

    ``masks`` maps ``"<layer>.weight"`` to a keep-mask; the masks are applied to
    the copy and neurons with an all-``False`` row disappear (the output layer
    keeps all its neurons). The result computes what the masked model computes.

    >>> torch.manual_seed(0); net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    <torch._C.Generator object at ...>
    >>> small = shrink_mlp(net, {"0.weight": row_norm_mask(net[0].weight, 0.5)})
    >>> small[0].out_features, small[2].in_features
    (3, 3)
    """
    import copy

    from .masks import apply_masks

    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    for layer in model:
        if not isinstance(layer, (nn.Linear, nn.ReLU, nn.Flatten, nn.Identity)):
            raise TypeError(f"model may hold only Linear, ReLU, Flatten layers, found {type(layer).__name__}")
    small = copy.deepcopy(model)
    apply_masks(small, masks)
    names = list(small._modules)
    linear_at = [i for i, n in enumerate(names) if isinstance(small[i], nn.Linear)]
    for a, b in zip(linear_at, linear_at[1:]):
        between = [small[j] for j in range(a + 1, b)]
        if not all(isinstance(m, nn.ReLU) for m in between) or len(between) != 1:
            raise ValueError("shrink_mlp needs exactly one ReLU between consecutive Linear layers")
        key = f"{names[a]}.weight"
        keep = row_keep(masks[key]) if key in masks else torch.ones(small[a].out_features, dtype=torch.bool)
        new_a, new_b = remove_neurons(small[a], small[b], keep)
        setattr(small, names[a], new_a)
        setattr(small, names[b], new_b)
    return small
