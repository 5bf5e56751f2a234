"""Why prune, measured: size, work (MACs/FLOPs), latency and energy.

``from course_lib import measure`` gives everything in one namespace; each concern
lives in its own short module:

* :mod:`course_lib.measure.size`: parameter and non-zero counts, bytes in memory and
  on disk, stored dense, as CSR (int32 indices) or with neurons removed;
* :mod:`course_lib.measure.work`: multiply-accumulates per sample, dense or skipping zeros
  (conv nets: with ``input_size``);
* :mod:`course_lib.measure.timing`: time per batch (warm-up, repeats, median, spread),
  and sweeps of latency against sparsity;
* :mod:`course_lib.measure.sparse`: a pruned MLP run in CSR, or 2:4 on a suitable GPU;
* :mod:`course_lib.measure.energy`: an energy estimate per inference from Horowitz's
  45 nm table (ISSCC 2014);
* :mod:`course_lib.measure.costs`: all of them for the four ways the course stores a
  pruned MLP at one sparsity of the weights (:func:`pruned_variants`, :func:`pruning_costs`,
  :func:`pruned_models`, :func:`variant_accuracy`; :func:`neuron_fraction`,
  :func:`removed_fraction`);
* :mod:`course_lib.measure.conv_costs`: conv nets side by side (dense, masked, channels
  removed): parameters, size in MB, MACs, and latency per batch of 64 and per picture
  (:func:`conv_costs`).

Units: sizes in bytes (notebooks print KiB or MiB; :func:`conv_costs`' ``size_kib``: KiB), work in
MACs per sample (FLOPs = 2 x MACs), times in seconds (``*_ms``: milliseconds), energies in
picojoules (pJ).

>>> from course_lib.training.models import lenet_300_100
>>> net = lenet_300_100()
>>> param_count(net), macs(net, skip_zeros=False), model_bytes(net)
(266610, 266200, 1066440)
"""

from course_lib.measure.conv_costs import COST_KEYS, conv_costs
from course_lib.measure.costs import (
    neuron_fraction,
    pruned_models,
    pruned_variants,
    pruning_costs,
    removed_fraction,
    same_sparsity,
    variant_accuracy,
)
from course_lib.measure.energy import HOROWITZ_45NM, EnergyBreakdown, energy_per_inference, energy_table
from course_lib.measure.size import (
    FORMATS,
    csr_bytes,
    csr_tensor_bytes,
    disk_bytes,
    masked_state,
    model_bytes,
    nonzero_count,
    param_count,
    to_csr,
)
from course_lib.measure.sparse import CSRMLP, csr_mlp, semi_structured_mlp, semi_structured_support
from course_lib.measure.timing import (
    LatencyStats,
    SpeedSweep,
    break_even_sparsity,
    compare_latency,
    example_input,
    latency,
    speed_sweep,
)
from course_lib.measure.work import flops, layer_macs, macs

__all__ = [
    "neuron_fraction",
    "removed_fraction",
    "pruned_variants",
    "pruned_models",
    "pruning_costs",
    "variant_accuracy",
    "same_sparsity",
    "conv_costs",
    "COST_KEYS",
    "param_count",
    "nonzero_count",
    "masked_state",
    "csr_bytes",
    "to_csr",
    "csr_tensor_bytes",
    "model_bytes",
    "disk_bytes",
    "FORMATS",
    "layer_macs",
    "macs",
    "flops",
    "latency",
    "compare_latency",
    "break_even_sparsity",
    "speed_sweep",
    "SpeedSweep",
    "example_input",
    "LatencyStats",
    "csr_mlp",
    "CSRMLP",
    "semi_structured_support",
    "semi_structured_mlp",
    "HOROWITZ_45NM",
    "energy_table",
    "EnergyBreakdown",
    "energy_per_inference",
]
