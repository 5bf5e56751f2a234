"""What :func:`course_lib.experiments.compare.compare_study` returns: runs, rows, verdicts, JSON.

Accuracies are test accuracies in percent after the last epoch; every summary is the mean
and population standard deviation over seeds (:func:`course_lib._checks.mean_std`), rounded
to :data:`ACC_DECIMALS` decimals (fractions of weights to 6 significant digits), so the JSON
reads without float32 noise and stays byte-identical on a rerun.

>>> m = {"w": torch.tensor([True, False, False, False])}
>>> res = CompareResult({}, [MethodRun("random", 0.75, 0, 50.0, 10, m, {}),
...                          MethodRun("snip", 0.75, 0, 60.0, 11, m, {})], [90.0])
>>> [(r["method"], r["weights_remaining"], r["test_acc_mean"]) for r in res.rows()]
[('random', 0.25, 50.0), ('snip', 0.25, 60.0)]
>>> res.versus_random()[0]["verdict"] is None  # one seed: nothing decided
True
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from course_lib._checks import mean_std
from course_lib.experiments.claims import compare

__all__ = ["MethodRun", "CompareResult", "versus", "VERDICTS", "UNDECIDED", "ACC_DECIMALS"]

TensorDict = dict[str, torch.Tensor]
#: Decimals of the accuracies (percent) in rows and JSON.
ACC_DECIMALS = 4


def _acc(value: float) -> float:
    return round(float(value), ACC_DECIMALS)


def _fraction(value: float) -> float:
    return float(f"{value:.6g}")


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.3g}%"


@dataclass(frozen=True)
class MethodRun:
    """One sparse network found by one method for one seed, and how it did.

    Attributes:
        method: a name of :data:`course_lib.experiments.compare.METHODS`.
        sparsity: the target fraction of prunable weights pruned.
        seed: the seed (initialization and minibatch order).
        test_acc: test accuracy (percent) after training; NaN before.
        cost_iterations: training iterations spent to obtain and train the network (a
            scoring pass counts as one).
        masks: {parameter name: bool keep-mask} (the final one for RigL/SET).
        init: the network's weights at initialization (a ``state_dict``; CPU tensors).
        drawn_epoch: early-bird only: the epoch of dense training the ticket was drawn at.
        settled: early-bird only: whether the masks settled (You et al. 2020's rule fired)
            before the dense run's last epoch; ``False`` means the ticket was drawn at the
            last epoch, i.e. one-shot magnitude pruning after the full dense run.
    """

    method: str
    sparsity: float
    seed: int
    test_acc: float
    cost_iterations: int
    masks: TensorDict = field(repr=False)
    init: TensorDict = field(repr=False)
    drawn_epoch: int | None = None
    settled: bool | None = None

    @property
    def weights_remaining(self) -> float:
        """Fraction of the prunable weights the masks keep: kept entries / all entries."""
        kept = sum(int(m.sum()) for m in self.masks.values())
        return kept / sum(m.numel() for m in self.masks.values())

    def layer_density(self) -> dict[str, float]:
        """{parameter name: fraction of the layer's weights kept}."""
        return {n: float(m.float().mean()) for n, m in self.masks.items()}


def versus(accs: Sequence[float], baseline: Sequence[float]) -> int:
    """Whether ``accs`` differ from ``baseline`` beyond the seed spread, paired by seed.

    The verdict of :func:`course_lib.experiments.claims.compare` (the course's one verdict over
    seeds) as a number: ``1`` when ``accs[i] > baseline[i]`` on every seed and the mean gap
    exceeds twice the standard deviation of the per-seed gaps, ``-1`` the same downwards, else
    ``0`` (the seeds disagree, the gap is within the spread, or one seed only).

    Args:
        accs, baseline: test accuracies (percent), one per seed, in the same seed order.

    Returns:
        ``1``, ``0`` or ``-1``.

    Raises:
        TypeError, ValueError: as :func:`~course_lib.experiments.claims.compare` (lists of
            different lengths, empty, or holding a NaN).

    >>> versus([90.0, 91.0, 90.5], [87.0, 88.5, 87.0])  # +3 on every seed, spread 0.4
    1
    >>> versus([90.0, 91.0, 90.5], [87.0, 91.5, 87.0])  # one seed lower
    0
    >>> versus([90.0], [80.0])  # one seed decides nothing
    0
    """
    verdict = compare(accs, baseline, "accs", "baseline")
    return verdict.direction if verdict.beyond_spread else 0


#: :func:`versus` against random pruning, in words.
VERDICTS = {1: "beats random", 0: "no better than random", -1: "worse than random"}
#: In words, the verdict of fewer than 2 seeds (``None`` in the JSON): there is no seed spread.
UNDECIDED = "not decided (one seed)"


@dataclass
class CompareResult:
    """The runs of a comparison and their summaries.

    Attributes:
        config: the study's settings (JSON-able).
        runs: every :class:`MethodRun`, sorted by method, sparsity, seed.
        dense_acc: test accuracy (percent) of the dense network per seed (empty without IMP).
        seconds: wall-clock time of the study (not in the JSON, which stays byte-identical).
    """

    config: dict[str, Any]
    runs: list[MethodRun]
    dense_acc: list[float] = field(default_factory=list)
    seconds: float = 0.0
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def methods(self) -> list[str]:
        """The methods compared, in the order of the runs."""
        return list(dict.fromkeys(r.method for r in self.runs))

    @property
    def sparsities(self) -> list[float]:
        """The target sparsities, increasing."""
        return sorted({r.sparsity for r in self.runs})

    def runs_of(self, method: str, sparsity: float) -> list[MethodRun]:
        """The runs (one per seed) of ``method`` at ``sparsity``; ValueError if there are none."""
        out = [r for r in self.runs if r.method == method and r.sparsity == sparsity]
        if not out:
            raise ValueError(
                f"no runs of method {method!r} at sparsity {sparsity}; have {self.methods} at {self.sparsities}"
            )
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One dict per method and sparsity: ``method``, ``sparsity``, ``weights_remaining``
        (counted from the masks, mean over seeds), ``test_acc_mean``, ``test_acc_std``
        (percent), ``test_acc`` (per seed), ``cost_iterations`` (mean over seeds, rounded),
        ``layer_density`` (seed mean); early-bird rows add ``drawn_epoch`` and ``settled``
        (per seed, see :class:`MethodRun`). Counting the masks is slow, so the rows are kept
        until ``runs`` holds other runs (fresh copies are returned)."""
        key = tuple(map(id, self.runs))
        if self._cache.get("key") != key:
            # the runs are kept with their ids, so no id of theirs is reused while cached
            self._cache.update(key=key, runs=list(self.runs), rows=self._rows())
        return copy.deepcopy(self._cache["rows"])

    def _rows(self) -> list[dict[str, Any]]:
        out = []
        for method in self.methods:
            for s in self.sparsities:
                runs = [r for r in self.runs if r.method == method and r.sparsity == s]
                if not runs:
                    continue
                mean, std = mean_std(r.test_acc for r in runs)
                names = list(runs[0].masks)
                densities = [r.layer_density() for r in runs]
                row = {
                    "method": method,
                    "sparsity": s,
                    "weights_remaining": _fraction(mean_std(r.weights_remaining for r in runs)[0]),
                    "test_acc_mean": _acc(mean),
                    "test_acc_std": _acc(std),
                    "test_acc": [_acc(r.test_acc) for r in runs],
                    "cost_iterations": round(mean_std(r.cost_iterations for r in runs)[0]),
                    "layer_density": {n: _fraction(mean_std(d[n] for d in densities)[0]) for n in names},
                }
                if any(r.settled is not None for r in runs):
                    row["drawn_epoch"] = [r.drawn_epoch for r in runs]
                    row["settled"] = [r.settled for r in runs]
                out.append(row)
        return out

    def versus_random(self) -> list[dict[str, Any]]:
        """Every method other than ``"random"`` against random pruning, at every sparsity.

        The runs are paired by seed (the same initializations and minibatch order), and judged
        by :func:`versus`, i.e. :func:`course_lib.experiments.claims.compare`: a method "beats
        random" when it is more accurate on every seed and its mean gap exceeds twice the
        spread of the per-seed gaps.

        Returns:
            One dict per method and sparsity: ``method``, ``sparsity``, ``gap`` (the mean over
            the shared seeds of the per-seed accuracy difference, points), ``seeds`` (how many
            seeds both ran) and ``verdict``: the :func:`versus` verdict in words
            (:data:`VERDICTS`), or ``None`` with fewer than 2 shared seeds. Empty without
            ``"random"``.
        """
        out = []
        for method in self.methods:
            for s in self.sparsities:
                base = {r.seed: r.test_acc for r in self.runs if r.method == "random" and r.sparsity == s}
                mine = {r.seed: r.test_acc for r in self.runs if r.method == method and r.sparsity == s}
                seeds = sorted(base.keys() & mine.keys())
                if method == "random" or not seeds:
                    continue
                accs, randoms = [mine[k] for k in seeds], [base[k] for k in seeds]
                gap = compare(accs, randoms, method, "random").mean
                verdict = VERDICTS[versus(accs, randoms)] if len(seeds) >= 2 else None
                out.append({"method": method, "sparsity": s, "gap": _acc(gap), "seeds": len(seeds), "verdict": verdict})
        return out

    def earlybird_status(self, sparsity: float | None = None) -> str:
        """Whether the early-bird masks settled, for a label: ``""`` (settled in every run, or
        no early-bird runs that record it), ``"not settled"`` (in no run) or ``"settled in k
        of n runs"``; over the runs at ``sparsity``, or at every sparsity when ``None``."""
        known = [
            r.settled
            for r in self.runs
            if r.method == "earlybird" and r.settled is not None and (sparsity is None or r.sparsity == sparsity)
        ]
        if not known or all(known):
            return ""
        return "not settled" if not any(known) else f"settled in {sum(known)} of {len(known)} runs"

    def earlybird_notes(self) -> list[str]:
        """One sentence per sparsity on when the early-bird tickets were drawn, from the runs:
        the epoch of each seed, and plainly when no seed's masks settled."""
        out = []
        for s in self.sparsities:
            runs = [r for r in self.runs if r.method == "earlybird" and r.sparsity == s and r.settled is not None]
            if not runs:
                continue
            epochs = [r.drawn_epoch for r in runs]
            head = f"early-bird at {_percent(1 - s)} of the weights: drawn after epochs {epochs} of dense training"
            settled = sum(bool(r.settled) for r in runs)
            if settled == 0:
                out.append(
                    f"{head}, the last epoch in every seed: the masks had not settled; this is one-shot "
                    "magnitude pruning after the full dense run"
                )
            elif settled < len(runs):
                out.append(f"{head}; the masks settled in {settled} of {len(runs)} seeds (the others: the last epoch)")
            else:
                out.append(f"{head}; the masks settled in every seed")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``config``, ``dense_test_acc_mean``/``_std``, ``rows``, ``versus_random``."""
        dense = mean_std(self.dense_acc) if self.dense_acc else None
        return {
            "config": self.config,
            "dense_test_acc_mean": None if dense is None else _acc(dense[0]),
            "dense_test_acc_std": None if dense is None else _acc(dense[1]),
            "rows": self.rows(),
            "versus_random": self.versus_random(),
        }

    def table(self) -> str:
        """A plain-text table: method, weights remaining, accuracy mean ± std, cost, verdict
        (:data:`UNDECIDED` with one seed); then :meth:`earlybird_notes`."""
        verdicts = {(v["method"], v["sparsity"]): v["verdict"] or UNDECIDED for v in self.versus_random()}
        lines = [f"{'method':<10} {'weights':>8} {'test acc %':>14} {'iterations':>10}  vs random"]
        for r in self.rows():
            acc = f"{r['test_acc_mean']:.2f} ± {r['test_acc_std']:.2f}"
            verdict = verdicts.get((r["method"], r["sparsity"]), "")
            lines.append(
                f"{r['method']:<10} {r['weights_remaining']:>8.2%} {acc:>14} {r['cost_iterations']:>10}  {verdict}"
            )
        return "\n".join(lines + self.earlybird_notes())
