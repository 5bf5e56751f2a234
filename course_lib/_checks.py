"""Argument validators every module shares, and ``mean_std``.

Each validator returns the value converted to its plain Python type, or raises a
``TypeError``/``ValueError`` whose message names the argument and the accepted range.
``bool`` is never accepted as a number (``True`` is almost always a mistake).

>>> check_int(3, "epochs", 1)
3
>>> check_int(0, "epochs", 1)
Traceback (most recent call last):
...
ValueError: epochs must be an int >= 1, got 0
>>> mean_std([1.0, 2.0, 3.0])
(2.0, 0.816496580927726)
"""

from __future__ import annotations

import math
import numbers
import os
import statistics
from collections.abc import Iterable, Sequence

import torch

__all__ = [
    "check_seeds",
    "check_iterations",
    "check_int",
    "check_seed",
    "check_float",
    "check_bool",
    "check_sparsity",
    "check_rate",
    "check_threads",
    "mean_std",
]


def check_int(value: object, name: str, minimum: int = 0) -> int:
    """``value`` as an ``int``; raises ``ValueError`` unless it is an integer >= ``minimum``.

    Args:
        value: the argument to check (any integral type but ``bool``).
        name: the argument's name, used in the message.
        minimum: the smallest accepted value.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as an ``int`` >= 0 (a Python or numpy integer, not ``bool``).

    Raises ``TypeError`` for a non-integer and ``ValueError`` for a negative one.

    >>> check_seed(7)
    7
    >>> check_seed(1.0)
    Traceback (most recent call last):
    ...
    TypeError: seed must be an int >= 0, got float 1.0
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be an int >= 0, got {seed!r}")
    return int(seed)


def check_float(value: object, name: str, minimum: float = 0.0, *, strict: bool = False) -> float:
    """``value`` as a finite ``float`` >= ``minimum`` (> ``minimum`` when ``strict``).

    Raises ``TypeError`` for a non-number (``bool`` included) and ``ValueError`` for
    NaN, an infinity or a value out of range.

    >>> check_float(1.2e-3, "lr", strict=True)
    0.0012
    >>> check_float(0, "lr", strict=True)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number > 0.0, got 0
    """
    bound = f"{'>' if strict else '>='} {float(minimum)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite number {bound}, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def check_bool(value: object, name: str) -> bool:
    """``value`` itself if it is ``True`` or ``False``; raises ``TypeError`` otherwise (``1`` too).

    >>> check_bool(1, "normalize")
    Traceback (most recent call last):
    ...
    TypeError: normalize must be True or False, got 1
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_sparsity(sparsity: object, name: str = "sparsity") -> float:
    """``sparsity`` as a float in [0, 1] (a fraction of zeros).

    A one-element non-bool tensor is read as its number. Raises ``TypeError`` for a
    non-number (``bool`` included) and ``ValueError`` outside [0, 1] or for NaN.

    >>> check_sparsity(0.5)
    0.5
    >>> check_sparsity(1.5)
    Traceback (most recent call last):
    ...
    ValueError: sparsity must be a number in [0, 1], got 1.5
    """
    if isinstance(sparsity, torch.Tensor) and sparsity.numel() == 1 and sparsity.dtype != torch.bool:
        sparsity = sparsity.item()
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(sparsity).__name__} {sparsity!r}")
    value = float(sparsity)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {sparsity!r}")
    return value


def check_rate(rate: object, name: str = "rate") -> float:
    """``rate`` as a float in [0, 1): the fraction of the *remaining* weights pruned in one round.

    >>> check_rate(1.0)
    Traceback (most recent call last):
    ...
    ValueError: rate must be in [0, 1) (a fraction of the remaining weights), got 1.0
    """
    value = check_sparsity(rate, name=name)
    if value >= 1.0:
        raise ValueError(f"{name} must be in [0, 1) (a fraction of the remaining weights), got {rate!r}")
    return value


def check_threads(threads: object, name: str = "threads") -> int | None:
    """``threads`` (CPU threads for torch) as an int >= 1, or ``None`` (keep torch's current setting).

    Raises ``ValueError`` (from :func:`check_int`) for anything else.

    >>> check_threads(None) is None, check_threads(2)
    (True, 2)
    """
    return None if threads is None else check_int(threads, name, 1)


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and population standard deviation of ``values``; the std of one value is 0.

    Raises ``ValueError`` for no values.

    >>> mean_std([5.0])
    (5.0, 0.0)
    """
    numbers_ = [float(v) for v in values]
    if not numbers_:
        raise ValueError("values must hold at least one number")
    std = float(statistics.pstdev(numbers_)) if len(numbers_) > 1 else 0.0
    return float(statistics.fmean(numbers_)), std


def check_seeds(seeds: object, name: str = "seeds") -> list[int]:
    """The seeds of a study: an int ``n >= 1`` means seeds ``0 .. n-1``; else a non-empty list of
    distinct ints >= 0, returned as a list.

    Args:
        seeds: how many seeds, or the seeds themselves.
        name: the argument's name, used in the message.

    Returns:
        A ``list[int]`` of distinct seeds.

    Raises:
        ValueError: an int < 1, an empty list, a negative, non-integer or repeated entry.

    >>> check_seeds(3), check_seeds([4, 2])
    ([0, 1, 2], [4, 2])
    """
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return list(range(check_int(seeds, name, 1)))
    values = list(seeds) if isinstance(seeds, Iterable) and not isinstance(seeds, str | bytes) else []
    if not values or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in values):
        raise ValueError(f"{name} must be an int >= 1 or a non-empty list of ints >= 0, got {seeds!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat, got {seeds!r}")
    return [int(s) for s in values]


def check_iterations(values: object, name: str) -> list[int]:
    """A non-empty list of distinct training iterations (ints >= 0), e.g. rewinding points.

    Args:
        values: a list (or other iterable, not a string) of ints.
        name: the argument's name, used in the message.

    Returns:
        The entries as a ``list[int]``, in the given order.

    Raises:
        ValueError: not a non-empty list of distinct ints >= 0.

    >>> check_iterations([0, 100], "rewind_iters")
    [0, 100]
    """
    iters = list(values) if isinstance(values, Iterable) and not isinstance(values, str | bytes) else []
    if (
        not iters
        or len(set(iters)) != len(iters)
        or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0 for k in iters)
    ):
        raise ValueError(f"{name} must be a non-empty list of distinct ints >= 0, got {values!r}")
    return [int(k) for k in iters]


def check_input_size(input_size: object, name: str = "input_size") -> tuple[int, ...]:
    """``input_size`` (one input without the batch, e.g. ``(1, 28, 28)``) as a tuple of ints.

    Raises ``ValueError`` (naming ``name``) unless it is a non-empty sequence (not a string) of ints >= 1.

    >>> check_input_size([3, 32, 32])
    (3, 32, 32)
    """
    values = list(input_size) if isinstance(input_size, Sequence) and not isinstance(input_size, str) else []
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
        raise ValueError(
            f"{name} must be a tuple of ints >= 1 without the batch, e.g. (1, 28, 28) for "
            f"(channels, height, width), got {input_size!r}"
        )
    return tuple(values)


def publish(tmp: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Move a finished temporary file onto ``dest`` atomically, readable as any new file would be.

    ``tempfile.mkstemp`` creates files only its owner can read (0600); the result gets the
    mode a plain ``open(dest, "w")`` gives (0666 less the process's umask) before it replaces
    ``dest``, so a reader never sees a half-written file or one it may not open.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, dest)
