"""Exercise 01 (a magnitude mask, removal errors, global masks): plausible wrong answers must fail and
valid alternatives must pass, graded by the real grader (solution cells replaced in a copy of the
solution notebook).
Graded in rounds: see ``AnswerRounds``."""

import pytest
from exercise_notebooks import AnswerRounds

NOTEBOOK = "01_magnitude_exercise.ipynb"
CELLS = {
    "magnitude_mask": "solution-magnitude_mask",
    "removal_errors": "solution-removal_errors",
    "global_masks": "solution-global_masks",
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_MASK = """def my_magnitude_mask(weight, sparsity):
    k = {count}
    order = {scores}.flatten().argsort({order})
    keep = torch.ones(weight.numel(), dtype=torch.bool)
    keep[order[:k]] = False
    return keep{shape}
"""


def mask_answer(
    count: str = "round(sparsity * weight.numel())",
    scores: str = "weight.abs()",
    order: str = "",
    shape: str = ".reshape(weight.shape)",
) -> str:
    """The source of a my_magnitude_mask with the given pieces (the defaults make it correct)."""
    return _MASK.format(count=count, scores=scores, order=order, shape=shape)


MAGNITUDE_MASK = {
    "wrong: prunes the largest |w|": (False, mask_answer(order="descending=True")),
    "wrong: the signed value (prunes the most negative)": (False, mask_answer(scores="weight")),
    "wrong: sparsity read as density (keeps round(s * n))": (
        False,
        mask_answer(count="weight.numel() - round(sparsity * weight.numel())"),
    ),
    "wrong: floor instead of round": (False, mask_answer(count="int(sparsity * weight.numel())")),
    "wrong: a float mask": (False, mask_answer(shape=".reshape(weight.shape).float()")),
    "wrong: prunes round(s * cols) in every row": (
        False,
        """def my_magnitude_mask(weight, sparsity):
    rows = weight.reshape(-1, weight.shape[-1])
    k = round(sparsity * rows.shape[1])
    keep = torch.ones_like(rows, dtype=torch.bool)
    keep.scatter_(1, rows.abs().argsort(dim=1)[:, :k], False)
    return keep.reshape(weight.shape)
""",
    ),
    "wrong: a quantile threshold (interpolates, the count drifts)": (
        False,
        """def my_magnitude_mask(weight, sparsity):
    scores = weight.abs()
    return scores >= torch.quantile(scores.flatten(), sparsity)
""",
    ),
    "wrong: zeroes the pruned weights in place": (
        False,
        """def my_magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())
    keep = torch.ones(weight.numel(), dtype=torch.bool)
    keep[weight.abs().flatten().argsort()[:k]] = False
    weight.mul_(keep.reshape(weight.shape))   # prune the weights too
    return keep.reshape(weight.shape)
""",
    ),
    "valid: topk of the negated scores, scatter": (
        True,
        """def my_magnitude_mask(weight, sparsity):
    flat = weight.detach().abs().flatten()
    k = round(sparsity * flat.numel())
    pruned = torch.topk(flat, k, largest=False).indices
    return torch.ones_like(flat, dtype=torch.bool).scatter(0, pruned, False).view_as(weight)
""",
    ),
    "valid: a kthvalue threshold": (
        True,
        """def my_magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())
    if k == 0:
        return torch.ones(weight.shape, dtype=torch.bool)
    return weight.abs() > weight.abs().flatten().kthvalue(k).values
""",
    ),
    "valid: Python's sorted on a list": (
        True,
        """def my_magnitude_mask(weight, sparsity):
    values = weight.flatten().tolist()
    k = round(sparsity * len(values))
    smallest = sorted(range(len(values)), key=lambda i: abs(values[i]))[:k]
    keep = [True] * len(values)
    for i in smallest:
        keep[i] = False
    return torch.tensor(keep).reshape(weight.shape)
""",
    ),
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_ERRORS = """def my_removal_errors(w, x):
    y = {act}(x @ w)
    errors = torch.empty(len(w))
    for i in range(len(w)):
        pruned = w.clone()
        pruned[i] = 0.0
        diff = {act}(x @ pruned) - y
        errors[i] = {error}
    return errors{cast}
"""


def errors_answer(act: str = "torch.relu", error: str = "diff.norm() / y.norm()", cast: str = "") -> str:
    """The source of a my_removal_errors with the given pieces (the defaults make it correct)."""
    return _ERRORS.format(act=act, error=error, cast=cast)


REMOVAL_ERRORS = {
    "wrong: the absolute error (not divided by the output's norm)": (False, errors_answer(error="diff.norm()")),
    "wrong: no ReLU (a linear neuron)": (False, errors_answer(act="")),
    "wrong: divided by the pruned output's norm": (
        False,
        errors_answer(error="diff.norm() / torch.relu(x @ pruned).norm()"),
    ),
    "wrong: squared norms": (False, errors_answer(error="diff.pow(2).sum() / y.pow(2).sum()")),
    "wrong: mean absolute errors (L1, not Euclidean)": (
        False,
        errors_answer(error="diff.abs().mean() / y.abs().mean()"),
    ),
    "wrong: ReLU of the inputs, not of the output": (
        False,
        errors_answer(act="").replace("(x @", "(torch.relu(x) @"),
    ),
    "wrong: zeroes w[i] in place and never puts it back": (
        False,
        """def my_removal_errors(w, x):
    y = torch.relu(x @ w)
    errors = []
    for i in range(len(w)):
        w[i] = 0.0
        errors.append(float((torch.relu(x @ w) - y).norm() / y.norm()))
    return torch.tensor(errors)
""",
    ),
    "wrong: a list of floats": (False, errors_answer(cast=".tolist()")),
    "valid: all pruned copies at once, in float64": (
        True,
        """def my_removal_errors(w, x):
    w, x = w.double(), x.double()
    pruned = w * (1 - torch.eye(len(w), dtype=torch.float64))   # row i: w with entry i zeroed
    y = torch.relu(x @ w)
    return torch.linalg.vector_norm(torch.relu(x @ pruned.T) - y[:, None], dim=0) / torch.linalg.vector_norm(y)
""",
    ),
    "valid: w[i] zeroed in place and put back, a tensor built from a list": (
        True,
        """def my_removal_errors(w, x):
    y = torch.clamp(x @ w, min=0)
    errors = []
    for i in range(len(w)):
        saved = w[i].item()
        w[i] = 0.0
        errors.append(((torch.clamp(x @ w, min=0) - y) ** 2).sum().sqrt() / (y**2).sum().sqrt())
        w[i] = saved
    return torch.stack(errors)
""",
    ),
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_GLOBAL = """def my_global_masks(weights, sparsity):
    names = list(weights)
    flat = torch.cat([weights[n].flatten() for n in names])
    k = {count}
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    keep[{scores}.argsort()[:k]] = False
    pieces = keep.split([weights[n].numel() for n in names])
    return {{n: piece{shape} for n, piece in zip(names, pieces)}}
"""


def global_answer(
    count: str = "round(sparsity * flat.numel())", scores: str = "flat.abs()", shape: str = ".reshape(weights[n].shape)"
) -> str:
    """The source of a my_global_masks with the given pieces (the defaults make it correct)."""
    return _GLOBAL.format(count=count, scores=scores, shape=shape)


GLOBAL_MASKS = {
    "wrong: one threshold per layer": (
        False,
        """def my_global_masks(weights, sparsity):
    out = {}
    for name, w in weights.items():
        keep = torch.ones(w.numel(), dtype=torch.bool)
        keep[w.abs().flatten().argsort()[: round(sparsity * w.numel())]] = False
        out[name] = keep.reshape(w.shape)
    return out
""",
    ),
    "wrong: the signed value across layers": (False, global_answer(scores="flat")),
    "wrong: floor of sparsity * total": (False, global_answer(count="int(sparsity * flat.numel())")),
    "wrong: flat masks (not reshaped)": (False, global_answer(shape="")),
    "wrong: a kthvalue threshold kept with >= (prunes one too few)": (
        False,
        """def my_global_masks(weights, sparsity):
    flat = torch.cat([w.abs().flatten() for w in weights.values()])
    k = round(sparsity * flat.numel())
    if k == 0:
        return {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    threshold = flat.kthvalue(k).values
    return {n: w.abs() >= threshold for n, w in weights.items()}
""",
    ),
    "wrong: flattens the weights in the given dict": (
        False,
        """def my_global_masks(weights, sparsity):
    shapes = {n: w.shape for n, w in weights.items()}
    for n in weights:
        weights[n] = weights[n].flatten()
    flat = torch.cat(list(weights.values()))
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    keep[flat.abs().argsort()[: round(sparsity * flat.numel())]] = False
    pieces = keep.split([w.numel() for w in weights.values()])
    return {n: p.reshape(shapes[n]) for n, p in zip(weights, pieces)}
""",
    ),
    "valid: a sorted threshold, names in sorted order": (
        True,
        """def my_global_masks(weights, sparsity):
    flat = torch.cat([weights[n].abs().flatten() for n in sorted(weights)])
    k = round(sparsity * flat.numel())
    if k == 0:
        return {n: torch.ones(weights[n].shape, dtype=torch.bool) for n in sorted(weights)}
    threshold = flat.sort().values[k - 1]
    return {n: weights[n].abs() > threshold for n in sorted(weights)}
""",
    ),
    "valid: topk over the concatenation, offsets by hand": (
        True,
        """def my_global_masks(weights, sparsity):
    flat = torch.cat([w.reshape(-1) for w in weights.values()]).abs()
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    keep[flat.topk(round(sparsity * flat.numel()), largest=False).indices] = False
    out, start = {}, 0
    for name, w in weights.items():
        out[name] = keep[start : start + w.numel()].view(w.shape)
        start += w.numel()
    return out
""",
    ),
}

ANSWERS = {"magnitude_mask": MAGNITUDE_MASK, "removal_errors": REMOVAL_ERRORS, "global_masks": GLOBAL_MASKS}

# What the check says to each wrong answer (a piece of its message): it is caught for the right reason.
CAUGHT_BY = {
    "wrong: prunes the largest |w|": "should prune only 0.1",
    "wrong: the signed value (prunes the most negative)": "should prune only 0.1",
    "wrong: sparsity read as density (keeps round(s * n))": "should prune only 0.1",
    "wrong: floor instead of round": "expected round(0.3 * 5) = 2",
    "wrong: a float mask": "sparsity 0.3333333333333333: return a torch.bool tensor, got torch.float32",
    "wrong: prunes round(s * cols) in every row": "expected round(0.3 * 24) = 7",
    "wrong: a quantile threshold (interpolates, the count drifts)": "pruned 3 entries, expected round(0.71 * 5) = 4",
    "wrong: zeroes the pruned weights in place": "changed its input (argument 1)",
    "wrong: the absolute error (not divided by the output's norm)": "relative?",
    "wrong: no ReLU (a linear neuron)": "ReLU?",
    "wrong: divided by the pruned output's norm": "relative?",
    "wrong: squared norms": "Euclidean norm?",
    "wrong: mean absolute errors (L1, not Euclidean)": "Euclidean norm?",
    "wrong: ReLU of the inputs, not of the output": "ReLU?",
    "wrong: zeroes w[i] in place and never puts it back": "changed its input (argument 1)",
    "wrong: a list of floats": "return a 1-D float tensor of 3 errors",
    "wrong: one threshold per layer": "one threshold for all layers together",
    "wrong: the signed value across layers": "one threshold for all layers together",
    "wrong: floor of sparsity * total": "sparsity 0.25: pruned 11 entries in all, expected round(0.25 * 47) = 12",
    "wrong: flat masks (not reshaped)": "must be a bool tensor of shape (4, 5)",
    "wrong: a kthvalue threshold kept with >= (prunes one too few)": "pruned 11 entries in all, expected",
    "wrong: flattens the weights in the given dict": "changed its input (argument 1['fc1.weight'])",
}
ROUNDS = AnswerRounds(NOTEBOOK, CELLS, ANSWERS, CAUGHT_BY)


@pytest.mark.parametrize(("i", "exercise", "label"), ROUNDS.cases, ids=ROUNDS.ids)
def test_exercise01_answer(tmp_path_factory, i, exercise, label):
    ROUNDS.verdict(tmp_path_factory, i, exercise, label)


def test_every_exercise_has_wrong_and_valid_answers():
    ROUNDS.check_complete()
