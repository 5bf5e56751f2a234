"""Pruning at initialization: scores of an untrained network, from one batch or from no data.

The lecture leaves open whether tickets can be found without training the dense network.
These criteria try it at initialization, each a *pure* score function (the model's
parameters, buffers, ``.grad``, ``requires_grad`` and train/eval mode are exactly as before)
returning {prunable weight name: float32 scores of the weight's shape, on the CPU}, larger =
keep; :func:`course_lib.pruning.scores.score_masks` then takes the masks.

* :func:`snip_scores`: SNIP (Lee et al. 2019, "SNIP: Single-shot Network Pruning based on
  Connection Sensitivity"): the saliency |dL/dw ⊙ w| on one mini-batch;
* :func:`grasp_scores`: GraSP (Wang et al. 2020, "Picking Winning Tickets Before Training by
  Preserving Gradient Flow"): ``w ⊙ Hg`` from a Hessian-gradient product
  (:func:`hessian_gradient_product`);
* :func:`synflow_scores` and :func:`synflow_masks`: SynFlow (Tanaka et al. 2020, "Pruning
  neural networks without any data by iteratively conserving synaptic flow"): data-free,
  pruned over 100 rounds with an exponential schedule;
* magnitude and random (:mod:`course_lib.pruning.scores`): the baselines of Frankle et al.
  2021 ("Pruning Neural Networks at Initialization: Why Are We Missing the Mark?").

:func:`init_masks` is the one entry point: ``init_masks("snip", model, 0.98, x=x, y=y)``.

The data-driven scores use the model in its current train/eval mode (a freshly built model
is in train mode, so BatchNorm normalizes with the batch's statistics);
they run on the model's device on a copy of its parameters and buffers (``torch.func.functional_call``),
so BatchNorm's running statistics are not updated (a model with dropout would still draw its
dropout masks from torch's global RNG; the course's models have none).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from course_lib._checks import check_float, check_input_size, check_int, check_seed, check_sparsity, check_threads
from course_lib.pruning.magnitude import SCOPES
from course_lib.pruning.masks import apply_masks, check_masks
from course_lib.pruning.reparam import plain, plain_copy
from course_lib.pruning.scores import check_prunable, magnitude_scores, random_scores, score_masks
from course_lib.training.device import num_threads, run_threads

__all__ = [
    "METHODS",
    "PAPER_SCOPE",
    "SCORE_PASSES",
    "snip_scores",
    "hessian_gradient_product",
    "grasp_scores",
    "synflow_scores",
    "synflow_masks",
    "init_scores",
    "init_masks",
]

#: The criteria of pruning at initialization, by the names :func:`init_masks` takes.
METHODS: tuple[str, ...] = ("snip", "grasp", "synflow", "magnitude", "random")

#: How each method ranks, as its paper does: SNIP (Lee et al. 2019, Eq. 6), GraSP (Wang et al.
#: 2020, Algorithm 1) and SynFlow (Tanaka et al. 2020, Algorithm 1) take one threshold across
#: all layers; Frankle et al. 2021 (Section 3) rank magnitude at initialization globally too and
#: prune randomly with the same sparsity in every layer.
PAPER_SCOPE: dict[str, str] = {
    "snip": "global",
    "grasp": "global",
    "synflow": "global",
    "magnitude": "global",
    "random": "layer",
}

#: Forward+backward passes of the network spent on scoring (the cost of finding the mask):
#: SNIP one; GraSP two (the gradient, then the Hessian-gradient product); SynFlow one per
#: round (100, the paper's setting); magnitude and random none.
SCORE_PASSES: dict[str, int] = {"snip": 1, "grasp": 2, "synflow": 100, "magnitude": 0, "random": 0}

#: GraSP's temperature on the logits (the official code's default, T = 200).
GRASP_TEMPERATURE = 200.0


# --------------------------------------------------------------------------- one batch
def _check_batch(x: object, y: object) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` unchanged if ``x`` is a float batch and ``y`` int64 labels of the same batch."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        what = f"dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"x must be a floating-point tensor (batch, ...), got {what}")
    if x.dim() < 2 or x.shape[0] < 1:
        raise ValueError(
            f"x must have shape (batch, ...) with batch >= 1 and a feature dimension, got {tuple(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError("x must contain only finite values (no NaN or inf)")
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64:
        what = f"dtype {y.dtype}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise TypeError(f"y must be an int64 tensor of class labels (batch,), got {what}")
    if tuple(y.shape) != (x.shape[0],):
        raise ValueError(f"y must have shape (batch,) = ({x.shape[0]},) like x, got {tuple(y.shape)}")
    return x, y


def _loss_grads(
    model: nn.Module, x: object, y: object, temperature: float, create_graph: bool
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The prunable weights (leaf copies) and dL/dw of the mean cross-entropy of ``model(x) / T`` vs ``y``.

    The model runs on copies of its parameters and buffers, so nothing of it changes; a model
    reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` runs as its plain copy
    (:func:`~course_lib.pruning.reparam.plain`), so ``w`` is the weight it computes with.
    """
    names = list(check_prunable(model))
    model = plain(model)
    xb, yb = _check_batch(x, y)
    params = {n: p.detach().clone().requires_grad_(n in names) for n, p in model.named_parameters()}
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    first = params[names[0]]
    with torch.enable_grad():
        try:
            logits = functional_call(model, {**params, **buffers}, (xb.to(first.device, first.dtype),))
        except RuntimeError as e:  # torch's "mat1 and mat2 shapes cannot be multiplied" and the like
            raise ValueError(f"x: a batch of shape {tuple(xb.shape)} does not fit the model ({e})") from e
        if logits.dim() != 2:
            raise ValueError(f"model(x) must be logits of shape (batch, classes), got {tuple(logits.shape)}")
        if bool((yb < 0).any()) or bool((yb >= logits.shape[1]).any()):
            raise ValueError(
                f"y must hold class labels in [0, {logits.shape[1] - 1}], got {int(yb.min())}..{int(yb.max())}"
            )
        loss = F.cross_entropy(logits / temperature, yb.to(first.device))
        grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=create_graph)
    return {n: params[n] for n in names}, dict(zip(names, grads, strict=True))


