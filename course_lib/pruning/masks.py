"""Masks: their conventions, validating them, sparsity and density, and applying them.

Conventions (kept by every module of the course, see CONTRIBUTING.md):

* a *mask* is a ``torch.bool`` tensor with the weight's shape; ``True`` means keep;
* the masks of a model are a ``dict`` keyed by parameter name (``"fc1.weight"``);
* ``sparsity`` is the fraction of entries pruned (zeros), ``density = 1 - sparsity``;
  a sparsity prunes exactly ``round(sparsity * numel)`` entries (:func:`n_to_prune`);
* ties are broken by position, so the same input always gives the same mask
  (:func:`smallest_k_mask`);
* computing a mask is a pure function (:mod:`course_lib.pruning.magnitude`,
  :mod:`~course_lib.pruning.structured`, :mod:`~course_lib.pruning.nm`); applying it
  (:func:`apply_masks`, in place, returns ``None``) is a separate function.

This is how ``torch.nn.utils.prune`` splits the work too (``compute_mask`` apart from
``apply``), and its ``custom_from_mask`` accepts these masks.

A model pruned by ``torch.nn.utils.prune`` or reparametrized by ``torch.nn.utils.parametrize``
is read as it computes: its weights are named ``"fc1.weight"`` (not ``fc1.weight_orig``) and
hold ``weight_orig * weight_mask`` or the parametrization's value
(:mod:`course_lib.pruning.reparam`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from course_lib.pruning.reparam import PRUNE, check_plain, effective_parameters, reparametrized

__all__ = [
    "check_weight",
    "check_weights",
    "check_mask",
    "check_masks",
    "n_to_prune",
    "smallest_k_mask",
    "sparsity",
    "density",
    "masks_sparsity",
    "model_sparsity",
    "prunable_weights",
    "apply_masks",
    "masked",
]


# --------------------------------------------------------------------------- checks


def check_weight(weight: object, name: str = "weight", min_dim: int = 1) -> torch.Tensor:
    """Return ``weight`` unchanged if it is a weight a mask function can rank.

    Args:
        weight: the tensor to check: floating point, finite, non-empty, any shape with at
            least ``min_dim`` dimensions.
        name: the argument's name, used in the messages.
        min_dim: the fewest dimensions accepted (2 for a function of rows).

    Returns:
        ``weight`` itself.

    Raises:
        TypeError: ``weight`` is not a ``torch.Tensor``, or not of a floating-point dtype.
        ValueError: it has fewer than ``min_dim`` dimensions, no entries, or a NaN or inf.

    >>> check_weight(torch.tensor([1, 2]))
    Traceback (most recent call last):
    ...
    TypeError: weight must be a floating-point tensor, got dtype torch.int64
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(weight).__name__}")
    if not weight.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {weight.dtype}")
    if weight.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimension(s), got shape {tuple(weight.shape)}")
    if weight.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(weight.shape)}")
    if not torch.isfinite(weight).all():
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return weight


def check_weights(weights: object, name: str = "weights") -> dict[str, torch.Tensor]:
    """``weights`` as a dict, or raise: a non-empty mapping {name: tensor} each passing :func:`check_weight`.

    Raises:
        TypeError: not a mapping, or a tensor of the wrong dtype.
        ValueError: empty, or a tensor that is empty or not finite.
    """
    if not isinstance(weights, Mapping):
        raise TypeError(f"{name} must be a dict {{name: floating-point tensor}}, got {type(weights).__name__}")
    if not weights:
        raise ValueError(f"{name} must be a non-empty dict {{name: floating-point tensor}}, got an empty one")
    for key, w in weights.items():
        check_weight(w, name=f"{name}[{key!r}]")
    return dict(weights)


def check_mask(mask: object, shape: Iterable[int], name: str = "mask") -> torch.Tensor:
    """Return ``mask`` unchanged if it is a bool tensor of the given ``shape``.

    Args:
        mask: the mask to check (``True`` = keep).
        shape: the shape it must have, e.g. ``weight.shape``.
        name: the argument's name, used in the messages.

    Returns:
        ``mask`` itself.

    Raises:
        TypeError: ``mask`` is not a tensor, or its dtype is not ``torch.bool``.
        ValueError: its shape differs from ``shape``.

    >>> check_mask(torch.ones(2, 3), (2, 3), name="prior")
    Traceback (most recent call last):
    ...
    TypeError: prior must have dtype torch.bool (True = keep), got torch.float32
    """
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of dtype torch.bool, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must have dtype torch.bool (True = keep), got {mask.dtype}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(mask.shape)}")
    return mask


