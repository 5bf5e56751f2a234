"""The costs of conv nets side by side: parameters, size, MACs, and latency per batch and per picture.

One function, :func:`conv_costs`, for the lecture's table (model size and time per batch
of 64 pictures, before and after pruning) and the benchmark: give it the variants of a model,
e.g. ``{"dense": net, "masked": net_masked, "removed": net_small}``, and it returns one plain row
(a dict) per variant, easy to print or tabulate. The counts come from
:mod:`course_lib.measure.size` and :mod:`course_lib.measure.work`, the times from
:func:`course_lib.measure.timing.compare_latency` (all variants interleaved, so load from other
processes hits them alike; medians and spreads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from course_lib._checks import check_bool, check_input_size, check_int, check_seed, check_threads
from course_lib.measure.size import model_bytes, nonzero_count, param_count
from course_lib.measure.timing import compare_latency
from course_lib.measure.work import macs
from course_lib.pruning.reparam import plain_copy

__all__ = ["conv_costs", "COST_KEYS"]

#: The keys of each row of :func:`conv_costs`, in order.
COST_KEYS = (
    "model",
    "params",
    "nonzero",
    "size_kib",
    "macs",
    "dense_macs",
    "batch_size",
    "ms_per_batch",
    "batch_spread",
    "ms_per_picture",
    "picture_spread",
    "threads",
    "channels_last",
)


def _check_models(models: object) -> dict[str, nn.Module]:
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models must be a non-empty dict {name: nn.Module}")
    for name, m in models.items():
        if not isinstance(m, nn.Module):
            raise TypeError(f"models[{name!r}] must be a torch.nn.Module, got {type(m).__name__}")
    return dict(models)


def _timed(
    models: dict[str, nn.Module],
    size: tuple[int, ...],
    batch_size: int,
    repeats: int,
    threads: int | None,
    seed: int,
    channels_last: bool,
    picture: bool,
) -> tuple[dict, dict]:
    """Interleaved latency of eval-mode copies of the models on a seeded batch of ``batch_size``, then one picture
    (``picture``; else ``{}`` for it)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    # Module.to(memory_format=...) works (torch docs) but is missing from torch's type stubs
    # plain copies: torch refuses to deepcopy a model pruned by torch.nn.utils.prune, and its hook is no kernel cost
    nets = {name: plain_copy(m).eval().to(memory_format=fmt) for name, m in models.items()}  # type: ignore[call-overload]
    like = next(next(iter(nets.values())).parameters(), torch.zeros(0))
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, *size, generator=gen, dtype=like.dtype).to(like.device)
    one = x[:1].clone()
    if channels_last:
        x, one = x.contiguous(memory_format=fmt), one.contiguous(memory_format=fmt)
    batch = compare_latency(nets, x, warmup=3, repeats=repeats, threads=threads)
    if not picture:
        return batch, {}
    return batch, compare_latency(nets, one, warmup=3, repeats=repeats, number=10, threads=threads)


