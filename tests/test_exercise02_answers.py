"""Exercise 02 (a row-norm mask, cutting pruned neurons out): plausible wrong answers must fail and
valid alternatives must pass, graded by the real grader (solution cells replaced in a copy of the
solution notebook).
Graded in rounds: see ``AnswerRounds``."""

import pytest
from exercise_notebooks import AnswerRounds

NOTEBOOK = "02_structured_exercise.ipynb"
CELLS = {"row_norm_mask": "solution-row_norm_mask", "remove_neurons": "solution-remove_neurons"}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_ROWS = """def my_row_norm_mask(weight, sparsity, p={default}):
    k = {count}
    scores = {scores}
    keep_rows = torch.ones(weight.shape[0], dtype=torch.bool)
    keep_rows[scores.argsort({order})[:k]] = False
    return {mask}
"""


def rows_answer(
    default: str = "2",
    count: str = "round(sparsity * weight.shape[0])",
    scores: str = "weight.abs().pow(p).sum(dim=1)",
    order: str = "",
    mask: str = "keep_rows[:, None].expand(weight.shape).clone()",
) -> str:
    """The source of a my_row_norm_mask with the given pieces (the defaults make it correct)."""
    return _ROWS.format(default=default, count=count, scores=scores, order=order, mask=mask)