def n_to_prune(sparsity: float, numel: int) -> int:
    """How many of ``numel`` entries a ``sparsity`` prunes: ``round(sparsity * numel)``.

    Python's ``round`` (half to even) is the rule ``torch.nn.utils.prune`` uses too.

    Args:
        sparsity: a float in [0, 1] (already validated by the caller).
        numel: the number of entries (or rows) to choose from.

    Returns:
        The number of entries to prune, an int in ``[0, numel]``.

    Nothing is checked, so nothing is raised for numbers: a sparsity outside [0, 1]
    gives a count outside ``[0, numel]`` (callers validate with
    :func:`course_lib._checks.check_sparsity` first).

    >>> n_to_prune(0.5, 5), n_to_prune(0.5, 7), n_to_prune(0.3, 10)
    (2, 4, 3)
    """
    return int(round(sparsity * numel))


def smallest_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Keep-mask that prunes the ``k`` smallest ``scores``.

    Ties are broken by position (the earlier entry in row-major order is pruned first),
    so the same input always gives the same mask.

    Args:
        scores: a real tensor of any shape (|w|, row norms, ...); larger = more important.
        k: how many entries to prune, ``0 <= k <= scores.numel()``.

    Returns:
        A bool tensor of ``scores``' shape and device, ``False`` at the ``k`` pruned entries.

    Raises:
        TypeError: ``k`` is not an int (a slice index).

    ``k`` is not range-checked (callers pass :func:`n_to_prune`'s count): ``k > numel``
    prunes everything, and a negative ``k`` prunes all but the ``|k|`` largest.

    >>> smallest_k_mask(torch.tensor([3., 1., 1., 2.]), 2)
    tensor([ True, False, False,  True])
    """
    flat = scores.reshape(-1)
    n = flat.numel()
    keep = torch.ones(n, dtype=torch.bool, device=scores.device)
    k = max(n + k, 0) if k < 0 else min(k, n)  # slice semantics of order[:k], as documented
    if k == 0:
        return keep.reshape(scores.shape)
    # the k-th smallest value; everything below it goes, and of the entries equal to it the
    # earliest ones (a stable sort's order) without sorting all n entries
    threshold = torch.kthvalue(flat, k).values
    below, ties = flat < threshold, flat == threshold
    keep[below | (ties & (torch.cumsum(ties, 0) <= k - int(below.sum())))] = False
    return keep.reshape(scores.shape)


# --------------------------------------------------------------------------- measures
def sparsity(tensor: torch.Tensor) -> float:
    """Fraction of zero entries of a tensor (a weight or a mask: ``False`` counts as zero).

    Args:
        tensor: any non-empty tensor.

    Returns:
        A float in [0, 1].

    Raises:
        TypeError: ``tensor`` is not a ``torch.Tensor``.
        ValueError: it has no entries.

    >>> sparsity(torch.tensor([0., 1., 0., 2.]))
    0.5
    >>> sparsity(torch.tensor([True, False, True, True]))
    0.25
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.numel() == 0:
        raise ValueError("tensor must not be empty (the sparsity of no entries is undefined)")
    return float((tensor == 0).sum().item()) / tensor.numel()


def density(tensor: torch.Tensor) -> float:
    """``1 - sparsity(tensor)``: the fraction of entries kept (non-zero, or ``True``).

    Args:
        tensor: any non-empty tensor.

    Returns:
        A float in [0, 1].

    Raises:
        TypeError, ValueError: as :func:`sparsity`.

    >>> density(torch.tensor([0., 1., 0., 2.]))
    0.5
    """
    return 1.0 - sparsity(tensor)


def masks_sparsity(masks: Mapping[str, torch.Tensor]) -> float:
    """Fraction of entries pruned (``False``) over all masks together.

    To count the zeros of weights use :func:`sparsity` or :func:`model_sparsity`.

    Args:
        masks: a non-empty dict {parameter name: bool mask}, masks of any shapes.

    Returns:
        ``pruned entries / all entries``, a float in [0, 1]; a large layer counts more.

    Raises:
        TypeError: ``masks`` is not a dict, or a value is not a bool tensor.
        ValueError: ``masks`` is empty, or every mask is.

    >>> masks_sparsity({"a": torch.tensor([True, False]), "b": torch.tensor([False, False])})
    0.75
    """
    if not isinstance(masks, Mapping):
        raise TypeError(f"masks must be a dict {{parameter name: bool tensor}}, got {type(masks).__name__}")
    if not masks:
        raise ValueError("masks must be a non-empty dict {parameter name: bool tensor}, got an empty one")
    for name, m in masks.items():
        if not isinstance(m, torch.Tensor) or m.dtype != torch.bool:
            what = f"dtype {m.dtype}" if isinstance(m, torch.Tensor) else type(m).__name__
            raise TypeError(f"masks[{name!r}] must be a bool tensor (True = keep), got {what}")
    total = sum(m.numel() for m in masks.values())
    if total == 0:
        raise ValueError("masks must hold at least one entry, but every mask is empty")
    pruned = sum(int((~m).sum().item()) for m in masks.values())
    return pruned / total


def prunable_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights the course prunes, as the model computes with them: every weight with 2 or more dimensions.

    Biases (1-D) are never pruned; Linear and conv weights are. A weight that
    ``torch.nn.utils.prune`` or ``torch.nn.utils.parametrize`` reparametrizes is listed under
    its plain name (``"fc1.weight"``, never ``fc1.weight_orig`` or
    ``fc1.parametrizations.weight.original``) with the value the model computes with
    (``weight_orig * weight_mask``, or the parametrization's output): a new tensor, so
    writing into it changes nothing (:func:`course_lib.pruning.reparam.effective_parameters`).

    Args:
        model: any ``nn.Module``.

    Returns:
        {parameter name: tensor}: a plain weight is the parameter itself (not a copy); in the
        order of ``named_parameters`` of the model with its reparametrizations removed.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.

    >>> list(prunable_weights(nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))))
    ['0.weight', '2.weight']
    >>> from torch.nn.utils import prune
    >>> net = nn.Sequential(nn.Linear(4, 2))
    >>> _ = prune.l1_unstructured(net[0], "weight", amount=0.5)
    >>> {n: int((w == 0).sum()) for n, w in prunable_weights(net).items()}
    {'0.weight': 4}
    """
    return {name: p for name, p in effective_parameters(model).items() if p.dim() >= 2}


def model_sparsity(model: nn.Module, names: Iterable[str] | None = None) -> float:
    """Fraction of zeros over a model's prunable weights, or over the parameters ``names``.

    Counts the weights the model computes with: a weight pruned by ``torch.nn.utils.prune``
    counts the zeros of ``weight_orig * weight_mask`` (named ``"fc1.weight"``), one of
    ``torch.nn.utils.parametrize`` those of its computed value (:func:`prunable_weights`).

    Args:
        model: any ``nn.Module``.
        names: parameter names to count, e.g. ``["fc1.weight"]`` (plain names, also for a
            reparametrized weight); ``None`` counts every prunable weight (:func:`prunable_weights`).

    Returns:
        ``zero entries / all entries`` of the chosen parameters, a float in [0, 1].

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``names`` is a string or not iterable.
        ValueError: no prunable weight, an empty or unknown name, or only empty parameters.

    >>> model = nn.Linear(4, 2, bias=False)
    >>> with torch.no_grad():
    ...     model.weight[0] = 0
    >>> model_sparsity(model)
    0.5
    """
    params = effective_parameters(model)  # raises TypeError for a non-module
    if names is None:
        chosen = prunable_weights(model)
        if not chosen:
            raise ValueError("model has no prunable weight (no parameter with 2 or more dimensions)")
    else:
        if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
            raise TypeError(f"names must be a list of parameter names such as ['fc1.weight'], got {names!r}")
        wanted = list(names)
        if not wanted:
            raise ValueError("names must list at least one parameter name, got an empty list")
        unknown = [n for n in wanted if n not in params]
        if unknown:
            raise ValueError(f"names contains unknown parameter(s) {unknown}; known: {sorted(params)}")
        chosen = {n: params[n] for n in wanted}
    total = sum(p.numel() for p in chosen.values())
    if total == 0:
        raise ValueError("the chosen parameters are all empty, so their sparsity is undefined")
    zeros = sum(int((p == 0).sum().item()) for p in chosen.values())
    return zeros / total


# --------------------------------------------------------------------------- applying
def check_masks(model: nn.Module, masks: object) -> dict[str, torch.Tensor]:
    """Validate the masks of a model: one bool mask per named parameter, of its shape.

    Names and shapes are those of :func:`course_lib.pruning.reparam.effective_parameters`: a
    weight reparametrized by ``torch.nn.utils.prune`` or ``parametrize`` is ``"fc1.weight"``.

    Args:
        model: the ``nn.Module`` the masks belong to.
        masks: {parameter name: bool mask}; a subset of the parameters is fine.

    Returns:
        The masks as a plain ``dict`` (the same tensors).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``masks`` is not a dict, or a mask
            is not a bool tensor.
        ValueError: a name the model lacks, or a mask of the wrong shape.

    >>> check_masks(nn.Linear(2, 1), {"weight": torch.tensor([[True, False]])})
    {'weight': tensor([[ True, False]])}
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(masks, Mapping):
        raise TypeError(f"masks must be a dict {{parameter name: bool tensor}}, got {type(masks).__name__}")
    params = effective_parameters(model)
    unknown = [n for n in masks if n not in params]
    if unknown:
        raise ValueError(f"masks has unknown parameter name(s) {unknown}; the model has {sorted(params)}")
    return {n: check_mask(m, params[n].shape, name=f"masks[{n!r}]") for n, m in masks.items()}


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Zero, in place, every weight of ``model`` whose mask entry is ``False``.

    All masks are checked before any weight changes, so a bad mask leaves the model
    untouched. It mutates and returns ``None``; it computes nothing. Biases and
    parameters without a mask are left alone.

    A weight pruned by ``torch.nn.utils.prune`` (``"fc1.weight"``) is pruned the way torch
    prunes it again: the mask is combined into its ``weight_mask`` buffer (``weight_orig`` keeps
    its values, the hook keeps the pruned entries at zero, ``prune.remove`` later keeps them
    pruned). A weight computed by ``torch.nn.utils.parametrize`` cannot be zeroed in place
    (it is recomputed on every access): a mask on one raises ``ValueError``.

    Args:
        model: the ``nn.Module`` to prune.
        masks: {parameter name: bool mask of that parameter's shape}, ``True`` = keep;
            a mask on another device is moved to the parameter's.

    Raises:
        TypeError, ValueError: as :func:`check_masks`.
        ValueError: a mask on a weight computed by ``torch.nn.utils.parametrize``; the
            message says to call ``torch.nn.utils.parametrize.remove_parametrizations`` first.

    >>> model = nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[3., -4.]]))
    >>> apply_masks(model, {"weight": torch.tensor([[True, False]])})
    >>> model.weight.data
    tensor([[3., 0.]])
    """
    checked = check_masks(model, masks)
    check_plain(model, "apply_masks", names=checked, allow=(PRUNE,))
    params = dict(model.named_parameters())
    pruned = reparametrized(model)  # the names left are torch.nn.utils.prune's
    with torch.no_grad():
        for name, mask in checked.items():
            if name in pruned:
                owner, _, tensor = name.rpartition(".")
                buffer = model.get_submodule(owner).get_buffer(f"{tensor}_mask")
                buffer.masked_fill_(~mask.to(buffer.device), 0)
            else:
                params[name].masked_fill_(~mask.to(params[name].device), 0)
    computed = effective_parameters(model) if pruned else {}
    for name in checked.keys() & pruned.keys():  # module.weight as torch's hook sets it (with autograd)
        owner, _, tensor = name.rpartition(".")
        setattr(model.get_submodule(owner), tensor, computed[name])


def masked(weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A new tensor: ``weight`` with the pruned entries set to zero (``weight`` is unchanged).

    Args:
        weight: a tensor of any dtype (zeroing needs no floats) and shape.
        mask: a bool tensor of ``weight``'s shape, ``True`` = keep.

    Returns:
        ``weight * mask`` as a new tensor of ``weight``'s dtype and device.

    Raises:
        TypeError: ``weight`` is not a tensor, or ``mask`` is not a bool tensor.
        ValueError: ``mask`` has another shape.

    >>> masked(torch.tensor([1., -2., 3.]), torch.tensor([True, False, True]))
    tensor([1., 0., 3.])
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    check_mask(mask, weight.shape)
    return weight.masked_fill(~mask.to(weight.device), 0)
