"""The Lottery Ticket Hypothesis experiment: iterative magnitude pruning (IMP) with rewinding.

One IMP round (Frankle & Carbin 2019): train; prune a fraction of the remaining
weights of each layer by magnitude (:func:`course_lib.magnitude_mask` with the
previous mask as prior); *rewind* the surviving weights to their values at
initialization (``rewind_iter=0``) or at iteration ``k`` of the dense run (late
rewinding, Frankle et al. 2019); train again. The sparse network found that way
is the *ticket*. Two controls use the same per-layer sparsity:

* ``"reinit"``: the ticket's mask with a fresh random initialization;
* ``"random_prune"``: a random mask (same number of weights per layer) on the
  ticket's own initial (rewind) weights.

If the ticket trains to a higher accuracy than both, the mask *and* its initial
weights matter: it "won the initialization lottery".

:func:`lottery_study` runs it all over several seeds, training the seeds and
the three variants of a round together with :func:`course_lib.training.stacked.train_many`;
it can keep every round's masks and weights (``keep_history=True``) and rewind
to several points of the same dense runs (``rewind_iter=[0, k]``).

>>> from course_lib.training.data import load
>>> result = lottery_study(load("digits"), model="32", rounds=1, seeds=1, epochs=1, progress=False)
>>> [(row["variant"], row["round"]) for row in result.rows()]
[('ticket', 1), ('reinit', 1), ('random_prune', 1)]
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from course_lib._checks import mean_std
from course_lib.pruning.magnitude import magnitude_mask
from course_lib.pruning.masks import apply_masks, check_mask, prunable_weights
from course_lib.pruning.schedules import layer_rates, layer_sparsities
from course_lib.training.data import Dataset, load
from course_lib.training.models import lenet_300_100, mlp
from course_lib.training.stacked import train_many
from course_lib.training.train import TrainResult, train

__all__ = [
    "VARIANTS",
    "PRESETS",
    "make_model",
    "prune_masks",
    "random_masks",
    "rewind",
    "imp_round",
    "start_variant",
    "derived_seed",
    "LotteryResult",
    "lottery_study",
]

#: The variants of a lottery study: the ticket and its two controls.
VARIANTS = ("ticket", "reinit", "random_prune")

#: Defaults of :func:`lottery_study` per data set: model, rate per round, rounds,
#: epochs per round, Adam learning rate.
PRESETS = {
    "mnist5k": dict(model="lenet", rate=0.4, rounds=8, epochs=6, lr=1.2e-3),
    "mnist": dict(model="lenet", rate=0.4, rounds=8, epochs=6, lr=1.2e-3),
    "mnist1d": dict(model="100,100", rate=0.36, rounds=5, epochs=20, lr=1.2e-3),
    "digits": dict(model="100,100", rate=0.5, rounds=6, epochs=20, lr=5e-3),
}


# --------------------------------------------------------------------------- building blocks
def make_model(spec, in_features: int, num_classes: int = 10, seed: int | None = 0) -> nn.Sequential:
    """A course MLP from a short spec: ``"lenet"`` (LeNet-300-100) or hidden widths
    ``"100,100"`` / ``[100, 100]`` (input and output widths come from the data).

    >>> [layer.out_features for layer in make_model("100,50", 64, 10) if isinstance(layer, nn.Linear)]
    [100, 50, 10]
    """
    if isinstance(spec, str) and spec.strip().lower() in ("lenet", "lenet_300_100", "lenet-300-100"):
        return lenet_300_100(in_features, num_classes, seed=seed)
    hidden = spec
    if isinstance(spec, str):
        try:
            hidden = [int(w) for w in spec.replace(" ", "").split(",") if w]
        except ValueError:
            hidden = None
    if (
        hidden is None
        or isinstance(hidden, (str, bytes))
        or not isinstance(hidden, Sequence)
        or not hidden
        or any(isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1 for w in hidden)
    ):
        raise ValueError(f"model must be 'lenet' or hidden widths like '100,100' or [300, 100], got {spec!r}")
    return mlp([int(in_features), *[int(w) for w in hidden], int(num_classes)], seed=seed)


def derived_seed(*parts: int) -> int:
    """A seed in [0, 2**31) derived from integers (e.g. study seed, round, purpose); deterministic.

    >>> derived_seed(0, 1, 2) == derived_seed(0, 1, 2) != derived_seed(0, 2, 1)
    True
    """
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


def prune_masks(
    model: nn.Module, sparsities: Mapping[str, float], prior: Mapping[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """Layer-wise magnitude masks of ``model``'s weights, each at its target sparsity.

    ``sparsities`` maps parameter names to the total sparsity each layer should
    have (e.g. :func:`course_lib.pruning.schedules.layer_sparsities`); ``prior`` masks are
    respected (what is pruned stays pruned). Pure: the model is not changed.

    >>> net = make_model("4", 3, 2, seed=0)
    >>> m = prune_masks(net, {"fc1.weight": 0.5})
    >>> int((~m["fc1.weight"]).sum())
    6
    """
    params = dict(model.named_parameters())
    if not isinstance(sparsities, Mapping) or not sparsities:
        raise TypeError("sparsities must be a non-empty dict {parameter name: sparsity}")
    unknown = [n for n in sparsities if n not in params]
    if unknown:
        raise ValueError(f"sparsities has unknown parameter name(s) {unknown}; the model has {sorted(params)}")
    prior = dict(prior or {})
    return {n: magnitude_mask(params[n].detach(), s, prior=prior.get(n)) for n, s in sparsities.items()}


def random_masks(masks: Mapping[str, torch.Tensor], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random masks with exactly as many kept entries per tensor as ``masks`` (a pure function).

    >>> m = random_masks({"w": torch.tensor([True, True, False, False, False])}, seed=0)
    >>> int(m["w"].sum())
    2
    """
    gen = torch.Generator().manual_seed(int(seed))
    out = {}
    for name, mask in masks.items():
        check_mask(mask, mask.shape, name=f"masks[{name!r}]")
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[torch.randperm(mask.numel(), generator=gen)[: int(mask.sum())]] = True
        out[name] = keep.reshape(mask.shape)
    return out


