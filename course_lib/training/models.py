"""The course's models: small MLPs as ``nn.Sequential`` with named layers.

Layers are named ``fc1, relu1, fc2, relu2, ..., fcN`` so masks read
``{"fc1.weight": ..., "fc2.weight": ...}``. Initialization is seeded explicitly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["mlp", "lenet_300_100"]


def mlp(sizes: Sequence[int], seed: int | None = 0) -> nn.Sequential:
    """A ReLU MLP with layer widths ``sizes`` (input first, classes last), seeded.

    Inputs of any shape ``(batch, ...)`` are flattened first.

    >>> net = mlp([64, 100, 10], seed=0)
    >>> [name for name, _ in net.named_children()]
    ['flatten', 'fc1', 'relu1', 'fc2']
    >>> net(torch.zeros(5, 8, 8)).shape
    torch.Size([5, 10])
    """
    if isinstance(sizes, (str, bytes)) or len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes!r}")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes must be positive ints, got {list(sizes)!r}")
    gen_state = None
    if seed is not None:
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
    try:
        layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
        for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False), start=1):
            layers.append((f"fc{i}", nn.Linear(a, b)))
            if i < len(sizes) - 1:
                layers.append((f"relu{i}", nn.ReLU()))
        return nn.Sequential(OrderedDict(layers))
    finally:
        if gen_state is not None:
            torch.random.set_rng_state(gen_state)


def lenet_300_100(in_features: int = 784, classes: int = 10, seed: int | None = 0) -> nn.Sequential:
    """LeNet-300-100, the fully connected network of the LTH paper (Frankle & Carbin 2019).

    >>> sum(p.numel() for p in lenet_300_100().parameters())
    266610
    """
    return mlp([in_features, 300, 100, classes], seed=seed)
