"""Several runs of the same MLP trained at once, stacked in one tensor per layer.

:func:`train_many` computes what :func:`course_lib.training.train.train` computes for
each run, with the weights of all runs stacked as ``(K, out, in)`` per layer.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from course_lib._checks import check_int
from course_lib.training.train import (
    OPTIMIZERS,
    TrainResult,
    _check_masks,
    _check_split,
    _config,
    _loss_acc,
    _make_optimizer,
    _progress,
    auto_threads,
    mlp_layers,
    num_threads,
)

__all__ = ["train_many"]


# --------------------------------------------------------------------------- stacked runs
def _stacked_forward(
    weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], h: torch.Tensor
) -> list[torch.Tensor]:
    """The input of every layer, then the logits, of ``K`` stacked MLPs.

    ``weights[i]`` is ``(K, out, in)``, ``biases[i]`` is ``(K, out)``; ``h`` is
    ``(K, n, in)``, or ``(n, in)`` for one input shared by every run (evaluation).
    """
    acts = [h]
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases, strict=False)):
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
    g.scatter_add_(-1, target, torch.full(target.shape, -1.0 / n, dtype=g.dtype))  # ... - onehot / n
    for i in range(len(weights) - 1, -1, -1):
        torch.bmm(g.transpose(1, 2), acts[i], out=grad_w[i])
        torch.sum(g, 1, out=grad_b[i])
        if i:  # back through layer i and the ReLU before it (the data need no gradient)
            g = torch.ops.aten.threshold_backward(torch.bmm(g, weights[i]), acts[i], 0)
    return losses


def train_many(
    models: Sequence[nn.Module],
    data,
    masks: Sequence[Mapping[str, torch.Tensor] | None] | None = None,
    *,
    seeds: int | Sequence[int] = 0,
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
) -> list[TrainResult]:
    """Train several MLPs of the same architecture at once; each is trained in place.

    Run ``k`` is what ``train(models[k], data, masks[k], seed=seeds[k], ...)`` would
    do (same minibatch order, same masking, same optimizer update), computed with
    the weights of all runs stacked into ``(K, out, in)`` tensors (views of one
    flat tensor, the optimizer's only parameter, for the whole run), one
    ``torch.baddbmm`` per layer forward and hand-written gradients (``torch.bmm``)
    backward: one optimizer step updates every run. The models get their weights
    back at the end. Results agree with :func:`train` up to float rounding.
    ``masks`` is one dict (or ``None``) per model; ``seeds`` one int per model, or
    one int for all.

    >>> from course_lib.training.data import load
    >>> from course_lib.training.models import mlp
    >>> nets = [mlp([64, 16, 10], seed=s) for s in range(3)]
    >>> runs = train_many(nets, load("digits"), seeds=[0, 1, 2], epochs=2, lr=1e-2, progress=False)
    >>> [r.seed for r in runs], all(r.final_test_acc > 70 for r in runs)
    ([0, 1, 2], True)
    """
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one model")
    if not isinstance(optimizer, str):
        raise TypeError(f"train_many takes an optimizer name, one of {OPTIMIZERS}; got {type(optimizer).__name__}")
    layer_lists = [mlp_layers(m) for m in models]
    shapes = [[tuple(layer.weight.shape) for _, layer in layers] for layers in layer_lists]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"all models must have the same layer shapes, got {shapes}")
    if any(layer.bias is None for layers in layer_lists for _, layer in layers):
        raise ValueError("train_many needs Linear layers with a bias")
    k_runs = len(models)
    if masks is None:
        masks = [None] * k_runs
    masks = list(masks)
    if len(masks) != k_runs:
        raise ValueError(f"masks must hold one dict (or None) per model: {k_runs}, got {len(masks)}")
    checked = [_check_masks(m, mk) for m, mk in zip(models, masks, strict=False)]
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = [int(seeds)] * k_runs
    seeds = [check_int(s, "seeds entries", 0) for s in seeds]
    if len(seeds) != k_runs:
        raise ValueError(f"seeds must hold one int per model: {k_runs}, got {len(seeds)}")
    train_split, val, test = (_check_split(data, s) for s in ("train", "val", "test"))
    cfg = _config(epochs, lr, batch_size, optimizer, momentum, weight_decay, eval_every, len(train_split), save_at)
    if threads is None:
        threads = auto_threads(sum(p.numel() for p in models[0].parameters()))

    names = [name for name, _ in layer_lists[0]]
    n_layers = len(names)
    keys = [f"{n}.weight" for n in names] + [f"{n}.bias" for n in names]
    # One flat tensor holds every run's weights, then biases: (K, out, in) and (K, out) per layer.
    stack_shapes = [(k_runs, *layer.weight.shape) for _, layer in layer_lists[0]]
    stack_shapes += [(k_runs, s[1]) for s in stack_shapes]
    sizes = [math.prod(s) for s in stack_shapes]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    dtype = layer_lists[0][0][1].weight.dtype
    results = [TrainResult(seed=s) for s in seeds]
    start = time.perf_counter()
    with num_threads(threads), torch.no_grad():
        flat = torch.empty(sum(sizes), dtype=dtype)
        views = [t.view(s) for t, s in zip(flat.split(sizes), stack_shapes, strict=False)]
        weights, biases = views[:n_layers], views[n_layers:]
        for k, layers in enumerate(layer_lists):
            for li, (_, layer) in enumerate(layers):
                weights[li][k].copy_(layer.weight)
                biases[li][k].copy_(layer.bias)
        # the 0/1 float keep-mask of the flat tensor's first `end` entries (up to the last masked tensor)
        masked = [i for i, key in enumerate(keys) if any(key in c for c in checked)]
        end = offsets[masked[-1]] + sizes[masked[-1]] if masked else 0
        keep = torch.ones(end, dtype=dtype)
        for i in masked:
            stacked_keep = keep[offsets[i] : offsets[i] + sizes[i]].view(stack_shapes[i])
            for k, c in enumerate(checked):
                if keys[i] in c:
                    stacked_keep[k].copy_(c[keys[i]])
        flat[:end].mul_(keep)
        param = nn.Parameter(flat)  # the optimizer's one leaf; shares flat's memory
        param.grad = torch.zeros_like(flat)
        grads = [t.view(s) for t, s in zip(param.grad.split(sizes), stack_shapes, strict=False)]
        grad_w, grad_b = grads[:n_layers], grads[n_layers:]
        opt = _make_optimizer([param], cfg)
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        n, bs = len(train_split), cfg["batch_size"]
        x, y = train_split.x.reshape(n, -1), train_split.y
        val_x, test_x = val.x.reshape(len(val), -1), test.x.reshape(len(test), -1)
        running = torch.zeros(k_runs)
        count = 0

        def record(it: int):
            nonlocal running, count
            vl, va = _loss_acc(_stacked_forward(weights, biases, val_x)[-1], val.y)
            _, ta = _loss_acc(_stacked_forward(weights, biases, test_x)[-1], test.y)
            for k, r in enumerate(results):
                r.iterations.append(it)
                r.train_loss.append(float(running[k]) / count if count else math.nan)
                r.val_loss.append(float(vl[k]))
                r.val_acc.append(float(va[k]))
                r.test_acc.append(float(ta[k]))
            running, count = torch.zeros(k_runs), 0

        def snapshot(it: int):
            if it in cfg["save_at"]:
                for k, r in enumerate(results):
                    state = {}
                    for name, w, b in zip(names, weights, biases, strict=False):
                        state[f"{name}.weight"] = w[k].clone()
                        state[f"{name}.bias"] = b[k].clone()
                    r.snapshots[it] = state

        record(0)
        snapshot(0)
        it = 0
        with _progress(cfg["total"], progress, f"train x{k_runs}") as bar:
            for _ in range(cfg["epochs"]):
                # each run's minibatch order: the permutation train() draws from the same seed
                order = torch.stack([torch.randperm(n, generator=g) for g in gens])  # (K, n)
                for lo in range(0, n, bs):
                    idx = order[:, lo : lo + bs].reshape(-1)
                    xb = x.index_select(0, idx).view(k_runs, -1, x.shape[1])  # (K, B, in)
                    yb = y.index_select(0, idx).view(k_runs, -1)
                    acts = _stacked_forward(weights, biases, xb)
                    losses = _stacked_backward(weights, acts, yb, grad_w, grad_b)
                    if end:
                        param.grad[:end].mul_(keep)  # pruned entries get no gradient (nor momentum)
                    opt.step()
                    running += losses
                    count += 1
                    it += 1
                    snapshot(it)
                    if it % cfg["eval_every"] == 0 or it == cfg["total"]:
                        record(it)
                    bar.update(1)
        for k, layers in enumerate(layer_lists):
            for li, (_, layer) in enumerate(layers):
                layer.weight.copy_(weights[li][k])
                layer.bias.copy_(biases[li][k])
    seconds = time.perf_counter() - start
    for r in results:
        r.seconds = seconds / k_runs
    return results
