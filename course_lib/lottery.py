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
the three variants of a round together with :func:`course_lib.train.train_many`.

>>> from course_lib.data import load
>>> result = lottery_study(load("digits"), model="32", rounds=1, seeds=1, epochs=1, progress=False)
>>> [(row["variant"], row["round"]) for row in result.rows()]
[('ticket', 1), ('reinit', 1), ('random_prune', 1)]
"""
from __future__ import annotations

import copy
import numbers
import statistics
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .data import Dataset, load
from .magnitude import magnitude_mask
from .masks import apply_masks, check_mask, prunable_weights
from .models import lenet_300_100, mlp
from .schedules import layer_rates, layer_sparsities
from .train import TrainResult, train, train_many

__all__ = [
    "VARIANTS",
    "PRESETS",
    "make_model",
    "prune_masks",
    "random_masks",
    "rewind",
    "imp_round",
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
    if (hidden is None or isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or not hidden
            or any(isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1 for w in hidden)):
        raise ValueError(f"model must be 'lenet' or hidden widths like '100,100' or [300, 100], got {spec!r}")
    return mlp([int(in_features), *[int(w) for w in hidden], int(num_classes)], seed=seed)


def derived_seed(*parts: int) -> int:
    """A seed in [0, 2**31) derived from integers (e.g. study seed, round, purpose); deterministic.

    >>> derived_seed(0, 1, 2) == derived_seed(0, 1, 2) != derived_seed(0, 2, 1)
    True
    """
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


def prune_masks(model: nn.Module, sparsities: Mapping[str, float],
                prior: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Layer-wise magnitude masks of ``model``'s weights, each at its target sparsity.

    ``sparsities`` maps parameter names to the total sparsity each layer should
    have (e.g. :func:`course_lib.schedules.layer_sparsities`); ``prior`` masks are
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
    :func:`course_lib.train.train` (``train_kwargs``: epochs, lr, seed, ...).

    >>> from course_lib.data import load
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


# --------------------------------------------------------------------------- the study
def _mean(values) -> float:
    return float(statistics.fmean(values))


def _std(values) -> float:
    return float(statistics.pstdev(values)) if len(values) > 1 else 0.0


@dataclass
class LotteryResult:
    """Result of :func:`lottery_study` (accuracies in percent).

    ``dense[i]`` is the dense run of seed ``seeds[i]``; ``runs[(variant, round)]``
    the runs of that variant and round, one per seed (their
    :class:`~course_lib.train.TrainResult` keep the validation/test curves);
    ``weights_remaining[round]`` the fraction of prunable weights kept and
    ``layer_density[round]`` the same per layer (from the ticket's masks);
    ``nonzero_density[(variant, round)]`` holds, per seed, the fraction of
    nonzero weights per layer measured on the trained networks (the controls
    match the ticket's per-layer sparsity, and pruned weights stayed zero).
    """

    config: dict
    seeds: list[int]
    dense: list[TrainResult]
    runs: dict[tuple[str, int], list[TrainResult]] = field(default_factory=dict)
    weights_remaining: dict[int, float] = field(default_factory=dict)
    layer_density: dict[int, dict[str, float]] = field(default_factory=dict)
    nonzero_density: dict[tuple[str, int], list[dict[str, float]]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def variants(self) -> list[str]:
        """The variants studied, in :data:`VARIANTS` order."""
        return [v for v in VARIANTS if any(key[0] == v for key in self.runs)]

    @property
    def rounds(self) -> int:
        """Number of pruning rounds."""
        return max((r for _, r in self.runs), default=0)

    @property
    def dense_test_acc(self) -> float:
        """Mean final test accuracy of the dense network over seeds."""
        return _mean([r.final_test_acc for r in self.dense])

    def rows(self) -> list[dict]:
        """One dict per variant and round (variant-major): accuracies and early-stop iterations over seeds."""
        out = []
        for variant in self.variants:
            for rnd in range(1, self.rounds + 1):
                runs = self.runs[(variant, rnd)]
                final = [r.final_test_acc for r in runs]
                early = [r.early_stop_test_acc for r in runs]
                stops = [r.early_stop_iter for r in runs]
                out.append({
                    "variant": variant,
                    "round": rnd,
                    "weights_remaining": self.weights_remaining[rnd],
                    "test_acc_mean": _mean(final),
                    "test_acc_std": _std(final),
                    "test_acc": final,
                    "early_stop_iter_mean": _mean(stops),
                    "early_stop_iter_std": _std(stops),
                    "early_stop_test_acc_mean": _mean(early),
                    "layer_density": dict(self.layer_density[rnd]),
                })
        return out

    def to_json(self, curves: bool = False) -> dict:
        """A JSON-able dict: ``config``, ``dense_test_acc`` (mean), ``dense_test_acc_std``,
        ``dense_early_stop_iter_mean`` and ``rows`` (see :meth:`rows`); with
        ``curves=True`` also every run's validation/test curves."""
        dense = [r.final_test_acc for r in self.dense]
        out = {
            "config": dict(self.config),
            "seeds": list(self.seeds),
            "dense_test_acc": _mean(dense),
            "dense_test_acc_std": _std(dense),
            "dense_early_stop_iter_mean": _mean([r.early_stop_iter for r in self.dense]),
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
            cells = [f"{rows[(v, rnd)]['test_acc_mean']:>8.2f} +- {rows[(v, rnd)]['test_acc_std']:<4.2f}"
                     for v in self.variants]
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
    rewind_iter: int = 0,
    variants: Sequence[str] = VARIANTS,
    data_seed: int = 0,
    progress: bool = True,
    threads: int | None = None,
) -> LotteryResult:
    """Iterative magnitude pruning with rewinding, and its controls, over several seeds.

    For each seed: build the model (``model``: ``"lenet"`` or hidden widths), train
    it dense (saving the weights at ``rewind_iter``), then for rounds 1..``rounds``
    prune each layer by magnitude to sparsity ``1 - (1 - rate_l) ** round``
    (the output layer at ``output_rate``, default ``rate / 2``), rewind, train.
    Each round also trains the ``variants`` ``"reinit"`` and ``"random_prune"``
    with the ticket's per-layer sparsity. The minibatch order of every run of a
    seed is that seed's. ``None`` arguments (model, rounds, rate, epochs, lr) take the
    data set's :data:`PRESETS`. ``data`` is a :class:`~course_lib.data.Dataset` or a
    name (then loaded with ``data_seed``). Runs on 1 CPU thread unless ``threads`` says
    otherwise; the same arguments give the same result, bit for bit, on one machine.

    >>> from course_lib.data import load
    >>> res = lottery_study(load("digits"), model="32", rounds=2, seeds=[0, 1], epochs=1,
    ...                     variants=["ticket"], progress=False)
    >>> [round(res.weights_remaining[r], 3) for r in (1, 2)]
    [0.534, 0.292]
    """
    if isinstance(data, str):
        data = load(data, seed=data_seed)
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a course_lib.data.Dataset or a dataset name, got {type(data).__name__}")
    preset = PRESETS.get(data.name, PRESETS["digits"])
    model = preset["model"] if model is None else model
    rounds = preset["rounds"] if rounds is None else rounds
    rate = preset["rate"] if rate is None else rate
    epochs = preset["epochs"] if epochs is None else epochs
    lr = preset["lr"] if lr is None else lr
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    if isinstance(rewind_iter, bool) or not isinstance(rewind_iter, numbers.Integral) or rewind_iter < 0:
        raise ValueError(f"rewind_iter must be an int >= 0, got {rewind_iter!r}")
    total_iters = int(epochs) * -(-len(data.train) // int(batch_size))
    if rewind_iter > total_iters:
        raise ValueError(f"rewind_iter={rewind_iter} is beyond the {total_iters} training iterations "
                         f"({epochs} epochs of {len(data.train)} examples in minibatches of {batch_size})")
    seeds = _check_seeds(seeds)
    variants = list(variants)
    bad = [v for v in variants if v not in VARIANTS]
    if bad or "ticket" not in variants or len(set(variants)) != len(variants):
        raise ValueError(f"variants must be distinct names from {VARIANTS} including 'ticket', got {variants!r}")
    variants = [v for v in VARIANTS if v in variants]

    def build(seed: int) -> nn.Sequential:
        return make_model(model, data.in_features, data.num_classes, seed=seed)

    names = list(prunable_weights(build(0)))
    rates = layer_rates(names, rate, output_rate)
    train_kw = dict(epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, progress=False,
                    threads=threads)
    config = dict(dataset=data.name, model=model if isinstance(model, str) else list(model), rounds=int(rounds),
                  rate=float(rate), output_rate=rates[names[-1]], layer_rates=rates, epochs=int(epochs),
                  lr=float(lr), batch_size=int(batch_size), optimizer=optimizer, rewind_iter=int(rewind_iter),
                  variants=variants, data_seed=int(data_seed), n_train=len(data.train))
    start = time.perf_counter()

    from tqdm.auto import tqdm

    bar = tqdm(total=rounds + 1, disable=not progress, desc="lottery rounds")
    # round 0: the dense networks, remembering the weights to rewind to
    nets = [build(s) for s in seeds]
    inits = [copy.deepcopy(n.state_dict()) for n in nets]
    dense = train_many(nets, data, seeds=seeds, save_at=[rewind_iter], **train_kw)
    rewind_states = [r.snapshots[rewind_iter] for r in dense]
    for r in dense:
        r.snapshots.clear()
    trained = nets
    result = LotteryResult(config=config, seeds=seeds, dense=dense)
    masks: list[dict[str, torch.Tensor] | None] = [None] * len(seeds)
    bar.set_postfix(dense=f"{result.dense_test_acc:.1f}%")
    bar.update(1)
    for rnd in range(1, rounds + 1):
        target = layer_sparsities(rates, rnd)
        masks = [prune_masks(net, target, prior=m) for net, m in zip(trained, masks)]
        jobs_models, jobs_masks, jobs_seeds, jobs_keys = [], [], [], []
        for variant in variants:
            for i, seed in enumerate(seeds):
                net = build(seed)
                if variant == "ticket":
                    rewind(net, rewind_states[i], masks[i])
                    job_mask = masks[i]
                elif variant == "reinit":
                    net = build(derived_seed(seed, rnd, 1))
                    job_mask = masks[i]
                else:  # random_prune
                    job_mask = random_masks(masks[i], seed=derived_seed(seed, rnd, 2))
                    rewind(net, rewind_states[i], job_mask)
                jobs_models.append(net)
                jobs_masks.append(job_mask)
                jobs_seeds.append(seed)
                jobs_keys.append(variant)
        runs = train_many(jobs_models, data, jobs_masks, seeds=jobs_seeds, **train_kw)
        for variant in variants:
            result.runs[(variant, rnd)] = [r for r, key in zip(runs, jobs_keys) if key == variant]
            result.nonzero_density[(variant, rnd)] = [
                {n: float((p != 0).float().mean()) for n, p in prunable_weights(m).items()}
                for m, key in zip(jobs_models, jobs_keys) if key == variant]
        trained = [m for m, key in zip(jobs_models, jobs_keys) if key == "ticket"]
        kept = {n: int(masks[0][n].sum()) for n in names}
        sizes = {n: masks[0][n].numel() for n in names}
        result.weights_remaining[rnd] = sum(kept.values()) / sum(sizes.values())
        result.layer_density[rnd] = {n: kept[n] / sizes[n] for n in names}
        ticket = _mean([r.final_test_acc for r in result.runs[("ticket", rnd)]])
        bar.set_postfix(weights=f"{100 * result.weights_remaining[rnd]:.1f}%", ticket=f"{ticket:.1f}%")
        bar.update(1)
    bar.close()
    result.seconds = time.perf_counter() - start
    return result
