"""n:m sparsity: in every group of m consecutive weights of a row (or input channels), keep only n.

Semi-structured sparsity as in Mishra et al. 2021, "Accelerating Sparse Deep Neural
Networks" (arXiv:2104.08378): NVIDIA's Ampere and newer GPUs run 2:4 sparse matrix
products in their sparse tensor cores (at most 2 non-zeros in every 4 consecutive
inputs of a row; ``torch.sparse.to_sparse_semi_structured``). Within each group the
``n`` largest |w| are kept (magnitude, as in NVIDIA's ASP tool). On a conv weight the
groups run along the input channels, per output channel and kernel position (NVIDIA's layout).
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
    """Keep-mask with the ``n`` largest |w| of every ``m`` consecutive inputs of a row (conv: input channels).

    The n:m pattern of Mishra et al. 2021 (2:4 on NVIDIA sparse tensor cores). Ties are broken
    by position (the earlier entry is kept), so the same input always gives the same mask.
    Where the groups run:

    * a Linear weight ``(out_features, in_features)`` (any weight that is not 4-D): along the
      last dimension, the inputs of a row;
    * a conv weight ``(out_channels, in_channels, kh, kw)`` (4-D): along the **input
      channels**: for each output channel and kernel position ``(o, :, i, j)``, each group of
      ``m`` consecutive input channels keeps ``n``. This is the layout NVIDIA's ASP tool uses
      (a conv runs as a matrix product whose reduction dimension is in_channels x kh x kw with
      the channels innermost, channels-last).

    Args:
        weight: a finite floating-point tensor; not changed. Its last dimension (its second,
            ``in_channels``, for a 4-D conv weight) must be a multiple of ``m``.
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
        ValueError: ``m < 1``, ``n`` outside [1, m], ``m`` does not divide the row length
            (the input channels of a conv weight), ``weight`` is empty or not finite, or
            ``prior`` has another shape.

    >>> nm_mask(torch.tensor([[1., -5., 3., 0.5, 2., 2., -9., 1.]]), n=2, m=4)
    tensor([[False,  True,  True, False,  True, False,  True, False]])
    >>> conv = torch.tensor([1., -5., 3., 0.5]).reshape(1, 4, 1, 1)  # 1 filter, 4 input channels, 1x1
    >>> nm_mask(conv, 2, 4).flatten()
    tensor([False,  True,  True, False])
    """
    check_weight(weight)
    n, m = _check_nm(n, m)
    conv = weight.dim() == 4
    along = weight.shape[1] if conv else weight.shape[-1]
    if along % m:
        where = "the input channels (weight.shape[1]" if conv else "the row length (weight.shape[-1]"
        raise ValueError(f"m={m} must divide {where} = {along})")
    if prior is not None:
        check_mask(prior, weight.shape, name="prior")
    scores = weight.detach().abs()
    if prior is not None:
        scores = torch.where(prior, scores, torch.full_like(scores, -1.0))
    if conv:
        scores = scores.permute(0, 2, 3, 1)  # (out, kh, kw, in): groups along the input channels
    groups = scores.reshape(-1, m)
    order = torch.argsort(-groups, dim=1, stable=True)
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(1, order[:, :n], True)
    keep = keep.reshape(scores.shape)
    if conv:
        keep = keep.permute(0, 3, 1, 2).contiguous()
    return keep if prior is None else keep & prior
