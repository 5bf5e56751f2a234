"""How fast does a model run? Time per batch, and the sparse versions of an MLP to time.

:func:`latency` times one model: a few untimed warm-up calls (first calls
allocate memory and pick kernels), then ``repeats`` timed runs; it reports the
median and the spread (quartiles, min, max), since single timings are noisy on
a shared machine. :func:`compare_latency` times several models *interleaved*
(A, B, C, B, C, A, ...), so a burst of background load hits all of them alike.

Every call runs under ``torch.no_grad()``. Not ``torch.inference_mode()``:
``F.linear`` with a sparse CSR weight raises there ("Cannot set
version_counter for inference tensor").

:func:`speed_sweep` times a model against its pruned versions over a range of
sparsities of the weights: masked (run dense), CSR (:func:`course_lib.measure.sparse.csr_mlp`)
and neurons removed (:func:`course_lib.shrink_mlp`, a smaller dense model with as many
weights left as the masked one), :func:`course_lib.measure.costs.pruned_models`.

What a notebook *says* about timings comes from here too, with their spread: :func:`speedup`
pairs the runs of two interleaved timings (run ``r`` of each was taken in the same round) and
states the median speedup with its quartiles, "faster" or "slower" only when three quarters of
the paired runs agree; :func:`noise_note` says when a run was too noisy to read.

>>> speedup(LatencyStats((2.0, 2.2, 1.9)), LatencyStats((1.0, 1.0, 1.0)), "rows").text
'rows vs dense: speedup 2.00× (quartiles 1.95–2.10, 3 paired runs), faster'
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from course_lib._checks import check_float, check_int, check_seed, check_sparsity
from course_lib.measure.costs import pruned_models, pruned_variants, removed_fraction
from course_lib.training.config import num_threads

__all__ = [
    "LatencyStats",
    "latency",
    "compare_latency",
    "example_input",
    "break_even_sparsity",
    "SpeedSweep",
    "speed_sweep",
    "Speedup",
    "speedup",
    "noise_note",
    "NOISY_SPREAD",
]

#: A timing is *noisy* when the middle half of its runs spreads over more than this share of its median.
NOISY_SPREAD = 0.5


@dataclass(frozen=True)
class LatencyStats:
    """Seconds per call over ``repeats`` timed runs: the median and its spread.

    Attributes:
        times_s: seconds per call of each timed run, in the order measured.
    """

    times_s: tuple[float, ...]

    @property
    def median_s(self) -> float:
        """Median seconds per call: the number to quote (robust to a few slow runs)."""
        return statistics.median(self.times_s)

    @property
    def q1_s(self) -> float:
        """First quartile (25%)."""
        return _quantile(self.times_s, 0.25)

    @property
    def q3_s(self) -> float:
        """Third quartile (75%)."""
        return _quantile(self.times_s, 0.75)

    @property
    def min_s(self) -> float:
        """Fastest run (seconds per call)."""
        return min(self.times_s)

    @property
    def max_s(self) -> float:
        """Slowest run (seconds per call)."""
        return max(self.times_s)

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median (0.1 = the middle half lies within 10%)."""
        return (self.q3_s - self.q1_s) / self.median_s if self.median_s > 0 else 0.0

    @property
    def median_ms(self) -> float:
        """Median milliseconds (ms) per call."""
        return 1e3 * self.median_s

    def __str__(self) -> str:
        return f"{self.median_ms:.3f} ms (quartiles {1e3 * self.q1_s:.3f}-{1e3 * self.q3_s:.3f}, n={len(self.times_s)})"


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile, as numpy's default."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _check_models(models: object) -> dict[str, Callable]:
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models must be a non-empty dict {name: model or callable}")
    for name, f in models.items():
        if not callable(f):
            raise TypeError(f"models[{name!r}] must be callable (an nn.Module or a function), got {type(f).__name__}")
    return dict(models)


def _sync(x: torch.Tensor) -> None:
    if x.is_cuda:
        torch.cuda.synchronize(x.device)


