"""Pruning a *trained* network: prune-finetune, one-shot vs iterative, layer sensitivity.

The slides' "naive algorithm" experiments (train, prune the smallest weights, fine-tune
with the mask fixed: Han et al. 2015, "Learning both Weights and Connections for
Efficient Neural Networks"; prune a little and repeat) and one of their "general ideas"
(which layers tolerate pruning). Regression-based pruning is in
:mod:`course_lib.experiments.refit`. Masks are magnitude masks
(:func:`course_lib.pruning.magnitude.magnitude_masks`), layer-wise or global. Nothing here
changes the model it is given: each function works on copies and returns them in its
result. Accuracies are in percent, on the test split unless ``split`` says otherwise.
The verdicts at the end (:func:`seed_count`, :func:`extreme_layer`, :func:`in_order`) put
per-seed results into words that hold for every seed, built on
:func:`course_lib.experiments.claims.compare`.
:func:`train_test_gap` measures overfitting (training minus test accuracy) and
:func:`train_subset` makes a small setting (a few hundred training images) for sliders.
Fine-tuning runs of several sparsities are trained together
(:func:`course_lib.training.stacked.train_many`).

>>> from course_lib.training.data import load
>>> from course_lib.experiments.lottery import make_model
>>> from course_lib.training.train import train
>>> data = load("digits"); net = make_model("32", 64, 10, seed=0)
>>> _ = train(net, data, epochs=5, lr=5e-3, progress=False)
>>> [r.sparsity for r in prune_finetune(net, data, [0.5, 0.9], epochs=1, progress=False)]
[0.5, 0.9]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from course_lib._checks import check_bool, check_int, check_sparsity, mean_std
from course_lib.experiments.claims import compare
from course_lib.pruning.magnitude import magnitude_mask, magnitude_masks
from course_lib.pruning.masks import apply_masks, prunable_weights
from course_lib.pruning.reparam import plain_copy
from course_lib.pruning.schedules import step_sparsities
from course_lib.training.data import Dataset, Split
from course_lib.training.stacked import train_many
from course_lib.training.train import TrainResult, evaluate, train

__all__ = [
    "evaluation_split",
    "train_subset",
    "train_test_gap",
    "PruneFinetuneResult",
    "prune_finetune",
    "train_prune_finetune",
    "OneShotVsIterative",
    "one_shot_vs_iterative",
    "SensitivityScan",
    "layer_sensitivity",
    "scan_accuracies",
    "seed_count",
    "extreme_layer",
    "in_order",
]


def evaluation_split(data: Dataset, split: str) -> Split:
    """The split of ``data`` named ``split`` (``"train"``, ``"val"`` or ``"test"``).

    Args:
        data: the data set.
        split: ``"train"``, ``"val"`` or ``"test"``.

    Returns:
        The :class:`~course_lib.training.data.Split` ``data.train``, ``data.val`` or ``data.test``.

    Raises:
        ValueError: any other name.

    >>> from course_lib.training.data import load
    >>> len(evaluation_split(load("digits"), "test"))
    359
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    return getattr(data, split)


def train_subset(data: Dataset, n_train: int, seed: int = 0) -> Dataset:
    """``data`` with only ``n_train`` of its training examples (a seeded random choice): a small setting.

    Validation and test splits are kept whole, so accuracies stay comparable with the full run.

    Args:
        data: the data set.
        n_train: how many training examples to keep, an int in [1, len(data.train)].
        seed: the choice of examples.

    Returns:
        A new :class:`~course_lib.training.data.Dataset` (``data`` is not changed).

    Raises:
        ValueError: ``n_train`` not an int in [1, len(data.train)].

    >>> from course_lib.training.data import load
    >>> small = train_subset(load("digits"), 100)
    >>> len(small.train), len(small.test)
    (100, 359)
    """
    n = check_int(n_train, "n_train", 1)
    if n > len(data.train):
        raise ValueError(f"n_train must be an int in [1, {len(data.train)}], got {n_train!r}")
    pick = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(seed))[:n]
    return replace(data, train=Split(data.train.x[pick], data.train.y[pick]))