def snip_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """SNIP's connection sensitivity |dL/dw ⊙ w| (Lee et al. 2019), on one mini-batch.

    ``L`` is the mean cross-entropy of ``model(x)`` against ``y``. The paper normalizes the
    saliencies by their sum, which changes no ranking, so it is left out. SNIP ranks globally
    (:data:`PAPER_SCOPE`).

    Args:
        model: an ``nn.Module`` mapping ``x`` to logits ``(batch, classes)``; not changed. Weights
            reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` are scored as computed.
        x: a float tensor ``(batch, ...)``, batch >= 1 (moved to the model's device and dtype).
        y: int64 class labels ``(batch,)`` in ``[0, classes)``.

    Returns:
        {prunable weight name: float32 saliencies >= 0 of the weight's shape, on the CPU}.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``x`` not a float tensor, ``y`` not int64.
        ValueError: no prunable weight, an empty or non-finite batch, ``y`` of another length or
            out of range, or a model whose output is not 2-D.

    >>> from course_lib.training.models import mlp
    >>> s = snip_scores(mlp([4, 3, 2]), torch.ones(5, 4), torch.zeros(5, dtype=torch.long))
    >>> {n: tuple(v.shape) for n, v in s.items()}
    {'fc1.weight': (3, 4), 'fc2.weight': (2, 3)}
    """
    weights, grads = _loss_grads(model, x, y, 1.0, create_graph=False)
    return {n: (grads[n] * w).detach().abs().to(device="cpu", dtype=torch.float32) for n, w in weights.items()}


