"""Course-scale convolutional networks: the lecture's families, small enough for 2 CPU cores.

Every builder makes 28x28 grayscale pictures (MNIST-5k) by default; ``in_channels=3,
input_size=32`` and a larger ``width`` give the CIFAR-10 versions. ``width`` multiplies every
channel count of the paper's layout (``max(1, round(channels * width))``), like MobileNet's
width multiplier (Howard et al. 2017). Each model is an ``nn.Module`` with named layers, so
masks read ``{"conv1.weight": ...}``, and is built from a ``seed`` (same seed, same weights;
torch's global RNG is left as it was). Initialization is PyTorch's default (Kaiming-uniform
conv and Linear weights, BatchNorm scale 1 and shift 0).

* :func:`lth_conv` (``conv2``, ``conv4``, ``conv6``): the Conv-2/4/6 of the lottery ticket
  paper (Frankle & Carbin 2019, Figure 2), no BatchNorm;
* :func:`vgg`: VGG-11/13/16/19 layouts (Simonyan & Zisserman 2015) with BatchNorm;
* :func:`simplenet`: SimpleNet's 13-layer plain stack (Hasanpour et al. 2016);
* :func:`mobilenet_v1`: depthwise-separable blocks (Howard et al. 2017);
* :func:`densenet` and :func:`densenet40`: dense blocks and transitions (Huang et al. 2017).

The first three are *plain chains* (``nn.Sequential`` of Conv2d, BatchNorm2d, ReLU, MaxPool2d,
Flatten, Linear), whose pruned channels :func:`course_lib.pruning.channels.shrink_conv_chain`
removes; MobileNet (depthwise convolutions) and DenseNet (concatenations) tie layers together.

A max-pool halves the picture only while it is at least 2 pixels wide (VGG's fifth pool is
skipped on 28x28 pictures: 28 -> 14 -> 7 -> 3 -> 1). MACs per picture at the defaults
(:func:`course_lib.measure.work.macs` with ``input_size=(1, 28, 28)``) are in each docstring.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch import nn

from course_lib._checks import check_float, check_int, check_seed

__all__ = [
    "VGG_CFGS",
    "SIMPLENET_CFG",
    "MOBILENET_BLOCKS",
    "lth_conv",
    "conv2",
    "conv4",
    "conv6",
    "vgg",
    "simplenet",
    "mobilenet_v1",
    "DenseLayer",
    "densenet",
    "densenet40",
    "CONV_MODELS",
    "conv_model",
]

#: A layout entry: ``c`` = 3x3 conv with ``c`` output channels, ``(c, k)`` = ``k x k`` conv,
#: ``"M"`` = 2x2 max-pool.
Entry = int | tuple[int, int] | str

#: VGG layouts (Simonyan & Zisserman 2015, Table 1, configurations A, B, D, E).
VGG_CFGS: dict[str, list[Entry]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}

#: SimpleNet's 13 conv layers for CIFAR-10 (Hasanpour et al. 2016, the 5 M-parameter version).
SIMPLENET_CFG: list[Entry] = [64, 128, 128, 128, "M", 128, 128, 256, "M", 256, 256, "M", 512, (2048, 1), (256, 1)]
SIMPLENET_CFG += ["M", 256]

#: MobileNet V1's 13 depthwise-separable blocks as (output channels, stride) (Howard et al. 2017, Table 1).
MOBILENET_BLOCKS: list[tuple[int, int]] = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
MOBILENET_BLOCKS += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]

T = TypeVar("T")


def _seeded(seed: int | None, build: Callable[[], T]) -> T:
    """``build()`` with torch's global RNG seeded by ``seed`` (and restored after); ``None``: as it stands."""
    if seed is None:
        return build()
    seed = check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _check_shape_args(
    width: object, in_channels: object, input_size: object, classes: object
) -> tuple[float, int, int, int]:
    """The arguments every builder shares, checked: ``(width, in_channels, input_size, classes)``."""
    return (
        check_float(width, "width", 0.0, strict=True),
        check_int(in_channels, "in_channels", 1),
        check_int(input_size, "input_size", 1),
        check_int(classes, "classes", 1),
    )


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def _stack(
    cfg: Sequence[Entry], channels: int, side: int, width: float, batch_norm: bool
) -> tuple[list[tuple[str, nn.Module]], int, int]:
    """The named layers of a plain conv stack: ``(layers, output channels, output side)``.

    Each conv (padding keeps the side) is followed by ``bn{i}`` (if ``batch_norm``; the conv
    then has no bias) and ``relu{i}``; ``"M"`` is a 2x2 max-pool ``pool{j}``, skipped on a
    picture narrower than 2 pixels.
    """
    layers: list[tuple[str, nn.Module]] = []
    n_conv = n_pool = 0
    for entry in cfg:
        if isinstance(entry, str):  # "M"
            if side >= 2:
                n_pool += 1
                layers.append((f"pool{n_pool}", nn.MaxPool2d(2)))
                side //= 2
            continue
        out, k = (entry, 3) if isinstance(entry, int) else entry
        out = _scaled(int(out), width)
        n_conv += 1
        layers.append((f"conv{n_conv}", nn.Conv2d(channels, out, k, padding=k // 2, bias=not batch_norm)))
        if batch_norm:
            layers.append((f"bn{n_conv}", nn.BatchNorm2d(out)))
        layers.append((f"relu{n_conv}", nn.ReLU()))
        channels = out
    return layers, channels, side


def _head(features: int, hidden: Sequence[int], classes: int) -> list[tuple[str, nn.Module]]:
    """``flatten, fc1, relu_fc1, ..., fcN``: Linear layers ``features -> *hidden -> classes``."""
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    widths = [features, *hidden, classes]
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False), start=1):
        layers.append((f"fc{i}", nn.Linear(a, b)))
        if i < len(widths) - 1:
            layers.append((f"relu_fc{i}", nn.ReLU()))
    return layers


def _plain_net(
    cfg: Sequence[Entry],
    width: float,
    in_channels: int,
    input_size: int,
    hidden: Sequence[int],
    classes: int,
    batch_norm: bool,
    global_pool: nn.Module | None = None,
) -> nn.Sequential:
    layers, channels, side = _stack(cfg, in_channels, input_size, width, batch_norm)
    if global_pool is not None:
        layers.append(("gpool", global_pool))
        side = 1
    return nn.Sequential(OrderedDict(layers + _head(channels * side * side, hidden, classes)))


def lth_conv(
    depth: int = 2,
    width: float = 0.125,
    hidden: Sequence[int] = (256, 256),
    in_channels: int = 1,
    input_size: int = 28,
    classes: int = 10,
    seed: int | None = 0,
) -> nn.Sequential:
    """Conv-2, Conv-4 or Conv-6 of the lottery ticket paper (Frankle & Carbin 2019, Figure 2).

    Layout (before ``width``): ``64, 64, pool`` (Conv-2), then ``128, 128, pool`` (Conv-4),
    then ``256, 256, pool`` (Conv-6), all 3x3 convs with padding 1 and ReLU, no BatchNorm;
    then fully connected ``256, 256, classes``. Layers: ``conv{i}, relu{i}, pool{j}, flatten,
    fc1, relu_fc1, fc2, relu_fc2, fc3``.

    Args:
        depth: 2, 4 or 6 conv layers.
        width: channel multiplier (float > 0); the default 1/8 gives 8, 16, 32 channels.
        hidden: widths of the hidden Linear layers (the paper: 256, 256), not scaled.
        in_channels: channels of the picture (1 grayscale, 3 CIFAR-10).
        input_size: side of the square picture in pixels (28 MNIST, 32 CIFAR-10).
        classes: number of outputs.
        seed: seed of the initialization (int >= 0), or ``None`` for the global RNG as it stands.

    Returns:
        An ``nn.Sequential``; logits ``(batch, classes)`` from ``(batch, in_channels, side, side)``.

    Raises:
        ValueError: ``depth`` not 2, 4 or 6, or an argument out of range (``width`` <= 0, ...).
        TypeError: a non-int ``seed``, a non-number ``width``.

    At the defaults (Conv-2 on 28x28): 0.98 M MACs, 0.47 M parameters (most in ``fc1``);
    Conv-4: 1.46 M MACs; Conv-6: 2.0 M MACs.

    >>> from course_lib.measure.work import macs
    >>> from course_lib.measure.size import param_count
    >>> [macs(lth_conv(d), input_size=(1, 28, 28), skip_zeros=False) for d in (2, 4, 6)]
    [983808, 1463616, 2015168]
    >>> param_count(lth_conv(2))
    470690
    """
    if isinstance(depth, bool) or depth not in (2, 4, 6):
        raise ValueError(f"depth must be 2, 4 or 6 (Conv-2, Conv-4, Conv-6), got {depth!r}")
    width, in_channels, input_size, classes = _check_shape_args(width, in_channels, input_size, classes)
    widths = [check_int(h, "hidden entries", 1) for h in hidden]
    layout: list[Entry] = [64, 64, "M", 128, 128, "M", 256, 256, "M"]
    cfg = layout[: depth // 2 * 3]
    return _seeded(seed, lambda: _plain_net(cfg, width, in_channels, input_size, widths, classes, batch_norm=False))


def conv2(**kwargs: Any) -> nn.Sequential:
    """Conv-2 of Frankle & Carbin 2019: :func:`lth_conv` with ``depth=2`` (same keyword arguments)."""
    return lth_conv(2, **kwargs)


def conv4(**kwargs: Any) -> nn.Sequential:
    """Conv-4 of Frankle & Carbin 2019: :func:`lth_conv` with ``depth=4`` (same keyword arguments)."""
    return lth_conv(4, **kwargs)


def conv6(**kwargs: Any) -> nn.Sequential:
    """Conv-6 of Frankle & Carbin 2019: :func:`lth_conv` with ``depth=6`` (same keyword arguments)."""
    return lth_conv(6, **kwargs)


def vgg(
    cfg: str = "vgg11",
    width: float = 0.125,
    in_channels: int = 1,
    input_size: int = 28,
    classes: int = 10,
    seed: int | None = 0,
) -> nn.Sequential:
    """A VGG net with BatchNorm (Simonyan & Zisserman 2015), as the CIFAR-10 versions are built.

    Layout: :data:`VGG_CFGS` ``[cfg]`` (e.g. VGG-11: ``64, M, 128, M, 256, 256, M, 512, 512, M,
    512, 512, M``), each number a 3x3 conv (padding 1, no bias) + BatchNorm + ReLU, each ``M``
    a 2x2 max-pool; then one Linear layer to the classes (as CIFAR-10 VGGs do). Layers:
    ``conv{i}, bn{i}, relu{i}, pool{j}, flatten, fc1``.

    Args:
        cfg: ``"vgg11"``, ``"vgg13"``, ``"vgg16"`` or ``"vgg19"``.
        width: channel multiplier (float > 0); 1/8 gives 8 ... 64 channels.
        in_channels, input_size, classes, seed: as :func:`lth_conv`.

    Returns:
        An ``nn.Sequential``; logits ``(batch, classes)``.

    Raises:
        ValueError: an unknown ``cfg`` or an argument out of range. TypeError: as :func:`lth_conv`.

    At the defaults (VGG-11, 28x28): 1.56 M MACs, 0.15 M parameters; VGG-19 at
    ``width=1/16`` does 1.05 M MACs.

    >>> from course_lib.measure.work import macs
    >>> from course_lib.measure.size import param_count
    >>> macs(vgg(), input_size=(1, 28, 28), skip_zeros=False), param_count(vgg())
    (1556288, 145410)
    >>> macs(vgg("vgg19", width=1 / 16), input_size=(1, 28, 28), skip_zeros=False)
    1052320
    """
    if cfg not in VGG_CFGS:
        raise ValueError(f"cfg must be one of {sorted(VGG_CFGS)}, got {cfg!r}")
    width, in_channels, input_size, classes = _check_shape_args(width, in_channels, input_size, classes)
    return _seeded(seed, lambda: _plain_net(VGG_CFGS[cfg], width, in_channels, input_size, (), classes, True))


def simplenet(
    width: float = 1 / 16,
    in_channels: int = 1,
    input_size: int = 28,
    classes: int = 10,
    seed: int | None = 0,
) -> nn.Sequential:
    """SimpleNet, a plain stack of 13 Conv-BN-ReLU blocks (Hasanpour et al. 2016, "Let's keep it simple").

    Layout: :data:`SIMPLENET_CFG`: ``64, 128, 128, 128, M, 128, 128, 256, M, 256, 256, M, 512,
    2048 (1x1), 256 (1x1), M, 256``, convs without bias + BatchNorm + ReLU, 2x2 max-pools, a
    global max-pool and one Linear layer. Layers: ``conv{i}, bn{i}, relu{i}, pool{j}, gpool,
    flatten, fc1``.

    Args:
        width: channel multiplier (float > 0); 1/16 gives 4 ... 128 channels.
        in_channels, input_size, classes, seed: as :func:`lth_conv`.

    Returns:
        An ``nn.Sequential``; logits ``(batch, classes)``. Raises as :func:`lth_conv`.

    At the defaults (28x28): 1.98 M MACs, 22 k parameters.

    >>> from course_lib.measure.work import macs
    >>> from course_lib.measure.size import param_count
    >>> macs(simplenet(), input_size=(1, 28, 28), skip_zeros=False), param_count(simplenet())
    (1975248, 22182)
    """
    width, in_channels, input_size, classes = _check_shape_args(width, in_channels, input_size, classes)
    return _seeded(
        seed,
        lambda: _plain_net(SIMPLENET_CFG, width, in_channels, input_size, (), classes, True, nn.AdaptiveMaxPool2d(1)),
    )


def _conv_bn_relu(prefix: str, cin: int, cout: int, k: int, stride: int, groups: int) -> list[tuple[str, nn.Module]]:
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False)
    return [(prefix, conv), (f"{prefix}_bn", nn.BatchNorm2d(cout)), (f"{prefix}_relu", nn.ReLU())]


def mobilenet_v1(
    width: float = 0.125,
    in_channels: int = 1,
    input_size: int = 28,
    classes: int = 10,
    seed: int | None = 0,
) -> nn.Sequential:
    """MobileNet V1 (Howard et al. 2017): a 3x3 conv, then 13 depthwise-separable blocks.

    Layout: ``conv1`` (3x3, 32 channels, stride 1 for small pictures as CIFAR-10 versions do;
    the paper: stride 2 on 224x224) + ``bn1`` + ``relu1``; ``block1 ... block13`` with
    (channels, stride) from :data:`MOBILENET_BLOCKS`, each ``dw`` (3x3 depthwise conv,
    ``groups`` = its channels) + ``dw_bn`` + ``dw_relu``, then ``pw`` (1x1 pointwise conv) +
    ``pw_bn`` + ``pw_relu``; then ``pool`` (global average), ``flatten``, ``fc``. ``width`` is
    the paper's width multiplier alpha.

    Args:
        width: alpha (float > 0); 1/8 gives 4 ... 128 channels.
        in_channels, input_size, classes, seed: as :func:`lth_conv`.

    Returns:
        An ``nn.Sequential``; logits ``(batch, classes)``. Raises as :func:`lth_conv`.

    At the defaults (28x28): 0.86 M MACs, 59 k parameters.

    >>> from course_lib.measure.work import macs
    >>> from course_lib.measure.size import param_count
    >>> macs(mobilenet_v1(), input_size=(1, 28, 28), skip_zeros=False), param_count(mobilenet_v1())
    (856288, 58698)
    """
    width, in_channels, input_size, classes = _check_shape_args(width, in_channels, input_size, classes)

    def build() -> nn.Sequential:
        c = _scaled(32, width)
        conv1 = nn.Conv2d(in_channels, c, 3, padding=1, bias=False)
        layers: list[tuple[str, nn.Module]] = [("conv1", conv1), ("bn1", nn.BatchNorm2d(c)), ("relu1", nn.ReLU())]
        for i, (out, stride) in enumerate(MOBILENET_BLOCKS, start=1):
            out = _scaled(out, width)
            block = _conv_bn_relu("dw", c, c, 3, stride, c) + _conv_bn_relu("pw", c, out, 1, 1, 1)
            layers.append((f"block{i}", nn.Sequential(OrderedDict(block))))
            c = out
        layers += [("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(c, classes))]
        return nn.Sequential(OrderedDict(layers))

    return _seeded(seed, build)


class DenseLayer(nn.Module):
    """One layer of a dense block: ``cat([x, conv(relu(bn(x)))])`` (Huang et al. 2017, basic DenseNet).

    ``bn`` + ``relu`` + ``conv`` (3x3, ``growth`` filters, padding 1, no bias); the output holds
    the input's ``in_channels`` channels followed by the ``growth`` new ones.

    Args:
        in_channels: channels of the input (int >= 1).
        growth: channels the layer adds, the growth rate k (int >= 1).
    """

    def __init__(self, in_channels: int, growth: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(in_channels, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in_channels, h, w)`` -> ``(batch, in_channels + growth, h, w)``."""
        return torch.cat([x, self.conv(self.relu(self.bn(x)))], dim=1)


def _transition(channels: int, out: int) -> nn.Sequential:
    layers = [("bn", nn.BatchNorm2d(channels)), ("relu", nn.ReLU()), ("conv", nn.Conv2d(channels, out, 1, bias=False))]
    return nn.Sequential(OrderedDict([*layers, ("pool", nn.AvgPool2d(2))]))


def densenet(
    depth: int = 10,
    growth: int = 4,
    stem: int | None = None,
    compression: float = 1.0,
    in_channels: int = 1,
    input_size: int = 28,
    classes: int = 10,
    seed: int | None = 0,
) -> nn.Sequential:
    """A DenseNet for small pictures (Huang et al. 2017): 3 dense blocks joined by transitions.

    Layout: ``conv1`` (3x3, ``stem`` channels); ``block1``, ``trans1``, ``block2``, ``trans2``,
    ``block3``, each block ``(depth - 4) / 3`` :class:`DenseLayer` s ``layer1, layer2, ...``
    adding ``growth`` channels each, each transition ``bn``, ``relu``, ``conv`` (1x1, keeps
    ``floor(compression * channels)``) and ``pool`` (2x2 average); then ``bn``, ``relu``,
    ``pool`` (global average), ``flatten``, ``fc``. DenseNet-40 (:func:`densenet40`) is
    ``depth=40, growth=12, stem=16``.

    Args:
        depth: total depth, ``3 * layers_per_block + 4`` (int >= 7: 10, 13, 16, ..., 40).
        growth: the growth rate k (int >= 1).
        stem: channels of ``conv1``; ``None``: ``2 * growth``.
        compression: the fraction of channels a transition keeps, in (0, 1] (1: basic DenseNet).
        in_channels, classes, seed: as :func:`lth_conv`.
        input_size: side of the square picture, int >= 4 (two transitions halve it).

    Returns:
        An ``nn.Sequential``; logits ``(batch, classes)``.

    Raises:
        ValueError: ``depth - 4`` not a positive multiple of 3, ``compression`` outside
            (0, 1], ``input_size < 4``, or another argument out of range.

    At the defaults (28x28): 1.34 M MACs, 5.5 k parameters; DenseNet-40 on 32x32x3 CIFAR-10
    pictures: 1.02 M parameters (the paper: 1.0 M) and 267 M MACs.

    >>> from course_lib.measure.work import macs
    >>> from course_lib.measure.size import param_count
    >>> macs(densenet(), input_size=(1, 28, 28), skip_zeros=False), param_count(densenet())
    (1343508, 5482)
    >>> param_count(densenet40(in_channels=3, input_size=32))
    1019722
    """
    depth = check_int(depth, "depth", 7)
    if (depth - 4) % 3:
        raise ValueError(f"depth must be 3 * layers_per_block + 4 (7, 10, 13, ..., 40), got {depth}")
    growth = check_int(growth, "growth", 1)
    stem = 2 * growth if stem is None else check_int(stem, "stem", 1)
    compression = check_float(compression, "compression", 0.0, strict=True)
    if compression > 1:
        raise ValueError(f"compression must be in (0, 1], got {compression!r}")
    _, in_channels, input_size, classes = _check_shape_args(1.0, in_channels, input_size, classes)
    if input_size < 4:
        raise ValueError(f"input_size must be an int >= 4 (two transitions halve it), got {input_size}")

    def build() -> nn.Sequential:
        c = stem
        layers: list[tuple[str, nn.Module]] = [("conv1", nn.Conv2d(in_channels, c, 3, padding=1, bias=False))]
        for b in (1, 2, 3):
            block = []
            for i in range(1, (depth - 4) // 3 + 1):
                block.append((f"layer{i}", DenseLayer(c, growth)))
                c += growth
            layers.append((f"block{b}", nn.Sequential(OrderedDict(block))))
            if b < 3:
                out = max(1, int(compression * c))
                layers.append((f"trans{b}", _transition(c, out)))
                c = out
        layers += [("bn", nn.BatchNorm2d(c)), ("relu", nn.ReLU()), ("pool", nn.AdaptiveAvgPool2d(1))]
        layers += [("flatten", nn.Flatten()), ("fc", nn.Linear(c, classes))]
        return nn.Sequential(OrderedDict(layers))

    return _seeded(seed, build)


def densenet40(**kwargs: Any) -> nn.Sequential:
    """DenseNet-40 (k = 12) of Huang et al. 2017: :func:`densenet` with ``depth=40, growth=12, stem=16``.

    3 blocks of 12 layers; other keyword arguments go to :func:`densenet`. About 1.0 M
    parameters on CIFAR-10; on 28x28 grayscale pictures far above the course's CPU budget.
    """
    return densenet(**{"depth": 40, "growth": 12, "stem": 16, **kwargs})


#: The builders by name (for command lines): ``conv_model("vgg19", width=0.25)``.
CONV_MODELS: dict[str, Callable[..., nn.Module]] = {
    "conv2": conv2,
    "conv4": conv4,
    "conv6": conv6,
    **{name: (lambda name=name, **kw: vgg(name, **kw)) for name in VGG_CFGS},
    "simplenet": simplenet,
    "mobilenet_v1": mobilenet_v1,
    "densenet": densenet,
    "densenet40": densenet40,
}


def conv_model(name: str, **kwargs: Any) -> nn.Module:
    """The model :data:`CONV_MODELS` ``[name]`` built with ``kwargs`` (e.g. ``width``, ``seed``).

    Raises ``ValueError`` for an unknown ``name`` (and what the builder raises).

    >>> conv_model("vgg13", width=0.25).conv1.out_channels
    16
    """
    if name not in CONV_MODELS:
        raise ValueError(f"name must be one of {sorted(CONV_MODELS)}, got {name!r}")
    return CONV_MODELS[name](**kwargs)
