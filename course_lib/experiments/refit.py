"""Regression-based pruning: remove a hidden layer's neurons, refit the next layer by least squares.

Removing neurons (rows of a Linear weight, :func:`course_lib.pruning.structured.row_norm_mask`)
leaves a smaller dense layer, but the next layer still expects the removed neurons'
outputs. Regression-based pruning (He et al. 2017, "Channel Pruning for Accelerating Very
Deep Neural Networks") records what the next layer computes on some inputs, then refits
its weights so that the kept neurons reproduce it as well as a linear map can. The
models are :func:`course_lib.experiments.lottery.make_model` MLPs (``Linear -> ReLU ->
Linear ...``); nothing here changes the model it is given.

>>> from course_lib.experiments.lottery import make_model
>>> net = make_model("8", 4, 3, seed=0); keep = torch.tensor([True, False] * 4)
>>> small = remove_layer_neurons(net, "fc1", keep)
>>> small.fc1.out_features, small.fc2.in_features
(4, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.experiments.finetune import evaluation_split
from course_lib.pruning.reparam import plain, plain_copy
from course_lib.pruning.structured import remove_neurons, row_keep, row_norm_mask
from course_lib.training.data import Dataset
from course_lib.training.train import evaluate, mlp_layers

__all__ = ["hidden_activations", "remove_layer_neurons", "least_squares_refit", "RefitScan", "refit_scan"]


def _layer_pair(model: nn.Sequential, layer: str) -> tuple[int, int, nn.Linear, nn.Linear]:
    """Positions in ``model`` of the Linear ``layer`` and the next Linear, and the two layers.

    Checks that a ReLU sits between them (the course's MLPs: ``Linear -> ReLU -> Linear``).
    """
    names = [n for n, _ in model.named_children()]
    linear = [n for n, _ in mlp_layers(model)]
    if layer not in linear[:-1]:
        raise ValueError(
            f"layer must name a hidden Linear layer (not the output layer), one of {linear[:-1]}; got {layer!r}"
        )
    a = names.index(layer)
    b = names.index(linear[linear.index(layer) + 1])
    first, second = model[a], model[b]
    if b != a + 2 or not isinstance(model[a + 1], nn.ReLU):
        raise ValueError(f"expected {layer} -> ReLU -> next Linear")
    assert isinstance(first, nn.Linear) and isinstance(second, nn.Linear)  # mlp_layers lists Linear layers
    return a, b, first, second


@torch.no_grad()
def hidden_activations(model: nn.Sequential, layer: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What hidden ``layer`` passes on, and what the next Linear layer computes from it.

    Args:
        model: an MLP (``Linear -> ReLU -> Linear ...``).
        layer: the name of a hidden Linear layer (not the output layer), e.g. ``"fc1"``.
        x: inputs, float tensor of shape ``(n, ...)`` (flattened to ``(n, in_features)``).

    Returns:
        ``(h, z)``: ``h`` the ReLU outputs of ``layer``, shape ``(n, hidden)``, one column per
        neuron; ``z`` the next layer's outputs, shape ``(n, out)``.

    Raises:
        ValueError: ``layer`` is not a hidden Linear layer followed by a ReLU and a Linear.

    >>> from course_lib.experiments.lottery import make_model
    >>> h, z = hidden_activations(make_model("6", 4, 3), "fc1", torch.randn(5, 4))
    >>> h.shape, z.shape, bool((h >= 0).all())
    (torch.Size([5, 6]), torch.Size([5, 3]), True)
    """
    a, _, _, second = _layer_pair(model, layer)
    h = x
    for module in list(model)[: a + 2]:
        h = module(h)
    return h, second(h)


@torch.no_grad()
def remove_layer_neurons(model: nn.Sequential, layer: str, keep: torch.Tensor) -> nn.Sequential:
    """A copy of ``model`` without the neurons of hidden ``layer`` that ``keep`` drops.

    ``layer`` loses those rows (and biases), the next Linear layer the matching input
    columns (:func:`course_lib.pruning.structured.remove_neurons`): a smaller dense network.

    Args:
        model: an MLP; not changed.
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        layer: a hidden Linear layer's name.
        keep: bool tensor of shape ``(out_features,)``, ``True`` = keep the neuron; or a
            row mask of the layer's weight shape (whole rows kept or pruned).

    Returns:
        The smaller ``nn.Sequential``.

    Raises:
        TypeError: ``keep`` is not a bool tensor.
        ValueError: ``keep`` has the wrong shape, or ``layer`` is not a hidden Linear layer.
    """
    a, b, first, second = _layer_pair(model, layer)
    if not isinstance(keep, torch.Tensor) or keep.dtype != torch.bool:
        raise TypeError("keep must be a bool tensor over the layer's neurons (True = keep)")
    if keep.dim() == 2:
        keep = row_keep(keep)
    if keep.shape != (first.out_features,):
        raise ValueError(f"keep must have shape ({first.out_features},), got {tuple(keep.shape)}")
    small = plain_copy(model)  # torch.nn.utils.prune / parametrize made permanent
    names = [n for n, _ in model.named_children()]
    new_first, new_second = remove_neurons(first, second, keep)
    setattr(small, names[a], new_first)
    setattr(small, names[b], new_second)
    return small


@torch.no_grad()
def least_squares_refit(
    model: nn.Sequential, layer: str, keep: torch.Tensor, x: torch.Tensor, ridge: float = 0.0
) -> nn.Sequential:
    """Remove the neurons of hidden ``layer`` not in ``keep``, then refit the next layer by least squares.

    On the inputs ``x``, the next layer's outputs ``z`` are recorded before removal; after
    it, the next layer's weights and bias minimize
    ``||[h_keep, 1] @ [W^T; b] - z||^2 + ridge * ||W||^2`` over the kept activations
    ``h_keep`` (solved in float64 with ``torch.linalg.lstsq``): the remaining neurons take
    over what the removed ones did, as far as a linear map can (He et al. 2017).

    Args:
        model: an MLP; not changed.
        layer: a hidden Linear layer's name.
        keep: as in :func:`remove_layer_neurons`.
        x: the inputs to fit on (e.g. the training set), shape ``(n, ...)``.
        ridge: L2 penalty on the refitted weights (not the bias), >= 0.

    Returns:
        A new, smaller model.

    Raises:
        TypeError/ValueError: as :func:`remove_layer_neurons`; ``ridge`` < 0.

    >>> from course_lib.experiments.lottery import make_model
    >>> net = make_model("8", 4, 3, seed=0); x = torch.randn(200, 4)
    >>> small = least_squares_refit(net, "fc1", torch.tensor([True] * 8), x)   # keep all: same function
    >>> torch.allclose(small(x), net(x), atol=1e-4)
    True
    """
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge!r}")
    small = remove_layer_neurons(model, layer, keep)
    keep = row_keep(keep) if keep.dim() == 2 else keep
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
    second = _layer_pair(small, layer)[3]
    second.weight.copy_(solution[:-1].T.to(second.weight.dtype))
    second.bias.copy_(solution[-1].to(second.bias.dtype))
    return small


