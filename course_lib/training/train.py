"""Seeded training that keeps pruned weights at exactly zero, of MLPs and conv nets.

Two paths compute the same thing for MLPs:

* :func:`train` trains one network with a ``torch.optim`` optimizer: the readable,
  from-scratch view. It takes any ``nn.Module`` with float parameters: the course's MLPs
  (:mod:`course_lib.training.models`) and conv nets (:mod:`course_lib.training.conv_models`,
  BatchNorm included: train mode while it trains, eval mode when it is evaluated);
* :func:`course_lib.training.stacked.train_many` trains several MLPs at once
  (different seeds, masks, initializations) with the weights of all runs stacked in
  one tensor per layer. A test checks that both paths give the same weights.

Both run on a ``device`` (:func:`course_lib.training.device.resolve_device`; the CPU by
default): the model is moved there in place and the data once; the records keep CPU
tensors. On the CPU a conv net trains in the ``channels_last`` memory layout (measured
here, one epoch of MNIST-5k: Conv-4 5-25% and VGG-11 15-25% faster on one thread, 10-20%
on two) and is handed back in the standard layout.

Both check their arguments with :mod:`course_lib.training.config` and record the run
with :class:`course_lib.training.record.Recorder` into a :class:`TrainResult`.

How the masks are kept (``masks`` = dict parameter name -> bool tensor, True = keep):
the weights are masked once before training and the gradients of pruned entries
are zeroed before every optimizer step. Then Adam's moments and SGD's momentum of
pruned entries stay exactly zero, and so does their update (weight decay adds
``decay * 0``): the pruned weights stay exactly zero without being touched
again. With an optimizer you pass in (whose update rule we do not know) the
weights are also masked in place after every step. No ``torch.nn.utils.prune``
hooks: they rebuild every weight as ``weight_orig * mask`` at every forward.
Masking multiplies by the mask as a 0/1 float tensor: on this CPU that is 25x
faster than ``masked_fill_`` with a bool mask (pruned entries become 0.0 or -0.0,
both exactly zero).

Defaults follow the LTH paper for LeNet-300-100 (Frankle & Carbin 2019, Figure 2):
Adam, learning rate 1.2e-3, minibatch 60. Accuracies are in percent. The run is
evaluated on the validation and test sets at iteration 0, every ``eval_every``
iterations (default: one epoch) and at the end; the early-stopping iteration is the
one of minimal validation loss.

>>> from course_lib.training.data import load
>>> from course_lib.training.models import mlp
>>> data = load("digits")
>>> net = mlp([64, 32, 10], seed=0)
>>> run = train(net, data, epochs=2, lr=1e-2, seed=0, progress=False)
>>> run.iterations
[0, 18, 36]
>>> run.final_test_acc > 80
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._checks import check_seed
from course_lib.pruning.masks import apply_masks
from course_lib.pruning.reparam import PRUNE, check_plain
from course_lib.training.config import (
    OPTIMIZERS,
    TrainConfig,
    auto_threads,
    check_model,
    check_model_fits,
    check_splits,
    checked_masks,
    has_conv,
    make_optimizer,
    mlp_layers,
    num_threads,
    progress_bar,
    run_threads,
    train_config,
)
from course_lib.training.data import Dataset, Split
from course_lib.training.device import resolve_device
from course_lib.training.record import Recorder, TrainResult, cpu_copy, evaluate

__all__ = [
    "TrainResult",
    "OPTIMIZERS",
    "train",
    "evaluate",
    "mlp_layers",
    "mask_optimizer_state",
    "num_threads",
    "auto_threads",
    "CONV_EVAL_BATCH",
]


def mask_optimizer_state(optimizer: torch.optim.Optimizer, pruned: Mapping[torch.Tensor, torch.Tensor]) -> None:
    """Zero, in place, the optimizer state (momentum buffer, Adam moments) of pruned entries.

    Args:
        optimizer: any ``torch.optim.Optimizer``; state tensors of a parameter's shape are masked.
        pruned: parameter tensor -> bool tensor of its shape, ``True`` where the entry is
            pruned (``~mask``).

    Without this, the momentum an entry gathered before it was pruned keeps moving
    it after pruning. Returns ``None``.

    Raises:
        RuntimeError: (from ``masked_fill_``; nothing is checked first, so the parameters
            before it stay masked) a ``pruned`` tensor that is not bool or does not
            broadcast to its parameter's shape.

    >>> w = nn.Parameter(torch.ones(2)); opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = torch.ones(2); opt.step()
    >>> mask_optimizer_state(opt, {w: torch.tensor([False, True])})
    >>> opt.state[w]["momentum_buffer"]
    tensor([1., 0.])
    """
    for param, where in pruned.items():
        for value in optimizer.state.get(param, {}).values():
            if isinstance(value, torch.Tensor) and value.shape == param.shape:
                value.masked_fill_(where, 0.0)


# --------------------------------------------------------------------------- the steps of a run
#: A private step hook (:mod:`course_lib.training.sparse_training`'s drop and grow): called before
#: each step with ``(iteration, x, y, keep, optimizer)``; returns the minibatch loss (0-d, detached)
#: when it took the step in place of the optimizer step, ``None`` to let the usual step run. It may
#: change ``keep`` (the 0/1 masks of the gradients) in place.
StepHook = Callable[
    [int, torch.Tensor, torch.Tensor, Mapping[nn.Parameter, torch.Tensor], torch.optim.Optimizer],
    torch.Tensor | None,
]


def _batches(n: int, batch_size: int, epochs: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Index minibatches: a fresh permutation from ``gen`` each epoch; the last batch may be smaller."""
    for _ in range(epochs):
        yield from torch.randperm(n, generator=gen).split(batch_size)


