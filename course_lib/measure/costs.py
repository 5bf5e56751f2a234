"""The costs of a pruned MLP in the four ways the course stores it: size, MACs, energy.

:func:`pruned_variants` builds the four (dense, masked, CSR, neurons removed) and
:func:`pruning_costs` measures each with :mod:`course_lib.measure.size`,
:mod:`course_lib.measure.work` and :mod:`course_lib.measure.energy`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.measure.energy import energy_per_inference
from course_lib.measure.size import (
    disk_bytes,
    model_bytes,
    nonzero_count,
    param_count,
)
from course_lib.measure.work import macs
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.masks import prunable_weights
from course_lib.pruning.structured import row_norm_mask, shrink_mlp

__all__ = ["pruned_variants", "pruning_costs"]


def pruned_variants(model: nn.Sequential, sparsity: float) -> dict[str, tuple[dict[str, torch.Tensor], str]]:
    """The four ways the course stores ``model`` pruned at ``sparsity``: name -> (masks, fmt).

    * ``"dense"``: nothing pruned;
    * ``"masked"``: ``sparsity`` of every layer's weights zeroed by magnitude
      (:func:`course_lib.magnitude_masks`, Han et al. 2015), still stored dense;
    * ``"csr"``: the same masks, stored in CSR;
    * ``"neurons removed"``: ``sparsity`` of every hidden layer's neurons (rows)
      pruned by L2 norm (:func:`course_lib.row_norm_mask`) and physically removed.

    Args:
        model: an ``nn.Sequential`` MLP.
        sparsity: fraction of each layer's weights (or hidden neurons) pruned, in [0, 1].

    Returns:
        Variant name -> (masks: parameter name -> bool keep-mask, fmt for
        :func:`course_lib.measure.size.model_bytes`).

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential``; ``sparsity`` is not a number.
        ValueError: ``sparsity`` outside [0, 1].

    >>> list(pruned_variants(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)), 0.5))
    ['dense', 'masked', 'csr', 'neurons removed']
    """
    sparsity = check_sparsity(sparsity)
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    weights = prunable_weights(model)
    weight_masks = magnitude_masks(model, sparsity)
    row_masks = {k: row_norm_mask(w, sparsity) for k, w in list(weights.items())[:-1]}
    return {
        "dense": ({}, "dense"),
        "masked": (weight_masks, "dense"),
        "csr": (weight_masks, "csr"),
        "neurons removed": (row_masks, "shrunk"),
    }


def pruning_costs(
    model: nn.Sequential, sparsity: float, cache_bytes: int = 0, batch_size: int = 1
) -> dict[str, dict[str, Any]]:
    """Size, work and energy of each of :func:`pruned_variants` of ``model`` at ``sparsity``.

    Args:
        model: an ``nn.Sequential`` MLP.
        sparsity: as in :func:`pruned_variants`.
        cache_bytes, batch_size: as in :func:`course_lib.measure.energy.energy_per_inference`.

    Returns:
        Variant name -> ``memory_bytes`` and ``disk_bytes`` (bytes,
        :func:`~course_lib.measure.size.model_bytes`, :func:`~course_lib.measure.size.disk_bytes`),
        ``params`` stored as numbers (weights + biases; CSR indices not included),
        ``macs`` per sample as the format computes them (dense multiplies zeros
        too), and ``energy`` (an :class:`~course_lib.measure.energy.EnergyBreakdown`, pJ).

    Raises:
        As :func:`pruned_variants` and ``energy_per_inference``.

    >>> from course_lib.training.models import lenet_300_100
    >>> c = pruning_costs(lenet_300_100(), 0.9)
    >>> c["masked"]["memory_bytes"] == c["dense"]["memory_bytes"] > c["csr"]["memory_bytes"]
    True
    """
    out = {}
    for name, (variant_masks, variant_fmt) in pruned_variants(model, sparsity).items():
        masks: dict[str, torch.Tensor] | None = variant_masks
        fmt = variant_fmt
        if fmt == "shrunk":  # measure the smaller dense model itself (shrink once)
            counted, masks, fmt = shrink_mlp(model, variant_masks), None, "dense"
            n_params = param_count(counted)
        else:
            counted = model
            n_params = param_count(model) if fmt == "dense" else nonzero_count(model, masks)
        out[name] = {
            "memory_bytes": model_bytes(counted, masks, fmt),
            "disk_bytes": disk_bytes(counted, masks, fmt),
            "params": n_params,
            "macs": macs(counted, masks, skip_zeros=fmt != "dense"),
            "energy": energy_per_inference(counted, masks, fmt, cache_bytes=cache_bytes, batch_size=batch_size),
        }
    return out
