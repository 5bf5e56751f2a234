"""Interleaved timing of zero-argument callables (gradients enabled, unlike course_lib.latency)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


def interleaved_times(fns: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds of every call of each callable; the callables take turns, the order rotating each round,
    so call ``r`` of every callable ran in the same round, under the same load."""
    names = list(fns)
    for n in names:
        for _ in range(warmup):
            fns[n]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            start = time.perf_counter()
            fns[n]()
            times[n].append(time.perf_counter() - start)
    return times


def interleaved_medians(fns: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each callable, timed by :func:`interleaved_times`."""
    return {n: statistics.median(t) for n, t in interleaved_times(fns, repeats, warmup).items()}
