"""What both trainers take, checked once: the run's settings, the data, the masks, the threads.

:func:`course_lib.training.train.train` (one run) and
:func:`course_lib.training.stacked.train_many` (several runs at once) accept the same
settings and check them here, so they raise the same errors:

* :func:`train_config` turns the keyword arguments into a :class:`TrainConfig`
  (number of steps, when to evaluate, which iterations to snapshot);
* :func:`check_splits`, :func:`checked_masks` and :func:`mlp_layers` check the data,
  the masks and the model;
* :func:`make_optimizer` builds the Adam or SGD optimizer of the run;
* :func:`~course_lib.training.device.auto_threads` and
  :func:`~course_lib.training.device.num_threads` (defined with the device in
  :mod:`course_lib.training.device`, importable from here too) choose and set torch's
  CPU threads.

Defaults of the trainers follow the LTH paper for LeNet-300-100 (Frankle & Carbin 2019,
"The Lottery Ticket Hypothesis", ICLR 2019, Figure 2): Adam, learning rate 1.2e-3,
minibatches of 60.

>>> cfg = train_config(epochs=2, lr=1e-2, batch_size=60, optimizer="adam", n_train=1079)
>>> cfg.total, cfg.eval_every, cfg.evaluates_at(17), cfg.evaluates_at(18)
(36, 18, False, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from course_lib._checks import check_float, check_int
from course_lib.pruning.masks import check_masks
from course_lib.training.data import Split
from course_lib.training.device import COMPUTE_BOUND_MACS, auto_threads, num_threads, run_threads

__all__ = [
    "OPTIMIZERS",
    "TrainConfig",
    "train_config",
    "check_splits",
    "checked_masks",
    "mlp_layers",
    "check_model",
    "has_conv",
    "check_model_fits",
    "make_optimizer",
    "COMPUTE_BOUND_MACS",
    "auto_threads",
    "run_threads",
    "num_threads",
    "progress_bar",
]

#: Optimizer names :func:`~course_lib.training.train.train` and
#: :func:`~course_lib.training.stacked.train_many` accept.
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """The checked settings of a training run (built by :func:`train_config`).

    Attributes:
        epochs: passes over the training split.
        lr: learning rate (> 0).
        batch_size: examples per minibatch; the last minibatch of an epoch may be smaller.
        optimizer: ``"adam"``, ``"sgd"`` or a ``torch.optim.Optimizer`` passed in.
        momentum: SGD's momentum (>= 0; unused by Adam).
        weight_decay: L2 penalty of the optimizer (>= 0).
        eval_every: evaluate every this many optimizer steps (and at step 0 and the end).
        total: optimizer steps of the whole run, ``epochs * ceil(n_train / batch_size)``.
        save_at: iterations whose weights are snapshot (0 = before training).
    """

    epochs: int
    lr: float
    batch_size: int
    optimizer: str | torch.optim.Optimizer
    momentum: float
    weight_decay: float
    eval_every: int
    total: int
    save_at: frozenset[int]

    def evaluates_at(self, iteration: int) -> bool:
        """Whether the run is evaluated after optimizer step ``iteration`` (>= 1)."""
        return iteration % self.eval_every == 0 or iteration == self.total


def train_config(
    *,
    epochs: object,
    lr: object,
    batch_size: object,
    optimizer: object,
    n_train: int,
    momentum: object = 0.9,
    weight_decay: object = 0.0,
    eval_every: object = None,
    save_at: Iterable[object] = (),
) -> TrainConfig:
    """The trainers' keyword arguments, checked, as a :class:`TrainConfig`.

    Args:
        epochs: an int >= 1.
        lr: a finite number > 0.
        batch_size: an int >= 1.
        optimizer: one of :data:`OPTIMIZERS` or a ``torch.optim.Optimizer``.
        n_train: number of training examples (sets the steps per epoch).
        momentum: a finite number >= 0.
        weight_decay: a finite number >= 0.
        eval_every: an int >= 1, or ``None`` for one epoch (``ceil(n_train / batch_size)`` steps).
        save_at: ints in ``[0, total]``.

    Returns:
        The :class:`TrainConfig`.

    Raises:
        ValueError: for an out-of-range or non-int ``epochs``, ``batch_size``, ``eval_every``
            or ``save_at`` entry, an out-of-range or non-finite number, an unknown optimizer
            name (or an optimizer that is neither a name nor a ``torch.optim.Optimizer``),
            or a ``save_at`` entry past the last step.
        TypeError: for a non-number ``lr``, ``momentum`` or ``weight_decay``.

    >>> train_config(epochs=1, lr=1e-3, batch_size=60, optimizer="adam", n_train=100, save_at=[9])
    Traceback (most recent call last):
    ...
    ValueError: save_at asks for iteration 9 but training has only 2 iterations
    """
    epochs = check_int(epochs, "epochs", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    lr = check_float(lr, "lr", 0.0, strict=True)
    if not isinstance(optimizer, (str, torch.optim.Optimizer)) or (
        isinstance(optimizer, str) and optimizer not in OPTIMIZERS
    ):
        raise ValueError(f"optimizer must be one of {OPTIMIZERS} (or a torch.optim.Optimizer), got {optimizer!r}")
    momentum = check_float(momentum, "momentum", 0.0)
    weight_decay = check_float(weight_decay, "weight_decay", 0.0)
    per_epoch = math.ceil(n_train / batch_size)
    total = epochs * per_epoch
    eval_every = per_epoch if eval_every is None else check_int(eval_every, "eval_every", 1)
    saves = sorted({check_int(s, "save_at entries", 0) for s in save_at})
    if saves and saves[-1] > total:
        raise ValueError(f"save_at asks for iteration {saves[-1]} but training has only {total} iterations")
    return TrainConfig(epochs, lr, batch_size, optimizer, momentum, weight_decay, eval_every, total, frozenset(saves))


def check_splits(data: object) -> tuple[Split, Split, Split]:
    """The ``train``, ``val`` and ``test`` splits of ``data`` (each with ``.x`` and ``.y``).

    Args:
        data: a :class:`course_lib.training.data.Dataset` or any object with those
            three attributes.

    Returns:
        ``(train, val, test)``, the three :class:`~course_lib.training.data.Split` s as given.

    Raises:
        TypeError: a split is missing (or ``None``), or has no ``.x`` or ``.y``.
    """
    splits = []
    for name in ("train", "val", "test"):
        split = getattr(data, name, None)
        if split is None or not hasattr(split, "x") or not hasattr(split, "y"):
            raise TypeError(
                f"data must be a course_lib.training.data.Dataset with train/val/test splits, got {type(data).__name__}"
            )
        splits.append(split)
    return splits[0], splits[1], splits[2]


def checked_masks(model: nn.Module, masks: Mapping[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """``masks`` checked against ``model``'s parameters (:func:`course_lib.pruning.masks.check_masks`).

    Args:
        model: the ``nn.Module`` the masks belong to.
        masks: {parameter name: bool mask of its shape}, ``True`` = keep; or ``None``.

    Returns:
        The masks as a plain ``dict`` (the same tensors); an empty dict for ``None``.

    Raises:
        ValueError: an unknown parameter name or a wrong shape.
        TypeError: ``model`` is not an ``nn.Module``, ``masks`` not a dict, or a mask not bool.
    """
    return {} if masks is None else check_masks(model, masks)


def check_model(model: object) -> nn.Module:
    """``model`` if :func:`~course_lib.training.train.train` can train it: an ``nn.Module`` with float parameters.

    Args:
        model: the network (an MLP of :mod:`course_lib.training.models`, a conv net of
            :mod:`course_lib.training.conv_models`, or any other ``nn.Module``).

    Returns:
        ``model`` itself.

    Raises:
        TypeError: not an ``nn.Module``, or a parameter that is not a float tensor.
        ValueError: a model without parameters.

    >>> check_model(nn.Linear(2, 2)).out_features
    2
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = dict(model.named_parameters())
    if not params:
        raise ValueError(f"model ({type(model).__name__}) has no parameters to train")
    bad = [(n, p.dtype) for n, p in params.items() if not p.is_floating_point()]
    if bad:
        raise TypeError(f"model's parameters must be float tensors; {bad[0][0]} is {bad[0][1]}")
    return model


