"""Channel pruning of a VGG-style net: 50% of every conv layer's channels removed, against dense.

The nets are :func:`course_lib.training.conv_models.vgg` (BatchNorm, random initialization: the
speed does not depend on the values); in every conv layer the half of the channels with the
smallest L1 filter norm (Li et al. 2017) is removed by
:func:`course_lib.pruning.depgraph.prune_channels` (Torch-Pruning, Fang et al. 2023), the
classifier's outputs kept. Both are measured by :func:`course_lib.measure.conv_costs.conv_costs`,
dense and removed interleaved in one run, batch of 64 pictures (the lecture's unit):

* ``channels_50_speedup``: median dense time / median removed time per batch, at :data:`MAIN`;
* ``channels_50_macs_ratio``: MACs per picture of the removed net / the dense net's;
* ``channels["sweep"]``: the same at other settings (:data:`SWEEP`: the notebook's small net
  and the CIFAR-10-size one, 1 and 2 torch threads, NCHW and ``channels_last``), fewer repeats,
  to show where removing channels pays and where fixed per-layer costs eat the gain.

Each row says whether it meets issue 9's bar (MACs at most 0.3x and batch-64 inference at least
2x faster than dense). Why a small net falls short: halving every layer's channels cuts a conv's
MACs 4x (inputs and outputs halved) but the activations only 2x, and BatchNorm, ReLU and
max-pooling cost per activation. In the notebook's VGG-11 at width 1/8 on 28x28 pictures
``torch.profiler`` (1 thread, NCHW) puts half the time in the convs and a third in max-pooling,
and convs of 4 to 32 channels run far below the CPU's peak, so the removed net is about 2x
faster; in the CIFAR-10-size net the convs take three quarters of the dense time and the
removed net is 3 to 4x faster.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from course_lib.measure.conv_costs import conv_costs
from course_lib.pruning.depgraph import prune_channels
from course_lib.training.conv_models import vgg

#: The headline setting: VGG-11 at width 1/2 (64 ... 256 channels) on CIFAR-10-size pictures
#: (3 x 32 x 32), one torch thread (on this shared 2-core machine two threads contend with other
#: processes, see the sweep), channels_last (NHWC: faster for both nets here).
MAIN = dict(cfg="vgg11", width=0.5, in_channels=3, input_size=32, threads=1, channels_last=True, repeats=20)
#: The settings of the sweep (each also with threads 1 and 2, NCHW and channels_last).
SWEEP = [
    dict(cfg="vgg11", width=0.125, in_channels=1, input_size=28),  # the notebook's default, MNIST-size
    dict(cfg="vgg11", width=0.5, in_channels=3, input_size=32),  # MAIN's net
]
QUICK_MAIN = dict(cfg="vgg11", width=1 / 16, in_channels=1, input_size=16, threads=1, channels_last=False, repeats=2)
QUICK_SWEEP = [dict(cfg="vgg11", width=1 / 16, in_channels=1, input_size=16)]
#: Issue 9's bar for the removed net: MACs at most 0.3x the dense net's, batch-64 inference at least 2x faster.
BAR = {"macs_ratio": 0.3, "speedup": 2.0}


def channel_speedup(
    cfg: str,
    width: float,
    in_channels: int,
    input_size: int,
    threads: int | None = 1,
    channels_last: bool = False,
    repeats: int = 20,
    batch_size: int = 64,
    sparsity: float = 0.5,
) -> dict[str, Any]:
    """Dense against channels-removed ``vgg(cfg, width, ...)``: times, ratios and the setting (a flat dict)."""
    size = (in_channels, input_size, input_size)
    dense = vgg(cfg, width=width, in_channels=in_channels, input_size=input_size, seed=0).eval()
    removed = prune_channels(dense, sparsity, size)
    d, r = conv_costs(
        {"dense": dense, "removed": removed},
        size,
        batch_size=batch_size,
        threads=threads,
        repeats=repeats,
        channels_last=channels_last,
    )
    return {
        "cfg": cfg,
        "width": width,
        "input": list(size),
        "threads": d["threads"],
        "channels_last": channels_last,
        "batch_size": batch_size,
        "repeats": repeats,
        "dense_ms": d["ms_per_batch"],
        "removed_ms": r["ms_per_batch"],
        "dense_spread": d["batch_spread"],
        "removed_spread": r["batch_spread"],
        "speedup": d["ms_per_batch"] / r["ms_per_batch"],
        "picture_speedup": d["ms_per_picture"] / r["ms_per_picture"],
        "dense_picture_ms": d["ms_per_picture"],
        "removed_picture_ms": r["ms_per_picture"],
        "macs_ratio": r["macs"] / d["macs"],
        "dense_macs": d["macs"],
        "dense_mib": d["size_kib"] / 1024,
        "removed_mib": r["size_kib"] / 1024,
        "meets_bar": r["macs"] / d["macs"] <= BAR["macs_ratio"]
        and d["ms_per_batch"] / r["ms_per_batch"] >= BAR["speedup"],
    }


def channels_benchmark(quick: bool = False, threads: int | None = None) -> dict[str, Any]:
    """The headline ratios (``--json`` keys) and the ``channels`` details (``main`` and ``sweep`` rows).

    ``threads``: torch threads for the headline setting (``None``: :data:`MAIN`'s).
    """
    main = dict(QUICK_MAIN if quick else MAIN)
    if threads is not None:
        main["threads"] = threads
    head = channel_speedup(**main)
    sweep = []
    for net, th, cl in itertools.product(QUICK_SWEEP if quick else SWEEP, (1, 2), (False, True)):
        sweep.append(channel_speedup(**net, threads=th, channels_last=cl, repeats=2 if quick else 10))
    return {
        "channels_50_speedup": head["speedup"],
        "channels_50_macs_ratio": head["macs_ratio"],
        "channels": {"main": head, "sweep": sweep, "torch": torch.__version__},
    }


def _setting(row: dict[str, Any]) -> str:
    c, h, w = row["input"]
    layout = "channels_last" if row["channels_last"] else "NCHW"
    return f"{row['cfg']} width {row['width']:g} on {c}x{h}x{w}, {row['threads']} thread(s), {layout}"


def _bar(row: dict[str, Any]) -> str:
    return "; bar met" if row["meets_bar"] else "; bar NOT met"


def channels_lines(r: dict[str, Any]) -> list[str]:
    """The ratios of :func:`channels_benchmark` as lines of text."""
    m = r["channels"]["main"]
    lines = [
        f"channels: 50% of every conv layer's channels removed (L1 norm, Torch-Pruning), batch {m['batch_size']}",
        f"  {_setting(m)}: dense {m['dense_ms']:.1f} ms (IQR {100 * m['dense_spread']:.0f}%), removed "
        f"{m['removed_ms']:.1f} ms (IQR {100 * m['removed_spread']:.0f}%), median of {m['repeats']} interleaved runs",
        f"  channels_50_speedup     {m['speedup']:.2f}x faster (one picture: {m['picture_speedup']:.2f}x){_bar(m)}",
        f"  channels_50_macs_ratio  {m['macs_ratio']:.3f} of the dense MACs ({m['dense_macs'] / 1e6:.1f} M/picture); "
        f"size {m['dense_mib']:.2f} -> {m['removed_mib']:.2f} MiB",
        "  the same at other settings (fewer repeats):",
    ]
    for s in r["channels"]["sweep"]:
        lines.append(
            f"    {_setting(s):<58} dense {s['dense_ms']:7.1f} ms, removed {s['removed_ms']:7.1f} ms: "
            f"{s['speedup']:.2f}x (IQR {100 * s['dense_spread']:.0f}%/{100 * s['removed_spread']:.0f}%){_bar(s)}"
        )
    return lines
