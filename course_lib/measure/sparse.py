"""Running a pruned MLP in a sparse format, so that the zeros are skipped.

* :func:`csr_mlp`: every weight in CSR (int32 indices, :func:`course_lib.measure.size.to_csr`),
  applied as ``torch.addmm(bias, W_csr, h)`` to activations laid out
  features x batch (``F.linear(x, W_csr)`` is several times slower on CPU).
  Run it under ``torch.no_grad()``, not ``torch.inference_mode()``.
* :func:`semi_structured_mlp`: 2:4 weights in NVIDIA's semi-structured format
  (Mishra et al. 2021, "Accelerating sparse deep neural networks"), only on a CUDA
  GPU of compute capability 8.0 or newer (:func:`semi_structured_support` says
  whether this machine has one).

Removing neurons needs no special format: :func:`course_lib.shrink_mlp`
returns a smaller dense model.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from course_lib.measure.size import masked_state, to_csr
from course_lib.pruning.masks import check_mask
from course_lib.pruning.reparam import effective_parameters, plain_copy

__all__ = ["CSR_DTYPES", "CSRMLP", "csr_mlp", "semi_structured_support", "semi_structured_mlp"]

#: The dtypes torch's CPU sparse CSR matmul (``addmm``, MKL) computes in; float16 and bfloat16
#: raise ``NotImplementedError`` there (checked on torch 2.13), so :func:`csr_mlp` refuses them.
CSR_DTYPES = (torch.float32, torch.float64)


class CSRMLP(nn.Module):
    """An MLP whose Linear weights are sparse CSR tensors; built by :func:`csr_mlp`.

    ``forward`` takes ``(batch, ...)`` inputs, flattens them, and keeps the
    activations as features x batch, so each layer is one
    ``torch.addmm(bias, W_csr, h)`` (a sparse matrix times a dense one).

    Args:
        layers: in order, ``("linear", W_csr (out, in), bias column (out, 1) or None)``
            or ``("relu", None, None)``; not checked (:func:`csr_mlp` builds them).

    Raises:
        RuntimeError: (``forward``, from ``torch.addmm``) inputs whose flattened width is
            not the first layer's ``in``, or of another dtype than the weights.
    """

    def __init__(self, layers: list[tuple[str, torch.Tensor | None, torch.Tensor | None]]):
        super().__init__()
        self.layers = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, out)`` of inputs ``x`` ``(batch, ...)``, in the weights' dtype."""
        h = x.flatten(1).t().contiguous()  # features x batch
        for _kind, w, b in self.layers:
            if w is None:  # ("relu", None, None)
                h = torch.relu(h)
            elif b is None:
                h = torch.mm(w, h)
            else:
                h = torch.addmm(b, w, h)
        return h.t()


