"""The sanity checks of Frankle et al. 2021 on the masks of a comparison.

Frankle, Dziugaite, Roy & Carbin 2021 ("Pruning Neural Networks at Initialization: Why Are
We Missing the Mark?", ICLR) ask what a pruning-at-initialization method actually learns
about the network. They change its sparse network in three ways and train again:

* ``"shuffled"``: each layer's mask shuffled within the layer (same count per layer, new
  positions: :func:`course_lib.experiments.tickets.random_masks`);
* ``"reinit"``: the same mask on a fresh initialization;
* ``"inverted"``: the mask that keeps the *lowest* scores instead of the highest (the
  methods that score at initialization only; one-shot scores, also for SynFlow).

Their finding: SNIP, GraSP, SynFlow and magnitude at initialization keep (or improve) their
accuracy under shuffling and reinitialization, so what they find is per-layer densities,
not which weights; inverting GraSP's scores did not hurt it; IMP tickets with rewinding do
lose accuracy when shuffled or reinitialized. :func:`sanity_checks` reruns that on the
masks of a :class:`~course_lib.experiments.compare_result.CompareResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from course_lib._checks import check_bool, mean_std
from course_lib.experiments.compare import AT_INIT, score_batch
from course_lib.experiments.compare_result import UNDECIDED, CompareResult, MethodRun, versus
from course_lib.experiments.lottery import make_model
from course_lib.experiments.tickets import derived_seed, random_masks, rewind
from course_lib.pruning.at_init import PAPER_SCOPE, init_scores
from course_lib.pruning.scores import score_masks
from course_lib.training.data import Dataset
from course_lib.training.stacked import train_many

__all__ = ["CHECKS", "SanityResult", "sanity_checks", "check_variant"]

#: The changes of Frankle et al. 2021, after the unchanged ``"original"``.
CHECKS = ("original", "shuffled", "reinit", "inverted")
#: :func:`versus` of a check against the original, in words.
EFFECT = {1: "improves", 0: "no change beyond the seed spread", -1: "hurts"}


@dataclass
class SanityResult:
    """Accuracies of every method under every check, at one sparsity.

    Attributes:
        sparsity: the target sparsity of the masks.
        accs: ``accs[(method, check)]``: test accuracy (percent) per seed, in the same seed
            order for every check of a method.
    """

    sparsity: float
    accs: dict[tuple[str, str], list[float]]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per method and check: ``method``, ``check``, ``test_acc_mean``,
        ``test_acc_std``, ``change`` (mean minus the original's mean) and ``effect``
        (:func:`~course_lib.experiments.compare_result.versus` against the original, paired by
        seed: the accuracies of a check and of the original are in the same seed order, in
        words; :data:`~course_lib.experiments.compare_result.UNDECIDED` with one seed)."""
        out: list[dict[str, Any]] = []
        for (method, check), accs in self.accs.items():
            mean, std = mean_std(accs)
            out.append({"method": method, "check": check, "test_acc_mean": mean, "test_acc_std": std})
        base = {r["method"]: r for r in out if r["check"] == "original"}
        for r in out:
            r["change"] = r["test_acc_mean"] - base[r["method"]]["test_acc_mean"]
            if r["check"] == "original":
                r["effect"] = ""
            elif len(self.accs[(r["method"], r["check"])]) < 2:
                r["effect"] = UNDECIDED  # one seed: no spread to compare with
            else:
                r["effect"] = EFFECT[versus(self.accs[(r["method"], r["check"])], self.accs[(r["method"], "original")])]
        return out

    def table(self) -> str:
        """Methods as rows, checks as columns: mean accuracy and the change from the original."""
        rows = self.rows()
        methods = list(dict.fromkeys(r["method"] for r in rows))
        cell = {(r["method"], r["check"]): r for r in rows}
        lines = [f"{'method':<10}" + "".join(f"{c:>22}" for c in CHECKS)]
        for m in methods:
            parts = []
            for c in CHECKS:
                r = cell.get((m, c))
                text = "n/a" if r is None else f"{r['test_acc_mean']:.1f} ± {r['test_acc_std']:.1f}"
                if r is not None and c != "original":
                    text += f" ({r['change']:+.1f})"
                parts.append(f"{text:>22}")
            lines.append(f"{m:<10}" + "".join(parts))
        return "\n".join(lines)


