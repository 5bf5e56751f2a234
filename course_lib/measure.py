"""Why prune, measured: size, work (MACs/FLOPs), latency and energy, in one namespace.

``from course_lib import measure`` gives everything; each concern lives in its
own short module:

* :mod:`course_lib.size`: parameter and non-zero counts, bytes in memory and on
  disk, stored dense, as CSR (int32 indices) or with neurons removed;
* :mod:`course_lib.macs`: multiply-accumulates per sample, dense or skipping zeros;
* :mod:`course_lib.latency`: time per batch (warm-up, repeats, median, spread),
  and sweeps of latency against sparsity;
* :mod:`course_lib.sparse`: a pruned MLP run in CSR, or 2:4 on a suitable GPU;
* :mod:`course_lib.energy`: an energy estimate per inference from Horowitz's
  45 nm table (ISSCC 2014).

:func:`pruning_costs` puts them together for the four ways the course stores a
pruned MLP (:func:`pruned_variants`).

>>> from course_lib.models import lenet_300_100
>>> net = lenet_300_100()
>>> param_count(net), macs(net, skip_zeros=False), model_bytes(net)
(266610, 266200, 1066440)
"""
from __future__ import annotations

from torch import nn

from .energy import HOROWITZ_45NM, EnergyBreakdown, energy_per_inference, energy_table
from .latency import (LatencyStats, SpeedSweep, break_even_sparsity, compare_latency, example_input, latency,
                      speed_sweep)
from .macs import flops, layer_macs, macs
from .magnitude import magnitude_mask
from .masks import check_sparsity, prunable_weights
from .size import (FORMATS, csr_bytes, csr_tensor_bytes, disk_bytes, masked_state, model_bytes,
                   nonzero_count, param_count, to_csr)
from .sparse import CSRMLP, csr_mlp, semi_structured_mlp, semi_structured_support
from .structured import row_norm_mask, shrink_mlp

__all__ = [
    "pruned_variants", "pruning_costs",
    "param_count", "nonzero_count", "masked_state", "csr_bytes", "to_csr", "csr_tensor_bytes",
    "model_bytes", "disk_bytes", "FORMATS",
    "layer_macs", "macs", "flops",
    "latency", "compare_latency", "break_even_sparsity", "speed_sweep", "SpeedSweep", "example_input", "LatencyStats", "csr_mlp", "CSRMLP",
    "semi_structured_support", "semi_structured_mlp",
    "HOROWITZ_45NM", "energy_table", "EnergyBreakdown", "energy_per_inference",
]


def pruned_variants(model: nn.Sequential, rate: float) -> dict[str, tuple[dict, str]]:
    """The four ways the course stores ``model`` pruned at ``rate``: name -> (masks, fmt).

    * ``"dense"``: nothing pruned;
    * ``"masked"``: ``rate`` of every layer's weights zeroed by magnitude
      (:func:`course_lib.magnitude_mask`), still stored dense;
    * ``"csr"``: the same masks, stored in CSR;
    * ``"neurons removed"``: ``rate`` of every hidden layer's neurons (rows)
      pruned by L2 norm (:func:`course_lib.row_norm_mask`) and physically removed.

    >>> list(pruned_variants(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)), 0.5))
    ['dense', 'masked', 'csr', 'neurons removed']
    """
    rate = check_sparsity(rate, name="rate")
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    weights = prunable_weights(model)
    weight_masks = {k: magnitude_mask(w, rate) for k, w in weights.items()}
    row_masks = {k: row_norm_mask(w, rate) for k, w in list(weights.items())[:-1]}
    return {"dense": ({}, "dense"), "masked": (weight_masks, "dense"), "csr": (weight_masks, "csr"),
            "neurons removed": (row_masks, "shrunk")}


def pruning_costs(model: nn.Sequential, rate: float, cache_bytes: int = 0, batch_size: int = 1) -> dict[str, dict]:
    """Size, work and energy of each of :func:`pruned_variants` of ``model`` at ``rate``.

    Per variant: ``memory_bytes`` and ``disk_bytes`` (:func:`model_bytes`,
    :func:`disk_bytes`), ``params`` stored as numbers (weights + biases; CSR
    indices not included), ``macs`` per sample as the format computes them
    (dense multiplies zeros too), and ``energy`` (an :class:`EnergyBreakdown`).

    >>> from course_lib.models import lenet_300_100
    >>> c = pruning_costs(lenet_300_100(), 0.9)
    >>> c["masked"]["memory_bytes"] == c["dense"]["memory_bytes"] > c["csr"]["memory_bytes"]
    True
    """
    out = {}
    for name, (masks, fmt) in pruned_variants(model, rate).items():
        if fmt == "shrunk":  # measure the smaller dense model itself (shrink once)
            counted, masks, fmt = shrink_mlp(model, masks), None, "dense"
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
