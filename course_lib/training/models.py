"""The course's models: small MLPs as ``nn.Sequential`` with named layers.

Layers are named ``fc1, relu1, fc2, relu2, ..., fcN`` so masks read
``{"fc1.weight": ..., "fc2.weight": ...}``. Initialization is PyTorch's default for
``nn.Linear`` (Kaiming-uniform weights, He et al. 2015), seeded explicitly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from course_lib._checks import check_int, check_seed

__all__ = ["mlp", "lenet_300_100"]


def mlp(sizes: Sequence[int], seed: int | None = 0) -> nn.Sequential:
    """A ReLU MLP with layer widths ``sizes`` (input first, classes last), seeded.

    Inputs of any shape ``(batch, ...)`` are flattened first; the output is float32
    logits ``(batch, sizes[-1])``.

    Args:
        sizes: at least two widths, each an int >= 1.
        seed: seed of the initialization (int >= 0); torch's global RNG is used and
            then restored. ``None``: draw from the global RNG as it stands.

    Returns:
        ``nn.Sequential`` of ``flatten, fc1, relu1, ..., fcN`` (no ReLU after the last layer).

    Raises:
        ValueError: fewer than two widths, or a width that is not an int >= 1.
        TypeError: a non-int seed.

    >>> net = mlp([64, 100, 10], seed=0)
    >>> [name for name, _ in net.named_children()]
    ['flatten', 'fc1', 'relu1', 'fc2']
    >>> net(torch.zeros(5, 8, 8)).shape
    torch.Size([5, 10])
    """
    if isinstance(sizes, (str, bytes)) or len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes!r}")
    widths = [check_int(s, "sizes entries", 1) for s in sizes]
    gen_state = None
    if seed is not None:
        seed = check_seed(seed)
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
    try:
        layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
        for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False), start=1):
            layers.append((f"fc{i}", nn.Linear(a, b)))
            if i < len(widths) - 1:
                layers.append((f"relu{i}", nn.ReLU()))
        return nn.Sequential(OrderedDict(layers))
    finally:
        if gen_state is not None:
            torch.random.set_rng_state(gen_state)


def lenet_300_100(in_features: int = 784, num_classes: int = 10, seed: int | None = 0) -> nn.Sequential:
    """LeNet-300-100, the fully connected network of the LTH paper (Frankle & Carbin 2019).

    LeCun et al. 1998's 300-100 MLP: ``mlp([in_features, 300, 100, num_classes], seed)``,
    266,610 parameters for MNIST.

    Args:
        in_features: input width (784 for 28x28 MNIST).
        num_classes: number of outputs (classes).
        seed: seed of the initialization (see :func:`mlp`).

    Returns:
        The ``nn.Sequential`` ``flatten, fc1 (in, 300), relu1, fc2 (300, 100), relu2, fc3 (100, num_classes)``.
        Raises as :func:`mlp`.

    >>> sum(p.numel() for p in lenet_300_100().parameters())
    266610
    """
    return mlp([in_features, 300, 100, num_classes], seed=seed)
