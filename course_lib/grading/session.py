"""One grading run: the merged notebook's cells in a fresh kernel, its checks in this process.

:class:`Session` walks the cells in order. Student cells and the solution's setup cells run
in the kernel; a check runs here (:func:`~course_lib.grading.verdict.run_check`); the
solution's demonstration cells are skipped. What can go wrong, and what happens:

* a cell raises: a note names it, grading goes on;
* a cell or a call runs past the timeout: it is interrupted and fails with ``Timeout``; if it
  ignores the interrupt, the kernel is restarted, the set-up (limits, hidden references,
  setup cells) and the student's cells that had run run again, and grading goes on with the
  next exercise; the check of the exercise whose cell hung fails with the reason;
* the kernel dies (a crash, a resource limit): the cell that killed it is named, with the
  limit where one was hit, and the checks after it fail with ``NotRun``;
* the whole notebook runs past its time limit (checked before every cell and every call of
  the student's functions, whose timeouts are cut to the time left): the checks not reached
  fail with ``NotRun``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from nbformat import NotebookNode

from course_lib.grading.cells import check_of
from course_lib.grading.kernel import Kernel
from course_lib.grading.load import GradeError
from course_lib.grading.report import CheckResult, one_line
from course_lib.grading.verdict import run_check, setup_namespace

__all__ = ["Limits", "Session"]


@dataclass(frozen=True)
class Limits:
    """What one notebook may use while it is graded.

    Attributes:
        cell_seconds: wall-clock seconds per cell, and per call of a student's function by a check.
        notebook_seconds: wall-clock seconds for the whole notebook.
        memory_mb: the kernel's address space, MiB.
        cpu_seconds: the kernel's CPU time, seconds.
        file_mb: the largest file the kernel may write, MiB.
    """

    cell_seconds: int = 120
    notebook_seconds: int = 900
    memory_mb: int = 4096
    cpu_seconds: int = 1800
    file_mb: int = 100


class Session:
    """Grade the merged notebook ``nb`` in ``kernel`` with the solution's ``roles``
    (:class:`~course_lib.grading.run.Roles`) within ``limits``; :meth:`run` does it."""

    def __init__(self, nb: NotebookNode, roles: Any, kernel: Kernel, limits: Limits):
        self.nb, self.roles, self.kernel, self.limits = nb, roles, kernel, limits
        self.namespace = setup_namespace(roles.setup)
        self.checks: list[CheckResult] = []
        self.notes: list[str] = []
        self.stop = ""  # why the checks from here on cannot run
        self.pending = ""  # why the current exercise's check fails (its cell ignored the interrupt)
        self.ran: list[NotebookNode] = []  # the student's cells that ran without error, in order

    def prepare(self) -> None:
        """Limits and hidden references in the (new) kernel, then the solution's setup cells."""
        lim, deadline = self.limits, self.kernel.deadline
        self.kernel.deadline = None  # importing torch is not the student's time
        source = (
            "import course_lib.grading.student as _grader\n"
            f"_grader.limit({lim.memory_mb}, {lim.cpu_seconds}, {lim.file_mb})\n"
            f"_grader.block({self.roles.references!r})\ndel _grader\n"
        )
        try:
            reply = self.kernel.run(source, timeout=max(lim.cell_seconds, 300))
            if reply.get("status") != "ok":
                why = f"{reply.get('ename')}: {reply.get('evalue')}"
                raise GradeError(f"the grading kernel could not be prepared: {why}")
            for cell in self.roles.setup:
                self.kernel.run(cell.source, timeout=max(lim.cell_seconds, 300))
        finally:
            self.kernel.deadline = deadline

    def _died(self, where: str) -> None:
        reason = self.kernel.exit_reason()
        self.stop = f"the kernel died in {where}" + (f": {reason}" if reason else "")
        self.notes.append(self.stop)

    def _out_of_time(self) -> None:
        if not self.stop:
            self.stop = f"the notebook ran past its limit of {self.limits.notebook_seconds} s"
            self.notes.append(self.stop)

    def _recover(self, where: str) -> None:
        """After a timeout: if the kernel still runs the cell, restart it, set it up again and run
        the student's cells that had run before (their functions and helpers are back)."""
        if self.kernel.responsive():
            return
        self.kernel.restart()
        self.prepare()
        again = [c for c in self.ran if self.kernel.run(c).get("status") == "ok"]
        self.notes.append(
            f"{where} ignored the interrupt: the kernel was restarted, the setup and the {len(again)} "
            "cells of yours that had run before it were run again, and grading went on"
        )
        self.ran = again

    def check(self, cell: NotebookNode) -> None:
        exercise, points = check_of(cell) or ("?", 0)
        if self.stop or self.pending:
            error = "NotRun" if self.stop else "Timeout"
            self.checks.append(CheckResult(exercise, cell.id, points, error, self.stop or self.pending))
            self.pending = ""
            return
        result = run_check(cell, self.namespace, self.roles.student_names, self.kernel)
        self.checks.append(result)
        if result.error == "DeadKernel":
            self._died(f"the check of {exercise!r}")
        elif result.error == "OutOfTime":
            result.error = "NotRun"
            self._out_of_time()
        elif result.error == "Timeout":
            self._recover(f"the check of {exercise!r}")

    def cell(self, i: int, cell: NotebookNode) -> None:
        from nbclient.exceptions import DeadKernelError

        from course_lib.grading.kernel import OutOfTime

        where = f"cell {i} ('{cell.get('id')}')"
        if self.stop or self.pending:
            return
        try:
            reply = self.kernel.run(cell)
        except DeadKernelError:
            self._died(where)
            return
        except OutOfTime:
            self._out_of_time()
            return
        if reply.get("status") == "ok":
            self.ran.append(cell)
            return
        if reply.get("ename") == "Timeout" and self.kernel.out_of_time():
            self._out_of_time()
            return
        msg = one_line(reply.get("evalue", ""))
        self.notes.append(f"{where} raised {reply.get('ename', 'Error')}" + (f": {msg}" if msg else ""))
        if reply.get("ename") == "Timeout" and not self.kernel.responsive():
            self.pending = f"{where} ran past {self.limits.cell_seconds} s and ignored the interrupt"
            self._recover(where)

    def run(self) -> tuple[list[CheckResult], list[str]]:
        """Prepare the kernel, then every cell in order; the check results and the notes."""
        self.prepare()
        self.kernel.deadline = time.monotonic() + self.limits.notebook_seconds
        for i, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code":
                continue
            if self.kernel.out_of_time():
                self._out_of_time()
            if check_of(cell):
                self.check(cell)
            elif cell.get("id") not in self.roles.demo_ids and cell.get("id") not in self.roles.setup_ids:
                self.cell(i, cell)
        return self.checks, self.notes
