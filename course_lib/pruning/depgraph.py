"""Channel pruning of any conv graph, by Torch-Pruning (DepGraph, Fang et al. 2023).

Removing a channel of a plain chain touches three layers (:mod:`course_lib.pruning.channels`
does it from scratch). In other graphs one channel ties many layers together:

* MobileNet V1 (Howard et al. 2017): a channel made by a pointwise conv goes through its
  BatchNorm into the next *depthwise* conv, whose filter ``c`` reads only channel ``c`` and
  writes channel ``c``: removing it removes the pointwise filter, its BatchNorm entry, the
  depthwise filter, *its* BatchNorm entry and the next pointwise conv's input channel;
* DenseNet (Huang et al. 2017): a channel is concatenated into the input of every later layer
  of its block (and the transition after it): all of them lose that input channel, each at
  its own position in the concatenation, and each pre-activation BatchNorm that reads it;
* residual additions (ResNet): channels added together must go together, in every branch.

Torch-Pruning's ``DependencyGraph`` (``torch-pruning``, Fang et al. 2023, "DepGraph: Towards
Any Structural Pruning") finds these *groups* by tracing a forward pass through autograd. This
module is a thin layer over it:

* :func:`channel_groups`: the groups, as small records to print (:class:`ChannelGroup`);
* :func:`channel_group_masks`: bool masks (``True`` = keep) of the pruned channels on every
  parameter they touch, for a masked model;
* :func:`prune_channels`: a new, smaller model with those channels removed.

One function chooses the channels for both: in each group, the fraction ``sparsity`` with the
smallest L1 (or L2) norm of their *filters*, i.e. all weights that write the channel (the
filter of each conv whose output channels the group removes: one conv in a chain; the
pointwise and the depthwise filter in MobileNet; every branch of a residual sum). Li et al.
2017 ("Pruning Filters for Efficient ConvNets") rank each layer's filters by L1 norm, each
layer on the dense weights ("independent" pruning), as here. In eval mode, the masked model
and the removed one compute the same outputs: a masked channel's conv filter, bias and
BatchNorm scale and shift are zero, so it outputs exactly 0 whatever the BatchNorm's running
statistics, and every layer reading it has that input masked too.

Only the convs' channels are pruned: the outputs of the last layer (the classifier) and the
neurons of Linear layers stay (:func:`course_lib.shrink_mlp` removes neurons).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch_pruning as tp
from torch import nn

from course_lib._checks import check_input_size, check_sparsity
from course_lib.pruning.masks import n_to_prune, smallest_k_mask
from course_lib.pruning.reparam import effective_parameters, plain_copy

__all__ = ["GroupMember", "ChannelGroup", "channel_groups", "channel_group_masks", "prune_channels", "SUPPORTED"]

#: The layer types that may hold parameters (any parameter-free module is fine: ReLU, pooling, ...).
SUPPORTED = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)


@dataclass(frozen=True)
class GroupMember:
    """One layer a group's channels touch, and along which of its dimensions.

    Attributes:
        layer: the layer's name in the model (``model.get_submodule(layer)``).
        kind: its class name, ``"Conv2d"``, ``"BatchNorm2d"`` or ``"Linear"``.
        dim: ``"out channels"`` (a conv's filters), ``"depthwise"`` (a depthwise conv's
            filters, whose input and output channels go together), ``"in channels"`` (a conv's
            input channels), ``"BatchNorm"`` (its scale, shift and running statistics) or
            ``"in features"`` (a Linear after a flatten: ``height * width`` per channel).
        indices: the entries of that dimension the group occupies (positions in a
            concatenation for DenseNet).
        channels: for each of ``indices``, the group channel (``0 ... size - 1``) it belongs to.
    """

    layer: str
    kind: str
    dim: str
    indices: tuple[int, ...]
    channels: tuple[int, ...]

    def __str__(self) -> str:
        per = len(self.indices) // max(1, len(set(self.channels)))
        each = f" ({per} per channel)" if per > 1 else ""
        return f"{self.layer:<20} {self.kind:<12} {self.dim:<13} {_ranges(self.indices)}{each}"


@dataclass(frozen=True)
class ChannelGroup:
    """Channels that must be removed together, and every layer that removing one touches.

    Attributes:
        root: the conv layer Torch-Pruning starts the group from (its output channels).
        size: the number of channels of the group (the root's output channels).
        members: the layers touched, in the order the forward pass calls them (a layer's inputs
            before its outputs).
    """

    root: str
    size: int
    members: tuple[GroupMember, ...]

    def __str__(self) -> str:
        head = f"group of {self.size} channels (root {self.root}); removing channel c touches:"
        return "\n".join([head, *(f"  {m}" for m in self.members)])


def _ranges(idxs: tuple[int, ...]) -> str:
    """``(0, 1, 2, 5)`` -> ``"0-2, 5"``; at most 4 ranges, then ``"..."``."""
    spans: list[list[int]] = []
    for i in sorted(set(idxs)):
        if spans and i == spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    text = [f"{a}-{b}" if b > a else f"{a}" for a, b in spans]
    return ", ".join(text[:4]) + (", ..." if len(text) > 4 else "")


# --------------------------------------------------------------------------- tracing
def _check_model(model: object) -> nn.Module:
    """``model`` if every parameter sits in a supported layer; a ``TypeError``/``ValueError`` naming it otherwise."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, m in model.named_modules():
        own = [n for n, _ in m.named_parameters(recurse=False)]
        where = f"layer {name!r} ({type(m).__name__})" if name else f"the model itself ({type(m).__name__})"
        if own and not isinstance(m, SUPPORTED):
            raise TypeError(
                f"{where} holds parameters {own}; channel pruning supports parameters only in nn.Conv2d, "
                "nn.BatchNorm2d and nn.Linear layers"
            )
        if set(own) - {"weight", "bias"}:
            raise TypeError(
                f"{where} has parameters {own} (a torch.nn.utils.prune or parametrize reparametrization?): "
                "make the weights plain parameters first (e.g. torch.nn.utils.prune.remove)"
            )
        if isinstance(m, nn.Conv2d) and m.groups > 1 and not m.groups == m.in_channels == m.out_channels:
            raise ValueError(
                f"{where} is a grouped Conv2d (groups={m.groups}, {m.in_channels} -> {m.out_channels} channels);"
                " supported: groups=1 or depthwise (groups = in_channels = out_channels)"
            )
    return model


def _traced(model: nn.Module, input_size: object) -> tuple[nn.Module, Any, list[str]]:
    """A deep copy of ``model``, Torch-Pruning's dependency graph of it, and its layers in the order called."""
    size = check_input_size(input_size)
    if len(size) != 3:
        raise ValueError(f"input_size must be (channels, height, width) of one picture, got {input_size!r}")
    net = _check_model(plain_copy(model))  # torch.nn.utils.prune / parametrize made permanent
    for p in net.parameters():
        p.requires_grad_(True)  # Torch-Pruning traces through autograd
    like = next(net.parameters(), torch.zeros(0))
    called: list[str] = []
    names = {m: n for n, m in net.named_modules()}
    hooks = [
        m.register_forward_hook(lambda m, i, o: called.append(names[m]))
        for m in net.modules()
        if isinstance(m, SUPPORTED)
    ]
    try:
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its notes on ops it treats as elementwise (ReLU, pooling, ...)
            graph = tp.DependencyGraph().build_dependency(
                net, torch.zeros(1, *size, dtype=like.dtype, device=like.device), verbose=False
            )
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"input_size={size} does not fit the model: {err}") from err
    finally:
        for h in hooks:
            h.remove()
    return net, graph, list(dict.fromkeys(called))


