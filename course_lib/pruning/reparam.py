"""Weights under torch's reparametrizations: the tensors a model really computes with.

Two torch utilities replace a parameter by a tensor computed from others:

* ``torch.nn.utils.prune`` (``prune.l1_unstructured(module, "weight", 0.5)``, ...) moves the
  parameter ``weight`` to ``weight_orig``, adds the buffer ``weight_mask`` and a forward
  pre-hook that sets the plain attribute ``module.weight = weight_orig * weight_mask`` before
  every forward pass;
* ``torch.nn.utils.parametrize`` (``register_parametrization``) moves it to
  ``module.parametrizations.weight.original`` and computes ``module.weight`` on every access.

``model.named_parameters()`` then lists ``fc1.weight_orig`` (its pruned entries still
non-zero) or ``fc1.parametrizations.weight.original``, not what the model computes with. So
every function of the course that reads a model's weights reads them here:

* :func:`effective_parameters`: ``{name: tensor}`` named as after ``prune.remove`` (``fc1.weight``),
  each the value the next forward pass uses;
* :func:`plain_copy` / :func:`plain`: a copy in which every reparametrization is made
  permanent (``prune.remove``, ``parametrize.remove_parametrizations``), for functions that run,
  copy or rebuild the model;
* :func:`reparametrized` and :func:`check_plain`: which tensors are computed, and a clear
  ``ValueError`` for functions that would have to write them.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from typing import TypeVar

import torch
from torch import nn
from torch.nn.utils import parametrize, prune

__all__ = ["PRUNE", "PARAMETRIZE", "reparametrized", "effective_parameters", "plain_copy", "plain", "check_plain"]

M = TypeVar("M", bound=nn.Module)

#: How :func:`reparametrized` names the two kinds.
PRUNE = "torch.nn.utils.prune"
PARAMETRIZE = "torch.nn.utils.parametrize"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _prune_hooks(module: nn.Module) -> dict[str, prune.BasePruningMethod]:
    """{tensor name: torch's pruning hook (a method or a container of several)} of ``module``."""
    return {h._tensor_name: h for h in module._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)}


def _parametrizations(module: nn.Module) -> dict[str, nn.Module]:
    """{tensor name: torch's ParametrizationList} of ``module``'s tensors computed by
    ``torch.nn.utils.parametrize`` (buffers too); empty for a module without."""
    if not parametrize.is_parametrized(module):
        return {}
    plists = module.get_submodule("parametrizations")
    assert isinstance(plists, nn.ModuleDict)  # how torch.nn.utils.parametrize keeps them
    return dict(plists.items())


def reparametrized(model: nn.Module) -> dict[str, str]:
    """Which tensors of ``model`` are computed by a reparametrization, and by which kind.

    Args:
        model: any ``nn.Module``.

    Returns:
        ``{name: kind}``, the name as after the reparametrization is removed (``"fc1.weight"``),
        ``kind`` :data:`PRUNE` or :data:`PARAMETRIZE`; empty for a plain model.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.

    >>> net = nn.Sequential(nn.Linear(4, 2))
    >>> _ = prune.random_unstructured(net[0], "weight", 0.5)
    >>> reparametrized(net)
    {'0.weight': 'torch.nn.utils.prune'}
    """
    out = {}
    for prefix, module in _check_model(model).named_modules():
        out.update({_join(prefix, n): PRUNE for n in _prune_hooks(module)})
        out.update({_join(prefix, n): PARAMETRIZE for n in _parametrizations(module)})
    return out