def _mask_weights(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> dict[nn.Parameter, torch.Tensor]:
    """Zero the pruned weights in place; return parameter -> 0/1 float keep-mask of its dtype.

    A weight pruned by ``torch.nn.utils.prune`` (``"fc1.weight"``: no parameter of that name)
    gets its mask combined into ``weight_mask`` (:func:`course_lib.pruning.masks.apply_masks`):
    torch's hook then keeps it at zero and gives ``weight_orig`` no gradient there.
    """
    params = dict(model.named_parameters())
    apply_masks(model, {n: m for n, m in masks.items() if n not in params})
    keep = {params[n]: m.to(device=params[n].device, dtype=params[n].dtype) for n, m in masks.items() if n in params}
    with torch.no_grad():
        for p, k in keep.items():
            p.mul_(k)
    return keep


def _optimizer(
    model: nn.Module, masks: Mapping[str, torch.Tensor], cfg: TrainConfig
) -> tuple[torch.optim.Optimizer, bool]:
    """The run's optimizer, and whether its weights must be masked after every step.

    Adam and SGD leave an entry whose gradient and state are zero at exactly zero; an
    optimizer passed in may not, so its state of pruned entries is zeroed and its
    weights are masked after each step.
    """
    if isinstance(cfg.optimizer, torch.optim.Optimizer):
        params = dict(model.named_parameters())  # torch.nn.utils.prune's weights: masked by its hook
        pruned: dict[torch.Tensor, torch.Tensor] = {
            params[n]: ~m.to(params[n].device) for n, m in masks.items() if n in params
        }
        mask_optimizer_state(cfg.optimizer, pruned)
        return cfg.optimizer, True
    return make_optimizer(model.parameters(), cfg), False


def _step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    keep: Mapping[nn.Parameter, torch.Tensor],
    mask_after: bool,
) -> torch.Tensor:
    """One optimizer step on the minibatch ``(x, y)``; returns its loss (0-d, detached)."""
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    for p, k in keep.items():
        if p.grad is not None:
            p.grad.mul_(k)  # pruned entries get no gradient (nor momentum)
    opt.step()
    if mask_after:
        with torch.no_grad():
            for p, k in keep.items():
                p.mul_(k)
    return loss.detach()


def _recorder(
    model: nn.Module, seed: int, cfg: TrainConfig, val: Split, test: Split, eval_batch: int | None
) -> Recorder:
    """The :class:`Recorder` of one run: evaluates ``model`` itself, snapshots its ``state_dict`` (CPU copies)."""

    def evaluate_split(split: Split) -> tuple[list[float], list[float]]:
        loss, acc = evaluate(model, split, eval_batch)
        return [loss], [acc]

    def state() -> list[dict[str, torch.Tensor]]:
        return [cpu_copy(model.state_dict())]

    return Recorder([seed], cfg, evaluate_split, state, val, test)


