"""What one submission can do to a grading run: it fails alone, with a clear reason (issue 11).

A cell that ignores the interrupt, a kernel that dies, a file past the size limit, memory past
the limit, a notebook past its time limit, writing to the home directory, reading the grader's
environment: each on the two-exercise fixture of conftest.py."""

import os
from pathlib import Path

import nbformat
import pytest
from exercise_notebooks import NAME, edit, results
from nbformat.v4 import new_code_cell

from course_lib import grading
from course_lib.grading.session import Limits

CORRECT_ADD = "def add(a, b):\n    return a + b"
CORRECT_DOUBLE = "def double(x):\n    return 2 * x"


def test_a_cell_that_ignores_the_interrupt_restarts_the_kernel_and_grading_goes_on(exercise_dirs):
    sol, ex = exercise_dirs
    stubborn = (
        "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass\n"
        "def add(a, b):\n    return a + b"
    )
    report = grading.grade(edit(ex / NAME, solution_add=stubborn, solution_double=CORRECT_DOUBLE), sol, timeout=3)
    assert results(report) == {"add": (False, "Timeout", 0), "double": (True, None, 3)}
    assert "ignored the interrupt" in report.exercises()["add"]["message"]
    assert any("kernel was restarted" in n for n in report.notes), report.notes


def test_after_a_restart_the_cells_that_had_run_run_again(exercise_dirs):
    sol, ex = exercise_dirs
    path = edit(ex / NAME, solution_add=CORRECT_ADD, solution_double="def double(x):\n    return _twice(x)")
    nb = nbformat.read(path, as_version=4)
    stubborn = (
        "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass"
    )
    after_setup = [c.get("id") for c in nb.cells].index("setup") + 1
    nb.cells[after_setup:after_setup] = [new_code_cell("def _twice(x):\n    return x + x"), new_code_cell(stubborn)]
    nbformat.write(nb, path)
    report = grading.grade(path, sol, timeout=3)
    assert results(report)["add"][:2] == (False, "Timeout")  # the exercise after the cell that hung
    assert results(report)["double"] == (True, None, 3)  # _twice, defined before the restart, is back
    assert any("cells of yours that had run before it were run again" in n for n in report.notes), report.notes


def test_the_notebook_limit_holds_inside_a_check(exercise_dirs):
    sol, ex = exercise_dirs
    slow = "import time\ndef add(a, b):\n    time.sleep(2)\n    return a + b"
    report = grading.grade(
        edit(ex / NAME, solution_add=slow, solution_double=CORRECT_DOUBLE), sol, limits=Limits(notebook_seconds=3)
    )
    assert results(report)["add"][:2] == (False, "NotRun") and results(report)["double"][:2] == (False, "NotRun")
    assert "time limit" in report.exercises()["add"]["message"]


def test_a_kernel_killed_by_the_students_function_names_the_check_and_stops(exercise_dirs):
    sol, ex = exercise_dirs
    dies = "def add(a, b):\n    import os\n    os._exit(3)"
    report = grading.grade(edit(ex / NAME, solution_add=dies, solution_double=CORRECT_DOUBLE), sol)
    assert results(report) == {"add": (False, "DeadKernel", 0), "double": (False, "NotRun", 0)}
    assert "the kernel died in the check of 'add'" in report.exercises()["double"]["message"]


@pytest.mark.parametrize(
    ("hog", "limits", "error"),
    [
        ("open('big.bin', 'wb').write(b'x' * 3 * 2**20)", Limits(file_mb=1), "File too large"),
        ("hog = bytearray(3 * 2**30)", Limits(memory_mb=2048), "MemoryError"),
    ],
    ids=["a file past the size limit", "memory past the limit"],
)
def test_a_resource_limit_fails_that_cell_only(exercise_dirs, hog, limits, error):
    sol, ex = exercise_dirs
    source = "def add(a, b):\n    return a + b\n" + hog
    report = grading.grade(edit(ex / NAME, solution_add=source, solution_double=CORRECT_DOUBLE), sol, limits=limits)
    assert results(report) == {"add": (True, None, 2), "double": (True, None, 3)}
    assert any(error in n for n in report.notes), report.notes


def test_a_notebook_past_its_time_limit_fails_the_checks_not_reached(exercise_dirs):
    sol, ex = exercise_dirs
    slow = "import time\ntime.sleep(4)\ndef add(a, b):\n    return a + b"
    report = grading.grade(
        edit(ex / NAME, solution_add=slow, solution_double=CORRECT_DOUBLE), sol, limits=Limits(notebook_seconds=2)
    )
    assert results(report) == {"add": (False, "NotRun", 0), "double": (False, "NotRun", 0)}
    assert "ran past its limit of 2 s" in report.exercises()["add"]["message"]


def test_the_kernel_gets_a_scratch_home_and_none_of_the_graders_secrets(exercise_dirs, monkeypatch):
    sol, ex = exercise_dirs
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cret")
    marker = f"course-grader-test-{os.getpid()}.txt"
    snoop = (
        "import os\nfrom pathlib import Path\n"
        f"Path.home().joinpath({marker!r}).write_text('was here')\n"
        "assert 'GRADER_SECRET_TOKEN' not in os.environ, 'the secret leaked'\n"
        "def add(a, b):\n    return a + b"
    )
    report = grading.grade(edit(ex / NAME, solution_add=snoop, solution_double=CORRECT_DOUBLE), sol)
    assert report.passed and report.notes == [], report.notes
    assert not (Path.home() / marker).exists()
