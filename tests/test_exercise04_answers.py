"""Exercise 04 (the iterative schedule, iterative magnitude masks, the least-squares refit): plausible
wrong answers must fail and valid alternatives must pass, graded by the real grader (solution cells
replaced in a copy of the solution notebook).
Graded in rounds: see ``AnswerRounds``."""

import pytest
from exercise_notebooks import AnswerRounds

NOTEBOOK = "04_finetune_exercise.ipynb"
CELLS = {"schedule": "solution-schedule", "iterative_masks": "solution-iterative_masks", "refit": "solution-refit"}

# A correct answer in the solution's shape; each wrong answer changes one of the two functions.
_SCHEDULE = """def my_density_after(rate, rounds):
    {density}


def my_rate_for_density(density, rounds):
    {rate}
"""


def schedule_answer(
    density: str = "return (1.0 - rate) ** rounds", rate: str = "return 1.0 - density ** (1.0 / rounds)"
) -> str:
    """The source of the two schedule functions with the given bodies (the defaults make them correct)."""
    return _SCHEDULE.format(density=density, rate=rate)


SCHEDULE = {
    "wrong: the rate of all weights (1 - rate * rounds)": (
        False,
        schedule_answer(density="return 1.0 - rate * rounds"),
    ),
    "wrong: the sparsity instead of the density": (
        False,
        schedule_answer(density="return 1.0 - (1.0 - rate) ** rounds"),
    ),
    "wrong: the kept fraction per round instead of the rate": (
        False,
        schedule_answer(rate="return density ** (1.0 / rounds)"),
    ),
    "wrong: the density split evenly over the rounds": (
        False,
        schedule_answer(rate="return (1.0 - density) / rounds"),
    ),
    "wrong: the int 1 for zero rounds": (
        False,
        schedule_answer(density="if rounds == 0:\n        return 1\n    return (1.0 - rate) ** rounds"),
    ),
    "wrong: the int 0 for density 1": (
        False,
        schedule_answer(rate="if density == 1:\n        return 0\n    return 1.0 - density ** (1.0 / rounds)"),
    ),
    "wrong: tensors instead of floats": (
        False,
        schedule_answer(rate="return 1.0 - torch.tensor(density, dtype=torch.float64) ** (1.0 / rounds)"),
    ),
    "wrong: rounded to 4 decimals": (
        False,
        schedule_answer(rate="return round(1.0 - density ** (1.0 / rounds), 4)"),
    ),
    "valid: a loop, and exp/log": (
        True,
        """import math


def my_density_after(rate, rounds):
    density = 1.0
    for _ in range(rounds):
        density *= 1.0 - rate
    return density


def my_rate_for_density(density, rounds):
    return -math.expm1(math.log(density) / rounds)
""",
    ),
    "valid: math.pow, and float() of a tensor computation": (
        True,
        """import math


def my_density_after(rate, rounds):
    return math.pow(1 - rate, rounds)


def my_rate_for_density(density, rounds):
    return float(1 - torch.tensor(density, dtype=torch.float64).pow(1 / rounds))
""",
    ),
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_ITER = """def my_iterative_masks(weights_per_step, target_sparsity):
    steps = len(weights_per_step)
    rate = {rate}
    masks, keep = [], None
    for s, weight in enumerate({weights}, start=1):
        total = {total}
        k = round(total * weight.numel())
        scores = weight.abs().flatten().clone()
        if keep is not None:
            scores[~keep.flatten()] = -1.0
        new = torch.ones(weight.numel(), dtype=torch.bool)
        new[scores.argsort()[:k]] = False
        keep = new.reshape(weight.shape)
        masks.append(keep)
    return masks
"""


def iter_answer(
    rate: str = "1.0 - (1.0 - target_sparsity) ** (1.0 / steps)",
    weights: str = "weights_per_step",
    total: str = "target_sparsity if s == steps else 1.0 - (1.0 - rate) ** s",
) -> str:
    """The source of a my_iterative_masks with the given pieces (the defaults make it correct)."""
    return _ITER.format(rate=rate, weights=weights, total=total)


ITERATIVE_MASKS = {
    "wrong: the last step computed from the rate (not exactly the target)": (
        False,
        iter_answer(total="1.0 - (1.0 - rate) ** s"),
    ),
    "wrong: a rate of all weights (the target split evenly over the steps)": (
        False,
        iter_answer(total="target_sparsity * s / steps"),
    ),
    "wrong: the target sparsity as the per-step rate": (False, iter_answer(rate="target_sparsity")),
    "wrong: each step prunes round(rate * remaining) more": (
        False,
        """def my_iterative_masks(weights_per_step, target_sparsity):
    rate = 1.0 - (1.0 - target_sparsity) ** (1.0 / len(weights_per_step))
    masks, keep = [], torch.ones(weights_per_step[0].shape, dtype=torch.bool)
    for weight in weights_per_step:
        n_new = round(rate * int(keep.sum()))
        scores = weight.abs().masked_fill(~keep, float("inf")).flatten()
        keep = keep.clone()
        keep.view(-1)[scores.argsort()[:n_new]] = False
        masks.append(keep)
    return masks
""",
    ),
    "wrong: every step from scratch (earlier pruning forgotten)": (
        False,
        """def my_iterative_masks(weights_per_step, target_sparsity):
    steps = len(weights_per_step)
    rate = 1.0 - (1.0 - target_sparsity) ** (1.0 / steps)
    masks = []
    for s, weight in enumerate(weights_per_step, start=1):
        total = target_sparsity if s == steps else 1.0 - (1.0 - rate) ** s
        keep = torch.ones(weight.numel(), dtype=torch.bool)
        keep[weight.abs().flatten().argsort()[: round(total * weight.numel())]] = False
        masks.append(keep.reshape(weight.shape))
    return masks
""",
    ),
    "wrong: the trained weight ranks every step": (
        False,
        iter_answer(weights="[weights_per_step[0]] * steps"),
    ),
    "wrong: the total count pruned anew among the kept entries": (
        False,
        """def my_iterative_masks(weights_per_step, target_sparsity):
    steps = len(weights_per_step)
    rate = 1.0 - (1.0 - target_sparsity) ** (1.0 / steps)
    masks, keep = [], torch.ones(weights_per_step[0].shape, dtype=torch.bool)
    for s, weight in enumerate(weights_per_step, start=1):
        total = target_sparsity if s == steps else 1.0 - (1.0 - rate) ** s
        scores = weight.abs().masked_fill(~keep, float("inf")).flatten()
        keep = keep.clone()
        keep.view(-1)[scores.argsort()[: round(total * weight.numel())]] = False
        masks.append(keep)
    return masks
""",
    ),
    "wrong: one mask changed in place (every list entry is the last mask)": (
        False,
        """def my_iterative_masks(weights_per_step, target_sparsity):
    steps = len(weights_per_step)
    rate = 1.0 - (1.0 - target_sparsity) ** (1.0 / steps)
    keep = torch.ones(weights_per_step[0].shape, dtype=torch.bool)
    masks = []
    for s, weight in enumerate(weights_per_step, start=1):
        total = target_sparsity if s == steps else 1.0 - (1.0 - rate) ** s
        scores = weight.abs().masked_fill(~keep, -1.0).flatten()
        keep.view(-1)[scores.argsort()[: round(total * weight.numel())]] = False
        masks.append(keep)
    return masks
""",
    ),
    "valid: ranks |w * mask| (the pruned entries are 0, so they go first)": (
        True,
        """def my_iterative_masks(weights_per_step, target_sparsity):
    steps = len(weights_per_step)
    rate = 1 - (1 - target_sparsity) ** (1 / steps)
    totals = [1 - (1 - rate) ** s for s in range(1, steps)] + [target_sparsity]
    keep = torch.ones_like(weights_per_step[0], dtype=torch.bool)
    masks = []
    for weight, total in zip(weights_per_step, totals):
        scores = (weight * keep).abs().flatten()
        new = torch.ones(weight.numel(), dtype=torch.bool)
        new[torch.sort(scores, stable=True).indices[: round(total * weight.numel())]] = False
        keep = new.view(weight.shape) & keep
        masks.append(keep)
    return masks
""",
    ),
    "valid: the new entries counted as total - already pruned, Python lists": (
        True,
        """def my_iterative_masks(weights_per_step, target_sparsity):
    steps = len(weights_per_step)
    keep = [True] * weights_per_step[0].numel()
    masks = []
    for s, weight in enumerate(weights_per_step, start=1):
        total = target_sparsity if s == steps else 1 - (1 - target_sparsity) ** (s / steps)
        values = weight.flatten().tolist()
        n_new = round(total * len(values)) - keep.count(False)
        alive = sorted((i for i in range(len(values)) if keep[i]), key=lambda i: abs(values[i]))
        for i in alive[:n_new]:
            keep[i] = False
        masks.append(torch.tensor(keep).reshape(weight.shape))
    return masks
""",
    ),
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_REFIT = """def my_refit(h, z, keep):
    design = torch.cat([h[:, {cols}], torch.ones(len(h), 1)], dim=1).double()
    solution = torch.linalg.lstsq(design, z.double(), driver="gelsd").solution
    return {result}
"""


def refit_answer(cols: str = "keep", result: str = "solution[:-1].T.float(), solution[-1].float()") -> str:
    """The source of a my_refit with the given pieces (the defaults make it correct)."""
    return _REFIT.format(cols=cols, result=result)


REFIT = {
    "wrong: no bias (b = 0)": (
        False,
        """def my_refit(h, z, keep):
    W = torch.linalg.lstsq(h[:, keep].double(), z.double(), driver="gelsd").solution.T
    return W.float(), torch.zeros(z.shape[1])
""",
    ),
    "wrong: W not transposed (kept, out)": (False, refit_answer(result="solution[:-1].float(), solution[-1].float()")),
    "wrong: the removed neurons instead of the kept ones": (False, refit_answer(cols="~keep")),
    "wrong: fitted on every neuron, then the kept columns taken": (
        False,
        refit_answer(cols=":", result="solution[:-1][keep].T.float(), solution[-1].float()"),
    ),
    "wrong: W without bias, then b = the mean residual": (
        False,
        """def my_refit(h, z, keep):
    hk = h[:, keep].double()
    W = torch.linalg.lstsq(hk, z.double(), driver="gelsd").solution.T
    b = (z.double() - hk @ W.T).mean(dim=0)
    return W.float(), b.float()
""",
    ),
    "wrong: a list [W, b]": (False, refit_answer(result="[solution[:-1].T.float(), solution[-1].float()]")),
    "wrong: b of shape (1, out)": (False, refit_answer(result="solution[:-1].T.float(), solution[-1:].float()")),
    "valid: float64 results, as the hint computes them": (True, refit_answer(result="solution[:-1].T, solution[-1]")),
    "valid: the pseudo-inverse": (
        True,
        """def my_refit(h, z, keep):
    design = torch.cat([h[:, keep], torch.ones(h.shape[0], 1)], dim=1).to(torch.float64)
    coef = torch.linalg.pinv(design) @ z.to(torch.float64)
    return coef[:-1].T.contiguous().float(), coef[-1].float()
""",
    ),
    "valid: centered data, then b from the means": (
        True,
        """def my_refit(h, z, keep):
    hk, zz = h[:, keep].double(), z.double()
    h_mean, z_mean = hk.mean(dim=0), zz.mean(dim=0)
    W = torch.linalg.lstsq(hk - h_mean, zz - z_mean, driver="gelsd").solution.T
    return W, z_mean - W @ h_mean
""",
    ),
}

ANSWERS = {"schedule": SCHEDULE, "iterative_masks": ITERATIVE_MASKS, "refit": REFIT}

# What the check says to each wrong answer (a piece of its message): it is caught for the right reason.
CAUGHT_BY = {
    "wrong: the rate of all weights (1 - rate * rounds)": "0.8 * 0.8 = 0.64",
    "wrong: the sparsity instead of the density": "0.8 * 0.8 = 0.64",
    "wrong: the kept fraction per round instead of the rate": "each round prunes 90% of what is left",
    "wrong: the density split evenly over the rounds": "each round prunes 90% of what is left",
    "wrong: the int 1 for zero rounds": "my_density_after(0.0, 0): return a Python float, got 1 (int)",
    "wrong: the int 0 for density 1": "my_rate_for_density(1.0, 1): return a Python float, got 0 (int)",
    "wrong: tensors instead of floats": "return a Python float, got tensor(",
    "wrong: rounded to 4 decimals": "my_rate_for_density(0.5, 2) = 0.2929, expected 0.29289",
    "wrong: the last step computed from the rate (not exactly the target)": (
        "target 0.25, 2 steps: step 2 pruned 3 entries in all, expected round(0.25 * 10) = 2"
    ),
    "wrong: a rate of all weights (the target split evenly over the steps)": "step 1 pruned 4 entries in all",
    "wrong: the target sparsity as the per-step rate": "pruned 8 entries in all, expected round((1 - (1 - 0.5528)",
    "wrong: each step prunes round(rate * remaining) more": "step 3 pruned 48 entries in all, expected round(0.9 * 54)",
    "wrong: every step from scratch (earlier pruning forgotten)": "came back",
    "wrong: the trained weight ranks every step": "pruned the wrong entries",
    "wrong: the total count pruned anew among the kept entries": "entries in all, expected round(",
    "wrong: one mask changed in place (every list entry is the last mask)": "step 1 pruned 8 entries in all, expected",
    "wrong: no bias (b = 0)": "did you include the bias?",
    "wrong: W not transposed (kept, out)": "W must have shape (out, kept) = (4, 6)",
    "wrong: the removed neurons instead of the kept ones": "predicts z differently",
    "wrong: fitted on every neuron, then the kept columns taken": "predicts z differently",
    "wrong: W without bias, then b = the mean residual": "predicts z differently",
    "wrong: a list [W, b]": "return a tuple (W, b)",
    "wrong: b of shape (1, out)": "b (4,)",
}
ROUNDS = AnswerRounds(NOTEBOOK, CELLS, ANSWERS, CAUGHT_BY)


@pytest.mark.parametrize(("i", "exercise", "label"), ROUNDS.cases, ids=ROUNDS.ids)
def test_exercise04_answer(tmp_path_factory, i, exercise, label):
    ROUNDS.verdict(tmp_path_factory, i, exercise, label)


def test_every_exercise_has_wrong_and_valid_answers():
    ROUNDS.check_complete()
