"""Grade a student's exercise notebook against the canonical checks in ``solutions/``.

``python -m course_lib.grading.grade NOTEBOOK...`` (or ``make grade NB=...``) prints, per
notebook, a table of exercises with pass/fail and points, and a score. The exit
code is 0 only when every exercise of every notebook passes, 1 when some fail, and
2 when a file is not a readable notebook or not an exercise of this course.

How it stays tamper-proof (the nbgrader way):

* The read-only cells (checks and locked setup/instruction cells) are matched by
  cell id with the solution notebook, and their *source is taken from the
  solution*, so editing a check cell (say into ``assert True``) changes nothing;
  a deleted one is re-inserted after the cell that precedes it in the solution.
  Each change is reported as a ``warning:`` line naming the cell. A student cell
  that copies a check's metadata counts for nothing.
* The generator (``tools/make_exercises.py``) writes a checksum of every
  read-only cell's source into its metadata, which tells a student's edit apart
  from an exercise made from an older solution, and matches cells whose ids an
  editor dropped.
* The notebook runs in a fresh kernel of the current environment, in an empty
  temporary directory (a file next to the notebook cannot shadow ``course_lib``),
  with errors allowed: a cell that raises does not stop the later cells, and a
  check passes if it raises nothing.

It does not sandbox student code: code that monkeypatches the reference library
or installs an IPython input transformer can fool any in-process check (nbgrader
has the same limit). The grader flags such code with a ``warning:`` naming the
cell (see :func:`suspicious`); read the notebook when a score looks too good.

>>> checksum("assert f(1) == 2")[:12]
'f37b9ce64ac0'
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = ["GradeError", "CheckResult", "Report", "checksum", "is_read_only", "merge", "grade", "main"]

#: Where ``python -m course_lib.grade`` looks for the canonical notebooks by default.
DEFAULT_SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
#: Seconds one cell may run before it is interrupted and counted as failed.
DEFAULT_TIMEOUT = 120


class GradeError(Exception):
    """The file cannot be graded (not a notebook, not an exercise of this course)."""


def checksum(source: str) -> str:
    """SHA-256 of a cell's source (a list of lines is joined first), as hex.

    >>> checksum(["a = 1\\n", "b = 2"]) == checksum("a = 1\\nb = 2")
    True
    """
    if isinstance(source, list):
        source = "".join(source)
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def fill_ids(nb) -> None:
    """Give cells without an id (nbformat < 4.5) a stable one, derived from position and source,
    so the generator and the grader agree on it; never a random one."""
    for i, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = "cell-" + checksum(f"{i}:{''.join(cell.get('source', ''))}")[:8]
    if any(c.get("id") for c in nb.cells) and nb.get("nbformat_minor", 5) < 5:
        nb["nbformat_minor"] = 5


def is_read_only(cell) -> bool:
    """True for a check cell or a locked cell (``metadata.course.check`` / ``.locked``).

    >>> from nbformat.v4 import new_code_cell
    >>> is_read_only(new_code_cell("assert True", metadata={"course": {"check": "f", "points": 1}}))
    True
    >>> is_read_only(new_code_cell("x = 1"))
    False
    """
    course = cell.get("metadata", {}).get("course", {})
    return isinstance(course, dict) and bool(course.get("check") or course.get("locked"))


def _check_of(cell) -> tuple[str, int] | None:
    course = cell.get("metadata", {}).get("course", {})
    if isinstance(course, dict) and course.get("check"):
        return str(course["check"]), int(course.get("points", 1))
    return None


@dataclass
class CheckResult:
    """One check cell's outcome: ``error`` is the exception name, or None if it passed."""

    exercise: str
    cell_id: str
    points: int
    error: str | None = None
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.error is None