def train_test_gap(model: nn.Module, data: Dataset) -> float:
    """Training accuracy minus test accuracy, in percentage points: how much ``model`` overfits.

    Args:
        model: a trained network; not changed.
        data: the data set (accuracy on ``data.train`` and ``data.test``).

    Returns:
        ``accuracy(train) - accuracy(test)``, a float in [-100, 100] (percentage points).

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> data = load("digits"); net = make_model("16", 64, 10, seed=0)
    >>> train_test_gap(net, data) == evaluate(net, data.train)[1] - evaluate(net, data.test)[1]
    True
    """
    return evaluate(model, data.train)[1] - evaluate(model, data.test)[1]


# --------------------------------------------------------------------------- prune + finetune
@dataclass
class PruneFinetuneResult:
    """One sparsity of :func:`prune_finetune` (accuracies in percent, on the test split).

    Attributes:
        sparsity: the fraction of weights pruned.
        dense_acc: the trained network before pruning.
        pruned_acc: right after pruning, no fine-tuning.
        finetuned_acc: after fine-tuning with the mask kept.
        masks: {parameter name: bool tensor}, ``True`` = keep.
        run: the fine-tuning's :class:`~course_lib.training.train.TrainResult`.
        model: the pruned, fine-tuned copy.
    """

    sparsity: float
    dense_acc: float
    pruned_acc: float
    finetuned_acc: float
    masks: dict[str, torch.Tensor] = field(repr=False)
    run: TrainResult = field(repr=False)
    model: nn.Module = field(repr=False)


def prune_finetune(
    model: nn.Module,
    data: Dataset,
    sparsities: Sequence[float],
    *,
    epochs: int = 2,
    scope: str = "layer",
    lr: float = 1.2e-3,
    batch_size: int = 60,
    seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
) -> list[PruneFinetuneResult]:
    """Prune copies of the trained ``model`` by magnitude to each sparsity, then fine-tune each.

    The second and third steps of the naive algorithm (Han et al. 2015): each copy is
    pruned to its sparsity (:func:`course_lib.pruning.magnitude.magnitude_masks`) and
    fine-tuned for ``epochs`` with its mask kept; all copies train together, on the same
    minibatches. Sparsity 0.0 is the fair control: the dense network trained as long.

    Args:
        model: the trained MLP; not changed.
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        data: the data set (training on ``data.train``, accuracy on ``data.test``).
        sparsities: fractions of weights to prune, each in [0, 1] (at least one).
        epochs: fine-tuning epochs.
        scope: ``"layer"`` (every layer at the sparsity) or ``"global"`` (one |w| threshold).
        lr: Adam learning rate.
        batch_size: minibatch size.
        seed: the minibatch order.
        progress: show a tqdm bar.
        threads: torch CPU threads (``None``: chosen by the trainer).

    Returns:
        One :class:`PruneFinetuneResult` per sparsity, in order.

    Raises:
        ValueError: no sparsity, a sparsity outside [0, 1], an unknown ``scope``.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> res = prune_finetune(make_model("16", 64, 10), load("digits"), [0.0], epochs=1, progress=False)
    >>> res[0].pruned_acc == res[0].dense_acc
    True
    """
    sparsities = [check_sparsity(s) for s in sparsities]
    if not sparsities:
        raise ValueError("sparsities must hold at least one sparsity")
    dense_acc = evaluate(model, data.test)[1]
    copies, all_masks, pruned_accs = [], [], []
    for s in sparsities:
        net = plain_copy(model)  # torch.nn.utils.prune / parametrize made permanent
        masks = magnitude_masks(net, s, scope=scope)
        apply_masks(net, masks)
        pruned_accs.append(evaluate(net, data.test)[1])
        copies.append(net)
        all_masks.append(masks)
    runs = train_many(
        copies,
        data,
        all_masks,
        seeds=[seed] * len(copies),
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        progress=progress,
        threads=threads,
    )
    return [
        PruneFinetuneResult(s, dense_acc, pa, run.final_test_acc, m, run, net)
        for s, pa, m, run, net in zip(sparsities, pruned_accs, all_masks, runs, copies, strict=False)
    ]


