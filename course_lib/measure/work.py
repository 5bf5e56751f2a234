"""Counting work: multiply-accumulates (MACs) and FLOPs per sample, of MLPs and conv nets.

What is counted (per sample: one input row, or one picture):

* a *MAC* is one multiply-accumulate ``acc += w * x``. A layer's dense count multiplies every
  weight, zeros included; with ``skip_zeros`` (a sparse kernel, or a layer whose pruned
  neurons or channels are removed) it does one per **non-zero weight**:

  - ``nn.Linear``: ``in_features * out_features`` (per row of its input);
  - ``nn.Conv2d``: ``out_h * out_w * out_channels * (in_channels / groups) * kh * kw``, i.e. every
    weight once per output position (a depthwise conv, ``groups = in_channels``, does
    ``out_h * out_w * channels * kh * kw``); border positions count the taps that read the zero
    padding too, as a dense kernel computes them; skipping zeros: ``out_h * out_w * nnz(weight)``;
  - ``nn.BatchNorm2d``: one per output element (in eval mode it is ``x * scale + shift`` with
    the scale and shift folded per channel); skipping zeros only the channels whose scale
    (``weight``, gamma) is non-zero;
  - pooling: one per input element a window reads (a max-pool compares, an average-pool adds):
    ``out elements * kh * kw`` for ``MaxPool2d``/``AvgPool2d``, the input's elements for the
    adaptive ones (exact when the output side divides the input side);

* *FLOPs* = 2 x MACs (one multiply and one add);
* biases, ReLU, flatten, concatenation and data movement are not counted (see
  :mod:`course_lib.measure.energy` for the cost of reading the weights).

Counting only the non-zero weights is how Han et al. 2015 ("Learning both weights and
connections") report the FLOP reduction of a pruned network; conv MACs are counted the way Li
et al. 2017 ("Pruning Filters for Efficient ConvNets") count the FLOPs a removed filter saves.

An MLP (only ``nn.Linear`` layers) is counted from its weights alone. A model with conv,
BatchNorm or pooling layers needs ``input_size``: one forward pass of a zero picture (batch 1,
eval mode, ``torch.no_grad``, with hooks; the model's modes are restored) gives each layer's
output size. Parameters anywhere else (``BatchNorm1d``, ``Conv1d``, ...) are a ``TypeError``
rather than a wrong count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import torch
from torch import nn

from course_lib._checks import check_bool, check_input_size
from course_lib.measure.size import masked_state
from course_lib.pruning.reparam import plain

__all__ = ["layer_macs", "macs", "flops"]

_WEIGHTED = (nn.Linear, nn.Conv2d, nn.BatchNorm2d)
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_Shapes = tuple[torch.Size, torch.Size]


def _counted_layers(model: object) -> tuple[nn.Module, dict[str, nn.Module]]:
    """The model to count (:func:`~course_lib.pruning.reparam.plain`: torch.nn.utils.prune /
    parametrize made permanent) and its counted layers by name; raise if a parameter lives in
    any other layer."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    model = plain(model)
    for name, m in model.named_modules():
        if not isinstance(m, _WEIGHTED) and any(True for _ in m.parameters(recurse=False)):
            raise TypeError(
                f"model has parameters in {type(m).__name__} layer {name!r}; MACs are counted for "
                "nn.Linear, nn.Conv2d and nn.BatchNorm2d layers (and 2-D pooling)"
            )
    return model, {name: m for name, m in model.named_modules() if isinstance(m, _WEIGHTED + _POOLS)}


def _record(calls: dict[str, list[_Shapes]], name: str, _m: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
    calls[name].append((inputs[0].shape, output.shape))


def _traced_shapes(model: nn.Module, layers: Mapping[str, nn.Module], size: tuple[int, ...]) -> dict[str, list]:
    """(input shape, output shape) of every call of each layer in one forward pass of ``zeros(1, *size)``."""
    calls: dict[str, list[_Shapes]] = {name: [] for name in layers}
    handles = [m.register_forward_hook(partial(_record, calls, name)) for name, m in layers.items()]
    modes = {m: m.training for m in model.modules()}
    param = next(model.parameters(), None)
    like = param if param is not None and param.is_floating_point() else torch.zeros(0)
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *size, dtype=like.dtype, device=like.device))
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"input_size={size} does not fit the model: {err}") from err
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return calls


def _count(layer: nn.Module, weight: torch.Tensor | None, shapes: _Shapes, skip_zeros: bool) -> int:
    """MACs of one call of ``layer`` (batch 1) with input/output shapes ``shapes``."""
    inp, out = shapes
    if isinstance(layer, nn.Linear | nn.Conv2d):
        assert weight is not None
        n = int(torch.count_nonzero(weight)) if skip_zeros else weight.numel()
        positions = out.numel() // layer.out_features if isinstance(layer, nn.Linear) else out[-2] * out[-1]
        return n * positions
    if isinstance(layer, nn.BatchNorm2d):
        channels = int(torch.count_nonzero(weight)) if skip_zeros and weight is not None else layer.num_features
        return channels * out[-2] * out[-1]
    if isinstance(layer, nn.MaxPool2d | nn.AvgPool2d):
        k = layer.kernel_size
        kh, kw = (k, k) if isinstance(k, int) else k
        return out.numel() * kh * kw
    return inp.numel()  # adaptive pooling reads each input element once