def conv_costs(
    models: Mapping[str, nn.Module],
    input_size: Sequence[int],
    batch_size: int = 64,
    threads: int | None = None,
    repeats: int = 20,
    seed: int = 0,
    timing: bool = True,
    channels_last: bool = False,
    picture: bool = True,
) -> list[dict[str, Any]]:
    """Parameters, size, MACs and latency of each model, side by side: one row per model.

    Latency is measured on eval-mode copies of the models (BatchNorm uses its running
    statistics): :func:`course_lib.measure.timing.compare_latency`
    on a seeded standard-normal batch of ``batch_size`` pictures (one call per timed run; the
    lecture's unit is 64), then on one picture (10 calls per timed run, the time per call);
    the models take turns, the order rotating each round, 3 untimed warm-up calls each first.

    Args:
        models: name -> ``nn.Module`` taking ``(batch, *input_size)`` (e.g. ``"dense"``,
            ``"masked"``, ``"removed"``); parameters only in ``nn.Conv2d``, ``nn.BatchNorm2d``
            and ``nn.Linear`` (what :func:`course_lib.measure.work.macs` counts). Not changed.
            Weights reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` are counted and
            timed as the plain weights they compute (:func:`course_lib.pruning.reparam.plain_copy`).
        input_size: one picture without the batch, e.g. ``(1, 28, 28)`` (channels, height, width).
        batch_size: pictures per timed batch (int >= 1).
        threads: torch CPU threads while timing (int >= 1), ``None``: torch's current setting.
        repeats: timed runs per model and input (int >= 1).
        seed: seed of the input batch (int >= 0).
        timing: ``False`` skips the latency (its keys are then ``None``): counts only, fast.
        channels_last: time the models and inputs in ``torch.channels_last`` memory format
            (NHWC; oneDNN's conv kernels often run faster on it), else the default NCHW.
        picture: ``False`` skips the one-picture timing (its keys are then ``None``): half the time.

    Returns:
        A list of dicts with the keys :data:`COST_KEYS`: ``model`` (the name); ``params`` (all
        parameters, zeros included); ``nonzero`` (non-zero parameters); ``size_kib`` (bytes of
        the parameters stored dense, ``numel * 4`` for float32, in KiB = 1024 bytes);
        ``macs`` (multiply-accumulates per picture skipping zero weights,
        ``macs(model, input_size=...)``: what a removed model or a sparse kernel does) and
        ``dense_macs`` (every weight, ``skip_zeros=False``: what a dense kernel computes on a
        masked model); ``batch_size``; ``ms_per_batch`` and ``ms_per_picture`` (median
        milliseconds); ``batch_spread`` and ``picture_spread`` (interquartile range / median);
        ``threads`` (the setting used, ``torch.get_num_threads()`` for ``None``); ``channels_last``.

    Raises:
        TypeError: ``models`` is not a non-empty dict of modules, a model has parameters in
            another kind of layer, ``seed`` is not an int, ``timing``, ``channels_last`` or ``picture`` not a bool.
        ValueError: ``input_size`` not a tuple of ints >= 1 or not accepted by a model;
            ``batch_size``, ``threads`` or ``repeats`` out of range; a negative ``seed``.

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    >>> row = conv_costs({"dense": net}, (1, 4, 4), timing=False)[0]
    >>> row["params"], row["macs"], row["size_kib"]  # 20 + 99 parameters; 2*9*16 + 32*3 MACs
    (119, 384, 0.46484375)
    """
    nets = _check_models(models)
    size = check_input_size(input_size)
    batch_size = check_int(batch_size, "batch_size", 1)
    repeats = check_int(repeats, "repeats", 1)
    seed = check_seed(seed)
    threads = check_threads(threads)
    timing, channels_last = check_bool(timing, "timing"), check_bool(channels_last, "channels_last")
    picture = check_bool(picture, "picture")
    rows = [
        {
            "model": name,
            "params": param_count(net),
            "nonzero": nonzero_count(net),
            "size_kib": model_bytes(net) / 1024,
            "macs": macs(net, input_size=size),
            "dense_macs": macs(net, skip_zeros=False, input_size=size),
            "batch_size": batch_size,
        }
        for name, net in nets.items()
    ]
    batch: dict = {}
    per_picture: dict = {}
    if timing:
        batch, per_picture = _timed(nets, size, batch_size, repeats, threads, seed, channels_last, picture)
    for row in rows:
        b, p = batch.get(row["model"]), per_picture.get(row["model"])
        row["ms_per_batch"] = b.median_ms if b else None
        row["batch_spread"] = b.spread if b else None
        row["ms_per_picture"] = p.median_ms if p else None
        row["picture_spread"] = p.spread if p else None
        row["threads"] = threads if threads is not None else torch.get_num_threads()
        row["channels_last"] = channels_last
    return rows