@dataclass
class Report:
    """Everything ``grade`` found out about one notebook."""

    notebook: str
    solution: str
    checks: list[CheckResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def exercises(self) -> dict[str, dict]:
        """Per exercise (in notebook order): passed, earned and max points, first error."""
        out: dict[str, dict] = {}
        for c in self.checks:
            e = out.setdefault(c.exercise, {"passed": True, "earned": 0, "max": 0, "error": None, "message": ""})
            e["max"] += c.points
            if c.passed:
                e["earned"] += c.points
            else:
                if e["passed"]:
                    e["error"], e["message"] = c.error, c.message
                e["passed"] = False
        return out

    @property
    def score(self) -> int:
        return sum(c.points for c in self.checks if c.passed)

    @property
    def total(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def format(self) -> str:
        """The printed table.

        >>> r = Report("ex.ipynb", "sol.ipynb", [CheckResult("add", "check-add", 2),
        ...     CheckResult("mul", "check-mul", 3, "NotImplementedError")])
        >>> print(r.format())
        ex.ipynb (checks from sol.ipynb)
          exercise  result                    points
          add       pass                         2/2
          mul       FAIL NotImplementedError     0/3
          score: 2/5
        """
        ex = self.exercises()
        rows = [
            (name, "pass" if e["passed"] else f"FAIL {e['error']}", f"{e['earned']}/{e['max']}")
            for name, e in ex.items()
        ]
        w1 = max([len("exercise")] + [len(r[0]) for r in rows])
        w2 = max([len("result")] + [len(r[1]) for r in rows])
        w3 = max([len("points")] + [len(r[2]) for r in rows])
        lines = [f"{self.notebook} (checks from {self.solution})"]
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        lines.append(f"  {'exercise':<{w1}}  {'result':<{w2}}  {'points':>{w3}}")
        lines += [f"  {a:<{w1}}  {b:<{w2}}  {c:>{w3}}" for a, b, c in rows]
        for name, e in ex.items():
            if not e["passed"] and e["message"]:
                lines.append(f"  {name}: {e['error']}: {e['message']}")
        lines.append(f"  score: {self.score}/{self.total}")
        return "\n".join(lines)


def _show(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _first_line(text: str, limit: int = 160) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


# Student code that can change how later cells run or what the checks compare against.
# Not a sandbox: a flag for the instructor to read the cell.
_TAMPER = re.compile(
    r"input_transformers|ast_transformers|set_custom_exc|events\.register|"
    r"sys\.modules|settrace|setprofile|__builtins__|\bbuiltins\b|"
    r"\bcourse_lib(\.\w+)+\s*=(?!=)|setattr\(\s*course_lib|"
    r"\b(torch|np|numpy)(\.\w+)+\s*=(?!=)"
)


def suspicious(source: str) -> str | None:
    """The first construct in ``source`` that can tamper with the checks, else None.

    >>> suspicious("get_ipython().input_transformers_cleanup.append(lambda lines: [])")
    'input_transformers'
    >>> suspicious("course_lib.magnitude_mask = my_magnitude_mask")
    'course_lib.magnitude_mask ='
    >>> suspicious("mask = course_lib.magnitude_mask(w, 0.5) == ref") is None
    True
    """
    m = _TAMPER.search(source)
    return m.group(0) if m else None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^-*>\s*\d+\s+(.*\S)")


def _message(reply: dict) -> str:
    """The error's message; for a bare ``assert``, the line that failed instead."""
    if str(reply.get("evalue", "")).strip():
        return _first_line(reply["evalue"])
    if reply.get("ename") != "AssertionError":
        return ""
    lines = [_ANSI.sub("", ln) for tb in reply.get("traceback", []) for ln in str(tb).splitlines()]
    failed = [m.group(1) for m in map(_ARROW.match, lines) if m]
    return _first_line(failed[-1]) if failed else ""


def _canonical_copy(cell):
    new = copy.deepcopy(cell)
    if new.cell_type == "code":
        new.outputs = []
        new.execution_count = None
    return new


def merge(student, solution) -> tuple[object, list[str]]:
    """The notebook to run: the student's cells with every read-only cell of ``solution``.

    Read-only cells are matched by id and take the solution's source and metadata;
    a missing one is re-inserted after the cell that precedes it in the solution.
    Returns the new notebook and warnings naming each changed, deleted or moved cell.
    A student cell that merely claims to be a check (copied metadata) is demoted.

    >>> from nbformat.v4 import new_notebook, new_code_cell
    >>> chk = {"course": {"check": "f", "points": 1}}
    >>> sol = new_notebook(cells=[new_code_cell("def f(): return 1", id="solution-f"),
    ...                           new_code_cell("assert f() == 1", id="check-f", metadata=chk)])
    >>> stu = new_notebook(cells=[new_code_cell("def f(): return 2", id="solution-f"),
    ...                           new_code_cell("assert True", id="check-f", metadata=chk)])
    >>> nb, warnings = merge(stu, sol)
    >>> [c.source for c in nb.cells]
    ['def f(): return 2', 'assert f() == 1']
    >>> warnings
    ["read-only cell 'check-f' was edited; its original source was used"]
    """
    canon = {c.get("id"): c for c in solution.cells if is_read_only(c) and c.get("id")}
    order = [c.get("id") for c in solution.cells]
    # Match read-only cells by id; a cell whose id was lost (an editor that drops ids)
    # by the checksum the generator stored in its metadata, or by its unchanged source.
    match: dict[int, str] = {}
    for n, cell in enumerate(student.cells):
        if cell.get("id") in canon and cell.get("id") not in match.values():
            match[n] = cell.get("id")
    left: dict[str, list[str]] = {}
    for cid, ref in canon.items():
        if cid not in match.values():
            left.setdefault(checksum(ref.source), []).append(cid)
    for n, cell in enumerate(student.cells):
        if n in match or cell.get("id") in canon:
            continue
        course = cell.get("metadata", {}).get("course", {})
        stored = course.get("checksum") if isinstance(course, dict) else None
        for key in (stored, checksum(cell.get("source", ""))):
            if key and left.get(key):
                match[n] = left[key].pop(0)
                break
    cells, seen, warnings = [], set(), []
    for n, cell in enumerate(student.cells):
        if n in match:
            cid = match[n]
            seen.add(cid)
            ref = canon[cid]
            if checksum(cell.get("source", "")) != checksum(ref.source) or cell.cell_type != ref.cell_type:
                stored = cell.get("metadata", {}).get("course", {})
                stored = stored.get("checksum") if isinstance(stored, dict) else None
                if stored == checksum(cell.get("source", "")):
                    warnings.append(
                        f"read-only cell '{cid}' differs from the current solutions "
                        "(exercise made from an older version); the current one was used"
                    )
                else:
                    warnings.append(f"read-only cell '{cid}' was edited; its original source was used")
            cells.append(_canonical_copy(ref))
            continue
        cell = copy.deepcopy(cell)
        if is_read_only(cell) or cell.get("id") in canon:  # an impostor, or a duplicate
            cell.get("metadata", {}).pop("course", None)
            cell["id"] = f"student-{n}"
        cells.append(cell)
    ids = [c.get("id") for c in cells]
    for i, cid in enumerate(order):
        if cid not in canon or cid in seen:
            continue
        pos = 0
        for prev in reversed(order[:i]):
            if prev in ids:
                pos = ids.index(prev) + 1
                break
        cells.insert(pos, _canonical_copy(canon[cid]))
        ids.insert(pos, cid)
        seen.add(cid)
        warnings.append(f"read-only cell '{cid}' was deleted; it was put back")
    ro_order = [i for i in ids if i in canon]
    if ro_order != [i for i in order if i in canon]:
        warnings.append("read-only cells were moved; they ran in the student's order")
    nb = copy.deepcopy(student)
    nb.cells = cells
    return nb, warnings


def _load(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GradeError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GradeError(f"{path}: cannot read it ({e.__class__.__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise GradeError(f"{path}: not a notebook: invalid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise GradeError(f"{path}: not a notebook: JSON without 'cells' and 'nbformat'")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises various errors on malformed notebooks
        raise GradeError(f"{path}: not a valid notebook ({_first_line(e)})") from None
    for i, c in enumerate(nb.cells):
        if not isinstance(c, dict) or "cell_type" not in c or "source" not in c:
            raise GradeError(f"{path}: not a valid notebook (cell {i} has no cell_type or source)")
    return nb


def find_solution(path: Path, nb, solutions_dir: Path) -> Path:
    """The solution notebook that ``nb`` is an exercise of, or GradeError."""
    meta = nb.metadata.get("course", {})
    name = meta.get("exercise") if isinstance(meta, dict) else None
    if name:
        sol = solutions_dir / Path(str(name)).name
        if not sol.is_file():
            raise GradeError(f"{path}: made from {name}, which is not in {solutions_dir}")
        return sol
    sol = solutions_dir / path.name
    if sol.is_file():
        canon = {c.get("id") for c in _load(sol).cells if is_read_only(c)}
        if canon & {c.get("id") for c in nb.cells}:
            return sol
    raise GradeError(
        f"{path}: not an exercise of this course (no course metadata, and no cell "
        f"matches a notebook in {solutions_dir})"
    )


def _execute(nb, timeout: int) -> dict[int, dict]:
    """Run ``nb`` in a fresh current-env python3 kernel; return {cell index: reply content}."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    class CurrentEnvKernelManager(AsyncKernelManager):
        """python3 from the Python that runs the grader, whatever kernelspecs say."""

        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
                )
            return self._kernel_spec

    replies: dict[int, dict] = {}

    def on_executed(cell, cell_index, execute_reply):
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


def grade(path, solutions_dir=None, timeout: int = DEFAULT_TIMEOUT) -> Report:
    """Run the notebook at ``path`` with the canonical checks; return its Report.

    Raises GradeError (with a one-line message) when the file cannot be graded.
    """
    path = Path(path)
    solutions_dir = Path(solutions_dir) if solutions_dir is not None else DEFAULT_SOLUTIONS
    if not solutions_dir.is_dir():
        raise GradeError(f"solutions directory {solutions_dir} not found (pass --solutions DIR)")
    student = _load(path)
    sol_path = find_solution(path, student, solutions_dir)
    solution = _load(sol_path)
    fill_ids(solution)
    checks = [c for c in solution.cells if _check_of(c)]
    if not checks:
        raise GradeError(f"{sol_path}: has no check cells (metadata course.check)")
    nb, warnings = merge(student, solution)
    for i, cell in enumerate(nb.cells):
        found = suspicious(cell.source) if cell.cell_type == "code" and not is_read_only(cell) else None
        if found:
            warnings.append(
                f"cell {i} ('{cell.get('id')}') uses {found}, which can change how the "
                "checks run: read it before trusting the score"
            )
    replies = _execute(nb, timeout)
    report = Report(str(path), _show(sol_path), warnings=warnings)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        reply = replies.get(i)
        check = _check_of(cell) if is_read_only(cell) else None
        if check:
            name, points = check
            if reply is None:
                report.checks.append(CheckResult(name, cell.id, points, "NotRun", "the kernel died before this check"))
            elif reply.get("status") != "ok":
                report.checks.append(CheckResult(name, cell.id, points, reply.get("ename", "Error"), _message(reply)))
            else:
                report.checks.append(CheckResult(name, cell.id, points))
        elif reply is not None and reply.get("status") != "ok":
            msg = _message(reply)
            report.notes.append(
                f"cell {i} ('{cell.get('id')}') raised {reply.get('ename', 'Error')}" + (f": {msg}" if msg else "")
            )
    return report


def main(argv=None) -> int:
    """Command line: grade each notebook, print its table; exit 0 only if all pass."""
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.grade",
        description="Grade exercise notebooks with the canonical checks from the solutions.",
    )
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    parser.add_argument(
        "--solutions", default=None, metavar="DIR", help=f"canonical notebooks (default: {DEFAULT_SOLUTIONS})"
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds one cell may run (default: {DEFAULT_TIMEOUT})",
    )
    args = parser.parse_args(argv)
    worst = 0
    reports = []
    for nb in args.notebooks:
        try:
            report = grade(nb, args.solutions, args.timeout)
        except GradeError as e:
            print(f"error: {e}", file=sys.stderr)
            worst = 2
            continue
        reports.append(report)
        print(report.format())
        if not report.passed:
            worst = max(worst, 1)
    if len(args.notebooks) > 1:
        ok = sum(r.passed for r in reports)
        print(
            f"{ok} of {len(args.notebooks)} notebooks pass every check"
            + (
                f"; {len(args.notebooks) - len(reports)} could not be graded"
                if len(reports) < len(args.notebooks)
                else ""
            )
        )
    return worst


if __name__ == "__main__":
    sys.exit(main())
