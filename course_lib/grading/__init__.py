"""The autograder: grade a student's exercise notebook against the checks in ``solutions/``.

``python -m course_lib.grade NOTEBOOK...`` (also ``python -m course_lib.grading`` and
``make grade NB=...``) prints, per notebook, a table of exercises with pass/fail and
points, and a score; it exits 0 when every check passes, 1 when some fail, 2 when a file
cannot be graded. The cell conventions are nbgrader's, with the metadata under
``metadata.course`` (see :mod:`.cells`).

What lives where, in the order a notebook goes through them:

* :mod:`.cells`: checksums, stable cell ids, which cells are checks or locked
  (``tools/make_exercises.py`` imports these, so generator and grader agree);
* :mod:`.load`: reading the notebook, finding its solution, :class:`GradeError`;
* :mod:`.merge`: the notebook to run, the student's cells with the solution's read-only
  cells, and the flag on code that can tamper with the checks;
* :mod:`.run`: running it in a fresh kernel, one result per check, and :func:`grade`;
* :mod:`.report`: :class:`CheckResult`, :class:`Report` and its printed table;
* :mod:`.cli`: the command line, :func:`main`.

What the grader guarantees:

* The checks and locked cells that run are the solution's: a student's edit of one is
  undone, a deleted one is put back, a student cell posing as a check counts for nothing,
  and each such change is a ``warning:`` naming the cell. So an exercise made from an older
  solution (even one whose setup imports modules that have since moved) is graded with
  today's setup and checks.
* The notebook runs in a fresh kernel of the current environment, in an empty temporary
  directory; a cell that raises does not stop later cells; a check passes iff it raises
  nothing; a cell past the timeout fails.
* It is no sandbox: code that patches the reference library or installs an IPython input
  transformer can fool an in-kernel check (nbgrader has the same limit). The grader flags
  such code with a ``warning:`` (see :func:`suspicious`); read the notebook when a score
  looks too good.
"""

from course_lib.grading.cells import checksum, fill_ids, is_read_only
from course_lib.grading.cli import main
from course_lib.grading.load import DEFAULT_SOLUTIONS, GradeError, find_solution
from course_lib.grading.merge import merge, suspicious
from course_lib.grading.report import CheckResult, Report
from course_lib.grading.run import DEFAULT_TIMEOUT, grade

__all__ = [
    "grade",
    "merge",
    "main",
    "Report",
    "CheckResult",
    "GradeError",
    "find_solution",
    "checksum",
    "fill_ids",
    "is_read_only",
    "suspicious",
    "DEFAULT_SOLUTIONS",
    "DEFAULT_TIMEOUT",
]