def _member(graph: Any, item: Any) -> GroupMember | None:
    """The :class:`GroupMember` of one item of a Torch-Pruning group; ``None`` for ops without parameters."""
    layer = item.dep.target.module
    if not isinstance(layer, SUPPORTED):
        return None  # ReLU, pooling, concatenation, flatten: Torch-Pruning's placeholders
    out = graph.is_out_channel_pruning_fn(item.dep.handler)
    if isinstance(layer, nn.BatchNorm2d):
        dim = "BatchNorm"
    elif isinstance(layer, nn.Conv2d):
        dim = "depthwise" if layer.groups > 1 else ("out channels" if out else "in channels")
    else:
        dim = "out features" if out else "in features"
    name = graph._module2name[layer]
    return GroupMember(name, type(layer).__name__, dim, tuple(item.idxs), tuple(item.root_idxs))


def _groups(model: nn.Module, input_size: object) -> tuple[nn.Module, Any, list[ChannelGroup]]:
    """The copy, its graph, a :class:`ChannelGroup` per group rooted at a conv (not the classifier), forward order."""
    net, graph, order = _traced(model, input_size)
    ignored = [net.get_submodule(order[-1])] if order else []
    rank = {name: i for i, name in enumerate(order)}
    groups = []
    for group in graph.get_all_groups(ignored_layers=ignored, root_module_types=[nn.Conv2d]):
        found = (_member(graph, item) for item in group)
        members = sorted(
            (m for m in found if m is not None), key=lambda m: (rank.get(m.layer, len(rank)), m.dim[:3] != "in ")
        )
        root = group[0].dep.target.module
        groups.append(ChannelGroup(graph._module2name[root], root.out_channels, tuple(members)))
    return net, graph, sorted(groups, key=lambda g: rank.get(g.members[0].layer, len(rank)))


