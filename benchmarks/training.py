"""Training: masked against plain training, and several runs stacked against one by one.

Both time the course's own trainers, :func:`course_lib.train.train` and
:func:`course_lib.train.train_many`, one epoch per call:

* ``masked_train_overhead``: time of a masked epoch / time of a plain epoch.
  Masked training zeroes the pruned entries' gradients before, and the weights
  after, every optimizer step (so momentum cannot revive them); 1.0 = free.
* ``batched_train_speedup``: time to train ``runs`` models one after the other
  (``train``) / time to train them together (``train_many``: weights stacked as
  ``(runs, out, in)``, one ``torch.baddbmm`` per layer). Above 1 = stacking pays.

The data are seeded random inputs and labels (the time of an epoch does not
depend on what the digits look like), with small validation and test splits, as
the trainers evaluate at the start and the end of each call. The trainers pick
their CPU threads themselves (:func:`course_lib.train.auto_threads`).
"""
from __future__ import annotations

from types import SimpleNamespace

import torch

from course_lib import magnitude_mask, prunable_weights
from course_lib.data import Split
from course_lib.models import mlp
from course_lib.train import auto_threads, train, train_many

from .timing import interleaved_medians


def random_data(n: int, in_features: int, classes: int, seed: int = 0, n_eval: int = 64) -> SimpleNamespace:
    """Seeded random train / val / test splits shaped like a classification data set."""
    gen = torch.Generator().manual_seed(seed)

    def split(k):
        return Split(torch.randn(k, in_features, generator=gen), torch.randint(classes, (k,), generator=gen))

    return SimpleNamespace(train=split(n), val=split(n_eval), test=split(n_eval))


def training_ratios(sizes=(784, 300, 100, 10), samples: int = 1024, batch: int = 64, runs: int = 4,
                    sparsity: float = 0.8, repeats: int = 5) -> dict:
    """``masked_train_overhead`` and ``batched_train_speedup`` for MLPs of ``sizes`` (seeded)."""
    sizes = list(sizes)
    data = random_data(samples, sizes[0], sizes[-1])
    kw = dict(epochs=1, batch_size=batch, progress=False)
    dense, maskd = mlp(sizes, seed=0), mlp(sizes, seed=0)
    masks = {k: magnitude_mask(w, sparsity) for k, w in prunable_weights(maskd).items()}
    singles = [mlp(sizes, seed=r) for r in range(runs)]
    stacked = [mlp(sizes, seed=r) for r in range(runs)]
    t = interleaved_medians({
        "dense": lambda: train(dense, data, None, seed=0, **kw),
        "masked": lambda: train(maskd, data, masks, seed=0, **kw),
        "one_by_one": lambda: [train(m, data, None, seed=r, **kw) for r, m in enumerate(singles)],
        "stacked": lambda: train_many(stacked, data, None, seeds=list(range(runs)), **kw),
    }, repeats=repeats)
    return {
        "dense_epoch_s": t["dense"],
        "masked_train_overhead": t["masked"] / t["dense"],
        "batched_train_speedup": t["one_by_one"] / t["stacked"],
        "runs": runs,
        "train_threads": auto_threads(sum(p.numel() for p in dense.parameters())),
    }