def train_prune_finetune(
    model: nn.Module,
    data: Dataset,
    sparsities: Sequence[float],
    *,
    train_epochs: int = 5,
    epochs: int = 2,
    scope: str = "layer",
    lr: float = 1.2e-3,
    batch_size: int = 60,
    seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
) -> tuple[TrainResult, list[PruneFinetuneResult]]:
    """The slides' naive algorithm (Han et al. 2015): train a copy of ``model``, prune, fine-tune.

    Args:
        model: an untrained MLP; not changed (a copy is trained for ``train_epochs``
            with minibatch seed ``seed``).
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        data, sparsities, epochs, scope, lr, batch_size, progress, threads: as in
            :func:`prune_finetune` (which runs with minibatch seed ``seed + 1``).
        train_epochs: epochs of dense training.
        seed: the dense training's minibatch order.

    Returns:
        ``(dense_run, results)``: the dense :class:`~course_lib.training.train.TrainResult`
        and :func:`prune_finetune`'s results.

    Raises:
        ValueError: as :func:`prune_finetune`.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> dense, res = train_prune_finetune(make_model("16", 64, 10), load("digits"), [0.8],
    ...                                   train_epochs=2, epochs=1, lr=5e-3, progress=False)
    >>> res[0].dense_acc == dense.final_test_acc
    True
    """
    net = plain_copy(model)
    dense = train(
        net, data, epochs=train_epochs, lr=lr, batch_size=batch_size, seed=seed, progress=progress, threads=threads
    )
    return dense, prune_finetune(
        net,
        data,
        sparsities,
        epochs=epochs,
        scope=scope,
        lr=lr,
        batch_size=batch_size,
        seed=seed + 1,
        progress=progress,
        threads=threads,
    )


# --------------------------------------------------------------------------- one-shot vs iterative
@dataclass
class OneShotVsIterative:
    """Test accuracy (percent) after each fine-tuning step of :func:`one_shot_vs_iterative`.

    Attributes:
        target_sparsity: the sparsity both networks end at.
        dense_acc: the trained network before pruning.
        epochs: ``epochs[i]``, the fine-tuning epochs done after step ``i``.
        densities: ``densities[i]``, the iterative network's fraction of weights after step
            ``i`` (the one-shot network is at ``1 - target_sparsity`` throughout).
        one_shot_acc, iterative_acc: after each step's fine-tuning (``one_shot_acc`` is empty
            when the one-shot copy was not fine-tuned, ``one_shot=False``).
        one_shot_pruned_acc: the one-shot network right after pruning.
        iterative_pruned_acc: the iterative network right after each step's pruning.
        models: the two fine-tuned copies, ``"one_shot"`` and ``"iterative"``.
        schedule: the iterative network's schedule, one of
            :data:`course_lib.pruning.schedules.SCHEDULES`.
    """

    target_sparsity: float
    dense_acc: float
    epochs: list[int]
    densities: list[float]
    one_shot_acc: list[float]
    iterative_acc: list[float]
    one_shot_pruned_acc: float
    iterative_pruned_acc: list[float]
    models: dict[str, nn.Module] = field(repr=False, default_factory=dict)
    schedule: str = "geometric"


