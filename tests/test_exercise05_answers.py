"""Exercise 05 (one round of IMP with rewinding, the random-mask control, weight movement): plausible
wrong answers must fail and valid alternatives must pass, graded by the real grader (solution cells
replaced in a copy of the solution notebook).
Graded in rounds: see ``AnswerRounds``."""

import pytest
from exercise_notebooks import AnswerRounds

NOTEBOOK = "05_lottery_exercise.ipynb"
CELLS = {"imp_round": "solution-imp_round", "random_masks": "solution-random_masks", "movement": "solution-movement"}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_IMP = """def my_imp_round(trained, init, prior, rates, rnd):
    masks, rewound = {{}}, {{}}
    for name in {names}:
        rate = rates.get(name, 0.0)
        w = {ranked}[name]
        total = {total}
        k = round(total * w.numel())
        scores = w.abs().flatten().clone()
        {prior}
        keep = torch.ones(w.numel(), dtype=torch.bool)
        keep[scores.argsort()[:k]] = False
        masks[name] = keep.reshape(w.shape)
        rewound[name] = {rewound}
    return masks, rewound
"""


def imp_answer(
    names: str = "rates",
    ranked: str = "trained",
    total: str = "1.0 - (1.0 - rate) ** rnd",
    prior: str = "scores[~prior[name].flatten()] = -1.0",
    rewound: str = "init[name] * masks[name]",
) -> str:
    """The source of a my_imp_round with the given pieces (the defaults make it correct)."""
    return _IMP.format(names=names, ranked=ranked, total=total, prior=prior, rewound=rewound)


IMP_ROUND = {
    "wrong: loops over the model's layers (trained), not over rates": (False, imp_answer(names="trained")),
    "wrong: a rate of all weights (total = rate * rnd)": (False, imp_answer(total="rate * rnd")),
    "wrong: prunes round(rate * numel) (this round's rate, not the total)": (False, imp_answer(total="rate")),
    "wrong: ignores the prior mask": (False, imp_answer(prior="pass")),
    "wrong: ranks by |init|": (False, imp_answer(ranked="init")),
    "wrong: rewinds to the trained weights": (False, imp_answer(rewound="trained[name] * masks[name]")),
    "wrong: rewound = init, not masked": (False, imp_answer(rewound="init[name].clone()")),
    "wrong: rewound holds only the kept values (1-D)": (False, imp_answer(rewound="init[name][masks[name]]")),
    "wrong: updates prior in place": (
        False,
        imp_answer(rewound="init[name] * masks[name]\n        prior[name] &= masks[name]"),
    ),
    "valid: ranks |trained * prior|, torch.where": (
        True,
        """def my_imp_round(trained, init, prior, rates, rnd):
    masks, rewound = {}, {}
    for name, rate in rates.items():
        scores = (trained[name] * prior[name]).abs()   # pruned entries score 0: pruned again first
        k = round((1 - (1 - rate) ** rnd) * scores.numel())
        keep = torch.ones(scores.numel(), dtype=torch.bool)
        keep[torch.sort(scores.flatten(), stable=True).indices[:k]] = False
        masks[name] = keep.view(scores.shape) & prior[name]
        rewound[name] = torch.where(masks[name], init[name], torch.zeros_like(init[name]))
    return masks, rewound
""",
    ),
    "valid: only the new entries counted (total - already pruned), masked_fill": (
        True,
        """def my_imp_round(trained, init, prior, rates, rnd):
    masks = {}
    for name in rates:
        mask = prior[name].clone()
        target = round((1.0 - (1.0 - rates[name]) ** rnd) * mask.numel())
        n_new = target - int((~mask).sum())
        alive = mask.flatten().nonzero().flatten()
        weakest = alive[trained[name].flatten()[alive].abs().argsort()[:n_new]]
        mask.view(-1)[weakest] = False
        masks[name] = mask
    return masks, {name: init[name].masked_fill(~masks[name], 0.0) for name in masks}
""",
    ),
}

# A correct answer in the solution's shape; each wrong answer changes how one layer is drawn.
_RANDOM = """def my_random_masks(masks, seed):
    gen = torch.Generator().manual_seed(seed)
    out = {{}}
    for name, mask in masks.items():
{body}
    return out
"""


def random_answer(body: str) -> str:
    """The source of a my_random_masks whose loop body (indented 8 spaces) sets out[name]."""
    return _RANDOM.format(body=body)


