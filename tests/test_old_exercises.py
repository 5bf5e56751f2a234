"""Exercises students generated before the library moved into subpackages are still graded.

tests/fixtures/old_exercises/ holds two exercises as generated at commit 5544338: their
locked setup cells import modules that are gone (``course_lib.lottery``,
``course_lib.schedules``, ``course_lib.study``, ``course_lib.error``). The grader runs the
read-only cells (setup and checks) from today's solutions/, so a correct old notebook gets
full marks; only a student's *own* cell with an old import path fails, and the report names
the module it could not import.
"""

from pathlib import Path

import nbformat
import pytest

from course_lib import grading

OLD = Path(__file__).resolve().parent / "fixtures" / "old_exercises"
SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
NAMES = ["01_magnitude_exercise.ipynb", "05_lottery_exercise.ipynb"]


def older(cell_id: str) -> str:
    """The grader's warning for a read-only cell that an older solution made differently."""
    return (
        f"read-only cell '{cell_id}' differs from the current solutions "
        "(exercise made from an older version); the current one was used"
    )


OLDER_SETUP = older("setup")


def only_older_version_warnings(warnings: list[str]) -> bool:
    """The setup cell is reported as older, and nothing but older read-only cells is reported
    (check cells reworded since, e.g. ``rates`` -> ``sparsities``, are older cells too)."""
    return OLDER_SETUP in warnings and all(
        w.endswith("(exercise made from an older version); the current one was used")
        and w.startswith("read-only cell '")
        for w in warnings
    )


def answered(name: str, out: Path, prefix: dict[str, str] | None = None) -> Path:
    """The old exercise ``name`` with each solution cell (``metadata.course.solution``) given the
    source of the cell with its id in solutions/ (``prefix[id]`` put before it), written to ``out``."""
    old = nbformat.read(OLD / name, as_version=4)
    reference = {c.id: c.source for c in nbformat.read(SOLUTIONS / name, as_version=4).cells}
    for cell in old.cells:
        if cell.metadata.get("course", {}).get("solution"):
            assert cell.id in reference, f"{name}: solution cell {cell.id!r} is not in solutions/{name}"
            cell.source = (prefix or {}).get(cell.id, "") + reference[cell.id]
    path = out / name
    nbformat.write(old, path)
    return path


def test_old_setup_cells_import_modules_that_moved():
    """The premise: the fixtures' setup cells differ from today's and use the old flat modules."""
    for name, module in [
        ("01_magnitude_exercise.ipynb", "course_lib.error"),
        ("05_lottery_exercise.ipynb", "course_lib.lottery"),
    ]:
        old = {c.id: c for c in nbformat.read(OLD / name, as_version=4).cells}
        now = {c.id: c for c in nbformat.read(SOLUTIONS / name, as_version=4).cells}
        assert f"from {module} import" in old["setup"].source
        assert old["setup"].source != now["setup"].source


def test_merge_runs_todays_setup_and_checks():
    old = nbformat.read(OLD / "05_lottery_exercise.ipynb", as_version=4)
    solution = nbformat.read(SOLUTIONS / "05_lottery_exercise.ipynb", as_version=4)
    merged, warnings = grading.merge(old, solution)
    reference = {c.id: c.source for c in solution.cells if grading.is_read_only(c)}
    assert {c.id: c.source for c in merged.cells if c.id in reference} == reference
    assert only_older_version_warnings(warnings), warnings


@pytest.mark.parametrize("name", NAMES)
def test_old_exercise_with_correct_answers_gets_full_marks(name, tmp_path):
    report = grading.grade(answered(name, tmp_path), SOLUTIONS)
    assert report.passed and report.score == report.total > 0, report.format()
    assert only_older_version_warnings(report.warnings) and report.notes == [], report.format()


@pytest.mark.parametrize("name", NAMES)
def test_untouched_old_exercise_fails_on_its_stubs(name):
    report = grading.grade(OLD / name, SOLUTIONS)
    assert report.checks and report.score == 0 and not report.passed
    assert {c.error for c in report.checks} == {"NotImplementedError"}, report.format()
    assert only_older_version_warnings(report.warnings), report.format()


def test_an_old_import_in_the_students_own_cell_fails_that_exercise_and_is_named(tmp_path):
    """What the grader cannot repair: the student's own code. The cell raises, its exercise
    fails (its function was never defined), the other exercises still pass, and a note
    names the module that is gone."""
    path = answered(
        "01_magnitude_exercise.ipynb",
        tmp_path,
        prefix={"solution-magnitude_mask": "from course_lib.masks import prunable_weights\n\n"},
    )
    report = grading.grade(path, SOLUTIONS)
    results = {name: (e["passed"], e["error"]) for name, e in report.exercises().items()}
    assert results == {
        "magnitude_mask": (False, "NameError"),
        "removal_errors": (True, None),
        "global_masks": (True, None),
    }
    assert report.notes == [
        "cell 3 ('solution-magnitude_mask') raised ModuleNotFoundError: No module named 'course_lib.masks'"
    ]
