"""Exercise 03 (an n:m mask, is a matrix n:m sparse?): plausible wrong answers must fail and valid
alternatives must pass, graded by the real grader (solution cells replaced in a copy of the solution
notebook).
Graded in rounds: see ``AnswerRounds``."""

import pytest
from exercise_notebooks import AnswerRounds

NOTEBOOK = "03_nm_exercise.ipynb"
CELLS = {"nm_mask": "solution-nm_mask", "is_nm_sparse": "solution-is_nm_sparse"}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_NM = """def my_nm_mask(weight, n, m):
    rows, cols = weight.shape
    groups = {scores}.reshape(rows, cols // m, m)
    top = groups.topk({keep}, dim=2{largest}).indices
    keep = torch.zeros_like(groups, dtype=torch.bool).scatter_(2, top, True)
    return keep.reshape(rows, cols){cast}
"""


def nm_answer(scores: str = "weight.abs()", keep: str = "n", largest: str = "", cast: str = "") -> str:
    """The source of a my_nm_mask with the given pieces (the defaults make it correct)."""
    return _NM.format(scores=scores, keep=keep, largest=largest, cast=cast)


NM_MASK = {
    "wrong: the signed value (keeps the most positive)": (False, nm_answer(scores="weight")),
    "wrong: keeps the n smallest |w|": (False, nm_answer(largest=", largest=False")),
    "wrong: prunes n in each group (keeps m - n)": (False, nm_answer(keep="m - n")),
    "wrong: groups run down the columns": (
        False,
        """def my_nm_mask(weight, n, m):
    rows, cols = weight.shape
    groups = weight.abs().T.reshape(-1, m)   # m consecutive entries of a column
    top = groups.topk(n, dim=1).indices
    keep = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, top, True)
    return keep.reshape(cols, rows).T
""",
    ),
    "wrong: strided groups (every m-th entry of a row)": (
        False,
        """def my_nm_mask(weight, n, m):
    rows, cols = weight.shape
    groups = weight.abs().reshape(rows, m, cols // m)   # entries j, j + cols/m, ...
    top = groups.topk(n, dim=1).indices
    keep = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, top, True)
    return keep.reshape(rows, cols)
""",
    ),
    "wrong: keeps n/m of each row (not of each group)": (
        False,
        """def my_nm_mask(weight, n, m):
    rows, cols = weight.shape
    top = weight.abs().topk(cols * n // m, dim=1).indices
    return torch.zeros_like(weight, dtype=torch.bool).scatter_(1, top, True)
""",
    ),
    "wrong: an integer mask of 0s and 1s": (False, nm_answer(cast=".int()")),
    "valid: loops over rows and groups": (
        True,
        """def my_nm_mask(weight, n, m):
    mask = torch.zeros(weight.shape, dtype=torch.bool)
    for i in range(weight.shape[0]):
        for start in range(0, weight.shape[1], m):
            group = weight[i, start : start + m].abs()
            for j in group.argsort(descending=True)[:n]:
                mask[i, start + int(j)] = True
    return mask
""",
    ),
    "valid: the n-th largest of each group as a threshold": (
        True,
        """def my_nm_mask(weight, n, m):
    groups = weight.abs().unflatten(1, (-1, m))
    nth = groups.sort(dim=-1, descending=True).values[..., n - 1 : n]
    return (groups >= nth).flatten(1)
""",
    ),
    "valid: ranks by a double argsort": (
        True,
        """def my_nm_mask(weight, n, m):
    groups = weight.abs().view(weight.shape[0], -1, m)
    rank = (-groups).argsort(dim=-1).argsort(dim=-1)   # 0 for the largest |w| of each group
    return (rank < n).view(weight.shape)
""",
    ),
}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_IS_NM = """def my_is_nm_sparse(weight, n, m):
    rows, cols = weight.shape
    nonzeros = {nonzero}.reshape(rows, cols // m, m).sum(dim=2)
    return {result}
"""


