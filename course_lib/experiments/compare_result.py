"""What :func:`course_lib.experiments.compare.compare_study` returns: runs, rows, verdicts, JSON.

Accuracies are test accuracies in percent after the last epoch; every summary is the mean
and population standard deviation over seeds (:func:`course_lib._checks.mean_std`).

>>> m = {"w": torch.tensor([True, False, False, False])}
>>> res = CompareResult({}, [MethodRun("random", 0.75, 0, 50.0, 10, m, {}),
...                          MethodRun("snip", 0.75, 0, 60.0, 11, m, {})], [90.0])
>>> [(r["method"], r["weights_remaining"], r["test_acc_mean"]) for r in res.rows()]
[('random', 0.25, 50.0), ('snip', 0.25, 60.0)]
>>> res.versus_random()[0]["verdict"]
'beats random'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from course_lib._checks import mean_std
from course_lib.pruning.masks import masks_sparsity

__all__ = ["MethodRun", "CompareResult", "versus", "VERDICTS"]

TensorDict = dict[str, torch.Tensor]


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
    """

    method: str
    sparsity: float
    seed: int
    test_acc: float
    cost_iterations: int
    masks: TensorDict = field(repr=False)
    init: TensorDict = field(repr=False)

    @property
    def weights_remaining(self) -> float:
        """Fraction of the prunable weights the masks keep."""
        return 1.0 - masks_sparsity(self.masks)

    def layer_density(self) -> dict[str, float]:
        """{parameter name: fraction of the layer's weights kept}."""
        return {n: float(m.float().mean()) for n, m in self.masks.items()}


def versus(row: dict[str, Any], baseline: dict[str, Any]) -> int:
    """Whether ``row``'s accuracy differs from ``baseline``'s beyond the spread between seeds.

    Returns ``1`` when the mean accuracy is higher by more than the sum of the two standard
    deviations, ``-1`` when lower by more than that, else ``0`` (with one seed the spread
    is 0, so any difference counts). Both dicts hold ``test_acc_mean`` and ``test_acc_std``.

    >>> versus({"test_acc_mean": 90, "test_acc_std": 1}, {"test_acc_mean": 87, "test_acc_std": 1})
    1
    >>> versus({"test_acc_mean": 88, "test_acc_std": 1}, {"test_acc_mean": 87, "test_acc_std": 1})
    0
    """
    gap = row["test_acc_mean"] - baseline["test_acc_mean"]
    spread = row["test_acc_std"] + baseline["test_acc_std"]
    return 1 if gap > spread else -1 if gap < -spread else 0


#: :func:`versus` against random pruning, in words.
VERDICTS = {1: "beats random", 0: "no better than random", -1: "worse than random"}


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
        """One dict per method and sparsity: ``method``, ``sparsity``, ``weights_remaining``,
        ``test_acc_mean``, ``test_acc_std`` (percent), ``test_acc`` (per seed),
        ``cost_iterations`` (mean over seeds, rounded), ``layer_density`` (seed mean)."""
        out = []
        for method in self.methods:
            for s in self.sparsities:
                runs = [r for r in self.runs if r.method == method and r.sparsity == s]
                if not runs:
                    continue
                mean, std = mean_std(r.test_acc for r in runs)
                names = list(runs[0].masks)
                out.append(
                    {
                        "method": method,
                        "sparsity": s,
                        "weights_remaining": mean_std(r.weights_remaining for r in runs)[0],
                        "test_acc_mean": mean,
                        "test_acc_std": std,
                        "test_acc": [r.test_acc for r in runs],
                        "cost_iterations": round(mean_std(r.cost_iterations for r in runs)[0]),
                        "layer_density": {n: mean_std(r.layer_density()[n] for r in runs)[0] for n in names},
                    }
                )
        return out

    def versus_random(self) -> list[dict[str, Any]]:
        """For every method other than ``"random"`` and every sparsity: its :func:`versus`
        verdict against random pruning at that sparsity (empty without ``"random"``)."""
        rows = self.rows()
        randoms = {r["sparsity"]: r for r in rows if r["method"] == "random"}
        return [
            {
                "method": r["method"],
                "sparsity": r["sparsity"],
                "gap": r["test_acc_mean"] - randoms[r["sparsity"]]["test_acc_mean"],
                "verdict": VERDICTS[versus(r, randoms[r["sparsity"]])],
            }
            for r in rows
            if r["method"] != "random" and r["sparsity"] in randoms
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``config``, ``dense_test_acc_mean``/``_std``, ``rows``, ``versus_random``."""
        dense = mean_std(self.dense_acc) if self.dense_acc else (None, None)
        return {
            "config": self.config,
            "dense_test_acc_mean": dense[0],
            "dense_test_acc_std": dense[1],
            "rows": self.rows(),
            "versus_random": self.versus_random(),
        }

    def table(self) -> str:
        """A plain-text table: method, weights remaining, accuracy mean ± std, cost, verdict."""
        verdicts = {(v["method"], v["sparsity"]): v["verdict"] for v in self.versus_random()}
        lines = [f"{'method':<10} {'weights':>8} {'test acc %':>14} {'iterations':>10}  vs random"]
        for r in self.rows():
            acc = f"{r['test_acc_mean']:.2f} ± {r['test_acc_std']:.2f}"
            verdict = verdicts.get((r["method"], r["sparsity"]), "")
            lines.append(
                f"{r['method']:<10} {r['weights_remaining']:>8.2%} {acc:>14} {r['cost_iterations']:>10}  {verdict}"
            )
        return "\n".join(lines)
