"""n:m sparsity: in every group of m consecutive weights of a row, keep only n.

NVIDIA's Ampere GPUs run 2:4 sparse matrix products in hardware (at most 2
non-zeros in every 4 consecutive inputs of a row).
"""

from __future__ import annotations

import numbers

import torch

from course_lib.pruning.masks import check_mask, check_weight

__all__ = ["nm_mask"]


def _check_nm(n, m) -> tuple[int, int]:
    for name, v in (("n", n), ("m", m)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(v).__name__} {v!r}")
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    if not 1 <= n <= m:
        raise ValueError(f"n must be in [1, m] = [1, {m}], got n={n}")
    return int(n), int(m)


def nm_mask(weight: torch.Tensor, n: int = 2, m: int = 4, prior: torch.Tensor | None = None) -> torch.Tensor:
    """Keep-mask with the ``n`` largest |w| of every ``m`` consecutive inputs of each row.

    ``n`` and ``m`` are ints with ``1 <= n <= m``. Groups run along the last
    dimension (a Linear layer's inputs), whose length must be a multiple of ``m``;
    without a prior the sparsity is exactly ``1 - n/m``. Ties are broken by
    position (the earlier entry is kept). With ``prior``, pruned entries rank
    last and stay pruned, so a group keeps ``min(n, survivors)`` entries.

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
