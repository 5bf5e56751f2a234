"""The lecture's experiments, each a function that returns its measurements.

* :mod:`~course_lib.experiments.finetune`: train, prune, fine-tune; one-shot vs iterative;
  layer sensitivity; least-squares refit;
* :mod:`~course_lib.experiments.lottery`: iterative magnitude pruning with rewinding
  (Frankle & Carbin 2019) against reinitialized and randomly pruned controls;
* :mod:`~course_lib.experiments.analysis`: what the notebooks measure on top of those
  (accuracy after pruning, weight movement, transfer, spread over seeds).
"""
