"""Torch-Pruning (DepGraph, Fang et al. 2023) as an oracle for the course's channel removal: on plain
chains, L1 filter pruning (Li et al. 2017) by ``filter_norm_mask`` + ``shrink_conv_chain`` keeps the same
channels as Torch-Pruning's pruner with the same ranking, and gives the same model and outputs."""

import copy

import pytest
import torch
import torch_pruning as tp
from torch import nn

from course_lib.pruning.channels import channel_masks, filter_norm_mask, shrink_conv_chain
from course_lib.training.config import num_threads
from course_lib.training.conv_models import lth_conv, vgg


def _randomize_bn(model):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model.eval()


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


@pytest.mark.parametrize("build", [lambda: vgg(width=0.25), lambda: lth_conv(4)], ids=["vgg11", "conv4"])
def test_same_channels_same_model_same_outputs_as_torch_pruning(build):
    with num_threads(1):
        net = _randomize_bn(build())
        filters = {
            f"{n}.weight": filter_norm_mask(m.weight, 0.5) for n, m in net.named_children() if isinstance(m, nn.Conv2d)
        }
        ours = shrink_conv_chain(net, channel_masks(net, filters)).eval()
        theirs = _torch_pruning_l1(net, 0.5)
        mine, other = ours.state_dict(), theirs.state_dict()
        assert set(mine) == set(other)
        assert [k for k in mine if mine[k].shape != other[k].shape or not torch.equal(mine[k], other[k])] == []
        x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            assert torch.allclose(ours(x), theirs(x), atol=1e-5)
        assert ours.conv2.out_channels == net.conv2.out_channels // 2
