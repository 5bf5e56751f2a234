"""Pruning a *trained* network: prune-finetune, one-shot vs iterative, layer sensitivity,
and regression-based pruning (refit the next layer by least squares).

These are the slides' "naive algorithm" experiments (train, prune, fine-tune;
prune a little and repeat) and their "general ideas" (which layers tolerate
pruning; regression-based pruning). Nothing here changes the model it is given:
each function works on copies and returns them in its result. Accuracies are in
percent, on the test split unless ``split`` says otherwise. Fine-tuning runs of
several sparsities are trained together (:func:`course_lib.training.stacked.train_many`).

>>> from course_lib.training.data import load
>>> from course_lib.experiments.lottery import make_model
>>> from course_lib.training.train import train
>>> data = load("digits"); net = make_model("32", 64, 10, seed=0)
>>> _ = train(net, data, epochs=5, lr=5e-3, progress=False)
>>> [r.sparsity for r in prune_finetune(net, data, [0.5, 0.9], epochs=1, progress=False)]
[0.5, 0.9]
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.pruning.magnitude import global_magnitude_masks, magnitude_mask
from course_lib.pruning.masks import apply_masks, prunable_weights
from course_lib.pruning.schedules import rate_for_density
from course_lib.pruning.structured import remove_neurons, row_keep, row_norm_mask
from course_lib.training.stacked import train_many
from course_lib.training.train import TrainResult, evaluate, mlp_layers, train

__all__ = [
    "SCOPES",
    "magnitude_masks",
    "PruneFinetuneResult",
    "prune_finetune",
    "train_prune_finetune",
    "OneShotVsIterative",
    "one_shot_vs_iterative",
    "SensitivityScan",
    "layer_sensitivity",
    "hidden_activations",
    "least_squares_refit",
    "RefitScan",
    "refit_scan",
]

#: How :func:`magnitude_masks` spreads the sparsity: every layer alike, or one global threshold.
SCOPES = ("layer", "global")


def _split(data, split: str):
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    return getattr(data, split)


def magnitude_masks(
    model: nn.Module, sparsity: float, scope: str = "layer", prior: Mapping[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """Magnitude masks for all prunable weights of ``model`` at ``sparsity``.

    ``scope="layer"``: each weight tensor loses ``sparsity`` of its entries;
    ``scope="global"``: one |w| threshold over all of them. Pure.

    >>> from course_lib.experiments.lottery import make_model
    >>> m = magnitude_masks(make_model("8", 4, 2), 0.5)
    >>> [round(float((~v).float().mean()), 2) for v in m.values()]
    [0.5, 0.5]
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    weights = {n: p.detach() for n, p in prunable_weights(model).items()}
    if scope == "global":
        return global_magnitude_masks(weights, sparsity, prior=prior)
    prior = dict(prior or {})
    return {n: magnitude_mask(w, sparsity, prior=prior.get(n)) for n, w in weights.items()}


# --------------------------------------------------------------------------- prune + finetune
@dataclass
class PruneFinetuneResult:
    """One sparsity of :func:`prune_finetune`: accuracy dense, right after pruning, after fine-tuning."""

    sparsity: float
    dense_acc: float
    pruned_acc: float
    finetuned_acc: float
    masks: dict[str, torch.Tensor] = field(repr=False)
    run: TrainResult = field(repr=False)
    model: nn.Module = field(repr=False)


def prune_finetune(
    model: nn.Module,
    data,
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
    """Prune copies of the trained ``model`` by magnitude to each of ``sparsities``, then fine-tune
    each copy for ``epochs`` with its mask kept (all copies trained together).

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
        net = copy.deepcopy(model)
        masks = magnitude_masks(net, s, scope)
        apply_masks(net, masks)
        pruned_accs.append(evaluate(net, data.test)[1])
        copies.append(net)
        all_masks.append(masks)
    runs = train_many(
        copies,
        data,
        all_masks,
        seeds=seed,
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
    data,
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
    """The slides' naive algorithm: train a copy of ``model`` for ``train_epochs``, then
    :func:`prune_finetune` it; returns ``(dense_run, results)``. ``model`` is not changed.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> dense, res = train_prune_finetune(make_model("16", 64, 10), load("digits"), [0.8],
    ...                                   train_epochs=2, epochs=1, lr=5e-3, progress=False)
    >>> res[0].dense_acc == dense.final_test_acc
    True
    """
    net = copy.deepcopy(model)
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
    """Accuracy after each fine-tuning step of :func:`one_shot_vs_iterative`.

    ``epochs[i]``: fine-tuning epochs done after step ``i``; ``densities[i]``: the
    iterative network's fraction of weights after step ``i`` (the one-shot network
    is at ``1 - target_sparsity`` throughout); ``*_pruned_acc``: accuracy right
    after pruning, before that step's fine-tuning.
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