def rewind(model: nn.Module, state: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor] | None) -> None:
    """Set ``model``'s weights to ``state`` (a saved ``state_dict``) and zero the pruned ones, in place.

    This is the LTH's reset: the surviving weights take their saved values exactly
    (at initialization or at iteration ``k``), the others are zero.

    >>> import copy
    >>> net = make_model("2", 2, 1, seed=0); init = copy.deepcopy(net.state_dict())
    >>> with torch.no_grad():
    ...     _ = net.fc1.weight.add_(1.0)
    >>> rewind(net, init, {"fc1.weight": torch.tensor([[True, False], [True, True]])})
    >>> net.fc1.weight.data.equal(init["fc1.weight"] * torch.tensor([[1., 0.], [1., 1.]]))
    True
    """
    model.load_state_dict(state)
    if masks:
        apply_masks(model, masks)


def imp_round(
    model: nn.Module,
    data: Dataset,
    masks: Mapping[str, torch.Tensor] | None,
    rewind_state: Mapping[str, torch.Tensor],
    rates: Mapping[str, float] | float,
    round: int,
    **train_kwargs,
) -> tuple[dict[str, torch.Tensor], TrainResult]:
    """One IMP round on a trained ``model``: prune, rewind, retrain; returns ``(new_masks, run)``.

    The weights named in ``rates`` (a dict, or one rate for every prunable weight)
    are pruned by magnitude to their sparsity after ``round`` rounds,
    ``1 - (1 - rate) ** round``, keeping ``masks`` as prior; then the model is
    rewound to ``rewind_state`` under the new masks and trained in place with
    :func:`course_lib.training.train.train` (``train_kwargs``: epochs, lr, seed, ...).

    >>> import copy
    >>> from course_lib.training.data import load
    >>> data = load("digits"); net = make_model("32", 64, 10, seed=0)
    >>> init = copy.deepcopy(net.state_dict())
    >>> _ = train(net, data, epochs=1, progress=False)
    >>> masks, run = imp_round(net, data, None, init, 0.5, round=1, epochs=1, progress=False)
    >>> round(float((~masks["fc1.weight"]).float().mean()), 2)
    0.5
    """
    if isinstance(rates, numbers.Real) and not isinstance(rates, bool):
        rates = {n: float(rates) for n in prunable_weights(model)}
    new_masks = prune_masks(model, layer_sparsities(rates, round), prior=masks)
    rewind(model, rewind_state, new_masks)
    run = train(model, data, new_masks, **train_kwargs)
    return new_masks, run