def effective_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter of ``model`` as the model computes with it, named as on a plain model.

    A plain parameter is returned itself (not a copy). A weight pruned by
    ``torch.nn.utils.prune`` is returned as ``weight_orig * weight_mask`` (the pruning hook's
    own ``apply_mask``: what the next forward pass uses, even after ``weight_orig`` changed in
    place) under the name ``"<layer>.weight"``; a weight computed by ``torch.nn.utils.parametrize``
    as ``module.weight`` (computed on access), also under ``"<layer>.weight"``. Those are new
    tensors: writing into them changes nothing (see :func:`check_plain`). The parametrizations'
    own tensors (``original``, a parametrization's parameters) are not listed: the computed
    weight stands for them. The names and their order are those of
    ``plain_copy(model).named_parameters()``; a parametrized buffer stays out.

    Args:
        model: any ``nn.Module``.

    Returns:
        ``{parameter name: tensor}``; for a model without reparametrization, exactly
        ``dict(model.named_parameters())``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.

    >>> net = nn.Sequential(nn.Linear(4, 2))
    >>> _ = prune.l1_unstructured(net[0], "weight", 0.5)
    >>> [n for n, _ in net.named_parameters()], list(effective_parameters(net))
    (['0.bias', '0.weight_orig'], ['0.bias', '0.weight'])
    >>> int((effective_parameters(net)["0.weight"] == 0).sum())
    4
    """
    if not reparametrized(model):
        return dict(model.named_parameters())
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    skip: list[str] = []  # the `parametrizations` containers: their tensors are listed as computed
    for prefix, module in model.named_modules():
        if any(prefix == s or prefix.startswith(s + ".") for s in skip):
            continue
        hooks = _prune_hooks(module)
        for name, p in module.named_parameters(recurse=False):
            if name.endswith("_orig") and name[: -len("_orig")] in hooks:
                out[_join(prefix, name[: -len("_orig")])] = hooks[name[: -len("_orig")]].apply_mask(module)
            elif id(p) not in seen:  # a tied parameter once, as named_parameters does
                seen.add(id(p))
                out[_join(prefix, name)] = p
        if parametrize.is_parametrized(module):
            skip.append(_join(prefix, "parametrizations"))
            for name, plist in _parametrizations(module).items():
                if any(isinstance(p, nn.Parameter) for p in plist.parameters(recurse=False)):  # not a buffer's
                    out[_join(prefix, name)] = getattr(module, name)
    return out


def plain_copy(model: M) -> M:
    """A deep copy of ``model`` with every reparametrization made permanent (a new model).

    Each tensor :func:`reparametrized` lists becomes a plain parameter (or buffer) holding what
    the model computes with: ``torch.nn.utils.prune.remove`` (``weight = weight_orig *
    weight_mask``), or the value ``torch.nn.utils.parametrize.remove_parametrizations(...,
    leave_parametrized=True)`` leaves. ``requires_grad``, train/eval mode, devices and dtypes
    are kept; ``model`` is not changed. For a plain model this is ``copy.deepcopy(model)``
    (which refuses a pruned one: torch's ``module.weight`` is then not a graph leaf).

    Args:
        model: any ``nn.Module`` that ``copy.deepcopy`` can copy.

    Returns:
        The plain copy, of ``model``'s class (a parametrized layer gets its plain class back:
        ``nn.Linear`` for torch's ``ParametrizedLinear``); its ``named_parameters()`` are
        :func:`effective_parameters` ``(model)`` by name, order and value.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.

    >>> net = nn.Sequential(nn.Linear(4, 2))
    >>> _ = prune.l1_unstructured(net[0], "weight", 0.5)
    >>> [n for n, _ in plain_copy(net).named_parameters()]
    ['0.bias', '0.weight']
    """
    # torch.nn.utils.prune's ``module.weight`` is a non-leaf tensor, which deepcopy refuses: copy
    # it detached (prune.remove below replaces it by weight_orig * weight_mask anyway)
    memo: dict[int, object] = {}
    for _, module in _check_model(model).named_modules():
        for name in _prune_hooks(module):
            computed = module.__dict__.get(name)
            if isinstance(computed, torch.Tensor):
                memo[id(computed)] = computed.detach()
    net = copy.deepcopy(model, memo)
    for module in list(net.modules()):
        for name in _prune_hooks(module):
            prune.remove(module, name)
        if parametrize.is_parametrized(module):
            _unparametrize(module)
    return net


def _unparametrize(module: nn.Module) -> None:
    """Make ``module``'s parametrized tensors plain, in place, keeping their computed values.

    ``parametrize.remove_parametrizations`` deletes the property from the module's class, which a
    deep copy shares with the original, so it would break the original too; this sets the
    copy's class back to the plain one instead.
    """
    plists = _parametrizations(module)
    values = {name: getattr(module, name).detach().clone() for name in plists}
    module.__class__ = type(module).__bases__[0]  # ParametrizedLinear -> Linear, class not touched
    del module._modules["parametrizations"]
    for name, value in values.items():
        originals = list(plists[name].parameters(recurse=False))
        if originals:
            module.register_parameter(name, nn.Parameter(value, requires_grad=originals[0].requires_grad))
        else:
            module.register_buffer(name, value)


def plain(model: M) -> M:
    """``model`` itself if nothing of it is reparametrized, else :func:`plain_copy` ``(model)``.

    For functions that only read a model (run it, walk its layers): they see plain parameters
    holding what the model computes with, and copy nothing for a plain model.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.

    >>> net = nn.Linear(2, 1)
    >>> plain(net) is net
    True
    """
    return plain_copy(model) if reparametrized(model) else model


def check_plain(model: nn.Module, action: str, names: Iterable[str] | None = None, allow: Collection[str] = ()) -> None:
    """Raise a ``ValueError`` if ``action`` would have to write a reparametrized tensor of ``model``.

    A write into a computed weight is lost (torch recomputes it at the next forward pass or
    access), so functions that train or write weights in place call this before anything changes.

    Args:
        model: the ``nn.Module`` about to be written.
        action: what is refused, for the message (e.g. ``"train_many"``).
        names: the tensors the action writes (``"fc1.weight"``, ...); ``None``: all of them.
        allow: the kinds (:data:`PRUNE`, :data:`PARAMETRIZE`) the action handles itself.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: a named tensor is reparametrized by a kind not in ``allow``; the message
            names each, its kind, and how to make it plain.

    >>> net = nn.Sequential(nn.Linear(4, 2))
    >>> _ = prune.random_unstructured(net[0], "weight", 0.5)
    >>> check_plain(net, "train_many")
    Traceback (most recent call last):
    ...
    ValueError: train_many needs plain parameters, but '0.weight' is computed by torch.nn.utils.prune; \
make it plain first: torch.nn.utils.prune.remove(model.get_submodule('0'), 'weight') (or pass \
course_lib.pruning.reparam.plain_copy(model))
    """
    found = reparametrized(model)
    wanted = found if names is None else [n for n in names if n in found]
    bad = [n for n in wanted if found[n] not in allow]
    if not bad:
        return
    fixes = []
    for name in bad:
        owner, _, tensor = name.rpartition(".")
        remover = "torch.nn.utils.prune.remove" if found[name] == PRUNE else PARAMETRIZE + ".remove_parametrizations"
        fixes.append(f"{remover}(model.get_submodule({owner!r}), {tensor!r})")
    what = ", ".join(f"{n!r} is computed by {found[n]}" for n in bad)
    raise ValueError(
        f"{action} needs plain parameters, but {what}; make it plain first: {'; '.join(fixes)} "
        "(or pass course_lib.pruning.reparam.plain_copy(model))"
    )
