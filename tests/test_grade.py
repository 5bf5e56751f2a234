"""course_lib.grading on small fixture notebooks (the ``exercise_dirs`` fixture of conftest.py,
made in tmp_path, so each run is a few seconds)."""

import json
import subprocess
import sys

import nbformat
import pytest
from exercise_notebooks import NAME, edit, results
from nbformat.v4 import new_code_cell, new_notebook

from course_lib import grading


def test_untouched_exercise_fails_every_exercise(exercise_dirs, capsys):
    sol, ex = exercise_dirs
    assert grading.main([str(ex / NAME), "--solutions", str(sol)]) == 1
    out = capsys.readouterr().out
    assert "FAIL NotImplementedError" in out and "score: 0/5" in out
    report = grading.grade(ex / NAME, sol)
    assert results(report) == {"add": (False, "NotImplementedError", 0), "double": (False, "NotImplementedError", 0)}
    assert report.warnings == []


def test_solution_passes(exercise_dirs, capsys):
    sol, _ = exercise_dirs
    assert grading.main([str(sol / NAME), "--solutions", str(sol)]) == 0
    out = capsys.readouterr().out
    assert "score: 5/5" in out and "FAIL" not in out and "warning" not in out


def test_correct_student_work_passes(exercise_dirs):
    sol, ex = exercise_dirs
    nb = edit(
        ex / NAME, solution_add="def add(a, b):\n    return b + a", solution_double="def double(x):\n    return x + x"
    )
    report = grading.grade(nb, sol)
    assert report.passed and report.score == 5 and report.warnings == []


def test_checks_replaced_by_assert_true_still_fail(exercise_dirs, capsys):
    sol, ex = exercise_dirs
    nb = edit(ex / NAME, check_add="assert True", check_double="assert True")
    assert grading.main([str(nb), "--solutions", str(sol)]) == 1
    out = capsys.readouterr().out
    assert "warning: read-only cell 'check-add' was edited" in out
    assert "warning: read-only cell 'check-double' was edited" in out
    assert "score: 0/5" in out


def test_deleted_check_cell_is_put_back_and_still_fails(exercise_dirs):
    sol, ex = exercise_dirs
    nb = edit(
        ex / NAME,
        check_add=None,
        solution_add="def add(a, b):\n    return a - b",
        solution_double="def double(x):\n    return 2 * x",
    )
    report = grading.grade(nb, sol)
    assert results(report) == {"add": (False, "AssertionError", 0), "double": (True, None, 3)}
    assert any("'check-add' was deleted" in w for w in report.warnings)
    merged, _ = grading.merge(nbformat.read(nb, as_version=4), nbformat.read(sol / NAME, as_version=4))
    ids = [c.id for c in merged.cells]
    assert ids.index("check-add") == ids.index("solution-add") + 1


def test_edited_locked_setup_cell_is_restored(exercise_dirs):
    sol, ex = exercise_dirs
    nb = edit(
        ex / NAME,
        setup="raise SystemExit",
        solution_add="def add(a, b):\n    return math.fsum([a, b])",
        solution_double="def double(x):\n    return 2 * x",
    )
    report = grading.grade(nb, sol)
    assert report.passed
    assert report.warnings == ["read-only cell 'setup' was edited; its original source was used"]


def test_error_in_an_earlier_cell_does_not_stop_later_checks(exercise_dirs, capsys):
    sol, ex = exercise_dirs
    nb = edit(
        ex / NAME,
        solution_add="1 / 0\ndef add(a, b):\n    return a + b",
        solution_double="def double(x):\n    return 2 * x",
    )
    assert grading.main([str(nb), "--solutions", str(sol)]) == 1
    out = capsys.readouterr().out
    assert "note: cell 3 ('solution-add') raised ZeroDivisionError" in out
    report = grading.grade(nb, sol)
    assert results(report) == {"add": (False, "NameError", 0), "double": (True, None, 3)}


def test_a_cell_past_the_timeout_fails_its_check_and_the_rest_still_run(exercise_dirs):
    sol, ex = exercise_dirs
    nb = edit(
        ex / NAME,
        solution_add="def add(a, b):\n    while True:\n        pass",
        solution_double="def double(x):\n    return 2 * x",
    )
    report = grading.grade(nb, sol, timeout=3)
    assert results(report) == {"add": (False, "Timeout", 0), "double": (True, None, 3)}