RANDOM_MASKS = {
    "wrong: shuffles within each row (keeps every neuron's count)": (
        False,
        random_answer("""        rows = mask.reshape(mask.shape[0], -1)
        rows = [row[torch.randperm(row.numel(), generator=gen)] for row in rows]
        out[name] = torch.stack(rows).reshape(mask.shape)"""),
    ),
    "wrong: permutes the rows, then within each row (row counts kept as a set)": (
        False,
        random_answer("""        rows = mask.reshape(mask.shape[0], -1)[torch.randperm(mask.shape[0], generator=gen)]
        rows = [row[torch.randperm(row.numel(), generator=gen)] for row in rows]
        out[name] = torch.stack(rows).reshape(mask.shape)"""),
    ),
    "wrong: seeds the global random state": (
        False,
        """def my_random_masks(masks, seed):
    torch.manual_seed(seed)
    out = {}
    for name, mask in masks.items():
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[torch.randperm(mask.numel())[: int(mask.sum())]] = True
        out[name] = keep.reshape(mask.shape)
    return out
""",
    ),
    "wrong: ignores the seed (a fixed seed of its own)": (
        False,
        """def my_random_masks(masks, seed):
    gen = torch.Generator().manual_seed(0)
    return {n: m.flatten()[torch.randperm(m.numel(), generator=gen)].view(m.shape) for n, m in masks.items()}
""",
    ),
    "wrong: about as many kept (Bernoulli draws)": (
        False,
        """def my_random_masks(masks, seed):
    gen = torch.Generator().manual_seed(seed)
    return {n: torch.rand(m.shape, generator=gen) < m.float().mean() for n, m in masks.items()}
""",
    ),
    "wrong: shuffles across layers (only the total count kept)": (
        False,
        """def my_random_masks(masks, seed):
    gen = torch.Generator().manual_seed(seed)
    flat = torch.cat([m.flatten() for m in masks.values()])
    flat = flat[torch.randperm(flat.numel(), generator=gen)]
    out, start = {}, 0
    for name, m in masks.items():
        out[name] = flat[start : start + m.numel()].reshape(m.shape)
        start += m.numel()
    return out
""",
    ),
    "wrong: rolls the layer by a random shift": (
        False,
        random_answer("""        shift = int(torch.randint(mask.numel(), (1,), generator=gen))
        out[name] = mask.flatten().roll(shift).reshape(mask.shape)"""),
    ),
    "wrong: shuffles the ticket's masks in place": (
        False,
        random_answer("""        flat = mask.view(-1)
        flat.copy_(flat[torch.randperm(flat.numel(), generator=gen)])
        out[name] = mask"""),
    ),
    "valid: random scores, keep the top k": (
        True,
        random_answer("""        scores = torch.rand(mask.numel(), generator=gen)
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[scores.argsort(descending=True)[: int(mask.sum())]] = True
        out[name] = keep.view(mask.shape)"""),
    ),
    "valid: the global random state under fork_rng (left as it was)": (
        True,
        """def my_random_masks(masks, seed):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return {n: m.flatten()[torch.randperm(m.numel())].reshape(m.shape) for n, m in masks.items()}
""",
    ),
    "valid: Python's random.Random(seed).sample": (
        True,
        """import random


def my_random_masks(masks, seed):
    rnd = random.Random(seed)
    out = {}
    for name, mask in masks.items():
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[rnd.sample(range(mask.numel()), int(mask.sum()))] = True
        out[name] = keep.reshape(mask.shape)
    return out
""",
    ),
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_MOVEMENT = """def my_movement(init, final, mask):
    a, b = {values}
    distance = {distance}
    correlation = {correlation}
    return {result}
"""


def movement_answer(
    values: str = "init[mask].double(), final[mask].double()",
    distance: str = "float((b - a).norm() / a.norm())",
    correlation: str = "float(torch.corrcoef(torch.stack([a, b]))[0, 1])",
    result: str = "distance, correlation",
) -> str:
    """The source of a my_movement with the given pieces (the defaults make it correct)."""
    return _MOVEMENT.format(values=values, distance=distance, correlation=correlation, result=result)


MOVEMENT = {
    "wrong: divided by the final weights' norm": (False, movement_answer(distance="float((b - a).norm() / b.norm())")),
    "wrong: the absolute distance (not divided)": (False, movement_answer(distance="float((b - a).norm())")),
    "wrong: squared norms": (False, movement_answer(distance="float((b - a).pow(2).sum() / a.pow(2).sum())")),
    "wrong: every entry (the mask ignored)": (
        False,
        movement_answer(values="init.double().flatten(), final.double().flatten()"),
    ),
    "wrong: masked by multiplying (the zeros enter the correlation)": (
        False,
        movement_answer(values="(init * mask).double().flatten(), (final * mask).double().flatten()"),
    ),
    "wrong: the cosine similarity (not centered)": (
        False,
        movement_answer(correlation="float(a @ b / (a.norm() * b.norm()))"),
    ),
    "wrong: 0-dim tensors instead of floats": (
        False,
        movement_answer(
            distance="(b - a).norm() / a.norm()",
            correlation="torch.corrcoef(torch.stack([a, b]))[0, 1]",
        ),
    ),
    "wrong: a list [distance, correlation]": (False, movement_answer(result="[distance, correlation]")),
    "valid: Pearson by hand, .item()": (
        True,
        movement_answer(
            correlation="((a - a.mean()) * (b - b.mean())).sum().item() / "
            "((a - a.mean()).norm() * (b - b.mean()).norm()).item()",
            distance="torch.linalg.vector_norm(b - a).item() / torch.linalg.vector_norm(a).item()",
        ),
    ),
    "valid: Python lists, statistics.correlation and math.dist": (
        True,
        """import math
import statistics


def my_movement(init, final, mask):
    a, b = init[mask].tolist(), final[mask].tolist()
    distance = math.dist(a, b) / math.hypot(*a)
    return distance, statistics.correlation(a, b)
""",
    ),
}

ANSWERS = {"imp_round": IMP_ROUND, "random_masks": RANDOM_MASKS, "movement": MOVEMENT}

# What the check says to each wrong answer (a piece of its message): it is caught for the right reason.
CAUGHT_BY = {
    "wrong: loops over the model's layers (trained), not over rates": (
        "masks must have the names of rates, ['fc1.weight', 'fc3.weight']"
    ),
    "wrong: a rate of all weights (total = rate * rnd)": "the total after 2 rounds is 1 - (1 - rate) ** 2",
    "wrong: prunes round(rate * numel) (this round's rate, not the total)": (
        "the total after 2 rounds is 1 - (1 - rate) ** 2"
    ),
    "wrong: ignores the prior mask": "an entry the previous mask pruned came back",
    "wrong: ranks by |init|": "the right number, but the wrong entries pruned",
    "wrong: rewinds to the trained weights": "must hold the INITIAL weights",
    "wrong: rewound = init, not masked": "must be exactly 0 where the mask prunes",
    "wrong: rewound holds only the kept values (1-D)": "rewound['fc1.weight'] must be a tensor of shape (12, 8)",
    "wrong: updates prior in place": "changed its input (argument 3['fc1.weight'])",
    "wrong: shuffles within each row (keeps every neuron's count)": "about 3/8 of",
    "wrong: permutes the rows, then within each row (row counts kept as a set)": "1 or 2 of them in row 0",
    "wrong: seeds the global random state": "seed 0: the global random state changed",
    "wrong: ignores the seed (a fixed seed of its own)": "seeds 0 and 1 gave the same fc1.weight",
    "wrong: about as many kept (Bernoulli draws)": "keep EXACTLY as many",
    "wrong: shuffles across layers (only the total count kept)": "keep EXACTLY as many",
    "wrong: shuffles the ticket's masks in place": "changed its input (argument 1['fc1.weight'])",
    "wrong: rolls the layer by a random shift": "1 or 2 of them in row 0",
    "wrong: divided by the final weights' norm": "expected distance 1.0",
    "wrong: the absolute distance (not divided)": "expected distance 1.0",
    "wrong: squared norms": "expected distance 2.0",
    "wrong: every entry (the mask ignored)": "(only the masked entries? divided by the INITIAL weights' norm?)",
    "wrong: masked by multiplying (the zeros enter the correlation)": "30 x 20 weights, 339 kept: correlation 0.881897",
    "wrong: the cosine similarity (not centered)": "(Pearson: centered; over the masked entries only?)",
    "wrong: 0-dim tensors instead of floats": "return Python floats, got ['Tensor', 'Tensor']",
    "wrong: a list [distance, correlation]": "return a tuple (distance, correlation)",
}
ROUNDS = AnswerRounds(NOTEBOOK, CELLS, ANSWERS, CAUGHT_BY)


@pytest.mark.parametrize(("i", "exercise", "label"), ROUNDS.cases, ids=ROUNDS.ids)
def test_exercise05_answer(tmp_path_factory, i, exercise, label):
    ROUNDS.verdict(tmp_path_factory, i, exercise, label)


def test_every_exercise_has_wrong_and_valid_answers():
    ROUNDS.check_complete()