def start_variant(
    variant: str,
    build,
    seed: int,
    round: int,
    rewind_state: Mapping[str, torch.Tensor],
    masks: Mapping[str, torch.Tensor],
) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """The network a ``variant`` of round ``round`` starts training from, and its masks.

    ``build(seed)`` makes a fresh network; ``masks`` are the ticket's masks of seed ``seed``
    and ``rewind_state`` its saved weights. ``"ticket"``: ``masks`` on ``rewind_state``;
    ``"reinit"``: ``masks`` on a fresh network (seed ``derived_seed(seed, round, 1)``);
    ``"random_prune"``: :func:`random_masks` (seed ``derived_seed(seed, round, 2)``) on
    ``rewind_state``. The one place that defines the controls' seeds.

    >>> build = lambda s: make_model("4", 3, 2, seed=s)
    >>> init = build(0).state_dict(); m = prune_masks(build(0), {"fc1.weight": 0.5})
    >>> net, masks = start_variant("ticket", build, 0, 1, init, m)
    >>> bool((net.fc1.weight[~masks["fc1.weight"]] == 0).all()), masks is m
    (True, True)
    >>> net, masks = start_variant("random_prune", build, 0, 1, init, m)
    >>> int(masks["fc1.weight"].sum()) == int(m["fc1.weight"].sum())
    True
    """
    if variant == "ticket":
        net = build(seed)
        rewind(net, rewind_state, masks)
        return net, masks
    if variant == "reinit":
        return build(derived_seed(seed, round, 1)), masks
    if variant == "random_prune":
        job_masks = random_masks(masks, seed=derived_seed(seed, round, 2))
        net = build(seed)
        rewind(net, rewind_state, job_masks)
        return net, job_masks
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