def _hvp(
    model: nn.Module, x: object, y: object, vector: Mapping[str, torch.Tensor] | None, temperature: object
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The prunable weights (detached) and H·v, on the model's device and in its dtype."""
    t = check_float(temperature, "temperature", 0.0, strict=True)
    weights, grads = _loss_grads(model, x, y, t, create_graph=True)
    if vector is None:
        v = {n: g.detach() for n, g in grads.items()}
    else:
        if not isinstance(vector, Mapping) or set(vector) != set(weights):
            raise ValueError(f"vector must be a dict with exactly the prunable weights' names {list(weights)}")
        for n, w in weights.items():
            if not isinstance(vector[n], torch.Tensor) or vector[n].shape != w.shape:
                raise ValueError(f"vector[{n!r}] must be a tensor of the weight's shape {tuple(w.shape)}")
        v = {n: vector[n].detach().to(w.device, w.dtype) for n, w in weights.items()}
    with torch.enable_grad():
        dot = torch.stack([(grads[n] * v[n]).sum() for n in weights]).sum()
        hv = torch.autograd.grad(dot, list(weights.values()), allow_unused=True)
    out = {n: torch.zeros_like(w) if h is None else h for (n, w), h in zip(weights.items(), hv, strict=True)}
    return {n: w.detach() for n, w in weights.items()}, out


def hessian_gradient_product(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    vector: Mapping[str, torch.Tensor] | None = None,
    *,
    temperature: float = 1.0,
) -> dict[str, torch.Tensor]:
    """``H v``: the Hessian of the loss w.r.t. the prunable weights times ``v`` (double backward).

    ``L`` is the mean cross-entropy of ``model(x) / temperature`` against ``y``, ``H`` its
    Hessian w.r.t. all prunable weights together (biases held fixed), and ``v`` by default
    the gradient ``g = dL/dw`` (detached): ``Hg``, the product GraSP needs (Wang et al. 2020).
    It is computed as the gradient of ``g(w) · v`` (Pearlmutter 1994), never forming ``H``.

    Args:
        model: an ``nn.Module`` mapping ``x`` to logits ``(batch, classes)``; not changed. Weights
            reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` are scored as computed.
        x: a float tensor ``(batch, ...)``, batch >= 1 (moved to the model's device and dtype).
        y: int64 class labels ``(batch,)`` in ``[0, classes)``.
        vector: {prunable weight name: tensor of the weight's shape} for every prunable
            weight, or ``None`` for the gradient.
        temperature: a float > 0 dividing the logits (1: the plain loss).

    Returns:
        {prunable weight name: ``(H v)`` of the weight's shape, in the model's dtype, on the CPU}.

    Raises:
        TypeError, ValueError: as :func:`snip_scores`; also a ``temperature`` that is not a
            number > 0, or a ``vector`` with other names or shapes.

    >>> net = nn.Linear(3, 2)
    >>> hv = hessian_gradient_product(net, torch.ones(4, 3), torch.zeros(4, dtype=torch.long))
    >>> hv["weight"].shape
    torch.Size([2, 3])
    """
    _, hv = _hvp(model, x, y, vector, temperature)
    return {n: h.detach().cpu() for n, h in hv.items()}


def grasp_scores(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, temperature: float = GRASP_TEMPERATURE
) -> dict[str, torch.Tensor]:
    """GraSP's importance ``w ⊙ Hg`` (Wang et al. 2020), larger = keep.

    The paper scores ``S = -w ⊙ Hg`` and *removes* the weights with the largest ``S`` (those
    whose removal reduces the gradient norm least, or even raises it); the course's
    convention is "larger score = keep", so this returns ``-S = w ⊙ Hg`` and
    :func:`~course_lib.pruning.scores.score_masks` prunes its lowest entries, the same weights.
    As the paper's code does, the logits are divided by a temperature ``T`` (200) before the
    cross-entropy, which keeps the softmax away from saturation at initialization.
    GraSP ranks globally (:data:`PAPER_SCOPE`). Scores are signed.

    Args:
        model: an ``nn.Module`` mapping ``x`` to logits ``(batch, classes)``; not changed. Weights
            reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` are scored as computed.
        x: a float tensor ``(batch, ...)``, batch >= 1.
        y: int64 class labels ``(batch,)`` in ``[0, classes)``.
        temperature: ``T``, a float > 0 dividing the logits.

    Returns:
        {prunable weight name: float32 scores of the weight's shape, on the CPU}.

    Raises:
        TypeError, ValueError: as :func:`hessian_gradient_product`.

    >>> from course_lib.training.models import mlp
    >>> s = grasp_scores(mlp([4, 3, 2]), torch.ones(5, 4), torch.zeros(5, dtype=torch.long))
    >>> list(s)
    ['fc1.weight', 'fc2.weight']
    """
    weights, hv = _hvp(model, x, y, None, temperature)
    return {n: (w * hv[n]).to(device="cpu", dtype=torch.float32) for n, w in weights.items()}


# --------------------------------------------------------------------------- SynFlow
def _linearized(model: nn.Module) -> nn.Module:
    """A float64 copy of ``model`` in eval mode with every float parameter and buffer replaced
    by its absolute value (Tanaka et al.'s code does the same to the whole state dict)."""
    net = plain_copy(model).double().eval()  # a pruned or parametrized model: the weights it computes with
    with torch.no_grad():
        for t in [*net.parameters(), *net.buffers()]:
            if t.is_floating_point():
                t.abs_()
    for p in net.parameters():
        p.requires_grad_(False)
        p.grad = None
    return net


def _synflow_round(
    net: nn.Module, absw: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor], shape: tuple[int, ...]
) -> dict[str, torch.Tensor]:
    """SynFlow scores (float64, the model's device) of the linearized ``net`` under ``masks``."""
    params = dict(net.named_parameters())
    with torch.no_grad():
        for n, w in absw.items():
            params[n].copy_(w)
    apply_masks(net, masks)
    leaves = [params[n].requires_grad_(True) for n in absw]
    try:
        with torch.enable_grad():
            ones = torch.ones((1, *shape), dtype=torch.float64, device=leaves[0].device)
            try:
                out = net(ones)
            except RuntimeError as e:  # the input shape does not fit the first layer
                raise ValueError(f"input_shape: an input of shape {tuple(shape)} does not fit the model ({e})") from e
            grads = torch.autograd.grad(out.sum(), leaves, allow_unused=True)
    finally:
        for p in leaves:
            p.requires_grad_(False)
    zero = torch.zeros_like
    return {n: zero(params[n]) if g is None else (g * params[n]).abs() for n, g in zip(absw, grads, strict=True)}


