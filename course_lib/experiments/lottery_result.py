"""What a lottery ticket study returns: :class:`LotteryResult`, its rows, JSON and table.

A result holds one rewinding point of :func:`course_lib.experiments.lottery.lottery_study`
(Frankle & Carbin 2019): the dense runs, the runs of each variant (the ticket and its
controls) per pruning round, and the fraction of weights each round kept. Accuracies
are in percent; every summary is the mean and population standard deviation over seeds
(:func:`course_lib._checks.mean_std`).

>>> res = LotteryResult(config={"rewind_iter": 0}, seeds=[0], dense=[])
>>> res.variants, res.rounds, res.rewind_iter
([], 0, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from course_lib._checks import mean_std
from course_lib.training.train import TrainResult

__all__ = ["VARIANTS", "LotteryResult"]

#: The variants of a lottery study: the ticket and its two controls (Frankle & Carbin 2019):
#: ``"reinit"`` is the ticket's mask on a fresh initialization, ``"random_prune"`` a random
#: mask with the ticket's per-layer counts on the ticket's own initial weights.
VARIANTS = ("ticket", "reinit", "random_prune")

#: Masks or weights of a network, keyed by parameter name.
TensorDict = dict[str, torch.Tensor]


@dataclass
class LotteryResult:
    """Result of a lottery ticket study for one rewinding point (accuracies in percent).

    Attributes:
        config: the study's settings (data set, model, rounds, per-round ``rate`` and
            ``layer_rates``, epochs, lr, ``rewind_iter``, ``variants``, ...), JSON-able.
        seeds: the seeds, one run of every variant and round per seed.
        dense: the dense run of each seed (:class:`~course_lib.training.train.TrainResult`,
            keeping its validation/test curves).
        runs: ``runs[(variant, round)]``, one run per seed.
        weights_remaining: ``weights_remaining[round]``, the fraction of prunable weights
            the ticket keeps after that round (seed ``seeds[0]``; all seeds prune alike).
        layer_density: ``layer_density[round][name]``, the same per layer.
        nonzero_density: ``nonzero_density[(variant, round)]``, per seed, the fraction of
            nonzero weights per layer measured on the trained networks (the controls match
            the ticket's per-layer sparsity, and pruned weights stayed zero).
        seconds: wall-clock time of the whole study.
        init, rewind_state, masks, final: with ``keep_history=True``, per seed (lists
            follow ``seeds``): the weights at initialization, the weights the tickets are
            rewound to (``init`` when ``rewind_iter == 0``), and the ticket's masks and
            trained weights after round ``r`` (``masks[0]`` all True, ``final[0]`` the
            trained dense network, also :attr:`dense_final`). Otherwise empty.
    """

    config: dict[str, Any]
    seeds: list[int]
    dense: list[TrainResult]
    runs: dict[tuple[str, int], list[TrainResult]] = field(default_factory=dict)
    weights_remaining: dict[int, float] = field(default_factory=dict)
    layer_density: dict[int, dict[str, float]] = field(default_factory=dict)
    nonzero_density: dict[tuple[str, int], list[dict[str, float]]] = field(default_factory=dict)
    seconds: float = 0.0
    init: list[TensorDict] = field(default_factory=list, repr=False)
    rewind_state: list[TensorDict] = field(default_factory=list, repr=False)
    masks: dict[int, list[TensorDict]] = field(default_factory=dict, repr=False)
    final: dict[int, list[TensorDict]] = field(default_factory=dict, repr=False)

    @property
    def variants(self) -> list[str]:
        """The variants studied, in :data:`VARIANTS` order."""
        return [v for v in VARIANTS if any(key[0] == v for key in self.runs)]

    @property
    def rounds(self) -> int:
        """Number of pruning rounds."""
        return max((r for _, r in self.runs), default=0)

    @property
    def rewind_iter(self) -> int:
        """The iteration the tickets were rewound to (0 = initialization)."""
        return int(self.config.get("rewind_iter", 0))

    @property
    def dense_final(self) -> list[TensorDict]:
        """The trained dense weights per seed (``final[0]``; needs ``keep_history=True``)."""
        return self.final.get(0, [])

    @property
    def dense_test_acc(self) -> float:
        """Mean final test accuracy of the dense network over seeds (percent); ``ValueError`` without dense runs."""
        return mean_std([r.final_test_acc for r in self.dense])[0]

    def test_accs(self, variant: str, pruning_round: int) -> list[float]:
        """Final test accuracy (percent) of ``variant`` after ``pruning_round``, one per seed.

        Args:
            variant: one of :attr:`variants`.
            pruning_round: a round, 1 to :attr:`rounds`.

        Returns:
            A ``list[float]`` in the order of :attr:`seeds`.

        Raises:
            KeyError: that variant or round was not run.
        """
        return [r.final_test_acc for r in self.runs[(variant, pruning_round)]]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per variant and round (variant-major): accuracies and early-stop iterations over seeds.

        Keys: ``variant``, ``round``, ``weights_remaining``, ``test_acc_mean``, ``test_acc_std``,
        ``test_acc`` (per seed), ``early_stop_iter_mean``, ``early_stop_iter_std``,
        ``early_stop_test_acc_mean`` and ``layer_density``.
        """
        return [self._row(variant, rnd) for variant in self.variants for rnd in range(1, self.rounds + 1)]

    def _row(self, variant: str, rnd: int) -> dict[str, Any]:
        runs = self.runs[(variant, rnd)]
        final = [r.final_test_acc for r in runs]
        early = [r.early_stop_test_acc for r in runs]
        stops = [r.early_stop_iter for r in runs]
        return {
            "variant": variant,
            "round": rnd,
            "weights_remaining": self.weights_remaining[rnd],
            "test_acc_mean": mean_std(final)[0],
            "test_acc_std": mean_std(final)[1],
            "test_acc": final,
            "early_stop_iter_mean": mean_std(stops)[0],
            "early_stop_iter_std": mean_std(stops)[1],
            "early_stop_test_acc_mean": mean_std(early)[0],
            "layer_density": dict(self.layer_density[rnd]),
        }

    def to_json(self, curves: bool = False) -> dict[str, Any]:
        """A JSON-able dict (what ``python -m course_lib lottery --json`` writes).

        Keys: ``config``, ``seeds``, ``dense_test_acc`` (mean), ``dense_test_acc_std``,
        ``dense_early_stop_iter_mean`` and ``rows`` (see :meth:`rows`); with ``curves=True``
        also ``curves``: every run's validation/test curves (never the kept weights).
        """
        dense = [r.final_test_acc for r in self.dense]
        out: dict[str, Any] = {
            "config": dict(self.config),
            "seeds": list(self.seeds),
            "dense_test_acc": mean_std(dense)[0],
            "dense_test_acc_std": mean_std(dense)[1],
            "dense_early_stop_iter_mean": mean_std([r.early_stop_iter for r in self.dense])[0],
            "rows": self.rows(),
        }
        if curves:
            out["curves"] = {"dense": [r.to_dict() for r in self.dense]}
            for (variant, rnd), runs in self.runs.items():
                out["curves"][f"{variant}/{rnd}"] = [r.to_dict() for r in runs]
        return out

    def table(self) -> str:
        """The result as a text table: one line per round, mean +- std over seeds per variant."""
        head = f"{'round':>5} {'weights %':>9} " + " ".join(f"{v:>16}" for v in self.variants)
        lines = [head, f"{0:>5} {100.0:>9.2f} " + f"{self.dense_test_acc:>9.2f} (dense)"]
        rows = {(r["variant"], r["round"]): r for r in self.rows()}
        for rnd in range(1, self.rounds + 1):
            cells = [
                f"{rows[(v, rnd)]['test_acc_mean']:>8.2f} +- {rows[(v, rnd)]['test_acc_std']:<4.2f}"
                for v in self.variants
            ]
            lines.append(f"{rnd:>5} {100 * self.weights_remaining[rnd]:>9.2f} " + " ".join(f"{c:>16}" for c in cells))
        return "\n".join(lines)
