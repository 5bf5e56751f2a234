"""The real exercises/: in sync with solutions/, every stub fails on NotImplementedError,
and the grader passes a real solution. (The grader's own behaviour is tested on fixtures
in test_grade.py.)"""

from pathlib import Path

import nbformat
import pytest
from exercise_notebooks import load_tool

from course_lib import grading

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
NAMES = [p.name for p in sorted(SOLUTIONS.glob("*.ipynb"))]


def test_the_course_has_exercises():
    assert NAMES, f"no exercise notebooks in {SOLUTIONS}"


def test_the_grader_finds_these_solutions_by_default():
    """``python -m course_lib.grade NOTEBOOK`` without --solutions grades against this solutions/."""
    assert grading.DEFAULT_SOLUTIONS == SOLUTIONS


def test_exercises_are_in_sync_with_solutions():
    problems = load_tool().check(SOLUTIONS, EXERCISES)
    assert problems == [], "\n".join(problems + ["run `make exercises`"])


@pytest.mark.parametrize("name", NAMES)
def test_untouched_exercise_fails_on_its_stubs(name):
    """Executed with nbclient (through the grader): every check fails, on NotImplementedError."""
    report = grading.grade(EXERCISES / name, SOLUTIONS)
    assert report.checks, f"{name} has no check cells"
    assert report.warnings == []
    stub_raised = any("NotImplementedError" in n for n in report.notes)
    for c in report.checks:
        # a check after a top-level stub (x = ... in a solution block) sees a NameError
        allowed = {"NotImplementedError"} | ({"NameError"} if stub_raised else set())
        assert c.error in allowed, f"check cell {c.cell_id!r} of {name}: {c.error}: {c.message}"
    other = [n for n in report.notes if "NotImplementedError" not in n]
    assert other == [], f"non-check cells of {name} raised: {other}"


def test_grader_passes_a_real_solution():
    if not NAMES:
        pytest.skip("no exercise notebooks yet")
    smallest = min(NAMES, key=lambda n: (SOLUTIONS / n).stat().st_size)
    report = grading.grade(SOLUTIONS / smallest, SOLUTIONS)
    assert report.passed, report.format()


@pytest.mark.parametrize("name", NAMES)
def test_solutions_are_not_flagged_as_tampering(name):
    """The grader's tamper flag has no false alarm on the reference solutions."""
    nb = nbformat.read(SOLUTIONS / name, as_version=4)
    flagged = [
        (c.id, grading.suspicious(c.source))
        for c in nb.cells
        if c.cell_type == "code" and not grading.is_read_only(c) and grading.suspicious(c.source)
    ]
    assert flagged == []