# --------------------------------------------------------------------------- the study


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@dataclass
class LotteryResult:
    """Result of :func:`lottery_study` for one rewinding point (accuracies in percent).

    ``dense[i]`` is the dense run of seed ``seeds[i]``; ``runs[(variant, round)]``
    the runs of that variant and round, one per seed (their
    :class:`~course_lib.training.train.TrainResult` keep the validation/test curves);
    ``weights_remaining[round]`` the fraction of prunable weights kept and
    ``layer_density[round]`` the same per layer (from the ticket's masks);
    ``nonzero_density[(variant, round)]`` holds, per seed, the fraction of
    nonzero weights per layer measured on the trained networks (the controls
    match the ticket's per-layer sparsity, and pruned weights stayed zero).

    With ``keep_history=True`` the study also keeps, per seed (lists follow
    ``seeds``): ``init`` the weights at initialization, ``rewind_state`` the
    weights the tickets are rewound to (``init`` when ``rewind_iter == 0``),
    ``masks[r]`` and ``final[r]`` the ticket's masks and trained weights after
    round ``r`` (``masks[0]`` all True, ``final[0]`` the trained dense network,
    also :attr:`dense_final`). Otherwise these are empty.
    """

    config: dict
    seeds: list[int]
    dense: list[TrainResult]
    runs: dict[tuple[str, int], list[TrainResult]] = field(default_factory=dict)
    weights_remaining: dict[int, float] = field(default_factory=dict)
    layer_density: dict[int, dict[str, float]] = field(default_factory=dict)
    nonzero_density: dict[tuple[str, int], list[dict[str, float]]] = field(default_factory=dict)
    seconds: float = 0.0
    init: list[dict[str, torch.Tensor]] = field(default_factory=list, repr=False)
    rewind_state: list[dict[str, torch.Tensor]] = field(default_factory=list, repr=False)
    masks: dict[int, list[dict[str, torch.Tensor]]] = field(default_factory=dict, repr=False)
    final: dict[int, list[dict[str, torch.Tensor]]] = field(default_factory=dict, repr=False)

    @property
    def variants(self) -> list[str]:
        """The variants studied, in :data:`VARIANTS` order."""
        return [v for v in VARIANTS if any(key[0] == v for key in self.runs)]

    @property
    def rounds(self) -> int:
        """Number of pruning rounds."""
        return max((r for _, r in self.runs), default=0)

    @property
    def rewind_iter(self) -> int:
        """The iteration the tickets were rewound to (0 = initialization)."""
        return int(self.config.get("rewind_iter", 0))

    @property
    def dense_final(self) -> list[dict[str, torch.Tensor]]:
        """The trained dense weights per seed (``final[0]``; needs ``keep_history=True``)."""
        return self.final.get(0, [])

    @property
    def dense_test_acc(self) -> float:
        """Mean final test accuracy of the dense network over seeds."""
        return mean_std([r.final_test_acc for r in self.dense])[0]

    def rows(self) -> list[dict]:
        """One dict per variant and round (variant-major): accuracies and early-stop iterations over seeds."""
        out = []
        for variant in self.variants:
            for rnd in range(1, self.rounds + 1):
                runs = self.runs[(variant, rnd)]
                final = [r.final_test_acc for r in runs]
                early = [r.early_stop_test_acc for r in runs]
                stops = [r.early_stop_iter for r in runs]
                out.append(
                    {
                        "variant": variant,
                        "round": rnd,
                        "weights_remaining": self.weights_remaining[rnd],
                        "test_acc_mean": mean_std(final)[0],
                        "test_acc_std": mean_std(final)[1],
                        "test_acc": final,
                        "early_stop_iter_mean": mean_std(stops)[0],
                        "early_stop_iter_std": mean_std(stops)[1],
                        "early_stop_test_acc_mean": mean_std(early)[0],
                        "layer_density": dict(self.layer_density[rnd]),
                    }
                )
        return out

    def to_json(self, curves: bool = False) -> dict:
        """A JSON-able dict: ``config``, ``dense_test_acc`` (mean), ``dense_test_acc_std``,
        ``dense_early_stop_iter_mean`` and ``rows`` (see :meth:`rows`); with
        ``curves=True`` also every run's validation/test curves (never the kept weights)."""
        dense = [r.final_test_acc for r in self.dense]
        out = {
            "config": dict(self.config),
            "seeds": list(self.seeds),
            "dense_test_acc": mean_std(dense)[0],
            "dense_test_acc_std": mean_std(dense)[1],
            "dense_early_stop_iter_mean": mean_std([r.early_stop_iter for r in self.dense])[0],
            "rows": self.rows(),
        }
        if curves:
            out["curves"] = {"dense": [r.to_dict() for r in self.dense]}
            for (variant, rnd), runs in self.runs.items():
                out["curves"][f"{variant}/{rnd}"] = [r.to_dict() for r in runs]
        return out

    def table(self) -> str:
        """The result as a text table: one line per round, mean +- std over seeds per variant."""
        head = f"{'round':>5} {'weights %':>9} " + " ".join(f"{v:>16}" for v in self.variants)
        lines = [head, f"{0:>5} {100.0:>9.2f} " + f"{self.dense_test_acc:>9.2f} (dense)"]
        rows = {(r["variant"], r["round"]): r for r in self.rows()}
        for rnd in range(1, self.rounds + 1):
            cells = [
                f"{rows[(v, rnd)]['test_acc_mean']:>8.2f} +- {rows[(v, rnd)]['test_acc_std']:<4.2f}"
                for v in self.variants
            ]
            lines.append(f"{rnd:>5} {100 * self.weights_remaining[rnd]:>9.2f} " + " ".join(f"{c:>16}" for c in cells))
        return "\n".join(lines)


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be an int >= 1 (how many) or a list of seeds, got {seeds!r}")
        return list(range(int(seeds)))
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be an int >= 1 or a non-empty list of ints >= 0, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must not repeat, got {seeds!r}")
    return [int(s) for s in seeds]


def _check_rewind_iters(rewind_iter) -> list[int]:
    one = isinstance(rewind_iter, numbers.Integral) and not isinstance(rewind_iter, bool)
    many = isinstance(rewind_iter, Sequence) and not isinstance(rewind_iter, (str, bytes))
    iters = [rewind_iter] if one else list(rewind_iter) if many else None
    if (
        not iters
        or len(set(iters)) != len(iters)
        or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0 for k in iters)
    ):
        raise ValueError(
            f"rewind_iter must be an int >= 0 or a non-empty list of distinct ints >= 0, got {rewind_iter!r}"
        )
    return [int(k) for k in iters]


