"""Pruning schedules: how much to prune, round by round or step by step.

Pure functions of numbers (and layer names); nothing here touches a model. The words:
a ``rate`` is the fraction of the *remaining* weights pruned in one round; ``sparsity``
is the total fraction pruned; ``density = 1 - sparsity``.

* iterative magnitude pruning (Frankle & Carbin 2019, "The Lottery Ticket Hypothesis";
  OpenLTH) removes ``rate`` of the remaining weights each round, so after ``r`` rounds
  ``density = (1 - rate) ** r``;
* per-layer rates: Frankle & Carbin prune the output layer at half the rate of the others
  (20% and 10% per round for LeNet-300-100);
* the cubic gradual schedule of Zhu & Gupta 2017, "To prune, or not to prune":
  ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3``.

>>> [round(d, 3) for d in iterative_densities(0.2, 3)]
[1.0, 0.8, 0.64, 0.512]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from course_lib._checks import check_int, check_rate, check_sparsity

__all__ = [
    "density_after",
    "iterative_densities",
    "iterative_sparsities",
    "rate_for_density",
    "rounds_for_density",
    "layer_rates",
    "layer_sparsities",
    "cubic_sparsity",
    "cubic_schedule",
    "SCHEDULES",
    "step_sparsities",
    "step_rates",
]

#: The schedules of :func:`step_sparsities`: the same rate every step, or Zhu & Gupta's cubic one.
SCHEDULES = ("geometric", "cubic")


def density_after(rate: float, rounds: int) -> float:
    """Density left after ``rounds`` rounds that each prune ``rate`` of the remaining weights.

    Args:
        rate: the fraction of the remaining weights pruned per round, a float in [0, 1).
        rounds: the number of rounds, an int >= 0.

    Returns:
        ``(1 - rate) ** rounds``, a float in (0, 1].

    Raises:
        TypeError: ``rate`` is not a number.
        ValueError: ``rate`` outside [0, 1), or ``rounds`` not an int >= 0.

    >>> density_after(0.2, 2)
    0.6400000000000001
    >>> density_after(0.5, 0)
    1.0
    """
    return (1.0 - check_rate(rate)) ** check_int(rounds, "rounds")


def iterative_densities(rate: float, rounds: int) -> list[float]:
    """Densities ``[1, (1-rate), (1-rate)**2, ..., (1-rate)**rounds]`` (round 0 = dense).

    Args:
        rate, rounds: as :func:`density_after`.

    Returns:
        ``rounds + 1`` floats, decreasing from 1.0.

    Raises:
        TypeError, ValueError: as :func:`density_after`.

    >>> iterative_densities(0.5, 2)
    [1.0, 0.5, 0.25]
    """
    r = check_int(rounds, "rounds")
    return [density_after(rate, i) for i in range(r + 1)]


def iterative_sparsities(rate: float, rounds: int) -> list[float]:
    """Sparsities ``1 - density`` of :func:`iterative_densities`: the totals after each round.

    Args:
        rate, rounds: as :func:`density_after`.

    Returns:
        ``rounds + 1`` floats, increasing from 0.0.

    Raises:
        TypeError, ValueError: as :func:`density_after`.

    >>> iterative_sparsities(0.5, 2)
    [0.0, 0.5, 0.75]
    """
    return [1.0 - d for d in iterative_densities(rate, rounds)]


def rate_for_density(density: float, rounds: int) -> float:
    """Per-round rate that reaches ``density`` after ``rounds`` rounds: ``1 - density ** (1/rounds)``.

    Args:
        density: the target fraction of weights kept, a float in (0, 1].
        rounds: the number of rounds, an int >= 1.

    Returns:
        The rate, a float in [0, 1).

    Raises:
        TypeError: ``density`` is not a number.
        ValueError: ``density`` outside (0, 1], or ``rounds`` not an int >= 1.

    >>> round(rate_for_density(0.01, 2), 6)
    0.9
    """
    d = check_sparsity(density, name="density")
    if d <= 0:
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    r = check_int(rounds, "rounds")
    if r < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    return 1.0 - d ** (1.0 / r)


def rounds_for_density(rate: float, density: float) -> int:
    """Fewest rounds at ``rate`` that bring the density down to ``density`` or below.

    Args:
        rate: the fraction of the remaining weights pruned per round, a float in (0, 1).
        density: the target fraction kept, a float in (0, 1].

    Returns:
        The smallest int ``r >= 0`` with ``(1 - rate) ** r <= density``.

    Raises:
        TypeError: ``rate`` or ``density`` is not a number.
        ValueError: ``rate`` outside (0, 1) or ``density`` outside (0, 1].

    >>> rounds_for_density(0.2, 0.1)   # 0.8**10 = 0.107, 0.8**11 = 0.086
    11
    """
    p = check_rate(rate)
    d = check_sparsity(density, name="density")
    if d <= 0 or p == 0:
        raise ValueError(f"need density in (0, 1] and rate > 0, got density={density!r}, rate={rate!r}")
    r = max(0, math.ceil(math.log(d) / math.log(1.0 - p) - 1e-9))
    while (1.0 - p) ** r > d:  # guard against float error in the logarithms
        r += 1
    return r


def layer_rates(names: Sequence[str], rate: float, output_rate: float | None = None) -> dict[str, float]:
    """Per-layer, per-round pruning rates: ``rate`` for every layer, ``output_rate`` for the last one.

    As in Frankle & Carbin 2019, the output layer is pruned at half the rate of the others
    by default: it has few weights, and each one matters more.

    Args:
        names: the prunable weights in order, input layer first (the last is the output
            layer), e.g. ``["fc1.weight", "fc2.weight", "fc3.weight"]``.
        rate: the per-round rate of every layer but the last, a float in [0, 1).
        output_rate: the per-round rate of the last layer, a float in [0, 1); ``None``
            means ``rate / 2``.

    Returns:
        {name: per-round rate}, in the order of ``names``.

    Raises:
        TypeError: a rate is not a number.
        ValueError: ``names`` is empty or a string, or a rate is outside [0, 1).

    >>> layer_rates(["fc1.weight", "fc2.weight", "fc3.weight"], 0.4)
    {'fc1.weight': 0.4, 'fc2.weight': 0.4, 'fc3.weight': 0.2}
    """
    if isinstance(names, (str, bytes)) or not names:
        raise ValueError(f"names must be a non-empty list of parameter names, got {names!r}")
    names = list(names)
    p = check_rate(rate)
    q = p / 2 if output_rate is None else check_rate(output_rate, name="output_rate")
    out = {n: p for n in names[:-1]}
    out[names[-1]] = q
    return out


def layer_sparsities(rates: Mapping[str, float], rounds: int) -> dict[str, float]:
    """Target sparsity of each layer after ``rounds`` rounds at its own rate: ``1 - (1 - rate) ** rounds``.

    The result feeds :func:`course_lib.pruning.magnitude.magnitude_masks` (a dict of
    per-layer sparsities) for round ``rounds`` of iterative pruning.

    Args:
        rates: a non-empty dict {name: per-round rate in [0, 1)}, e.g. from :func:`layer_rates`.
        rounds: the number of rounds done, an int >= 0.

    Returns:
        {name: total sparsity after ``rounds`` rounds}.

    Raises:
        TypeError: ``rates`` is not a non-empty dict.
        ValueError: a rate is outside [0, 1), or ``rounds`` is not an int >= 0.

    >>> layer_sparsities({"fc1.weight": 0.5, "fc2.weight": 0.25}, 2)
    {'fc1.weight': 0.75, 'fc2.weight': 0.4375}
    """
    if not isinstance(rates, Mapping) or not rates:
        raise TypeError(f"rates must be a non-empty dict {{name: rate}}, got {rates!r}")
    return {n: 1.0 - density_after(p, rounds) for n, p in rates.items()}


def cubic_sparsity(
    step: int,
    final_sparsity: float,
    initial_sparsity: float = 0.0,
    start_step: int = 0,
    n_prunes: int = 10,
    frequency: int = 1,
) -> float:
    """Sparsity at training ``step`` of the cubic gradual schedule (Zhu & Gupta 2017).

    Pruning happens at steps ``t0, t0 + dt, ..., t0 + n*dt`` with
    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3``; between pruning steps
    the sparsity holds, before ``t0`` it is ``s_i`` and from ``t0 + n*dt`` on ``s_f``.
    It prunes fast at first (many redundant weights) and slowly near the end.

    Args:
        step: the training step ``t``, an int >= 0.
        final_sparsity: ``s_f``, a float in [0, 1].
        initial_sparsity: ``s_i``, a float in [0, 1].
        start_step: ``t0``, the first pruning step, an int >= 0.
        n_prunes: ``n``, the number of pruning steps after ``t0``, an int >= 1.
        frequency: ``dt``, training steps between pruning steps, an int >= 1.

    Returns:
        The target sparsity at ``step``, a float between ``s_i`` and ``s_f``.

    Raises:
        TypeError: a sparsity is not a number.
        ValueError: a sparsity outside [0, 1], or a step count not an int in its range.

    >>> cubic_sparsity(0, 0.9, n_prunes=3), cubic_sparsity(3, 0.9, n_prunes=3)
    (0.0, 0.9)
    >>> round(cubic_sparsity(1, 0.9, n_prunes=3), 4)
    0.6333
    """
    s_f = check_sparsity(final_sparsity, name="final_sparsity")
    s_i = check_sparsity(initial_sparsity, name="initial_sparsity")
    t = check_int(step, "step")
    t0 = check_int(start_step, "start_step")
    n = check_int(n_prunes, "n_prunes")
    dt = check_int(frequency, "frequency")
    if n < 1 or dt < 1:
        raise ValueError(f"n_prunes and frequency must be ints >= 1, got {n_prunes!r}, {frequency!r}")
    if t < t0:
        return s_i
    k = min(n, (t - t0) // dt)
    if k == 0:  # the endpoints exactly, without float error
        return s_i
    if k == n:
        return s_f
    return s_f + (s_i - s_f) * (1.0 - k / n) ** 3


def cubic_schedule(
    final_sparsity: float, initial_sparsity: float = 0.0, start_step: int = 0, n_prunes: int = 10, frequency: int = 1
) -> list[tuple[int, float]]:
    """The ``n_prunes + 1`` pruning steps of :func:`cubic_sparsity` and their sparsities.

    Args:
        final_sparsity, initial_sparsity, start_step, n_prunes, frequency: as :func:`cubic_sparsity`.

    Returns:
        ``[(step, sparsity), ...]`` for ``step = start_step + k * frequency``, ``k = 0..n_prunes``.

    Raises:
        TypeError, ValueError: as :func:`cubic_sparsity`.

    >>> [(t, round(s, 3)) for t, s in cubic_schedule(0.8, n_prunes=2, frequency=100)]
    [(0, 0.0), (100, 0.7), (200, 0.8)]
    """
    n = check_int(n_prunes, "n_prunes")
    dt = check_int(frequency, "frequency")
    t0 = check_int(start_step, "start_step")
    return [
        (t0 + k * dt, cubic_sparsity(t0 + k * dt, final_sparsity, initial_sparsity, t0, n, dt)) for k in range(n + 1)
    ]


def step_sparsities(target: float, steps: int, schedule: str = "geometric") -> list[float]:
    """Total sparsity after each of ``steps`` pruning steps that end exactly at ``target``.

    ``"geometric"``: every step prunes the same ``rate`` of the remaining weights,
    ``1 - (1 - rate) ** k`` after step ``k`` (Han et al. 2015; Frankle & Carbin 2019).
    ``"cubic"``: Zhu & Gupta 2017's ``target * (1 - (1 - k / steps) ** 3)``
    (:func:`cubic_sparsity` from 0 with one pruning step per step).

    Args:
        target: the sparsity after the last step, a float in [0, 1].
        steps: the number of pruning steps, an int >= 1.
        schedule: one of :data:`SCHEDULES`.

    Returns:
        ``steps`` floats, non-decreasing, the last exactly ``target``.

    Raises:
        TypeError: ``target`` is not a number.
        ValueError: ``target`` outside [0, 1], ``steps`` not an int >= 1, an unknown ``schedule``.

    >>> [round(s, 3) for s in step_sparsities(0.98, 4)]
    [0.624, 0.859, 0.947, 0.98]
    >>> [round(s, 3) for s in step_sparsities(0.98, 4, "cubic")]
    [0.567, 0.857, 0.965, 0.98]
    """
    s_f = check_sparsity(target, name="target")
    n = check_int(steps, "steps", 1)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if schedule == "cubic":
        return [cubic_sparsity(k, s_f, n_prunes=n) for k in range(1, n + 1)]
    if s_f == 1.0:
        return [1.0] * n
    rate = rate_for_density(1.0 - s_f, n)
    return [1.0 - (1.0 - rate) ** k for k in range(1, n)] + [s_f]


def step_rates(sparsities: Sequence[float]) -> list[float]:
    """The rate of each step of a schedule: the fraction of the *remaining* weights it prunes.

    Step ``k`` goes from ``sparsities[k - 1]`` (0 before the first step) to ``sparsities[k]``
    and prunes ``1 - (1 - s_k) / (1 - s_{k-1})`` of what was left (1.0 once nothing is left).

    Args:
        sparsities: the total sparsity after each step, non-decreasing floats in [0, 1]
            (e.g. from :func:`step_sparsities`).

    Returns:
        One rate per step, floats in [0, 1].

    Raises:
        TypeError: a sparsity is not a number.
        ValueError: no sparsity, one outside [0, 1], or a decreasing step.

    >>> [round(r, 3) for r in step_rates([0.5, 0.75, 0.8])]
    [0.5, 0.5, 0.2]
    """
    values = [check_sparsity(s, name="sparsities") for s in sparsities]
    if not values:
        raise ValueError("sparsities: at least one step, got none")
    rates, before = [], 0.0
    for s in values:
        if s < before:
            raise ValueError(f"sparsities must not decrease, got {values}")
        rates.append(1.0 if before == 1.0 else 1.0 - (1.0 - s) / (1.0 - before))
        before = s
    return rates