def channel_groups(model: nn.Module, input_size: tuple[int, ...]) -> list[ChannelGroup]:
    """The groups of channels Torch-Pruning (DepGraph, Fang et al. 2023) finds in ``model``, to print.

    Each group is rooted at a conv's output channels; removing channel ``c`` of the group
    removes entry ``c`` of every member's dimension. Groups with the last layer (the classifier)
    among their output channels are left out: its outputs are never pruned.

    Args:
        model: an ``nn.Module`` whose parameters all sit in :data:`SUPPORTED` layers (convs
            with ``groups=1`` or depthwise); not changed (a deep copy is traced: one with every
            ``torch.nn.utils.prune`` / ``parametrize`` reparametrization made permanent,
            :func:`course_lib.pruning.reparam.plain_copy`, so the weights it computes with).
        input_size: one picture without the batch, ``(channels, height, width)`` ints >= 1.

    Returns:
        A list of :class:`ChannelGroup`, in the order the forward pass first calls their layers.

    Raises:
        TypeError: ``model`` is not a module or has parameters in another kind of layer
            (the message names the layer).
        ValueError: a grouped conv (not depthwise), or ``input_size`` not a tuple of ints >= 1
            or not accepted by the model.

    >>> from course_lib.training.conv_models import mobilenet_v1
    >>> print(channel_groups(mobilenet_v1(), (1, 28, 28))[1])
    group of 8 channels (root block2.dw); removing channel c touches:
      block1.pw            Conv2d       out channels  0-7
      block1.pw_bn         BatchNorm2d  BatchNorm     0-7
      block2.dw            Conv2d       depthwise     0-7
      block2.dw_bn         BatchNorm2d  BatchNorm     0-7
      block2.pw            Conv2d       in channels   0-7
    """
    return _groups(model, input_size)[2]


# --------------------------------------------------------------------------- choosing, masking, removing
def _check_args(sparsity: object, norm: object) -> float:
    s = check_sparsity(sparsity)
    if s >= 1.0:
        raise ValueError(f"sparsity must be in [0, 1) (every group keeps a channel), got {sparsity!r}")
    if type(norm) is not int or norm not in (1, 2):
        raise ValueError(f"norm must be the int 1 or 2 (L1 or L2 norm of the filters), got {norm!r}")
    return s


def _filter_norms(net: nn.Module, group: ChannelGroup, p: int) -> torch.Tensor:
    """L``p`` norm per channel of all the filters that write it (out-channel and depthwise members)."""
    total = torch.zeros(group.size, dtype=torch.float64)
    for m in group.members:
        if m.dim in ("out channels", "depthwise"):
            layer = net.get_submodule(m.layer)
            assert isinstance(layer, nn.Conv2d)  # out-channel members of a conv-rooted group
            w = layer.weight.detach()
            part = w[list(m.indices)].reshape(len(m.indices), -1).abs().pow(p).sum(dim=1).double().cpu()
            total.index_add_(0, torch.tensor(m.channels), part)
    return total.pow(1.0 / p)


def _chosen(model: nn.Module, sparsity: object, input_size: object, norm: object) -> tuple[nn.Module, Any, list]:
    """The copy, its graph, and ``(group, channels to remove)`` for each group: the one choice of the module."""
    s = _check_args(sparsity, norm)
    net, graph, groups = _groups(model, input_size)
    assert isinstance(norm, int)
    plan = []
    for g in groups:
        k = min(n_to_prune(s, g.size), g.size - 1)
        drop = (~smallest_k_mask(_filter_norms(net, g, norm), k)).nonzero().flatten().tolist()
        plan.append((g, drop))
    return net, graph, plan


