"""From scores to masks: keep the largest scores, globally or layer by layer.

Every pruning criterion of the course is a *score function* (magnitude, SNIP, GraSP,
SynFlow, random, ...): a pure function returning {parameter name: scores of the weight's
shape}, where a larger score means "more important, keep". :func:`score_masks` turns any
such dict into keep-masks, with the course's conventions (:mod:`course_lib.pruning.masks`):

* exactly ``round(sparsity * numel)`` entries are pruned (:func:`~course_lib.pruning.masks.n_to_prune`),
  over all tensors together (``scope="global"``, one threshold) or in each tensor alone
  (``scope="layer"``);
* the lowest *signed* scores go first (a score of -3 is pruned before a score of 0.5);
* ties are broken by position (the earlier entry, in the order of the dict and then
  row-major, is pruned first), so the same scores always give the same masks
  (:func:`~course_lib.pruning.masks.smallest_k_mask`);
* a prior mask is respected: what it pruned stays pruned and counts toward the sparsity.

With ``scores = {name: |w|}`` the masks are exactly those of
:func:`course_lib.pruning.magnitude.global_magnitude_masks` (``"global"``) and
:func:`~course_lib.pruning.magnitude.magnitude_mask` (``"layer"``) of Han et al. 2015.

Two score functions live here because they need no data: :func:`magnitude_scores` (|w|,
Han et al. 2015; at initialization the "magnitude" baseline of Frankle et al. 2021) and
:func:`random_scores` (random pruning). The data-driven ones are in
:mod:`course_lib.pruning.at_init`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from course_lib._checks import check_seed, check_sparsity
from course_lib.pruning.magnitude import SCOPES, prior_sparsity_error
from course_lib.pruning.masks import check_mask, check_weights, n_to_prune, prunable_weights, smallest_k_mask

__all__ = ["score_masks", "magnitude_scores", "random_scores", "check_prunable"]


def check_prunable(model: nn.Module) -> dict[str, torch.Tensor]:
    """The prunable weights of ``model`` (:func:`~course_lib.pruning.masks.prunable_weights`), checked.

    Args:
        model: an ``nn.Module`` with at least one weight of 2 or more dimensions.

    Returns:
        {parameter name: the parameter itself (not a copy)}, in ``named_parameters`` order; a
        weight reparametrized by ``torch.nn.utils.prune`` / ``parametrize`` as the model
        computes with it, under its plain name (``"fc1.weight"``).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: it has no prunable weight.

    >>> check_prunable(nn.BatchNorm1d(3))
    Traceback (most recent call last):
    ...
    ValueError: model has no prunable weight (no parameter with 2 or more dimensions)
    """
    weights = prunable_weights(model)  # raises TypeError for a non-module
    if not weights:
        raise ValueError("model has no prunable weight (no parameter with 2 or more dimensions)")
    return weights


def _check_prior(prior: object, scores: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``prior`` as a dict (empty for ``None``) of bool masks named and shaped like ``scores``."""
    if prior is None:
        return {}
    if not isinstance(prior, Mapping):
        raise TypeError(f"prior must be None or a dict {{name: bool tensor}}, got {type(prior).__name__}")
    unknown = [n for n in prior if n not in scores]
    if unknown:
        raise ValueError(f"prior names unknown tensor(s) {unknown}; the scores have {list(scores)}")
    return {n: check_mask(m, scores[n].shape, name=f"prior[{n!r}]") for n, m in prior.items()}


def _ranked(scores: torch.Tensor, prior: torch.Tensor | None) -> torch.Tensor:
    """The scores, flattened, with the entries a prior already pruned ranked first (-inf)."""
    flat = scores.detach().reshape(-1)
    if prior is None:
        return flat
    return torch.where(prior.to(flat.device).reshape(-1), flat, torch.full_like(flat, -float("inf")))


def _lowest_pruned(flat: torch.Tensor, sparsity: float, already: int) -> torch.Tensor:
    """Keep-mask (flat) pruning the ``round(sparsity * numel)`` lowest of ``flat``."""
    k = n_to_prune(sparsity, flat.numel())
    if k < already:
        raise prior_sparsity_error("sparsity", sparsity, already, flat.numel())
    return smallest_k_mask(flat, k)


