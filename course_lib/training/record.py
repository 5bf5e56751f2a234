"""What a training run records: losses, accuracies, the early-stopping iteration, snapshots.

* :class:`TrainResult` is the record of one run;
* :class:`Recorder` fills the records of ``K`` runs trained side by side, for both
  trainers (``K = 1`` for :func:`course_lib.training.train.train`, ``K`` stacked runs
  for :func:`course_lib.training.stacked.train_many`): at iteration 0, every
  ``eval_every`` optimizer steps and at the end it stores the mean minibatch loss
  since the previous evaluation and the validation loss, validation accuracy and
  test accuracy; at the iterations of ``save_at`` a copy of the weights;
* :func:`evaluate` and :func:`loss_acc` compute a loss and an accuracy.

Accuracies are in percent, losses are mean cross-entropies (nats). The early-stopping
iteration is the one of minimal validation loss, as in the LTH paper (Frankle &
Carbin 2019, Section 2).

>>> from course_lib.training.data import Split
>>> from course_lib.training.config import train_config
>>> cfg = train_config(epochs=1, lr=0.1, batch_size=2, optimizer="sgd", n_train=4)
>>> split = Split(torch.zeros(3, 2), torch.tensor([0, 1, 1]))
>>> rec = Recorder([0], cfg, lambda s: ([0.5], [50.0]), lambda: [{}], split, split)
>>> rec.start(); rec.step(1, torch.tensor([1.0])); rec.step(2, torch.tensor([2.0]))
>>> run = rec.finish(seconds=1.0)[0]
>>> run.iterations, run.train_loss[1:], run.val_acc
([0, 2], [1.5], [50.0, 50.0])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.training.config import TrainConfig
from course_lib.training.data import Split

__all__ = ["TrainResult", "Recorder", "evaluate", "loss_acc", "cpu_copy"]

#: Per-run mean loss and accuracy (percent) of the runs on a split, one number per run.
Evaluator = Callable[[Split], tuple[list[float], list[float]]]
#: Copies of the runs' weights (one ``state_dict``-like dict per run).
StateCopier = Callable[[], list[dict[str, torch.Tensor]]]


@dataclass
class TrainResult:
    """The record of one training run (accuracies in percent, losses in nats).

    ``iterations[i]`` is the number of optimizer steps taken when ``val_loss[i]``,
    ``val_acc[i]``, ``test_acc[i]`` were measured; ``train_loss[i]`` is the mean
    minibatch loss since the previous evaluation (NaN at iteration 0).
    ``snapshots`` maps each iteration asked for in ``save_at`` to a copy of the
    model's ``state_dict`` at that iteration. ``seconds`` is the wall-clock time of
    the run (for stacked runs: the time of all of them divided by their number).

    Attributes:
        seed: the run's minibatch seed.
        iterations: optimizer steps taken at each evaluation, from 0.
        train_loss: mean minibatch loss (nats) since the previous evaluation (NaN at 0).
        val_loss: validation loss (nats) at each evaluation.
        val_acc: validation accuracy (percent) at each evaluation.
        test_acc: test accuracy (percent) at each evaluation.
        snapshots: {iteration of ``save_at``: {name: tensor}, a copy of the weights}.
        seconds: wall-clock time of the run (s).

    Its properties and :meth:`to_dict` need at least one evaluation: on an empty record
    they raise ``ValueError`` (early stop) or ``IndexError`` (final accuracy).
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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the record (without the snapshots and seconds; NaN losses become ``None``)."""
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


def loss_acc(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy and accuracy (percent) of ``logits`` against labels ``y``.

    Args:
        logits: float tensor ``(..., n, classes)``; leading dimensions are runs.
        y: int64 labels ``(n,)`` (shared by all runs) or ``(..., n)``.

    Returns:
        Two float tensors of shape ``logits.shape[:-2]`` (0-d for one run): the loss and the accuracy.

    Raises:
        IndexError: a label outside ``[0, classes)``.
        RuntimeError: labels that are not integers, or whose ``n`` differs from the logits'.

    >>> loss_acc(torch.tensor([[[2.0, 0.0], [0.0, 2.0]], [[0.0, 2.0], [0.0, 2.0]]]), torch.tensor([0, 1]))[1]
    tensor([100.,  50.])
    """
    c = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, c), y.expand(logits.shape[:-1]).reshape(-1), reduction="none")
    loss = loss.reshape(logits.shape[:-1]).mean(-1)
    acc = (logits.argmax(-1) == y).float().mean(-1) * 100.0
    return loss, acc


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, batch_size: int | None = None) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (percent) of ``model`` on a split (``.x``, ``.y``).

    The model runs in eval mode (BatchNorm on its running statistics; every module's mode
    is restored after), on the whole split at once or in chunks of ``batch_size`` examples
    whose logits are joined before the loss is taken.

    Args:
        model: maps ``split.x`` (float, ``(n, ...)``, on the model's device) to logits ``(n, classes)``.
        split: a :class:`course_lib.training.data.Split` (int64 labels ``y`` of shape ``(n,)``).
        batch_size: examples per forward pass (int >= 1), or ``None`` for all at once (as the
            MLPs are evaluated; chunks bound the memory of a conv net's activations).

    Returns:
        ``(loss, accuracy)`` as Python floats.

    Raises:
        RuntimeError: ``split.x`` does not fit ``model`` (from the forward pass), or labels
            as in :func:`loss_acc`.
        IndexError: a label outside the model's classes.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2))
    >>> with torch.no_grad():
    ...     _ = net[1].weight.copy_(torch.eye(2)); _ = net[1].bias.zero_()
    >>> split = Split(torch.tensor([[1., 0.], [0., 1.]]), torch.tensor([0, 0]))
    >>> evaluate(net, split)[1], evaluate(net, split, batch_size=1) == evaluate(net, split)
    (50.0, True)
    """
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        if batch_size is None:
            logits = model(split.x)
        else:
            logits = torch.cat([model(x) for x in split.x.split(batch_size)])
        loss, acc = loss_acc(logits, split.y)
    finally:
        for m, mode in modes.items():
            m.training = mode
    return float(loss), float(acc)


def cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A copy of a ``state_dict`` on the CPU, in the standard (contiguous) memory layout.

    What the records keep (snapshots, a lottery study's weights), so that runs on a GPU
    and on the CPU compare directly.

    Args:
        state: {name: tensor} on any device and memory format.

    Returns:
        {name: a new, detached, contiguous CPU tensor with the same values}.

    >>> w = torch.ones(2); c = cpu_copy({"w": w}); c["w"].device.type, c["w"] is w
    ('cpu', False)
    """
    return {k: v.detach().to("cpu", memory_format=torch.contiguous_format, copy=True) for k, v in state.items()}


class Recorder:
    """Records ``K`` runs trained side by side into ``K`` :class:`TrainResult` s.

    The trainer calls :meth:`start` before the first step, :meth:`step` after every
    optimizer step and :meth:`finish` at the end. The recorder sums each step's
    minibatch losses (in the dtype the trainer gives them), snapshots the weights at
    ``cfg.save_at`` and evaluates at iteration 0, every ``cfg.eval_every`` steps and
    at ``cfg.total``.

    Args:
        seeds: one seed per run (stored in the records).
        cfg: the run's settings (:func:`course_lib.training.config.train_config`).
        evaluate: ``evaluate(split) -> (losses, accuracies)``, one float per run.
        state: ``state() -> [weights of run 0, ...]``, copies (called only at ``save_at``).
        val: the validation split (its loss picks the early-stopping iteration).
        test: the test split.

    Raises:
        ValueError: (from :meth:`start` or :meth:`step`) ``evaluate`` does not give one loss
            and one accuracy per run, or ``state`` not one dict per run.
    """

    def __init__(
        self,
        seeds: Sequence[int],
        cfg: TrainConfig,
        evaluate: Evaluator,
        state: StateCopier,
        val: Split,
        test: Split,
    ) -> None:
        self.results = [TrainResult(seed=int(s)) for s in seeds]
        self._cfg = cfg
        self._evaluate = evaluate
        self._state = state
        self._val, self._test = val, test
        self._loss_sum: torch.Tensor | None = None
        self._count = 0

    def start(self) -> None:
        """Record iteration 0 (the train loss is NaN) and snapshot it if asked."""
        self._record(0)
        self._snapshot(0)

    def step(self, iteration: int, losses: torch.Tensor) -> None:
        """Account for optimizer step ``iteration`` (1, 2, ...) and its minibatch ``losses`` (one per run).

        ``losses`` is summed in its own dtype (``train`` gives float64, ``train_many``
        float32), then the weights are snapshot and the runs evaluated if due.
        """
        losses = losses.detach().reshape(-1)
        if self._loss_sum is None:
            self._loss_sum = torch.zeros_like(losses)
        self._loss_sum += losses
        self._count += 1
        self._snapshot(iteration)
        if self._cfg.evaluates_at(iteration):
            self._record(iteration)

    def finish(self, seconds: float) -> list[TrainResult]:
        """The records, with ``seconds`` (the wall-clock time of all runs) shared equally among them."""
        for r in self.results:
            r.seconds = seconds / len(self.results)
        return self.results

    def _train_losses(self) -> list[float]:
        """Mean minibatch loss of each run since the last evaluation (NaN before any step)."""
        if self._loss_sum is None or not self._count:
            return [math.nan] * len(self.results)
        return [s / self._count for s in self._loss_sum.tolist()]

    def _record(self, iteration: int) -> None:
        val_loss, val_acc = self._evaluate(self._val)
        _, test_acc = self._evaluate(self._test)
        k_runs = len(self.results)
        if not len(val_loss) == len(val_acc) == len(test_acc) == k_runs:
            raise ValueError(
                f"evaluate must give one loss and one accuracy per run ({k_runs}), "
                f"got {len(val_loss)}, {len(val_acc)} and {len(test_acc)} numbers"
            )
        train_loss = self._train_losses()
        for k, r in enumerate(self.results):
            r.iterations.append(iteration)
            r.train_loss.append(train_loss[k])
            r.val_loss.append(val_loss[k])
            r.val_acc.append(val_acc[k])
            r.test_acc.append(test_acc[k])
        self._loss_sum, self._count = None, 0

    def _snapshot(self, iteration: int) -> None:
        if iteration in self._cfg.save_at:
            for r, state in zip(self.results, self._state(), strict=True):
                r.snapshots[iteration] = state
