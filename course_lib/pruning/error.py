"""Output error of a pruned layer: how much a mask changes what the layer computes.

A layer computes ``f(x @ W.T + b)``; pruning replaces ``W`` by ``W * mask``. The
*output error* is the relative Frobenius distance between the two outputs on a
batch of inputs, so 0 means "nothing changed" and 1 means "as large as the output
itself". It judges a criterion by what it costs the layer, not by the weights it
removes: on the slides' neuron ``ReLU(10 x0 - 8 x1 + 0.1 x2)`` it confirms that
removing 0.1 costs least (notebook 01). All functions are pure: they never change
the tensors they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from course_lib._checks import check_float, check_int, check_sparsity
from course_lib.pruning.masks import check_mask, check_weight

__all__ = [
    "layer_output",
    "relative_difference",
    "output_error",
    "weight_error",
    "removal_errors",
    "scaled_removal_errors",
    "error_curve",
]

#: An elementwise function applied to a layer's output, e.g. ``torch.relu``.
Activation = Callable[[torch.Tensor], torch.Tensor]


def _check_inputs(
    weight: torch.Tensor, inputs: object, bias: torch.Tensor | None, activation: Activation | None
) -> None:
    if not isinstance(inputs, torch.Tensor) or not inputs.is_floating_point():
        raise TypeError("inputs must be a floating-point torch.Tensor of shape (batch, in_features)")
    if inputs.dim() != 2 or inputs.shape[1] != weight.shape[-1]:
        raise ValueError(
            f"inputs must have shape (batch, {weight.shape[-1]}) to match weight {tuple(weight.shape)}, "
            f"got {tuple(inputs.shape)}"
        )
    if bias is not None:
        out = 1 if weight.dim() == 1 else weight.shape[0]
        if not isinstance(bias, torch.Tensor) or bias.numel() != out:
            raise ValueError(f"bias must be None or a tensor with {out} entries (one per output)")
    if activation is not None and not callable(activation):
        raise TypeError("activation must be None or a callable such as torch.relu")


def layer_output(
    weight: torch.Tensor,
    inputs: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: Activation | None = None,
) -> torch.Tensor:
    """What a Linear layer computes: ``activation(inputs @ weight.T + bias)``.

    Args:
        weight: a finite float tensor ``(out_features, in_features)``; a 1-D weight
            ``(in_features,)`` is a single neuron (one output).
        inputs: a float tensor ``(batch, in_features)``.
        bias: ``None`` or a tensor with ``out_features`` entries.
        activation: ``None`` (linear) or an elementwise function such as ``torch.relu``.

    Returns:
        A float tensor ``(batch, out_features)``.

    Raises:
        TypeError: ``weight`` or ``inputs`` is not a float tensor, or ``activation`` is not callable.
        ValueError: the shapes of ``inputs`` or ``bias`` do not match ``weight``.

    >>> layer_output(torch.tensor([10., -8., 0.1]), torch.tensor([[1., 1., 1.], [0., 1., 0.]]), activation=torch.relu)
    tensor([[2.1000],
            [0.0000]])
    """
    check_weight(weight)
    _check_inputs(weight, inputs, bias, activation)
    w2 = weight.detach().reshape(-1, weight.shape[-1])
    b = None if bias is None else bias.detach().reshape(-1)
    out = F.linear(inputs, w2, b)
    return out if activation is None else activation(out)


def relative_difference(result: torch.Tensor, reference: torch.Tensor) -> float:
    """``||result - reference|| / ||reference||`` (Frobenius norms, computed in float32 or wider).

    How far a computation strays from a reference: a pruned layer's output from the dense one
    (:func:`output_error`), or a sparse kernel's product from the dense product of the same
    matrix (notebook 03, float16 2:4 kernels: rounding gives about 1e-3).

    Args:
        result: a float tensor.
        reference: a float tensor of ``result``'s shape, not all zeros.

    Returns:
        A float >= 0 (0: identical).

    Raises:
        TypeError: either is not a floating-point tensor.
        ValueError: the shapes differ, or ``reference`` is all zeros (the ratio is undefined).

    >>> relative_difference(torch.tensor([3., 0.]), torch.tensor([3., 4.]))
    0.8
    """
    for name, t in (("result", result), ("reference", reference)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point torch.Tensor, got {type(t).__name__}")
    if result.shape != reference.shape:
        raise ValueError(
            f"result and reference must have one shape, got {tuple(result.shape)} and {tuple(reference.shape)}"
        )
    wide = torch.promote_types(reference.dtype, torch.float32)
    norm = float(reference.detach().to(wide).norm())
    if norm == 0.0:
        raise ValueError("reference is all zeros, so a relative difference is undefined")
    return float((result.detach().to(wide) - reference.detach().to(wide)).norm()) / norm


def output_error(
    weight: torch.Tensor,
    mask: torch.Tensor,
    inputs: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: Activation | None = None,
) -> float:
    """Relative output error ``||y_pruned - y|| / ||y||`` of pruning ``weight`` with ``mask``.

    ``y`` is :func:`layer_output`; ``y_pruned`` uses ``weight * mask`` and keeps the bias
    (as :func:`course_lib.apply_masks` does). Norms are Frobenius norms over the whole batch.

    Args:
        weight, inputs, bias, activation: as :func:`layer_output`.
        mask: a bool mask of ``weight``'s shape, ``True`` = keep.

    Returns:
        A float >= 0 (0: the output is unchanged; 1: the change is as large as the output).

    Raises:
        TypeError, ValueError: as :func:`layer_output`, or a bad ``mask``; ``ValueError``
            also when the unpruned output is all zeros (the relative error is undefined).

    >>> w = torch.tensor([[3., 4.]])
    >>> output_error(w, torch.tensor([[True, False]]), torch.eye(2))
    0.8
    """
    check_weight(weight)
    check_mask(mask, weight.shape)
    reference = layer_output(weight, inputs, bias, activation)
    if not reference.any():
        raise ValueError(
            "inputs give an all-zero layer output, so a relative error is undefined; "
            "use other inputs (e.g. torch.randn)"
        )
    return relative_difference(layer_output(weight.detach() * mask, inputs, bias, activation), reference)


def weight_error(weight: torch.Tensor, mask: torch.Tensor) -> float:
    """Relative weight error ``||W * ~mask|| / ||W||``: the share of the weights' norm pruned.

    For a fixed number of pruned entries, magnitude pruning minimizes it (so no n:m or
    row mask of the same sparsity can beat a magnitude mask on it).

    Args:
        weight: a finite float tensor of any shape, not all zeros.
        mask: a bool mask of ``weight``'s shape, ``True`` = keep.

    Returns:
        A float in [0, 1].

    Raises:
        TypeError: ``weight`` is not a float tensor or ``mask`` not a bool tensor.
        ValueError: ``mask`` has another shape, or ``weight`` is all zeros.

    >>> weight_error(torch.tensor([3., 4.]), torch.tensor([True, False]))
    0.8
    """
    check_weight(weight)
    check_mask(mask, weight.shape)
    norm = float(weight.detach().norm())
    if norm == 0.0:
        raise ValueError("weight is all zeros, so a relative error is undefined")
    return float(weight.detach().masked_fill(mask, 0.0).norm()) / norm


def removal_errors(
    weight: torch.Tensor,
    inputs: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: Activation | None = None,
) -> torch.Tensor:
    """Output error of removing each single weight in turn.

    Entry ``i`` is :func:`output_error` with only weight ``i`` pruned.

    Args:
        weight, inputs, bias, activation: as :func:`layer_output`.

    Returns:
        A ``torch.float64`` tensor of ``weight``'s shape.

    Raises:
        TypeError, ValueError: as :func:`output_error`.

    On the slide's neuron ``ReLU(10 x0 - 8 x1 + 0.1 x2)``, removing 0.1 hurts least:

    >>> x = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0))
    >>> errors = removal_errors(torch.tensor([10., -8., 0.1]), x, activation=torch.relu)
    >>> int(errors.argmin())
    2
    """
    check_weight(weight)
    errors = torch.empty(weight.shape, dtype=torch.float64)
    flat = errors.reshape(-1)
    for i in range(weight.numel()):
        mask = torch.ones(weight.numel(), dtype=torch.bool)
        mask[i] = False
        flat[i] = output_error(weight, mask.reshape(weight.shape), inputs, bias, activation)
    return errors


def scaled_removal_errors(
    weight: torch.Tensor,
    inputs: torch.Tensor,
    index: int,
    scales: Iterable[float],
    bias: torch.Tensor | None = None,
    activation: Activation | None = None,
) -> torch.Tensor:
    """:func:`removal_errors` with input ``index`` multiplied by each of ``scales`` in turn.

    The magnitude heuristic (Han et al. 2015) ranks weights by |w|, which measures a weight's
    importance only when its inputs have similar scales. Scaling one input shows where that
    ranking stops matching the cost of removing a weight (the slides' caveat, notebook 01).

    Args:
        weight, inputs, bias, activation: as :func:`layer_output`.
        index: the input to scale (a column of ``inputs``), an int in ``[0, in_features)``.
        scales: one or more factors, each a finite float > 0.

    Returns:
        A ``torch.float64`` tensor ``(len(scales), weight.numel())``: row ``k`` holds the
        removal error of each weight with column ``index`` of ``inputs`` times ``scales[k]``.

    Raises:
        TypeError: a scale is not a number; or as :func:`removal_errors`.
        ValueError: ``index`` is not an int in ``[0, in_features)``, ``scales`` is empty or
            holds a value that is not finite and > 0; or as :func:`removal_errors`.

    >>> x = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0))
    >>> e = scaled_removal_errors(torch.tensor([10., -8., 0.1]), x, 2, [1.0, 1000.0], activation=torch.relu)
    >>> e.argmin(dim=1).tolist()  # removing 0.1 is cheapest at scale 1, not at scale 1000
    [2, 1]
    """
    check_weight(weight)
    _check_inputs(weight, inputs, bias, activation)
    index = check_int(index, "index")
    if index >= inputs.shape[1]:
        raise ValueError(f"index must be an int in [0, {inputs.shape[1]}), got {index}")
    factors = [check_float(s, "scales", strict=True) for s in scales]
    if not factors:
        raise ValueError("scales must hold at least one finite number > 0")
    rows = []
    for factor in factors:
        scale = torch.ones(inputs.shape[1], dtype=inputs.dtype)
        scale[index] = factor
        rows.append(removal_errors(weight, inputs * scale, bias, activation).reshape(-1))
    return torch.stack(rows)


def error_curve(
    weight: torch.Tensor,
    inputs: torch.Tensor,
    mask_fn: Callable[[torch.Tensor, float], torch.Tensor],
    sparsities: Iterable[float],
    bias: torch.Tensor | None = None,
    activation: Activation | None = None,
) -> list[float]:
    """:func:`output_error` of ``mask_fn(weight, s)`` for each sparsity ``s`` in ``sparsities``.

    Args:
        weight, inputs, bias, activation: as :func:`layer_output`.
        mask_fn: any mask function taking ``(weight, sparsity)``, e.g.
            :func:`course_lib.magnitude_mask` or ``functools.partial(row_norm_mask, p=1)``.
        sparsities: the total fractions to prune, each a float in [0, 1].

    Returns:
        One relative output error per sparsity, in order.

    Raises:
        TypeError: ``mask_fn`` is not callable, or a sparsity is not a number.
        ValueError: ``sparsities`` is empty or has a value outside [0, 1]; or as :func:`output_error`.

    >>> from course_lib import magnitude_mask
    >>> w = torch.tensor([[1., -2., 3., -4.]])
    >>> [round(e, 3) for e in error_curve(w, torch.eye(4), magnitude_mask, [0.0, 0.5, 1.0])]
    [0.0, 0.408, 1.0]
    """
    if not callable(mask_fn):
        raise TypeError("mask_fn must be a callable (weight, sparsity) -> bool mask, e.g. magnitude_mask")
    targets = [check_sparsity(s, name="sparsities") for s in sparsities]
    if not targets:
        raise ValueError("sparsities must hold at least one sparsity in [0, 1]")
    return [output_error(weight, mask_fn(weight, s), inputs, bias, activation) for s in targets]