@dataclass
class RefitScan:
    """Accuracy (percent) after removing a fraction of a layer's neurons, without and with refit.

    ``removed_acc[i]`` and ``refit_acc[i]`` are at ``sparsities[i]`` (fraction of the
    layer's neurons removed), measured on ``split``; ``dense_acc`` before any removal.

    Attributes:
        layer: the hidden Linear layer scanned, e.g. ``"fc1"``.
        sparsities: fractions of its neurons removed, each in [0, 1].
        removed_acc: accuracy with the neurons removed, no refit.
        refit_acc: accuracy after :func:`least_squares_refit`.
        dense_acc: accuracy of the unpruned model.
        split: where accuracy was measured (``"train"``, ``"val"`` or ``"test"``).
    """

    layer: str
    sparsities: list[float]
    removed_acc: list[float]
    refit_acc: list[float]
    dense_acc: float
    split: str = "test"


def refit_scan(
    model: nn.Sequential,
    data: Dataset,
    layer: str,
    sparsities: Sequence[float] = (0.25, 0.5, 0.75, 0.9),
    p: int = 2,
    split: str = "test",
    ridge: float = 0.0,
    n_fit: int | None = None,
) -> RefitScan:
    """Remove growing fractions of ``layer``'s neurons; accuracy as is and after :func:`least_squares_refit`.

    Args:
        model: a trained MLP; not changed.
            A model reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is copied plain
            (:func:`course_lib.pruning.reparam.plain_copy`): the weights it computes with.
        data: the data set; the refit uses the first ``n_fit`` training inputs (default all).
        layer: a hidden Linear layer's name.
        sparsities: fractions of the layer's neurons to remove, each in [0, 1]; the neurons
            with the smallest L``p`` row norm go first (Li et al. 2017).
        p: the row norm, 1 or 2.
        split: where accuracy is measured: ``"train"``, ``"val"`` or ``"test"``.
        ridge: as in :func:`least_squares_refit`.
        n_fit: number of training inputs to fit on.

    Returns:
        A :class:`RefitScan`.

    Raises:
        ValueError: a sparsity outside [0, 1], an unknown ``split`` or ``layer``, ``p`` not
            1 or 2, ``ridge`` < 0.
        TypeError: a sparsity that is not a number, a ``model`` that is not a course MLP.

    >>> from course_lib.training.data import load
    >>> from course_lib.experiments.lottery import make_model
    >>> scan = refit_scan(make_model("16", 64, 10), load("digits"), "fc1", [0.5])
    >>> len(scan.removed_acc), len(scan.refit_acc)
    (1, 1)
    """
    part = evaluation_split(data, split)
    first = _layer_pair(plain(model), layer)[2]  # a pruned / parametrized layer: the weight it computes with
    x_fit = data.train.x if n_fit is None else data.train.x[:n_fit]
    scan = RefitScan(layer, [check_sparsity(s) for s in sparsities], [], [], evaluate(model, part)[1], split)
    for s in scan.sparsities:
        keep = row_keep(row_norm_mask(first.weight.detach(), s, p=p))
        scan.removed_acc.append(evaluate(remove_layer_neurons(model, layer, keep), part)[1])
        scan.refit_acc.append(evaluate(least_squares_refit(model, layer, keep, x_fit, ridge=ridge), part)[1])
    return scan