def score_masks(
    scores: Mapping[str, torch.Tensor],
    sparsity: float,
    *,
    scope: str = "global",
    prior: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Keep-masks pruning the entries with the lowest scores (larger score = keep).

    Args:
        scores: a non-empty dict {name: finite floating-point tensor of any shape}, e.g. from
            :func:`magnitude_scores` or :func:`course_lib.pruning.at_init.snip_scores`.
            Signed scores rank as numbers: a negative score is pruned before a positive one.
        sparsity: the total fraction pruned, a float in [0, 1]: over all tensors together
            (``scope="global"``) or in every tensor (``scope="layer"``).
        scope: ``"global"`` (one threshold across the tensors, so some layers lose more than
            others) or ``"layer"`` (every tensor loses ``round(sparsity * numel)`` entries).
        prior: masks already applied, {name: bool tensor of that score's shape} for some or all
            of the names: what is pruned stays pruned (ranked first) and counts toward
            ``sparsity``; a name without a prior has nothing pruned yet.

    Returns:
        {name: bool tensor of the score's shape, ``True`` = keep}, in the order of ``scores``,
        with exactly ``round(sparsity * total)`` entries ``False`` (``total`` over all tensors
        for ``"global"``, each tensor's numel for ``"layer"``). Ties are broken by position.

    Raises:
        TypeError: ``scores`` or ``prior`` is not a dict, a score is not a floating-point tensor,
            a prior is not a bool tensor, or ``sparsity`` is not a number.
        ValueError: ``scores`` is empty, a score is empty or holds NaN/inf, ``sparsity`` is outside
            [0, 1] or below what the prior already pruned, an unknown ``scope``, or a prior with an
            unknown name or another shape.

    >>> s = {"a": torch.tensor([1., -9.]), "b": torch.tensor([2., 3.])}
    >>> m = score_masks(s, 0.5)
    >>> m["a"], m["b"]
    (tensor([False, False]), tensor([True, True]))
    >>> score_masks(s, 0.5, scope="layer")["a"]
    tensor([ True, False])
    """
    check_weights(scores, "scores")
    s = check_sparsity(sparsity)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    priors = _check_prior(prior, scores)
    ranked = {n: _ranked(t, priors.get(n)) for n, t in scores.items()}
    pruned = {n: int((~priors[n]).sum().item()) if n in priors else 0 for n in scores}
    if scope == "layer":
        return {n: _lowest_pruned(ranked[n], s, pruned[n]).reshape(t.shape) for n, t in scores.items()}
    names = list(scores)
    keep = _lowest_pruned(torch.cat([ranked[n] for n in names]), s, sum(pruned.values()))
    pieces = keep.split([scores[n].numel() for n in names])
    # clone: each mask owns its storage (not a view into one long vector)
    return {n: piece.reshape(scores[n].shape).clone() for n, piece in zip(names, pieces, strict=True)}


def magnitude_scores(model: nn.Module) -> dict[str, torch.Tensor]:
    """|w| of every prunable weight: the magnitude criterion (Han et al. 2015) as scores.

    At initialization this is the "magnitude" baseline of Frankle et al. 2021 (they rank it
    globally); on a trained model :func:`score_masks` of these scores equals
    :func:`course_lib.pruning.magnitude.magnitude_masks`.

    Args:
        model: an ``nn.Module`` with at least one weight of 2 or more dimensions (not changed).

    Returns:
        {parameter name: |w| as a new float32 tensor of the weight's shape, on the CPU}.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: it has no prunable weight.

    >>> net = nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[3., -4.]]))
    >>> magnitude_scores(net)
    {'weight': tensor([[3., 4.]])}
    """
    return {n: p.detach().abs().to(device="cpu", dtype=torch.float32) for n, p in check_prunable(model).items()}


def random_scores(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Uniform random scores in [0, 1) for every prunable weight: random pruning.

    Ranked layer by layer (:func:`score_masks` with ``scope="layer"``), they give random
    masks of the same sparsity in every layer, the "random" baseline of Frankle et al. 2021.
    The numbers come from a ``torch.Generator`` seeded with ``seed`` (drawn weight by weight,
    in ``named_parameters`` order), so they do not depend on, or change, torch's global RNG.

    Args:
        model: an ``nn.Module`` with at least one weight of 2 or more dimensions (not changed).
        seed: an int >= 0; the same seed gives the same scores.

    Returns:
        {parameter name: float32 tensor of the weight's shape, on the CPU}.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``seed`` is not an int.
        ValueError: no prunable weight, or a negative ``seed``.

    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> a, b = random_scores(net, seed=1), random_scores(net, seed=1)
    >>> all(torch.equal(a[n], b[n]) for n in a), a["0.weight"].shape
    (True, torch.Size([2, 3]))
    """
    weights = check_prunable(model)
    gen = torch.Generator().manual_seed(check_seed(seed))
    return {n: torch.rand(p.shape, generator=gen) for n, p in weights.items()}