def has_conv(model: nn.Module) -> bool:
    """Whether ``model`` holds an ``nn.Conv2d`` (a conv net: it takes pictures ``(n, C, H, W)``).

    >>> has_conv(nn.Sequential(nn.Conv2d(1, 2, 3))), has_conv(nn.Linear(2, 2))
    (True, False)
    """
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def check_model_fits(model: nn.Module, split: Split) -> None:
    """Raise a clear error unless ``model`` maps ``split``'s inputs to logits ``(batch, classes)``.

    Runs the model once on (up to) two examples of ``split``, in eval mode without
    gradients (BatchNorm statistics untouched; every module's mode is restored), moved to
    the device and dtype of the model's first parameter.

    Args:
        model: an ``nn.Module`` with parameters (:func:`check_model`).
        split: a :class:`~course_lib.training.data.Split`; its labels set the classes needed.

    Raises:
        ValueError: the forward pass fails (e.g. a conv net given MNIST's ``(n, 28, 28)``
            inputs: the message says to pass ``course_lib.training.data.as_images(data)``),
            or its output is not ``(batch, classes)`` with more classes than the largest label.

    >>> from course_lib.training.data import load
    >>> try:
    ...     check_model_fits(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten()), load("digits").train)
    ... except ValueError as err:
    ...     print(str(err)[-45:])
    pass course_lib.training.data.as_images(data)
    """
    param = next(model.parameters())
    x = split.x[:2].to(param.device, param.dtype)
    modes = {m: m.training for m in model.modules()}
    hint = (
        ". A conv net takes pictures (n, C, H, W): pass course_lib.training.data.as_images(data)"
        if x.dim() == 3 and has_conv(model)
        else ""
    )
    try:
        model.eval()
        with torch.no_grad():
            out = model(x)
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ValueError(
            f"model does not accept the data: its forward pass failed on inputs of shape {tuple(x.shape)}: {err}{hint}"
        ) from err
    finally:
        for m, mode in modes.items():
            m.training = mode
    classes = int(split.y.max()) + 1 if len(split) else 0
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != len(x) or out.shape[1] < classes:
        raise ValueError(
            f"model must map inputs of shape {tuple(x.shape)} to logits ({len(x)}, classes >= {classes}), "
            f"got {shape}{hint}"
        )