def test_a_student_cell_posing_as_a_check_counts_for_nothing(exercise_dirs):
    sol, ex = exercise_dirs
    nb = nbformat.read(ex / NAME, as_version=4)
    fake = new_code_cell("assert True", id="check-bonus", metadata={"course": {"check": "bonus", "points": 100}})
    nb.cells.append(fake)
    path = ex.parent / "student.ipynb"
    nbformat.write(nb, path)
    report = grading.grade(path, sol)
    assert set(report.exercises()) == {"add", "double"} and report.total == 5
    assert any("claims to be a check or locked cell" in w for w in report.warnings), report.warnings


def test_broken_json_exit_2_one_line(exercise_dirs, tmp_path, capsys):
    sol, ex = exercise_dirs
    broken = tmp_path / NAME
    broken.write_text((ex / NAME).read_text()[:200])
    assert grading.main([str(broken), "--solutions", str(sol)]) == 2
    cap = capsys.readouterr()
    lines = [ln for ln in (cap.out + cap.err).splitlines() if ln.strip()]
    assert len(lines) == 1 and "invalid JSON" in lines[0] and str(broken) in lines[0]
    # the command line too, with no traceback
    res = subprocess.run(
        [sys.executable, "-m", "course_lib.grade", str(broken), "--solutions", str(sol)], capture_output=True, text=True
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""


@pytest.mark.parametrize("kind", ["other-notebook", "same-name-no-match", "json-not-notebook", "missing"])
def test_not_an_exercise_of_this_course_exit_2(exercise_dirs, tmp_path, capsys, kind):
    sol, _ = exercise_dirs
    path = tmp_path / ("homework.ipynb" if kind == "other-notebook" else NAME)
    if kind in ("other-notebook", "same-name-no-match"):
        nbformat.write(new_notebook(cells=[new_code_cell("print('hello')")]), path)
    elif kind == "json-not-notebook":
        path.write_text(json.dumps({"hello": "world"}))
    assert grading.main([str(path), "--solutions", str(sol)]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and len(cap.err.strip().splitlines()) == 1
    assert cap.err.startswith("error: ") and str(path) in cap.err


def test_several_notebooks_exit_code_is_the_worst(exercise_dirs, tmp_path, capsys):
    sol, ex = exercise_dirs
    bad = tmp_path / "bad.ipynb"
    bad.write_text("nope")
    assert grading.main([str(sol / NAME), str(bad), "--solutions", str(sol)]) == 2
    out = capsys.readouterr().out
    assert "score: 5/5" in out and "1 of 2 notebooks pass" in out


def test_a_notebook_whose_cell_ids_were_dropped_is_still_graded(exercise_dirs):
    """Some editors save nbformat 4.4 without cell ids: read-only cells are then matched by
    the checksum the generator stored in their metadata (or by their unchanged source)."""
    sol, ex = exercise_dirs
    nb = json.loads((ex / NAME).read_text())
    nb["nbformat_minor"] = 4
    for c in nb["cells"]:
        c.pop("id")
        if c["metadata"].get("course", {}).get("check") == "add":
            c["source"] = "assert True"
        if c["metadata"].get("course", {}).get("solution") == "double":
            c["source"] = "def double(x):\n    return 2 * x"
    path = ex.parent / "no_ids.ipynb"
    path.write_text(json.dumps(nb))
    report = grading.grade(path, sol)
    assert results(report) == {"add": (False, "NotImplementedError", 0), "double": (True, None, 3)}
    assert report.warnings == ["read-only cell 'check-add' was edited; its original source was used"]


def test_code_that_can_tamper_with_the_checks_is_flagged(exercise_dirs):
    """Not a sandbox: an input transformer can blank the check cells. The grader names the cell."""
    sol, ex = exercise_dirs
    nb = edit(ex / NAME, solution_add="get_ipython().input_transformers_cleanup.append(lambda lines: [])")
    report = grading.grade(nb, sol)
    assert any("cell 3 ('solution-add') uses input_transformers" in w for w in report.warnings)


@pytest.mark.parametrize("timeout", ["0", "-1", "1.5", "soon"])
def test_timeout_must_be_at_least_one_second(timeout, capsys):
    """nbclient reads 0 or -1 as no limit at all: a student's endless loop would hang grading."""
    with pytest.raises(SystemExit) as exit_info:
        grading.main(["some.ipynb", "--timeout", timeout])
    assert exit_info.value.code == 2
    assert "--timeout: must be an int >= 1" in capsys.readouterr().err