def is_nm_answer(nonzero: str = "(weight != 0)", result: str = "bool((nonzeros <= n).all())") -> str:
    """The source of a my_is_nm_sparse with the given pieces (the defaults make it correct)."""
    return _IS_NM.format(nonzero=nonzero, result=result)


IS_NM_SPARSE = {
    "wrong: exactly n non-zeros per group": (False, is_nm_answer(result="bool((nonzeros == n).all())")),
    "wrong: fewer than n (strictly)": (False, is_nm_answer(result="bool((nonzeros < n).all())")),
    "wrong: some group, not every group": (False, is_nm_answer(result="bool((nonzeros <= n).any())")),
    "wrong: counts only positive entries": (False, is_nm_answer(nonzero="(weight > 0)")),
    "wrong: counts groups down the columns": (
        False,
        """def my_is_nm_sparse(weight, n, m):
    nonzeros = (weight.T != 0).reshape(-1, m).sum(dim=1)
    return bool((nonzeros <= n).all())
""",
    ),
    "wrong: at most n/m of each row (not of each group)": (
        False,
        """def my_is_nm_sparse(weight, n, m):
    return bool(((weight != 0).sum(dim=1) <= weight.shape[1] * n // m).all())
""",
    ),
    "wrong: returns a bool tensor": (False, is_nm_answer(result="(nonzeros <= n).all()")),
    "wrong: returns a numpy bool": (False, is_nm_answer(result="(nonzeros <= n).numpy().all()")),
    "valid: Python loops and all()": (
        True,
        """def my_is_nm_sparse(weight, n, m):
    for row in weight.tolist():
        for start in range(0, len(row), m):
            if sum(1 for v in row[start : start + m] if v != 0) > n:
                return False
    return True
""",
    ),
    "valid: unfold, count_nonzero, .item()": (
        True,
        """def my_is_nm_sparse(weight, n, m):
    counts = torch.count_nonzero(weight.unfold(1, m, m), dim=-1)
    return counts.max().item() <= n
""",
    ),
}

ANSWERS = {"nm_mask": NM_MASK, "is_nm_sparse": IS_NM_SPARSE}

# What the check says to each wrong answer (a piece of its message): it is caught for the right reason.
CAUGHT_BY = {
    "wrong: the signed value (keeps the most positive)": "keep -5, 3 and 2.5, -9",
    "wrong: keeps the n smallest |w|": "keep -5, 3 and 2.5, -9",
    "wrong: prunes n in each group (keeps m - n)": "must keep exactly 1",
    "wrong: groups run down the columns": "must keep exactly 2",
    "wrong: strided groups (every m-th entry of a row)": "must keep exactly 2",
    "wrong: keeps n/m of each row (not of each group)": "must keep exactly 2",
    "wrong: an integer mask of 0s and 1s": "return a torch.bool mask",
    "wrong: exactly n non-zeros per group": "(some fewer: allowed), so it is 2:4 sparse",
    "wrong: fewer than n (strictly)": "every group of 4 has at most 2 non-zeros (some fewer: allowed)",
    "wrong: some group, not every group": "has 2 non-zeros, more than 1",
    "wrong: counts only positive entries": "non-zeros",
    "wrong: counts groups down the columns": "every group of 4 has at most 2 non-zeros (some fewer: allowed)",
    "wrong: at most n/m of each row (not of each group)": "[1, 1] has 2 non-zeros, more than 1",
    "wrong: returns a bool tensor": "return a Python bool (True or False), got tensor(True)",
    "wrong: returns a numpy bool": "return a Python bool (True or False), got <numpy.bool",
}
ROUNDS = AnswerRounds(NOTEBOOK, CELLS, ANSWERS, CAUGHT_BY)


@pytest.mark.parametrize(("i", "exercise", "label"), ROUNDS.cases, ids=ROUNDS.ids)
def test_exercise03_answer(tmp_path_factory, i, exercise, label):
    ROUNDS.verdict(tmp_path_factory, i, exercise, label)


def test_every_exercise_has_wrong_and_valid_answers():
    ROUNDS.check_complete()