def _run(
    model: nn.Module,
    train_split: Split,
    masks: Mapping[str, torch.Tensor],
    cfg: TrainConfig,
    seed: int,
    recorder: Recorder,
    progress: bool,
    hook: StepHook | None = None,
) -> None:
    """Mask the weights, build the optimizer, then take every step (or the ``hook``'s), recording as it goes."""
    keep = _mask_weights(model, masks)
    opt, mask_after = _optimizer(model, masks, cfg)
    gen = torch.Generator().manual_seed(seed)
    x, y = train_split.x, train_split.y
    model.train()
    recorder.start()
    with progress_bar(cfg.total, progress, "train") as bar:
        for it, idx in enumerate(_batches(len(train_split), cfg.batch_size, cfg.epochs, gen), start=1):
            idx = idx.to(x.device)  # the order is drawn on the CPU: the same on every device
            xb, yb = x[idx], y[idx]
            loss = None if hook is None else hook(it, xb, yb, keep, opt)
            if loss is None:
                loss = _step(model, opt, xb, yb, keep, mask_after)
            recorder.step(it, loss.to(torch.float64))  # summed in float64, as Python floats were
            bar.update(1)


#: Examples per forward pass when a conv net is evaluated (MLPs: the whole split at once).
CONV_EVAL_BATCH = 1000


def _macs_per_example(model: nn.Module, split: Split) -> int | None:
    """A conv net's MACs per example (for :func:`auto_threads`); ``None`` for other models (parameter count)."""
    if not has_conv(model):
        return None
    from course_lib.measure.work import macs  # here: course_lib.measure imports course_lib.training

    try:
        return macs(model, skip_zeros=False, input_size=tuple(split.x.shape[1:]))
    except (TypeError, ValueError):  # a layer macs() does not count: fall back to the parameter count
        return None


def _placed(split: Split, device: torch.device, dtype: torch.dtype, channels_last: bool) -> Split:
    """``split`` on ``device`` with inputs of ``dtype`` (the same tensors where nothing changes)."""
    x = split.x.to(device, dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return Split(x, split.y.to(device))


def _train_on(
    model: nn.Module,
    splits: tuple[Split, Split, Split],
    masks: Mapping[str, torch.Tensor],
    cfg: TrainConfig,
    seed: int,
    device: torch.device,
    progress: bool,
    hook: StepHook | None = None,
) -> Recorder:
    """Move ``model`` and the data to ``device``, train, and restore the model's modes and memory layout."""
    modes = {m: m.training for m in model.modules()}
    channels_last = device.type == "cpu" and has_conv(model) and splits[0].x.dim() == 4
    channels_last = channels_last and isinstance(cfg.optimizer, str)  # an optimizer passed in keeps its layout
    model.to(device)
    if channels_last:  # nn.Module.to takes memory_format; torch's stubs lack that overload
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    dtype = next(model.parameters()).dtype
    train_split, val, test = (_placed(s, device, dtype, channels_last) for s in splits)
    recorder = _recorder(model, seed, cfg, val, test, CONV_EVAL_BATCH if has_conv(model) else None)
    try:
        _run(model, train_split, masks, cfg, seed, recorder, progress, hook)
    finally:
        if channels_last:
            model.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]  # as above
        for m, mode in modes.items():
            m.training = mode
    return recorder