def one_shot_vs_iterative(
    model: nn.Module,
    data,
    target_sparsity: float,
    *,
    steps: int = 4,
    epochs_per_step: int = 1,
    scope: str = "layer",
    lr: float = 1.2e-3,
    batch_size: int = 60,
    seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
) -> OneShotVsIterative:
    """Same sparsity, same fine-tuning budget: prune the trained ``model`` to ``target_sparsity``
    at once (one-shot), or in ``steps`` steps that each prune the same fraction of the remaining
    weights (iterative), fine-tuning ``epochs_per_step`` after every step.

    The one-shot copy is pruned at step 1 and fine-tuned in the same ``steps`` chunks, so both
    get the same epochs, optimizer restarts and minibatch order (they train together).

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> res = one_shot_vs_iterative(make_model("16", 64, 10), load("digits"), 0.75, steps=2, progress=False)
    >>> res.epochs, [round(d, 3) for d in res.densities]
    ([1, 2], [0.5, 0.25])
    """
    target = check_sparsity(target_sparsity, name="target_sparsity")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    rate = rate_for_density(1.0 - target, steps) if target < 1 else 1.0
    one_shot, iterative = copy.deepcopy(model), copy.deepcopy(model)
    shot_masks = magnitude_masks(one_shot, target, scope)
    apply_masks(one_shot, shot_masks)
    out = OneShotVsIterative(
        target, evaluate(model, data.test)[1], [], [], [], [], evaluate(one_shot, data.test)[1], []
    )
    iter_masks = None
    for step in range(1, steps + 1):
        sparsity = target if step == steps else 1.0 - (1.0 - rate) ** step
        iter_masks = magnitude_masks(iterative, sparsity, scope, prior=iter_masks)
        apply_masks(iterative, iter_masks)
        out.iterative_pruned_acc.append(evaluate(iterative, data.test)[1])
        runs = train_many(
            [one_shot, iterative],
            data,
            [shot_masks, iter_masks],
            seeds=seed + step,
            epochs=epochs_per_step,
            lr=lr,
            batch_size=batch_size,
            progress=progress,
            threads=threads,
        )
        out.epochs.append(step * epochs_per_step)
        n_kept = sum(int(m.sum()) for m in iter_masks.values())
        out.densities.append(n_kept / sum(m.numel() for m in iter_masks.values()))
        out.one_shot_acc.append(runs[0].final_test_acc)
        out.iterative_acc.append(runs[1].final_test_acc)
    out.models = {"one_shot": one_shot, "iterative": iterative}
    return out


# --------------------------------------------------------------------------- sensitivity
@dataclass
class SensitivityScan:
    """Accuracy when one layer alone is pruned: ``acc[layer][i]`` at ``sparsities[i]``."""

    sparsities: list[float]
    acc: dict[str, list[float]]
    dense_acc: float
    sizes: dict[str, int]
    split: str = "val"


@torch.no_grad()
def layer_sensitivity(
    model: nn.Module,
    data,
    sparsities: Sequence[float] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
    layers: Sequence[str] | None = None,
    split: str = "val",
) -> SensitivityScan:
    """Prune one layer at a time by magnitude (no fine-tuning) and measure the accuracy on ``split``.

    Layers whose accuracy holds at high sparsity are the ones to prune hardest
    (typically the large ones). ``model`` is not changed.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> scan = layer_sensitivity(make_model("16", 64, 10), load("digits"), [0.0, 1.0])
    >>> scan.acc["fc1.weight"][0] == scan.dense_acc, scan.sizes
    (True, {'fc1.weight': 1024, 'fc2.weight': 160})
    """
    part = _split(data, split)
    sparsities = [check_sparsity(s) for s in sparsities]
    net = copy.deepcopy(model)
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


# --------------------------------------------------------------------------- regression-based pruning
def _layer_pair(model: nn.Module, layer: str) -> tuple[int, int]:
    """Positions (in ``model``) of the Linear ``layer`` and the next Linear, checking a ReLU sits between."""
    names = [n for n, _ in model.named_children()]
    linear = [n for n, _ in mlp_layers(model)]
    if layer not in linear[:-1]:
        raise ValueError(
            f"layer must name a hidden Linear layer (not the output layer), one of {linear[:-1]}; got {layer!r}"
        )
    a = names.index(layer)
    b = names.index(linear[linear.index(layer) + 1])
    if b != a + 2 or not isinstance(model[a + 1], nn.ReLU):
        raise ValueError(f"expected {layer} -> ReLU -> next Linear")
    return a, b


