"""Grading a class: ``python -m course_lib.grade FOLDER --jobs 2 --csv --feedback --json`` (issue 11),
on a dozen submissions of the two-exercise fixture of conftest.py."""

import csv
import json
import shutil

import pytest
from exercise_notebooks import NAME, edit

from course_lib import grading

CORRECT = {"solution_add": "def add(a, b):\n    return a + b", "solution_double": "def double(x):\n    return x * 2"}
KINDS = {  # kind -> (how many, add's points, double's points, exercise sources or None for a broken file)
    "correct": (4, 2, 3, CORRECT),
    "untouched": (3, 0, 0, {}),
    "half": (2, 2, 0, {"solution_add": "def add(a, b):\n    return b + a"}),
    "crashes": (1, 0, 0, {"solution_add": "def add(a, b):\n    import os\n    os._exit(1)"}),
    "broken": (2, None, None, None),
}
COUNT = sum(k[0] for k in KINDS.values())


@pytest.fixture
def classroom(exercise_dirs, tmp_path):
    """A folder of submissions, one sub-folder per student; ``{student/file: kind}``."""
    sol, ex = exercise_dirs
    folder, kinds = tmp_path / "submissions", {}
    for kind, (count, _, _, sources) in KINDS.items():
        for i in range(count):
            student = folder / f"{kind}{i:02d}"
            student.mkdir(parents=True)
            if sources is None:
                (student / NAME).write_text('{"cells": [', encoding="utf-8")
            else:
                shutil.copy(edit(ex / NAME, **sources), student / NAME)
            kinds[f"{kind}{i:02d}/{NAME}"] = kind
    return sol, folder, kinds


def test_a_folder_of_submissions_gives_a_gradebook_feedback_and_json(classroom, tmp_path, capsys):
    sol, folder, kinds = classroom
    out = tmp_path / "out"
    out.mkdir()
    args = [str(folder), "--solutions", str(sol), "--jobs", "2", "--csv", str(out / "grades.csv")]
    args += ["--feedback", str(out / "feedback"), "--json", str(out / "report.json")]
    assert grading.main(args) == 2  # some files could not be graded
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    assert [r["file"] for r in rows] == sorted(kinds) and len(rows) == COUNT
    for row in rows:
        _, add, double, sources = KINDS[kinds[row["file"]]]
        if sources is None:
            assert row["status"].startswith("not graded: ") and "not a notebook" in row["status"]
            assert row["add"] == row["score"] == ""
        else:
            assert (row["add"], row["double"], row["score"], row["total"], row["status"]) == (
                str(add),
                str(double),
                str(add + double),
                "5",
                "graded",
            ), row
    report = json.loads((out / "report.json").read_text())
    assert [r["file"] for r in report] == sorted(kinds)
    crashed = next(r for r in report if kinds[r["file"]] == "crashes")
    assert crashed["exercises"]["add"]["error"] == "DeadKernel" and crashed["exercises"]["double"]["error"] == "NotRun"
    feedback = sorted(p.name for p in (out / "feedback").iterdir())
    assert len(feedback) == COUNT and "correct00__01_fixture_exercise.md" in feedback
    text = (out / "feedback" / "half00__01_fixture_exercise.md").read_text()
    assert "**Score: 2 / 5**" in text and "## double: 0 / 3 points, failed (NotImplementedError)" in text
    assert f"{COUNT} notebooks" in capsys.readouterr().out


def test_json_without_a_file_goes_to_standard_output(exercise_dirs, capsys):
    sol, ex = exercise_dirs
    assert grading.main([str(ex / NAME), "--solutions", str(sol), "--json"]) == 1
    [row] = json.loads(capsys.readouterr().out)
    assert row["graded"] and row["score"] == 0 and row["total"] == 5


@pytest.mark.parametrize(
    ("inputs", "options", "message"),
    [
        ([], ["--csv", "{tmp}/no/such/folder/grades.csv"], "--csv: the folder"),
        ([], ["--csv", "{tmp}"], "--csv: "),
        ([], ["--json", "{tmp}/x/report.json"], "--json: the folder"),
        ([], ["--csv", "{ex}/{name}"], "would overwrite a notebook"),
        (["{tmp}/missing.ipynb"], [], "no such file or folder"),
        (["{tmp}/empty"], [], "a folder with no .ipynb notebook"),
    ],
)
def test_bad_outputs_or_inputs_exit_2_before_grading_anything(
    exercise_dirs, tmp_path, capsys, inputs, options, message
):
    sol, ex = exercise_dirs
    (tmp_path / "empty").mkdir()
    fill = {"tmp": tmp_path, "ex": ex, "name": NAME}
    args = [str(ex / NAME)] + [a.format(**fill) for a in inputs + ["--solutions", str(sol)] + options]
    assert grading.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and len(captured.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("flag", "value", "minimum"),
    [("--jobs", "0", 1), ("--notebook-timeout", "0", 1), ("--memory-mb", "1", 1024), ("--memory-mb", "lots", 1024)],
)
def test_counts_below_their_minimum_are_refused(flag, value, minimum, capsys):
    with pytest.raises(SystemExit) as e:
        grading.main(["x.ipynb", flag, value])
    assert e.value.code == 2 and f"must be an int >= {minimum}" in capsys.readouterr().err
