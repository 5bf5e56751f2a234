"""course_lib.macs: MACs per sample equal hand counts (dense, masked, neurons removed)."""

import pytest
import torch
from torch import nn

from course_lib import row_norm_mask, shrink_mlp
from course_lib.measure.work import flops, layer_macs, macs
from course_lib.training.models import lenet_300_100, mlp


def test_dense_macs_by_hand():
    net = mlp([5, 4, 3, 2], seed=0)
    assert layer_macs(net, skip_zeros=False) == {"fc1": 20, "fc2": 12, "fc3": 6}
    assert macs(net, skip_zeros=False) == 38 == macs(net)  # random init: no zeros
    assert flops(net) == 76
    assert macs(lenet_300_100(), skip_zeros=False) == 784 * 300 + 300 * 100 + 100 * 10


def test_masks_and_zeros():
    net = mlp([5, 4, 3, 2], seed=0)
    keep = torch.zeros(4, 5, dtype=torch.bool)
    keep[:, :2] = True  # 8 of 20 kept
    assert layer_macs(net, {"fc1.weight": keep}) == {"fc1": 8, "fc2": 12, "fc3": 6}
    assert macs(net, {"fc1.weight": keep}, skip_zeros=False) == 38  # a dense kernel multiplies the zeros too
    with torch.no_grad():
        net.fc3.weight[0] = 0  # zeros already in the weights count too
    assert layer_macs(net)["fc3"] == 3


def test_removing_neurons_reduces_macs():
    net = lenet_300_100()
    masks = {"fc1.weight": row_norm_mask(net.fc1.weight, 0.5), "fc2.weight": row_norm_mask(net.fc2.weight, 0.5)}
    small = shrink_mlp(net, masks)
    assert macs(small, skip_zeros=False) == 784 * 150 + 150 * 50 + 50 * 10
    assert macs(small, skip_zeros=False) < macs(net, skip_zeros=False) / 2


def test_bare_linear_and_bad_input():
    assert macs(nn.Linear(3, 2), skip_zeros=False) == 6
    with pytest.raises(TypeError, match="model"):
        macs("net")
    with pytest.raises(TypeError, match="Conv2d"):
        macs(nn.Sequential(nn.Conv2d(1, 2, 3)))
    with pytest.raises(TypeError, match="skip_zeros"):
        macs(nn.Linear(3, 2), skip_zeros="yes")
    with pytest.raises(ValueError, match="masks"):
        macs(nn.Linear(3, 2), {"nope": torch.ones(2, 3, dtype=torch.bool)})
