"""The Lottery Ticket Hypothesis experiment over several seeds: :func:`lottery_study`.

The experiment of Frankle & Carbin 2019 ("The Lottery Ticket Hypothesis: Finding Sparse,
Trainable Neural Networks"): train a network, then round after round prune a fraction
``rate`` of the remaining weights of each layer by magnitude, rewind the survivors to
their initial values and train again (:mod:`course_lib.experiments.tickets` holds that
step). The sparse network found that way is the *ticket*; two controls with the same
per-layer sparsity tell whether it "won the initialization lottery":

* ``"reinit"``: the ticket's mask with a fresh random initialization;
* ``"random_prune"``: a random mask (same number of weights per layer) on the
  ticket's own initial weights.

:func:`lottery_study` runs the ticket and its controls for several seeds, training all
runs of a round together (:func:`course_lib.training.stacked.train_many`; the loop is in
:mod:`course_lib.experiments.lottery_run`) and returns a
:class:`~course_lib.experiments.lottery_result.LotteryResult`. :func:`rewinding_study`
rewinds the tickets of the same dense runs to several iterations (late rewinding,
Frankle et al. 2020, "Linear Mode Connectivity and the Lottery Ticket Hypothesis").

Conv nets: ``model="conv4"`` (any name of :data:`~course_lib.training.conv_models.CONV_MODELS`)
studies that net on the data as pictures, each run trained alone by
:func:`~course_lib.training.train.train`, with layer-wise magnitude masks of the conv and
Linear weights (not BatchNorm); Conv-2/4/6 at :data:`LTH_CONV_RATES` unless ``rate`` is given.

>>> from course_lib.training.data import load
>>> result = lottery_study(load("digits"), model="32", rounds=1, seeds=1, epochs=1, progress=False)
>>> [(row["variant"], row["round"]) for row in result.rows()]
[('ticket', 1), ('reinit', 1), ('random_prune', 1)]
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from course_lib._checks import (
    check_bool,
    check_float,
    check_int,
    check_iterations,
    check_rate,
    check_seed,
    check_seeds,
    check_threads,
)
from course_lib.experiments.lottery_result import VARIANTS, LotteryResult
from course_lib.experiments.lottery_run import StudySetup, run_study
from course_lib.pruning.masks import prunable_weights
from course_lib.pruning.schedules import layer_rates
from course_lib.training.conv_models import CONV_MODELS, conv_model
from course_lib.training.data import Dataset, as_images, load
from course_lib.training.device import resolve_device
from course_lib.training.models import lenet_300_100, mlp

__all__ = ["PRESETS", "LTH_CONV_RATES", "make_model", "lottery_study", "rewinding_study", "width_study"]

#: Defaults of :func:`lottery_study` per data set: model, rate per round, rounds,
#: epochs per round, Adam learning rate.
PRESETS: dict[str, dict[str, Any]] = {
    "mnist5k": dict(model="lenet", rate=0.4, rounds=8, epochs=6, lr=1.2e-3),
    "mnist": dict(model="lenet", rate=0.4, rounds=8, epochs=6, lr=1.2e-3),
    "mnist1d": dict(model="100,100", rate=0.36, rounds=5, epochs=20, lr=1.2e-3),
    "digits": dict(model="100,100", rate=0.5, rounds=6, epochs=20, lr=5e-3),
}

#: Per-round rates (conv layers, hidden Linear layers, output layer) of Conv-2/4/6 in
#: Frankle & Carbin 2019 (Figure 2: conv 10%, 10%, 15%, fc 20%; the output layer at half the
#: fc rate): the default of :func:`lottery_study` for these nets when no ``rate`` is given.
LTH_CONV_RATES: dict[str, tuple[float, float, float]] = {
    "conv2": (0.1, 0.2, 0.1),
    "conv4": (0.1, 0.2, 0.1),
    "conv6": (0.15, 0.2, 0.1),
}

#: A model spec of :func:`make_model`: ``"lenet"`` or hidden widths (``"100,100"`` or ``[100, 100]``);
#: :func:`lottery_study` also takes a conv net's name (:data:`~course_lib.training.conv_models.CONV_MODELS`).
ModelSpec = str | Sequence[int]


def _hidden_widths(spec: object) -> list[int] | None:
    """The hidden widths a spec names, or ``None`` if it names none."""
    if isinstance(spec, str):
        try:
            return [int(w) for w in spec.split(",")]  # int() allows spaces around a width; "" is an error
        except ValueError:
            return None
    if not isinstance(spec, Sequence) or isinstance(spec, bytes):
        return None
    if any(isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1 for w in spec):
        return None
    return [int(w) for w in spec]


def make_model(spec: ModelSpec, in_features: int, num_classes: int = 10, seed: int | None = 0) -> nn.Sequential:
    """A course MLP from a short spec (LeNet-300-100 is the network of Frankle & Carbin 2019).

    Args:
        spec: ``"lenet"`` (LeNet-300-100) or the hidden widths, ``"100,100"`` or ``[100, 100]``.
        in_features: input width (e.g. 784 for 28x28 images), from the data.
        num_classes: output width.
        seed: initialization seed (:func:`course_lib.training.models.mlp`); ``None`` leaves
            torch's global generator as it is.

    Returns:
        An ``nn.Sequential`` of ``Linear`` layers ``fc1, fc2, ...`` with ReLUs between.

    Raises:
        ValueError: ``spec`` is neither ``"lenet"`` nor a non-empty list of widths >= 1.

    >>> [layer.out_features for layer in make_model("100,50", 64, 10) if isinstance(layer, nn.Linear)]
    [100, 50, 10]
    """
    if isinstance(spec, str) and spec.strip().lower() in ("lenet", "lenet_300_100", "lenet-300-100"):
        return lenet_300_100(in_features, num_classes, seed=seed)
    hidden = _hidden_widths(spec)
    if not hidden:
        raise ValueError(f"model must be 'lenet' or hidden widths like '100,100' or [300, 100], got {spec!r}")
    return mlp([int(in_features), *hidden, int(num_classes)], seed=seed)


def lottery_study(
    data: Dataset | str, *, rewind_iter: int = 0, variants: Sequence[str] = VARIANTS, **options: Any
) -> LotteryResult:
    """Iterative magnitude pruning with rewinding, and its controls, over several seeds.

    For each seed: build the model, train it dense (saving the weights at ``rewind_iter``),
    then for rounds 1..``rounds``: prune each layer by magnitude to sparsity
    ``1 - (1 - rate_l) ** round`` (the output layer at ``output_rate``, default ``rate / 2``),
    rewind and train (:func:`~course_lib.experiments.tickets.prune_and_rewind`; Frankle &
    Carbin 2019; ``rewind_iter > 0`` is the late rewinding of Frankle et al. 2020). Each
    round also trains the ``variants`` ``"reinit"`` and ``"random_prune"`` with the ticket's
    per-layer sparsity (:func:`~course_lib.experiments.tickets.start_variant`). The
    minibatch order of every run of a seed is that seed's. The same arguments give the same
    result, bit for bit, on one machine (and thread count).

    Args:
        data: a :class:`~course_lib.training.data.Dataset`, or a data set name (then loaded
            with ``data_seed``).
        rewind_iter: the iteration (>= 0, at most the dense run's length) to rewind to;
            for several, use :func:`rewinding_study`.
        variants: a subset of :data:`VARIANTS` that includes ``"ticket"``.
        **options: ``model`` (``"lenet"``, hidden widths, or a conv net's name such as
            ``"conv4"`` or ``"vgg11"``), ``rounds`` (>= 1), ``seeds``
            (how many, or a list of distinct ints >= 0; default 3), ``rate`` (fraction of
            the remaining weights pruned per round), ``output_rate``, ``epochs`` (per round),
            ``lr`` (Adam), ``batch_size`` (default 60), ``optimizer`` (default ``"adam"``),
            ``keep_history`` (keep every round's masks and weights, see
            :class:`~course_lib.experiments.lottery_result.LotteryResult`), ``data_seed``,
            ``progress`` (a tqdm bar), ``threads`` (CPU threads), ``width`` (a conv net's
            channel multiplier; default its builder's), ``device`` (``"cpu"``, the default;
            ``"cuda"``, ``"auto"``, ...: :func:`~course_lib.training.device.resolve_device`).
            ``None`` or absent ``model``, ``rounds``, ``rate``, ``epochs``, ``lr`` take the
            data set's :data:`PRESETS`. A conv net is built with
            ``conv_model(name, in_channels=C, input_size=H, classes=..., seed=seed)`` for
            the data's ``(C, H, H)`` pictures; Conv-2/4/6 without ``rate`` prune at
            :data:`LTH_CONV_RATES` (``output_rate`` still overrides the output layer's),
            every other net at ``rate`` with the output layer at ``output_rate`` (default
            ``rate / 2``).

    Returns:
        A :class:`~course_lib.experiments.lottery_result.LotteryResult`.

    Raises:
        ValueError: a bad option (the message names it), ``rewind_iter`` beyond training,
            an unknown data set name, a conv net on data that are not square pictures,
            a device this machine lacks.
        TypeError: ``data`` is neither a Dataset nor a name, or an unknown option.

    >>> from course_lib.training.data import load
    >>> res = lottery_study(load("digits"), model="32", rounds=2, seeds=[0, 1], epochs=1,
    ...                     variants=["ticket"], progress=False)
    >>> [round(res.weights_remaining[r], 3) for r in (1, 2)]
    [0.534, 0.292]
    """
    if isinstance(rewind_iter, Sequence):
        raise ValueError(
            f"rewind_iter must be one int >= 0 (for several rewinding points use rewinding_study), got {rewind_iter!r}"
        )
    k = check_int(rewind_iter, "rewind_iter", 0)
    return rewinding_study(data, [k], variants=variants, **options)[k]


def rewinding_study(
    data: Dataset | str,
    rewind_iters: Sequence[int],
    *,
    variants: Sequence[str] = VARIANTS,
    late_variants: Sequence[str] = ("ticket",),
    **options: Any,
) -> dict[int, LotteryResult]:
    """:func:`lottery_study` at several rewinding points ``[k0, k1, ...]`` of the same dense runs.

    The dense networks are trained once (saving the weights at each point); every rewinding
    point prunes and rewinds its own tickets (``k0`` runs ``variants``, the others
    ``late_variants``), and all runs of a round are trained together. Compares rewinding
    to initialization with late rewinding (Frankle et al. 2020).

    Args:
        data: as in :func:`lottery_study`.
        rewind_iters: distinct ints >= 0, each at most the dense run's length.
        variants: the variants of ``k0`` (including ``"ticket"``).
        late_variants: the variants of the other points (including ``"ticket"``).
        **options: the options of :func:`lottery_study`.

    Returns:
        ``{k: LotteryResult}`` in the order of ``rewind_iters``; the results share ``dense``.

    Raises:
        ValueError/TypeError: as :func:`lottery_study`; ``rewind_iters`` empty or repeated.

    >>> from course_lib.training.data import load
    >>> both = rewinding_study(load("digits"), [0, 5], model="16", rounds=2, seeds=[0], epochs=1,
    ...                        keep_history=True, progress=False)
    >>> sorted(both), both[0].variants, both[5].variants
    ([0, 5], ['ticket', 'reinit', 'random_prune'], ['ticket'])
    >>> [round(float(both[0].masks[r][0]["fc1.weight"].float().mean()), 2) for r in (0, 1, 2)]
    [1.0, 0.5, 0.25]
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; the options are {list(_OPTIONS)}")
    dataset = _dataset(data, options.get("data_seed", 0))
    iters = check_iterations(rewind_iters, "rewind_iters")
    plans = {
        k: _check_variants(variants if j == 0 else late_variants, "variants" if j == 0 else "late_variants")
        for j, k in enumerate(iters)
    }
    return run_study(_setup(dataset, plans, **options))


def width_study(
    data: Dataset | str, widths: Sequence[ModelSpec], weights_left: int, *, rounds: int = 4, **options: Any
) -> dict[str, LotteryResult]:
    """Tickets of MLPs of several widths, each pruned to the same number of weights (the Lottery Ticket Conjecture).

    Frankle & Carbin 2019 conjecture that a larger dense network trains more easily because
    it holds more subnetworks to draw a winning ticket from. This runs :func:`lottery_study`
    (the ticket only) for each width, every layer pruned at the same rate per round, the
    rate chosen so that after ``rounds`` rounds each network keeps about ``weights_left``
    weights: ``rate = 1 - (weights_left / total) ** (1 / rounds)``.

    Args:
        data: as in :func:`lottery_study`.
        widths: hidden-width specs of :func:`make_model` (``"50,50"``, ``[100, 100]``), each
            with more than ``weights_left`` prunable weights.
        weights_left: the number of weights every ticket keeps after the last round (>= 1).
        rounds: pruning rounds (>= 1), the same for every width.
        **options: the other options of :func:`lottery_study` (``seeds``, ``epochs``, ...),
            but not ``rate``, ``output_rate``, ``model`` or ``variants``.

    Returns:
        ``{spec as given (a list joined by commas): LotteryResult}``, in the order of ``widths``.

    Raises:
        ValueError: a width with at most ``weights_left`` weights, a bad ``weights_left`` or
            ``rounds``, or what :func:`lottery_study` raises.
        TypeError: one of the options this function sets itself.

    >>> from course_lib.training.data import load
    >>> out = width_study(load("digits"), ["8", "32"], 300, rounds=1, seeds=[0], epochs=1, progress=False)
    >>> [(k, round(out[k].weights_remaining[1] * n)) for k, n in (("8", 64 * 8 + 8 * 10), ("32", 64 * 32 + 32 * 10))]
    [('8', 300), ('32', 300)]
    """
    taken = sorted({"rate", "output_rate", "model", "variants"} & set(options))
    if taken:
        raise TypeError(f"width_study sets {taken} itself")
    dataset = _dataset(data, options.get("data_seed", 0))
    count, n_rounds = check_int(weights_left, "weights_left", 1), check_int(rounds, "rounds", 1)
    out = {}
    for spec in widths:
        net = make_model(spec, dataset.in_features, dataset.num_classes)
        total = sum(p.numel() for p in prunable_weights(net).values())
        if total <= count:
            raise ValueError(f"widths: {spec!r} has {total} weights, not more than weights_left={count}")
        rate = 1 - (count / total) ** (1 / n_rounds)
        key = spec if isinstance(spec, str) else ",".join(str(w) for w in spec)
        out[key] = lottery_study(
            dataset, model=spec, rate=rate, output_rate=rate, rounds=n_rounds, variants=["ticket"], **options
        )
    return out


def _dataset(data: object, data_seed: int) -> Dataset:
    if isinstance(data, str):
        data = load(data, seed=data_seed)
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a course_lib.training.data.Dataset or a dataset name, got {type(data).__name__}")
    return data


def _setup(
    data: Dataset,
    plans: dict[int, list[str]],
    *,
    model: ModelSpec | None = None,
    rounds: int | None = None,
    seeds: int | Sequence[int] = 3,
    rate: float | None = None,
    output_rate: float | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int = 60,
    optimizer: str = "adam",
    keep_history: bool = False,
    data_seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
    width: float | None = None,
    device: str | torch.device | None = "cpu",
) -> StudySetup:
    """The study's settings: presets filled in, arguments checked, per-layer rates, config."""
    preset = PRESETS.get(data.name, PRESETS["digits"])
    spec: ModelSpec = preset["model"] if model is None else model
    n_rounds = check_int(preset["rounds"] if rounds is None else rounds, "rounds", 1)
    per_round = check_rate(preset["rate"] if rate is None else rate, "rate")
    if per_round == 0.0:
        raise ValueError("rate must be in (0, 1): a study that prunes nothing has no tickets")
    if output_rate is not None:
        check_rate(output_rate, "output_rate")
    n_epochs = check_int(preset["epochs"] if epochs is None else epochs, "epochs", 1)
    learning_rate = check_float(preset["lr"] if lr is None else lr, "lr", strict=True)
    batch_size = check_int(batch_size, "batch_size", 1)
    keep_history, progress = check_bool(keep_history, "keep_history"), check_bool(progress, "progress")
    data_seed, threads = check_seed(data_seed, "data_seed"), check_threads(threads)
    seed_list = check_seeds(seeds)
    conv = _conv_name(spec)
    train_kw: dict[str, Any] = dict(epochs=n_epochs, lr=learning_rate, batch_size=batch_size, optimizer=optimizer)
    # a conv run takes a while: it shows its own bar; MLP runs are trained stacked, silently
    train_kw.update(progress=progress and conv is not None, threads=threads, device=resolve_device(device))
    _check_within_training(plans, data, int(n_epochs), int(batch_size))
    data, build, rates, extra = _network(spec, conv, data, per_round, rate is not None, output_rate, width)
    config = dict(
        dataset=data.name,
        model=spec if isinstance(spec, str) else list(spec),
        rounds=n_rounds,
        rate=extra.pop("rate", per_round),
        output_rate=list(rates.values())[-1],
        layer_rates=rates,
        epochs=int(n_epochs),
        lr=float(learning_rate),
        batch_size=int(batch_size),
        optimizer=optimizer,
        rewind_iter=0,
        variants=[],
        data_seed=int(data_seed),
        n_train=len(data.train),
        **extra,
    )
    return StudySetup(
        data, build, seed_list, n_rounds, rates, plans, config, train_kw, keep_history, progress, stacked=conv is None
    )


def _network(
    spec: ModelSpec,
    conv: str | None,
    data: Dataset,
    rate: float,
    rate_given: bool,
    output_rate: float | None,
    width: float | None,
) -> tuple[Dataset, _Builder | _ConvBuilder, dict[str, float], dict[str, Any]]:
    """The study's data (pictures for a conv net), network builder, per-layer rates and extra config keys."""
    if conv is None:
        if width is not None:
            raise ValueError(f"width applies to conv nets ({', '.join(CONV_MODELS)}), not to model={spec!r}")
        names = list(prunable_weights(make_model(spec, data.in_features, data.num_classes)))
        return data, _Builder(spec, data), layer_rates(names, rate, output_rate), {}
    data = as_images(data)
    build = _ConvBuilder(conv, data, width)
    paper = not rate_given and conv in LTH_CONV_RATES
    rates, extra = _conv_rates(build(0), conv, rate, paper, output_rate)
    return data, build, rates, {**extra, "width": width}


#: The options of :func:`lottery_study` and :func:`rewinding_study` (keyword arguments of ``_setup``).
_OPTIONS = tuple(inspect.signature(_setup).parameters)[2:]


def _conv_name(spec: object) -> str | None:
    """The conv net a model spec names (a key of ``CONV_MODELS``, any case), or ``None`` for an MLP spec."""
    if isinstance(spec, str) and spec.strip().lower() in CONV_MODELS:
        return spec.strip().lower()
    return None


def _conv_rates(
    net: nn.Module, name: str, rate: float, paper: bool, output_rate: float | None
) -> tuple[dict[str, float], dict[str, Any]]:
    """Per-layer rates of a conv net, and what its config records beyond the MLP keys.

    ``paper`` (Conv-2/4/6 and no ``rate`` given): :data:`LTH_CONV_RATES` by layer type (the
    last prunable weight is the output layer); otherwise
    :func:`~course_lib.pruning.schedules.layer_rates` at ``rate``.
    """
    names = list(prunable_weights(net))
    if not paper:
        return layer_rates(names, rate, output_rate), {"rate": rate}
    conv_rate, fc_rate, out_rate = LTH_CONV_RATES[name]
    convs = {f"{n}.weight" for n, m in net.named_modules() if isinstance(m, nn.Conv2d)}
    rates = {n: conv_rate if n in convs else fc_rate for n in names}
    rates[names[-1]] = out_rate if output_rate is None else output_rate
    return rates, {"rate": fc_rate, "conv_rate": conv_rate}


class _ConvBuilder:
    """``build(seed)``: a fresh conv net ``conv_model(name, ...)`` for the data's pictures (picklable).

    Raises ``ValueError`` on creation for pictures that are not square or a ``width`` the
    net does not take (what ``conv_model`` itself raises too).
    """

    def __init__(self, name: str, data: Dataset, width: float | None):
        channels, height, side = data.input_shape
        if height != side:
            raise ValueError(f"model={name!r} needs square pictures, got {data.name!r} of shape {data.input_shape}")
        self.name, self.width = name, width
        self.kwargs: dict[str, Any] = dict(in_channels=channels, input_size=side, classes=data.num_classes)
        if width is not None:
            self.kwargs["width"] = width
        try:
            self(0)
        except TypeError as err:  # e.g. densenet has no width
            raise ValueError(f"model={name!r} does not take these options {sorted(self.kwargs)}: {err}") from None

    def __call__(self, seed: int) -> nn.Module:
        return conv_model(self.name, seed=seed, **self.kwargs)


class _Builder:
    """``build(seed)``: a fresh network of the study's spec and data shape (picklable, unlike a lambda)."""

    def __init__(self, spec: ModelSpec, data: Dataset):
        self.spec, self.in_features, self.num_classes = spec, data.in_features, data.num_classes

    def __call__(self, seed: int) -> nn.Sequential:
        return make_model(self.spec, self.in_features, self.num_classes, seed=seed)


def _check_within_training(plans: Mapping[int, object], data: Dataset, epochs: int, batch_size: int) -> None:
    total = epochs * -(-len(data.train) // batch_size)
    if max(plans) > total:
        raise ValueError(
            f"rewind_iter={max(plans)} is beyond the {total} training iterations "
            f"({epochs} epochs of {len(data.train)} examples in minibatches of {batch_size})"
        )


def _check_variants(variants: Sequence[str], name: str) -> list[str]:
    chosen = list(variants)
    bad = [v for v in chosen if v not in VARIANTS]
    if bad or "ticket" not in chosen or len(set(chosen)) != len(chosen):
        raise ValueError(f"{name} must be distinct names from {VARIANTS} including 'ticket', got {chosen!r}")
    return [v for v in VARIANTS if v in chosen]
