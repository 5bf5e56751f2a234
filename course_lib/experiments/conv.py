"""Part III's experiments on conv nets: filter sensitivity, and the lecture's CIFAR-10 table.

* :func:`filter_sensitivity`: prune the filters of one conv layer at a time (L1 norm, Li et al.
  2017), the channel's bias and BatchNorm entries with them, and measure the accuracy: the
  conv version of notebook 04's scan (does a deeper or larger layer tolerate more?);
* :func:`channel_sweep`: remove a growing fraction of every layer's channels and measure
  MACs, size, time per 64 pictures and accuracy (the notebook's slider);
* :data:`LECTURE_TABLE`, :func:`lecture_ratios` and :func:`lecture_row`: the lecture's slide
  "Evaluation on Cifar10 dataset" (model size in the slide's MB and inference time per 64
  pictures, before -> after pruning at rate 0.5), and one family's row rebuilt here: train,
  remove half the channels, fine-tune, measure (:func:`family_row` measures models trained
  already). Sizes measured here are in KiB (1024 bytes).

Channels are removed by :func:`course_lib.pruning.depgraph.prune_channels` (Torch-Pruning's
groups, the smallest L1 filter norms; on plain chains it keeps the channels the course's own
:func:`course_lib.pruning.channels.shrink_conv_chain` keeps, a tested oracle).

Nothing here changes the model it is given.

>>> from course_lib.training.conv_models import conv2
>>> from course_lib.training.data import as_images, load
>>> scan = filter_sensitivity(conv2(input_size=8), as_images(load("digits")), [0.0, 0.5])
>>> list(scan.acc), scan.sizes["conv1.weight"]
(['conv1.weight', 'conv2.weight'], 72)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import torch
from torch import nn

from course_lib._checks import check_float, check_int, check_sparsity, check_threads
from course_lib.experiments.finetune import SensitivityScan, evaluation_split
from course_lib.measure.conv_costs import conv_costs
from course_lib.measure.work import macs
from course_lib.pruning.channels import channel_masks, filter_norm_mask
from course_lib.pruning.depgraph import prune_channels
from course_lib.pruning.masks import apply_masks
from course_lib.pruning.reparam import plain_copy
from course_lib.training.data import Dataset
from course_lib.training.record import evaluate
from course_lib.training.train import train

__all__ = [
    "LectureRow",
    "LECTURE_TABLE",
    "lecture_ratios",
    "conv_layers",
    "filter_sensitivity",
    "ChannelSweep",
    "channel_sweep",
    "FamilyRow",
    "family_row",
    "lecture_row",
]


class LectureRow(NamedTuple):
    """One row of the lecture's table: size in the slide's MB (as printed; the slide does not say
    10^6 or 2^20 bytes) and milliseconds per 64 pictures, before and after."""

    size_mb: tuple[float, float]
    ms_per_64: tuple[float, float]


#: The lecture's slide "Evaluation on Cifar10 dataset", pruning rate 0.5 (its numbers, as printed).
#: OCR-Net's data set is not named on the slide.
LECTURE_TABLE: dict[str, LectureRow] = {
    "SimpleNet": LectureRow((8.7, 1.8), (5.8, 2.7)),
    "VGG19": LectureRow((53.4, 13.5), (28.62, 9.44)),
    "DenseNet40": LectureRow((4.3, 1.5), (77.87, 39.97)),
    "MobileNet V1": LectureRow((6.6, 1.8), (19.39, 8.01)),
    "OCR-Net": LectureRow((2426.2, 841.9), (10.36, 7.3)),
}


def lecture_ratios(name: str) -> tuple[float, float]:
    """The lecture's after / before ratios of one row: ``(size ratio, time ratio)``.

    Args:
        name: a key of :data:`LECTURE_TABLE`, e.g. ``"VGG19"``.

    Returns:
        ``(size_after / size_before, time_after / time_before)``, floats in (0, 1].

    Raises:
        ValueError: an unknown ``name`` (the message lists the rows).

    >>> [round(r, 2) for r in lecture_ratios("VGG19")]
    [0.25, 0.33]
    """
    if name not in LECTURE_TABLE:
        raise ValueError(f"name must be a row of the lecture's table {list(LECTURE_TABLE)}, got {name!r}")
    row = LECTURE_TABLE[name]
    return row.size_mb[1] / row.size_mb[0], row.ms_per_64[1] / row.ms_per_64[0]


def conv_layers(model: nn.Module) -> list[str]:
    """The weight names of ``model``'s ordinary conv layers (``groups == 1``), in order.

    Depthwise and grouped convs are left out: their filters are tied to their input channels,
    so pruning them alone is not filter pruning (Torch-Pruning's groups handle them).

    Args:
        model: any ``nn.Module``.

    Returns:
        ``["conv1.weight", ...]``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.

    >>> from course_lib.training.conv_models import conv4
    >>> conv_layers(conv4())
    ['conv1.weight', 'conv2.weight', 'conv3.weight', 'conv4.weight']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [
        f"{name}.weight" if name else "weight"
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d) and m.groups == 1
    ]