def compare_latency(
    models: Mapping[str, Callable],
    x: torch.Tensor,
    warmup: int = 3,
    repeats: int = 20,
    number: int = 1,
    threads: int | None = None,
) -> dict[str, LatencyStats]:
    """Time several models on the same input ``x``, interleaving their repeats.

    Each of the ``repeats`` rounds runs every model once (the order rotates
    every round); a run times ``number`` back-to-back calls and records the
    time per call. ``warmup`` untimed calls per model come first. On a busy
    machine, several threads can be far slower than one: a thread that loses its
    core holds up the others. Calls run under ``torch.no_grad()``; CUDA inputs are
    synchronized before the clock stops.

    Args:
        models: name -> model or any callable taking ``x``.
        x: the batch of inputs (a tensor).
        warmup: untimed calls per model first (int >= 0).
        repeats: timed runs per model (int >= 1).
        number: calls per timed run (int >= 1).
        threads: torch CPU threads while timing (``None``: leave them); the previous
            setting is restored.

    Returns:
        Name -> :class:`LatencyStats` (seconds per call).

    Raises:
        TypeError: ``models`` is not a non-empty dict of callables, ``x`` not a tensor.
        ValueError: ``warmup``, ``repeats``, ``number`` or ``threads`` out of range.

    >>> stats = compare_latency({"a": nn.Linear(8, 4), "b": nn.Linear(8, 2)}, torch.zeros(3, 8), repeats=5)
    >>> sorted(stats), len(stats["a"].times_s)
    (['a', 'b'], 5)
    """
    fns = _check_models(models)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor (a batch of inputs), got {type(x).__name__}")
    warmup = check_int(warmup, "warmup", 0)
    repeats = check_int(repeats, "repeats", 1)
    number = check_int(number, "number", 1)
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    with num_threads(threads):
        _timed_rounds(fns, names, x, warmup, repeats, number, times)
    return {n: LatencyStats(tuple(times[n])) for n in names}


def _timed_rounds(
    fns: Mapping[str, Callable],
    names: list[str],
    x: torch.Tensor,
    warmup: int,
    repeats: int,
    number: int,
    times: dict[str, list[float]],
) -> None:
    with torch.no_grad():
        for n in names:
            for _ in range(warmup):
                fns[n](x)
        _sync(x)
        for r in range(repeats):
            k = r % len(names)
            for n in names[k:] + names[:k]:
                f = fns[n]
                start = time.perf_counter()
                for _ in range(number):
                    f(x)
                _sync(x)
                times[n].append((time.perf_counter() - start) / number)


def latency(
    model: Callable, x: torch.Tensor, warmup: int = 3, repeats: int = 20, number: int = 1, threads: int | None = None
) -> LatencyStats:
    """Seconds per call of ``model(x)``: ``warmup`` untimed calls, then ``repeats`` timed runs.

    Runs under ``torch.no_grad()``. Use ``number > 1`` for very fast models
    (each run then times ``number`` calls and divides). Arguments, errors: as in
    :func:`compare_latency`.

    Args:
        model: an ``nn.Module`` or any callable taking ``x``.
        x: the batch of inputs (a tensor).
        warmup: untimed calls first (int >= 0).
        repeats: timed runs (int >= 1).
        number: calls per timed run (int >= 1).
        threads: torch CPU threads while timing (``None``: leave them; restored after).

    Returns:
        The :class:`LatencyStats` (seconds per call).

    Raises:
        TypeError: ``model`` is not callable, ``x`` not a tensor.
        ValueError: ``warmup``, ``repeats``, ``number`` or ``threads`` out of range.

    >>> s = latency(nn.Linear(8, 4), torch.zeros(64, 8), repeats=5)
    >>> len(s.times_s), s.min_s <= s.median_s <= s.max_s
    (5, True)
    """
    return compare_latency({"model": model}, x, warmup, repeats, number, threads)["model"]


