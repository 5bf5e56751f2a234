"""Torch-Pruning (DepGraph, Fang et al. 2023) as an oracle for the course's channel removal: on plain
chains, L1 filter pruning (Li et al. 2017) by ``filter_norm_mask`` + ``shrink_conv_chain`` keeps the same
channels as Torch-Pruning's pruner with the same ranking, and as the course's layer over Torch-Pruning
(``course_lib.pruning.depgraph``), and gives the same model and outputs."""

import copy

import pytest
import torch
import torch_pruning as tp
from test_channels import _randomize_bn
from torch import nn

from course_lib.pruning.channels import channel_masks, filter_norm_mask, shrink_conv_chain
from course_lib.pruning.depgraph import channel_group_masks, prune_channels
from course_lib.pruning.structured import row_keep
from course_lib.training.config import num_threads
from course_lib.training.conv_models import lth_conv, vgg


def _torch_pruning_l1(model, ratio):
    """Torch-Pruning's pruner ranking each conv's filters by their own L1 norm (``group_reduction="first"``:
    the root conv's output channels, not the group's sum), every conv at ``ratio``, the Linear layers kept."""
    pruned = copy.deepcopy(model)
    importance = tp.importance.GroupMagnitudeImportance(
        p=1, group_reduction="first", normalizer=None, target_types=[nn.Conv2d]
    )
    linears = [m for m in pruned.modules() if isinstance(m, nn.Linear)]
    with torch.enable_grad():  # Torch-Pruning traces the graph through autograd
        tp.pruner.MagnitudePruner(
            pruned, torch.zeros(1, 1, 28, 28), importance=importance, pruning_ratio=ratio, ignored_layers=linears
        ).step()
    return pruned.eval()


def _same_model(a, b):
    mine, other = a.state_dict(), b.state_dict()
    assert set(mine) == set(other)
    assert [k for k in mine if mine[k].shape != other[k].shape or not torch.equal(mine[k], other[k])] == []


@pytest.mark.parametrize("build", [lambda: vgg(width=0.25), lambda: lth_conv(4)], ids=["vgg11", "conv4"])
def test_same_channels_same_model_same_outputs_as_torch_pruning(build):
    with num_threads(1):
        net = _randomize_bn(build())
        filters = {
            f"{n}.weight": filter_norm_mask(m.weight, 0.5) for n, m in net.named_children() if isinstance(m, nn.Conv2d)
        }
        ours = shrink_conv_chain(net, channel_masks(net, filters)).eval()
        theirs = _torch_pruning_l1(net, 0.5)
        _same_model(ours, theirs)
        x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            assert torch.allclose(ours(x), theirs(x), atol=1e-5)
        assert ours.conv2.out_channels == net.conv2.out_channels // 2


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize(
    "build",
    [lambda: vgg(width=0.25), lambda: vgg("vgg13"), lambda: lth_conv(2), lambda: lth_conv(4, width=0.25)],
    ids=["vgg11", "vgg13", "conv2", "conv4"],
)
def test_course_removal_and_prune_channels_keep_the_same_channels(build, p):
    with num_threads(1):
        net = _randomize_bn(build())
        convs = {f"{n}.weight": m.weight for n, m in net.named_children() if isinstance(m, nn.Conv2d)}
        filters = {k: filter_norm_mask(w, 0.5, p) for k, w in convs.items()}
        ours = shrink_conv_chain(net, channel_masks(net, filters)).eval()
        theirs = prune_channels(net, 0.5, (1, 28, 28), norm=p).eval()
        masks = channel_group_masks(net, 0.5, (1, 28, 28), norm=p)
        assert all(torch.equal(row_keep(masks[k]), row_keep(filters[k])) for k in convs)
        _same_model(ours, theirs)
        x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            assert torch.allclose(ours(x), theirs(x), atol=1e-5)
