"""Plausible wrong answers to the exercises must fail and valid alternatives must pass, graded
by the real grader (a student's solution cell replaced in a copy of the solution notebook)."""

from pathlib import Path

import pytest
from exercise_notebooks import grade_answers


def grade_answer(tmp_path: Path, notebook: str, cell_id: str, source: str) -> dict[str, dict]:
    """Per exercise (passed, points, message) of ``notebook`` with cell ``cell_id`` replaced."""
    return grade_answers(tmp_path, notebook, {cell_id: source})


RANDOM_MASKS = {
    "wrong: shuffles within each row (keeps every neuron's count)": (
        False,
        """def my_random_masks(masks, seed):
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, mask in masks.items():
        rows = [row[torch.randperm(row.numel(), generator=gen)] for row in mask.reshape(mask.shape[0], -1)]
        out[name] = torch.stack(rows).reshape(mask.shape)
    return out
""",
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
    "wrong: about as many kept (Bernoulli draws)": (
        False,
        """def my_random_masks(masks, seed):
    gen = torch.Generator().manual_seed(seed)
    return {n: torch.rand(m.shape, generator=gen) < m.float().mean() for n, m in masks.items()}
""",
    ),
    "valid: random scores, keep the top k": (
        True,
        """def my_random_masks(masks, seed):
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, mask in masks.items():
        scores = torch.rand(mask.numel(), generator=gen)
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[scores.argsort(descending=True)[: int(mask.sum())]] = True
        out[name] = keep.view(mask.shape)
    return out
""",
    ),
}


@pytest.mark.parametrize("label", list(RANDOM_MASKS))
def test_random_masks_answers(tmp_path, label):
    should_pass, source = RANDOM_MASKS[label]
    result = grade_answer(tmp_path, "05_lottery_exercise.ipynb", "solution-random_masks", source)
    assert result["random_masks"]["passed"] is should_pass, result["random_masks"]
    others = {name: r["passed"] for name, r in result.items() if name != "random_masks"}
    assert all(others.values()), others  # the other exercises are untouched
