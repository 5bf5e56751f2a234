"""What the grader found out about one notebook, and the table it prints.

A :class:`Report` holds one :class:`CheckResult` per check cell (nbgrader's "grade cells"),
the warnings about read-only cells a student changed or code that can tamper with the
checks, and notes about other cells that raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CheckResult", "Report", "one_line", "show_path"]


def one_line(text: object, limit: int = 160) -> str:
    """The first line of ``str(text)``, stripped and cut to ``limit`` characters (with "...").

    Args:
        text: a message, an exception, anything ``str`` accepts.
        limit: the most characters returned (>= 4; not checked).

    Returns:
        The line (a ``str``; empty for blank text), at most ``limit`` characters long when
        ``limit`` >= 3 (a smaller one is not refused but can give a longer line).

    >>> one_line("first\\nsecond")
    'first'
    >>> one_line("x" * 10, limit=8)
    'xxxxx...'
    """
    stripped = str(text).strip()
    line = stripped.splitlines()[0] if stripped else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def show_path(path: str | Path) -> str:
    """``path`` relative to the working directory where it lies below it, else as given.

    Shorter messages and tables; used by the grader and by ``tools/make_exercises.py``.

    Args:
        path: a file or folder path (it need not exist).

    Returns:
        The relative path as a ``str`` (symlinks resolved), or ``str(path)`` unchanged when
        it lies outside the working directory.

    Raises:
        TypeError: ``path`` is not a ``str`` or ``os.PathLike``.

    >>> show_path(Path.cwd() / "solutions" / "01.ipynb") == str(Path("solutions") / "01.ipynb")
    True
    """
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class CheckResult:
    """One check cell's outcome.

    Attributes:
        exercise: the exercise the cell checks (``metadata.course.check``).
        cell_id: the check cell's id.
        points: what the cell is worth (``metadata.course.points``).
        error: the exception's name (``"AssertionError"``, ``"Timeout"``, ``"NotRun"`` when the
            kernel died first), or None when the cell ran without raising (passed).
        message: the error's whole message (for a call of the student's function: the call
            with its inputs, and the student's line), or for a bare ``assert`` the check's
            line that failed; empty when it passed.
    """

    exercise: str
    cell_id: str
    points: int
    error: str | None = None
    message: str = ""

    @property
    def passed(self) -> bool:
        """True when the check cell raised nothing."""
        return self.error is None


@dataclass
class Report:
    """Everything :func:`course_lib.grading.grade` found out about one notebook.

    Attributes:
        notebook: the graded notebook's path, as given.
        solution: the solution notebook the checks came from.
        checks: one result per check cell, in the order they ran.
        warnings: read-only cells edited, deleted or moved, and code that can tamper with
            the checks (printed as ``warning:`` lines).
        notes: other (student) cells that raised (printed as ``note:`` lines).
    """

    notebook: str
    solution: str
    checks: list[CheckResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def exercises(self) -> dict[str, dict[str, Any]]:
        """Per exercise, in notebook order: ``{"passed", "earned", "max", "error", "message"}``.

        An exercise passes when all its check cells pass; ``error``/``message`` are those of
        its first failing check (None/"" when it passed); points are summed over its checks.
        """
        out: dict[str, dict[str, Any]] = {}
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
        """Points earned: the sum over the check cells that passed."""
        return sum(c.points for c in self.checks if c.passed)

    @property
    def total(self) -> int:
        """Points possible: the sum over all check cells."""
        return sum(c.points for c in self.checks)

    @property
    def passed(self) -> bool:
        """True when there is at least one check and every check passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for ``--json``): notebook, solution, score, total, passed,
        exercises (as :meth:`exercises`), warnings and notes."""
        return {
            "notebook": self.notebook,
            "solution": self.solution,
            "score": self.score,
            "total": self.total,
            "passed": self.passed,
            "exercises": self.exercises(),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    def feedback(self) -> str:
        """The report as Markdown for the student: score, one section per exercise (points and,
        when it failed, the whole message), then warnings and notes."""
        lines = [f"# Feedback: {Path(self.notebook).name}", "", f"**Score: {self.score} / {self.total}**", ""]
        for name, e in self.exercises().items():
            verdict = "passed" if e["passed"] else f"failed ({e['error']})"
            lines += [f"## {name}: {e['earned']} / {e['max']} points, {verdict}", ""]
            if not e["passed"] and e["message"]:
                lines += ["```text", str(e["message"]).strip(), "```", ""]
        for title, items in (("Warnings", self.warnings), ("Notes", self.notes)):
            if items:
                lines += [f"## {title}", ""] + [f"- {item}" for item in items] + [""]
        return "\n".join(lines)

    def format(self) -> str:
        """The printed table: header, warnings, notes, one row per exercise, messages, score.

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
                message = str(e["message"]).strip().replace("\n", "\n      ")
                lines.append(f"  {name}: {e['error']}: {message}")
        lines.append(f"  score: {self.score}/{self.total}")
        return "\n".join(lines)
