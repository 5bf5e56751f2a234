"""Training: masked against plain training, and several runs stacked against one by one.

Everything times the course's own trainers, :func:`course_lib.training.train.train` and
:func:`course_lib.training.stacked.train_many`, one epoch per call, on two models:

* a small MLP, 40-100-100-10 on MNIST-1D (3,500 training signals), where the
  per-step overhead of one small run dominates;
* LeNet-300-100 on MNIST-5k (3,500 training digits), where the matrix products do.

Ratios (:func:`training_benchmark`):

* ``masked_train_overhead`` (LeNet): time of a masked epoch (80% of each weight
  matrix pruned; the trainer zeroes the pruned entries' gradients before every
  optimizer step) / time of a plain epoch; 1.0 = free.
* ``prune_hook_overhead`` (LeNet): the same masks kept by
  ``torch.nn.utils.prune.custom_from_mask`` instead (a forward pre-hook rebuilds
  ``weight = weight_orig * weight_mask`` at every forward, and backward goes
  through that product) / time of a plain epoch.
* ``batched_train_speedup`` (small MLP) and ``batched_train_speedup_lenet``: time
  to train ``runs`` models one after the other (``train``) / time to train them
  together (``train_many``: weights stacked as ``(runs, out, in)``, one
  ``torch.baddbmm`` per layer). Above 1 = stacking pays.

The variants of a model take turns, the order rotating each round (as in
:func:`benchmarks.timing.interleaved_medians`), and each ratio is the median over
rounds of the ratio within a round: a burst of load from other processes hits the
calls of one round alike. The load average is printed beside. The validation and
test splits are cut to their first ``n_eval`` examples: the trainers evaluate at
the start and the end of each call, and this times the training steps, not the
evaluation. The trainers pick their CPU threads themselves
(:func:`course_lib.training.config.auto_threads`).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Mapping
from types import SimpleNamespace

import torch
from torch.nn.utils import prune

from course_lib import magnitude_mask, prunable_weights
from course_lib.training.config import auto_threads, mlp_layers
from course_lib.training.data import Split, load
from course_lib.training.models import mlp
from course_lib.training.stacked import train_many
from course_lib.training.train import train

from .timing import interleaved_times

#: The two settings of :func:`training_benchmark` (``quick``: random data, tiny MLPs, for tests).
#: ``runs`` = 9 as in one round of :func:`course_lib.experiments.lottery.lottery_study` (3 variants x 3 seeds).
MODELS = {
    "small": dict(
        name="MLP 40-100-100-10, MNIST-1D", data="mnist1d", sizes=(40, 100, 100, 10), repeats=21, stack_repeats=9
    ),
    "lenet": dict(
        name="LeNet-300-100, MNIST-5k", data="mnist5k", sizes=(784, 300, 100, 10), repeats=15, stack_repeats=5
    ),
}
QUICK_MODELS = {
    "small": dict(name="tiny MLP 40-32-10, random data (--quick)", sizes=(40, 32, 10), samples=64),
    "lenet": dict(name="tiny MLP 64-32-16-10, random data (--quick)", sizes=(64, 32, 16, 10), samples=64),
}


def random_data(n: int, in_features: int, classes: int, seed: int = 0, n_eval: int = 64) -> SimpleNamespace:
    """Seeded random train / val / test splits shaped like a classification data set.

    ``n`` training and ``n_eval`` validation and test examples: float32 inputs
    ``(k, in_features)`` from a standard normal, int64 labels in ``[0, classes)``.
    """
    gen = torch.Generator().manual_seed(seed)

    def split(k):
        return Split(torch.randn(k, in_features, generator=gen), torch.randint(classes, (k,), generator=gen))

    return SimpleNamespace(train=split(n), val=split(n_eval), test=split(n_eval))


def _short_eval(data, n_eval: int) -> SimpleNamespace:
    """``data`` with its validation and test splits cut to their first ``n_eval`` examples."""
    return SimpleNamespace(
        train=data.train,
        val=Split(data.val.x[:n_eval], data.val.y[:n_eval]),
        test=Split(data.test.x[:n_eval], data.test.y[:n_eval]),
    )


def paired_ratios(
    fns: Mapping[str, Callable[[], object]], base: str, repeats: int, warmup: int = 1
) -> tuple[dict[str, float], dict[str, float]]:
    """Median seconds per call of each callable, and the median over rounds of its time / ``base``'s time.

    The callables take turns, the order rotating each round; a ratio is taken within
    each round (the calls of a round run back to back, under the same load).
    """
    times = interleaved_times(fns, repeats, warmup)
    ratios = {
        n: statistics.median(a / b for a, b in zip(times[n], times[base], strict=False)) for n in times if n != base
    }
    return {n: statistics.median(t) for n, t in times.items()}, ratios


def training_ratios(
    sizes=(784, 300, 100, 10),
    samples: int = 1024,
    batch: int = 64,
    runs: int = 4,
    sparsity: float = 0.8,
    repeats: int = 5,
    data=None,
    epochs: int = 1,
    stack_repeats: int | None = None,
) -> dict:
    """Masked, prune-hook and stacked training against plain training of MLPs of ``sizes`` (seeded).

    ``data``: a course data set (default: ``samples`` seeded random examples).
    Plain, masked and prune-hook epochs take turns for ``repeats`` rounds, then
    ``runs`` runs one by one and stacked for ``stack_repeats`` (default ``repeats``).
    Returns ``masked_train_overhead``, ``prune_hook_overhead``,
    ``batched_train_speedup``, the median ``dense_epoch_s`` and the settings.
    """
    sizes = list(sizes)
    if data is None:
        data = random_data(samples, sizes[0], sizes[-1])
    kw = dict(epochs=epochs, batch_size=batch, progress=False)
    dense, maskd, hooked = mlp(sizes, seed=0), mlp(sizes, seed=0), mlp(sizes, seed=0)
    masks = {k: magnitude_mask(w, sparsity) for k, w in prunable_weights(maskd).items()}
    for name, layer in mlp_layers(hooked):
        prune.custom_from_mask(layer, "weight", masks[f"{name}.weight"])
    singles = [mlp(sizes, seed=r) for r in range(runs)]
    stacked = [mlp(sizes, seed=r) for r in range(runs)]
    load_before = os.getloadavg()[0]
    t, masking = paired_ratios(
        {
            "dense": lambda: train(dense, data, None, seed=0, **kw),
            "masked": lambda: train(maskd, data, masks, seed=0, **kw),
            "prune_hook": lambda: train(hooked, data, None, seed=0, **kw),
        },
        base="dense",
        repeats=repeats,
    )
    _, stacking = paired_ratios(
        {
            "one_by_one": lambda: [train(m, data, None, seed=r, **kw) for r, m in enumerate(singles)],
            "stacked": lambda: train_many(stacked, data, None, seeds=list(range(runs)), **kw),
        },
        base="stacked",
        repeats=repeats if stack_repeats is None else stack_repeats,
    )
    return {
        "dense_epoch_s": t["dense"] / epochs,
        "masked_train_overhead": masking["masked"],
        "prune_hook_overhead": masking["prune_hook"],
        "batched_train_speedup": stacking["one_by_one"],
        "runs": runs,
        "batch_size": batch,
        "n_train": len(data.train),
        "repeats": repeats,
        "stack_repeats": repeats if stack_repeats is None else stack_repeats,
        "train_threads": auto_threads(sum(p.numel() for p in dense.parameters())),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # 1-minute, before / after
    }


def training_benchmark(quick: bool = False, runs: int = 9, n_eval: int = 100) -> dict:
    """Both models of :data:`MODELS`; the ratios under their ``--json`` keys, details under ``training``."""
    out = {}
    for key, m in (QUICK_MODELS if quick else MODELS).items():
        if quick:
            data = random_data(m["samples"], m["sizes"][0], m["sizes"][-1], n_eval=16)
            r = training_ratios(m["sizes"], batch=32, runs=2, repeats=2, data=data)
        else:
            r = training_ratios(
                m["sizes"],
                batch=60,
                runs=runs,
                repeats=m["repeats"],
                stack_repeats=m["stack_repeats"],
                data=_short_eval(load(m["data"]), n_eval),
            )
        out[key] = {"model": m["name"], **r}
    small, lenet = out["small"], out["lenet"]
    return {
        "masked_train_overhead": lenet["masked_train_overhead"],
        "prune_hook_overhead": lenet["prune_hook_overhead"],
        "batched_train_speedup": small["batched_train_speedup"],
        "batched_train_speedup_lenet": lenet["batched_train_speedup"],
        "training": out,
    }


def training_lines(r: dict) -> list[str]:
    """The training ratios of :func:`training_benchmark` as lines of text."""
    tr = r["training"]
    lines = [
        f"training (course_lib.training.train, {tr['lenet']['train_threads']} thread(s), one epoch per call, "
        f"batch {tr['lenet']['batch_size']}, median of interleaved rounds):"
    ]
    for key in ("small", "lenet"):
        m = tr[key]
        lines += [
            f"  {m['model']}: dense epoch of {m['n_train']} examples {1000 * m['dense_epoch_s']:.0f} ms, "
            f"{m['repeats']}/{m['stack_repeats']} rounds (load average {m['load_average'][0]:.2f} -> "
            f"{m['load_average'][1]:.2f})",
            f"    masked epoch / dense epoch:          {m['masked_train_overhead']:.2f}x the time",
            f"    torch.nn.utils.prune hook instead:   {m['prune_hook_overhead']:.2f}x the time",
            f"    {m['runs']} runs stacked vs one by one:    {m['batched_train_speedup']:.2f}x faster",
        ]
    return lines
