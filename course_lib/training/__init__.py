"""Data, models and trainers: everything needed to train a (pruned) network.

* :mod:`~course_lib.training.data`: offline data sets (MNIST-5k, MNIST-1D, digits) as splits;
  :mod:`~course_lib.training.idx` reads (and downloads, verified) the full MNIST files,
  :mod:`~course_lib.training.cifar` CIFAR-10 (downloaded, verified, only when asked);
* :mod:`~course_lib.training.models`: MLPs and LeNet-300-100;
* :mod:`~course_lib.training.conv_models`: conv nets (Conv-2/4/6, VGG, SimpleNet, MobileNet V1,
  DenseNet);
* :mod:`~course_lib.training.train`: one seeded run that keeps pruned weights at zero;
* :mod:`~course_lib.training.stacked`: several runs of the same MLP trained at once;
* :mod:`~course_lib.training.sparse_training`: sparse training from scratch (SET, RigL) with exact
  per-layer counts;
* :mod:`~course_lib.training.config` and :mod:`~course_lib.training.record`: what both
  trainers share: the checked settings of a run, and the recorder of its losses and
  accuracies (:class:`~course_lib.training.record.TrainResult`);
* :mod:`~course_lib.training.device`: where a run computes: ``resolve_device`` (``"auto"``,
  ``"cpu"``, ``"cuda"``) and the CPU threads (``auto_threads``).
"""