def layer_macs(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor] | None = None,
    skip_zeros: bool = True,
    *,
    input_size: Sequence[int] | None = None,
) -> dict[str, int]:
    """MACs per sample of each counted layer of ``model`` (see the module's rules), keyed by layer name.

    Args:
        model: a model whose parameters all sit in ``nn.Linear``, ``nn.Conv2d`` and
            ``nn.BatchNorm2d`` layers (pooling, ReLU, flatten, ... are fine). Not changed.
            Weights reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` are counted
            as the model computes with them (its plain copy is counted).
        masks: parameter name -> bool keep-mask, or ``None``.
        skip_zeros: ``True`` counts the non-zero weights after applying ``masks``
            (what a sparse kernel, or a model with removed neurons or channels, does);
            ``False`` counts every weight (what a dense kernel does, zeros included;
            ``masks`` are then irrelevant but still checked).
        input_size: the shape of one sample without the batch, e.g. ``(1, 28, 28)``
            (channels, height, width); required when the model has a conv, BatchNorm or
            pooling layer; ``None`` for an MLP (counted per input row).

    Returns:
        Layer name (``""`` for a bare layer) -> MACs per sample; Linear, Conv2d, BatchNorm2d
        and pooling layers only (a layer the forward pass never calls: 0; one called twice:
        both calls).

    Raises:
        TypeError: ``model`` is not a module, has parameters in another kind of layer, or
            has a conv/BatchNorm/pooling layer and no ``input_size``; ``skip_zeros`` is not
            a bool; a mask is not bool.
        ValueError: masks with unknown names or wrong shapes; ``input_size`` not a tuple of
            ints >= 1, or not accepted by the model's forward pass.

    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> layer_macs(net, skip_zeros=False)
    {'0': 6, '2': 2}
    >>> layer_macs(net, {"0.weight": torch.tensor([[True, False, False], [True, True, False]])})
    {'0': 3, '2': 2}
    >>> conv = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, groups=2), nn.BatchNorm2d(8), nn.MaxPool2d(2))
    >>> layer_macs(conv, input_size=(4, 6, 6))  # 6*6*8*(4/2)*3*3, 8*6*6, 8*3*3*2*2
    {'0': 5184, '1': 288, '2': 288}
    """
    check_bool(skip_zeros, "skip_zeros")
    model, layers = _counted_layers(model)
    state = masked_state(model, masks)
    if input_size is None:
        spatial = [(n, m) for n, m in layers.items() if not isinstance(m, nn.Linear)]
        if spatial:
            name, layer = spatial[0]
            raise TypeError(
                f"model has a {type(layer).__name__} layer {name!r}, whose MACs depend on the picture size: "
                "pass input_size=(channels, height, width)"
            )
        shapes = {
            n: [(torch.Size([1, m.in_features]), torch.Size([1, m.out_features]))]
            for n, m in layers.items()
            if isinstance(m, nn.Linear)  # all of them
        }
    else:
        shapes = _traced_shapes(model, layers, check_input_size(input_size))
    out = {}
    for name, layer in layers.items():
        key = f"{name}.weight" if name else "weight"
        weight = state[key] if key in state else None  # a BatchNorm2d without affine weight
        weight = weight.detach() if weight is not None else None
        out[name] = sum(_count(layer, weight, io, skip_zeros) for io in shapes[name])
    return out


def macs(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor] | None = None,
    skip_zeros: bool = True,
    *,
    input_size: Sequence[int] | None = None,
) -> int:
    """Multiply-accumulates per sample over all counted layers (arguments and errors: :func:`layer_macs`).

    LeNet-300-100 does 784*300 + 300*100 + 100*10 = 266,200 MACs per digit, dense. A 3x3
    conv 1 -> 8 channels with padding 1 on a 28x28 picture does 28*28*8*9 = 56,448.

    >>> from course_lib.training.models import lenet_300_100
    >>> macs(lenet_300_100(), skip_zeros=False)
    266200
    >>> macs(nn.Conv2d(1, 8, 3, padding=1), input_size=(1, 28, 28), skip_zeros=False)
    56448
    """
    return sum(layer_macs(model, masks, skip_zeros, input_size=input_size).values())


def flops(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor] | None = None,
    skip_zeros: bool = True,
    *,
    input_size: Sequence[int] | None = None,
) -> int:
    """Floating-point operations per sample: ``2 * macs`` (a multiply and an add each; see :func:`layer_macs`).

    >>> flops(nn.Linear(3, 2), skip_zeros=False)
    12
    """
    return 2 * macs(model, masks, skip_zeros, input_size=input_size)
