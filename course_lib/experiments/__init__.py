"""The lecture's experiments, each a function that returns its measurements.

Part II, pruning a trained network (notebook 04):

* :mod:`~course_lib.experiments.finetune`: train, prune, fine-tune; one-shot vs iterative;
  layer sensitivity;
* :mod:`~course_lib.experiments.refit`: regression-based pruning (remove neurons, refit the
  next layer by least squares).

Part II, lottery tickets (notebook 05; Frankle & Carbin 2019):

* :mod:`~course_lib.experiments.tickets`: one round of iterative magnitude pruning with
  rewinding, and where the ticket's controls start;
* :mod:`~course_lib.experiments.lottery`: the study over seeds (``lottery_study``, also
  ``python -m course_lib lottery``) and over rewinding points (``rewinding_study``);
  its round loop is :mod:`~course_lib.experiments.lottery_run`, its result
  :mod:`~course_lib.experiments.lottery_result`;
* :mod:`~course_lib.experiments.transfer`: a ticket trained on another data set.

Part III, conv nets (notebook 07): :mod:`~course_lib.experiments.conv`, filter sensitivity,
channel sweeps and the lecture's CIFAR-10 table.

Part IV, finding tickets early (notebook 08):

* :mod:`~course_lib.experiments.compare`: every ticket-finding method on the same networks, with
  accuracy and cost (also ``python -m course_lib compare``); its result
  :mod:`~course_lib.experiments.compare_result`;
* :mod:`~course_lib.experiments.sanity`: the sanity checks of Frankle et al. 2021 (shuffle,
  reinitialize, invert);
* :mod:`~course_lib.experiments.early_bird`: early-bird tickets (You et al. 2020): the mask
  distance between epochs, drawn when it settles;
* :mod:`~course_lib.experiments.instability`: instability analysis (Frankle et al. 2020): the
  error barrier between two copies trained from iteration k.

Notebooks 04 and 05: :mod:`~course_lib.experiments.analysis`, what they measure on top (spread
and verdicts over seeds, accuracy after pruning, weight movement).
"""
