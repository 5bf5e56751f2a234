"""How big is a model? Bytes in memory and on disk, stored dense, sparse (CSR) or shrunk.

Three ways to store a pruned model:

* ``"dense"``: every weight, the pruned ones as zeros. Masking alone saves nothing.
* ``"csr"``: each 2-D weight in Compressed Sparse Row form with int32 indices:
  ``values`` (nnz floats) + ``col_indices`` (nnz ints) + ``crow_indices``
  (rows + 1 ints). Biases (1-D) stay dense. Smaller than dense only when
  sparse enough: with 4-byte values and 4-byte indices, below 50% density.
* ``"shrunk"``: neurons whose weight row is fully pruned are removed
  (:func:`course_lib.shrink_mlp`), leaving a smaller dense model.

Sizes in memory count parameter bytes only (no Python objects, no buffers). A model
pruned by ``torch.nn.utils.prune`` or reparametrized by ``torch.nn.utils.parametrize`` is
measured as it computes: ``fc1.weight = weight_orig * weight_mask`` (or the computed value),
not ``weight_orig`` and its mask (:func:`course_lib.pruning.reparam.effective_parameters`).
Sizes on disk are the length of ``torch.save(state_dict)``, which adds a
small zip/pickle overhead per tensor. Every size is in **bytes** (divide by
1024**2 for MiB, by 10**6 for MB). This is the "storage" motivation of Han et al.
2015 ("Learning both weights and connections", which stores pruned weights in CSR);
the MACs are in :mod:`course_lib.measure.work`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping

import torch
from torch import nn

from course_lib._checks import check_int
from course_lib.pruning.masks import check_mask
from course_lib.pruning.reparam import effective_parameters
from course_lib.pruning.structured import shrink_mlp

__all__ = [
    "FORMATS",
    "param_count",
    "nonzero_count",
    "csr_bytes",
    "to_csr",
    "csr_tensor_bytes",
    "masked_state",
    "model_bytes",
    "disk_bytes",
    "check_fmt",
    "shrunk",
]

#: The storage formats :func:`model_bytes`, :func:`disk_bytes` and
#: :func:`course_lib.measure.energy.energy_per_inference` accept.
FORMATS = ("dense", "csr", "shrunk")


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def check_fmt(fmt: object) -> str:
    """``fmt`` itself if it is one of :data:`FORMATS`; raises ``ValueError`` otherwise.

    Args:
        fmt: the storage format to check.

    Returns:
        ``fmt`` (a ``str``): ``"dense"``, ``"csr"`` or ``"shrunk"``.

    Raises:
        ValueError: anything else (a non-string too).

    >>> check_fmt("coo")
    Traceback (most recent call last):
    ...
    ValueError: fmt must be one of ('dense', 'csr', 'shrunk'), got 'coo'
    """
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    return fmt


def shrunk(model: nn.Module, masks: Mapping[str, torch.Tensor] | None) -> nn.Sequential:
    """The smaller dense MLP ``"shrunk"`` stores: :func:`course_lib.shrink_mlp` of ``model`` with ``masks``.

    Args:
        model: an ``nn.Sequential`` MLP (Flatten / Linear / ReLU layers); not changed.
        masks: parameter name -> bool keep-mask of the parameter's shape, or ``None``
            (nothing pruned: a dense copy).

    Returns:
        A new ``nn.Sequential`` without the hidden neurons whose weight row is fully pruned.

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential`` MLP, or a mask is not bool.
        ValueError: the layers are not Linear-ReLU-Linear, or a mask has an unknown name
            or the wrong shape (as :func:`course_lib.pruning.structured.shrink_mlp`).
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f'fmt="shrunk" removes neurons of an nn.Sequential MLP, got model {type(model).__name__}')
    return shrink_mlp(model, dict(masks or {}))