@torch.no_grad()
def filter_sensitivity(
    model: nn.Module,
    data: Dataset,
    sparsities: Sequence[float] = (0.25, 0.5, 0.75, 0.9),
    layers: Sequence[str] | None = None,
    split: str = "val",
    p: int = 1,
) -> SensitivityScan:
    """Prune the filters of one conv layer at a time and measure the accuracy (no fine-tuning).

    For each layer and sparsity, the ``round(sparsity * out_channels)`` filters with the
    smallest L``p`` norm (:func:`~course_lib.pruning.channels.filter_norm_mask`; Li et al.
    2017, "Pruning Filters for Efficient ConvNets", Section 4.1) are masked together with their
    bias and BatchNorm scale and shift (:func:`~course_lib.pruning.channels.channel_masks`), so
    each pruned channel outputs 0, as if removed. The model runs in eval mode.

    Args:
        model: the trained conv net; not changed (a copy is pruned).
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        data: the data set, inputs ``(n, C, H, W)`` (:func:`course_lib.training.data.as_images`).
        sparsities: fractions of a layer's filters to prune, each in [0, 1].
        layers: conv weight names to scan (default :func:`conv_layers`).
        split: ``"train"``, ``"val"`` or ``"test"``.
        p: the filter norm, 1 (the paper's) or 2.

    Returns:
        A :class:`~course_lib.experiments.finetune.SensitivityScan` (``sparsities`` are the
        fractions of *filters*; ``sizes`` the number of weights of each layer).

    Raises:
        ValueError: an unknown layer or split, a sparsity outside [0, 1], ``p`` not 1 or 2.
        TypeError: ``model`` not an ``nn.Module``, ``data`` without the split.
    """
    known = conv_layers(model)  # TypeError for a non-module, before anything is copied
    part = evaluation_split(data, split)
    fractions = [check_sparsity(s) for s in sparsities]
    net = plain_copy(model).eval()  # torch.nn.utils.prune / parametrize made permanent
    names = known if layers is None else list(layers)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"layers has unknown name(s) {unknown}; conv layers: {known}")
    params = dict(net.named_parameters())
    scan = SensitivityScan(fractions, {}, evaluate(net, part)[1], {n: params[n].numel() for n in names}, split)
    original = {k: v.clone() for k, v in net.state_dict().items()}
    for name in names:
        accs = []
        for s in fractions:
            masks = channel_masks(net, {name: filter_norm_mask(original[name], s, p=p)})
            apply_masks(net, masks)
            accs.append(evaluate(net, part)[1])
            net.load_state_dict(original)
        scan.acc[name] = accs
    return scan


# --------------------------------------------------------------------------- the slider's sweep
def _fraction(value: object, name: str) -> float:
    """``value`` as a fraction of channels to remove, in [0, 1) (every group keeps a channel)."""
    fraction = check_sparsity(value, name)
    if fraction >= 1.0:
        raise ValueError(f"{name} must be in [0, 1) (every group keeps a channel), got {value!r}")
    return fraction


@dataclass
class ChannelSweep:
    """Costs and accuracy of a conv net with a growing fraction of its channels removed.

    Attributes:
        rates: fractions of every group's channels removed (0 = the dense model).
        macs_ratio: MACs per picture (every stored weight, as a dense kernel computes) / the
            dense model's: 1 at rate 0.
        size_kib: parameters stored dense (float32), KiB = 1024 bytes.
        ms_per_64: median milliseconds per batch of 64 pictures (the lecture's unit).
        acc: accuracy (percent) without fine-tuning.
        dense_acc: the dense model's accuracy.
        models: rate -> the smaller model.
    """

    rates: list[float]
    macs_ratio: list[float]
    size_kib: list[float]
    ms_per_64: list[float]
    acc: list[float]
    dense_acc: float
    models: dict[float, nn.Module] = field(default_factory=dict, repr=False)


