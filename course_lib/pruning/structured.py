"""Structured pruning: whole neurons (rows of a Linear weight) by their L1/L2 norm,
and physical removal of pruned neurons, which gives a smaller dense model.

* :func:`row_norm_mask`: rank rows by their L1 or L2 norm and prune the weakest
  (Li et al. 2017, "Pruning Filters for Efficient ConvNets", rank conv filters by L1 norm;
  a row of a Linear weight is the filter of one output neuron);
* :func:`row_keep`: which rows (neurons) a mask keeps;
* :func:`remove_neurons`: cut pruned neurons out of ``Linear -> activation -> Linear``,
  folding the constant ``activation(bias)`` a pruned neuron still sends on into the next
  layer's bias, so the smaller pair computes exactly what the masked pair computes;
* :func:`shrink_mlp`: the same for every hidden layer of an MLP.

A structured mask is a subset of the fine-grained choices (whole rows only), so at the same
sparsity it usually costs more accuracy, but the pruned layer is just a smaller dense matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import torch
from torch import nn

from course_lib._checks import check_sparsity
from course_lib.pruning.masks import apply_masks, check_mask, check_weight, n_to_prune, smallest_k_mask
from course_lib.pruning.reparam import plain, plain_copy

__all__ = ["row_norm_mask", "row_keep", "remove_neurons", "shrink_mlp"]


def row_norm_mask(weight: torch.Tensor, sparsity: float, p: int = 2, prior: torch.Tensor | None = None) -> torch.Tensor:
    """Keep-mask pruning whole rows (neurons) of ``weight`` with the smallest L``p`` norm.

    A row stands for one output neuron of a Linear layer (or, flattened, one filter of a
    conv layer: Li et al. 2017's L1 filter ranking). Ties are broken by row index (the
    earlier row is pruned first). Without a prior it agrees with
    ``torch.nn.utils.prune.ln_structured(module, "weight", amount=float(sparsity), n=p, dim=0)``.

    Args:
        weight: a finite floating-point tensor of shape ``(rows, ...)``, e.g. a Linear
            weight ``(out_features, in_features)``; not changed.
        sparsity: the fraction of *rows* to prune, a float in [0, 1]: ``round(sparsity * rows)``
            rows go, so the fraction of entries pruned is the same.
        p: 1 (sum of |w| of a row) or 2 (Euclidean norm of a row).
        prior: a bool mask of ``weight``'s shape already applied. Norms are then taken of
            the surviving weights, rows the prior already emptied are pruned first and count
            toward ``sparsity``, and no entry the prior pruned is revived.

    Returns:
        A bool tensor of ``weight``'s shape, ``True`` = keep, whole rows ``False`` (with a
        prior: also the entries the prior pruned).

    Raises:
        TypeError: ``weight`` is not a floating-point tensor, ``sparsity`` not a number, or
            ``prior`` not a bool tensor.
        ValueError: ``weight`` has fewer than 2 dimensions or is not finite, ``sparsity`` is
            outside [0, 1], ``p`` is not 1 or 2, ``prior`` has another shape, or ``sparsity``
            prunes fewer rows than ``prior`` already emptied.

    >>> row_norm_mask(torch.tensor([[1., 1.], [3., 0.], [0.5, 0.5]]), 1/3, p=1)
    tensor([[ True,  True],
            [ True,  True],
            [False, False]])
    """
    check_weight(weight, min_dim=2)
    s = check_sparsity(sparsity)
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"p must be 1 or 2 (L1 or L2 norm of a row), got {p!r}")
    if prior is not None:
        check_mask(prior, weight.shape, name="prior")
    rows = weight.shape[0]
    w = weight.detach() if prior is None else weight.detach() * prior
    norms = w.reshape(rows, -1).norm(p=p, dim=1)
    k = n_to_prune(s, rows)
    if prior is not None:
        dead = ~prior.reshape(rows, -1).any(dim=1)
        if k < int(dead.sum()):
            raise ValueError(
                f"sparsity={s} prunes {k} row(s) but the prior mask already emptied {int(dead.sum())}: "
                "masks only shrink"
            )
        norms = torch.where(dead, torch.full_like(norms, -1.0), norms)
    keep_rows = smallest_k_mask(norms, k)
    mask = keep_rows.reshape(rows, *([1] * (weight.dim() - 1))).expand_as(weight).clone()
    return mask if prior is None else mask & prior


def row_keep(mask: torch.Tensor) -> torch.Tensor:
    """The 1-D bool vector of rows (neurons) a mask keeps: a row is kept if any entry is.

    Args:
        mask: a bool mask of shape ``(rows, ...)``, or already a 1-D row vector (copied).

    Returns:
        A new bool tensor of shape ``(rows,)``, ``True`` = the neuron stays.

    Raises:
        TypeError: ``mask`` is not a bool tensor.
        ValueError: ``mask`` is 0-dimensional.

    >>> row_keep(torch.tensor([[True, False], [False, False]]))
    tensor([ True, False])
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        what = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a bool tensor (True = keep), got {what}")
    if mask.dim() < 1:
        raise ValueError(f"mask must have at least one dimension (rows first), got shape {tuple(mask.shape)}")
    return mask.clone() if mask.dim() == 1 else mask.flatten(1).any(dim=1)


