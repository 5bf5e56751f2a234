"""course_lib.training.conv_models: the course's conv nets run, are seeded, and stay course-sized."""

import pytest
import torch
from torch import nn

from course_lib.measure.work import macs
from course_lib.training.config import num_threads
from course_lib.training.conv_models import (
    CONV_MODELS,
    DenseLayer,
    conv_model,
    densenet,
    densenet40,
    lth_conv,
    mobilenet_v1,
    simplenet,
    vgg,
)

SMALL = [name for name in CONV_MODELS if name != "densenet40"]  # DenseNet-40 is CIFAR-sized on purpose


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny convs run faster on one thread; two threads on a busy 2-core machine contend (DESIGN.md)."""
    with num_threads(1):
        yield


@pytest.mark.parametrize("name", list(CONV_MODELS))
def test_every_model_runs_a_batch_of_two_at_its_default_size(name):
    net = conv_model(name).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", SMALL)
def test_cifar_scale_is_a_few_arguments_away(name):
    net = conv_model(name, in_channels=3, input_size=32, classes=100).eval()
    with torch.no_grad():
        assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 100)


@pytest.mark.parametrize("name", SMALL)
def test_defaults_are_course_sized(name):
    """About 1-2 M multiply-accumulates per 28x28 picture (the issue's probe: ~1.5 M keeps an epoch short);
    the deeper VGG layouts get there at width 1/16."""
    kwargs = {"width": 1 / 16} if name in ("vgg13", "vgg16", "vgg19") else {}
    assert 0.5e6 < macs(conv_model(name, **kwargs), input_size=(1, 28, 28), skip_zeros=False) < 2.1e6


@pytest.mark.parametrize("name", list(CONV_MODELS))
def test_same_seed_same_weights_and_the_global_rng_is_left_alone(name):
    kwargs = {"input_size": 8} if name == "densenet40" else {}
    rng = torch.random.get_rng_state()
    a, b = conv_model(name, seed=3, **kwargs), conv_model(name, seed=3, **kwargs)
    c = conv_model(name, seed=4, **kwargs)
    assert torch.equal(torch.random.get_rng_state(), rng)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point() and sa[k].dim() > 1)


def test_seed_none_draws_from_the_global_rng():
    torch.manual_seed(11)
    a = lth_conv(2, seed=None)
    torch.manual_seed(11)
    b = lth_conv(2, seed=None)
    assert torch.equal(a.conv1.weight, b.conv1.weight)


def test_layouts_and_names():
    c6 = lth_conv(6)
    convs = [m.out_channels for m in c6.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [8, 8, 16, 16, 32, 32]  # 64-64-128-128-256-256 scaled by 1/8
    assert [c6.fc1.out_features, c6.fc2.out_features, c6.fc3.out_features] == [256, 256, 10]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in c6.modules())  # the LTH paper's nets have none
    v = vgg("vgg16", width=0.25)
    assert sum(isinstance(m, nn.Conv2d) for m in v.modules()) == 13
    assert v.conv1.bias is None and v.bn1.num_features == 16
    assert len([n for n, _ in v.named_children() if n.startswith("pool")]) == 4  # 28 -> 14 -> 7 -> 3 -> 1: 5th skipped
    assert len([n for n, _ in vgg("vgg16", input_size=32).named_children() if n.startswith("pool")]) == 5
    s = simplenet()
    assert sum(isinstance(m, nn.Conv2d) for m in s.modules()) == 13
    assert s.conv11.kernel_size == s.conv12.kernel_size == (1, 1) and s.conv13.kernel_size == (3, 3)
    assert (s.conv1.out_channels, s.conv11.out_channels, s.fc1.in_features) == (4, 128, 16)  # 64, 2048, 256 / 16


def test_mobilenet_blocks_are_depthwise_separable():
    net = mobilenet_v1(width=0.25)
    block = net.block2
    assert block.dw.groups == block.dw.in_channels == block.dw.out_channels == 16
    assert block.dw.stride == (2, 2) and block.pw.kernel_size == (1, 1) and block.pw.out_channels == 32
    assert len([n for n, _ in net.named_children() if n.startswith("block")]) == 13


def test_densenet_layout_and_dense_layer():
    net = densenet(depth=13, growth=5)
    assert len(net.block1) == 3 and net.conv1.out_channels == 10
    assert net.trans1.conv.in_channels == 10 + 3 * 5 and net.fc.in_features == 10 + 9 * 5
    half = densenet(depth=13, growth=5, compression=0.5)
    assert half.trans1.conv.out_channels == (10 + 15) // 2
    d40 = densenet40(input_size=8)
    assert [len(d40.block1), len(d40.block2), len(d40.block3)] == [
        12,
        12,
        12,
    ] and d40.block1.layer1.conv.out_channels == 12
    layer = DenseLayer(3, 2)
    x = torch.randn(2, 3, 5, 5)
    y = layer.eval()(x)
    assert y.shape == (2, 5, 5, 5) and torch.equal(y[:, :3], x)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda: lth_conv(3), ValueError, r"^depth must be 2, 4 or 6"),
        (lambda: lth_conv(2, width=0), ValueError, r"^width must be"),
        (lambda: vgg(width="wide"), TypeError, r"^width must be"),
        (lambda: vgg("vgg12"), ValueError, r"^cfg must be one of"),
        (lambda: simplenet(in_channels=0), ValueError, r"^in_channels must be"),
        (lambda: mobilenet_v1(input_size=0), ValueError, r"^input_size must be"),
        (lambda: mobilenet_v1(classes=0), ValueError, r"^classes must be"),
        (lambda: densenet(depth=11), ValueError, r"^depth must be 3 \* layers_per_block \+ 4"),
        (lambda: densenet(compression=1.5), ValueError, r"^compression must be in \(0, 1\]"),
        (lambda: densenet(input_size=3), ValueError, r"^input_size must be an int >= 4"),
        (lambda: lth_conv(2, hidden=(0,)), ValueError, r"^hidden entries must be"),
        (lambda: vgg(seed=-1), ValueError, r"^seed must be an int >= 0"),
        (lambda: vgg(seed=1.5), TypeError, r"^seed must be an int >= 0"),
        (lambda: conv_model("resnet18"), ValueError, r"^name must be one of"),
    ],
)
def test_bad_arguments_name_themselves(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