def csr_mlp(model: nn.Sequential, masks: Mapping[str, torch.Tensor] | None = None) -> CSRMLP:
    """A CSR copy of an MLP (``nn.Sequential`` of Flatten / Linear / ReLU) with ``masks`` applied.

    Zeros (pruned or not) are not stored; indices are int32
    (:func:`course_lib.measure.size.to_csr`). Run it under ``torch.no_grad()``.

    Layers reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` are stored as they
    compute (``weight_orig * weight_mask``, ...; :func:`course_lib.measure.size.masked_state`).

    Args:
        model: the MLP, float32 or float64 (:data:`CSR_DTYPES`); it is not changed.
        masks: parameter name -> bool keep-mask, or ``None``.

    Returns:
        A :class:`CSRMLP` computing what the masked model computes (up to float rounding).

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential`` of Flatten (first), Linear and
            ReLU layers; a mask is not bool.
        ValueError: masks with unknown names or wrong shapes; a Linear layer on the CPU whose
            weight or bias is not float32 or float64 (float16, bfloat16: torch's CPU sparse
            kernels lack them), raised here rather than by the first forward pass.

    >>> csr_mlp(nn.Sequential(nn.Linear(4, 2)).half())
    Traceback (most recent call last):
    ...
    ValueError: csr_mlp: layer '0' has dtype torch.float16, but torch's CPU sparse CSR kernels \
compute only in (torch.float32, torch.float64): convert it first, e.g. csr_mlp(model.float(), masks)

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> x = torch.randn(5, 4)
    >>> with torch.no_grad():
    ...     torch.allclose(csr_mlp(net)(x), net(x), atol=1e-6)
    True
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    state = masked_state(model, masks)
    layers: list[tuple[str, torch.Tensor | None, torch.Tensor | None]] = []
    for name, m in model.named_children():
        if isinstance(m, nn.Linear):
            _check_csr_dtype(name, [state[f"{name}.{k}"] for k in ("weight", "bias") if f"{name}.{k}" in state])
            bias = None if m.bias is None else state[f"{name}.bias"].reshape(-1, 1)
            layers.append(("linear", to_csr(state[f"{name}.weight"]), bias))
        elif isinstance(m, nn.ReLU):
            layers.append(("relu", None, None))
        elif isinstance(m, nn.Flatten) and not any(k == "linear" for k, _, _ in layers):
            continue  # inputs are flattened anyway
        elif not isinstance(m, nn.Identity):
            raise TypeError(
                f"csr_mlp handles Flatten (first), Linear and ReLU layers only, found {type(m).__name__} {name!r}"
            )
    return CSRMLP(layers)


def _check_csr_dtype(layer: str, tensors: list[torch.Tensor]) -> None:
    """Raise ``ValueError`` if a CPU tensor of Linear ``layer`` has a dtype outside :data:`CSR_DTYPES`."""
    for t in tensors:
        if t.device.type == "cpu" and t.dtype not in CSR_DTYPES:
            raise ValueError(
                f"csr_mlp: layer {layer!r} has dtype {t.dtype}, but torch's CPU sparse CSR kernels compute only in "
                f"{CSR_DTYPES}: convert it first, e.g. csr_mlp(model.float(), masks)"
            )


def semi_structured_support() -> tuple[bool, str]:
    """Whether 2:4 semi-structured sparse matmuls can run here, and why (not).

    They need a CUDA GPU of compute capability 8.0 or newer (Ampere, Hopper, ...) and a
    torch with ``torch.sparse.to_sparse_semi_structured``.

    Returns:
        ``(supported, reason)``: a bool and a sentence naming the GPU or what is missing.

    >>> ok, why = semi_structured_support()
    >>> isinstance(ok, bool) and isinstance(why, str)
    True
    """
    if not torch.cuda.is_available():
        return False, "no CUDA GPU here: 2:4 semi-structured sparsity needs an NVIDIA GPU of capability >= 8.0"
    major, minor = torch.cuda.get_device_capability()
    name = torch.cuda.get_device_name()
    if major < 8:
        return False, f"{name} has compute capability {major}.{minor}; 2:4 sparsity needs >= 8.0"
    if not hasattr(torch.sparse, "to_sparse_semi_structured"):
        return False, f"this torch {torch.__version__} has no torch.sparse.to_sparse_semi_structured"
    return True, f"{name}, compute capability {major}.{minor}"


def semi_structured_mlp(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """A float16 CUDA copy of ``model`` whose masked Linear weights use 2:4 semi-structured storage.

    The 2:4 pattern and its sparse tensor cores are Mishra et al. 2021 ("Accelerating
    sparse deep neural networks", arXiv:2104.08378).

    Args:
        model: the model (it is copied, not changed; weights reparametrized by
            ``torch.nn.utils.prune`` / ``parametrize`` are copied as they compute).
        masks: ``"<layer>.weight"`` -> 2-D bool keep-mask (e.g. :func:`course_lib.nm_mask`
            with n=2, m=4) that keeps at most 2 of every 4 consecutive inputs of a row;
            only these layers are converted (NVIDIA's kernels want both weight
            dimensions to be multiples of 64).

    Returns:
        A float16 copy of ``model`` on the GPU, in eval mode.

    Raises:
        RuntimeError: where :func:`semi_structured_support` says no.
        TypeError: ``masks`` is not a non-empty dict, or a mask is not bool.
        ValueError: an unknown name, a wrong shape, or a mask that is not 2:4.
    """
    ok, why = semi_structured_support()
    if not ok:
        raise RuntimeError(why)
    from torch.sparse import to_sparse_semi_structured

    if not isinstance(masks, Mapping) or not masks:
        raise TypeError("masks must be a non-empty dict {'<layer>.weight': 2:4 bool mask}")
    params = effective_parameters(model)
    for key, m in masks.items():
        if key not in params:
            raise ValueError(f"masks has unknown parameter name {key!r}")
        check_mask(m, params[key].shape, name=f"masks[{key!r}]")
        if m.dim() != 2 or m.shape[1] % 4 or m.reshape(-1, 4).sum(1).max() > 2:
            raise ValueError(f"masks[{key!r}] must keep at most 2 of every 4 consecutive inputs (2:4)")
    small = plain_copy(model).half().cuda().eval()  # torch.nn.utils.prune / parametrize made permanent
    modules = dict(small.named_modules())
    with torch.no_grad():
        for key, m in masks.items():
            layer = modules[key.rpartition(".")[0]]
            w = layer.weight.detach().masked_fill(~m.cuda(), 0.0)
            layer.weight = nn.Parameter(to_sparse_semi_structured(w), requires_grad=False)
    return small
