"""Data, models and trainers: everything needed to train a (pruned) network.

* :mod:`~course_lib.training.data`: offline data sets (MNIST-5k, MNIST-1D, digits) as splits;
* :mod:`~course_lib.training.models`: MLPs and LeNet-300-100;
* :mod:`~course_lib.training.train`: one seeded run that keeps pruned weights at zero;
* :mod:`~course_lib.training.stacked`: several runs of the same MLP trained at once.
"""