# --------------------------------------------------------------------------- single run
def train(
    model: nn.Module,
    data: Dataset,
    masks: Mapping[str, torch.Tensor] | None = None,
    *,
    epochs: int = 10,
    lr: float = 1.2e-3,
    batch_size: int = 60,
    optimizer: str | torch.optim.Optimizer = "adam",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    seed: int = 0,
    eval_every: int | None = None,
    save_at: Sequence[int] = (),
    progress: bool = True,
    threads: int | None = None,
    device: str | torch.device | None = "cpu",
    _hook: StepHook | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``data.train`` and return the record of the run.

    Defaults: the LTH paper's LeNet-300-100 setting (Frankle & Carbin 2019): Adam,
    learning rate 1.2e-3, minibatches of 60.

    Args:
        model: any ``nn.Module`` with float parameters that maps a minibatch of
            ``data``'s inputs to logits ``(batch, classes)``: a course MLP, or a conv net of
            :mod:`course_lib.training.conv_models` given pictures ``(n, C, H, W)``
            (:func:`course_lib.training.data.as_images`). BatchNorm layers train in train
            mode and are evaluated in eval mode; every module's mode is restored after.
        data: a :class:`course_lib.training.data.Dataset` (``train``, ``val``, ``test`` splits).
        masks: parameter name -> bool keep-mask of the parameter's shape (Linear and conv
            weights alike); applied before training and kept through it: pruned weights end,
            and stay at every step, exactly zero. A model pruned by ``torch.nn.utils.prune``
            trains its ``weight_orig`` under its ``weight_mask`` (torch's hook keeps the pruned
            entries at zero); a mask on such a weight (named ``"fc1.weight"``) is combined into
            ``weight_mask`` (:func:`course_lib.pruning.masks.apply_masks`). A weight computed by
            ``torch.nn.utils.parametrize`` trains through its parametrization, but cannot take
            a mask (``ValueError``).
        epochs: passes over ``data.train`` (int >= 1).
        lr: learning rate (> 0).
        batch_size: examples per minibatch (the last of an epoch may be smaller).
        optimizer: ``"adam"``, ``"sgd"`` (with ``momentum``) or an existing
            ``torch.optim.Optimizer`` over ``model``'s parameters (its state of pruned
            entries is zeroed first, see :func:`mask_optimizer_state`).
        momentum: SGD momentum (>= 0).
        weight_decay: L2 penalty of the optimizer (>= 0).
        seed: fixes the minibatch order (the initialization is the model's own), int >= 0.
        eval_every: evaluate every this many steps (default: once per epoch).
        save_at: iterations whose weights are kept in ``result.snapshots`` (0 = before training).
        progress: show a tqdm bar.
        threads: torch CPU threads for the run (default :func:`auto_threads`, from the
            model's parameters and MACs per example); the previous setting is restored.
        device: where to train (:func:`course_lib.training.device.resolve_device`:
            ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"``, a ``torch.device``; ``None`` is the
            CPU). The model is moved there in place (it stays there) and the data once.
        _hook: private (:func:`course_lib.training.sparse_training.sparse_training`): a
            :data:`StepHook` that may take a step in place of the optimizer's.

    Returns:
        The :class:`TrainResult` (losses, accuracies in percent, snapshots as CPU tensors).

    Raises:
        TypeError: ``model`` is not an ``nn.Module`` with float parameters, ``data`` has no
            splits, a mask is not bool.
        ValueError: an argument out of range, a mask of the wrong shape or an unknown name,
            a device this machine lacks, or a model that does not accept the data's inputs
            (e.g. a conv net given ``(n, 28, 28)`` MNIST: the message says to pass
            ``course_lib.training.data.as_images(data)``), a mask on a weight computed by
            ``torch.nn.utils.parametrize`` (the message says how to remove it). Checked before
            anything changes.

    >>> from course_lib.training.data import load
    >>> from course_lib.training.models import mlp
    >>> net = mlp([64, 16, 10], seed=0)
    >>> keep = {"fc1.weight": torch.rand(16, 64, generator=torch.Generator().manual_seed(0)) > 0.5}
    >>> run = train(net, load("digits"), keep, epochs=1, optimizer="sgd", lr=0.05, progress=False)
    >>> bool((net.fc1.weight[~keep["fc1.weight"]] == 0).all())
    True
    """
    check_model(model)
    splits = check_splits(data)
    cfg = train_config(
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        optimizer=optimizer,
        momentum=momentum,
        weight_decay=weight_decay,
        eval_every=eval_every,
        save_at=save_at,
        n_train=len(splits[0]),
    )
    checked = checked_masks(model, masks)
    check_plain(model, "train with masks", names=checked, allow=(PRUNE,))  # torch.nn.utils.prune's: folded
    seed, where = check_seed(seed), resolve_device(device)
    check_model_fits(model, splits[0])
    n_params = sum(p.numel() for p in model.parameters())
    threads = run_threads(threads, n_params, _macs_per_example(model, splits[0]))
    start = time.perf_counter()
    # Everything, mask set-up included, runs on the chosen threads: a tensor op
    # on a shared CPU's second OpenMP thread can wait milliseconds for it.
    with num_threads(threads):
        recorder = _train_on(model, splits, checked, cfg, seed, where, progress, _hook)
    return recorder.finish(time.perf_counter() - start)[0]