def channel_sweep(
    model: nn.Module,
    data: Dataset,
    rates: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    split: str = "test",
    repeats: int = 5,
    threads: int | None = None,
) -> ChannelSweep:
    """Remove each fraction ``rates`` of every layer's channels; measure costs and accuracy.

    The smaller models come from :func:`course_lib.pruning.depgraph.prune_channels` (no
    fine-tuning); their costs from :func:`course_lib.measure.conv_costs.conv_costs`, all timed
    side by side (interleaved) on one seeded batch of 64 pictures.

    Args:
        model: a trained conv net taking ``data``'s pictures; not changed.
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        data: the data set, inputs ``(n, C, H, W)``.
        rates: fractions in [0, 1) (0 gives a copy of ``model``).
        split: where accuracy is measured.
        repeats: timed runs per model (int >= 1).
        threads: torch CPU threads while timing (``None``: as set).

    Returns:
        A :class:`ChannelSweep`.

    Raises:
        ValueError: an unknown split; ``rates`` empty, with a repeated entry or one outside
            [0, 1); ``repeats`` < 1 or ``threads`` < 1 (all checked before any pruning).
        TypeError: a non-number rate; and what
            :func:`~course_lib.pruning.depgraph.prune_channels` and
            :func:`~course_lib.measure.conv_costs.conv_costs` raise.
    """
    part = evaluation_split(data, split)
    fractions = [_fraction(r, "rates entries") for r in rates]
    if not fractions or len(set(fractions)) < len(fractions):
        raise ValueError(f"rates must be a non-empty sequence of distinct fractions in [0, 1), got {list(rates)}")
    repeats, threads = check_int(repeats, "repeats", 1), check_threads(threads)
    size = tuple(data.input_shape)
    nets = {r: prune_channels(model, r, size) if r else plain_copy(model) for r in fractions}
    rows = conv_costs({str(r): m for r, m in nets.items()}, size, 64, threads=threads, repeats=repeats, picture=False)
    accs = [evaluate(m, part)[1] for m in nets.values()]
    dense_macs, dense_acc = macs(model, skip_zeros=False, input_size=size), evaluate(model, part)[1]
    return ChannelSweep(
        fractions,
        [row["dense_macs"] / dense_macs for row in rows],
        [row["size_kib"] for row in rows],
        [row["ms_per_batch"] for row in rows],
        accs,
        dense_acc,
        nets,
    )


# --------------------------------------------------------------------------- the lecture's table
@dataclass
class FamilyRow:
    """One family's row of the lecture's table, rebuilt here (each pair is ``(before, after)``).

    Attributes:
        family: the model as built here, e.g. ``"VGG-11 (width 1/8)"``.
        lecture: its row in :data:`LECTURE_TABLE`.
        params, size_kib, macs, ms_per_64: parameters, KiB (float32), MACs per picture, median
            milliseconds per 64 pictures; ``ms_spread`` their interquartile range / median.
        acc_dense, acc_pruned, acc_finetuned: test accuracy (percent) of the dense model, right
            after removing the channels, and after fine-tuning.
        seconds: wall time of the whole row (training included).
    """

    family: str
    lecture: str
    params: tuple[int, int]
    size_kib: tuple[float, float]
    macs: tuple[int, int]
    ms_per_64: tuple[float, float]
    ms_spread: tuple[float, float]
    acc_dense: float
    acc_pruned: float
    acc_finetuned: float
    seconds: float = 0.0


