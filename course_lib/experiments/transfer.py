"""Moving a lottery ticket to another data set, and the data sets the course moves it to.

Tickets found on one data set can be trained on a related one (Morcos et al. 2019, "One
ticket to win them all: generalizing lottery ticket initializations across datasets and
optimizers"). :func:`transfer_ticket` trains the tickets of a
:func:`course_lib.experiments.lottery.lottery_study` run (with ``keep_history=True``) and
their controls on a target data set; :func:`transfer_target` names the target notebook 05
uses for each source: a similar data set, not a new sample of the same one.

>>> transfer_target("mnist1d").name
'mnist1d-distorted'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch.nn.functional as F
from torch import nn

from course_lib._checks import check_seed
from course_lib.experiments.lottery import make_model
from course_lib.experiments.lottery_result import VARIANTS, LotteryResult, TensorDict
from course_lib.experiments.tickets import start_variant
from course_lib.training.data import NORMALIZATION, Dataset, Split, load
from course_lib.training.stacked import train_many
from course_lib.training.train import TrainResult

__all__ = ["transfer_ticket", "digits_as_mnist", "MNIST1D_DISTORTION", "mnist1d_distorted", "transfer_target"]

#: How :func:`mnist1d_distorted` changes MNIST-1D's generator (Greydanus 2020; defaults
#: ``shear_scale=0.75``, ``scale_coeff=0.4``, ``seed=42``): twice the shear and twice the
#: scale variation, drawn with another generator seed.
MNIST1D_DISTORTION = {"shear_scale": 1.5, "scale_coeff": 0.8, "generator_seed": 1}


def _check_source(result: object, pruning_round: object, target: object, variants: Sequence[str]) -> None:
    if not isinstance(result, LotteryResult) or not result.masks:
        raise TypeError("result must be a LotteryResult from lottery_study(..., keep_history=True)")
    if isinstance(pruning_round, bool) or pruning_round not in result.masks or pruning_round == 0:
        raise ValueError(f"pruning_round must be one of the study's rounds 1..{result.rounds}, got {pruning_round!r}")
    if not isinstance(target, Dataset):
        raise TypeError(f"target must be a course_lib.training.data.Dataset, got {type(target).__name__}")
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"variants must be names from {VARIANTS}, got {list(variants)!r}")
    in_features = result.init[0]["fc1.weight"].shape[1]
    if target.in_features != in_features:
        raise ValueError(f"target has {target.in_features} input features, the tickets {in_features}")


def transfer_ticket(
    result: LotteryResult,
    pruning_round: int,
    target: Dataset,
    *,
    variants: Sequence[str] = VARIANTS,
    dense: bool = True,
    progress: bool = False,
    threads: int | None = None,
) -> dict[str, list[TrainResult]]:
    """Train the tickets of ``pruning_round`` (found on ``result``'s data set) on ``target``.

    Per seed, each variant starts as in the study
    (:func:`course_lib.experiments.tickets.start_variant`): ``"ticket"`` is the source's mask
    on its rewound weights; ``"reinit"`` the same mask with a fresh initialization;
    ``"random_prune"`` a random mask with the same per-layer counts on the rewound weights;
    ``"dense"`` (if ``dense``) the whole network from its initialization. Training settings
    (epochs, lr, batch size, optimizer, minibatch seeds) are the source study's; all runs
    are trained together.

    Args:
        result: from :func:`course_lib.experiments.lottery.lottery_study` with ``keep_history=True``.
        pruning_round: a round of the study, >= 1.
        target: the data set to train on; same input size as the source.
        variants: a subset of :data:`~course_lib.experiments.lottery_result.VARIANTS`.
        dense: also train the dense network from its initialization.
        progress: show a tqdm bar.
        threads: torch CPU threads.

    Returns:
        ``{variant: [run per seed]}`` (``"dense"`` last).

    Raises:
        TypeError: ``result`` keeps no history, or ``target`` is not a Dataset.
        ValueError: an unknown round or variant, or another input size.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import lottery_study
    >>> res = lottery_study(load("digits"), model="16", rounds=1, seeds=[0], epochs=1, keep_history=True,
    ...                     progress=False)
    >>> runs = transfer_ticket(res, 1, load("digits", seed=1))
    >>> sorted(runs), len(runs["ticket"])
    (['dense', 'random_prune', 'reinit', 'ticket'], 1)
    """
    _check_source(result, pruning_round, target, variants)
    cfg = result.config

    def build(seed: int) -> nn.Module:
        return make_model(cfg["model"], target.in_features, target.num_classes, seed=seed)

    jobs: list[tuple[str, nn.Module, TensorDict | None, int]] = []
    for variant in [v for v in VARIANTS if v in variants]:
        for i, seed in enumerate(result.seeds):
            state, masks = result.rewind_state[i], result.masks[pruning_round][i]
            jobs.append((variant, *start_variant(variant, build, seed, pruning_round, state, masks), seed))
    if dense:
        for i, seed in enumerate(result.seeds):
            net = build(seed)
            net.load_state_dict(result.init[i])
            jobs.append(("dense", net, None, seed))
    runs = train_many(
        [j[1] for j in jobs],
        target,
        [j[2] for j in jobs],
        seeds=[j[3] for j in jobs],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        batch_size=cfg["batch_size"],
        optimizer=cfg.get("optimizer", "adam"),
        progress=progress,
        threads=threads,
    )
    out: dict[str, list[TrainResult]] = {}
    for job, run in zip(jobs, runs, strict=True):
        out.setdefault(job[0], []).append(run)
    return out


def digits_as_mnist(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (other writers, other scanner) made to look like MNIST.

    Each image is upsampled to 20x20 (bilinear) and centred in a 28x28 frame, as MNIST's
    digits are (LeCun et al. 1998), then standardized with MNIST's constants. Split as
    ``load("digits", seed)``.

    Args:
        seed: the train/val/test split's seed (int >= 0).

    Returns:
        A :class:`~course_lib.training.data.Dataset` named ``"digits28"``, images of shape
        ``(28, 28)``, float32, standardized (``mean`` 0.1307, ``std`` 0.3081); int64 labels.

    Raises:
        TypeError: ``seed`` is not an int.
        ValueError: ``seed`` is negative.

    >>> d = digits_as_mnist()
    >>> d.name, d.input_shape, len(d.train)
    ('digits28', (28, 28), 1079)
    """
    src = load("digits", seed=seed, normalize=False)
    mean, std = NORMALIZATION["mnist5k"]

    def convert(split: Split) -> Split:
        x = F.interpolate(split.x[:, None], size=(20, 20), mode="bilinear", align_corners=False)[:, 0]
        x = F.pad(x.clamp(0, 1), (4, 4, 4, 4))
        return Split((x - mean) / std, split.y)

    return Dataset("digits28", convert(src.train), convert(src.val), convert(src.test), src.num_classes, mean, std)


def mnist1d_distorted(seed: int = 0) -> Dataset:
    """MNIST-1D generated with stronger distortions (:data:`MNIST1D_DISTORTION`): a similar data set.

    The same ten templates, signal length and noise as ``load("mnist1d")`` (Greydanus 2020),
    but every signal sheared and scaled twice as much, from another generator seed; split
    and scaled as ``load("mnist1d", seed)`` (3,500 train / 500 validation / 1,000 test,
    not standardized). The global random generators ``make_dataset`` seeds are restored.

    Args:
        seed: the train/val/test split's seed (int >= 0).

    Returns:
        A :class:`~course_lib.training.data.Dataset` named ``"mnist1d-distorted"``: float32
        inputs of shape ``(n, 40)``, int64 labels 0..9.

    Raises:
        TypeError: ``seed`` is not an int.
        ValueError: ``seed`` is negative.
    """
    split_seed = check_seed(seed, "seed")
    generated = load("mnist1d", split_seed, normalize=False, **MNIST1D_DISTORTION)
    return dataclasses.replace(generated, name="mnist1d-distorted")


def transfer_target(name: str, seed: int = 0) -> Dataset:
    """The data set notebook 05 moves a ticket found on ``name`` to.

    * ``"mnist1d"``: :func:`mnist1d_distorted`, MNIST-1D (Greydanus 2020) with twice the
      shear and scale variation: the same task on differently distorted signals;
    * ``"mnist5k"`` / ``"mnist"``: :func:`digits_as_mnist`, handwritten digits from other
      writers, other scanner, other resolution.

    Args:
        name: the source data set's name.
        seed: the train/val/test split's seed (int >= 0).

    Returns:
        The target :class:`~course_lib.training.data.Dataset`: ``"mnist1d-distorted"``
        (inputs of length 40) or ``"digits28"`` (28x28 images).

    Raises:
        ValueError: no target is defined for ``name``, or a negative ``seed``.
        TypeError: ``seed`` is not an int.

    >>> transfer_target("mnist5k").name
    'digits28'
    """
    if name == "mnist1d":
        return mnist1d_distorted(seed)
    if name in ("mnist5k", "mnist"):
        return digits_as_mnist(seed)
    raise ValueError(
        f"name must be 'mnist1d', 'mnist5k' or 'mnist' (a transfer target is defined for those), got {name!r}"
    )