def channel_group_masks(
    model: nn.Module, sparsity: float, input_size: tuple[int, ...], norm: int = 1
) -> dict[str, torch.Tensor]:
    """Keep-masks of the channels :func:`prune_channels` removes, on every parameter they touch.

    In each group of :func:`channel_groups`, ``min(round(sparsity * size), size - 1)`` channels
    with the smallest L``norm`` norm of their filters (Li et al. 2017) are pruned; the masks
    are ``False`` on their conv filters and biases, their BatchNorm scales and shifts, and the
    input channels (or flattened input features) of every layer that reads them. With the masks
    applied (:func:`course_lib.apply_masks`), the model in eval mode computes what
    :func:`prune_channels` ``(model, sparsity, input_size, norm)`` computes.

    Args:
        model: as in :func:`channel_groups`; not changed.
        sparsity: the fraction of each group's channels to prune, a float in [0, 1).
        input_size: as in :func:`channel_groups`.
        norm: 1 (the paper's L1 norm) or 2.

    Returns:
        ``{parameter name: bool tensor of its shape}``, ``True`` = keep, for each parameter of
        a layer some group touches.

    Raises:
        TypeError, ValueError: as :func:`channel_groups`; ``sparsity`` not a number in [0, 1),
            ``norm`` not 1 or 2.

    >>> from course_lib.training.conv_models import vgg
    >>> masks = channel_group_masks(vgg(), 0.5, (1, 28, 28))
    >>> keep = masks["conv2.weight"]  # (16, 8, 3, 3): filters kept, input channels kept
    >>> int(keep.any(dim=(1, 2, 3)).sum()), int(keep.any(dim=(0, 2, 3)).sum())
    (8, 4)
    """
    net, _, plan = _chosen(model, sparsity, input_size, norm)
    params = dict(net.named_parameters())
    masks: dict[str, torch.Tensor] = {}
    for group, drop in plan:
        for m in group.members:
            gone = [i for i, c in zip(m.indices, m.channels, strict=True) if c in set(drop)]
            for leaf in ("weight", "bias"):
                name = f"{m.layer}.{leaf}" if m.layer else leaf
                if name not in params:
                    continue
                mask = masks.setdefault(name, torch.ones_like(params[name], dtype=torch.bool))
                if m.dim in ("in channels", "in features"):
                    if leaf == "weight":
                        mask[:, gone] = False
                else:
                    mask[gone] = False
    return masks


def prune_channels(model: nn.Module, sparsity: float, input_size: tuple[int, ...], norm: int = 1) -> nn.Module:
    """A new, smaller model: ``model`` with the channels :func:`channel_group_masks` masks removed.

    Torch-Pruning removes each group's chosen channels from every member (conv filters and
    input channels, BatchNorm entries with their running statistics, Linear input features).
    The layers keep their names; train/eval mode and ``requires_grad`` are ``model``'s.

    Args:
        model: as in :func:`channel_groups`; not changed (a deep copy is pruned).
        sparsity: the fraction of each group's channels to remove, a float in [0, 1).
        input_size: as in :func:`channel_groups`.
        norm: 1 (the paper's L1 norm) or 2.

    Returns:
        The smaller model (the same classes, fewer channels).

    Raises:
        TypeError, ValueError: as :func:`channel_group_masks`.

    >>> from course_lib.training.conv_models import vgg
    >>> small = prune_channels(vgg(), 0.5, (1, 28, 28))
    >>> small.conv1.out_channels, small.bn1.num_features, small.conv2.in_channels, small.fc1.in_features
    (4, 4, 4, 32)
    """
    net, graph, plan = _chosen(model, sparsity, input_size, norm)
    for group, drop in plan:
        if drop:
            root = net.get_submodule(group.root)
            graph.get_pruning_group(root, graph.get_pruner_of_module(root).prune_out_channels, drop).prune()
    flags = {n: p.requires_grad for n, p in effective_parameters(model).items()}
    for n, p in net.named_parameters():
        p.requires_grad_(flags.get(n, True))
    modes = {n: m.training for n, m in model.named_modules()}
    for n, m in net.named_modules():
        m.training = modes.get(n, m.training)  # Torch-Pruning's trace put the copy in eval mode
    return net