@torch.no_grad()
def hidden_activations(model: nn.Module, layer: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(h, z)`` for inputs ``x``: ``h`` the ReLU outputs of hidden ``layer`` (one column per
    neuron), ``z`` what the next Linear layer computes from them.

    >>> from course_lib.experiments.lottery import make_model
    >>> h, z = hidden_activations(make_model("6", 4, 3), "fc1", torch.randn(5, 4))
    >>> h.shape, z.shape, bool((h >= 0).all())
    (torch.Size([5, 6]), torch.Size([5, 3]), True)
    """
    a, b = _layer_pair(model, layer)
    h = x
    for module in list(model)[: a + 2]:
        h = module(h)
    return h, model[b](h)


@torch.no_grad()
def least_squares_refit(
    model: nn.Module, layer: str, keep: torch.Tensor, x: torch.Tensor, ridge: float = 0.0
) -> nn.Sequential:
    """Remove the neurons of hidden ``layer`` not in ``keep``, then refit the next layer by least squares.

    On the inputs ``x`` (e.g. the training set), the next layer's outputs ``z`` are
    recorded before removal; after it, the next layer's weights and bias are
    chosen to minimize ``||[h_keep, 1] @ [W^T; b] - z||^2 + ridge * ||W||^2`` over the
    kept activations ``h_keep``: the remaining neurons take over what the removed
    ones did, as far as a linear map can (regression-based pruning, cf. He et al.
    2017). Returns a new, smaller model; ``model`` is not changed.

    >>> from course_lib.experiments.lottery import make_model
    >>> net = make_model("8", 4, 3, seed=0); x = torch.randn(200, 4)
    >>> small = least_squares_refit(net, "fc1", torch.tensor([True] * 8), x)   # keep all: same function
    >>> torch.allclose(small(x), net(x), atol=1e-4)
    True
    """
    a, b = _layer_pair(model, layer)
    first, second = model[a], model[b]
    if not isinstance(keep, torch.Tensor) or keep.dtype != torch.bool:
        raise TypeError("keep must be a bool tensor over the layer's neurons (True = keep)")
    if keep.dim() == 2:
        keep = row_keep(keep)
    if keep.shape != (first.out_features,):
        raise ValueError(f"keep must have shape ({first.out_features},), got {tuple(keep.shape)}")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge!r}")
    h, z = hidden_activations(model, layer, x)
    design = torch.cat([h[:, keep], torch.ones(len(h), 1)], dim=1).double()
    target = z.double()
    if ridge > 0:
        k = design.shape[1]
        reg = torch.eye(k, dtype=torch.float64) * ridge**0.5
        reg[-1, -1] = 0.0  # the bias is not penalized
        design = torch.cat([design, reg])
        target = torch.cat([target, torch.zeros(k, target.shape[1], dtype=torch.float64)])
    solution = torch.linalg.lstsq(design, target, driver="gelsd").solution  # (kept + 1, out)
    small = copy.deepcopy(model)
    new_first, new_second = remove_neurons(first, second, keep)
    new_second.weight.copy_(solution[:-1].T.to(new_second.weight.dtype))
    new_second.bias.copy_(solution[-1].to(new_second.bias.dtype))
    names = [n for n, _ in model.named_children()]
    setattr(small, names[a], new_first)
    setattr(small, names[b], new_second)
    return small


@dataclass
class RefitScan:
    """Accuracy after removing a fraction of a layer's neurons, without and with least-squares refit."""

    layer: str
    sparsities: list[float]
    removed_acc: list[float]
    refit_acc: list[float]
    dense_acc: float
    split: str = "test"


def refit_scan(
    model: nn.Module,
    data,
    layer: str,
    sparsities: Sequence[float] = (0.25, 0.5, 0.75, 0.9),
    p: int = 2,
    split: str = "test",
    ridge: float = 0.0,
    n_fit: int | None = None,
) -> RefitScan:
    """For each sparsity, remove that fraction of ``layer``'s neurons (smallest L``p`` row norm) and
    measure the accuracy as is and after :func:`least_squares_refit` on ``n_fit`` training inputs
    (default all). ``model`` is not changed.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> scan = refit_scan(make_model("16", 64, 10), load("digits"), "fc1", [0.5])
    >>> len(scan.removed_acc), len(scan.refit_acc)
    (1, 1)
    """
    part = _split(data, split)
    a, _ = _layer_pair(model, layer)
    x_fit = data.train.x if n_fit is None else data.train.x[:n_fit]
    scan = RefitScan(layer, [check_sparsity(s) for s in sparsities], [], [], evaluate(model, part)[1], split)
    for s in scan.sparsities:
        keep = row_keep(row_norm_mask(model[a].weight.detach(), s, p=p))
        masked = copy.deepcopy(model)
        names = [n for n, _ in model.named_children()]
        new_first, new_second = remove_neurons(model[a], model[a + 2], keep)
        setattr(masked, names[a], new_first)
        setattr(masked, names[a + 2], new_second)
        scan.removed_acc.append(evaluate(masked, part)[1])
        scan.refit_acc.append(evaluate(least_squares_refit(model, layer, keep, x_fit, ridge=ridge), part)[1])
    return scan
