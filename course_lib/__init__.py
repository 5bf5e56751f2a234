"""course_lib: small, tested reference implementations for the pruning course.

One module per idea of the lecture; the notebooks import these and never copy them.

* masks (conventions, sparsity, apply), magnitude, structured (rows, removing neurons), nm
* error (output error of a pruned layer), models (MLPs, LeNet-300-100), data (offline data sets)
* train (masked, seeded training; several runs stacked), schedules, finetune, lottery, study
* size, macs, sparse, latency, energy (re-exported by measure)
* viz (plots returning Figures), widgets (sliders that redraw them), grade (the autograder)

The core API is importable from the package itself; the rest from its module, e.g.
``from course_lib.lottery import lottery_study``. ``python -m course_lib lottery --help``
runs the lottery ticket study from the command line.
"""
from .magnitude import global_magnitude_masks, magnitude_mask
from .masks import apply_masks, density, masked, masks_sparsity, model_sparsity, prunable_weights, sparsity
from .nm import nm_mask
from .structured import remove_neurons, row_keep, row_norm_mask, shrink_mlp

__all__ = [
    "magnitude_mask",
    "global_magnitude_masks",
    "row_norm_mask",
    "row_keep",
    "nm_mask",
    "apply_masks",
    "masked",
    "sparsity",
    "density",
    "masks_sparsity",
    "model_sparsity",
    "prunable_weights",
    "remove_neurons",
    "shrink_mlp",
]
