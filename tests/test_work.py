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


# --------------------------------------------------------------------------- conv nets (input_size)
def test_depthwise_and_grouped_conv_macs_by_hand():
    depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)  # each filter reads 1 channel
    assert macs(depthwise, input_size=(8, 10, 10), skip_zeros=False) == 10 * 10 * 8 * 1 * 3 * 3
    grouped = nn.Conv2d(6, 4, 3, stride=2, groups=2)  # 9x9 -> 4x4, each filter reads 3 channels
    assert macs(grouped, input_size=(6, 9, 9), skip_zeros=False) == 4 * 4 * 4 * 3 * 3 * 3
    rect = nn.Conv2d(2, 3, (1, 3), padding=(0, 1), dilation=(1, 1))
    assert macs(rect, input_size=(2, 5, 7), skip_zeros=False) == 5 * 7 * 3 * 2 * 1 * 3


def test_batchnorm_pooling_and_linear_by_hand():
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, bias=False),  # 6*6*3*9 = 972
        nn.BatchNorm2d(3),  # 3*6*6 = 108
        nn.ReLU(),
        nn.MaxPool2d(2),  # out 3*3*3 = 27 elements, 4 reads each = 108
        nn.AvgPool2d(3, stride=1, padding=1),  # out 27 elements, 9 reads each = 243
        nn.AdaptiveAvgPool2d(1),  # reads its 27 inputs
        nn.Flatten(),
        nn.Linear(3, 5),  # 15
    )
    assert layer_macs(net, input_size=(1, 6, 6), skip_zeros=False) == {
        "0": 972,
        "1": 108,
        "3": 108,
        "4": 243,
        "5": 27,
        "7": 15,
    }


def test_a_dense_block_by_hand():
    from course_lib.training.conv_models import DenseLayer

    block = nn.Sequential(DenseLayer(4, 2), DenseLayer(6, 2))  # 4 -> 6 -> 8 channels on 5x5
    assert layer_macs(block, input_size=(4, 5, 5), skip_zeros=False) == {
        "0.bn": 4 * 25,
        "0.conv": 25 * 2 * 4 * 9,
        "1.bn": 6 * 25,
        "1.conv": 25 * 2 * 6 * 9,
    }


def test_lth_conv2_by_hand():
    from course_lib.training.conv_models import lth_conv

    # conv1 1->8, conv2 8->8 on 28x28 (padding 1), pool to 14x14, fc 8*196 -> 256 -> 256 -> 10
    by_hand = 784 * 8 * 9 + 784 * 8 * 8 * 9 + 8 * 14 * 14 * 4 + 8 * 196 * 256 + 256 * 256 + 256 * 10
    assert macs(lth_conv(2), input_size=(1, 28, 28), skip_zeros=False) == by_hand


def test_conv_zeros_are_skipped_per_output_position():
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4))
    keep = torch.ones(4, 2, 3, 3, dtype=torch.bool)
    keep[:2] = False  # two filters pruned
    keep[2, 0, 0, 0] = False  # and one weight
    dense = layer_macs(net, input_size=(2, 5, 5), skip_zeros=False)
    sparse = layer_macs(net, {"0.weight": keep}, input_size=(2, 5, 5))
    assert dense == {"0": 25 * 4 * 2 * 9, "1": 4 * 25}
    assert sparse["0"] == 25 * (2 * 2 * 9 - 1)
    assert sparse["1"] == 4 * 25  # a BatchNorm with non-zero scales still scales every channel
    gamma = torch.tensor([False, False, True, True])
    assert layer_macs(net, {"0.weight": keep, "1.weight": gamma}, input_size=(2, 5, 5))["1"] == 2 * 25


def test_the_forward_pass_leaves_the_model_as_it_was():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5), nn.Flatten(), nn.Linear(18, 3))
    net.train()
    net[2].eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    macs(net, input_size=(1, 5, 5))
    assert net.training and net[1].training and not net[2].training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # running stats untouched
    assert all(not m._forward_hooks for m in net.modules())


def test_removing_channels_cuts_vgg_macs_to_at_most_0_3():
    from course_lib.pruning.channels import channel_masks, filter_norm_mask, shrink_conv_chain
    from course_lib.training.conv_models import vgg

    net = vgg().eval()
    filters = {
        f"{n}.weight": filter_norm_mask(m.weight, 0.5) for n, m in net.named_children() if isinstance(m, nn.Conv2d)
    }
    small = shrink_conv_chain(net, channel_masks(net, filters))
    dense = macs(net, input_size=(1, 28, 28), skip_zeros=False)
    assert macs(small, input_size=(1, 28, 28), skip_zeros=False) <= 0.3 * dense
    # a model with the channels removed computes what a sparse kernel skipping the masked model's zeros would
    assert macs(small, input_size=(1, 28, 28)) < macs(net, channel_masks(net, filters), input_size=(1, 28, 28))


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda: macs(nn.Sequential(nn.Conv2d(1, 2, 3))), TypeError, r"Conv2d layer '0'.*input_size"),
        (lambda: macs(nn.MaxPool2d(2)), TypeError, r"MaxPool2d.*input_size"),
        (lambda: macs(nn.Conv2d(1, 2, 3), input_size=(1, 28)), ValueError, r"^input_size=\(1, 28\) does not fit"),
        (lambda: macs(nn.Conv2d(1, 2, 3), input_size=(2, 8, 8)), ValueError, r"^input_size=.* does not fit"),
        (lambda: macs(nn.Conv2d(1, 2, 3), input_size=(1, 0, 8)), ValueError, r"^input_size must be a tuple"),
        (lambda: macs(nn.Conv2d(1, 2, 3), input_size=28), ValueError, r"^input_size must be a tuple"),
        (lambda: macs(nn.Conv2d(1, 2, 3), input_size=(1, 8.0, 8)), ValueError, r"^input_size must be a tuple"),
        (lambda: macs(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))), TypeError, r"BatchNorm1d layer '1'"),
        (lambda: macs(nn.Conv1d(1, 2, 3), input_size=(1, 8)), TypeError, r"Conv1d layer ''"),
    ],
)
def test_conv_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