def one_shot_vs_iterative(
    model: nn.Module,
    data: Dataset,
    target_sparsity: float,
    *,
    steps: int = 4,
    epochs_per_step: int = 1,
    scope: str = "layer",
    schedule: str = "geometric",
    one_shot: bool = True,
    lr: float = 1.2e-3,
    batch_size: int = 60,
    seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
) -> OneShotVsIterative:
    """Same sparsity, same fine-tuning budget: one-shot against iterative pruning.

    One copy of the trained ``model`` is pruned to ``target_sparsity`` at once (one-shot);
    the other in ``steps`` steps (iterative pruning, Han et al. 2015) that follow
    :func:`course_lib.pruning.schedules.step_sparsities`: ``"geometric"`` prunes the same
    fraction of the remaining weights each step, ``"cubic"`` (Zhu & Gupta 2017) prunes
    more in the middle steps and less in the last. Both are
    fine-tuned ``epochs_per_step`` after every step: the one-shot copy is pruned at step 1
    and fine-tuned in the same chunks, so both get the same epochs, optimizer restarts and
    minibatch order (they train together).

    Args:
        model: the trained MLP; not changed.
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        data: the data set.
        target_sparsity: the final sparsity, in [0, 1].
        steps: the number of pruning steps, >= 1.
        epochs_per_step: fine-tuning epochs after each step.
        scope: ``"layer"`` or ``"global"`` magnitude pruning.
        schedule: ``"geometric"`` or ``"cubic"``, the iterative network's sparsity per step.
        one_shot: also fine-tune the one-shot copy; ``False`` trains only the iterative one
            (e.g. a second schedule beside a run that has the one-shot curve already):
            ``one_shot_acc`` stays empty and ``models`` holds only ``"iterative"``.
        lr, batch_size, progress, threads: as in :func:`prune_finetune`.
        seed: step ``i`` fine-tunes with minibatch seed ``seed + i``.

    Returns:
        A :class:`OneShotVsIterative`.

    Raises:
        ValueError: ``target_sparsity`` outside [0, 1], ``steps`` < 1, an unknown ``scope``
            or ``schedule``.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> res = one_shot_vs_iterative(make_model("16", 64, 10), load("digits"), 0.75, steps=2, progress=False)
    >>> res.epochs, [round(d, 3) for d in res.densities]
    ([1, 2], [0.5, 0.25])
    """
    target = check_sparsity(target_sparsity, name="target_sparsity")
    steps = check_int(steps, "steps", 1)
    plan = step_sparsities(target, steps, schedule)
    with_shot = check_bool(one_shot, "one_shot")
    shot, iterative = plain_copy(model), plain_copy(model)
    shot_masks = magnitude_masks(shot, target, scope=scope)
    apply_masks(shot, shot_masks)
    out = OneShotVsIterative(
        target, evaluate(model, data.test)[1], [], [], [], [], evaluate(shot, data.test)[1], [], schedule=schedule
    )
    nets, masks = ([shot], [shot_masks]) if with_shot else ([], [])
    iter_masks: dict[str, torch.Tensor] | None = None
    for step, sparsity in enumerate(plan, start=1):
        iter_masks = magnitude_masks(iterative, sparsity, scope=scope, prior=iter_masks)
        apply_masks(iterative, iter_masks)
        out.iterative_pruned_acc.append(evaluate(iterative, data.test)[1])
        runs = train_many(
            [*nets, iterative],
            data,
            [*masks, iter_masks],
            seeds=[seed + step] * (len(nets) + 1),
            epochs=epochs_per_step,
            lr=lr,
            batch_size=batch_size,
            progress=progress,
            threads=threads,
        )
        out.epochs.append(step * epochs_per_step)
        n_kept = sum(int(m.sum()) for m in iter_masks.values())
        out.densities.append(n_kept / sum(m.numel() for m in iter_masks.values()))
        if with_shot:
            out.one_shot_acc.append(runs[0].final_test_acc)
        out.iterative_acc.append(runs[-1].final_test_acc)
    out.models = {"one_shot": shot, "iterative": iterative} if with_shot else {"iterative": iterative}
    return out


# --------------------------------------------------------------------------- sensitivity
@dataclass
class SensitivityScan:
    """Accuracy (percent) when one layer alone is pruned, from :func:`layer_sensitivity`.

    Attributes:
        sparsities: the sparsities scanned.
        acc: ``acc[layer][i]``, the accuracy with only ``layer`` pruned to ``sparsities[i]``.
        dense_acc: the unpruned network's accuracy.
        sizes: the number of weights of each layer scanned.
        split: where accuracy was measured.
    """

    sparsities: list[float]
    acc: dict[str, list[float]]
    dense_acc: float
    sizes: dict[str, int]
    split: str = "val"


@torch.no_grad()
def layer_sensitivity(
    model: nn.Module,
    data: Dataset,
    sparsities: Sequence[float] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
    layers: Sequence[str] | None = None,
    split: str = "val",
) -> SensitivityScan:
    """Prune one layer at a time by magnitude (no fine-tuning) and measure the accuracy on ``split``.

    A sensitivity scan (Han et al. 2015, Section 4; Li et al. 2017): layers whose accuracy
    holds at high sparsity are the ones to prune hardest (typically the large ones).

    Args:
        model: the trained network; not changed.
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        data: the data set.
        sparsities: the sparsities to try, each in [0, 1].
        layers: the prunable weights to scan, by parameter name (default all).
        split: ``"train"``, ``"val"`` or ``"test"``.

    Returns:
        A :class:`SensitivityScan`.

    Raises:
        ValueError: an unknown layer or split, a sparsity outside [0, 1].

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> scan = layer_sensitivity(make_model("16", 64, 10), load("digits"), [0.0, 1.0])
    >>> scan.acc["fc1.weight"][0] == scan.dense_acc, scan.sizes
    (True, {'fc1.weight': 1024, 'fc2.weight': 160})
    """
    part = evaluation_split(data, split)
    sparsities = [check_sparsity(s) for s in sparsities]
    net = plain_copy(model)  # its weights are written: plain parameters, not computed ones
    weights = prunable_weights(net)
    layers = list(weights) if layers is None else list(layers)
    unknown = [n for n in layers if n not in weights]
    if unknown:
        raise ValueError(f"layers has unknown name(s) {unknown}; prunable weights: {list(weights)}")
    scan = SensitivityScan(sparsities, {}, evaluate(net, part)[1], {n: weights[n].numel() for n in layers}, split)
    for name in layers:
        w = weights[name]
        original = w.detach().clone()
        accs = []
        for s in sparsities:
            w.copy_(original * magnitude_mask(original, s))
            accs.append(evaluate(net, part)[1])
        w.copy_(original)
        scan.acc[name] = accs
    return scan