def mlp_layers(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The named ``nn.Linear`` layers of a course MLP (``nn.Sequential`` of Flatten/Linear/ReLU).

    Args:
        model: an ``nn.Sequential`` of ``nn.Flatten``, ``nn.Linear``, ``nn.ReLU`` (and
            ``nn.Identity``) layers.

    Returns:
        ``[(child name, layer), ...]`` for its Linear layers, in order.

    Raises:
        TypeError: another model or layer type.
        ValueError: an MLP without a Linear layer.

    >>> from course_lib.training.models import mlp
    >>> [name for name, _ in mlp_layers(mlp([4, 3, 2]))]
    ['fc1', 'fc2']
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            f"model must be a course MLP (nn.Sequential of Flatten, Linear, ReLU), got {type(model).__name__}"
        )
    layers = []
    for name, layer in model.named_children():
        if isinstance(layer, nn.Linear):
            layers.append((name, layer))
        elif not isinstance(layer, (nn.Flatten, nn.ReLU, nn.Identity)):
            raise TypeError(
                f"model may hold only Flatten, Linear and ReLU layers, found {name}: {type(layer).__name__}"
            )
    if not layers:
        raise ValueError("model has no Linear layer")
    return layers


def make_optimizer(params: Iterable[torch.Tensor], cfg: TrainConfig) -> torch.optim.Optimizer:
    """``torch.optim.Adam`` or ``SGD`` (with ``cfg.momentum``) over ``params``, fused where torch can.

    The fused kernels update all elements in one loop: 4x faster than the default on
    this CPU. Adam is Kingma & Ba 2015; ``weight_decay`` adds ``decay * w`` to the
    gradient in both.

    Args:
        params: the tensors to optimize (leaf tensors, e.g. ``model.parameters()``).
        cfg: the run's settings; uses ``optimizer``, ``lr``, ``weight_decay`` and ``momentum``.

    Returns:
        The optimizer (learning rate ``cfg.lr``).

    Raises:
        TypeError: ``cfg.optimizer`` is not a name of :data:`OPTIMIZERS` (an optimizer
            passed in is used as it is, not built here).
    """
    if not isinstance(cfg.optimizer, str) or cfg.optimizer not in OPTIMIZERS:
        raise TypeError(f"make_optimizer builds one of {OPTIMIZERS}, got {cfg.optimizer!r}")
    kwargs: dict[str, Any] = dict(lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        kwargs["momentum"] = cfg.momentum
    cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.SGD
    param_list = list(params)
    try:
        return cls(param_list, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - builds without fused CPU kernels
        return cls(param_list, **kwargs)


def progress_bar(total: int, enabled: bool, desc: str) -> Any:
    """A tqdm progress bar over ``total`` steps (shown only when ``enabled``); use it as a context manager.

    Args:
        total: the number of steps (optimizer steps of the run).
        enabled: show the bar; ``False`` makes a silent one.
        desc: the text shown left of the bar.

    Returns:
        A ``tqdm.auto.tqdm`` bar (not kept on screen when done); advance it with ``update(1)``.
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, leave=False, mininterval=0.5)
