"""``python -m benchmarks [--quick] [--json PATH]``: speed of pruned models, as ratios."""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from course_lib._checks import check_threads
from course_lib.training.models import lenet_300_100, mlp

from .channels import channels_benchmark, channels_lines
from .inference import inference_speedups
from .training import training_benchmark, training_lines

FULL = dict(model=lambda: lenet_300_100(seed=0), batch=64, repeats=50, warmup=5)
QUICK = dict(model=lambda: mlp([64, 32, 16, 10], seed=0), batch=8, repeats=3, warmup=1)
WIDE = dict(sizes=[784, 4096, 4096, 10], batch=64, repeats=10, warmup=2)


def run(quick: bool = False, wide: bool = False, threads: int | None = None) -> dict:
    """Measure everything once; returns the ratios (keys as in ``--json``).

    ``quick``: a tiny MLP and random data (seconds, for tests); ``wide``: also time a
    784-4096-4096-10 MLP; ``threads``: torch threads of the channel benchmark's headline
    setting (``None``: its own, :data:`benchmarks.channels.MAIN`). Ratios are time / time
    (no unit); ``dense_ms`` is milliseconds.
    """
    s = QUICK if quick else FULL
    inf = inference_speedups(s["model"](), batch_size=s["batch"], repeats=s["repeats"], warmup=s["warmup"])
    ch = channels_benchmark(quick=quick, threads=threads)
    tr = training_benchmark(quick=quick)
    extra = {}
    if wide:
        w = inference_speedups(
            mlp(WIDE["sizes"], seed=0), batch_size=WIDE["batch"], repeats=WIDE["repeats"], warmup=WIDE["warmup"]
        )
        extra["wide"] = {"sizes": WIDE["sizes"], **w}
    return {
        "structured_50_speedup": inf["structured_50_speedup"],
        "csr_speedup": inf["csr_speedup"],
        "csr_break_even": inf["csr_break_even"],
        "channels_50_speedup": ch["channels_50_speedup"],
        "channels_50_macs_ratio": ch["channels_50_macs_ratio"],
        "masked_train_overhead": tr["masked_train_overhead"],
        "prune_hook_overhead": tr["prune_hook_overhead"],
        "batched_train_speedup": tr["batched_train_speedup"],
        "batched_train_speedup_lenet": tr["batched_train_speedup_lenet"],
        "setting": {
            "quick": quick,
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "batch_size": s["batch"],
            "inference_repeats": s["repeats"],
            "dense_ms": inf["dense_ms"],
            "dense_spread": inf["dense_spread"],
        },
        "training": tr["training"],
        "channels": ch["channels"],
        **extra,
    }


def report(r: dict) -> str:
    """The ratios as lines of text."""
    s = r["setting"]
    model = "tiny MLP 64-32-16-10 (--quick)" if s["quick"] else "LeNet-300-100"
    lines = [
        f"{model}, batch {s['batch_size']}, {s['torch_threads']} torch thread(s), torch {s['torch']}; "
        f"median of {s['inference_repeats']} interleaved repeats",
        f"dense: {s['dense_ms']:.3f} ms per batch (interquartile range {100 * s['dense_spread']:.0f}% of the median)",
        "speedup over dense (above 1 = faster):",
        f"  neurons removed, 50% of weights: {r['structured_50_speedup']:.2f}x",
    ]
    for p, v in r["csr_speedup"].items():
        lines.append(f"  CSR at {p:>2}% sparsity:          {v:.2f}x")
    be, first = r["csr_break_even"], min(int(p) for p in r["csr_speedup"])
    if be is None:
        lines.append("  CSR was not faster than dense at the highest sparsity measured")
    elif be <= first / 100:
        lines.append(f"  CSR was faster than dense at every sparsity measured (from {first}%)")
    else:
        lines.append(
            f"  CSR beats dense from about {100 * be:.0f}% sparsity here (interpolated between measured points)"
        )
    if "wide" in r:
        w = r["wide"]
        lines.append(
            f"wide MLP {'-'.join(map(str, w['sizes']))}, dense {w['dense_ms']:.2f} ms per batch: "
            f"neurons removed (50% of the weights) {w['structured_50_speedup']:.2f}x, CSR "
            + ", ".join(f"{p}%: {v:.2f}x" for p, v in w["csr_speedup"].items())
        )
    lines += channels_lines(r)
    lines += training_lines(r)
    lines.append("(timings on a shared machine are noisy: rerun to see the spread)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (argparse exits with 2 on bad arguments)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny setting that runs in seconds (for tests)")
    parser.add_argument("--json", metavar="PATH", help="also write the ratios to this JSON file")
    parser.add_argument(
        "--wide", action="store_true", help="also time a 784-4096-4096-10 MLP (about half a minute more)"
    )
    parser.add_argument(
        "--threads", type=int, metavar="N", help="torch CPU threads for inference (default: torch's own choice)"
    )
    args = parser.parse_args(argv)
    try:
        threads = check_threads(args.threads, "--threads")
    except ValueError as error:
        parser.error(str(error))
    if threads is not None:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    result = run(quick=args.quick, wide=args.wide, threads=threads)
    print(report(result))
    print(f"({time.perf_counter() - start:.1f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