def param_count(model: nn.Module) -> int:
    """Number of parameters of ``model`` (weights and biases), pruned or not.

    A weight reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` counts as the one
    tensor the model computes with (not ``weight_orig`` plus a mask, nor a parametrization's
    own tensors).

    Args:
        model: any ``nn.Module``.

    Returns:
        The total ``numel`` of its parameters, an ``int``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.

    >>> param_count(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in effective_parameters(_check_model(model)).values())


def masked_state(model: nn.Module, masks: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The model's parameters by name, with ``masks`` applied (new tensors; ``model`` is unchanged).

    The parameters are those the model computes with
    (:func:`course_lib.pruning.reparam.effective_parameters`): a weight reparametrized by
    ``torch.nn.utils.prune`` is ``"fc1.weight"`` holding ``weight_orig * weight_mask``, one by
    ``torch.nn.utils.parametrize`` its computed value.

    Args:
        model: any ``nn.Module``.
        masks: parameter name -> bool keep-mask of the parameter's shape, or ``None``.

    Returns:
        Parameter name -> detached tensor (same shape and dtype), zero where the mask is ``False``.

    Raises:
        TypeError: ``model`` is not a module, ``masks`` not a dict, a mask not bool.
        ValueError: an unknown parameter name or a mask of the wrong shape.

    >>> net = nn.Linear(2, 1)
    >>> masked_state(net, {"weight": torch.tensor([[True, False]])})["weight"][0, 1].item()
    0.0
    """
    params = effective_parameters(_check_model(model))
    masks = {} if masks is None else masks
    if not isinstance(masks, Mapping):
        raise TypeError(f"masks must be a dict {{parameter name: bool tensor}} or None, got {type(masks).__name__}")
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ValueError(f"masks has unknown parameter name(s) {unknown}; the model has {sorted(params)}")
    for name, m in masks.items():
        check_mask(m, params[name].shape, name=f"masks[{name!r}]")
    return {
        name: p.detach().masked_fill(~masks[name], 0.0) if name in masks else p.detach().clone()
        for name, p in params.items()
    }


def nonzero_count(model: nn.Module, masks: Mapping[str, torch.Tensor] | None = None) -> int:
    """Number of non-zero parameters, after applying ``masks`` (if given) to a copy.

    Zeros count as pruned whether a mask or training put them there.

    Args:
        model: any ``nn.Module``; not changed.
        masks: parameter name -> bool keep-mask of the parameter's shape, or ``None``.

    Returns:
        The number of non-zero entries over all parameters (biases included), an ``int``.

    Raises:
        TypeError, ValueError: as :func:`masked_state`.

    >>> net = nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[1., 0.], [2., 3.]]))
    ...     _ = net.bias.fill_(1.)
    >>> nonzero_count(net), nonzero_count(net, {"weight": torch.tensor([[True, True], [False, True]])})
    (5, 4)
    """
    return sum(int(torch.count_nonzero(w)) for w in masked_state(model, masks).values())


def csr_bytes(rows: int, nnz: int, value_bytes: int = 4, index_bytes: int = 4) -> int:
    """Bytes of a CSR matrix with ``rows`` rows and ``nnz`` stored entries.

    ``nnz * value_bytes`` (values) + ``nnz * index_bytes`` (col_indices)
    + ``(rows + 1) * index_bytes`` (crow_indices). Defaults: float32 values,
    int32 indices. (torch's ``to_sparse_csr`` makes int64 indices, which makes
    CSR larger than dense below about 2/3 sparsity; :func:`to_csr` uses int32.)

    Args:
        rows: number of rows (int >= 0).
        nnz: number of stored entries (int >= 0).
        value_bytes: bytes per value (int >= 1; 4 for float32).
        index_bytes: bytes per index (int >= 1; 4 for int32).

    Returns:
        The size in bytes, an ``int``.

    Raises:
        ValueError: an argument that is not an int in range.

    >>> csr_bytes(rows=300, nnz=1000)
    9204
    """
    rows = check_int(rows, "rows")
    nnz = check_int(nnz, "nnz")
    value_bytes = check_int(value_bytes, "value_bytes", 1)
    index_bytes = check_int(index_bytes, "index_bytes", 1)
    return nnz * (value_bytes + index_bytes) + (rows + 1) * index_bytes


