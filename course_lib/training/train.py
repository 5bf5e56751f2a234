"""Seeded training of the course's MLPs that keeps pruned weights at exactly zero.

Two paths compute the same thing:

* :func:`train` trains one ``nn.Sequential`` MLP (:mod:`course_lib.models`) with
  a ``torch.optim`` optimizer: the readable, from-scratch view;
* :func:`course_lib.training.stacked.train_many` trains several such MLPs at once (different seeds, masks,
  initializations): the weights of all runs live stacked in one flat tensor,
  ``(K, out, in)`` per layer, for the whole run; each step is one ``torch.baddbmm``
  per layer forward, the gradients are written by hand (``torch.bmm``, no autograd
  graph) and one optimizer step updates every run. For small MLPs that is several
  times faster than one run after the other. A test checks that both paths give
  the same weights.

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

Defaults follow the LTH paper for LeNet: Adam, learning rate 1.2e-3, minibatch 60.
Accuracies are in percent. The run is evaluated on the validation and test sets
at iteration 0, every ``eval_every`` iterations (default: one epoch) and at the
end; the early-stopping iteration is the one of minimal validation loss.

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

import contextlib
import math
import numbers
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._checks import check_int
from course_lib.pruning.masks import check_masks

__all__ = [
    "TrainResult",
    "OPTIMIZERS",
    "train",
    "evaluate",
    "mlp_layers",
    "mask_optimizer_state",
    "num_threads",
    "auto_threads",
]

#: Optimizer names :func:`train` and :func:`train_many` accept.
OPTIMIZERS = ("adam", "sgd")


# --------------------------------------------------------------------------- result
@dataclass
class TrainResult:
    """The record of one training run (accuracies in percent).

    ``iterations[i]`` is the number of optimizer steps taken when ``val_loss[i]``,
    ``val_acc[i]``, ``test_acc[i]`` were measured; ``train_loss[i]`` is the mean
    minibatch loss since the previous evaluation (NaN at iteration 0).
    ``snapshots`` maps each iteration asked for in ``save_at`` to a copy of the
    model's ``state_dict`` at that iteration.
    """

    seed: int
    iterations: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    snapshots: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict, repr=False)
    seconds: float = 0.0

    @property
    def early_stop_index(self) -> int:
        """Index of the evaluation with the smallest validation loss (the first, on ties)."""
        return min(range(len(self.val_loss)), key=lambda i: (self.val_loss[i], i))

    @property
    def early_stop_iter(self) -> int:
        """Iteration of minimal validation loss: the LTH paper's early-stopping iteration."""
        return self.iterations[self.early_stop_index]

    @property
    def early_stop_test_acc(self) -> float:
        """Test accuracy (percent) at the early-stopping iteration."""
        return self.test_acc[self.early_stop_index]

    @property
    def final_test_acc(self) -> float:
        """Test accuracy (percent) at the end of training."""
        return self.test_acc[-1]

    def to_dict(self) -> dict:
        """A JSON-able dict of the record (without the snapshots)."""
        return {
            "seed": self.seed,
            "iterations": list(self.iterations),
            "train_loss": [None if math.isnan(v) else v for v in self.train_loss],
            "val_loss": list(self.val_loss),
            "val_acc": list(self.val_acc),
            "test_acc": list(self.test_acc),
            "early_stop_iter": self.early_stop_iter,
            "early_stop_test_acc": self.early_stop_test_acc,
            "final_test_acc": self.final_test_acc,
        }