@dataclass(frozen=True)
class Speedup:
    """How much faster ``name`` ran than ``base``, run by run: ``ratios[r]`` = base time / its time in round ``r``.

    Attributes:
        name, base: what was compared (as the sentence names them).
        ratios: one speedup per paired run (> 1: ``name`` was faster in that round).
    """

    name: str
    base: str
    ratios: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median speedup over the paired runs: the number to quote."""
        return statistics.median(self.ratios)

    @property
    def q1(self) -> float:
        """First quartile of the speedups."""
        return _quantile(self.ratios, 0.25)

    @property
    def q3(self) -> float:
        """Third quartile of the speedups."""
        return _quantile(self.ratios, 0.75)

    @property
    def direction(self) -> int:
        """``+1`` faster (the first quartile above 1: three runs in four faster), ``-1`` slower
        (the third quartile below 1), ``0`` no clear difference (the quartiles include 1, or one run)."""
        if len(self.ratios) < 2:
            return 0
        return 1 if self.q1 > 1 else -1 if self.q3 < 1 else 0

    @property
    def short(self) -> str:
        """The median and quartiles, e.g. ``'1.34× (1.10–1.60)'``."""
        return f"{self.median:.2f}× ({self.q1:.2f}–{self.q3:.2f})"

    @property
    def words(self) -> str:
        """``'faster'``, ``'slower'``, or what the numbers leave open."""
        if len(self.ratios) < 2:
            return "one run, not decided"
        return {1: "faster", -1: "slower", 0: "no clear difference (the quartiles include 1×)"}[self.direction]

    @property
    def text(self) -> str:
        """The sentence: ``'rows vs dense: speedup 2.00× (quartiles 1.95–2.10, 3 paired runs), faster'``."""
        return (
            f"{self.name} vs {self.base}: speedup {self.median:.2f}× (quartiles {self.q1:.2f}–{self.q3:.2f}, "
            f"{len(self.ratios)} paired runs), {self.words}"
        )


def speedup(base: LatencyStats, other: LatencyStats, name: str = "pruned", base_name: str = "dense") -> Speedup:
    """The speedup of ``other`` over ``base``, paired run by run (timings of one :func:`compare_latency` call).

    :func:`compare_latency` runs the models in rounds, so run ``r`` of each was timed in the same
    round, under the same background load: the ratio of a pair is steadier than the ratio of two
    medians, and its quartiles show how far a single number can be trusted.

    Args:
        base: the reference timing (e.g. dense).
        other: the timing compared with it, with as many runs, measured in the same call.
        name, base_name: what ``other`` and ``base`` are, as the sentence names them.

    Returns:
        A :class:`Speedup` (``ratios[r] = base.times_s[r] / other.times_s[r]``).

    Raises:
        TypeError: ``base`` or ``other`` is not a :class:`LatencyStats`.
        ValueError: they hold different numbers of runs (not timed together), or a time <= 0.

    >>> s = speedup(LatencyStats((1.0, 1.0, 1.0, 1.0)), LatencyStats((0.9, 1.1, 1.0, 1.2)), "masked")
    >>> s.short, s.direction, s.words
    ('0.95× (0.89–1.03)', 0, 'no clear difference (the quartiles include 1×)')
    """
    for arg, value in (("base", base), ("other", other)):
        if not isinstance(value, LatencyStats):
            raise TypeError(f"{arg} must be a LatencyStats (from compare_latency), got {type(value).__name__}")
    if len(base.times_s) != len(other.times_s):
        raise ValueError(
            f"base and other: one run each per round of the same compare_latency call, "
            f"got {len(base.times_s)} and {len(other.times_s)} runs"
        )
    if min(base.times_s + other.times_s) <= 0:
        raise ValueError("base and other: times must be > 0")
    return Speedup(name, base_name, tuple(b / t for b, t in zip(base.times_s, other.times_s, strict=True)))


def noise_note(stats: Iterable[LatencyStats], threshold: float = NOISY_SPREAD) -> str:
    """A clause saying the timings were noisy, or ``""`` when each one's middle half lies within ``threshold``.

    Args:
        stats: the timings a sentence is built on.
        threshold: the largest :attr:`LatencyStats.spread` (interquartile range / median) of a
            steady timing, a float > 0.

    Returns:
        ``""``, or ``"noisy run: the middle half of some timings spread over 0.83× their median
        (another program was probably running; rerun, or time with one thread)"``.

    Raises:
        TypeError: an entry is not a :class:`LatencyStats`, ``threshold`` not a number.
        ValueError: ``stats`` is empty, ``threshold`` <= 0.

    >>> noise_note([LatencyStats((1.0, 1.1, 1.0))])
    ''
    >>> noise_note([LatencyStats((1.0, 3.0, 1.0, 2.0))])[:60]
    'noisy run: the middle half of some timings spread over 0.83×'
    """
    threshold = check_float(threshold, "threshold", strict=True)
    runs = list(stats)
    if not runs:
        raise ValueError("stats: at least one LatencyStats, got none")
    if not all(isinstance(s, LatencyStats) for s in runs):
        raise TypeError("stats must hold LatencyStats (from compare_latency or speed_sweep)")
    worst = max(s.spread for s in runs)
    if worst <= threshold:
        return ""
    return (
        f"noisy run: the middle half of some timings spread over {worst:.2f}× their median "
        "(another program was probably running; rerun, or time with one thread)"
    )


def example_input(model: nn.Module, batch_size: int = 64, seed: int = 0) -> torch.Tensor:
    """A seeded random batch ``(batch_size, in_features)`` for the model's first Linear layer.

    Standard normal entries in the first Linear layer's dtype, drawn from ``seed``
    (int >= 0), on the CPU.

    Args:
        model: any ``nn.Module`` with an ``nn.Linear`` (the first one in ``model.modules()``
            order sets ``in_features`` and the dtype).
        batch_size: rows of the batch (int >= 1).
        seed: the generator's seed (int >= 0); same seed, same batch.

    Returns:
        A tensor of shape ``(batch_size, in_features)``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``seed`` is not an int.
        ValueError: a model without ``nn.Linear``, ``batch_size`` not an int >= 1, or a
            negative ``seed``.

    >>> example_input(nn.Sequential(nn.Linear(5, 2)), batch_size=3).shape
    torch.Size([3, 5])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    batch_size = check_int(batch_size, "batch_size", 1)
    first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    if first is None:
        raise ValueError("model has no nn.Linear layer to read the input width from")
    gen = torch.Generator().manual_seed(check_seed(seed))
    return torch.randn(batch_size, first.in_features, generator=gen, dtype=first.weight.dtype)