ROW_NORM_MASK = {
    "wrong: prunes columns (inputs) instead of rows": (
        False,
        """def my_row_norm_mask(weight, sparsity, p=2):
    k = round(sparsity * weight.shape[1])
    scores = weight.abs().pow(p).sum(dim=0)
    keep = torch.ones(weight.shape[1], dtype=torch.bool)
    keep[scores.argsort()[:k]] = False
    return keep[None, :].expand(weight.shape).clone()
""",
    ),
    "wrong: ignores p (always the L2 norm)": (False, rows_answer(scores="weight.pow(2).sum(dim=1)")),
    "wrong: the signed sum for p=1 (no absolute value)": (False, rows_answer(scores="weight.pow(p).sum(dim=1)")),
    "wrong: the default p=1": (False, rows_answer(default="1")),
    "wrong: prunes the rows with the largest norm": (False, rows_answer(order="descending=True")),
    "wrong: floor of sparsity * rows": (False, rows_answer(count="int(sparsity * weight.shape[0])")),
    "wrong: a mask of the rows (one bool per row)": (False, rows_answer(mask="keep_rows")),
    "wrong: prunes single entries by |w| (unstructured)": (
        False,
        """def my_row_norm_mask(weight, sparsity, p=2):
    k = round(sparsity * weight.numel())
    keep = torch.ones(weight.numel(), dtype=torch.bool)
    keep[weight.abs().flatten().argsort()[:k]] = False
    return keep.reshape(weight.shape)
""",
    ),
    "valid: torch.linalg.vector_norm, a boolean fill": (
        True,
        """def my_row_norm_mask(weight, sparsity, p=2):
    norms = torch.linalg.vector_norm(weight, ord=p, dim=1)
    pruned = norms.argsort()[: round(sparsity * len(norms))]
    mask = torch.ones_like(weight, dtype=torch.bool)
    mask[pruned] = False
    return mask
""",
    ),
    "valid: a loop over the rows, Python's sorted, the mean instead of the sum": (
        True,
        """def my_row_norm_mask(weight, sparsity, p=2):
    rows = weight.shape[0]
    scores = [float(row.abs().pow(p).mean()) for row in weight]   # the mean keeps the order of the sums
    order = sorted(range(rows), key=lambda i: scores[i])
    mask = torch.ones(weight.shape, dtype=torch.bool)
    for i in order[: round(sparsity * rows)]:
        mask[i, :] = False
    return mask
""",
    ),
    "valid: Tensor.norm and a repeat": (
        True,
        """def my_row_norm_mask(weight, sparsity, p=2):
    n_prune = round(sparsity * weight.size(0))
    threshold_order = weight.norm(p=p, dim=1).sort().indices
    keep = torch.ones(weight.size(0), dtype=torch.bool)
    keep[threshold_order[:n_prune]] = False
    return keep.unsqueeze(1).repeat(1, weight.size(1))
""",
    ),
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_REMOVE = """def my_remove_neurons(first, second, keep):
    with torch.no_grad():
        new_first = nn.Linear(first.in_features, int(keep.sum()))
        new_first.weight.copy_(first.weight[keep])
        new_first.bias.copy_(first.bias[keep])
        new_second = nn.Linear(int(keep.sum()), second.out_features)
        new_second.weight.copy_(second.weight[:, keep])
        new_second.bias.copy_({bias})
    return new_first, new_second
"""


def remove_answer(bias: str = "second.bias + second.weight[:, ~keep] @ torch.relu(first.bias[~keep])") -> str:
    """The source of a my_remove_neurons whose new second bias is ``bias`` (the default makes it correct)."""
    return _REMOVE.format(bias=bias)


REMOVE_NEURONS = {
    "wrong: slices only (the pruned neurons' ReLU(bias) is lost)": (False, remove_answer(bias="second.bias")),
    "wrong: folds the bias without the ReLU": (
        False,
        remove_answer(bias="second.bias + second.weight[:, ~keep] @ first.bias[~keep]"),
    ),
    "wrong: folds the ReLU(bias) of every neuron": (
        False,
        remove_answer(bias="second.bias + second.weight @ torch.relu(first.bias)"),
    ),
    "wrong: subtracts the ReLU(bias) term": (
        False,
        remove_answer(bias="second.bias - second.weight[:, ~keep] @ torch.relu(first.bias[~keep])"),
    ),
    "wrong: zeroes the pruned rows (same sizes, not smaller)": (
        False,
        """import copy


def my_remove_neurons(first, second, keep):
    new_first, new_second = copy.deepcopy(first), copy.deepcopy(second)
    with torch.no_grad():
        new_first.weight[~keep] = 0.0
    return new_first, new_second
""",
    ),
    "wrong: zeroes the pruned rows of first in place, then slices": (
        False,
        """def my_remove_neurons(first, second, keep):
    with torch.no_grad():
        first.weight[~keep] = 0.0   # prune first, then cut
        new_first = nn.Linear(first.in_features, int(keep.sum()))
        new_first.weight.copy_(first.weight[keep])
        new_first.bias.copy_(first.bias[keep])
        new_second = nn.Linear(int(keep.sum()), second.out_features)
        new_second.weight.copy_(second.weight[:, keep])
        new_second.bias.copy_(second.bias + second.weight[:, ~keep] @ torch.relu(first.bias[~keep]))
    return new_first, new_second
""",
    ),
    "wrong: a fresh second bias (not copied)": (
        False,
        """def my_remove_neurons(first, second, keep):
    kept = int(keep.sum())
    new_first, new_second = nn.Linear(first.in_features, kept), nn.Linear(kept, second.out_features)
    with torch.no_grad():
        new_first.weight.copy_(first.weight[keep])
        new_first.bias.copy_(first.bias[keep])
        new_second.weight.copy_(second.weight[:, keep])
    return new_first, new_second
""",
    ),
    "valid: new Parameters assigned, the bias folded in a loop": (
        True,
        """def my_remove_neurons(first, second, keep):
    kept = int(keep.sum())
    new_first, new_second = nn.Linear(first.in_features, kept), nn.Linear(kept, second.out_features)
    new_first.weight = nn.Parameter(first.weight.detach()[keep].clone())
    new_first.bias = nn.Parameter(first.bias.detach()[keep].clone())
    new_second.weight = nn.Parameter(second.weight.detach()[:, keep].clone())
    bias = second.bias.detach().clone()
    for i in range(len(keep)):
        if not keep[i]:
            bias += second.weight.detach()[:, i] * max(float(first.bias.detach()[i]), 0.0)
    new_second.bias = nn.Parameter(bias)
    return new_first, new_second
""",
    ),
    "valid: deep copies cut with index_select": (
        True,
        """import copy


def my_remove_neurons(first, second, keep):
    idx, gone = keep.nonzero().flatten(), (~keep).nonzero().flatten()
    new_first, new_second = copy.deepcopy(first), copy.deepcopy(second)
    with torch.no_grad():
        new_first.weight = nn.Parameter(first.weight.index_select(0, idx))
        new_first.bias = nn.Parameter(first.bias.index_select(0, idx))
        new_first.out_features = len(idx)
        new_second.weight = nn.Parameter(second.weight.index_select(1, idx))
        constant = F.relu(first.bias.index_select(0, gone))
        new_second.bias = nn.Parameter(second.bias + F.linear(constant, second.weight.index_select(1, gone)))
        new_second.in_features = len(idx)
    return new_first, new_second
""",
    ),
}

ANSWERS = {"row_norm_mask": ROW_NORM_MASK, "remove_neurons": REMOVE_NEURONS}

# What the check says to each wrong answer (a piece of its message): it is caught for the right reason.
CAUGHT_BY = {
    "wrong: prunes columns (inputs) instead of rows": "prune whole rows",
    "wrong: ignores p (always the L2 norm)": "p=1 should prune row 0",
    "wrong: the signed sum for p=1 (no absolute value)": "p=1 should prune row 0",
    "wrong: the default p=1": "without p (the default p=2) should prune row 1",
    "wrong: prunes the rows with the largest norm": "p=1 should prune row 0",
    "wrong: floor of sparsity * rows": "pruned 1 rows, expected round(0.3 * 6) = 2",
    "wrong: a mask of the rows (one bool per row)": "must be a torch.bool mask of shape (3, 4)",
    "wrong: prunes single entries by |w| (unstructured)": "prune whole rows, not single entries",
    "wrong: slices only (the pruned neurons' ReLU(bias) is lost)": "the pruned neurons' ReLU(bias)?",
    "wrong: folds the bias without the ReLU": "the pruned neurons' ReLU(bias)?",
    "wrong: folds the ReLU(bias) of every neuron": "the pruned neurons' ReLU(bias)?",
    "wrong: subtracts the ReLU(bias) term": "the pruned neurons' ReLU(bias)?",
    "wrong: zeroes the pruned rows (same sizes, not smaller)": "one row per kept neuron",
    "wrong: zeroes the pruned rows of first in place, then slices": "changed its input (argument 1.weight)",
    "wrong: a fresh second bias (not copied)": "outputs differ from the masked network",
}
ROUNDS = AnswerRounds(NOTEBOOK, CELLS, ANSWERS, CAUGHT_BY)


@pytest.mark.parametrize(("i", "exercise", "label"), ROUNDS.cases, ids=ROUNDS.ids)
def test_exercise02_answer(tmp_path_factory, i, exercise, label):
    ROUNDS.verdict(tmp_path_factory, i, exercise, label)


def test_every_exercise_has_wrong_and_valid_answers():
    ROUNDS.check_complete()
