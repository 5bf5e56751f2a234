"""Plots of the course: every function returns a matplotlib ``Figure`` (tested on its data).

Submodules, one per topic of the course:

* :mod:`course_lib.viz.pruning`: Part I, what a pruning criterion keeps (magnitude,
  fine-grained vs structured, n:m) and the output error it costs;
* :mod:`course_lib.viz.finetune`: Part II, pruning a trained network (schedules,
  prune-finetune, one-shot vs iterative, layer sensitivity, least-squares refit, a network
  pruned to a sparsity; seeds as mean +- std);
* :mod:`course_lib.viz.lottery`: Part II, lottery tickets (the LTH plot, training curves,
  rewinding, the ticket's masks, weight movement, transfer);
* :mod:`course_lib.viz.cost`: size, speed and energy of pruned models;
* :mod:`course_lib.viz.conv`: Part III, conv nets (filter masks, channel sweep, the lecture's table);
* :mod:`course_lib.viz.compare`: Part IV, finding tickets early (accuracy vs sparsity, accuracy
  against cost with its Pareto front, per-layer densities, sanity checks, error barriers, the
  sparsity slider);
* :mod:`course_lib.viz.widgets`: the sliders that redraw a plot;
* :mod:`course_lib.viz.figure`: ``new_figure``, the one way they make a figure.

Import the one you need, e.g. ``from course_lib.viz import pruning as viz``.
"""
