"""The autograder: grade a student's exercise notebook against the checks in ``solutions/``.

``python -m course_lib.grade NOTEBOOK...`` (also ``python -m course_lib.grading`` and
``make grade NB=...``) prints, per notebook, a table of exercises with pass/fail and
points, and a score; it exits 0 when every check passes, 1 when some fail, 2 when a file
cannot be graded. The cell conventions are nbgrader's, with the metadata under
``metadata.course`` (see :mod:`.cells`).

What lives where, in the order a notebook goes through them:

* :mod:`.cells`: checksums, stable cell ids, which cells are checks or locked
  (``tools/make_exercises.py`` imports these, so generator and grader agree);
* :mod:`.load`: reading the notebook, finding its solution (by metadata, else by the check
  and instruction cells it holds), :class:`GradeError`;
* :mod:`.merge`: the notebook to run, the student's cells with the solution's read-only
  cells, and the flag on code that can tamper with the checks;
* :mod:`.run`: :func:`grade`, one notebook, in a temporary directory with a scratch home;
* :mod:`.session`: the cells in order, timeouts, kernel restarts and deaths, :class:`Limits`;
* :mod:`.kernel`: the student's kernel, and the student's functions as a check sees them;
* :mod:`.student`: the grader's code inside that kernel (limits, hidden references, calls);
* :mod:`.wire`: the values that cross back, data only (``torch.load(weights_only=True)``);
* :mod:`.verdict`: the checks, run in the grader's own process;
* :mod:`.report`: :class:`CheckResult`, :class:`Report`, its table, JSON and feedback;
* :mod:`.classroom`: a folder of submissions, in parallel, to a gradebook CSV, feedback
  files and a JSON report;
* :mod:`.cli`: the command line, :func:`main`.

What the grader guarantees:

* The verdicts are computed outside the student's kernel. The kernel only runs the
  student's code; each check cell runs in the grader's process, with the grader's own
  ``torch`` and ``course_lib``, and each call it makes to a student's function runs in the
  kernel and comes back as data. So patching ``torch``, ``course_lib``, builtins or IPython in
  the notebook changes nothing, a student's variable cannot shadow a name a check uses, and
  a blanked or missing function fails its check.
* In the grading kernel, the reference functions an exercise asks the student to write
  (``metadata.course.reference`` of its check) are replaced by stand-ins that raise, so a
  solution that delegates to the library earns nothing for that exercise.
* The checks and locked cells are the solution's: a student's edit of one is undone, a
  deleted one is put back, a student cell posing as a check counts for nothing, and each such
  change is a ``warning:``. An exercise pasted into a new notebook is still recognized.
* Each notebook runs in a fresh kernel, in an empty temporary directory, with a scratch
  ``HOME`` and an environment without this one's variables (no tokens), within
  :class:`Limits` (time per cell and per notebook, memory, CPU time, file size). A cell that
  raises does not stop later cells; a cell that ignores the interrupt gets the kernel
  restarted; a kernel that dies is traced to its cell; only that submission suffers.

What it does not guarantee: it is not a security sandbox. The student's code runs with the
grader's user rights: it can read files the user can read (the library's source included,
so a determined student can run a hidden reference another way: another process, a
re-import, the source executed; the common ways are flagged with a ``warning:``, see
:func:`suspicious`, but not all), use the network and, as root, raise its limits. Grade
untrusted submissions inside a container without network, e.g.
``docker run --rm --network none -v "$PWD":/course -w /course IMAGE .venv/bin/python -m
course_lib.grade submissions/ --jobs 2 --csv grades.csv``.
"""

from course_lib.grading.cells import checksum, fill_ids, is_read_only
from course_lib.grading.cli import main
from course_lib.grading.load import DEFAULT_SOLUTIONS, GradeError, find_solution
from course_lib.grading.merge import merge, suspicious
from course_lib.grading.report import CheckResult, Report
from course_lib.grading.run import DEFAULT_TIMEOUT, grade
from course_lib.grading.session import Limits

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
    "Limits",
]