# --------------------------------------------------------------------------- verdicts over seeds
def scan_accuracies(scans: Sequence[SensitivityScan], layer: str, sparsity: float) -> list[float]:
    """The accuracy with only ``layer`` pruned to ``sparsity``, one number per seed.

    Args:
        scans: one :class:`SensitivityScan` per seed, the same sparsities and layers in each.
        layer: a scanned layer's parameter name, e.g. ``"fc2.weight"``.
        sparsity: one of the scanned sparsities.

    Returns:
        ``[scan.acc[layer][i] for scan in scans]`` (percent), ``i`` the index of ``sparsity``.

    Raises:
        ValueError: no scan, an unscanned ``layer`` or ``sparsity``.

    >>> from types import SimpleNamespace as S
    >>> scans = [S(sparsities=[0.5, 0.9], acc={"fc1.weight": [95.0, 90.0 + s]}) for s in range(3)]
    >>> scan_accuracies(scans, "fc1.weight", 0.9)
    [90.0, 91.0, 92.0]
    """
    if not scans:
        raise ValueError("scans must hold one SensitivityScan per seed, got none")
    if layer not in scans[0].acc:
        raise ValueError(f"layer must be one of the scanned layers {list(scans[0].acc)}, got {layer!r}")
    if sparsity not in scans[0].sparsities:
        raise ValueError(f"sparsity must be one of the scanned sparsities {scans[0].sparsities}, got {sparsity!r}")
    i = scans[0].sparsities.index(sparsity)
    return [float(s.acc[layer][i]) for s in scans]


def seed_count(a: Sequence[float], b: Sequence[float], lower: str = "lower", higher: str = "higher") -> str:
    """How many seeds have ``a`` below and above ``b``, in words true for the numbers.

    Args:
        a, b: one number per seed each (paired by seed), the same length >= 1.
        lower, higher: the words for ``a[i] < b[i]`` and ``a[i] > b[i]`` (e.g. "smaller", "LARGER").

    Returns:
        ``"<lower> on every seed"`` or ``"<higher> on every seed"`` when all seeds (two or more)
        agree (``"equal on every seed"`` when all tie); ``"<lower> on the one seed"`` for one
        seed; otherwise the counts that are not zero, the largest first, e.g. ``"higher on 2 of 3
        seeds, lower on 1"`` or ``"higher on 2 of 3 seeds, equal on 1"``: never a word for seeds
        there are none of.

    Raises:
        TypeError, ValueError: as :func:`course_lib.experiments.claims.compare`.

    >>> seed_count([5.4, 5.9, 5.4], [6.5, 5.5, 5.9], "smaller", "LARGER")
    'smaller on 2 of 3 seeds, LARGER on 1'
    >>> seed_count([5.0, 6.0], [6.0, 6.0], "smaller", "LARGER")
    'smaller on 1 of 2 seeds, equal on 1'
    >>> seed_count([6.5, 6.0, 6.1], [6.5, 5.9, 5.4], "smaller", "LARGER")
    'LARGER on 2 of 3 seeds, equal on 1'
    >>> seed_count([1.0, 2.0], [0.0, 0.0])
    'higher on every seed'
    """
    compare(a, b, "a", "b")  # the same checks of a and b: sequences of numbers, same length >= 1
    diffs = [float(x) - float(y) for x, y in zip(a, b, strict=True)]
    below, above = sum(d < 0 for d in diffs), sum(d > 0 for d in diffs)
    n = len(diffs)
    triples = ((lower, below), (higher, above), ("equal", n - below - above))
    counts = sorted(((word, k) for word, k in triples if k), key=lambda c: -c[1])  # the most seeds first
    if n == 1:
        return f"{counts[0][0]} on the one seed"
    if len(counts) == 1:
        return f"{counts[0][0]} on every seed"
    (word, k), rest = counts[0], counts[1:]
    return f"{word} on {k} of {n} seeds" + "".join(f", {w} on {j}" for w, j in rest)


