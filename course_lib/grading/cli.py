"""The grader's command line: ``python -m course_lib.grade NOTEBOOK...`` (or ``-m course_lib.grading``).

Prints one table per notebook (see :meth:`~course_lib.grading.report.Report.format`), and for
several notebooks a summary line. Exit codes: 0 when every check of every notebook passes,
1 when some check fails, 2 when some file cannot be graded (its one-line ``error:`` goes to
stderr; the other notebooks are still graded).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from course_lib._checks import check_int
from course_lib.grading.load import DEFAULT_SOLUTIONS, GradeError
from course_lib.grading.report import Report
from course_lib.grading.run import DEFAULT_TIMEOUT, grade

__all__ = ["EXIT_PASS", "EXIT_FAIL", "EXIT_NOT_GRADABLE", "main"]

EXIT_PASS, EXIT_FAIL, EXIT_NOT_GRADABLE = 0, 1, 2


def _seconds(text: str) -> int:
    """argparse type of ``--timeout``: an int >= 1 (nbclient reads 0 or -1 as *no* limit)."""
    try:
        return check_int(int(text), "timeout", 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1 (seconds), got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
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
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds one cell may run (default: {DEFAULT_TIMEOUT})",
    )
    return parser


def _summary(reports: list[Report], count: int) -> str:
    """The last line when ``count`` notebooks were given and ``reports`` could be graded."""
    ok = sum(r.passed for r in reports)
    failed = count - len(reports)
    return f"{ok} of {count} notebooks pass every check" + (f"; {failed} could not be graded" if failed else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Grade each notebook named in ``argv`` and print its table.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``): ``NOTEBOOK... [--solutions DIR]
            [--timeout S]``.

    Returns:
        The exit code: :data:`EXIT_PASS` (0), :data:`EXIT_FAIL` (1) or :data:`EXIT_NOT_GRADABLE`
        (2), the worst over the notebooks.

    Raises:
        SystemExit: (from argparse, code 2) on bad arguments or ``--help``.
    """
    args = _parser().parse_args(argv)
    worst = EXIT_PASS
    reports = []
    for nb in args.notebooks:
        try:
            report = grade(nb, args.solutions, args.timeout)
        except GradeError as e:
            print(f"error: {e}", file=sys.stderr)
            worst = EXIT_NOT_GRADABLE
            continue
        reports.append(report)
        print(report.format())
        if not report.passed:
            worst = max(worst, EXIT_FAIL)
    if len(args.notebooks) > 1:
        print(_summary(reports, len(args.notebooks)))
    return worst
