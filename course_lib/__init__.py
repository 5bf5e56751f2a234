"""course_lib: small, tested reference implementations for the pruning course.

One package per concern, in the order of the lecture; the notebooks import these and never
copy them.

* :mod:`course_lib.pruning`: masks and their conventions, magnitude (layer-wise, global),
  structured (rows, removing neurons), n:m, output error, schedules;
* :mod:`course_lib.training`: offline data sets, models, the single-run and stacked trainers;
* :mod:`course_lib.experiments`: train-prune-finetune, lottery tickets, and their analysis;
* :mod:`course_lib.measure`: size, MACs, latency, sparse formats, energy;
* :mod:`course_lib.viz`: one plot module per topic, and the slider widgets;
* :mod:`course_lib.grading`: the autograder (``python -m course_lib.grade``).

Words: ``sparsity`` is the total fraction pruned, ``density = 1 - sparsity``, and a ``rate``
only the fraction of the *remaining* weights pruned in one round.

The core API (masks and their measures, :func:`magnitude_mask`, :func:`global_magnitude_masks`,
:func:`magnitude_masks` for a model, :func:`row_norm_mask`, :func:`nm_mask`, :func:`apply_masks`,
removing neurons) is importable from the package itself; the rest from its module, e.g.
``from course_lib.experiments.lottery import lottery_study``. ``python -m course_lib lottery
--help`` runs the lottery ticket study from the command line.
"""

from course_lib.pruning.magnitude import global_magnitude_masks, magnitude_mask, magnitude_masks
from course_lib.pruning.masks import (
    apply_masks,
    density,
    masked,
    masks_sparsity,
    model_sparsity,
    prunable_weights,
    sparsity,
)
from course_lib.pruning.nm import nm_mask
from course_lib.pruning.structured import remove_neurons, row_keep, row_norm_mask, shrink_mlp

__all__ = [
    "magnitude_mask",
    "global_magnitude_masks",
    "magnitude_masks",
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
