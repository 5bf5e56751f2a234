"""What a notebook says about its results, printed from the numbers of its own run.

Every sentence a notebook prints about a measurement comes from here, so no sentence can say
more than the numbers beside it:

* :func:`compare`: one number per seed for two settings (paired by seed), e.g. test accuracies
  of a pruned and a dense network: the mean difference, its spread and what held on every
  seed, as a :class:`Verdict` whose ``text`` is the sentence;
* :func:`change`: one number before and after (a size, a time, an energy): the ratio, and
  whether it went up or down, in words that follow the numbers (a CSR file larger than the
  dense one is called larger);
* :class:`Claims`: the rows of the README's claims table a notebook measures. ``make claims``
  runs the lecture notebooks with ``COURSE_CLAIMS_DIR`` set; each notebook's last cell saves
  its rows there, and ``tools/claims_table.py`` writes the table from them. A student's run
  (no ``COURSE_CLAIMS_DIR``) writes nothing.

>>> compare([94.1, 93.8, 94.0], [93.9, 93.9, 93.2], "pruned", "dense").text
'pruned vs dense: +0.30 ± 0.37 points; the seeds disagree'
>>> change(1041, 1043, "KiB", "CSR vs dense").text
'CSR vs dense: 1041 → 1043 KiB, 1.002× larger'
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from course_lib._checks import check_int, mean_std

__all__ = ["Verdict", "compare", "change", "Claims", "environment", "CLAIMS_DIR_VARIABLE"]

#: The environment variable naming the folder where :meth:`Claims.save` writes (``make claims``).
CLAIMS_DIR_VARIABLE = "COURSE_CLAIMS_DIR"


@dataclass(frozen=True)
class Verdict:
    """A measured comparison and the sentence that states it.

    Attributes:
        mean: the mean per-seed difference ``a - b`` (or the ratio ``after / before`` of :func:`change`).
        std: the population standard deviation of the per-seed differences (0 for :func:`change`).
        direction: ``+1`` (``a`` higher on every seed; ``after`` larger), ``-1`` (lower on
            every seed; smaller) or ``0`` (the seeds disagree, one seed only, or no change).
        beyond_spread: ``direction != 0`` and ``|mean| > 2 * std``: a gap worth stating
            (always ``False`` with one seed).
        text: the sentence, every number in it from this run.
    """

    mean: float
    std: float
    direction: int
    beyond_spread: bool
    text: str


def _numbers(values: Sequence[float], name: str) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name}: a sequence of numbers (one per seed), got {type(values).__name__}")
    out = [float(v) for v in values]
    if not out:
        raise ValueError(f"{name}: at least one number, got none")
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{name}: finite numbers (one per seed), got {out}")
    return out


def _mixed(diffs: list[float]) -> str:
    """Words for per-seed differences that are not all of one sign: ties are named, not called disagreement."""
    higher, lower = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    tied, n = len(diffs) - higher - lower, len(diffs)
    if higher and lower:
        return "the seeds disagree"
    if higher or lower:
        return f"{'higher' if higher else 'lower'} on {higher or lower} of {n} seeds, tied on {tied}"
    return "the same on every seed"


def compare(
    a: Sequence[float], b: Sequence[float], name_a: str, name_b: str, unit: str = "points", decimals: int = 2
) -> Verdict:
    """Compare two settings measured on the same seeds: ``a[i]`` and ``b[i]`` come from seed ``i``.

    The course's one verdict on results over seeds, used by the notebooks and by
    :meth:`~course_lib.experiments.compare_result.CompareResult.versus_random`: the direction
    counts only when every seed agrees on the sign of ``a[i] - b[i]`` (a tie on one seed decides
    nothing); with one seed nothing is decided.
    ``beyond_spread`` adds that the mean gap exceeds twice the population standard deviation of
    the per-seed gaps.

    Args:
        a, b: one number per seed each (e.g. test accuracies in percent), same length >= 1.
        name_a, name_b: what ``a`` and ``b`` are, as the sentence should name them.
        unit: the unit of the difference (``"points"`` for accuracies in percent).
        decimals: decimals of the printed mean and spread, an int >= 0.

    Returns:
        A :class:`Verdict`; its ``text`` reads ``"<name_a> vs <name_b>: +0.30 ± 0.36 points;
        higher on every seed"`` (or ``lower on every seed``, ``the seeds disagree``,
        ``one seed, not decided``), with ``", beyond the seed spread"`` where that holds.

    Raises:
        TypeError: ``a`` or ``b`` is not a sequence of numbers.
        ValueError: ``a`` and ``b`` differ in length, are empty or hold a NaN or infinity;
            ``decimals`` is not an int >= 0.

    >>> compare([90.0, 92.0], [85.0, 91.0], "ticket", "random").text
    'ticket vs random: +3.00 ± 2.00 points; higher on every seed'
    >>> compare([80.0], [81.0], "one-shot", "iterative").text
    'one-shot vs iterative: -1.00 ± 0.00 points; one seed, not decided'
    >>> compare([82.6, 88.4, 82.4], [72.0, 69.2, 82.4], "fc3", "fc2").text
    'fc3 vs fc2: +9.93 ± 7.85 points; higher on 2 of 3 seeds, tied on 1'
    """
    x, y = _numbers(a, "a"), _numbers(b, "b")
    check_int(decimals, "decimals")
    if len(x) != len(y):
        raise ValueError(f"a and b: one number per seed each, got {len(x)} and {len(y)}")
    diffs = [p - q for p, q in zip(x, y, strict=True)]
    mean, std = mean_std(diffs)
    if len(diffs) == 1:
        direction, words = 0, "one seed, not decided"
    elif min(diffs) > 0:
        direction, words = 1, "higher on every seed"
    elif max(diffs) < 0:
        direction, words = -1, "lower on every seed"
    else:
        direction, words = 0, _mixed(diffs)
    beyond = direction != 0 and abs(mean) > 2 * std
    if beyond:
        words += ", beyond the seed spread"
    text = f"{name_a} vs {name_b}: {mean:+.{decimals}f} ± {std:.{decimals}f} {unit}; {words}"
    return Verdict(mean, std, direction, beyond, text)


def change(before: float, after: float, unit: str, what: str, decimals: int = 0) -> Verdict:
    """State a change from ``before`` to ``after`` (both positive, same unit) in words the numbers support.

    The ratio is printed with enough digits to differ from 1 when the numbers differ (so a
    file 0.2% larger never reads "1.0× smaller"), and the word is "larger" or "smaller" by
    the numbers, "the same" only when they are equal.

    Args:
        before, after: the two measurements, > 0 (e.g. sizes in KiB, times in ms).
        unit: their unit, printed after the numbers.
        what: what changed, at the start of the sentence.
        decimals: decimals of ``before`` and ``after`` in the sentence.

    Returns:
        A :class:`Verdict` with ``mean = after / before``, ``std = 0``, ``direction`` +1
        (larger), -1 (smaller) or 0, ``beyond_spread`` ``False``, and ``text`` such as
        ``"CSR vs dense: 1041 → 1043 KiB, 1.002× larger"``.

    Raises:
        ValueError: ``before`` or ``after`` is not a finite number > 0.

    >>> change(640.0, 3.7, "pJ", "DRAM read vs float multiply", 1).text
    'DRAM read vs float multiply: 640.0 → 3.7 pJ, 173× smaller'
    """
    for name, value in (("before", before), ("after", after)):
        if not (isinstance(value, (int, float)) and 0 < float(value) < float("inf")):
            raise ValueError(f"{name}: a finite number > 0, got {value!r}")
    ratio = float(after) / float(before)
    if ratio == 1:
        return Verdict(1.0, 0.0, 0, False, f"{what}: {before:.{decimals}f} → {after:.{decimals}f} {unit}, the same")
    factor = max(ratio, 1 / ratio)
    digits = 0 if factor >= 10 else 1
    while f"{factor:.{digits}f}" in ("1", "1." + "0" * digits) and digits < 6:
        digits += 1
    word = "larger" if ratio > 1 else "smaller"
    text = f"{what}: {before:.{decimals}f} → {after:.{decimals}f} {unit}, {factor:.{digits}f}× {word}"
    return Verdict(ratio, 0.0, 1 if ratio > 1 else -1, False, text)


def environment() -> dict[str, str | int]:
    """The machine a run measured on: CPU model, cores, torch threads, torch and Python versions."""
    cpu = platform.processor() or platform.machine()
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


class Claims:
    """The rows of the README's claims table that one notebook measures.

    Args:
        notebook: the notebook's number and name, e.g. ``"04_train_prune_finetune"``.

    Raises:
        ValueError: ``notebook`` is not ``NN_name`` (two digits, an underscore, letters,
            digits or underscores).
    """

    def __init__(self, notebook: str):
        if not (isinstance(notebook, str) and re.fullmatch(r"\d\d_\w+", notebook)):
            raise ValueError(
                f"notebook: its file name without .ipynb, e.g. '04_train_prune_finetune', got {notebook!r}"
            )
        self.notebook = notebook
        self.rows: list[dict[str, str]] = []

    def row(self, slide: str, measured: str) -> str:
        """Record a row: the slide's claim and what this run measured (a sentence printed from its numbers).

        Args:
            slide: the lecture's claim, in short (the table's first column). One row per claim.
            measured: what this run found, built from its numbers (e.g. a :class:`Verdict`'s text).

        Returns:
            ``measured``, so that a cell can print it.

        Raises:
            ValueError: an empty ``slide`` or ``measured``, a ``|`` or a line break in either (they
                would break the table), or a ``slide`` recorded twice.
        """
        for name, text in (("slide", slide), ("measured", measured)):
            if not isinstance(text, str) or not text.strip() or "|" in text or "\n" in text:
                raise ValueError(f"{name}: one non-empty line without '|', got {text!r}")
        if any(r["slide"] == slide for r in self.rows):
            raise ValueError(f"slide: {slide!r} is recorded already")
        self.rows.append({"slide": slide, "measured": measured})
        return measured

    def save(self, directory: str | os.PathLike[str] | None = None) -> Path | None:
        """Write the rows to ``<directory>/<notebook>.json`` (``directory`` defaults to ``$COURSE_CLAIMS_DIR``).

        Returns:
            The file written, or ``None`` when no folder is given and ``COURSE_CLAIMS_DIR`` is
            unset (a student's run writes nothing).

        Raises:
            ValueError: no row was recorded.
        """
        folder = directory if directory is not None else os.environ.get(CLAIMS_DIR_VARIABLE)
        if not folder:
            return None
        if not self.rows:
            raise ValueError(f"{self.notebook}: no row recorded, nothing to save")
        path = Path(folder) / f"{self.notebook}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"notebook": self.notebook, "environment": environment(), "rows": self.rows}
        path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        return path
