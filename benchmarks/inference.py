"""Inference: removing neurons and CSR storage against the dense model (batch of 64).

* ``structured_50_speedup``: dense time / time of the model with hidden neurons
  removed (smallest L2 row norm, :func:`course_lib.row_norm_mask`, then
  :func:`course_lib.shrink_mlp`) until 50% of its weights are gone
  (:func:`course_lib.measure.neuron_fraction`: about 47% of LeNet-300-100's hidden
  neurons, since each takes its row and the next layer's column);
* ``csr_speedup[p]``: dense time / time of the same model with p% of every
  layer's weights pruned by magnitude and stored in CSR (int32 indices,
  ``torch.addmm(b, W_csr, h)``, :func:`course_lib.measure.csr_mlp`).

All variants are timed interleaved by :func:`course_lib.measure.speed_sweep`, each
timed run being ``number`` back-to-back calls of one variant (steady state, weights
in cache, as when one model serves a stream of batches).
A ratio above 1 means faster than dense.
"""

from __future__ import annotations

import torch

from course_lib.measure import speed_sweep

CSR_PERCENTS = (50, 80, 90, 95, 99)


def inference_speedups(
    model: torch.nn.Sequential,
    batch_size: int = 64,
    repeats: int = 30,
    warmup: int = 5,
    percents=CSR_PERCENTS,
    number: int = 10,
) -> dict:
    """Speedups over dense of the neurons-removed (50%) and CSR versions of ``model``."""
    sweep = speed_sweep(
        model, [p / 100 for p in percents], batch_size=batch_size, repeats=repeats, warmup=warmup, number=number
    )
    csr, removed = sweep.speedup("csr"), sweep.speedup("neurons removed")
    dense = sweep.stats["dense"][0]
    return {
        "dense_ms": dense.median_ms,
        "dense_spread": dense.spread,
        "structured_50_speedup": removed[list(percents).index(50)],
        "csr_speedup": {str(p): v for p, v in zip(percents, csr, strict=False)},
        "csr_break_even": sweep.break_even("csr"),
    }