def break_even_sparsity(
    sparsities: Sequence[float], dense_s: float | Iterable[float], sparse_s: Iterable[float]
) -> float | None:
    """The sparsity from which the sparse version stays faster than dense, or ``None`` if it never is.

    Between the last measured sparsity where sparse is not faster and the next one,
    the crossing is interpolated linearly in log(time ratio). If sparse is faster at
    every measured sparsity, the first one is returned (the break-even lies there or below).

    Args:
        sparsities: the measured sparsities, ascending.
        dense_s: dense time at each sparsity (seconds, or any unit shared with
            ``sparse_s``), or one number for all.
        sparse_s: sparse time at each sparsity.

    Returns:
        A sparsity in ``[sparsities[0], sparsities[-1]]``, or ``None``.

    Raises:
        ValueError: sparsities not ascending, a count that differs, a time <= 0.

    >>> break_even_sparsity([0.5, 0.8, 0.9], 1.0, [2.0, 1.0, 0.5])
    0.8
    >>> break_even_sparsity([0.5, 0.9], [1.0, 1.0], [2.0, 1.5]) is None
    True
    """
    xs = [float(s) for s in sparsities]
    if len(xs) < 1 or any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
        raise ValueError(f"sparsities must be a non-empty ascending sequence, got {sparsities!r}")
    dense = [float(t) for t in dense_s] if isinstance(dense_s, Iterable) else [float(dense_s)] * len(xs)
    sparse = [float(t) for t in sparse_s]
    if len(dense) != len(xs) or len(sparse) != len(xs):
        raise ValueError("dense_s and sparse_s must give one time per sparsity")
    if any(t <= 0 for t in dense + sparse):
        raise ValueError("times must be positive")
    ratio = [math.log(s / d) for s, d in zip(sparse, dense, strict=False)]  # < 0: sparse faster
    if ratio[-1] >= 0:
        return None
    i = len(xs) - 1
    while i > 0 and ratio[i - 1] < 0:
        i -= 1
    if i == 0:
        return xs[0]
    a, b = ratio[i - 1], ratio[i]
    return xs[i - 1] + (xs[i] - xs[i - 1]) * a / (a - b)


@dataclass(frozen=True)
class SpeedSweep:
    """Latencies measured by :func:`speed_sweep`: ``stats[name][i]`` at ``sparsities[i]``.

    Attributes:
        sparsities: the sparsities measured, ascending.
        batch_size: rows of the input batch timed.
        stats: ``"dense"`` (one entry: zeros do not matter to it), ``"masked"``,
            ``"csr"``, ``"neurons removed"`` -> one :class:`LatencyStats` per sparsity.
        removed: ``"masked"``, ``"csr"``, ``"neurons removed"`` -> the fraction of the weights
            each really removed at each sparsity, from its masks
            (:func:`course_lib.measure.costs.removed_fraction`; whole neurons land near, not on,
            the requested sparsity).
    """

    sparsities: tuple[float, ...]
    batch_size: int
    stats: dict[str, tuple[LatencyStats, ...]]
    removed: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def median_ms(self, name: str) -> list[float]:
        """Median milliseconds per batch of ``name`` at each sparsity (dense repeated).

        Raises ``ValueError`` for a name not in ``stats``.
        """
        if name not in self.stats:
            raise ValueError(f"name must be one of {sorted(self.stats)}, got {name!r}")
        runs = self.stats[name]
        runs = runs * len(self.sparsities) if len(runs) == 1 else runs
        return [r.median_ms for r in runs]

    def speedup(self, name: str) -> list[float]:
        """Dense time / time of ``name`` at each sparsity (above 1 = faster than dense)."""
        return [d / t for d, t in zip(self.median_ms("dense"), self.median_ms(name), strict=False)]

    def versus_dense(self, name: str, sparsity: float) -> Speedup:
        """:func:`speedup` of ``name`` over dense at the measured ``sparsity``, paired run by run.

        Raises ``ValueError`` for a name not in ``stats`` or a sparsity not measured.
        """
        if name not in self.stats or name == "dense":
            raise ValueError(f"name must be one of {sorted(set(self.stats) - {'dense'})}, got {name!r}")
        if sparsity not in self.sparsities:
            raise ValueError(f"sparsity must be one of the measured {list(self.sparsities)}, got {sparsity!r}")
        at = self.stats[name][self.sparsities.index(sparsity)]
        return speedup(self.stats["dense"][0], at, f"{name} at {sparsity:.0%}")

    def break_even(self, name: str = "csr") -> float | None:
        """:func:`break_even_sparsity` of ``name`` against dense."""
        return break_even_sparsity(self.sparsities, self.median_ms("dense"), self.median_ms(name))