def sanity_checks(
    result: CompareResult,
    data: Dataset,
    sparsity: float,
    *,
    methods: Sequence[str] | None = None,
    progress: bool = False,
) -> SanityResult:
    """Shuffle, reinitialize and invert the masks of ``result`` at ``sparsity``; train each.

    Every changed network is trained with ``result``'s settings (epochs, learning rate,
    minibatches, the seed's minibatch order), all of them stacked in one
    :func:`~course_lib.training.stacked.train_many` call; the ``"original"`` accuracies
    are the comparison's own.

    Args:
        result: a comparison run with ``"imp"`` and/or methods of :data:`AT_INIT`.
        data: the data set ``result`` was run on.
        sparsity: one of ``result``'s target sparsities.
        methods: the methods to check (default: those of ``result`` among ``imp`` and
            :data:`AT_INIT`, ``random`` excluded: shuffling a random mask changes nothing).
        progress: show a tqdm bar.

    Returns:
        A :class:`SanityResult` (``"inverted"`` only for the methods of :data:`AT_INIT`).

    Raises:
        ValueError: a method that ``result`` did not run or cannot be checked, or a sparsity
            it did not run.
    """
    check_bool(progress, "progress")
    chosen = _methods(result, methods)
    originals = {m: result.runs_of(m, sparsity) for m in chosen}
    cfg = result.config
    jobs: list[tuple[str, str, MethodRun, dict[str, torch.Tensor], dict[str, torch.Tensor]]] = []
    for method, runs in originals.items():
        for run in runs:
            for check in CHECKS[1:]:
                if check == "inverted" and method not in AT_INIT:
                    continue
                masks, init = check_variant(check, method, run, data, cfg)
                jobs.append((method, check, run, masks, init))
    nets = []
    for _, _, run, masks, init in jobs:
        net = make_model(cfg["model"], data.in_features, data.num_classes, seed=run.seed)
        rewind(net, init, masks)
        nets.append(net)
    trained = train_many(
        nets,
        data,
        [j[3] for j in jobs],
        seeds=[j[2].seed for j in jobs],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        batch_size=cfg["batch_size"],
        progress=progress,
    )
    accs: dict[tuple[str, str], list[float]] = {}
    for method, runs in originals.items():
        accs[(method, "original")] = [r.test_acc for r in runs]
    for (method, check, *_), res in zip(jobs, trained, strict=True):
        accs.setdefault((method, check), []).append(res.final_test_acc)
    return SanityResult(sparsity, accs)


def check_variant(
    check: str, method: str, run: MethodRun, data: Dataset, cfg: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The masks and initial weights that ``check`` makes of one run (Frankle et al. 2021).

    Args:
        check: ``"shuffled"``, ``"reinit"`` or ``"inverted"`` (:data:`CHECKS` after the first).
        method: the run's method (``"inverted"`` needs one of :data:`AT_INIT`: it re-scores).
        run: the run to change (its masks, initial weights, seed, sparsity).
        data: the data set of the comparison (the inverted scores' minibatch).
        cfg: the comparison's ``config`` (``model``).

    Returns:
        ``(masks, init)``: {name: bool keep-mask} with the run's per-layer counts
        (shuffled, reinit) or total count (inverted), and a ``state_dict`` to start from.
    """
    if check == "shuffled":
        return random_masks(run.masks, seed=derived_seed(run.seed, 21)), run.init
    if check == "reinit":
        fresh = make_model(cfg["model"], data.in_features, data.num_classes, seed=derived_seed(run.seed, 22))
        return run.masks, {k: v.clone() for k, v in fresh.state_dict().items()}
    net = make_model(cfg["model"], data.in_features, data.num_classes, seed=run.seed)
    net.load_state_dict(run.init)
    x, y = score_batch(data, run.seed)
    scores = init_scores(method, net, x=x, y=y, seed=derived_seed(run.seed, 11))
    inverted = score_masks({n: -s for n, s in scores.items()}, run.sparsity, scope=PAPER_SCOPE[method])
    return inverted, run.init


def _methods(result: CompareResult, methods: Sequence[str] | None) -> list[str]:
    checkable = ("imp", *[m for m in AT_INIT if m != "random"])
    if methods is None:
        return [m for m in result.methods if m in checkable]
    bad = [m for m in methods if m not in checkable or m not in result.methods]
    if bad or not methods:
        raise ValueError(
            f"methods must be a non-empty list of methods the comparison ran among {checkable}; "
            f"got {list(methods)!r} (ran {result.methods})"
        )
    return list(methods)
