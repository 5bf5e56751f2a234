"""Plots of the course: every function returns a matplotlib ``Figure`` (tested on its data).

Submodules, one per part of the course:

* :mod:`course_lib.viz.pruning`: Part I, what a pruning criterion keeps (magnitude,
  fine-grained vs structured, n:m) and the output error it costs;
* :mod:`course_lib.viz.training`: training curves, prune-finetune and lottery tickets;
* :mod:`course_lib.viz.study`: the notebook-level views of Part II (seeds, tickets' masks,
  rewinding, transfer, weight movement);
* :mod:`course_lib.viz.cost`: size, speed and energy of pruned models;
* :mod:`course_lib.viz.figure`: ``new_figure``, the one way they make a figure.

Import the one you need, e.g. ``from course_lib.viz import pruning as viz``.
"""
