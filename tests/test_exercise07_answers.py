"""Exercise 07 (SNIP scores, the layer-wise shuffle, RigL's drop and grow): plausible wrong answers must
fail and valid alternatives must pass, graded by the real grader (solution cells replaced in a copy of
the solution notebook).
Graded in rounds: see ``AnswerRounds``."""

import pytest
from exercise_notebooks import AnswerRounds

NOTEBOOK = "07_tickets_early_exercise.ipynb"
CELLS = {
    "snip_scores": "solution-snip_scores",
    "shuffle": "solution-shuffle",
    "drop_and_grow": "solution-drop_and_grow",
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_SNIP = """def my_snip_scores(model, x, y):
    weights = {{name: p for name, p in model.named_parameters() if {which}}}
    loss = {loss}
    grads = torch.autograd.grad(loss, list(weights.values()))
    return {{{name}: {score} for (name, w), g in zip(weights.items(), grads)}}
"""


def snip_answer(
    which: str = "p.dim() >= 2",
    loss: str = "F.cross_entropy(model(x), y)",
    score: str = "(g * w).abs().detach()",
    name: str = "name",
) -> str:
    """The source of a my_snip_scores with the given pieces (the defaults make it correct)."""
    return _SNIP.format(which=which, loss=loss, score=score, name=name)


# loss.backward() and the scores read from .grad; each answer wraps it differently.
_BACKWARD = """    F.cross_entropy(model(x), y).backward()
    scores = {n: (p.grad * p).abs().detach().clone() for n, p in model.named_parameters() if p.dim() >= 2}
"""

SNIP = {
    "wrong: the signed product g * w": (False, snip_answer(score="(g * w).detach()")),
    "wrong: |w| alone (scores from the weights alone)": (False, snip_answer(score="w.abs().detach()")),
    "wrong: |g| alone": (False, snip_answer(score="g.abs()")),
    "wrong: the summed loss instead of the mean": (
        False,
        snip_answer(loss='F.cross_entropy(model(x), y, reduction="sum")'),
    ),
    "wrong: softmax before the cross-entropy": (False, snip_answer(loss="F.cross_entropy(model(x).softmax(dim=1), y)")),
    "wrong: normalized by the sum of all scores (as the paper)": (
        False,
        """def my_snip_scores(model, x, y):
    weights = {name: p for name, p in model.named_parameters() if p.dim() >= 2}
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), list(weights.values()))
    scores = {name: (g * w).abs().detach() for (name, w), g in zip(weights.items(), grads)}
    total = sum(s.sum() for s in scores.values())
    return {name: s / total for name, s in scores.items()}
""",
    ),
    "wrong: biases scored too": (False, snip_answer(which="True")),
    "wrong: module names ('fc1') instead of parameter names": (
        False,
        snip_answer(name='name.removesuffix(".weight")'),
    ),
    "wrong: loss.backward() leaves .grad populated": (
        False,
        "def my_snip_scores(model, x, y):\n" + _BACKWARD + "    return scores\n",
    ),
    "wrong: model.zero_grad() before and after (an earlier step's .grad is lost)": (
        False,
        "def my_snip_scores(model, x, y):\n    model.zero_grad()\n"
        + _BACKWARD
        + "    model.zero_grad()\n    return scores\n",
    ),
    "wrong: .grad put back but not zeroed first (adds an earlier step's gradient)": (
        False,
        """def my_snip_scores(model, x, y):
    saved = {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}
"""
        + _BACKWARD
        + """    for n, p in model.named_parameters():
        p.grad = saved[n]
    return scores
""",
    ),
    "wrong: switches the model to eval mode": (
        False,
        snip_answer().replace("    weights =", "    model.eval()\n    weights =", 1),
    ),
    "valid: loss.backward() with .grad saved and put back": (
        True,
        """def my_snip_scores(model, x, y):
    saved = {n: p.grad for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
"""
        + _BACKWARD
        + """    for n, p in model.named_parameters():
        p.grad = saved[n]
    return scores
""",
    ),
    "valid: a deep copy (parameters copy without .grad), zero_grad anyway": (
        True,
        """def my_snip_scores(model, x, y):
    twin = copy.deepcopy(model)
    twin.zero_grad()
    F.cross_entropy(twin(x), y).backward()
    with torch.no_grad():
        return {n: (p.grad * p).abs() for n, p in twin.named_parameters() if len(p.shape) >= 2}
""",
    ),
    "valid: log_softmax by hand, gradients of every parameter, scores not detached": (
        True,
        """def my_snip_scores(model, x, y):
    params = dict(model.named_parameters())
    logp = torch.log_softmax(model(x), dim=1)
    loss = -logp[torch.arange(len(y)), y].mean()
    grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()))))
    return {n: (grads[n] * p).abs() for n, p in params.items() if p.dim() > 1}
""",
    ),
    "valid: torch.func.grad of a functional call": (
        True,
        """def my_snip_scores(model, x, y):
    from torch.func import functional_call, grad

    params = {n: p.detach() for n, p in model.named_parameters()}
    g = grad(lambda ps: F.cross_entropy(functional_call(model, ps, (x,)), y))(params)
    return {n: (g[n] * params[n]).abs() for n in params if params[n].dim() >= 2}
""",
    ),
}

# A correct answer that draws one order per layer; each wrong answer changes how.
_SHUFFLE = """def my_shuffle_within_layers(masks, generator):
    out = {{}}
    for name, mask in masks.items():
{body}
    return out
"""


def shuffle_answer(body: str) -> str:
    """The source of a my_shuffle_within_layers whose loop body (indented 8 spaces) sets out[name]."""
    return _SHUFFLE.format(body=body)


SHUFFLE = {
    "wrong: shuffles across layers (only the total count kept)": (
        False,
        """def my_shuffle_within_layers(masks, generator):
    flat = torch.cat([m.reshape(-1) for m in masks.values()])
    flat = flat[torch.randperm(flat.numel(), generator=generator)]
    out, start = {}, 0
    for name, m in masks.items():
        out[name] = flat[start : start + m.numel()].reshape(m.shape)
        start += m.numel()
    return out
""",
    ),
    "wrong: shuffles within each row (keeps every neuron's count)": (
        False,
        shuffle_answer("""        rows = mask.reshape(mask.shape[0], -1)
        perms = [row[torch.randperm(row.numel(), generator=generator)] for row in rows]
        out[name] = torch.stack(perms).reshape(mask.shape)"""),
    ),
    "wrong: permutes whole rows": (
        False,
        shuffle_answer("        out[name] = mask[torch.randperm(mask.shape[0], generator=generator)]"),
    ),
    "wrong: permutes whole columns": (
        False,
        shuffle_answer("""        cols = mask.reshape(mask.shape[0], -1)
        out[name] = cols[:, torch.randperm(cols.shape[1], generator=generator)].reshape(mask.shape)"""),
    ),
    "wrong: permutes the rows, then within each row (row counts kept as a set)": (
        False,
        shuffle_answer("""        order = torch.randperm(mask.shape[0], generator=generator)
        rows = mask.reshape(mask.shape[0], -1)[order]
        perms = [row[torch.randperm(row.numel(), generator=generator)] for row in rows]
        out[name] = torch.stack(perms).reshape(mask.shape)"""),
    ),
    "wrong: the global random state (randperm without generator)": (
        False,
        shuffle_answer(
            "        out[name] = mask.reshape(-1)[torch.randperm(mask.numel())].reshape(mask.shape)",
        ),
    ),
    "wrong: seeds the global random state from the generator": (
        False,
        shuffle_answer("""        torch.manual_seed(generator.initial_seed())
        out[name] = mask.reshape(-1)[torch.randperm(mask.numel())].reshape(mask.shape)"""),
    ),
    "wrong: ignores the generator (a fixed seed of its own)": (
        False,
        shuffle_answer("""        own = torch.Generator().manual_seed(0)
        out[name] = mask.reshape(-1)[torch.randperm(mask.numel(), generator=own)].reshape(mask.shape)"""),
    ),
    "wrong: reseeds a generator of its own from the given one's seed": (
        False,
        """def my_shuffle_within_layers(masks, generator):
    own = torch.Generator().manual_seed(generator.initial_seed())
    return {n: m.reshape(-1)[torch.randperm(m.numel(), generator=own)].reshape(m.shape) for n, m in masks.items()}
""",
    ),
    "wrong: returns the masks unchanged": (False, shuffle_answer("        out[name] = mask.clone()")),
    "wrong: shuffles the input in place": (
        False,
        shuffle_answer("""        flat = mask.view(-1)
        flat.copy_(flat[torch.randperm(flat.numel(), generator=generator)])
        out[name] = mask"""),
    ),
    "wrong: about as many kept (Bernoulli draws)": (
        False,
        shuffle_answer("        out[name] = torch.rand(mask.shape, generator=generator) < mask.float().mean()"),
    ),
    "valid: the first k positions of a randperm": (
        True,
        shuffle_answer("""        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[torch.randperm(mask.numel(), generator=generator)[: int(mask.sum())]] = True
        out[name] = keep.reshape(mask.shape)"""),
    ),
    "valid: argsort of random numbers from the generator": (
        True,
        shuffle_answer("""        order = torch.rand(mask.numel(), generator=generator).argsort()
        out[name] = mask.flatten()[order].view(mask.shape)"""),
    ),
    "valid: torch.multinomial without replacement": (
        True,
        shuffle_answer("""        k = int(mask.sum())
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        if k:
            keep[torch.multinomial(torch.ones(mask.numel()), k, replacement=False, generator=generator)] = True
        out[name] = keep.reshape(mask.shape)"""),
    ),
    "valid: Python's random.Random seeded from the generator": (
        True,
        """import random


def my_shuffle_within_layers(masks, generator):
    out = {}
    for name, mask in masks.items():
        rnd = random.Random(int(torch.randint(2**62, (1,), generator=generator)))
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[rnd.sample(range(mask.numel()), int(mask.sum()))] = True
        out[name] = keep.reshape(mask.shape)
    return out
""",
    ),
    "valid: a Fisher-Yates loop": (
        True,
        shuffle_answer("""        values = mask.flatten().tolist()
        for i in range(len(values) - 1, 0, -1):
            j = int(torch.randint(i + 1, (1,), generator=generator))
            values[i], values[j] = values[j], values[i]
        out[name] = torch.tensor(values, dtype=torch.bool).reshape(mask.shape)"""),
    ),
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_DG = """def my_drop_and_grow(weight, mask, grad, n):
    flat = mask.reshape(-1)
    active, inactive = flat.nonzero().flatten(), (~flat).nonzero().flatten()
    drop = {drop_pool}[torch.argsort({drop_key}, {drop_order}stable=True)[:n]]
    new = flat{copy}
    new[drop] = False
{pool}    grow = {grow_pool}[torch.argsort({grow_key}, {grow_order}stable=True)[:n]]
    new[grow] = True
    return new.reshape(mask.shape){cast}
"""


def dg_answer(
    drop_key: str = "weight.reshape(-1)[active].abs()",
    drop_order: str = "",
    drop_pool: str = "active",
    grow_key: str = "grad.reshape(-1)[inactive].abs()",
    grow_order: str = "descending=True, ",
    grow_pool: str = "inactive",
    pool: str = "",
    copy: str = ".clone()",
    cast: str = "",
) -> str:
    """The source of a my_drop_and_grow with the given pieces (the defaults make it correct)."""
    return _DG.format(
        drop_key=drop_key,
        drop_order=drop_order,
        drop_pool=drop_pool,
        grow_key=grow_key,
        grow_order=grow_order,
        grow_pool=grow_pool,
        pool=pool,
        copy=copy,
        cast=cast,
    )


# A correct growth step, for the answers that drop another way.
_GROW = """    inactive = (~mask.reshape(-1)).nonzero().flatten()
    grow = inactive[torch.argsort(grad.reshape(-1)[inactive].abs(), descending=True)[:n]]
    new = new.reshape(-1)
    new[grow] = True
    return new.reshape(mask.shape)
"""

DROP_AND_GROW = {
    "wrong: grows among all entries (regrows active weights)": (
        False,
        dg_answer(grow_pool="torch.arange(flat.numel())", grow_key="grad.reshape(-1).abs()"),
    ),
    "wrong: grows among the entries inactive after the drop (RigL's reference code)": (
        False,
        dg_answer(
            pool="    inactive = (~new).nonzero().flatten()\n",
        ),
    ),
    "wrong: drops the active weights at or below a threshold (loses the count on ties)": (
        False,
        """def my_drop_and_grow(weight, mask, grad, n):
    mags = weight.abs().masked_fill(~mask, float("inf"))
    new = mask.clone()
    if n:
        new &= mags > mags.flatten().kthvalue(n).values
"""
        + _GROW,
    ),
    "wrong: grows the inactive entries at or above a threshold (loses the count on ties)": (
        False,
        """def my_drop_and_grow(weight, mask, grad, n):
    active = mask.reshape(-1).nonzero().flatten()
    new = mask.clone().reshape(-1)
    new[active[torch.argsort(weight.reshape(-1)[active].abs())[:n]]] = False
    if n:
        g = grad.abs().masked_fill(mask, -1.0)
        new |= (g >= g.flatten().topk(n).values[-1]).reshape(-1)
    return new.reshape(mask.shape)
""",
    ),
    "wrong: drops among all entries (the pruned zeros first)": (
        False,
        dg_answer(drop_pool="torch.arange(flat.numel())", drop_key="weight.reshape(-1).abs()"),
    ),
    "wrong: active means w != 0 (a weight just grown at 0 counts as inactive)": (
        False,
        """def my_drop_and_grow(weight, mask, grad, n):
    wm = (weight * mask).abs().reshape(-1)
    active = (wm != 0).nonzero().flatten()
    inactive = (wm == 0).nonzero().flatten()
    new = (wm != 0).clone()
    drop = active[torch.argsort(wm[active])[:n]]
    grow = inactive[torch.argsort(grad.reshape(-1)[inactive].abs(), descending=True)[:n]]
    new[drop] = False
    new[grow] = True
    return new.reshape(mask.shape)
""",
    ),
    "wrong: grows by |grad| * ~mask ranked over every entry": (
        False,
        """def my_drop_and_grow(weight, mask, grad, n):
    flat = mask.reshape(-1)
    active = flat.nonzero().flatten()
    new = flat.clone()
    new[active[torch.argsort(weight.reshape(-1)[active].abs(), stable=True)[:n]]] = False
    score = (grad.abs() * ~mask).reshape(-1)
    new[torch.argsort(score, descending=True, stable=True)[:n]] = True
    return new.reshape(mask.shape)
""",
    ),
    "wrong: drops by |grad|": (False, dg_answer(drop_key="grad.reshape(-1)[active].abs()")),
    "wrong: grows by |w|": (False, dg_answer(grow_key="weight.reshape(-1)[inactive].abs()")),
    "wrong: drops the largest |w|": (False, dg_answer(drop_order="descending=True, ")),
    "wrong: grows the smallest |grad|": (False, dg_answer(grow_order="")),
    "wrong: the signed gradient": (False, dg_answer(grow_key="grad.reshape(-1)[inactive]")),
    "wrong: the signed weight": (False, dg_answer(drop_key="weight.reshape(-1)[active]")),
    "wrong: changes the mask in place": (False, dg_answer(copy="")),
    "wrong: returns a float mask": (False, dg_answer(cast=".float()")),
    "valid: topk (ties any way)": (
        True,
        """def my_drop_and_grow(weight, mask, grad, n):
    w = weight.abs().masked_fill(~mask, float("inf")).flatten()
    g = grad.abs().masked_fill(mask, -1.0).flatten()
    new = mask.flatten().clone()
    new[torch.topk(w, n, largest=False).indices] = False
    new[torch.topk(g, n).indices] = True
    return new.view(mask.shape)
""",
    ),
    "valid: Python lists and sorted()": (
        True,
        """def my_drop_and_grow(weight, mask, grad, n):
    m, w, g = mask.flatten().tolist(), weight.flatten().tolist(), grad.flatten().tolist()
    active = [i for i in range(len(m)) if m[i]]
    inactive = [i for i in range(len(m)) if not m[i]]
    for i in sorted(active, key=lambda i: abs(w[i]))[:n]:
        m[i] = False
    for i in sorted(inactive, key=lambda i: -abs(g[i]))[:n]:
        m[i] = True
    return torch.tensor(m, dtype=torch.bool).reshape(mask.shape)
""",
    ),
    "valid: torch.where with infinities, an unstable sort, index_fill": (
        True,
        """def my_drop_and_grow(weight, mask, grad, n):
    inf = torch.full_like(weight, float("inf"))
    drop = torch.sort(torch.where(mask, weight.abs(), inf).flatten()).indices[:n]
    grow = torch.sort(torch.where(mask, -inf, grad.abs()).flatten(), descending=True).indices[:n]
    return mask.flatten().index_fill(0, drop, False).index_fill(0, grow, True).reshape(mask.shape)
""",
    ),
    "valid: the drop and the growth as two masks": (
        True,
        """def my_drop_and_grow(weight, mask, grad, n):
    w, g, m = weight.flatten().abs(), grad.flatten().abs(), mask.flatten()
    dropped = torch.zeros_like(m)
    dropped[m.nonzero().flatten()[w[m].argsort()[:n]]] = True
    grown = torch.zeros_like(m)
    grown[(~m).nonzero().flatten()[g[~m].argsort(descending=True)[:n]]] = True
    return ((m & ~dropped) | grown).reshape(mask.shape)
""",
    ),
}

ANSWERS = {"snip_scores": SNIP, "shuffle": SHUFFLE, "drop_and_grow": DROP_AND_GROW}

# What the check says to each wrong answer (a piece of its message): it is caught for the right reason.
CAUGHT_BY = {
    "wrong: the signed product g * w": "negative scores",
    "wrong: |w| alone (scores from the weights alone)": "these are |w|",
    "wrong: |g| alone": "wrong scores of fc1.weight (expected |dL/dw * w|",
    "wrong: the summed loss instead of the mean": "8 times too large",
    "wrong: softmax before the cross-entropy": "wrong scores of fc1.weight (expected |dL/dw * w|",
    "wrong: normalized by the sum of all scores (as the paper)": "leave the scores unnormalized",
    "wrong: biases scored too": "scores for ['fc1.bias', 'fc1.weight'",
    "wrong: module names ('fc1') instead of parameter names": "scores for ['fc1', 'fc2']",
    "wrong: loss.backward() leaves .grad populated": "changed its input (argument 1.fc1.weight.grad)",
    "wrong: model.zero_grad() before and after (an earlier step's .grad is lost)": (
        "changed its input (argument 1.fc1.weight.grad)"
    ),
    "wrong: .grad put back but not zeroed first (adds an earlier step's gradient)": (
        "a .grad from an earlier step: was it added in?"
    ),
    "wrong: switches the model to eval mode": "changed its input (argument 1.training)",
    "wrong: shuffles across layers (only the total count kept)": "keep exactly as many in every layer",
    "wrong: shuffles within each row (keeps every neuron's count)": "about 3/8 of the time",
    "wrong: permutes whole rows": "about 3/8 of the time",
    "wrong: permutes whole columns": "about 3/8 of the time",
    "wrong: permutes the rows, then within each row (row counts kept as a set)": "1 or 2 of them in row 0",
    "wrong: the global random state (randperm without generator)": "the global random state changed",
    "wrong: seeds the global random state from the generator": "the global random state changed",
    "wrong: ignores the generator (a fixed seed of its own)": "seeded with 0 and with 1 gave the same",
    "wrong: reseeds a generator of its own from the given one's seed": "two calls with ONE generator",
    "wrong: returns the masks unchanged": "came back unchanged",
    "wrong: shuffles the input in place": "changed its input (argument 1['fc1.weight'])",
    "wrong: about as many kept (Bernoulli draws)": "keep exactly as many in every layer",
    "wrong: grows among all entries (regrows active weights)": "the new mask keeps 2 weights, the mask kept 3",
    "wrong: grows among the entries inactive after the drop (RigL's reference code)": "dropped 0 active weights",
    "wrong: drops the active weights at or below a threshold (loses the count on ties)": (
        "(ties), n = 2: the new mask keeps 4 weights"
    ),
    "wrong: grows the inactive entries at or above a threshold (loses the count on ties)": (
        "(ties), n = 2: the new mask keeps 6 weights"
    ),
    "wrong: drops among all entries (the pruned zeros first)": "the new mask keeps 4 weights, the mask kept 3",
    "wrong: active means w != 0 (a weight just grown at 0 counts as inactive)": (
        "the new mask keeps 2 weights, the mask kept 3"
    ),
    "wrong: grows by |grad| * ~mask ranked over every entry": "dropped 1 active weights and grew 1 inactive ones",
    "wrong: drops by |grad|": "dropped a weight with |w| = 0.5",
    "wrong: grows by |w|": "grew a weight with |grad| = 0.3",
    "wrong: drops the largest |w|": "dropped a weight with |w| = 2",
    "wrong: grows the smallest |grad|": "grew a weight with |grad| = 0.3",
    "wrong: the signed gradient": "grew a weight with |grad| = 0.3",
    "wrong: the signed weight": "dropped a weight with |w| = 3",
    "wrong: changes the mask in place": "changed its input (argument 2)",
    "wrong: returns a float mask": "return a torch.bool mask",
}
ROUNDS = AnswerRounds(NOTEBOOK, CELLS, ANSWERS, CAUGHT_BY)


@pytest.mark.parametrize(("i", "exercise", "label"), ROUNDS.cases, ids=ROUNDS.ids)
def test_exercise07_answer(tmp_path_factory, i, exercise, label):
    ROUNDS.verdict(tmp_path_factory, i, exercise, label)


def test_every_exercise_has_wrong_and_valid_answers():
    ROUNDS.check_complete()
