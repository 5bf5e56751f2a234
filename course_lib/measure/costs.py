"""The costs of a pruned MLP in the four ways the course stores it: size, MACs, energy, accuracy.

:func:`pruned_variants` builds the four (dense, masked, CSR, neurons removed) at the same
sparsity of the weights, :func:`pruning_costs` measures each with :mod:`course_lib.measure.size`,
:mod:`course_lib.measure.work` and :mod:`course_lib.measure.energy`, :func:`pruned_models`
gives the models to run and :func:`variant_accuracy` their test accuracy.

One axis for all: a sparsity is always the fraction of the model's weights removed. Removing
a hidden neuron removes its row *and* the next layer's column, so "neurons removed" at
sparsity 0.9 removes the fraction of hidden neurons (:func:`neuron_fraction`) that leaves 10%
of the weights, not 90% of the neurons (which would leave about 1% of fc2's weights).
:func:`removed_fraction` computes the sparsity a variant really has, from its masks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.measure.energy import energy_per_inference
from course_lib.measure.size import (
    disk_bytes,
    model_bytes,
    nonzero_count,
    param_count,
)
from course_lib.measure.sparse import csr_mlp
from course_lib.measure.work import macs
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.masks import apply_masks, n_to_prune, prunable_weights
from course_lib.pruning.reparam import plain, plain_copy
from course_lib.pruning.structured import row_norm_mask, shrink_mlp
from course_lib.training.data import Split
from course_lib.training.record import evaluate

__all__ = [
    "neuron_fraction",
    "removed_fraction",
    "pruned_variants",
    "pruned_models",
    "pruning_costs",
    "variant_accuracy",
    "same_sparsity",
]


def _check_mlp(model: object) -> dict[str, torch.Tensor]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    return prunable_weights(model)


def _kept_weights(shapes: list[tuple[int, int]], fraction: float) -> int:
    """Weights left when ``fraction`` of every hidden layer's rows (not the last layer's) is removed."""
    kept, n_in = 0, shapes[0][1]
    for i, (rows, _) in enumerate(shapes):
        n_out = rows if i == len(shapes) - 1 else rows - n_to_prune(fraction, rows)
        kept += n_out * n_in
        n_in = n_out
    return kept


def neuron_fraction(model: nn.Sequential, sparsity: float) -> float:
    """The fraction of each hidden layer's neurons whose removal removes ``sparsity`` of the weights.

    Removing a neuron removes its row and the next layer's column, so a fraction ``f`` of the
    hidden neurons removes more than ``f`` of the weights. Of the fractions ``k / rows`` a
    hidden layer can take, the one whose weight sparsity (as :func:`removed_fraction` counts
    it, rows pruned by :func:`course_lib.pruning.masks.n_to_prune`) is nearest to ``sparsity``
    is returned (the smaller on a tie).

    Args:
        model: an ``nn.Sequential`` MLP (its Linear weights ``(out, in)`` chained).
        sparsity: the fraction of all Linear weights to remove, a float in [0, 1].

    Returns:
        The fraction of each hidden layer's neurons to remove, in [0, 1].

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential``; ``sparsity`` is not a number.
        ValueError: ``sparsity`` outside [0, 1].

    >>> net = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10))
    >>> neuron_fraction(net, 0.5)  # half the rows of layer 1 and half the columns of layer 2
    0.5
    >>> deep = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> neuron_fraction(deep, 0.75)  # 5 of 8 neurons per hidden layer: 27 of 112 weights are left
    0.625
    """
    sparsity = check_sparsity(sparsity)
    shapes = [(int(w.shape[0]), int(w.shape[1])) for w in _check_mlp(model).values()]
    total = sum(r * c for r, c in shapes)
    candidates = sorted({k / r for r, _ in shapes[:-1] for k in range(r + 1)} or {0.0})
    return min(candidates, key=lambda f: (abs(1 - _kept_weights(shapes, f) / total - sparsity), f))


def removed_fraction(model: nn.Sequential, masks: dict[str, torch.Tensor] | None = None, fmt: str = "dense") -> float:
    """The sparsity a pruned version of ``model`` really has: the fraction of its Linear weights removed.

    Args:
        model: an ``nn.Sequential`` MLP; not changed.
        masks: parameter name -> bool keep-mask (``None``: nothing pruned).
        fmt: ``"dense"`` or ``"csr"`` (the masks' ``False`` entries are removed), or
            ``"shrunk"`` (the masks are row masks of hidden layers, :func:`course_lib.shrink_mlp`
            removes those neurons: their rows and the next layer's columns).

    Returns:
        A float in [0, 1].

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential``.
        ValueError: ``fmt`` is not one of the three.

    >>> net = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10))
    >>> rows = {"0.weight": (torch.arange(10) < 5).unsqueeze(1).expand(10, 10)}
    >>> removed_fraction(net, rows, "csr"), removed_fraction(net, rows, "shrunk")
    (0.25, 0.5)
    """
    weights = _check_mlp(model)
    if fmt not in ("dense", "csr", "shrunk"):
        raise ValueError(f"fmt must be 'dense', 'csr' or 'shrunk', got {fmt!r}")
    total = sum(w.numel() for w in weights.values())
    if fmt == "shrunk":
        kept = sum(w.numel() for w in prunable_weights(shrink_mlp(model, dict(masks or {}))).values())
    else:
        kept = sum(int(masks[k].sum()) if masks and k in masks else w.numel() for k, w in weights.items())
    return (total - kept) / total


def same_sparsity(removed: Mapping[str, Sequence[float]], sparsities: Sequence[float], tolerance: float = 0.01) -> bool:
    """Whether every version removed the sparsity asked for, within ``tolerance``: one axis for all.

    Args:
        removed: {version: the fraction of the weights it removed at each sparsity}, e.g.
            :attr:`course_lib.measure.SpeedSweep.removed` or :func:`pruning_costs`' ``sparsity``.
        sparsities: the sparsities asked for, one per entry of each list.
        tolerance: the largest difference allowed (whole neurons cannot hit every sparsity).

    Returns:
        ``True`` when ``|removed[v][i] - sparsities[i]| <= tolerance`` for every version and
        sparsity (and ``removed`` is not empty), else ``False``.

    Raises:
        ValueError: a list of ``removed`` has another length than ``sparsities``.

    >>> same_sparsity({"csr": [0.5, 0.9], "neurons removed": [0.503, 0.901]}, [0.5, 0.9])
    True
    >>> same_sparsity({"neurons removed": [0.528, 0.906]}, [0.5, 0.9])  # half the neurons, not the weights
    False
    """
    for name, values in removed.items():
        if len(values) != len(sparsities):
            raise ValueError(f"removed[{name!r}]: one value per sparsity ({len(sparsities)}), got {len(values)}")
    return bool(removed) and all(
        abs(v - s) <= tolerance for values in removed.values() for v, s in zip(values, sparsities, strict=True)
    )


def pruned_variants(model: nn.Sequential, sparsity: float) -> dict[str, tuple[dict[str, torch.Tensor], str]]:
    """The four ways the course stores ``model`` pruned at ``sparsity``: name -> (masks, fmt).

    * ``"dense"``: nothing pruned;
    * ``"masked"``: ``sparsity`` of every layer's weights zeroed by magnitude
      (:func:`course_lib.magnitude_masks`, Han et al. 2015), still stored dense;
    * ``"csr"``: the same masks, stored in CSR;
    * ``"neurons removed"``: :func:`neuron_fraction` of every hidden layer's neurons (rows)
      pruned by L2 norm (:func:`course_lib.row_norm_mask`, Li et al. 2017) and physically
      removed: as near ``sparsity`` of the weights as whole neurons allow.

    Args:
        model: an ``nn.Sequential`` MLP.
        sparsity: fraction of the weights pruned, in [0, 1].

    Returns:
        Variant name -> (masks: parameter name -> bool keep-mask, fmt for
        :func:`course_lib.measure.size.model_bytes`).

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential``; ``sparsity`` is not a number.
        ValueError: ``sparsity`` outside [0, 1].

    >>> list(pruned_variants(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)), 0.5))
    ['dense', 'masked', 'csr', 'neurons removed']
    """
    sparsity = check_sparsity(sparsity)
    weights = _check_mlp(model)
    weight_masks = magnitude_masks(model, sparsity)
    fraction = neuron_fraction(model, sparsity)
    row_masks = {k: row_norm_mask(w, fraction) for k, w in list(weights.items())[:-1]}
    return {
        "dense": ({}, "dense"),
        "masked": (weight_masks, "dense"),
        "csr": (weight_masks, "csr"),
        "neurons removed": (row_masks, "shrunk"),
    }


def pruning_costs(
    model: nn.Sequential, sparsity: float, cache_bytes: int = 0, batch_size: int = 1
) -> dict[str, dict[str, Any]]:
    """Size, work and energy of each of :func:`pruned_variants` of ``model`` at ``sparsity``.

    Args:
        model: an ``nn.Sequential`` MLP.
        sparsity: as in :func:`pruned_variants`.
        cache_bytes, batch_size: as in :func:`course_lib.measure.energy.energy_per_inference`.

    Returns:
        Variant name -> ``memory_bytes`` and ``disk_bytes`` (bytes,
        :func:`~course_lib.measure.size.model_bytes`, :func:`~course_lib.measure.size.disk_bytes`),
        ``sparsity`` (the fraction of the weights removed, :func:`removed_fraction`),
        ``params`` stored as numbers (weights + biases; CSR indices not included),
        ``macs`` per sample as the format computes them (dense multiplies zeros
        too), and ``energy`` (an :class:`~course_lib.measure.energy.EnergyBreakdown`, pJ).

    Raises:
        As :func:`pruned_variants` and ``energy_per_inference``.

    >>> from course_lib.training.models import lenet_300_100
    >>> c = pruning_costs(lenet_300_100(), 0.9)
    >>> c["masked"]["memory_bytes"] == c["dense"]["memory_bytes"] > c["csr"]["memory_bytes"]
    True
    """
    out = {}
    for name, (variant_masks, variant_fmt) in pruned_variants(model, sparsity).items():
        masks: dict[str, torch.Tensor] | None = variant_masks
        fmt = variant_fmt
        if fmt == "shrunk":  # measure the smaller dense model itself (shrink once)
            counted, masks, fmt = shrink_mlp(model, variant_masks), None, "dense"
            n_params = param_count(counted)
        else:
            counted = model
            n_params = param_count(model) if fmt == "dense" else nonzero_count(model, masks)
        out[name] = {
            "sparsity": removed_fraction(model, variant_masks, variant_fmt),
            "memory_bytes": model_bytes(counted, masks, fmt),
            "disk_bytes": disk_bytes(counted, masks, fmt),
            "params": n_params,
            "macs": macs(counted, masks, skip_zeros=fmt != "dense"),
            "energy": energy_per_inference(counted, masks, fmt, cache_bytes=cache_bytes, batch_size=batch_size),
        }
    return out


def pruned_models(model: nn.Sequential, sparsity: float) -> dict[str, nn.Module]:
    """The four :func:`pruned_variants` of ``model`` as models to run (new ones; ``model`` is not changed).

    ``"dense"``: ``model`` (plain, :func:`course_lib.pruning.reparam.plain`); ``"masked"``: a copy
    with the masks applied; ``"csr"``: :func:`course_lib.measure.csr_mlp`; ``"neurons removed"``:
    :func:`course_lib.shrink_mlp`. Masked and CSR compute the same function.

    Args, Raises: as :func:`pruned_variants`.

    Returns:
        Variant name -> ``nn.Module`` taking ``(batch, ...)`` inputs, returning logits.

    >>> models = pruned_models(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)), 0.5)
    >>> [type(m).__name__ for m in models.values()]
    ['Sequential', 'Sequential', 'CSRMLP', 'Sequential']
    """
    variants = pruned_variants(model, sparsity)
    zeroed = plain_copy(model)
    apply_masks(zeroed, variants["masked"][0])
    return {
        "dense": plain(model),
        "masked": zeroed,
        "csr": csr_mlp(model, variants["csr"][0]),
        "neurons removed": shrink_mlp(model, variants["neurons removed"][0]),
    }


def variant_accuracy(model: nn.Sequential, split: Split, sparsities: Sequence[float]) -> dict[str, list[float]]:
    """Test accuracy (percent) of each of :func:`pruned_models` at each sparsity, without fine-tuning.

    Args:
        model: a trained ``nn.Sequential`` MLP; not changed.
        split: the examples to score (``.x``, ``.y``), e.g. ``data.test``.
        sparsities: fractions of the weights pruned, each in [0, 1].

    Returns:
        Variant name -> one accuracy per sparsity (dense repeated).

    Raises:
        TypeError, ValueError: as :func:`pruned_variants`.

    >>> from course_lib.training.models import mlp
    >>> split = Split(torch.randn(20, 6), torch.randint(0, 3, (20,)))
    >>> acc = variant_accuracy(mlp([6, 8, 3]), split, [0.0, 0.5])
    >>> acc["masked"][0] == acc["dense"][0] == acc["neurons removed"][0], len(acc["csr"])
    (True, 2)
    """
    out: dict[str, list[float]] = {}
    with torch.no_grad():
        for s in sparsities:
            for name, m in pruned_models(model, s).items():
                out.setdefault(name, []).append(evaluate(m, split)[1])
    return out