def to_csr(weight: torch.Tensor) -> torch.Tensor:
    """A 2-D tensor as a torch sparse CSR tensor with int32 indices (zeros are not stored).

    The values keep ``weight``'s dtype; the result is detached.

    Args:
        weight: a dense (strided) 2-D tensor ``(rows, cols)``, any dtype.

    Returns:
        A ``torch.sparse_csr`` tensor of ``weight``'s shape, dtype and device, with int32
        ``crow_indices`` (rows + 1) and ``col_indices`` (nnz).

    Raises:
        TypeError: ``weight`` is not a dense 2-D tensor.

    >>> c = to_csr(torch.tensor([[0., 2.], [3., 0.]]))
    >>> c.values(), c.col_indices(), c.crow_indices()
    (tensor([2., 3.]), tensor([1, 0], dtype=torch.int32), tensor([0, 1, 2], dtype=torch.int32))
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.layout != torch.strided:
        raise TypeError("weight must be a dense 2-D torch.Tensor")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        c = weight.detach().to_sparse_csr()
        return torch.sparse_csr_tensor(
            c.crow_indices().to(torch.int32),
            c.col_indices().to(torch.int32),
            c.values(),
            size=c.shape,
            check_invariants=False,
        )


def csr_tensor_bytes(tensor: torch.Tensor) -> int:
    """Bytes a torch sparse CSR tensor really holds: values + col_indices + crow_indices.

    Args:
        tensor: a ``torch.sparse_csr`` tensor (e.g. from :func:`to_csr`).

    Returns:
        ``numel * element_size`` summed over its three tensors, an ``int`` (bytes).

    Raises:
        TypeError: ``tensor`` is not a sparse CSR tensor.

    >>> csr_tensor_bytes(to_csr(torch.eye(3))) == csr_bytes(rows=3, nnz=3)
    True
    """
    if not isinstance(tensor, torch.Tensor) or tensor.layout != torch.sparse_csr:
        raise TypeError("tensor must be a torch sparse CSR tensor (see to_csr)")
    parts = (tensor.values(), tensor.col_indices(), tensor.crow_indices())
    return sum(t.numel() * t.element_size() for t in parts)


def _state(model: nn.Module, masks: Mapping[str, torch.Tensor] | None, fmt: str) -> dict[str, torch.Tensor]:
    """The tensors ``fmt`` stores: dense, CSR for 2-D weights, or a shrunk model's."""
    if fmt == "shrunk":
        return {n: p.detach() for n, p in shrunk(model, masks).named_parameters()}
    state = masked_state(model, masks)
    if fmt == "csr":
        state = {n: to_csr(w) if w.dim() == 2 else w for n, w in state.items()}
    return state


def model_bytes(model: nn.Module, masks: Mapping[str, torch.Tensor] | None = None, fmt: str = "dense") -> int:
    """Bytes of ``model``'s parameters in memory, stored as ``fmt`` (``"dense"``, ``"csr"``, ``"shrunk"``).

    ``masks`` are applied to a copy first. ``"csr"`` stores every 2-D weight in
    CSR with int32 indices (zeros, pruned or not, are not stored) and biases
    dense; ``"shrunk"`` removes fully pruned neurons of an MLP
    (:func:`course_lib.shrink_mlp`) and stores the smaller model dense.

    Args:
        model: any ``nn.Module`` (an ``nn.Sequential`` MLP for ``"shrunk"``).
        masks: parameter name -> bool keep-mask, or ``None``.
        fmt: one of :data:`FORMATS`.

    Returns:
        Bytes of the stored parameters (``numel * element_size``; 4 per float32).

    Raises:
        ValueError: an unknown ``fmt``, or masks that do not fit the model.
        TypeError: ``model`` is not a module (or not an MLP for ``"shrunk"``), a mask is not bool.

    >>> net = nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 1))  # 13 float32 parameters
    >>> m = {"0.weight": torch.tensor([[True] * 4, [False] * 4])}        # prune neuron 1 of 2
    >>> model_bytes(net), model_bytes(net, m, "csr"), model_bytes(net, m, "shrunk")
    (52, 80, 28)
    """
    _check_model(model)
    check_fmt(fmt)
    total = 0
    for t in _state(model, masks, fmt).values():
        total += csr_tensor_bytes(t) if t.layout == torch.sparse_csr else t.numel() * t.element_size()
    return total


def disk_bytes(model: nn.Module, masks: Mapping[str, torch.Tensor] | None = None, fmt: str = "dense") -> int:
    """Length in bytes of ``torch.save`` of the parameters stored as ``fmt`` (into memory, no file).

    Same arguments, formats and errors as :func:`model_bytes`; the file adds a few
    hundred bytes of zip/pickle headers per tensor on top of the raw data.

    Args:
        model: any ``nn.Module`` (an ``nn.Sequential`` MLP for ``"shrunk"``); not changed.
        masks: parameter name -> bool keep-mask, or ``None``.
        fmt: one of :data:`FORMATS`.

    Returns:
        The length of the saved ``{name: tensor}`` dict, an ``int`` (bytes).

    Raises:
        ValueError: an unknown ``fmt``, or masks that do not fit the model.
        TypeError: ``model`` is not a module (or not an MLP for ``"shrunk"``), a mask is not bool.

    >>> net = nn.Linear(300, 100)
    >>> 0 < disk_bytes(net) - model_bytes(net) < 2000
    True
    """
    _check_model(model)
    check_fmt(fmt)
    buf = io.BytesIO()
    torch.save(_state(model, masks, fmt), buf)
    return buf.getbuffer().nbytes
