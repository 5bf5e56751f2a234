"""Counting work: multiply-accumulates (MACs) and FLOPs per sample of an MLP.

What is counted (per sample, i.e. per input row):

* a *MAC* is one multiply-accumulate ``acc += w * x`` of a ``nn.Linear`` weight
  with an input activation. A Linear layer does ``in_features * out_features``
  of them on dense hardware, zeros included. Skipping zeros (a sparse kernel, or
  a layer with the pruned neurons removed) it does one per **non-zero weight**;
* *FLOPs* = 2 x MACs (one multiply and one add);
* bias adds, ReLU, flatten and data movement are not counted (see
  :mod:`course_lib.measure.energy` for the cost of reading the weights).

Counting only the non-zero weights is how Han et al. 2015 ("Learning both weights
and connections") report the FLOP reduction of a pruned network.

Only models whose parameters all sit in ``nn.Linear`` layers are accepted
(the course's MLPs); anything else is a ``TypeError`` rather than a wrong count.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from course_lib._checks import check_bool
from course_lib.measure.size import masked_state

__all__ = ["layer_macs", "macs", "flops"]


def _linears(model: object) -> dict[str, nn.Linear]:
    """The model's Linear layers by name; raise if a parameter lives anywhere else."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    linears = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    for name, m in model.named_modules():
        if not isinstance(m, nn.Linear) and any(True for _ in m.parameters(recurse=False)):
            raise TypeError(
                f"model has parameters in {type(m).__name__} layer {name!r}; MACs are counted for nn.Linear layers only"
            )
    return linears


def layer_macs(
    model: nn.Module, masks: Mapping[str, torch.Tensor] | None = None, skip_zeros: bool = True
) -> dict[str, int]:
    """MACs per sample of each Linear layer of ``model``, keyed by layer name.

    Args:
        model: a model whose parameters all sit in ``nn.Linear`` layers.
        masks: parameter name -> bool keep-mask, or ``None``.
        skip_zeros: ``True`` counts the non-zero weights after applying ``masks``
            (what a sparse kernel, or a model with removed neurons, does); ``False``
            counts every weight (what a dense kernel does, zeros included; ``masks``
            are then irrelevant but still checked).

    Returns:
        Layer name (``""`` for a bare ``nn.Linear``) -> MACs per input row.

    Raises:
        TypeError: ``model`` is not a module or has parameters outside ``nn.Linear``
            layers; ``skip_zeros`` is not a bool; a mask is not bool.
        ValueError: masks with unknown names or wrong shapes.

    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> layer_macs(net, skip_zeros=False)
    {'0': 6, '2': 2}
    >>> layer_macs(net, {"0.weight": torch.tensor([[True, False, False], [True, True, False]])})
    {'0': 3, '2': 2}
    """
    check_bool(skip_zeros, "skip_zeros")
    linears = _linears(model)
    state = masked_state(model, masks)
    out = {}
    for name, layer in linears.items():
        key = f"{name}.weight" if name else "weight"
        out[name] = int(torch.count_nonzero(state[key])) if skip_zeros else layer.weight.numel()
    return out


def macs(model: nn.Module, masks: Mapping[str, torch.Tensor] | None = None, skip_zeros: bool = True) -> int:
    """Multiply-accumulates per sample over all Linear layers (arguments and errors: :func:`layer_macs`).

    LeNet-300-100 does 784*300 + 300*100 + 100*10 = 266,200 MACs per digit, dense.

    >>> from course_lib.training.models import lenet_300_100
    >>> macs(lenet_300_100(), skip_zeros=False)
    266200
    """
    return sum(layer_macs(model, masks, skip_zeros).values())


def flops(model: nn.Module, masks: Mapping[str, torch.Tensor] | None = None, skip_zeros: bool = True) -> int:
    """Floating-point operations per sample: ``2 * macs`` (a multiply and an add each; see :func:`layer_macs`).

    >>> flops(nn.Linear(3, 2), skip_zeros=False)
    12
    """
    return 2 * macs(model, masks, skip_zeros)
