"""Grading one notebook: the student's cells in a fresh kernel, the checks in this process.

The merged notebook (:mod:`.merge`) runs cell by cell in a new ``python3`` kernel of the
Python that runs the grader (:class:`~course_lib.grading.kernel.Kernel`), in an empty
temporary directory (a file next to the notebook cannot shadow ``course_lib``). Before any
student code, the kernel hides the reference functions that the exercises ask the student to
write (``metadata.course.reference`` of each check cell; :func:`course_lib.grading.student.block`).
Then:

* the solution's setup cells (locked code cells before the first exercise) and the student's
  cells run in the kernel; a cell that raises does not stop later cells (a note names it);
* each check cell runs here, in the grader's process (:func:`~course_lib.grading.verdict.run_check`),
  calling the student's functions in the kernel; it passes iff it raises nothing (nbgrader's
  autograde rule);
* the solution's later locked code cells (demonstrations of the library) are not run: they
  show, they do not grade;
* a cell or call past the timeout is interrupted and fails with ``Timeout``; if the kernel
  dies, the cell that killed it is named and the checks after it fail with ``NotRun``.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from nbformat import NotebookNode

from course_lib.grading.cells import check_of, fill_ids
from course_lib.grading.load import DEFAULT_SOLUTIONS, GradeError, find_solution, load
from course_lib.grading.merge import merge, tamper_warnings
from course_lib.grading.report import CheckResult, Report, show_path
from course_lib.grading.session import Limits

__all__ = ["DEFAULT_TIMEOUT", "Roles", "Limits", "grade", "scrubbed_env"]

#: Seconds one cell (or one call of the student's function by a check) may run.
DEFAULT_TIMEOUT = 120


class Roles:
    """What the grader reads from a solution notebook: which cells set up, which names the
    student defines, which reference functions the kernel hides, which cells only demonstrate."""

    def __init__(self, solution: NotebookNode):
        from course_lib.grading.verdict import defined_names

        cells = solution.cells
        first = next((i for i, c in enumerate(cells) if c.metadata.get("course", {}).get("solution")), len(cells))
        locked = [c.cell_type == "code" and bool(c.metadata.get("course", {}).get("locked")) for c in cells]
        self.setup = [c for i, c in enumerate(cells) if locked[i] and i < first]
        self.setup_ids = {c.get("id") for c in self.setup}
        self.demo_ids = {c.get("id") for i, c in enumerate(cells) if locked[i] and i > first}
        solutions = [c for c in cells if c.cell_type == "code" and c.metadata.get("course", {}).get("solution")]
        self.student_names = list(dict.fromkeys(n for c in solutions for n in defined_names(c.source)))
        self.references = sorted(
            {str(r) for c in cells if check_of(c) for r in c.metadata["course"].get("reference", [])}
        )


def scrubbed_env(home: Path) -> dict[str, str]:
    """The kernel's environment: the locale, ``PATH`` and thread settings of this one, nothing
    else (no tokens or credentials), with ``home`` as ``HOME`` and its ``tmp`` as ``TMPDIR``."""
    keep = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), TMPDIR=str(home / "tmp"), PYTHONNOUSERSITE="1", MPLBACKEND="Agg")
    return env


def _run(nb: NotebookNode, roles: Roles, limits: Limits) -> tuple[list[CheckResult], list[str]]:
    """Grade ``nb`` in a fresh kernel with its own working directory and scratch home."""
    from course_lib.grading.kernel import Kernel
    from course_lib.grading.session import Session

    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        work, home = Path(tmp) / "work", Path(tmp) / "home"
        work.mkdir()
        with Kernel(work, limits.cell_seconds, env=scrubbed_env(home)) as kernel:
            return Session(nb, roles, kernel, limits).run()


def grade(
    path: str | Path,
    solutions_dir: str | Path | None = None,
    timeout: int = DEFAULT_TIMEOUT,
    limits: Limits | None = None,
) -> Report:
    """Run the notebook at ``path`` with the canonical checks from its solution; return its Report.

    Reads the notebook, finds its solution in ``solutions_dir``, merges the two
    (:func:`~course_lib.grading.merge.merge`), flags code that can tamper with the checks,
    runs the student's cells in a fresh kernel and each check in this process (see the
    module's docstring), one result per check.

    Args:
        path: the student's ``.ipynb``.
        solutions_dir: the folder of solution notebooks (default: the repository's solutions/).
        timeout: seconds one cell (or one call of the student's function) may run; a check
            past it fails with ``Timeout``. Replaces ``limits.cell_seconds``.
        limits: the notebook's time, memory, CPU and file-size limits (default: :class:`Limits`).

    Returns:
        The Report: per-check results, warnings (changed read-only cells, tampering) and
        notes (student cells that raised).

    Raises:
        GradeError: (a one-line message) the solutions folder is missing, or the file is not a
            readable notebook, not an exercise of this course, or its solution has no checks.
        RuntimeError: the kernel cannot be started (from jupyter_client or nbclient).
    """
    path = Path(path)
    solutions_dir = Path(solutions_dir) if solutions_dir is not None else DEFAULT_SOLUTIONS
    if not solutions_dir.is_dir():
        raise GradeError(f"solutions directory {solutions_dir} not found (pass --solutions DIR)")
    student = load(path)
    sol_path = find_solution(path, student, solutions_dir)
    solution = load(sol_path)
    fill_ids(solution)
    if not any(check_of(c) for c in solution.cells):
        raise GradeError(f"{sol_path}: has no check cells (metadata course.check)")
    nb, warnings = merge(student, solution)
    warnings += tamper_warnings(nb)
    limits = dataclasses.replace(limits or Limits(), cell_seconds=timeout)
    checks, notes = _run(nb, Roles(solution), limits)
    return Report(str(path), show_path(sol_path), checks, warnings, notes)