def _new_linear(in_features: int, out_features: int, bias: bool, like: torch.Tensor) -> nn.Linear:
    """An uninitialized Linear with ``like``'s dtype and device (the caller fills it).

    ``skip_init`` neither draws from the global RNG (so removing neurons does not
    shift later seeded draws) nor warns about zero-width layers.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
        return torch.nn.utils.skip_init(
            nn.Linear, in_features, out_features, bias=bias, dtype=like.dtype, device=like.device
        )


def remove_neurons(
    first: nn.Linear,
    second: nn.Linear,
    keep: torch.Tensor,
    activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
) -> tuple[nn.Linear, nn.Linear]:
    """Physically remove the hidden neurons of ``first -> activation -> second`` not in ``keep``.

    The pair returned computes exactly what the *masked* pair computes, i.e. the original
    pair with the removed neurons' weight rows set to zero. Such a neuron still sends the
    constant ``activation(b_i)`` on (its bias ``b_i`` alone passes the activation), which
    the next layer multiplies by its column ``i``: that constant contribution
    ``second.weight[:, i] * activation(b_i)`` is folded into ``second``'s bias (``second``
    gets a bias when it needs one). Removing *all* neurons is allowed: ``first`` becomes a
    layer with 0 outputs and ``second`` outputs that constant.

    Args:
        first: the ``nn.Linear(a, h)`` whose outputs (the ``h`` hidden neurons) are pruned.
        second: the ``nn.Linear(h, c)`` that reads them.
        keep: a 1-D bool tensor of length ``h`` (``True`` = the neuron stays), or a mask of
            ``first.weight``'s shape (a row is kept if any of its entries is).
        activation: the elementwise function between the two layers, ``torch.relu`` by default.

    Returns:
        ``(new_first, new_second)``: two new ``nn.Linear`` layers, ``Linear(a, kept)`` and
        ``Linear(kept, c)``, with the inputs' dtype, device and ``requires_grad``; the
        inputs are not changed. A layer reparametrized by ``torch.nn.utils.prune`` /
        ``parametrize`` is read as it computes (``weight_orig * weight_mask``, ...); the new
        layers are plain.

    Raises:
        TypeError: ``first`` or ``second`` is not an ``nn.Linear``, ``activation`` is not
            callable, or ``keep`` is not a bool tensor.
        ValueError: ``second.in_features != first.out_features``, or ``keep`` has the wrong shape.

    >>> torch.manual_seed(0); a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    <torch._C.Generator object at ...>
    >>> a2, b2 = remove_neurons(a, b, torch.tensor([True, False, True, False]))
    >>> a2.weight.shape, b2.weight.shape
    (torch.Size([2, 3]), torch.Size([2, 2]))
    >>> a0, b0 = remove_neurons(a, b, torch.zeros(4, dtype=torch.bool))  # all removed
    >>> a0.out_features, b0(torch.relu(a0(torch.ones(1, 3)))).shape
    (0, torch.Size([1, 2]))
    """
    if not isinstance(first, nn.Linear):
        raise TypeError(f"first must be a torch.nn.Linear layer, got {type(first).__name__}")
    if not isinstance(second, nn.Linear):
        raise TypeError(f"second must be a torch.nn.Linear layer, got {type(second).__name__}")
    if second.in_features != first.out_features:
        raise ValueError(
            f"second.in_features ({second.in_features}) must equal first.out_features ({first.out_features})"
        )
    if not callable(activation):
        raise TypeError(f"activation must be callable (e.g. torch.relu), got {type(activation).__name__}")
    first, second = plain(first), plain(second)  # a pruned / parametrized layer: the weight it computes with
    if isinstance(keep, torch.Tensor) and keep.dim() >= 2:
        check_mask(keep, first.weight.shape, name="keep")
        keep = row_keep(keep)
    check_mask(keep, (first.out_features,), name="keep")
    keep = keep.to(first.weight.device)
    idx = keep.nonzero().flatten()
    dropped = ~keep
    fold = first.bias is not None and bool(dropped.any())
    with torch.no_grad():
        new_first = _new_linear(first.in_features, len(idx), first.bias is not None, first.weight)
        new_first.weight.copy_(first.weight[idx])
        if first.bias is not None:
            new_first.bias.copy_(first.bias[idx])
        has_bias = second.bias is not None or fold
        new_second = _new_linear(len(idx), second.out_features, has_bias, second.weight)
        new_second.weight.copy_(second.weight[:, idx.to(second.weight.device)])
        if has_bias:
            bias = second.bias.detach().clone() if second.bias is not None else torch.zeros_like(new_second.bias)
            if fold:
                const = activation(first.bias[dropped]).to(second.weight)
                bias += second.weight[:, dropped.to(second.weight.device)] @ const
            new_second.bias.copy_(bias)
    for new, old in ((new_first, first), (new_second, second)):
        new.weight.requires_grad_(old.weight.requires_grad)
        if new.bias is not None:
            new.bias.requires_grad_(old.bias.requires_grad if old.bias is not None else old.weight.requires_grad)
    return new_first, new_second


def shrink_mlp(model: nn.Sequential, masks: Mapping[str, torch.Tensor]) -> nn.Sequential:
    """A smaller dense copy of an MLP with every hidden neuron whose weight row is fully masked removed.

    The masks are applied to a copy, then :func:`remove_neurons` cuts out each hidden
    neuron with an all-``False`` row (the output layer keeps all its neurons). The result
    computes what the masked model computes, also when a layer loses all its neurons (it
    becomes 0 wide and the model outputs a constant).

    Args:
        model: an ``nn.Sequential`` of ``Linear``, ``ReLU``, ``Flatten`` and ``Identity``
            layers, with exactly one ``ReLU`` between consecutive ``Linear`` layers; not changed.
        masks: {``"<layer>.weight"`` (or any parameter name): bool keep-mask of its shape}.

    Returns:
        A new ``nn.Sequential`` with the same layer names; a hidden ``Linear`` keeps only its
        neurons with a kept entry, and the next ``Linear`` only the matching inputs. Layers
        reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` come out plain, holding the
        weights they computed with (:func:`course_lib.pruning.reparam.plain_copy`).

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential`` of those layers, or a mask is not bool.
        ValueError: the layers are not Linear-ReLU-Linear, or a mask has an unknown name or
            the wrong shape (all checked before anything is built).

    >>> torch.manual_seed(0); net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    <torch._C.Generator object at ...>
    >>> small = shrink_mlp(net, {"0.weight": row_norm_mask(net[0].weight, 0.5)})
    >>> small[0].out_features, small[2].in_features
    (3, 3)
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    names = list(model._modules)
    for name in names:
        layer = model._modules[name]
        if not isinstance(layer, (nn.Linear, nn.ReLU, nn.Flatten, nn.Identity)):
            raise TypeError(
                f"model may hold only Linear, ReLU, Flatten, Identity layers; layer {name!r} is {type(layer).__name__}"
            )
    linear_at = [i for i, n in enumerate(names) if isinstance(model._modules[n], nn.Linear)]
    for a, b in zip(linear_at, linear_at[1:], strict=False):
        between = [model._modules[names[j]] for j in range(a + 1, b)]
        if len(between) != 1 or not isinstance(between[0], nn.ReLU):
            found = [type(m).__name__ for m in between]
            raise ValueError(
                f"model must have exactly one ReLU between consecutive Linear layers; "
                f"between {names[a]!r} and {names[b]!r} it has {found}"
            )
    small = plain_copy(model)  # reparametrized layers made plain: the weights the model computes with
    apply_masks(small, masks)  # validates every mask first; raises before anything changes
    for a, b in zip(linear_at, linear_at[1:], strict=False):
        key = f"{names[a]}.weight"
        first, second = small.get_submodule(names[a]), small.get_submodule(names[b])
        assert isinstance(first, nn.Linear) and isinstance(second, nn.Linear)  # checked above
        keep = row_keep(masks[key]) if key in masks else torch.ones(first.out_features, dtype=torch.bool)
        new_a, new_b = remove_neurons(first, second, keep)
        setattr(small, names[a], new_a)
        setattr(small, names[b], new_b)
    return small