# --------------------------------------------------------------------------- helpers
def mlp_layers(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The named ``nn.Linear`` layers of a course MLP (``nn.Sequential`` of Flatten/Linear/ReLU).

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


def _check_masks(model: nn.Module, masks) -> dict[str, torch.Tensor]:
    """Validated masks (may be None or empty) for the model's parameters."""
    return {} if masks is None else check_masks(model, masks)


def _check_split(data, name: str):
    split = getattr(data, name, None)
    if split is None or not hasattr(split, "x") or not hasattr(split, "y"):
        raise TypeError(
            f"data must be a course_lib.training.data.Dataset with train/val/test splits, got {type(data).__name__}"
        )
    return split


def _config(epochs, lr, batch_size, optimizer, momentum, weight_decay, eval_every, n_train, save_at):
    epochs = check_int(epochs, "epochs", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    if not isinstance(optimizer, (str, torch.optim.Optimizer)) or (
        isinstance(optimizer, str) and optimizer not in OPTIMIZERS
    ):
        raise ValueError(f"optimizer must be one of {OPTIMIZERS} (or a torch.optim.Optimizer), got {optimizer!r}")
    per_epoch = math.ceil(n_train / batch_size)
    total = epochs * per_epoch
    eval_every = per_epoch if eval_every is None else check_int(eval_every, "eval_every", 1)
    save_at = sorted({check_int(s, "save_at entries", 0) for s in save_at})
    if save_at and save_at[-1] > total:
        raise ValueError(f"save_at asks for iteration {save_at[-1]} but training has only {total} iterations")
    return dict(
        epochs=epochs,
        lr=float(lr),
        batch_size=batch_size,
        optimizer=optimizer,
        momentum=float(momentum),
        weight_decay=float(weight_decay),
        eval_every=eval_every,
        total=total,
        save_at=set(save_at),
    )


def _make_optimizer(params, cfg) -> torch.optim.Optimizer:
    """Adam or SGD, fused (one kernel for all elements: 4x faster than the default on CPU here)."""
    params = list(params)
    kwargs = dict(lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    if cfg["optimizer"] == "sgd":
        kwargs["momentum"] = cfg["momentum"]
    cls = torch.optim.Adam if cfg["optimizer"] == "adam" else torch.optim.SGD
    try:
        return cls(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - builds without fused CPU kernels
        return cls(params, **kwargs)


def _batches(n: int, batch_size: int, epochs: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Index minibatches: a fresh permutation from ``gen`` each epoch; the last batch may be smaller."""
    for _ in range(epochs):
        yield from torch.randperm(n, generator=gen).split(batch_size)


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, leave=False, mininterval=0.5)


def auto_threads(n_params: int) -> int:
    """CPU threads used to train a model of ``n_params`` parameters when none are given.

    The course's MLPs (up to LeNet-300-100, 266k parameters) train on 1 thread:
    per-step overhead dominates, and on a shared CPU two OpenMP threads wait on
    each other (measured here under load: a LeNet step took 5x longer on 2 threads
    than on 1). Models above 1M parameters keep torch's current setting.

    >>> auto_threads(266_610)
    1
    """
    return 1 if n_params < 1_000_000 else torch.get_num_threads()


@contextlib.contextmanager
def num_threads(n: int | None):
    """Context manager: run torch on ``n`` CPU threads, restoring the previous number after.

    >>> before = torch.get_num_threads()
    >>> with num_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(check_int(n, "threads", 1))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def mask_optimizer_state(optimizer: torch.optim.Optimizer, pruned: Mapping[torch.Tensor, torch.Tensor]) -> None:
    """Zero, in place, the optimizer state (momentum buffer, Adam moments) of pruned entries.

    ``pruned`` maps a parameter tensor to a bool tensor that is ``True`` where the
    entry is pruned (``~mask``). Without this, the momentum an entry gathered before
    it was pruned keeps moving it after pruning. Returns ``None``.

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


def _loss_acc(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-run mean cross-entropy and accuracy (percent) for logits ``(..., n, classes)``."""
    c = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, c), y.expand(logits.shape[:-1]).reshape(-1), reduction="none")
    loss = loss.reshape(logits.shape[:-1]).mean(-1)
    acc = (logits.argmax(-1) == y).float().mean(-1) * 100.0
    return loss, acc


@torch.no_grad()
def evaluate(model: nn.Module, split) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (percent) of ``model`` on a split (``.x``, ``.y``).

    >>> from course_lib.training.data import Split
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2))
    >>> with torch.no_grad():
    ...     _ = net[1].weight.copy_(torch.eye(2)); _ = net[1].bias.zero_()
    >>> evaluate(net, Split(torch.tensor([[1., 0.], [0., 1.]]), torch.tensor([0, 0])))[1]
    50.0
    """
    was_training = model.training
    model.eval()
    try:
        loss, acc = _loss_acc(model(split.x), split.y)
    finally:
        model.train(was_training)
    return float(loss), float(acc)


# --------------------------------------------------------------------------- single run
def train(
    model: nn.Module,
    data,
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
) -> TrainResult:
    """Train ``model`` in place on ``data.train`` and return the record of the run.

    ``masks`` (parameter name -> bool keep-mask) are applied before training and
    kept through it: pruned weights end, and stay at every step, exactly zero.
    ``seed`` fixes the minibatch order (the initialization is the model's own).
    ``optimizer`` is ``"adam"``, ``"sgd"`` (with ``momentum``) or an existing
    ``torch.optim.Optimizer`` over ``model``'s parameters (its state of pruned
    entries is zeroed first, see :func:`mask_optimizer_state`). ``save_at`` lists
    iterations whose weights are kept in ``result.snapshots`` (0 = before
    training). ``threads`` sets torch's CPU threads for the run (default
    :func:`auto_threads`); the previous setting is restored. ``progress`` shows a
    tqdm bar.

    >>> from course_lib.training.data import load
    >>> from course_lib.training.models import mlp
    >>> net = mlp([64, 16, 10], seed=0)
    >>> keep = {"fc1.weight": torch.rand(16, 64, generator=torch.Generator().manual_seed(0)) > 0.5}
    >>> run = train(net, load("digits"), keep, epochs=1, optimizer="sgd", lr=0.05, progress=False)
    >>> bool((net.fc1.weight[~keep["fc1.weight"]] == 0).all())
    True
    """
    mlp_layers(model)
    train_split, val, test = (_check_split(data, s) for s in ("train", "val", "test"))
    cfg = _config(epochs, lr, batch_size, optimizer, momentum, weight_decay, eval_every, len(train_split), save_at)
    checked = _check_masks(model, masks)
    params = dict(model.named_parameters())
    if threads is None:
        threads = auto_threads(sum(p.numel() for p in model.parameters()))
    result = TrainResult(seed=int(seed))
    start = time.perf_counter()
    # Everything, mask set-up included, runs on the chosen threads: a tensor op
    # on a shared CPU's second OpenMP thread can wait milliseconds for it.
    with num_threads(threads):
        keep = {params[n]: m.to(params[n].dtype) for n, m in checked.items()}  # 0/1 float masks
        with torch.no_grad():
            for p, k in keep.items():
                p.mul_(k)
        if isinstance(optimizer, torch.optim.Optimizer):
            opt = optimizer
            mask_optimizer_state(opt, {params[n]: ~m for n, m in checked.items()})
        else:
            opt = _make_optimizer(model.parameters(), cfg)
        # Adam and SGD leave an entry whose gradient and state are zero at exactly
        # zero; an optimizer passed in may not, so its weights are masked after each step.
        mask_after_step = keep if isinstance(optimizer, torch.optim.Optimizer) else {}
        gen = torch.Generator().manual_seed(int(seed))
        x, y = train_split.x, train_split.y
        running, count = 0.0, 0

        def record(it: int):
            nonlocal running, count
            vl, va = evaluate(model, val)
            result.iterations.append(it)
            result.train_loss.append(running / count if count else math.nan)
            result.val_loss.append(vl)
            result.val_acc.append(va)
            result.test_acc.append(evaluate(model, test)[1])
            running, count = 0.0, 0

        def snapshot(it: int):
            if it in cfg["save_at"]:
                result.snapshots[it] = {k: v.detach().clone() for k, v in model.state_dict().items()}

        model.train()
        record(0)
        snapshot(0)
        with _progress(cfg["total"], progress, "train") as bar:
            for it, idx in enumerate(_batches(len(train_split), cfg["batch_size"], cfg["epochs"], gen), start=1):
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                for p, k in keep.items():
                    p.grad.mul_(k)  # pruned entries get no gradient (nor momentum)
                opt.step()
                with torch.no_grad():
                    for p, k in mask_after_step.items():
                        p.mul_(k)
                running += loss.item()
                count += 1
                snapshot(it)
                if it % cfg["eval_every"] == 0 or it == cfg["total"]:
                    record(it)
                bar.update(1)
    result.seconds = time.perf_counter() - start
    return result
