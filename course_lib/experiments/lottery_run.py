"""The round loop of :func:`course_lib.experiments.lottery.lottery_study`, in named steps.

A study (Frankle & Carbin 2019) follows, per seed and rewinding point, one *lineage*: the
dense network, then the ticket of each round. :func:`run_study` trains the dense networks
once (:func:`train_dense`), then per round prunes and rewinds every lineage's ticket and
starts its controls (:func:`start_round`), trains all of them (:func:`train_runs`: MLPs
together with :func:`course_lib.training.stacked.train_many`, conv nets one by one with
:func:`course_lib.training.train.train`) and records the round (:func:`record_round`).
The settings come checked from :func:`course_lib.experiments.lottery.rewinding_study` as a
:class:`StudySetup`. Pruning, rewinding and the records happen on the CPU (the networks
are moved back after training), so a study on a GPU keeps the same bookkeeping.

>>> from course_lib.experiments.lottery import lottery_study
>>> from course_lib.training.data import load
>>> lottery_study(load("digits"), model="8", rounds=1, seeds=1, epochs=1, progress=False).rounds
1
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from course_lib._checks import mean_std
from course_lib.experiments.lottery_result import LotteryResult, TensorDict
from course_lib.experiments.tickets import prune_and_rewind, start_variant
from course_lib.pruning.masks import prunable_weights
from course_lib.pruning.schedules import layer_sparsities
from course_lib.training.data import Dataset
from course_lib.training.record import cpu_copy
from course_lib.training.stacked import train_many
from course_lib.training.train import TrainResult, train

__all__ = ["StudySetup", "Lineage", "Job", "run_study", "train_runs", "train_dense", "start_round", "record_round"]


@dataclass
class StudySetup:
    """A study's checked settings.

    Attributes:
        data: the data set.
        build: ``build(seed)`` makes a fresh network of the study's model.
        seeds: the seeds, distinct ints >= 0.
        rounds: the number of pruning rounds (>= 1).
        rates: {parameter name: fraction of its remaining weights pruned per round}.
        plans: {rewinding iteration: its variants}, the first one first.
        config: the JSON-able settings each :class:`LotteryResult` records.
        train_kw: keyword arguments of the trainers (epochs, lr, ..., ``device``).
        keep_history: keep every round's masks and weights.
        progress: show a tqdm bar over rounds.
        stacked: train a round's runs together (:func:`~course_lib.training.stacked.train_many`,
            MLPs) or one by one (:func:`~course_lib.training.train.train`, conv nets).
    """

    data: Dataset
    build: Callable[[int], nn.Module]
    seeds: list[int]
    rounds: int
    rates: dict[str, float]
    plans: dict[int, list[str]]
    config: dict[str, Any]
    train_kw: dict[str, Any]
    keep_history: bool = False
    progress: bool = True
    stacked: bool = True


@dataclass
class Lineage:
    """The tickets of one seed at one rewinding point, round after round.

    Attributes:
        seed: the study seed the lineage belongs to.
        rewind_state: the weights its tickets are rewound to ({name: tensor}, a ``state_dict``).
        net: the trained network the next round prunes (the dense one before round 1).
        masks: its masks ({parameter name: bool tensor}, ``True`` = keep; ``None`` before round 1).
    """

    seed: int
    rewind_state: TensorDict
    net: nn.Module
    masks: TensorDict | None = None


@dataclass
class Job:
    """One network to train in a round: its rewinding point, variant, masks and minibatch seed.

    Attributes:
        rewind_iter: the rewinding point (training iteration, 0 = initialization).
        variant: one of :data:`~course_lib.experiments.lottery_result.VARIANTS`.
        net: the network to train (trained in place).
        masks: its masks ({parameter name: bool tensor}, ``True`` = keep).
        seed: the study seed, also the minibatch seed of its training.
    """

    rewind_iter: int
    variant: str
    net: nn.Module
    masks: TensorDict
    seed: int


def _state(model: nn.Module) -> TensorDict:
    return cpu_copy(model.state_dict())


def train_runs(
    setup: StudySetup,
    nets: Sequence[nn.Module],
    masks: Sequence[TensorDict] | None,
    seeds: Sequence[int],
    save_at: Sequence[int] = (),
) -> list[TrainResult]:
    """Train ``nets`` in place (net ``i`` with ``masks[i]`` and minibatch seed ``seeds[i]``) with ``setup.train_kw``.

    Args:
        setup: the study's settings; ``setup.stacked`` picks the trainer.
        nets: the networks.
        masks: one mask dict per network, or ``None`` (dense).
        seeds: one minibatch seed per network.
        save_at: iterations whose weights each run snapshots.

    Returns:
        One :class:`~course_lib.training.train.TrainResult` per network, in order.

    Raises:
        ValueError, TypeError: as the trainers, for a hand-made ``setup``.
    """
    if setup.stacked:
        return train_many(nets, setup.data, masks, seeds=list(seeds), save_at=save_at, **setup.train_kw)
    job_masks = [None] * len(nets) if masks is None else list(masks)
    return [
        train(net, setup.data, m, seed=s, save_at=save_at, **setup.train_kw)
        for net, m, s in zip(nets, job_masks, seeds, strict=True)
    ]


def train_dense(setup: StudySetup) -> tuple[dict[int, LotteryResult], dict[int, list[Lineage]]]:
    """Round 0: train one dense network per seed, saving the weights at every rewinding point.

    Args:
        setup: the study's settings.

    Returns:
        ``(results, lineages)``: one empty :class:`LotteryResult` per rewinding point (sharing
        the dense runs), and per rewinding point one :class:`Lineage` per seed, each with its
        own copy of the trained dense network.

    Raises:
        ValueError, TypeError: as :func:`course_lib.training.stacked.train_many`, for a
            hand-made ``setup`` it refuses (bad ``train_kw`` or ``data``, a rewinding
            iteration past the end of training); never for one from ``rewinding_study``.
    """
    nets = [setup.build(s) for s in setup.seeds]
    inits = [_state(n) for n in nets]
    dense = train_runs(setup, nets, None, setup.seeds, save_at=sorted(setup.plans))
    rewind_states = {k: [r.snapshots[k] for r in dense] for k in setup.plans}
    for r in dense:
        r.snapshots.clear()
    results = {
        k: LotteryResult(config=dict(setup.config, rewind_iter=k, variants=vs), seeds=setup.seeds, dense=dense)
        for k, vs in setup.plans.items()
    }
    if setup.keep_history:
        dense_final = [_state(n) for n in nets]
        for k, res in results.items():
            res.init, res.rewind_state, res.final[0] = inits, rewind_states[k], dense_final
            res.masks[0] = [
                {n: torch.ones_like(p, dtype=torch.bool) for n, p in prunable_weights(net).items()} for net in nets
            ]
    lineages = {
        k: [Lineage(s, state, copy.deepcopy(net)) for s, state, net in zip(setup.seeds, states, nets, strict=True)]
        for k, states in rewind_states.items()
    }
    return results, lineages


def start_round(setup: StudySetup, lineages: dict[int, list[Lineage]], pruning_round: int) -> list[Job]:
    """Prune and rewind every lineage's ticket (:func:`prune_and_rewind`) and start its controls.

    Args:
        setup: the study's settings.
        lineages: per rewinding point, one :class:`Lineage` per seed; each gets its new masks,
            and its network is rewound in place.
        pruning_round: the round r >= 1: each layer is pruned to ``1 - (1 - rate) ** r``.

    Returns:
        The round's jobs, per rewinding point, variant-major then seed (the ticket's job
        trains the lineage's own network).

    Raises:
        ValueError: for a hand-made ``setup``: a rate outside [0, 1), an unknown parameter
            name or variant (:func:`~course_lib.pruning.schedules.layer_sparsities`,
            :func:`prune_and_rewind`, :func:`start_variant`), a negative ``pruning_round``.
    """
    target = layer_sparsities(setup.rates, pruning_round)
    jobs = []
    for k, variants in setup.plans.items():
        for lin in lineages[k]:
            lin.net.cpu()  # trained on setup.train_kw's device; pruned and rewound on the CPU
            lin.masks = prune_and_rewind(lin.net, lin.rewind_state, target, prior=lin.masks)
        for variant in variants:
            for lin in lineages[k]:
                assert lin.masks is not None  # pruned just above
                net, masks = (
                    (lin.net, lin.masks)
                    if variant == "ticket"
                    else start_variant(variant, setup.build, lin.seed, pruning_round, lin.rewind_state, lin.masks)
                )
                jobs.append(Job(k, variant, net, masks, lin.seed))
    return jobs


def _nonzero_density(net: nn.Module) -> dict[str, float]:
    return {n: float((p != 0).float().mean()) for n, p in prunable_weights(net).items()}


def record_round(
    setup: StudySetup,
    results: dict[int, LotteryResult],
    lineages: dict[int, list[Lineage]],
    jobs: Sequence[Job],
    runs: Sequence[TrainResult],
    pruning_round: int,
) -> None:
    """Store a trained round in each result: the runs, the densities and (with history) masks and weights.

    Args:
        setup: the study's settings.
        results: one :class:`LotteryResult` per rewinding point, filled in place.
        lineages: as after :func:`start_round` and training.
        jobs: the round's jobs, as :func:`start_round` returned them.
        runs: their runs, in the same order.
        pruning_round: the round.

    Raises:
        ValueError: ``jobs`` and ``runs`` differ in length.
        KeyError: ``results`` has a rewinding point that ``setup.plans`` or ``lineages`` lacks.
    """
    for k, res in results.items():
        for variant in setup.plans[k]:
            picked = [
                (job, run)
                for job, run in zip(jobs, runs, strict=True)
                if (job.rewind_iter, job.variant) == (k, variant)
            ]
            res.runs[(variant, pruning_round)] = [run for _, run in picked]
            res.nonzero_density[(variant, pruning_round)] = [_nonzero_density(job.net) for job, _ in picked]
        first = lineages[k][0].masks
        assert first is not None  # set by start_round
        kept = {n: int(m.sum()) for n, m in first.items()}
        sizes = {n: m.numel() for n, m in first.items()}
        res.weights_remaining[pruning_round] = sum(kept.values()) / sum(sizes.values())
        res.layer_density[pruning_round] = {n: kept[n] / sizes[n] for n in first}
        if setup.keep_history:
            res.masks[pruning_round] = [lin.masks for lin in lineages[k] if lin.masks is not None]
            res.final[pruning_round] = [_state(lin.net) for lin in lineages[k]]


def run_study(setup: StudySetup) -> dict[int, LotteryResult]:
    """The dense round, then ``setup.rounds`` rounds of IMP with controls (Frankle & Carbin 2019).

    Args:
        setup: the study's settings (from :func:`course_lib.experiments.lottery.rewinding_study`).

    Returns:
        ``{rewinding iteration: LotteryResult}`` in the order of ``setup.plans``.

    Raises:
        ValueError, TypeError: as :func:`train_dense` and :func:`start_round`, for a hand-made
            ``setup`` (never for one from ``rewinding_study``).
        KeyError: the first plan of a hand-made ``setup`` lacks the ``"ticket"`` variant.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    bar = tqdm(total=setup.rounds + 1, disable=not setup.progress, desc="lottery rounds")
    results, lineages = train_dense(setup)
    first = results[next(iter(setup.plans))]
    bar.set_postfix(dense=f"{first.dense_test_acc:.1f}%")
    bar.update(1)
    for rnd in range(1, setup.rounds + 1):
        jobs = start_round(setup, lineages, rnd)
        runs = train_runs(setup, [j.net for j in jobs], [j.masks for j in jobs], [j.seed for j in jobs])
        record_round(setup, results, lineages, jobs, runs, rnd)
        ticket = mean_std(first.test_accs("ticket", rnd))[0]
        bar.set_postfix(weights=f"{100 * first.weights_remaining[rnd]:.1f}%", ticket=f"{ticket:.1f}%")
        bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    for res in results.values():
        res.seconds = seconds
    return results
