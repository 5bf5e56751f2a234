"""Can tickets be found cheaply? Every ticket-finding method of the course, side by side.

The lecture ends on an open question: winning tickets exist, but can they be found without
training the big network first? :func:`compare_study` answers it on the reader's machine.
For every seed and target sparsity it builds the same network (same initialization) and
obtains a sparse network by each method, then trains it for the same number of epochs:

* ``"imp"``: iterative magnitude pruning with rewinding to initialization (Frankle & Carbin
  2019), here with one global threshold and a per-round ``imp_rate`` whose last round lands
  on each target exactly; it pays for every round's training;
* ``"snip"``, ``"grasp"``, ``"synflow"``, ``"magnitude"``, ``"random"``: pruning at
  initialization (Lee et al. 2019; Wang et al. 2020; Tanaka et al. 2020; and the two
  baselines of Frankle et al. 2021), :mod:`course_lib.pruning.at_init`;
* ``"earlybird"``: the magnitude mask drawn early in dense training once it stops changing
  (You et al. 2020), :mod:`course_lib.experiments.early_bird`, trained from initialization;
  each run records the epoch it was drawn at and whether the masks settled at all (if not,
  the ticket is drawn at the dense run's last epoch: one-shot magnitude pruning after the
  full dense run, which the table, the JSON and the plots say);
* ``"rigl"``, ``"set"``: sparse training from scratch with drop-and-grow (Evci et al. 2020;
  Mocanu et al. 2018), :mod:`course_lib.training.sparse_training`.

``cost_iterations`` counts the training iterations spent to obtain *and* train the sparse
network, a scoring pass counting as one iteration (SNIP 1, GraSP 2, SynFlow 100). The
result (:class:`~course_lib.experiments.compare_result.CompareResult`) keeps every mask and
initialization, so the sanity checks of Frankle et al. 2021
(:mod:`course_lib.experiments.sanity`) reuse them.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from course_lib._checks import (
    check_bool,
    check_float,
    check_int,
    check_rate,
    check_seeds,
    check_sparsity,
    check_threads,
)
from course_lib.experiments.compare_result import CompareResult, MethodRun
from course_lib.experiments.early_bird import draw_early_bird, early_bird
from course_lib.experiments.lottery import make_model
from course_lib.experiments.tickets import derived_seed, rewind
from course_lib.pruning.at_init import SCORE_PASSES, init_masks
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.training.data import Dataset, load
from course_lib.training.sparse_training import sparse_training
from course_lib.training.stacked import train_many

__all__ = ["METHODS", "AT_INIT", "compare_study", "CompareSetup", "imp_schedule", "score_batch"]

#: Every method of :func:`compare_study`, in the order of the lecture's question (the most
#: expensive first).
METHODS = ("imp", "earlybird", "snip", "grasp", "synflow", "magnitude", "random", "rigl", "set")
#: The methods that prune at initialization (:mod:`course_lib.pruning.at_init`).
AT_INIT = ("snip", "grasp", "synflow", "magnitude", "random")
#: Examples in the minibatch SNIP and GraSP score on.
SCORE_BATCH = 256
TensorDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class CompareSetup:
    """The checked settings of :func:`compare_study` (see its arguments)."""

    data: Dataset
    model: str
    methods: tuple[str, ...]
    sparsities: tuple[float, ...]
    seeds: tuple[int, ...]
    epochs: int
    lr: float
    batch_size: int
    imp_rate: float
    earlybird_threshold: float
    earlybird_window: int
    update_every: int
    progress: bool
    threads: int | None

    @property
    def iterations(self) -> int:
        """Optimizer steps of one training run: ``epochs * ceil(n_train / batch_size)``."""
        return self.epochs * -(-len(self.data.train) // self.batch_size)

    def network(self, seed: int) -> nn.Module:
        """The network of ``seed``, freshly initialized (the same for every method)."""
        return make_model(self.model, self.data.in_features, self.data.num_classes, seed=seed)

    def config(self) -> dict[str, Any]:
        """The settings as a JSON-able dict."""
        return {
            "dataset": self.data.name,
            "model": self.model,
            "methods": list(self.methods),
            "sparsities": list(self.sparsities),
            "seeds": list(self.seeds),
            "epochs": self.epochs,
            "iterations_per_training": self.iterations,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "imp_rate": self.imp_rate,
            "earlybird_threshold": self.earlybird_threshold,
            "earlybird_window": self.earlybird_window,
            "update_every": self.update_every,
            "score_batch": SCORE_BATCH,
        }


def imp_schedule(sparsities: Sequence[float], rate: float) -> list[float]:
    """The sparsity after each IMP round: ``rate`` of what remains per round, landing on every target.

    Args:
        sparsities: target sparsities in (0, 1), any order.
        rate: fraction of the remaining weights pruned per round, in (0, 1).

    Returns:
        Increasing sparsities; each target appears exactly, and no round prunes more than
        ``rate`` of what remains.

    >>> imp_schedule([0.8, 0.95], 0.5)
    [0.5, 0.75, 0.8, 0.9, 0.95]
    """
    out: list[float] = []
    density = 1.0
    for target in sorted(set(sparsities)):
        while (1 - density * (1 - rate)) < target - 1e-12:
            density *= 1 - rate
            out.append(round(1 - density, 12))
        density = 1 - target
        out.append(target)
    return out


def compare_study(data: Dataset | str = "mnist5k", **options: Any) -> CompareResult:
    """Every ticket-finding method on the same networks, at each target sparsity, over seeds.

    Args:
        data: a :class:`~course_lib.training.data.Dataset` or a data set name (loaded with seed 0).
        **options: ``methods`` (a subset of :data:`METHODS`, default all), ``sparsities``
            (target fractions pruned, each in (0, 1); default ``(0.9, 0.98)``), ``seeds`` (how
            many, or a list of distinct ints >= 0; default 3), ``model`` (``"lenet"`` or hidden
            widths such as ``"100,100"``; default ``"lenet"``), ``epochs`` (training of every
            sparse network and of IMP's dense run and rounds; default 4), ``lr`` (Adam, default
            1.2e-3), ``batch_size`` (60), ``imp_rate`` (0.5), ``earlybird_threshold`` (0.1, as a
            fraction of the largest possible distance ``2 min(s, 1 - s)`` between two masks of
            sparsity ``s``: You et al.'s 0.1 on all entries would fire at once at 98%) and
            ``earlybird_window`` (2 epochs, at most ``epochs``; You et al. use 5 of 160), the
            early-bird's dense run being at most ``epochs`` long; ``update_every`` (RigL/SET's
            ΔT, 50 steps), ``progress`` (False), ``threads`` (CPU threads, default torch's).

    Returns:
        A :class:`~course_lib.experiments.compare_result.CompareResult`: one row per method
        and target sparsity (accuracy mean ± std over seeds, cost), masks and initial weights.

    Raises:
        ValueError: an unknown method or option value (the message names it).
        TypeError: an unknown option, or ``data`` neither a Dataset nor a name.
    """
    setup = _setup(data, options)
    start = time.perf_counter()
    runs: list[MethodRun] = []
    dense_acc: list[float] = []
    if "imp" in setup.methods:
        imp_runs, dense_acc = _imp(setup)
        runs += imp_runs
    pending = [run for seed in setup.seeds for run in _masks_to_train(setup, seed)]
    runs += _train_pending(setup, pending)
    for method in ("rigl", "set"):
        if method in setup.methods:
            runs += [_sparse_run(setup, method, s, seed) for s in setup.sparsities for seed in setup.seeds]
    order = {m: i for i, m in enumerate(METHODS)}
    runs.sort(key=lambda r: (order[r.method], r.sparsity, setup.seeds.index(r.seed)))
    return CompareResult(setup.config(), runs, dense_acc, seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- the methods
def _imp(setup: CompareSetup) -> tuple[list[MethodRun], list[float]]:
    """IMP with rewinding to initialization, all seeds trained together round by round."""
    nets = [setup.network(seed) for seed in setup.seeds]
    inits = [copy.deepcopy(net.state_dict()) for net in nets]
    dense = _train(setup, nets, [None] * len(nets))
    masks: list[TensorDict] = [{} for _ in nets]
    runs, t = [], setup.iterations
    for k, target in enumerate(imp_schedule(setup.sparsities, setup.imp_rate), start=1):
        masks = [
            magnitude_masks(net, target, scope="global", prior=m or None) for net, m in zip(nets, masks, strict=True)
        ]
        for net, init, m in zip(nets, inits, masks, strict=True):
            rewind(net, init, m)
        results = _train(setup, nets, masks)
        if target in setup.sparsities:
            runs += [
                MethodRun("imp", target, seed, res.final_test_acc, (k + 1) * t, m, init)
                for seed, res, m, init in zip(setup.seeds, results, masks, inits, strict=True)
            ]
    return runs, [r.final_test_acc for r in dense]


def _masks_to_train(setup: CompareSetup, seed: int) -> list[MethodRun]:
    """The masks of the pruning-at-initialization and early-bird methods for one seed (untrained)."""
    net = setup.network(seed)
    init = copy.deepcopy(net.state_dict())
    x, y = score_batch(setup.data, seed)
    out = []
    for method in (m for m in AT_INIT if m in setup.methods):
        for s in setup.sparsities:
            masks = init_masks(method, net, s, x=x, y=y, seed=derived_seed(seed, 11), threads=setup.threads)
            out.append(MethodRun(method, s, seed, float("nan"), SCORE_PASSES[method], masks, init))
    if "earlybird" in setup.methods:
        out += _earlybird_runs(setup, seed, init)
    return out


def _earlybird_runs(setup: CompareSetup, seed: int, init: TensorDict) -> list[MethodRun]:
    """The early-bird tickets of one seed at every target sparsity, drawn from one dense run."""
    window = min(setup.earlybird_window, setup.epochs)
    first = setup.sparsities[0]

    def threshold(s: float) -> float:  # the mask distance counted as settled, scaled to the sparsity
        return setup.earlybird_threshold * 2 * min(s, 1 - s)

    bird = early_bird(
        setup.network(seed),
        setup.data,
        first,
        threshold=threshold(first),
        window=window,
        max_epochs=setup.epochs,
        lr=setup.lr,
        batch_size=setup.batch_size,
        seed=seed,
        progress=setup.progress,
        threads=setup.threads,
    )
    out = []
    for s in setup.sparsities:
        drawn = (
            bird if s == first else draw_early_bird(setup.network(seed), bird, s, threshold=threshold(s), window=window)
        )
        cost = drawn.draw_iteration  # the dense iterations up to the draw: what finding the ticket cost
        out.append(
            MethodRun("earlybird", s, seed, float("nan"), cost, drawn.masks, init, drawn.draw_epoch, drawn.found)
        )
    return out


def _train_pending(setup: CompareSetup, pending: list[MethodRun]) -> list[MethodRun]:
    """Train every (method, sparsity, seed) network from its initialization, all stacked at once."""
    if not pending:
        return []
    nets = []
    for run in pending:
        net = setup.network(run.seed)
        rewind(net, run.init, run.masks)
        nets.append(net)
    results = _train(setup, nets, [r.masks for r in pending], seeds=[r.seed for r in pending])
    t = setup.iterations
    return [
        replace(r, test_acc=res.final_test_acc, cost_iterations=r.cost_iterations + t)
        for r, res in zip(pending, results, strict=True)
    ]


def _sparse_run(setup: CompareSetup, method: str, sparsity: float, seed: int) -> MethodRun:
    """RigL or SET from scratch at ``1 - sparsity`` density (ERK layer densities)."""
    net = setup.network(seed)
    init = copy.deepcopy(net.state_dict())
    out = sparse_training(
        net,
        setup.data,
        1 - sparsity,
        method=method,
        update_every=setup.update_every,
        epochs=setup.epochs,
        lr=setup.lr,
        batch_size=setup.batch_size,
        seed=seed,
        progress=setup.progress,
        threads=setup.threads,
    )
    return MethodRun(method, sparsity, seed, out.result.final_test_acc, setup.iterations, out.masks, init)


def _train(setup: CompareSetup, nets: list[nn.Module], masks: list, seeds: list[int] | None = None) -> list:
    return train_many(
        nets,
        setup.data,
        masks,
        seeds=list(setup.seeds) if seeds is None else seeds,
        epochs=setup.epochs,
        lr=setup.lr,
        batch_size=setup.batch_size,
        progress=setup.progress,
        threads=setup.threads,
    )


def score_batch(data: Dataset, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The minibatch SNIP and GraSP score on for ``seed``: SCORE_BATCH training examples drawn at random.

    Returns:
        ``(x, y)``: inputs ``(SCORE_BATCH, *input_shape)`` float32 and labels int64.
    """
    gen = torch.Generator().manual_seed(derived_seed(seed, 7))
    idx = torch.randperm(len(data.train), generator=gen)[:SCORE_BATCH]
    return data.train.x[idx], data.train.y[idx]


# --------------------------------------------------------------------------- arguments
_DEFAULTS: dict[str, Any] = dict(
    methods=METHODS,
    sparsities=(0.9, 0.98),
    seeds=3,
    model="lenet",
    epochs=4,
    lr=1.2e-3,
    batch_size=60,
    imp_rate=0.5,
    earlybird_threshold=0.1,
    earlybird_window=2,
    update_every=50,
    progress=False,
    threads=None,
)


def _setup(data: object, options: dict[str, Any]) -> CompareSetup:
    unknown = sorted(set(options) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"compare_study got unknown option(s) {unknown}; it accepts {sorted(_DEFAULTS)}")
    o = {**_DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    if isinstance(data, str):
        data = load(data)
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a Dataset or a data set name, got {type(data).__name__}")
    methods = _methods(o["methods"])
    sparsities = _sparsities(o["sparsities"])
    rate = check_rate(o["imp_rate"], "imp_rate")
    if rate in (0.0, 1.0):
        raise ValueError(f"imp_rate must be in (0, 1), got {rate}")
    return CompareSetup(
        data=data,
        model=str(o["model"]),
        methods=methods,
        sparsities=sparsities,
        seeds=tuple(check_seeds(o["seeds"])),
        epochs=check_int(o["epochs"], "epochs", 1),
        lr=check_float(o["lr"], "lr", 0.0, strict=True),
        batch_size=check_int(o["batch_size"], "batch_size", 1),
        imp_rate=rate,
        earlybird_threshold=check_rate(o["earlybird_threshold"], "earlybird_threshold"),
        earlybird_window=check_int(o["earlybird_window"], "earlybird_window", 1),
        update_every=check_int(o["update_every"], "update_every", 1),
        progress=check_bool(o["progress"], "progress"),
        threads=None if o["threads"] is None else check_threads(o["threads"]),
    )


def _methods(methods: object) -> tuple[str, ...]:
    if isinstance(methods, str) or not isinstance(methods, Sequence) or not methods:
        raise ValueError(f"methods must be a non-empty list drawn from {METHODS}, got {methods!r}")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; methods must be drawn from {METHODS}")
    return tuple(m for m in METHODS if m in methods)


def _sparsities(sparsities: object) -> tuple[float, ...]:
    if isinstance(sparsities, (int, float)):
        sparsities = [sparsities]
    if isinstance(sparsities, str) or not isinstance(sparsities, Sequence) or not sparsities:
        raise ValueError(f"sparsities must be a non-empty list of numbers in (0, 1), got {sparsities!r}")
    out = sorted({check_sparsity(s, name="sparsities entries") for s in sparsities})
    if out[0] == 0.0 or out[-1] == 1.0:
        raise ValueError(f"sparsities must lie in (0, 1) (a ticket prunes something and keeps something), got {out}")
    return tuple(out)
