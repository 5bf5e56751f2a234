"""course_lib: small, tested reference implementations for the pruning course.

One module per idea of the lecture; the notebooks import these and never copy them.
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