def speed_sweep(
    model: nn.Sequential,
    sparsities: Iterable[float],
    batch_size: int = 64,
    repeats: int = 15,
    warmup: int = 3,
    seed: int = 0,
    threads: int | None = None,
    number: int = 1,
) -> SpeedSweep:
    """Time ``model`` dense against its pruned versions at each sparsity, all interleaved.

    At each sparsity ``s`` (fraction of the weights removed): ``"masked"`` (``s`` of every
    layer's weights zeroed by magnitude, run dense), ``"csr"`` (the same masks,
    :func:`course_lib.measure.csr_mlp`) and ``"neurons removed"`` (the hidden neurons of
    smallest L2 norm removed until about ``s`` of the weights are gone,
    :func:`course_lib.measure.costs.neuron_fraction`, :func:`course_lib.shrink_mlp`): the
    models of :func:`course_lib.measure.costs.pruned_models`. Inputs: :func:`example_input`;
    ``threads`` and ``number`` as in :func:`compare_latency`: with ``number > 1``
    each timed run makes that many back-to-back calls of one variant, so its
    weights are in cache as when a server runs one model (with ``number=1`` the
    variants evict each other's weights between calls).

    Args:
        model: an ``nn.Sequential`` MLP (Flatten / Linear / ReLU layers); not changed. Weights
            reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` are timed as plain
            weights holding what they compute (:func:`course_lib.pruning.reparam.plain`).
        sparsities: the sparsities to time, each in [0, 1], strictly ascending.
        batch_size: rows of the input batch (int >= 1).
        repeats: timed runs per variant (int >= 1).
        warmup: untimed calls per variant first (int >= 0).
        seed: seed of the input batch (int >= 0).
        threads: torch CPU threads while timing (``None``: leave them).
        number: calls per timed run (int >= 1).

    Returns:
        The :class:`SpeedSweep` (seconds per batch of ``batch_size``).

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential`` MLP, a sparsity is not a number,
            ``seed`` is not an int.
        ValueError: sparsities not in [0, 1] or not ascending; bad timing arguments.

    >>> from course_lib.training.models import mlp
    >>> sweep = speed_sweep(mlp([8, 6, 4]), [0.5, 0.9], batch_size=2, repeats=2, warmup=0)
    >>> sorted(sweep.stats), len(sweep.median_ms("dense")), len(sweep.speedup("csr"))
    (['csr', 'dense', 'masked', 'neurons removed'], 2, 2)
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    xs = tuple(check_sparsity(s, name="sparsities") for s in sparsities)
    if not xs or any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
        raise ValueError(f"sparsities must be a non-empty ascending sequence, got {xs!r}")
    variants: dict[str, Callable] = {}
    removed: dict[str, list[float]] = {"masked": [], "csr": [], "neurons removed": []}
    for i, s in enumerate(xs):
        models = pruned_models(model, s)  # not timing torch.nn.utils.prune's hooks: plain weights
        variants.setdefault("dense", models["dense"])
        for name, (masks, fmt) in pruned_variants(model, s).items():
            if name != "dense":
                variants[f"{name} {i}"] = models[name]
                removed[name].append(removed_fraction(model, masks, fmt))
    stats = compare_latency(
        variants, example_input(model, batch_size, seed), warmup=warmup, repeats=repeats, number=number, threads=threads
    )
    out: dict[str, tuple[LatencyStats, ...]] = {"dense": (stats["dense"],)}
    for name in removed:
        out[name] = tuple(stats[f"{name} {i}"] for i in range(len(xs)))
    return SpeedSweep(xs, batch_size, out, {k: tuple(v) for k, v in removed.items()})
