"""Early-bird tickets: draw the ticket as soon as the magnitude masks stop changing.

You et al. 2020 ("Drawing Early-Bird Tickets: Towards More Efficient Training of Deep
Networks", ICLR) observe that the masks a pruning criterion would take change little after
the first epochs of dense training, and draw the ticket then, instead of training to the end
as IMP does (Frankle & Carbin 2019). There the masks are channel masks from the BatchNorm
scales; here, as everywhere in the course, they are the magnitude masks of the weights
(Han et al. 2015) at the target sparsity.

* :func:`mask_distance`: the normalized Hamming distance of two sets of masks, the fraction
  of entries where they differ;
* :func:`early_bird`: train the dense network, take its masks after every epoch and draw
  the ticket at the first epoch where the last ``window`` distances between consecutive
  epochs' masks are all below ``threshold`` (You et al.: 0.1 over 5 epochs);
* :func:`settled_epoch`: that stopping rule alone, on a list of distances;
* :func:`draw_early_bird`: the draw alone, from a dense run :func:`early_bird` recorded (another
  sparsity, threshold or window on the same run, without training again).

How large the distance can be depends on the sparsity: two masks that each prune a
fraction ``s`` of the entries differ in at most ``2 min(s, 1 - s)`` of them (every kept
entry of one pruned in the other), and ``d / (2 (1 - s))`` is the fraction of the kept
weights that changed. At ``s = 0.98`` the bound is 0.04, so the paper's threshold 0.1 fires
at epoch ``window`` whatever the masks do; scale it with the density there, e.g.
``threshold = 0.1 * 2 * (1 - s)``, and try others on the same run with
:func:`settled_epoch`. Measured here (MNIST-5k, LeNet-300-100 seed 0, minibatch seed 0,
global masks at ``s = 0.98``): 0.021 after epoch 1, 0.0065 after epoch 4, 0.0009 after
epoch 12 (52%, 16% and 2% of the kept weights swapped); threshold 0.1 draws at epoch 5,
0.004 at epoch 10, 0.003 not within 12 epochs (window 5).

>>> a = {"w": torch.tensor([True, True, False, False])}
>>> mask_distance(a, {"w": torch.tensor([True, False, True, False])})
0.5
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from course_lib._checks import check_bool, check_float, check_int, check_seed, check_sparsity, check_threads
from course_lib.pruning.magnitude import SCOPES, magnitude_masks
from course_lib.pruning.masks import check_mask
from course_lib.training.config import check_model, check_splits
from course_lib.training.data import Dataset
from course_lib.training.record import TrainResult
from course_lib.training.train import train

__all__ = ["mask_distance", "EarlyBird", "early_bird", "draw_early_bird", "settled_epoch"]

TensorDict = dict[str, torch.Tensor]


def mask_distance(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> float:
    """Normalized Hamming distance of two sets of masks: the fraction of entries where they differ.

    You et al. 2020's mask distance, over all names together (not averaged per layer):
    ``(entries where a and b differ) / (total entries)``.

    Args:
        a: {name: bool mask}, ``True`` = keep; at least one entry.
        b: {name: bool mask} with the same names and shapes as ``a`` (moved to ``a``'s device).

    Returns:
        A float in [0, 1]: 0 for equal masks, 1 for complementary ones.

    Raises:
        TypeError: ``a`` or ``b`` is not a dict, or holds a mask that is not a bool tensor.
        ValueError: no entries, or the names or a shape differ (the first mismatch is named).

    >>> m = {"w": torch.tensor([True, False, True, True, False, False, True, True])}
    >>> mask_distance(m, {"w": torch.tensor([True, True, False, True, False, True, True, True])})
    0.375
    >>> mask_distance(m, {"w": ~m["w"]}), mask_distance(m, m)
    (1.0, 0.0)
    """
    for label, masks in (("a", a), ("b", b)):
        if not isinstance(masks, Mapping):
            raise TypeError(f"{label} must be a dict {{name: bool tensor}}, got {type(masks).__name__}")
    if set(a) != set(b):
        first = next(n for n in [*a, *b] if n not in a or n not in b)
        raise ValueError(f"a and b must have the same names; {first!r} is in only one of them")
    differ, total = 0, 0
    for name, mask in a.items():
        check_mask(mask, mask.shape, name=f"a[{name!r}]")
        other = check_mask(b[name], mask.shape, name=f"b[{name!r}]")
        differ += int((mask != other.to(mask.device)).sum())
        total += mask.numel()
    if total == 0:
        raise ValueError("a and b must hold at least one mask entry, got none")
    return differ / total


@dataclass
class EarlyBird:
    """The result of :func:`early_bird` (You et al. 2020).

    Attributes:
        found: whether the criterion fired within ``max_epochs``.
        draw_epoch: epochs of dense training when the ticket was drawn (``max_epochs`` if not found).
        draw_iteration: optimizer steps when the ticket was drawn, ``draw_epoch`` times the
            steps per epoch: what finding the ticket cost.
        distances: ``distances[e - 1]`` is :func:`mask_distance` between the masks after
            epoch ``e - 1`` and after epoch ``e``, for ``e = 1 .. max_epochs`` (epoch 0: the
            masks of the initial weights). All of them, also past the draw.
        masks: the ticket, {parameter name: bool mask}: the magnitude masks of the weights
            after ``draw_epoch`` epochs.
        init_state: the model's ``state_dict`` at iteration 0 (CPU copies), to train the
            ticket from.
        result: the record of the dense run (all ``max_epochs`` epochs); its ``snapshots``
            hold the weights at every epoch boundary (keys ``e * steps_per_epoch``).
    """

    found: bool
    draw_epoch: int
    draw_iteration: int
    distances: list[float]
    masks: TensorDict = field(repr=False)
    init_state: TensorDict = field(repr=False)
    result: TrainResult = field(repr=False)


def settled_epoch(distances: Sequence[float], threshold: float, window: int) -> int | None:
    """You et al. 2020's stopping rule: the first epoch ``e >= window`` whose last ``window``
    distances are all below ``threshold``.

    :func:`early_bird` draws its ticket with it; on an :class:`EarlyBird`'s ``distances`` it
    tells where another ``threshold`` or ``window`` would have drawn, without training again.

    Args:
        distances: ``distances[e - 1]`` between the masks after epochs ``e - 1`` and ``e``.
        threshold: the criterion is ``distance < threshold`` (strict), a number in [0, 1].
        window: how many consecutive distances must be below it, an int >= 1.

    Returns:
        The epoch ``e``, or ``None`` if no window of ``distances`` qualifies.

    Raises:
        ValueError: ``threshold`` outside [0, 1] or ``window`` not an int >= 1.
        TypeError: a non-number ``threshold``.

    >>> settled_epoch([0.3, 0.05, 0.2, 0.04, 0.03, 0.02], threshold=0.1, window=2)
    5
    >>> settled_epoch([0.3, 0.05], threshold=0.1, window=2) is None
    True
    """
    threshold = check_sparsity(threshold, "threshold")
    window = check_int(window, "window", 1)
    distances = [float(d) for d in distances]
    for e in range(window, len(distances) + 1):
        if all(d < threshold for d in distances[e - window : e]):
            return e
    return None


def _epoch_masks(model: nn.Module, states: list[TensorDict], sparsity: float, scope: str) -> list[TensorDict]:
    """Magnitude masks of ``model`` loaded with each of ``states``; ``model`` gets its own state back.

    Loaded into ``model`` itself (not a deep copy, which torch refuses for a model pruned by
    ``torch.nn.utils.prune``): its states hold ``weight_orig`` and ``weight_mask`` then, and the
    masks rank the weights it computes with.
    """
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out = []
    try:
        for state in states:
            model.load_state_dict(state)
            out.append(magnitude_masks(model, sparsity, scope=scope))
    finally:
        model.load_state_dict(saved)
    return out


def early_bird(
    model: nn.Module,
    data: Dataset,
    sparsity: float,
    *,
    threshold: float = 0.1,
    window: int = 5,
    max_epochs: int = 20,
    scope: str = "global",
    lr: float = 1.2e-3,
    batch_size: int = 60,
    seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
) -> EarlyBird:
    """Train ``model`` densely and draw its early-bird ticket (You et al. 2020) from the magnitude masks.

    The model is trained once, in place, for ``max_epochs`` epochs
    (:func:`course_lib.training.train.train`, Adam), its weights kept at every epoch
    boundary; then the masks of every epoch are taken
    (:func:`course_lib.pruning.magnitude.magnitude_masks` at ``sparsity`` with ``scope``)
    and the ticket is drawn at the first epoch ``e >= window`` whose last ``window``
    distances (:func:`mask_distance` between consecutive epochs) are all ``< threshold``.
    The reported cost is the iterations up to the draw; the epochs after it only show how
    the distances go on (an early-bird search would stop there). On return ``model`` holds
    the weights after ``max_epochs`` epochs, not the ticket.

    Args:
        model: the dense network (any model :func:`~course_lib.training.train.train` takes);
            trained in place. One pruned by ``torch.nn.utils.prune`` trains under its mask, and
            the masks rank the weights it computes with.
        data: a :class:`course_lib.training.data.Dataset`.
        sparsity: the ticket's sparsity (fraction of the prunable weights pruned), in [0, 1].
        threshold: the distance below which the masks count as settled, in [0, 1]; the
            distance is at most ``2 min(sparsity, 1 - sparsity)`` (see the module docstring).
        window: how many consecutive distances must be below ``threshold``, an int in
            ``[1, max_epochs]`` (You et al.: 5).
        max_epochs: epochs of dense training, an int >= 1.
        scope: ``"global"`` (one |w| threshold across layers) or ``"layer"``.
        lr: Adam's learning rate (> 0).
        batch_size: examples per minibatch (int >= 1).
        seed: the minibatch order (int >= 0).
        progress: show a progress bar.
        threads: torch CPU threads (int >= 1), or ``None`` for the trainer's choice.

    Returns:
        An :class:`EarlyBird`; when the criterion never fires, ``found`` is ``False`` and
        the ticket is the mask after ``max_epochs`` epochs.

    Raises:
        ValueError: an argument out of range (``window > max_epochs`` included) or an
            unknown ``scope``; raised before any training.
        TypeError: ``model`` or ``data`` of the wrong type, a non-number ``sparsity`` or
            ``threshold``, a non-bool ``progress``.
    """
    check_model(model)
    n_train = len(check_splits(data)[0])
    sparsity = check_sparsity(sparsity)
    threshold = check_sparsity(threshold, "threshold")
    max_epochs = check_int(max_epochs, "max_epochs", 1)
    window = check_int(window, "window", 1)
    if window > max_epochs:
        raise ValueError(f"window must be an int in [1, max_epochs={max_epochs}], got {window}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    lr = check_float(lr, "lr", strict=True)
    check_bool(progress, "progress")
    steps = math.ceil(n_train / check_int(batch_size, "batch_size", 1))
    boundaries = [e * steps for e in range(max_epochs + 1)]
    result = train(
        model,
        data,
        epochs=max_epochs,
        lr=lr,
        batch_size=batch_size,
        seed=check_seed(seed),
        save_at=boundaries,
        progress=progress,
        threads=check_threads(threads),
    )
    return _draw(model, result, boundaries, sparsity, threshold, window, scope)


def _draw(
    model: nn.Module,
    result: TrainResult,
    boundaries: list[int],
    sparsity: float,
    threshold: float,
    window: int,
    scope: str,
) -> EarlyBird:
    """The early-bird ticket of a recorded dense run whose snapshots hold every epoch boundary."""
    masks = _epoch_masks(model, [result.snapshots[i] for i in boundaries], sparsity, scope)
    distances = [mask_distance(masks[e - 1], masks[e]) for e in range(1, len(boundaries))]
    drawn = settled_epoch(distances, threshold, window)
    epoch = len(distances) if drawn is None else drawn
    return EarlyBird(
        found=drawn is not None,
        draw_epoch=epoch,
        draw_iteration=boundaries[epoch],
        distances=distances,
        masks=masks[epoch],
        init_state=result.snapshots[0],
        result=result,
    )


def draw_early_bird(
    model: nn.Module,
    bird: EarlyBird,
    sparsity: float,
    *,
    threshold: float,
    window: int,
    scope: str = "global",
) -> EarlyBird:
    """The early-bird ticket at another ``sparsity`` (or threshold, window, scope) of the dense run
    that :func:`early_bird` trained and recorded in ``bird``, without training again.

    The same as calling :func:`early_bird` on the same network and data with the same training
    settings (the dense run does not depend on the sparsity), at the cost of the masks only:
    :func:`course_lib.experiments.compare.compare_study` draws all its target sparsities from one
    dense run per seed this way.

    Args:
        model: a network of ``bird``'s architecture (its weights are only borrowed to rank the
            recorded ones, and restored).
        bird: an :class:`EarlyBird` from :func:`early_bird`.
        sparsity, threshold, window, scope: as :func:`early_bird` (``window`` at most the run's epochs).

    Returns:
        An :class:`EarlyBird` over the same dense run (``result``, ``init_state``), with its own
        distances, draw and ticket.

    Raises:
        TypeError: ``bird`` is not an :class:`EarlyBird`, or as :func:`early_bird`.
        ValueError: as :func:`early_bird`, and ``window`` beyond the run's epochs.
    """
    if not isinstance(bird, EarlyBird):
        raise TypeError(f"bird must be an EarlyBird (from early_bird), got {type(bird).__name__}")
    check_model(model)
    epochs = len(bird.distances)
    window = check_int(window, "window", 1)
    if window > epochs:
        raise ValueError(f"window must be an int in [1, the run's {epochs} epochs], got {window}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    steps = bird.draw_iteration // bird.draw_epoch
    boundaries = [e * steps for e in range(epochs + 1)]
    return _draw(
        model, bird.result, boundaries, check_sparsity(sparsity), check_sparsity(threshold, "threshold"), window, scope
    )
