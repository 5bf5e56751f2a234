"""Checks run in the grader's own process, where the student's notebook cannot reach.

A check cell of ``solutions/`` reads like any notebook cell: it calls the student's functions
(``my_magnitude_mask(...)``), computes the expected values with ``course_lib`` and asserts. In
JupyterLab the student runs it in their own kernel. The grader runs the *same source* here, in
a namespace made of the solution's setup cells (run in this process too) and, for each name
the exercise asks the student to define, a :class:`~course_lib.grading.kernel.StudentFunction`
that calls the student's code in the kernel. So the reference functions, ``torch`` and the
comparison are the grader's: monkeypatching them in the kernel changes nothing, a student's
variable cannot shadow a name the check uses, and a missing or blanked function fails.
"""

from __future__ import annotations

import ast
import contextlib
import io
import traceback
from typing import Any

from nbformat import NotebookNode

from course_lib.grading.cells import check_of
from course_lib.grading.kernel import Kernel, StudentError, StudentFunction
from course_lib.grading.report import CheckResult

__all__ = ["defined_names", "setup_namespace", "run_check"]


def defined_names(source: str) -> list[str]:
    """The top-level functions, classes and assigned names that ``source`` defines, in order.

    >>> defined_names("def my_f(x):\\n    y = 1\\n    return y\\nMY_K = 3")
    ['my_f', 'MY_K']
    """
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(names))


def setup_namespace(cells: list[NotebookNode]) -> dict[str, Any]:
    """The namespace the checks run in: the solution's setup cells executed in this process.

    Args:
        cells: the solution's setup cells (locked code cells before its first exercise).

    Raises:
        Exception: whatever a setup cell raises (the solution is broken, not the student).
    """
    namespace: dict[str, Any] = {"__name__": "course_check"}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for i, cell in enumerate(cells):  # what they print is for the student, not the grader's output
            exec(compile(cell.source, f"<setup cell {i}>", "exec"), namespace)
    return namespace


def _failed_line(error: BaseException, filename: str, source: str) -> str:
    """The line of the check that raised ``error``, stripped (``""`` when not found)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    lines = source.splitlines()
    if not frames or not frames[-1].lineno or frames[-1].lineno > len(lines):
        return ""
    return lines[frames[-1].lineno - 1].strip()


def run_check(cell: NotebookNode, namespace: dict[str, Any], student_names: list[str], kernel: Kernel) -> CheckResult:
    """Run the check cell ``cell`` here, its calls to ``student_names`` going to ``kernel``.

    Args:
        cell: a check cell of the solution (``metadata.course.check``).
        namespace: from :func:`setup_namespace`; a copy is used, so checks do not see each other.
        student_names: the names the exercises ask the student to define.
        kernel: the student's kernel, in which those names are called.

    Returns:
        The CheckResult: passed when the cell raised nothing; otherwise the error's name (the
        student's own exception type when their code raised) and its message, or for a bare
        ``assert`` the check's line that failed.
    """
    exercise, points = check_of(cell) or ("?", 0)
    filename = f"<check {exercise}>"
    scope = dict(namespace)
    scope.update({name: StudentFunction(name, kernel) for name in student_names})
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(cell.source, filename, "exec"), scope)
    except StudentError as e:
        return CheckResult(exercise, cell.id, points, e.ename, str(e))
    except Exception as e:
        message = str(e).strip() or _failed_line(e, filename, cell.source)
        if not str(e).strip() and type(e) is not AssertionError and message:
            message = f"in the check's line: {message}"
        return CheckResult(exercise, cell.id, points, type(e).__name__, message)
    return CheckResult(exercise, cell.id, points)