def _check_variants(variants, name: str) -> list[str]:
    variants = list(variants)
    bad = [v for v in variants if v not in VARIANTS]
    if bad or "ticket" not in variants or len(set(variants)) != len(variants):
        raise ValueError(f"{name} must be distinct names from {VARIANTS} including 'ticket', got {variants!r}")
    return [v for v in VARIANTS if v in variants]


def lottery_study(
    data: Dataset | str,
    *,
    model: str | Sequence[int] | None = None,
    rounds: int | None = None,
    seeds: int | Sequence[int] = 3,
    rate: float | None = None,
    output_rate: float | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int = 60,
    optimizer: str = "adam",
    rewind_iter: int | Sequence[int] = 0,
    variants: Sequence[str] = VARIANTS,
    late_variants: Sequence[str] = ("ticket",),
    keep_history: bool = False,
    data_seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
) -> LotteryResult | dict[int, LotteryResult]:
    """Iterative magnitude pruning with rewinding, and its controls, over several seeds.

    For each seed: build the model (``model``: ``"lenet"`` or hidden widths), train
    it dense (saving the weights at ``rewind_iter``), then for rounds 1..``rounds``
    prune each layer by magnitude to sparsity ``1 - (1 - rate_l) ** round``
    (the output layer at ``output_rate``, default ``rate / 2``), rewind, train.
    Each round also trains the ``variants`` ``"reinit"`` and ``"random_prune"``
    with the ticket's per-layer sparsity (:func:`start_variant`). The minibatch
    order of every run of a seed is that seed's. ``None`` arguments (model, rounds,
    rate, epochs, lr) take the data set's :data:`PRESETS`. ``data`` is a
    :class:`~course_lib.training.data.Dataset` or a name (then loaded with ``data_seed``).
    Runs on 1 CPU thread unless ``threads`` says otherwise; the same arguments give
    the same result, bit for bit, on one machine.

    ``rewind_iter`` may also be a list of rewinding points ``[k0, k1, ...]``: the
    dense networks are trained once (saving the weights at each), every rewinding
    point prunes and rewinds its own tickets (``k0`` runs ``variants``, the others
    ``late_variants``), all runs of a round are trained together, and the result is
    ``{k: LotteryResult}`` (sharing ``dense``). ``keep_history=True`` keeps each
    round's masks and weights in the results (see :class:`LotteryResult`).

    >>> from course_lib.training.data import load
    >>> res = lottery_study(load("digits"), model="32", rounds=2, seeds=[0, 1], epochs=1,
    ...                     variants=["ticket"], progress=False)
    >>> [round(res.weights_remaining[r], 3) for r in (1, 2)]
    [0.534, 0.292]
    >>> both = lottery_study(load("digits"), model="16", rounds=2, seeds=[0], epochs=1,
    ...                      rewind_iter=[0, 5], keep_history=True, progress=False)
    >>> sorted(both), both[0].variants, both[5].variants
    ([0, 5], ['ticket', 'reinit', 'random_prune'], ['ticket'])
    >>> [round(float(both[0].masks[r][0]["fc1.weight"].float().mean()), 2) for r in (0, 1, 2)]
    [1.0, 0.5, 0.25]
    """
    if isinstance(data, str):
        data = load(data, seed=data_seed)
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a course_lib.training.data.Dataset or a dataset name, got {type(data).__name__}")
    preset = PRESETS.get(data.name, PRESETS["digits"])
    model = preset["model"] if model is None else model
    rounds = preset["rounds"] if rounds is None else rounds
    rate = preset["rate"] if rate is None else rate
    epochs = preset["epochs"] if epochs is None else epochs
    lr = preset["lr"] if lr is None else lr
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    iters = _check_rewind_iters(rewind_iter)
    total_iters = int(epochs) * -(-len(data.train) // int(batch_size))
    if max(iters) > total_iters:
        raise ValueError(
            f"rewind_iter={max(iters)} is beyond the {total_iters} training iterations "
            f"({epochs} epochs of {len(data.train)} examples in minibatches of {batch_size})"
        )
    seeds = _check_seeds(seeds)
    plans = {
        k: _check_variants(variants if j == 0 else late_variants, "variants" if j == 0 else "late_variants")
        for j, k in enumerate(iters)
    }  # rewinding point -> its variants

    def build(seed: int) -> nn.Sequential:
        return make_model(model, data.in_features, data.num_classes, seed=seed)

    names = list(prunable_weights(build(0)))
    rates = layer_rates(names, rate, output_rate)
    train_kw = dict(epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, progress=False, threads=threads)
    config = dict(
        dataset=data.name,
        model=model if isinstance(model, str) else list(model),
        rounds=int(rounds),
        rate=float(rate),
        output_rate=rates[names[-1]],
        layer_rates=rates,
        epochs=int(epochs),
        lr=float(lr),
        batch_size=int(batch_size),
        optimizer=optimizer,
        rewind_iter=0,
        variants=[],
        data_seed=int(data_seed),
        n_train=len(data.train),
    )
    start = time.perf_counter()

    from tqdm.auto import tqdm

    bar = tqdm(total=rounds + 1, disable=not progress, desc="lottery rounds")
    # round 0: the dense networks, remembering the weights to rewind to
    nets = [build(s) for s in seeds]
    inits = [_state(n) for n in nets]
    dense = train_many(nets, data, seeds=seeds, save_at=sorted(plans), **train_kw)
    rewind_states = {k: [r.snapshots[k] for r in dense] for k in plans}
    for r in dense:
        r.snapshots.clear()
    results = {
        k: LotteryResult(config=dict(config, rewind_iter=k, variants=vs), seeds=seeds, dense=dense)
        for k, vs in plans.items()
    }
    if keep_history:
        dense_final = [_state(n) for n in nets]
        for k, res in results.items():
            res.init, res.rewind_state, res.final[0] = inits, rewind_states[k], dense_final
            res.masks[0] = [
                {n: torch.ones_like(inits[i][n], dtype=torch.bool) for n in names} for i in range(len(seeds))
            ]
    trained = {k: nets for k in plans}  # per rewinding point: the networks the next round prunes
    masks: dict[int, list] = {k: [None] * len(seeds) for k in plans}
    first = results[iters[0]]
    bar.set_postfix(dense=f"{first.dense_test_acc:.1f}%")
    bar.update(1)
    for rnd in range(1, rounds + 1):
        target = layer_sparsities(rates, rnd)
        jobs = []  # (rewinding point, variant, model, masks, seed)
        for k, vs in plans.items():
            masks[k] = [prune_masks(net, target, prior=m) for net, m in zip(trained[k], masks[k], strict=False)]
            for variant in vs:
                for i, seed in enumerate(seeds):
                    net, job_masks = start_variant(variant, build, seed, rnd, rewind_states[k][i], masks[k][i])
                    jobs.append((k, variant, net, job_masks, seed))
        runs = train_many([j[2] for j in jobs], data, [j[3] for j in jobs], seeds=[j[4] for j in jobs], **train_kw)
        for k, res in results.items():
            for variant in plans[k]:
                picked = [(job, run) for job, run in zip(jobs, runs, strict=False) if job[:2] == (k, variant)]
                res.runs[(variant, rnd)] = [run for _, run in picked]
                res.nonzero_density[(variant, rnd)] = [
                    {n: float((p != 0).float().mean()) for n, p in prunable_weights(job[2]).items()}
                    for job, _ in picked
                ]
            trained[k] = [job[2] for job in jobs if job[:2] == (k, "ticket")]
            kept = {n: int(masks[k][0][n].sum()) for n in names}
            sizes = {n: masks[k][0][n].numel() for n in names}
            res.weights_remaining[rnd] = sum(kept.values()) / sum(sizes.values())
            res.layer_density[rnd] = {n: kept[n] / sizes[n] for n in names}
            if keep_history:
                res.masks[rnd] = masks[k]
                res.final[rnd] = [_state(net) for net in trained[k]]
        ticket = mean_std([r.final_test_acc for r in first.runs[("ticket", rnd)]])[0]
        bar.set_postfix(weights=f"{100 * first.weights_remaining[rnd]:.1f}%", ticket=f"{ticket:.1f}%")
        bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    for res in results.values():
        res.seconds = seconds
    return results[iters[0]] if isinstance(rewind_iter, numbers.Integral) else results
