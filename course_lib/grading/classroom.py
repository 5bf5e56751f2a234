"""Grading a class: a folder of submissions, in parallel, to a gradebook, feedback files and JSON.

``python -m course_lib.grade submissions/ --jobs 2 --csv grades.csv --feedback feedback/ --json``
grades every notebook under ``submissions/`` (each in its own kernel, temporary directory and
scratch home, within :class:`~course_lib.grading.session.Limits`), then writes

* the gradebook CSV: one row per student file (its path relative to the folder given), one
  column per exercise (points earned; empty where the file has no such exercise), the score,
  the total and a status (``graded`` or the reason it could not be graded);
* one Markdown feedback file per student file (:meth:`~course_lib.grading.report.Report.feedback`),
  named after its path (``alice/01_magnitude_exercise.ipynb`` -> ``alice__01_magnitude_exercise.md``);
* a JSON report (``--json``: to standard output, or ``--json FILE``): one object per file.

A submission that cannot be graded, or that crashes its kernel, costs only its own row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib.grading.load import GradeError
from course_lib.grading.report import Report
from course_lib.grading.session import Limits

__all__ = ["Outcome", "expand", "grade_many", "write_csv", "write_feedback", "to_json"]


@dataclass
class Outcome:
    """One submission: ``name`` (its path relative to the folder given, else as given), and
    either its ``report`` or the ``error`` that made it ungradable."""

    name: str
    report: Report | None = None
    error: str = ""


def expand(paths: Iterable[str | Path]) -> list[tuple[str, Path]]:
    """``(name, path)`` of every notebook named: a file as given, a folder by every ``.ipynb``
    below it (sorted; Jupyter's ``.ipynb_checkpoints`` left out), named relative to the folder.

    Raises:
        GradeError: a path that does not exist, or a folder with no notebook.
    """
    out: list[tuple[str, Path]] = []
    for given in map(Path, paths):
        if given.is_dir():
            found = sorted(p for p in given.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not found:
                raise GradeError(f"{given}: a folder with no .ipynb notebook in it")
            out += [(p.relative_to(given).as_posix(), p) for p in found]
        elif given.exists():
            out.append((given.as_posix(), given))
        else:
            raise GradeError(f"{given}: no such file or folder")
    return out


def _grade_one(job: tuple[str, Path, str | None, Limits]) -> Outcome:
    from course_lib.grading.run import grade

    name, path, solutions, limits = job
    try:
        return Outcome(name, grade(path, solutions, limits.cell_seconds, limits))
    except GradeError as e:
        return Outcome(name, error=str(e))
    except Exception as e:  # a kernel that cannot start, a broken setup: this file only
        return Outcome(name, error=f"{path}: could not be graded ({type(e).__name__}: {e})")


def grade_many(
    named: Sequence[tuple[str, Path]], solutions: str | Path | None, limits: Limits, jobs: int = 1
) -> list[Outcome]:
    """Grade every ``(name, path)``, ``jobs`` at a time (each in its own process); in input order."""
    work = [(name, path, None if solutions is None else str(solutions), limits) for name, path in named]
    if jobs == 1 or len(work) == 1:
        return [_grade_one(w) for w in work]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_grade_one, work))


def _exercise_columns(outcomes: Sequence[Outcome]) -> list[str]:
    columns: dict[str, None] = {}
    for o in outcomes:
        columns.update(dict.fromkeys(o.report.exercises() if o.report else ()))
    return list(columns)


def write_csv(outcomes: Sequence[Outcome], path: Path) -> None:
    """The gradebook: ``file``, one column per exercise (points earned), ``score``, ``total``, ``status``."""
    columns = _exercise_columns(outcomes)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", *columns, "score", "total", "status"])
        for o in outcomes:
            if o.report is None:
                writer.writerow([o.name, *([""] * len(columns)), "", "", f"not graded: {o.error}"])
                continue
            ex = o.report.exercises()
            earned = [ex[c]["earned"] if c in ex else "" for c in columns]
            writer.writerow([o.name, *earned, o.report.score, o.report.total, "graded"])


def feedback_name(name: str) -> str:
    """The feedback file's name for the submission ``name``: its path with ``/`` as ``__``, ``.md``.

    >>> feedback_name("alice/01_magnitude_exercise.ipynb")
    'alice__01_magnitude_exercise.md'
    """
    return Path(name.replace("/", "__")).with_suffix(".md").name


def write_feedback(outcomes: Sequence[Outcome], folder: Path) -> list[Path]:
    """One Markdown file per submission in ``folder`` (created); the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for o in outcomes:
        text = o.report.feedback() if o.report else f"# Feedback: {o.name}\n\nNot graded: {o.error}\n"
        path = folder / feedback_name(o.name)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def to_json(outcomes: Sequence[Outcome]) -> str:
    """The JSON report: a list with one object per submission (``file``, ``graded``, and the
    report's fields, or ``error``)."""
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        row: dict[str, Any] = {"file": o.name, "graded": o.report is not None}
        row.update(o.report.to_dict() if o.report else {"error": o.error})
        rows.append(row)
    return json.dumps(rows, indent=2)