def _synflow_setup(
    model: nn.Module, masks: object
) -> tuple[nn.Module, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(linearized copy, {name: |w| in float64}, checked masks)`` for SynFlow."""
    weights = check_prunable(model)
    checked = {} if masks is None else check_masks(model, masks)
    net = _linearized(model)
    params = dict(net.named_parameters())
    return net, {n: params[n].detach().clone() for n in weights}, checked


def synflow_scores(
    model: nn.Module, input_shape: tuple[int, ...], masks: Mapping[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """SynFlow's synaptic saliency ``|w ⊙ dR/dw|`` of the ``|w|`` network (Tanaka et al. 2020), no data.

    On a float64 copy of ``model`` with every parameter (and float buffer) replaced by its
    absolute value, the masked entries zero and BatchNorm in eval mode, the input is all ones
    of shape ``(1, *input_shape)`` and ``R`` is the sum of the output. For a bias-free ReLU
    network every layer's scores sum to the same ``R`` (the paper's Theorem 1, conservation).
    One round; the paper prunes iteratively (:func:`synflow_masks`).

    Args:
        model: an ``nn.Module`` with prunable weights; not changed. Weights reparametrized by
            ``torch.nn.utils.prune`` / ``parametrize`` are read as the model computes with them.
        input_shape: one input without the batch, e.g. ``(784,)`` or ``(1, 28, 28)``, ints >= 1.
        masks: {parameter name: bool mask} for some of the parameters, applied to the copy.

    Returns:
        {prunable weight name: float32 scores >= 0 of the weight's shape, on the CPU} (a pruned
        entry scores 0).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``masks`` not a dict of bool tensors.
        ValueError: no prunable weight, a bad ``input_shape``, a mask with an unknown name or
            another shape.

    >>> from course_lib.training.models import mlp
    >>> s = synflow_scores(mlp([4, 3, 2]), (4,))
    >>> bool(all((v >= 0).all() for v in s.values()))
    True
    """
    shape = check_input_size(input_shape, "input_shape")
    net, absw, checked = _synflow_setup(model, masks)
    scores = _synflow_round(net, absw, checked, shape)
    return {n: s.to(device="cpu", dtype=torch.float32) for n, s in scores.items()}


def _density_floor(masks: Mapping[str, torch.Tensor], scope: str) -> float:
    """Density the masks already have: over all of them (global), or of the sparsest (layer)."""
    if scope == "global":
        return sum(int(m.sum()) for m in masks.values()) / sum(m.numel() for m in masks.values())
    return min(int(m.sum()) / m.numel() for m in masks.values())


def synflow_masks(
    model: nn.Module,
    sparsity: float,
    input_shape: tuple[int, ...],
    *,
    rounds: int = 100,
    prior: Mapping[str, torch.Tensor] | None = None,
    scope: str = "global",
    threads: int | None = None,
) -> dict[str, torch.Tensor]:
    """Iterative SynFlow (Tanaka et al. 2020, Algorithm 1): re-score and prune over ``rounds``.

    Round ``k`` of ``n`` scores the network under the current masks (:func:`synflow_scores`)
    and prunes to density ``d0 * (d / d0) ** (k / n)`` (the paper's exponential schedule; ``d``
    = ``1 - sparsity``, ``d0`` = 1 without a prior), taking :func:`score_masks` with the
    current masks as prior, so masks only shrink; the last round lands exactly on
    ``sparsity``. Re-scoring is what avoids layer collapse: a layer that has lost many weights
    carries more of the conserved flow per weight, so it is spared.

    Args:
        model: an ``nn.Module`` with prunable weights; not changed. Weights reparametrized by
            ``torch.nn.utils.prune`` / ``parametrize`` are read as the model computes with them.
        sparsity: the final fraction pruned, a float in [0, 1].
        input_shape: one input without the batch, e.g. ``(1, 28, 28)``.
        rounds: the number of scoring rounds, an int >= 1 (the paper: 100).
        prior: masks already applied, {prunable weight name: bool tensor}: they stay pruned;
            ``d0`` is their density (global), or the lowest layer's density (``scope="layer"``).
        scope: ``"global"`` (the paper) or ``"layer"`` (every layer at the same sparsity).
        threads: torch CPU threads while scoring (int >= 1), or ``None`` for
            :func:`~course_lib.training.device.run_threads`'s choice by model size (1 for an MLP up
            to LeNet-300-100: each round is a few small tensor operations, and on a shared 2-core
            machine two OpenMP threads made the 100 rounds 7x slower in CPU time than one). The
            masks do not depend on it.

    Returns:
        {prunable weight name: bool mask, ``True`` = keep, on the CPU} with exactly
        ``round(sparsity * total)`` entries pruned (``"global"``; per layer for ``"layer"``).

    Raises:
        TypeError, ValueError: as :func:`synflow_scores` and :func:`score_masks`; ``rounds`` not an
            int >= 1, an unknown ``scope``, ``threads`` not ``None`` or an int >= 1, or a
            ``sparsity`` below what ``prior`` already pruned.

    >>> from course_lib.training.models import mlp
    >>> m = synflow_masks(mlp([4, 3, 2]), 0.5, (4,), rounds=3)
    >>> sum(int((~v).sum()) for v in m.values())
    9
    >>> before = torch.get_num_threads()
    >>> two = synflow_masks(mlp([4, 3, 2]), 0.5, (4,), rounds=3, threads=2)
    >>> all(torch.equal(m[n], two[n]) for n in m), torch.get_num_threads() == before
    (True, True)
    """
    s, n_rounds, shape = (
        check_sparsity(sparsity),
        check_int(rounds, "rounds", 1),
        check_input_size(input_shape, "input_shape"),
    )
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    weights = check_prunable(model)
    # a ranking of |w| checks prior (names, shapes, dtype) and that sparsity is not below it, before any work
    score_masks({n: w.detach().abs().cpu() for n, w in weights.items()}, s, scope=scope, prior=prior)
    current = {n: torch.ones(w.shape, dtype=torch.bool) for n, w in weights.items()}
    current.update({n: m.cpu() for n, m in (prior or {}).items()})
    n_threads = run_threads(threads, sum(p.numel() for p in model.parameters()))
    net, absw, _ = _synflow_setup(model, None)
    start = _density_floor(current, scope)
    with num_threads(n_threads):
        for k in range(1, n_rounds + 1 if start > 0.0 else 1):
            decayed = 1.0 - start * ((1.0 - s) / start) ** (k / n_rounds)
            target = s if k == n_rounds else min(max(decayed, 1.0 - start), s)
            scores = _synflow_round(net, absw, current, shape)
            current = score_masks({n: v.cpu() for n, v in scores.items()}, target, scope=scope, prior=current)
    return current


# --------------------------------------------------------------------------- one entry point
def _check_method(method: object) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return str(method)


def init_scores(
    method: str, model: nn.Module, *, x: torch.Tensor | None = None, y: torch.Tensor | None = None, seed: int = 0
) -> dict[str, torch.Tensor]:
    """One-shot scores of a pruning-at-initialization method (larger = keep).

    ``"snip"`` :func:`snip_scores`, ``"grasp"`` :func:`grasp_scores`, ``"synflow"`` one round of
    :func:`synflow_scores` (input shape ``x.shape[1:]``; only the shape of ``x`` is used),
    ``"magnitude"`` :func:`~course_lib.pruning.scores.magnitude_scores`, ``"random"``
    :func:`~course_lib.pruning.scores.random_scores` with ``seed``. Negating them inverts a
    method (the sanity check of Frankle et al. 2021).

    Args:
        method: one of :data:`METHODS`.
        model: an ``nn.Module`` with prunable weights; not changed. Weights reparametrized by
            ``torch.nn.utils.prune`` / ``parametrize`` are read as the model computes with them.
        x: a float batch ``(batch, ...)``; needed by snip, grasp and synflow.
        y: int64 labels ``(batch,)``; needed by snip and grasp.
        seed: an int >= 0, the seed of ``"random"``.

    Returns:
        {prunable weight name: float32 scores of the weight's shape, on the CPU}.

    Raises:
        ValueError: an unknown ``method``, a missing ``x`` or ``y``; and as the score function.
        TypeError: as the score function.

    >>> init_scores("snip", nn.Linear(3, 2))
    Traceback (most recent call last):
    ...
    ValueError: method 'snip' needs a batch: pass x (float, (batch, ...)) and y (int64 labels, (batch,))
    """
    name = _check_method(method)
    check_seed(seed)
    if name == "magnitude":
        return magnitude_scores(model)
    if name == "random":
        return random_scores(model, seed)
    if name == "synflow":
        if x is None:
            raise ValueError("method 'synflow' needs a batch: pass x (float, (batch, ...)); only its shape is used")
        return synflow_scores(model, _shape_of(x))
    if x is None or y is None:
        raise ValueError(f"method {name!r} needs a batch: pass x (float, (batch, ...)) and y (int64 labels, (batch,))")
    return snip_scores(model, x, y) if name == "snip" else grasp_scores(model, x, y)


def _shape_of(x: object) -> tuple[int, ...]:
    """One input's shape ``x.shape[1:]`` of a batch ``x``."""
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        raise ValueError(f"x must be a tensor (batch, ...) with a feature dimension, got {x!r:.60}")
    return tuple(x.shape[1:])


def init_masks(
    method: str,
    model: nn.Module,
    sparsity: float,
    *,
    x: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    seed: int = 0,
    scope: str | None = None,
    rounds: int = 100,
    threads: int | None = None,
) -> dict[str, torch.Tensor]:
    """Masks of a pruning-at-initialization method at ``sparsity``: the one entry point.

    The scores of :func:`init_scores`, then :func:`~course_lib.pruning.scores.score_masks` with
    the method's :data:`PAPER_SCOPE` (or ``scope``); SynFlow prunes iteratively over ``rounds``
    (:func:`synflow_masks`, input shape ``x.shape[1:]``).

    Args:
        method: one of :data:`METHODS`.
        model: an ``nn.Module`` with prunable weights; not changed. Weights reparametrized by
            ``torch.nn.utils.prune`` / ``parametrize`` are read as the model computes with them.
        sparsity: the fraction of the prunable weights to prune, a float in [0, 1].
        x, y, seed: as :func:`init_scores` (SynFlow needs ``x`` for its shape only).
        scope: ``None`` (as the paper), ``"global"`` or ``"layer"``.
        rounds: SynFlow's rounds, an int >= 1 (ignored by the other methods).
        threads: SynFlow's CPU threads (:func:`synflow_masks`; ignored by the other methods).

    Returns:
        {prunable weight name: bool mask, ``True`` = keep, on the CPU}.

    Raises:
        ValueError: an unknown ``method`` or ``scope``, a missing ``x``/``y``, a ``sparsity``
            outside [0, 1], ``threads`` not ``None`` or an int >= 1; and as the score function.
        TypeError: as the score function.

    >>> from course_lib.training.models import mlp
    >>> m = init_masks("random", mlp([4, 3, 2]), 0.5, seed=3)
    >>> [int((~v).sum()) for v in m.values()]
    [6, 3]
    """
    name = _check_method(method)
    s = check_sparsity(sparsity)
    threads = check_threads(threads)
    chosen = PAPER_SCOPE[name] if scope is None else scope
    if chosen not in SCOPES:
        raise ValueError(f"scope must be None or one of {SCOPES}, got {scope!r}")
    if name == "synflow":
        if x is None:
            raise ValueError("method 'synflow' needs x (float, (batch, ...)) for the input shape x.shape[1:]")
        check_seed(seed)
        return synflow_masks(model, s, _shape_of(x), rounds=rounds, scope=chosen, threads=threads)
    return score_masks(init_scores(name, model, x=x, y=y, seed=seed), s, scope=chosen)
