"""Running the merged notebook in a fresh kernel and turning the kernel's replies into a Report.

The notebook runs in a new ``python3`` kernel of the Python that runs the grader (not a
kernelspec that may point elsewhere), in an empty temporary directory (a file next to the
notebook cannot shadow ``course_lib``), with errors allowed: a cell that raises does not
stop the later cells, and a check cell passes if it raises nothing (nbgrader's autograde
rule). A cell past the timeout is interrupted and counts as failed; if the kernel dies,
the checks that did not run fail with ``NotRun``.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from course_lib.grading.cells import check_of, fill_ids
from course_lib.grading.load import DEFAULT_SOLUTIONS, GradeError, find_solution, load
from course_lib.grading.merge import merge, tamper_warnings
from course_lib.grading.report import CheckResult, Report, one_line, show_path

__all__ = ["DEFAULT_TIMEOUT", "execute", "grade"]

#: Seconds one cell may run before it is interrupted and counted as failed.
DEFAULT_TIMEOUT = 120


def execute(nb: NotebookNode, timeout: int) -> dict[int, dict[str, Any]]:
    """Run ``nb`` in a fresh current-environment kernel, in an empty temporary directory.

    Args:
        nb: the notebook to run; nbclient writes the outputs into it.
        timeout: seconds one cell may run before it is interrupted (its reply then has
            ``ename`` ``"Timeout"``).

    Returns:
        ``{cell index: content of the kernel's execute_reply}`` for every cell that ran
        (``status``, and on an error ``ename``, ``evalue``, ``traceback``); cells after a
        dead kernel are missing.

    Raises:
        RuntimeError: the kernel cannot be started or does not answer (from jupyter_client
            or nbclient). A cell that raises, times out or kills the kernel raises nothing here.
    """
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    class CurrentEnvKernelManager(AsyncKernelManager):
        """python3 from the Python that runs the grader, whatever kernelspecs say."""

        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
                )
            return self._kernel_spec

    replies: dict[int, dict[str, Any]] = {}

    def on_executed(cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        replies[cell_index] = execute_reply.get("content", {})

    with tempfile.TemporaryDirectory(prefix="grade-") as cwd:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "Timeout", "evalue": f"the cell ran past {timeout} s", "traceback": []},
            kernel_manager_class=CurrentEnvKernelManager,
            on_cell_executed=on_executed,
            resources={"metadata": {"path": cwd}},
        )
        try:
            with open(os.devnull, "w") as devnull:  # the kernel's own log lines are not the grade
                client.execute(stderr=devnull)
        except DeadKernelError:
            pass  # the cells that did not run are reported as such
    return replies


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^-*>\s*\d+\s+(.*\S)")


def _message(reply: dict[str, Any]) -> str:
    """The error's message; for a bare ``assert``, the line that failed instead."""
    if str(reply.get("evalue", "")).strip():
        return one_line(reply["evalue"])
    if reply.get("ename") != "AssertionError":
        return ""
    lines = [_ANSI.sub("", ln) for tb in reply.get("traceback", []) for ln in str(tb).splitlines()]
    failed = [m.group(1) for m in map(_ARROW.match, lines) if m]
    return one_line(failed[-1]) if failed else ""


def _check_result(exercise: str, points: int, cell_id: str, reply: dict[str, Any] | None) -> CheckResult:
    """The outcome of one check cell from its kernel reply (None: it never ran)."""
    if reply is None:
        return CheckResult(exercise, cell_id, points, "NotRun", "the kernel died before this check")
    if reply.get("status") != "ok":
        return CheckResult(exercise, cell_id, points, reply.get("ename", "Error"), _message(reply))
    return CheckResult(exercise, cell_id, points)


def _collect(nb: NotebookNode, replies: dict[int, dict[str, Any]]) -> tuple[list[CheckResult], list[str]]:
    """A CheckResult per check cell of the run notebook ``nb``, and a note per other cell that raised."""
    checks, notes = [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        reply, check = replies.get(i), check_of(cell)
        if check:
            checks.append(_check_result(*check, cell.id, reply))
        elif reply is not None and reply.get("status") != "ok":
            msg = _message(reply)
            notes.append(
                f"cell {i} ('{cell.get('id')}') raised {reply.get('ename', 'Error')}" + (f": {msg}" if msg else "")
            )
    return checks, notes


def grade(path: str | Path, solutions_dir: str | Path | None = None, timeout: int = DEFAULT_TIMEOUT) -> Report:
    """Run the notebook at ``path`` with the canonical checks from its solution; return its Report.

    Reads the notebook, finds its solution in ``solutions_dir``, merges the two
    (:func:`~course_lib.grading.merge.merge`), flags code that can tamper with the checks,
    runs the result in a fresh kernel (:func:`execute`) and collects one result per check.

    Args:
        path: the student's ``.ipynb``.
        solutions_dir: the folder of solution notebooks (default: the repository's solutions/).
        timeout: seconds one cell may run; a check past it fails with ``Timeout``.

    Returns:
        The Report: per-check results, warnings (changed read-only cells, tampering) and
        notes (student cells that raised).

    Raises:
        GradeError: (a one-line message) the solutions folder is missing, or the file is not a
            readable notebook, not an exercise of this course, or its solution has no checks.
        RuntimeError: the kernel cannot be started (see :func:`execute`).
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
    checks, notes = _collect(nb, execute(nb, timeout))
    return Report(str(path), show_path(sol_path), checks, warnings, notes)
