"""Pruning criteria and their conventions: computing masks, apart from applying them.

* :mod:`~course_lib.pruning.masks`: what a mask is (bool, ``True`` = keep), sparsity and
  density, validating masks, applying them to a model;
* :mod:`~course_lib.pruning.reparam`: the weights a model computes with under
  ``torch.nn.utils.prune`` / ``parametrize`` (``fc1.weight``, not ``fc1.weight_orig``), plain copies;
* :mod:`~course_lib.pruning.magnitude`: magnitude masks, layer-wise and global (Han et al. 2015);
* :mod:`~course_lib.pruning.structured`: whole rows (neurons) by L1/L2 norm (Li et al. 2017),
  and removing them;
* :mod:`~course_lib.pruning.nm`: n:m semi-structured masks (Mishra et al. 2021);
* :mod:`~course_lib.pruning.channels`: filters by norm (Li et al. 2017) or BatchNorm scale
  (Liu et al. 2017), removing channels of plain conv chains;
* :mod:`~course_lib.pruning.depgraph`: channel groups of any conv graph (depthwise convs,
  concatenations, residual additions) found by Torch-Pruning (DepGraph, Fang et al. 2023),
  their masks and their removal;
* :mod:`~course_lib.pruning.error`: what a pruned layer's output loses;
* :mod:`~course_lib.pruning.schedules`: how much to prune, round by round (Frankle & Carbin
  2019) or step by step (Zhu & Gupta 2017);
* :mod:`~course_lib.pruning.scores`: any scores -> keep-masks (larger = keep, global or per
  layer), magnitude and random scores;
* :mod:`~course_lib.pruning.at_init`: pruning at initialization: SNIP (Lee et al. 2019), GraSP
  (Wang et al. 2020), SynFlow (Tanaka et al. 2020), ``init_masks``.

Words: ``sparsity`` is the total fraction pruned, ``density = 1 - sparsity``, and a ``rate``
is only the fraction of the *remaining* weights pruned in one round.

A new pruning criterion lands here: a pure score function, whose masks are then taken by
the existing layer-wise or global mask functions (see CONTRIBUTING.md).
"""
