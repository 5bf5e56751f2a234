"""n:m sparsity: in every group of m consecutive weights of a row, keep only n.

Semi-structured sparsity as in Mishra et al. 2021, "Accelerating Sparse Deep Neural
Networks" (arXiv:2104.08378): NVIDIA's Ampere and newer GPUs run 2:4 sparse matrix
products in their sparse tensor cores (at most 2 non-zeros in every 4 consecutive
inputs of a row; ``torch.sparse.to_sparse_semi_structured``). Within each group the
``n`` largest |w| are kept (magnitude, as in NVIDIA's ASP tool).
"""

from __future__ import annotations

import numbers

import torch

from course_lib.pruning.masks import check_mask, check_weight

__all__ = ["nm_mask"]


def _check_nm(n: object, m: object) -> tuple[int, int]:
    """``(n, m)`` as ints, or raise unless ``1 <= n <= m``."""
    checked = []
    for name, v in (("n", n), ("m", m)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(v).__name__} {v!r}")
        checked.append(int(v))
    kept, group = checked
    if group < 1:
        raise ValueError(f"m must be >= 1, got {group}")
    if not 1 <= kept <= group:
        raise ValueError(f"n must be in [1, m] = [1, {group}], got n={kept}")
    return kept, group


def nm_mask(weight: torch.Tensor, n: int = 2, m: int = 4, prior: torch.Tensor | None = None) -> torch.Tensor:
    """Keep-mask with the ``n`` largest |w| of every ``m`` consecutive inputs of each row.

    The n:m pattern of Mishra et al. 2021 (2:4 on NVIDIA sparse tensor cores). Groups run
    along the last dimension (a Linear layer's inputs). Ties are broken by position (the
    earlier entry is kept), so the same input always gives the same mask.

    Args:
        weight: a finite floating-point tensor whose last dimension (length of a row) is a
            multiple of ``m``, e.g. a Linear weight ``(out_features, in_features)``; not changed.
        n: how many entries each group keeps, an int with ``1 <= n <= m``.
        m: the group length, an int >= 1.
        prior: a bool mask of ``weight``'s shape already applied: its pruned entries rank
            last and stay pruned, so a group keeps ``min(n, survivors)`` entries.

    Returns:
        A bool tensor of ``weight``'s shape, ``True`` = keep. Without a prior every group
        keeps exactly ``n``, so the sparsity is exactly ``1 - n/m``.

    Raises:
        TypeError: ``n`` or ``m`` is not an int (``bool`` included), ``weight`` is not a
            floating-point tensor, or ``prior`` is not a bool tensor.
        ValueError: ``m < 1``, ``n`` outside [1, m], ``m`` does not divide the row length,
            ``weight`` is empty or not finite, or ``prior`` has another shape.

    >>> nm_mask(torch.tensor([[1., -5., 3., 0.5, 2., 2., -9., 1.]]), n=2, m=4)
    tensor([[False,  True,  True, False,  True, False,  True, False]])
    """
    check_weight(weight)
    n, m = _check_nm(n, m)
    cols = weight.shape[-1]
    if cols % m:
        raise ValueError(f"m={m} must divide the row length (weight.shape[-1] = {cols})")
    if prior is not None:
        check_mask(prior, weight.shape, name="prior")
    scores = weight.detach().abs()
    if prior is not None:
        scores = torch.where(prior, scores, torch.full_like(scores, -1.0))
    groups = scores.reshape(-1, m)
    order = torch.argsort(-groups, dim=1, stable=True)
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(1, order[:, :n], True)
    keep = keep.reshape(weight.shape)
    return keep if prior is None else keep & prior