def extreme_layer(values: Mapping[str, Sequence[float]], lowest: bool = True, unit: str = "points") -> tuple[str, str]:
    """The layer with the lowest (or highest) mean, and whether it is so on every seed.

    Args:
        values: layer name -> one number per seed (e.g. :func:`scan_accuracies`), two layers or more.
        lowest: find the lowest mean (the most fragile layer); ``False``: the highest.
        unit: the unit of the differences in the sentence.

    Returns:
        ``(name, sentence)``: ``"fc3: lower than every other layer on every seed"`` when each
        paired comparison (:func:`course_lib.experiments.claims.compare`) holds on every seed,
        otherwise ``"fc3: the lowest mean, not on every seed: fc3 vs fc2: -1.00 ± 2.00 points;
        the seeds disagree"`` naming each layer it does not beat on every seed.

    Raises:
        ValueError: fewer than two layers; TypeError, ValueError as ``compare``.

    >>> extreme_layer({"fc1": [91.0, 92.0], "fc2": [85.0, 88.0], "fc3": [50.0, 55.0]})
    ('fc3', 'fc3: lower than every other layer on every seed')
    >>> extreme_layer({"fc1": [91.0, 92.0], "fc2": [93.0, 88.0]}, lowest=False)[1]
    'fc1: the highest mean, not on every seed: fc1 vs fc2: +1.00 ± 3.00 points; the seeds disagree'
    """
    if len(values) < 2:
        raise ValueError(f"values must hold two layers or more, got {list(values)}")
    means = {name: mean_std(list(v))[0] for name, v in values.items()}
    pick = (min if lowest else max)(means, key=means.__getitem__)
    want = -1 if lowest else 1
    verdicts = [compare(values[pick], v, pick, name, unit) for name, v in values.items() if name != pick]
    if all(v.direction == want for v in verdicts):
        return pick, f"{pick}: {'lower' if lowest else 'higher'} than every other layer on every seed"
    missed = "; ".join(v.text for v in verdicts if v.direction != want)
    return pick, f"{pick}: the {'lowest' if lowest else 'highest'} mean, not on every seed: {missed}"


def in_order(values: Mapping[str, Sequence[float]], names: Sequence[str], unit: str = "points") -> tuple[bool, str]:
    """Does each of ``names`` score higher than the one before it, on every seed?

    Args:
        values: name -> one number per seed (e.g. :func:`scan_accuracies`).
        names: the order to test, two names or more (e.g. equal-sized layers by depth).
        unit: the unit of the differences in the sentence.

    Returns:
        ``(holds, sentence)``: ``holds`` when every consecutive paired comparison
        (:func:`course_lib.experiments.claims.compare`) is higher on every seed; the sentence
        joins the comparisons' texts with ``"; "``.

    Raises:
        ValueError: fewer than two names, or a name not in ``values``.

    >>> in_order({"fc2": [70.0, 75.0], "fc3": [84.0, 85.0], "fc4": [90.0, 91.0]}, ["fc2", "fc3", "fc4"])[0]
    True
    >>> in_order({"fc2": [70.0, 75.0], "fc3": [74.0, 71.0]}, ["fc2", "fc3"])
    (False, 'fc3 vs fc2: +0.00 ± 4.00 points; the seeds disagree')
    """
    names = list(names)
    if len(names) < 2 or any(n not in values for n in names):
        raise ValueError(f"names must be two or more of {list(values)}, got {names}")
    steps = [compare(values[b], values[a], b, a, unit) for a, b in zip(names[:-1], names[1:], strict=True)]
    return all(v.direction > 0 for v in steps), "; ".join(v.text for v in steps)
