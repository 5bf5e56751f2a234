"""Several runs of the same MLP trained at once, stacked in one tensor per layer.

:func:`train_many` computes what :func:`course_lib.training.train.train` computes for
each run (same minibatch order, same masking, same optimizer update), with the
weights of all ``K`` runs stacked for the whole run:

1. **stack**: every run's weights and biases are copied into one flat tensor, viewed
   as ``(K, out, in)`` and ``(K, out)`` per layer (:class:`_Stack`); the flat tensor
   is the optimizer's only parameter, so one optimizer step updates every run;
2. **step**: the forward pass is one ``torch.baddbmm`` per layer, the gradients are
   written by hand with ``torch.bmm`` (no autograd graph), the gradients of pruned
   entries are zeroed, then the optimizer steps (:func:`_step`);
3. **evaluate**: all runs on the validation and test sets, one matrix product per
   layer for all of them (:func:`_stacked_forward` with a shared input);
4. **unstack**: the models get their trained weights back.

For small MLPs that is several times faster than one run after the other; results
agree with :func:`~course_lib.training.train.train` up to float rounding (a test
checks it). The records are kept by :class:`course_lib.training.record.Recorder`.
Only MLPs stack this way (one matrix product per layer); conv nets and other models
train one by one with :func:`~course_lib.training.train.train`. Like ``train``, it runs
on a ``device`` (the models are moved there in place; the records hold CPU tensors).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from course_lib._checks import check_seed
from course_lib.pruning.reparam import check_plain
from course_lib.training.config import (
    OPTIMIZERS,
    check_splits,
    checked_masks,
    make_optimizer,
    mlp_layers,
    num_threads,
    progress_bar,
    run_threads,
    train_config,
)
from course_lib.training.data import Dataset, Split
from course_lib.training.device import resolve_device
from course_lib.training.record import Recorder, TrainResult, cpu_copy, loss_acc

__all__ = ["train_many"]

Layers = list[tuple[str, nn.Linear]]


# --------------------------------------------------------------------------- the stacked network
def _stacked_forward(
    weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], h: torch.Tensor
) -> list[torch.Tensor]:
    """The input of every layer, then the logits, of ``K`` stacked MLPs.

    ``weights[i]`` is ``(K, out, in)``, ``biases[i]`` is ``(K, out)``; ``h`` is
    ``(K, n, in)``, or ``(n, in)`` for one input shared by every run (evaluation).
    """
    acts = [h]
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        if h.dim() == 2:  # shared input: one matrix product for all runs, viewed as (K, n, out)
            k, out, n_in = w.shape
            h = torch.addmm(b.reshape(-1), h, w.reshape(k * out, n_in).t()).view(-1, k, out).transpose(0, 1)
        else:
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
        if i < last:
            h = h.relu_()
        acts.append(h)
    return acts


def _stacked_backward(
    weights: Sequence[torch.Tensor],
    acts: Sequence[torch.Tensor],
    y: torch.Tensor,
    grad_w: Sequence[torch.Tensor],
    grad_b: Sequence[torch.Tensor],
) -> torch.Tensor:
    """Per-run mean cross-entropy of the logits ``acts[-1]`` (``K, n, classes``) against ``y`` (``K, n``).

    Writes the gradient of each run's loss into ``grad_w`` / ``grad_b`` (same shapes
    as the weights / biases), as autograd computes it for :func:`train`:
    ``g = (softmax - onehot) / n`` at the logits, then per layer ``grad_w = g^T h``,
    ``grad_b`` = the sum of ``g`` over the batch, and ``g = (g W) * (h > 0)`` for the
    layer below.
    """
    n = acts[-1].shape[1]
    logp = torch.log_softmax(acts[-1], -1)
    target = y.unsqueeze(-1)
    losses = logp.gather(-1, target).squeeze(-1).mean(-1).neg_()
    g = logp.exp_().mul_(1.0 / n)  # softmax / n ...
    g.scatter_add_(-1, target, torch.full(target.shape, -1.0 / n, dtype=g.dtype, device=g.device))  # ... - onehot / n
    for i in range(len(weights) - 1, -1, -1):
        torch.bmm(g.transpose(1, 2), acts[i], out=grad_w[i])
        torch.sum(g, 1, out=grad_b[i])
        if i:  # back through layer i and the ReLU before it (the data need no gradient)
            g = torch.ops.aten.threshold_backward(torch.bmm(g, weights[i]), acts[i], 0)
    return losses


@dataclass
class _Stack:
    """The weights of ``K`` runs in one flat tensor, and the views the steps use.

    ``param`` (the optimizer's one leaf) holds every run's weights, then biases:
    ``weights[i]`` is the ``(K, out, in)`` view of layer ``i``, ``biases[i]`` its
    ``(K, out)`` view. ``grad`` (with views ``grad_w``, ``grad_b``) is ``param``'s
    gradient. ``keep`` is the 0/1 float keep-mask of ``param``'s first
    ``keep.numel()`` entries (up to the last masked tensor; empty without masks).
    """

    names: list[str]
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    param: nn.Parameter
    grad: torch.Tensor
    grad_w: list[torch.Tensor]
    grad_b: list[torch.Tensor]
    keep: torch.Tensor

    def state_dicts(self) -> list[dict[str, torch.Tensor]]:
        """A copy of each run's weights, keyed like its model's ``state_dict``."""
        out = []
        for k in range(self.weights[0].shape[0]):
            state = {}
            for name, w, b in zip(self.names, self.weights, self.biases, strict=True):
                state[f"{name}.weight"] = w[k]
                state[f"{name}.bias"] = b[k]
            out.append(cpu_copy(state))
        return out

    def evaluate(self, split: Split) -> tuple[list[float], list[float]]:
        """Each run's mean loss and accuracy (percent) on ``split``: one product per layer for all runs."""
        logits = _stacked_forward(self.weights, self.biases, split.x.reshape(len(split), -1))[-1]
        loss, acc = loss_acc(logits, split.y)
        return loss.tolist(), acc.tolist()


def _views(flat: torch.Tensor, shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    """Views of ``flat``'s consecutive pieces with the given shapes."""
    sizes = [math.prod(s) for s in shapes]
    return [t.view(s) for t, s in zip(flat.split(sizes), shapes, strict=True)]


def _keep_mask(
    shapes: list[tuple[int, ...]],
    keys: list[str],
    masks: list[dict[str, torch.Tensor]],
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """The 0/1 float keep-mask of the flat tensor up to the last tensor any run masks (empty if none)."""
    masked = [i for i, key in enumerate(keys) if any(key in m for m in masks)]
    if not masked:
        return torch.ones(0, dtype=dtype, device=device)
    covered = shapes[: masked[-1] + 1]
    keep = torch.ones(sum(math.prod(s) for s in covered), dtype=dtype, device=device)
    views = _views(keep, covered)
    for i in masked:
        for k, m in enumerate(masks):
            if keys[i] in m:
                views[i][k].copy_(m[keys[i]])
    return keep


def _stack(layer_lists: list[Layers], masks: list[dict[str, torch.Tensor]], device: torch.device) -> _Stack:
    """Copy the runs' weights into one flat tensor on ``device`` and zero their pruned entries."""
    k_runs, first = len(layer_lists), layer_lists[0]
    names = [name for name, _ in first]
    n = len(names)
    shapes = [(k_runs, *layer.weight.shape) for _, layer in first]
    shapes += [(k_runs, s[1]) for s in shapes]
    flat = torch.empty(sum(math.prod(s) for s in shapes), dtype=first[0][1].weight.dtype, device=device)
    views = _views(flat, shapes)
    for k, layers in enumerate(layer_lists):
        for i, (_, layer) in enumerate(layers):
            views[i][k].copy_(layer.weight)
            views[n + i][k].copy_(layer.bias)
    keys = [f"{name}.weight" for name in names] + [f"{name}.bias" for name in names]
    keep = _keep_mask(shapes, keys, masks, flat.dtype, device)
    flat[: keep.numel()].mul_(keep)
    param = nn.Parameter(flat)  # the optimizer's one leaf; shares flat's memory
    grad = torch.zeros_like(flat)
    param.grad = grad
    grads = _views(grad, shapes)
    return _Stack(names, views[:n], views[n:], param, grad, grads[:n], grads[n:], keep)


def _unstack(stack: _Stack, layer_lists: list[Layers]) -> None:
    """Copy each run's trained weights back into its model."""
    for k, layers in enumerate(layer_lists):
        for i, (_, layer) in enumerate(layers):
            layer.weight.copy_(stack.weights[i][k])
            layer.bias.copy_(stack.biases[i][k])


# --------------------------------------------------------------------------- the steps of a run
def _batches(
    train_split: Split, seeds: Sequence[int], batch_size: int, epochs: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Each step's stacked minibatch ``(K, B, in)`` inputs and ``(K, B)`` labels, on ``device``.

    Run ``k`` sees the minibatches :func:`train` draws from seed ``seeds[k]``: a fresh
    permutation from its generator (on the CPU) each epoch, cut into ``batch_size`` pieces.
    """
    n, k_runs = len(train_split), len(seeds)
    x, y = train_split.x.reshape(n, -1).to(device), train_split.y.to(device)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    for _ in range(epochs):
        order = torch.stack([torch.randperm(n, generator=g) for g in gens])  # (K, n)
        for lo in range(0, n, batch_size):
            idx = order[:, lo : lo + batch_size].reshape(-1).to(device)
            yield x.index_select(0, idx).view(k_runs, -1, x.shape[1]), y.index_select(0, idx).view(k_runs, -1)


def _step(stack: _Stack, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    """One optimizer step of every run on its minibatch; returns the ``(K,)`` minibatch losses."""
    acts = _stacked_forward(stack.weights, stack.biases, xb)
    losses = _stacked_backward(stack.weights, acts, yb, stack.grad_w, stack.grad_b)
    end = stack.keep.numel()
    if end:
        stack.grad[:end].mul_(stack.keep)  # pruned entries get no gradient (nor momentum)
    opt.step()
    return losses


# --------------------------------------------------------------------------- checks
def _check_runs(
    models: Sequence[nn.Module],
    masks: Sequence[Mapping[str, torch.Tensor] | None] | None,
    seeds: Sequence[int] | None,
    optimizer: object,
) -> tuple[list[Layers], list[dict[str, torch.Tensor]], list[int]]:
    """The models' Linear layers, the checked masks and one seed per run; raises on a mismatch."""
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one model")
    if not isinstance(optimizer, str):
        raise TypeError(f"train_many takes an optimizer name, one of {OPTIMIZERS}; got {type(optimizer).__name__}")
    try:
        layer_lists = [mlp_layers(m) for m in models]
    except TypeError as err:
        raise TypeError(
            f"train_many stacks course MLPs only (one matrix product per layer): {err}. Train a conv net "
            "(or any other nn.Module) with course_lib.training.train.train, one run at a time"
        ) from None
    for i, m in enumerate(models):  # its weights are copied into the stack and back: plain parameters only
        check_plain(m, f"train_many (models[{i}]: weights stacked and copied back)")
    shapes = [[tuple(layer.weight.shape) for _, layer in layers] for layers in layer_lists]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"all models must have the same layer shapes, got {shapes}")
    if any(layer.bias is None for layers in layer_lists for _, layer in layers):
        raise ValueError("train_many needs Linear layers with a bias")
    k_runs = len(models)
    mask_list = [None] * k_runs if masks is None else list(masks)
    if len(mask_list) != k_runs:
        raise ValueError(f"masks must hold one dict (or None) per model: {k_runs}, got {len(mask_list)}")
    checked = [checked_masks(m, mk) for m, mk in zip(models, mask_list, strict=True)]
    return layer_lists, checked, _seed_list(seeds, k_runs)


def _seed_list(seeds: object, k_runs: int) -> list[int]:
    """One seed per run: ``seeds``' entries (``k_runs`` of them); ``None``: seed 0 for every run."""
    if seeds is None:
        return [0] * k_runs
    if isinstance(seeds, numbers.Integral | str | bytes) or not isinstance(seeds, Iterable):
        raise TypeError(
            f"seeds must be a list of one int per model (for one seed s: [s] * len(models)), "
            f"got {type(seeds).__name__} {seeds!r}"
        )
    seed_list = [check_seed(s, "seeds entries") for s in seeds]
    if len(seed_list) != k_runs:
        raise ValueError(f"seeds must hold one int per model: {k_runs}, got {len(seed_list)}")
    return seed_list


def train_many(
    models: Sequence[nn.Module],
    data: Dataset,
    masks: Sequence[Mapping[str, torch.Tensor] | None] | None = None,
    *,
    seeds: Sequence[int] | None = None,
    epochs: int = 10,
    lr: float = 1.2e-3,
    batch_size: int = 60,
    optimizer: str = "adam",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    eval_every: int | None = None,
    save_at: Sequence[int] = (),
    progress: bool = True,
    threads: int | None = None,
    device: str | torch.device | None = "cpu",
) -> list[TrainResult]:
    """Train several MLPs of the same architecture at once; each is trained in place.

    Run ``k`` is what ``train(models[k], data, masks[k], seed=seeds[k], ...)`` would
    do, computed with the weights of all runs stacked (see the module docstring);
    results agree with :func:`~course_lib.training.train.train` up to float rounding.
    The other arguments are those of ``train``.

    Args:
        models: ``K >= 1`` course MLPs with the same layer shapes, biases included.
        data: a :class:`course_lib.training.data.Dataset`.
        masks: one dict (parameter name -> bool keep-mask) or ``None`` per model.
        seeds: one int >= 0 per model (its minibatch order); ``None``: 0 for every run. As
            everywhere in the course, ``seeds`` holds the seeds themselves.
        optimizer: ``"adam"`` or ``"sgd"`` (no optimizer object: there is one for all runs).
        device: where to train (as :func:`~course_lib.training.train.train`); the models are
            moved there in place, the data once.

    Returns:
        One :class:`TrainResult` per model, in order; ``seconds`` is the total time / ``K``;
        snapshots are CPU tensors.

    Raises:
        ValueError: no models, different shapes, no bias, a mask or seed count that is not ``K``,
            an argument out of range, a device this machine lacks; a model with a weight
            reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` (its stacked copy could
            not be written back; the message says how to make it plain, and
            :func:`~course_lib.training.train.train` takes a model pruned by torch).
        TypeError: an optimizer object, a model that is not a course MLP (a conv net: the
            message points to :func:`~course_lib.training.train.train`), ``data`` without splits.

    >>> from course_lib.training.data import load
    >>> from course_lib.training.models import mlp
    >>> nets = [mlp([64, 16, 10], seed=s) for s in range(3)]
    >>> runs = train_many(nets, load("digits"), seeds=[0, 1, 2], epochs=2, lr=1e-2, progress=False)
    >>> [r.seed for r in runs], all(r.final_test_acc > 70 for r in runs)
    ([0, 1, 2], True)
    """
    layer_lists, checked, seed_list = _check_runs(models, masks, seeds, optimizer)
    train_split, val, test = check_splits(data)
    cfg = train_config(
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        optimizer=optimizer,
        momentum=momentum,
        weight_decay=weight_decay,
        eval_every=eval_every,
        save_at=save_at,
        n_train=len(train_split),
    )
    threads = run_threads(threads, sum(p.numel() for _, layer in layer_lists[0] for p in layer.parameters()))
    where = resolve_device(device)
    start = time.perf_counter()
    with num_threads(threads), torch.no_grad():
        for model in models:
            model.to(where)
        stack = _stack(layer_lists, checked, where)
        opt = make_optimizer([stack.param], cfg)
        val, test = (Split(s.x.to(where), s.y.to(where)) for s in (val, test))
        recorder = Recorder(seed_list, cfg, stack.evaluate, stack.state_dicts, val, test)
        recorder.start()
        with progress_bar(cfg.total, progress, f"train x{len(seed_list)}") as bar:
            batches = _batches(train_split, seed_list, cfg.batch_size, cfg.epochs, where)
            for it, (xb, yb) in enumerate(batches, start=1):
                recorder.step(it, _step(stack, opt, xb, yb))
                bar.update(1)
        _unstack(stack, layer_lists)
    return recorder.finish(time.perf_counter() - start)
