"""Speed measurements of pruned models, printed as ratios: ``python -m benchmarks``.

Everything is measured side by side in one run: the variants being compared
take turns (interleaved repeats) and each reports its median, so background
load on a shared machine hits all of them alike. Ratios, not absolute times,
are what carries over between machines, and even they vary with the CPU, the
number of threads and what else runs.

* :mod:`benchmarks.inference`: removing neurons (a smaller dense model) and CSR
  storage, against the dense model, batch of 64;
* :mod:`benchmarks.channels`: a VGG-style conv net with 50% of every conv layer's
  channels removed (Torch-Pruning) against dense, batch of 64, and MACs, at a stated
  setting and a sweep of others (small and CIFAR-10-size nets, 1/2 threads, NCHW and
  channels_last);
* :mod:`benchmarks.training`: training with masks re-applied after every step
  against plain training, and several runs trained together against one by one.

``python -m benchmarks --quick --json out.json`` runs a tiny setting in seconds
(the tests use it); without ``--quick`` it takes a few minutes (3-4 on a busy
2-core machine, the channel benchmark about 45 s of it).
"""