def lecture_row(
    family: str,
    lecture: str,
    model: nn.Module,
    data: Dataset,
    train_kw: dict[str, Any],
    finetune_epochs: int = 1,
    finetune_lr: float | None = None,
    sparsity: float = 0.5,
    repeats: int = 10,
    threads: int | None = None,
) -> FamilyRow:
    """Train ``model``, remove ``sparsity`` of its channels, fine-tune, and measure: one table row.

    The dense model is trained in place (:func:`course_lib.training.train.train` with
    ``train_kw``), brought to the CPU, pruned by
    :func:`~course_lib.pruning.depgraph.prune_channels` (the lecture's "pruning rate 0.5":
    half of every layer's channels), then the smaller model is fine-tuned for
    ``finetune_epochs`` with the same settings. Dense and removed models are timed side by
    side on the CPU (:func:`~course_lib.measure.conv_costs.conv_costs`).

    Args:
        family: the label of the row, e.g. ``"VGG-11 (width 1/8)"``.
        lecture: the lecture's row it rebuilds, a key of :data:`LECTURE_TABLE`.
        model: an untrained conv net taking ``data``'s pictures (trained in place).
        data: the data set, inputs ``(n, C, H, W)``.
        train_kw: keyword arguments of :func:`~course_lib.training.train.train` (``epochs``,
            ``lr``, ``batch_size``, ``seed``, ``device``, ...); ``progress`` defaults to off.
        finetune_epochs: epochs of fine-tuning after removal (int >= 0).
        finetune_lr: its learning rate (default: ``train_kw``'s).
        sparsity: the fraction of channels removed, in [0, 1).
        repeats: timed runs per model.
        threads: torch CPU threads while timing.

    Returns:
        A :class:`FamilyRow`.

    Raises:
        ValueError: ``lecture`` not in the table, ``sparsity`` outside [0, 1),
            ``finetune_epochs`` < 0, ``finetune_lr`` <= 0, ``repeats`` or ``threads`` < 1: all
            checked before training (``model`` untouched); and what the functions above raise.
        TypeError: a non-number ``sparsity`` or ``finetune_lr``.
    """
    lecture_ratios(lecture)
    sparsity = _fraction(sparsity, "sparsity")
    finetune_epochs, repeats = check_int(finetune_epochs, "finetune_epochs", 0), check_int(repeats, "repeats", 1)
    threads = check_threads(threads)
    if finetune_lr is not None:
        finetune_lr = check_float(finetune_lr, "finetune_lr", strict=True)
    start = time.perf_counter()
    kw = {"progress": False, **train_kw}
    dense_acc = train(model, data, **kw).final_test_acc
    model.cpu()
    size = tuple(data.input_shape)
    small = prune_channels(model, sparsity, size)
    pruned_acc = evaluate(small, data.test)[1]
    finetuned_acc = pruned_acc
    if finetune_epochs:
        tune_kw = {**kw, "epochs": finetune_epochs} | ({} if finetune_lr is None else {"lr": finetune_lr})
        finetuned_acc = train(small, data, **tune_kw).final_test_acc
        small.cpu()
    accs = (dense_acc, pruned_acc, finetuned_acc)
    row = family_row(family, lecture, model, small, accs, size, repeats=repeats, threads=threads)
    return replace(row, seconds=time.perf_counter() - start)


def family_row(
    family: str,
    lecture: str,
    dense: nn.Module,
    removed: nn.Module,
    accs: tuple[float, float, float],
    input_size: Sequence[int],
    repeats: int = 10,
    threads: int | None = None,
) -> FamilyRow:
    """One table row from models trained already: counts of both, and both timed side by side.

    Dense and removed models are timed on the CPU, interleaved, on one seeded batch of 64
    pictures (:func:`~course_lib.measure.conv_costs.conv_costs`, no one-picture timing).

    Args:
        family: the label of the row, e.g. ``"VGG-11 (width 1/8)"``.
        lecture: the lecture's row it rebuilds, a key of :data:`LECTURE_TABLE`.
        dense, removed: the trained dense model and the one with channels removed (CPU).
        accs: test accuracies (percent) ``(dense, right after removal, after fine-tuning)``.
        input_size: one picture, ``(channels, height, width)``.
        repeats: timed runs per model (int >= 1).
        threads: torch CPU threads while timing.

    Returns:
        A :class:`FamilyRow` (``seconds`` 0).

    Raises:
        ValueError: ``lecture`` not in the table, ``accs`` not three numbers; and what
            :func:`~course_lib.measure.conv_costs.conv_costs` raises.

    >>> from course_lib.training.conv_models import conv2
    >>> net = conv2(input_size=8)
    >>> row = family_row("tiny", "VGG19", net, net, (90.0, 10.0, 80.0), (1, 8, 8), repeats=1)
    >>> row.size_kib[0] == row.size_kib[1], row.acc_finetuned
    (True, 80.0)
    """
    lecture_ratios(lecture)
    if not (isinstance(accs, (tuple, list)) and len(accs) == 3):
        raise ValueError(f"accs must be (dense, pruned, fine-tuned) accuracies, got {accs!r}")
    a = [check_float(v, "accs entries") for v in accs]
    rows = conv_costs(
        {"dense": dense, "removed": removed}, input_size, 64, threads=threads, repeats=repeats, picture=False
    )

    def pair(key: str) -> Any:
        return (rows[0][key], rows[1][key])

    return FamilyRow(
        family, lecture, pair("params"), pair("size_kib"), pair("macs"), pair("ms_per_batch"), pair("batch_spread"), *a
    )
