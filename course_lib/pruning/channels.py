"""Channel pruning of conv nets: filter masks, BatchNorm-scale scores, and removing channels.

A *filter* (an output channel of a conv layer) is the conv analogue of a neuron (a row of a
Linear weight). Computing a mask is separate from applying it:

* :func:`filter_norm_mask`: whole filters by their L1/L2 norm (Li et al. 2017);
* :func:`bn_scale_scores`: |BatchNorm scale| per channel, the score of network slimming
  (Liu et al. 2017), broadcast to each conv weight; masks are then taken by the existing mask
  functions (``row_norm_mask(scores[name], sparsity)`` prunes whole filters layer by layer);
* :func:`conv_bn_pairs`: which BatchNorm normalizes which conv's output (traced by ``torch.fx``);
* :func:`channel_masks`: filter masks completed with the masks of the same channels' conv
  bias and BatchNorm scale and shift, so a pruned channel outputs exactly zero;
* :func:`remove_channels` and :func:`shrink_conv_chain`: physically remove pruned channels
  from a plain chain ``Conv2d -> [BatchNorm2d] -> ReLU -> [pool] -> Conv2d`` (or ``-> Flatten
  -> Linear``): a smaller dense model computing what the masked model computes.

n:m masks on conv weights (groups along the input channels) are :func:`course_lib.nm_mask`.

What a removed channel leaves behind: a filter whose weights are masked still outputs its bias,
through the BatchNorm (in eval mode) and the ReLU: a constant ``c = relu(bn(bias))`` over the
whole picture. Pooling keeps it constant, so the next layer receives ``c`` at every position.
Into a Linear layer or a conv *without zero padding* that constant adds exactly ``c`` times the
sum of the matching weights to every output, which is folded into the next layer's bias (as
:func:`course_lib.remove_neurons` does for neurons). A next conv *with zero padding* sees ``c``
inside the picture and 0 in the padding, so at the borders its contribution differs: no bias
reproduces it, and :func:`remove_channels` then refuses (``ValueError``) unless every removed
channel's constant is 0, e.g. because its BatchNorm scale and shift are masked too
(:func:`channel_masks`), which is what removing a channel means in Li et al. 2017 and Torch-Pruning.
Graphs with residual additions, depthwise convs or concatenations are Torch-Pruning's job
(``torch-pruning``, DepGraph, Fang et al. 2023).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
import torch.fx
from torch import nn

from course_lib.pruning.masks import apply_masks, check_mask, check_masks
from course_lib.pruning.reparam import plain, plain_copy
from course_lib.pruning.structured import remove_neurons, row_keep, row_norm_mask

__all__ = [
    "filter_norm_mask",
    "conv_bn_pairs",
    "bn_scale_scores",
    "channel_masks",
    "remove_channels",
    "shrink_conv_chain",
    "CHAIN_LAYERS",
]

#: The layer types :func:`shrink_conv_chain` accepts in a plain chain.
CHAIN_LAYERS = (
    nn.Conv2d,
    nn.BatchNorm2d,
    nn.ReLU,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Flatten,
    nn.Linear,
    nn.Identity,
)
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
M = TypeVar("M", bound=nn.Module)
L = TypeVar("L", nn.Conv2d, nn.Linear)


# --------------------------------------------------------------------------- scores and masks
def filter_norm_mask(
    weight: torch.Tensor, sparsity: float, p: int = 1, prior: torch.Tensor | None = None
) -> torch.Tensor:
    """Keep-mask pruning the filters (output channels) of a conv weight with the smallest L``p`` norm.

    Li et al. 2017 ("Pruning Filters for Efficient ConvNets") rank the filters of each layer
    by the L1 norm of their weights and prune the weakest. A thin wrapper of
    :func:`course_lib.row_norm_mask` (a filter is a row of the weight flattened to
    ``(out_channels, in_channels * kh * kw)``), which checks that ``weight`` is a conv weight
    and ranks by L1 by default, as the paper does.

    Args:
        weight: a conv weight ``(out_channels, in_channels, kh, kw)``, finite floats; not changed.
        sparsity: the fraction of *filters* to prune, a float in [0, 1]:
            ``round(sparsity * out_channels)`` filters go.
        p: 1 (sum of |w| of a filter, the paper's choice) or 2 (Euclidean norm).
        prior: a bool mask of ``weight``'s shape already applied (see :func:`~course_lib.row_norm_mask`).

    Returns:
        A bool tensor of ``weight``'s shape, ``True`` = keep, whole filters ``False``.

    Raises:
        ValueError: ``weight`` is not 4-D, ``sparsity`` outside [0, 1], ``p`` not 1 or 2,
            ``prior`` of another shape (and the rest of what ``row_norm_mask`` raises).
        TypeError: ``weight`` not a floating-point tensor, ``sparsity`` not a number,
            ``prior`` not bool.

    >>> w = torch.zeros(3, 1, 2, 2); w[0] = 1.0; w[1] = -3.0; w[2] = 0.5
    >>> filter_norm_mask(w, 1 / 3)[:, 0, 0, 0]
    tensor([ True,  True, False])
    """
    if isinstance(weight, torch.Tensor) and weight.dim() != 4:
        raise ValueError(
            "weight must be a conv weight of shape (out_channels, in_channels, kh, kw), "
            f"got shape {tuple(weight.shape)}"
        )
    return row_norm_mask(weight, sparsity, p=p, prior=prior)


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def conv_bn_pairs(model: nn.Module) -> dict[str, str]:
    """Which ``BatchNorm2d`` normalizes the output of which ``Conv2d``: ``{conv name: bn name}``.

    Found by tracing the model with ``torch.fx`` (no data needed): a BatchNorm whose input is
    directly a conv's output, with as many channels, and the only use of that output. A
    pre-activation BatchNorm (DenseNet's ``bn -> relu -> conv``, whose input is also
    concatenated) normalizes only one use of a conv's output, and is not paired.

    Args:
        model: an ``nn.Module`` that ``torch.fx.symbolic_trace`` can trace; not changed. One
            reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is traced as its
            plain copy (:func:`course_lib.pruning.reparam.plain`).

    Returns:
        A dict in the order of the forward pass.

    Raises:
        TypeError: ``model`` is not a module, or ``torch.fx`` cannot trace it.

    >>> conv_bn_pairs(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU()))
    {'0': '1'}
    """
    model = plain(_check_model(model))  # traced without torch.nn.utils.prune's hooks / parametrize's classes
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception as err:  # fx raises many kinds (TraceError, TypeError, ...) on dynamic code
        raise TypeError(f"model could not be traced by torch.fx to find its conv/BatchNorm pairs: {err}") from err
    modules = dict(model.named_modules())
    pairs: dict[str, str] = {}
    for node in graph.nodes:
        bn = modules.get(str(node.target)) if node.op == "call_module" else None
        src = node.args[0] if node.args else None
        if not isinstance(bn, nn.BatchNorm2d) or not isinstance(src, torch.fx.Node) or src.op != "call_module":
            continue
        conv = modules.get(str(src.target))
        if isinstance(conv, nn.Conv2d) and conv.out_channels == bn.num_features and len(src.users) == 1:
            pairs.setdefault(str(src.target), str(node.target))
    return pairs


def bn_scale_scores(model: nn.Module) -> dict[str, torch.Tensor]:
    """Network slimming's channel scores: |BatchNorm scale gamma| of each conv's channels (Liu et al. 2017).

    Liu et al. 2017 ("Learning Efficient Convolutional Networks through Network Slimming")
    train with an L1 penalty on the BatchNorm scales and prune the channels with the smallest
    |gamma|, ranked *globally* across layers. A pure score function: the score of a filter is
    broadcast to all of its weights, so masks are taken by the existing functions:
    ``row_norm_mask(scores[name], sparsity)`` prunes whole filters per layer
    (``magnitude_mask`` or ``global_magnitude_masks`` on these scores may split one filter at
    the threshold, where several filters tie; :func:`course_lib.row_keep` then tells whole ones).

    Args:
        model: an ``nn.Module`` (traced by ``torch.fx``, see :func:`conv_bn_pairs`); not changed.
            A scale reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` is read as computed.

    Returns:
        ``{"<conv>.weight": float tensor of that weight's shape}`` for each conv whose output
        goes straight into an affine BatchNorm; ``scores[o, ...] = |gamma[o]|``.

    Raises:
        TypeError: ``model`` is not a module or cannot be traced.
        ValueError: no conv of ``model`` feeds an affine ``BatchNorm2d``.

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    >>> with torch.no_grad():
    ...     _ = net[1].weight.copy_(torch.tensor([0.5, -2.0]))
    >>> bn_scale_scores(net)["0.weight"].flatten()
    tensor([0.5000, 2.0000])
    """
    model = plain(_check_model(model))  # torch.nn.utils.prune / parametrize: the scales it computes with
    modules = dict(model.named_modules())
    scores = {}
    for conv_name, bn_name in conv_bn_pairs(model).items():
        conv, bn = modules[conv_name], modules[bn_name]
        if isinstance(bn, nn.BatchNorm2d) and bn.weight is not None and isinstance(conv, nn.Conv2d):
            gamma = bn.weight.detach().abs().reshape(-1, 1, 1, 1)
            scores[f"{conv_name}.weight" if conv_name else "weight"] = gamma.expand_as(conv.weight).clone()
    if not scores:
        raise ValueError("model has no Conv2d whose output goes straight into an affine BatchNorm2d")
    return scores


def channel_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``masks`` plus, for each conv weight mask, the masks of its channels' bias and BatchNorm entries.

    A filter whose weights are all masked still sends ``relu(bn(bias))`` on; masking its conv
    bias and its BatchNorm scale and shift too makes the channel output exactly 0, which is
    what removing it (Li et al. 2017; Torch-Pruning) computes. Pure: a new dict is returned.

    Args:
        model: the ``nn.Module`` the masks belong to (traced by ``torch.fx``); not changed. Names
            of weights reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` are plain
            (``"conv1.weight"``), as :func:`course_lib.pruning.masks.check_masks` reads them.
        masks: ``{parameter name: bool mask}``; a conv weight's mask keeps a channel if it
            keeps any of its entries (:func:`course_lib.row_keep`).

    Returns:
        A new dict: every entry of ``masks`` and, for each masked ``"<conv>.weight"``, the
        masks of ``"<conv>.bias"`` and of the paired (:func:`conv_bn_pairs`) BatchNorm's
        ``weight`` and ``bias`` (combined with ``&`` where ``masks`` already has them).

    Raises:
        TypeError, ValueError: as :func:`course_lib.pruning.masks.check_masks`, and a model
            ``torch.fx`` cannot trace (``TypeError``).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    >>> keep = torch.tensor([True, False]).reshape(2, 1, 1, 1)
    >>> sorted((k, v.tolist()) for k, v in channel_masks(net, {"0.weight": keep}).items() if v.dim() == 1)
    [('0.bias', [True, False]), ('1.bias', [True, False]), ('1.weight', [True, False])]
    """
    checked = check_masks(_check_model(model), masks)
    model = plain(model)  # torch.nn.utils.prune / parametrize: plain names "<conv>.weight", as check_masks reads
    params = dict(model.named_parameters())
    modules = dict(model.named_modules())
    pairs = conv_bn_pairs(model)
    out = dict(checked)
    for conv_name in (n for n, m in modules.items() if isinstance(m, nn.Conv2d)):
        key = f"{conv_name}.weight" if conv_name else "weight"
        if key not in checked:
            continue
        keep = row_keep(checked[key])
        owners = [conv_name] + ([pairs[conv_name]] if conv_name in pairs else [])
        for owner in owners:
            for leaf in ("weight", "bias") if owner != conv_name else ("bias",):
                name = f"{owner}.{leaf}" if owner else leaf
                if name in params:
                    out[name] = keep.to(params[name].device) & out.get(name, torch.ones_like(keep))
    return out


# --------------------------------------------------------------------------- removing channels
def _new(cls: type[M], *args: Any, like: torch.Tensor, **kwargs: Any) -> M:
    """An uninitialized ``cls(*args, **kwargs)`` on ``like``'s dtype and device (the caller fills it).

    Built on the meta device and then given empty storage: it draws nothing from the global
    RNG (removing channels does not shift later seeded draws) and costs no initialization.
    """
    return cls(*args, dtype=like.dtype, device="meta", **kwargs).to_empty(device=like.device)


def _reads_zero_padding(conv: nn.Conv2d) -> bool:
    """Whether some outputs of ``conv`` read zero padding (where a constant input is not constant)."""
    if conv.padding_mode != "zeros":
        return False  # reflect / replicate / circular padding of a constant is that constant
    if isinstance(conv.padding, str):
        return conv.padding == "same" and any(
            d * (k - 1) > 0 for d, k in zip(conv.dilation, conv.kernel_size, strict=True)
        )
    return any(p > 0 for p in conv.padding)


def _check_triple(conv: object, bn: object, next_layer: object) -> None:
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"conv must be a torch.nn.Conv2d, got {type(conv).__name__}")
    for what, layer in (("conv", conv), ("next_layer", next_layer)):
        if isinstance(layer, nn.Conv2d) and layer.groups != 1:
            raise ValueError(
                f"{what} has groups={layer.groups}: a grouped or depthwise conv ties its input channels to its "
                "filters; remove_channels handles groups=1 only (use Torch-Pruning for such graphs)"
            )
    if bn is not None:
        if not isinstance(bn, nn.BatchNorm2d):
            raise TypeError(f"bn must be a torch.nn.BatchNorm2d or None, got {type(bn).__name__}")
        if bn.num_features != conv.out_channels or bn.running_mean is None or bn.running_var is None:
            raise ValueError(
                f"bn must have running statistics and num_features = conv.out_channels = {conv.out_channels}, "
                f"got num_features={bn.num_features}, track_running_stats={bn.track_running_stats}"
            )
    if isinstance(next_layer, nn.Conv2d):
        if next_layer.in_channels != conv.out_channels:
            raise ValueError(
                f"next_layer.in_channels ({next_layer.in_channels}) must equal conv.out_channels ({conv.out_channels})"
            )
    elif isinstance(next_layer, nn.Linear):
        if next_layer.in_features % conv.out_channels:
            raise ValueError(
                f"next_layer.in_features ({next_layer.in_features}) must be a multiple of conv.out_channels "
                f"({conv.out_channels}): a flattened (channels, height, width) picture"
            )
    else:
        raise TypeError(f"next_layer must be a torch.nn.Conv2d or torch.nn.Linear, got {type(next_layer).__name__}")


def _check_keep(keep: object, conv: nn.Conv2d) -> torch.Tensor:
    if isinstance(keep, torch.Tensor) and keep.dim() >= 2:
        keep = row_keep(check_mask(keep, conv.weight.shape, name="keep"))
    keep = check_mask(keep, (conv.out_channels,), name="keep").to(conv.weight.device)
    if not keep.any():
        raise ValueError("keep must keep at least one channel (torch's Conv2d cannot have 0 output channels)")
    return keep


def _constants(conv: nn.Conv2d, bn: nn.BatchNorm2d | None, dropped: torch.Tensor, activation: Callable) -> torch.Tensor:
    """What each dropped channel sends on once its filter is zero: ``activation(bn_eval(bias))``."""
    w = conv.weight.detach()
    value = conv.bias.detach()[dropped] if conv.bias is not None else w.new_zeros(int(dropped.sum()))
    if bn is not None:
        assert bn.running_mean is not None and bn.running_var is not None  # checked
        value = (value - bn.running_mean[dropped]) / torch.sqrt(bn.running_var[dropped] + bn.eps)
        if bn.weight is not None and bn.bias is not None:
            value = value * bn.weight.detach()[dropped] + bn.bias.detach()[dropped]
    return activation(value)


def _smaller_conv(conv: nn.Conv2d, out_idx: torch.Tensor | None, in_idx: torch.Tensor | None) -> nn.Conv2d:
    """A copy of ``conv`` with only the filters ``out_idx`` and input channels ``in_idx`` (``None``: all)."""
    w = conv.weight.detach()
    w = w if out_idx is None else w[out_idx]
    w = w if in_idx is None else w[:, in_idx]
    new = _new(
        nn.Conv2d, w.shape[1], w.shape[0], conv.kernel_size, like=w, stride=conv.stride, padding=conv.padding,
        dilation=conv.dilation, bias=conv.bias is not None, padding_mode=conv.padding_mode,
    )  # fmt: skip
    with torch.no_grad():
        new.weight.copy_(w)
        if conv.bias is not None and new.bias is not None:
            new.bias.copy_(conv.bias.detach() if out_idx is None else conv.bias.detach()[out_idx])
    return new


def _smaller_bn(bn: nn.BatchNorm2d, idx: torch.Tensor) -> nn.BatchNorm2d:
    like = bn.running_mean if bn.running_mean is not None else torch.zeros(0)
    new = _new(
        nn.BatchNorm2d, len(idx), like=like, eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
        track_running_stats=bn.track_running_stats,
    )  # fmt: skip
    with torch.no_grad():
        for name, tensor in [*bn.named_parameters(recurse=False), *bn.named_buffers(recurse=False)]:
            getattr(new, name).copy_(tensor if tensor.dim() == 0 else tensor[idx])
    return new


def _flags(new: M, old: nn.Module) -> M:
    """``new`` with ``old``'s train/eval mode and each parameter's ``requires_grad`` (a new bias: the weight's)."""
    params = dict(old.named_parameters(recurse=False))
    for name, p in new.named_parameters(recurse=False):
        ref = params.get(name, params.get("weight"))
        p.requires_grad_(ref.requires_grad if ref is not None else True)
    return new.train(old.training)


def _with_bias(layer: L, old: nn.Conv2d | nn.Linear, fold: torch.Tensor | None) -> L:
    """``layer`` (a new Conv2d or Linear) with bias ``old.bias + fold`` (either may be absent), and ``old``'s flags."""
    if fold is not None or old.bias is not None:
        bias = torch.zeros(layer.weight.shape[0], dtype=layer.weight.dtype, device=layer.weight.device)
        if old.bias is not None:
            bias += old.bias.detach()
        if fold is not None:
            bias += fold
        layer.bias = nn.Parameter(bias)
    return _flags(layer, old)


def _next_without(next_layer: nn.Conv2d | nn.Linear, keep: torch.Tensor, const: torch.Tensor) -> nn.Conv2d | nn.Linear:
    """``next_layer`` without the dropped input channels; their constant folded into its bias."""
    dropped, idx = ~keep, keep.nonzero().flatten()
    w = next_layer.weight.detach()
    nonzero = bool((const != 0).any())
    if isinstance(next_layer, nn.Conv2d):
        fold = (w[:, dropped] * const.reshape(1, -1, 1, 1)).sum(dim=(1, 2, 3)) if nonzero else None
        return _with_bias(_smaller_conv(next_layer, None, idx), next_layer, fold)
    assert isinstance(next_layer, nn.Linear)
    blocks = w.reshape(w.shape[0], keep.numel(), -1)  # (out, channels, height * width): NCHW flatten order
    fold = (blocks[:, dropped].sum(dim=2) * const).sum(dim=1) if nonzero else None
    new = _new(nn.Linear, len(idx) * blocks.shape[2], w.shape[0], like=w, bias=False)
    with torch.no_grad():
        new.weight.copy_(blocks[:, idx].reshape(w.shape[0], -1))
    return _with_bias(new, next_layer, fold)


def remove_channels(
    conv: nn.Conv2d,
    bn: nn.BatchNorm2d | None,
    next_layer: nn.Conv2d | nn.Linear,
    keep: torch.Tensor,
    activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
) -> tuple[nn.Conv2d, nn.BatchNorm2d | None, nn.Conv2d | nn.Linear]:
    """Physically remove the channels of ``conv -> bn -> activation -> [pool] -> next_layer`` not in ``keep``.

    The filters of ``conv``, the entries of ``bn`` and the matching input channels of
    ``next_layer`` go (for a Linear after a flatten: the matching blocks of ``height * width``
    input features, in the NCHW order ``nn.Flatten`` gives). The layers returned compute what
    the *masked* layers compute (the removed filters' weights set to zero, BatchNorm in eval
    mode): each removed channel still sent the constant ``c = activation(bn(bias))`` (max- or
    average-pooling without zero padding keep it constant), and ``c`` times the sum of
    ``next_layer``'s matching weights is folded into its bias, as
    :func:`course_lib.remove_neurons` does for neurons. This is exact when ``next_layer`` is a
    Linear or a conv that reads no zero padding; a zero-padded conv sees ``c`` inside the
    picture and 0 in the padding, which no bias reproduces, so a non-zero ``c`` is then an error
    (mask the channel's bias and BatchNorm entries too, :func:`channel_masks`, to make ``c`` 0).

    Args:
        conv: the ``nn.Conv2d`` (``groups=1``) whose filters are pruned.
        bn: the ``nn.BatchNorm2d`` on its output (with running statistics), or ``None``.
        next_layer: the ``nn.Conv2d`` (``groups=1``) or ``nn.Linear`` that reads the channels.
        keep: a 1-D bool tensor of length ``conv.out_channels`` (``True`` = the channel stays,
            at least one), or a mask of ``conv.weight``'s shape (a filter stays if any entry does).
        activation: the elementwise function after ``bn``, ``torch.relu`` by default.

    Returns:
        ``(new_conv, new_bn, new_next)``: new layers (``new_bn`` is ``None`` when ``bn`` is) with
        the inputs' dtype, device, train/eval mode and ``requires_grad``; ``new_next`` gets a
        bias when a fold needs one. The inputs are not changed. A layer reparametrized by
        ``torch.nn.utils.prune`` / ``parametrize`` is read as it computes; the new ones are plain.

    Raises:
        TypeError: a layer of the wrong type, ``keep`` not bool, ``activation`` not callable.
        ValueError: mismatched channel counts, a grouped/depthwise conv, ``bn`` without
            running statistics, ``keep`` of the wrong shape or keeping no channel, or a removed
            channel whose non-zero constant would meet ``next_layer``'s zero padding.

    >>> torch.manual_seed(0); a, b = nn.Conv2d(1, 4, 3), nn.Conv2d(4, 2, 3)
    <torch._C.Generator object at ...>
    >>> a2, _, b2 = remove_channels(a, None, b, torch.tensor([True, False, True, False]))
    >>> a2.weight.shape, b2.weight.shape
    (torch.Size([2, 1, 3, 3]), torch.Size([2, 2, 3, 3]))
    >>> x = torch.randn(1, 1, 7, 7); a.weight.data[[1, 3]] = 0  # the masked pair
    >>> torch.allclose(b(torch.relu(a(x))), b2(torch.relu(a2(x))), atol=1e-6)
    True
    """
    _check_triple(conv, bn, next_layer)
    if not callable(activation):
        raise TypeError(f"activation must be callable (e.g. torch.relu), got {type(activation).__name__}")
    conv, next_layer = plain(conv), plain(next_layer)  # pruned / parametrized: the weights they compute with
    bn = plain(bn) if bn is not None else None
    keep = _check_keep(keep, conv)
    with torch.no_grad():
        const = _constants(conv, bn, ~keep, activation)
        if isinstance(next_layer, nn.Conv2d) and _reads_zero_padding(next_layer) and bool((const != 0).any()):
            bad = (~keep).nonzero().flatten()[const != 0].tolist()
            raise ValueError(
                f"removed channel(s) {bad} send a non-zero constant activation(bn(bias)) into next_layer's zero "
                "padding, which no bias reproduces at the borders: mask those channels' bias and BatchNorm "
                "entries too (channel_masks), or keep them"
            )
        idx = keep.nonzero().flatten()
        new_conv = _flags(_smaller_conv(conv, idx, None), conv)
        new_bn = _flags(_smaller_bn(bn, idx), bn) if bn is not None else None
        new_next = _next_without(next_layer, keep, const.to(next_layer.weight))
    return new_conv, new_bn, new_next


def _between_ok(first: nn.Module, between: list[tuple[str, nn.Module]], second: nn.Module) -> str | None:
    """Why the layers between two prunable layers do not form a plain link, or ``None`` if they do."""
    kinds = [m for _, m in between if not isinstance(m, nn.Identity)]
    if isinstance(first, nn.Conv2d) and kinds and isinstance(kinds[0], nn.BatchNorm2d):
        kinds = kinds[1:]  # a BatchNorm right after the conv
    relus = sum(isinstance(m, nn.ReLU) for m in kinds)
    flats = sum(isinstance(m, nn.Flatten) for m in kinds)
    pools = sum(isinstance(m, _POOLS) for m in kinds)
    if isinstance(first, nn.Linear) and not isinstance(second, nn.Linear):
        return "a Linear layer followed by a Conv2d"
    if relus != 1 or relus + flats + pools != len(kinds):
        return "exactly one ReLU (and, after a conv, its BatchNorm right after it, pooling and a Flatten)"
    if flats != int(isinstance(first, nn.Conv2d) and isinstance(second, nn.Linear)) or (
        pools and isinstance(first, nn.Linear)
    ):
        return "one Flatten between the last Conv2d and the first Linear, pooling only after a conv"
    return None


def _chain_plan(model: object) -> list[tuple[str, str | None, str]]:
    """``(layer, its BatchNorm or None, next prunable layer)`` for each link of a plain chain; raises otherwise."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential plain chain, got {type(model).__name__}")
    layers = [(name, m) for name, m in model.named_children()]
    for name, m in layers:
        if not isinstance(m, CHAIN_LAYERS):
            raise TypeError(
                f"model may hold only {', '.join(c.__name__ for c in CHAIN_LAYERS)} layers (a plain chain); "
                f"layer {name!r} is {type(m).__name__} (graphs with branches: use Torch-Pruning)"
            )
        if isinstance(m, nn.Conv2d) and m.groups != 1:
            raise ValueError(f"layer {name!r} is a grouped or depthwise Conv2d (groups={m.groups}), not a plain link")
        if isinstance(m, nn.AvgPool2d) and m.count_include_pad and m.padding not in (0, (0, 0)):
            raise ValueError(f"layer {name!r} averages zero padding, which makes a constant channel non-constant")
    at = [i for i, (_, m) in enumerate(layers) if isinstance(m, nn.Conv2d | nn.Linear)]
    plan = []
    for a, b in zip(at, at[1:], strict=False):
        why = _between_ok(layers[a][1], layers[a + 1 : b], layers[b][1])
        if why is not None:
            found = [type(m).__name__ for _, m in layers[a + 1 : b]]
            raise ValueError(f"between {layers[a][0]!r} and {layers[b][0]!r} model must have {why}; it has {found}")
        bn = next((n for n, m in layers[a + 1 : b] if isinstance(m, nn.BatchNorm2d)), None)
        plan.append((layers[a][0], bn, layers[b][0]))
    return plan


def shrink_conv_chain(model: nn.Sequential, masks: Mapping[str, torch.Tensor]) -> nn.Sequential:
    """A smaller dense copy of a plain conv chain with every fully masked filter (and hidden neuron) removed.

    The masks are applied to a copy; then, link by link, :func:`remove_channels` cuts out each
    filter whose mask is all ``False`` (with its BatchNorm entries and the next layer's inputs)
    and :func:`course_lib.remove_neurons` each such hidden neuron of the Linear layers. The last
    layer keeps all its outputs. In eval mode the result computes what the masked model
    computes; see :func:`remove_channels` for when a removed channel's constant can be folded
    (pass :func:`channel_masks` ``(model, masks)`` to mask its bias and BatchNorm entries too).
    The course's :func:`~course_lib.training.conv_models.lth_conv`,
    :func:`~course_lib.training.conv_models.vgg` and
    :func:`~course_lib.training.conv_models.simplenet` are such chains.

    Args:
        model: an ``nn.Sequential`` of :data:`CHAIN_LAYERS` (``groups=1`` convs): between two
            convs a BatchNorm right after the first (optional), one ReLU and pooling; between the
            last conv and the first Linear also one Flatten; between Linear layers one ReLU.
            Not changed.
        masks: ``{parameter name: bool keep-mask of its shape}``.

    Returns:
        A new ``nn.Sequential`` with the same layer names and fewer channels and neurons; layers
        reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` come out plain.

    Raises:
        TypeError: ``model`` is not an ``nn.Sequential`` of those layers, or a mask is not bool.
        ValueError: the layers do not form such a chain, a mask has an unknown name or the
            wrong shape, a layer would keep no channel, or a constant cannot be folded
            (see :func:`remove_channels`). All but the last are raised before anything is
            built, and ``model`` is never changed.

    >>> from course_lib.training.conv_models import vgg
    >>> net = vgg(width=0.125).eval()
    >>> small = shrink_conv_chain(net, channel_masks(net, {"conv1.weight": filter_norm_mask(net.conv1.weight, 0.5)}))
    >>> small.conv1.out_channels, small.bn1.num_features, small.conv2.in_channels
    (4, 4, 4)
    """
    plan = _chain_plan(model)
    small = plain_copy(model)  # torch.nn.utils.prune / parametrize made permanent: the weights it computes with
    apply_masks(small, masks)  # validates every mask first
    new_first: nn.Module
    new_second: nn.Module
    for first_name, bn_name, next_name in plan:
        first, second = small._modules[first_name], small._modules[next_name]
        key = f"{first_name}.weight"
        if isinstance(first, nn.Conv2d):
            keep = row_keep(masks[key]) if key in masks else torch.ones(first.out_channels, dtype=torch.bool)
            bn = small._modules[bn_name] if bn_name is not None else None
            assert isinstance(second, nn.Conv2d | nn.Linear) and (bn is None or isinstance(bn, nn.BatchNorm2d))
            new_first, new_bn, new_second = remove_channels(first, bn, second, keep)
            if bn_name is not None:
                setattr(small, bn_name, new_bn)
        else:
            assert isinstance(first, nn.Linear) and isinstance(second, nn.Linear)  # checked by _chain_plan
            keep = row_keep(masks[key]) if key in masks else torch.ones(first.out_features, dtype=torch.bool)
            new_first, new_second = remove_neurons(first, second, keep)
        setattr(small, first_name, new_first)
        setattr(small, next_name, new_second)
    return small
