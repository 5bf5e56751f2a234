"""The grader's command line: ``python -m course_lib.grade NOTEBOOK_OR_FOLDER...`` (or ``-m course_lib.grading``).

Prints one table per notebook (see :meth:`~course_lib.grading.report.Report.format`), and for
several notebooks a summary line; a class at once with ``--jobs``, ``--csv``, ``--feedback``
and ``--json`` (see :mod:`.classroom`). Exit codes: 0 when every check of every notebook passes,
1 when some check fails, 2 when some file cannot be graded (its one-line ``error:`` goes to
stderr; the other notebooks are still graded).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from course_lib._checks import check_int
from course_lib.grading.classroom import Outcome, expand, grade_many, to_json, write_csv, write_feedback
from course_lib.grading.load import DEFAULT_SOLUTIONS, GradeError
from course_lib.grading.report import Report
from course_lib.grading.run import DEFAULT_TIMEOUT
from course_lib.grading.session import Limits

__all__ = ["EXIT_PASS", "EXIT_FAIL", "EXIT_NOT_GRADABLE", "main"]

EXIT_PASS, EXIT_FAIL, EXIT_NOT_GRADABLE = 0, 1, 2


def _positive(unit: str, minimum: int = 1):
    """argparse type: an int >= ``minimum``, in ``unit`` (a timeout of 0 would mean *no* limit to nbclient)."""

    def parse(text: str) -> int:
        try:
            return check_int(int(text), unit, minimum)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum} ({unit}), got {text!r}") from None

    return parse


_seconds = _positive("seconds")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.grade",
        description="Grade exercise notebooks (files, or folders of them) with the canonical checks "
        "from the solutions.",
    )
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK_OR_FOLDER")
    parser.add_argument(
        "--solutions", default=None, metavar="DIR", help=f"canonical notebooks (default: {DEFAULT_SOLUTIONS})"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds one cell, or one call of a student's function, may run (default: {DEFAULT_TIMEOUT})",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=_seconds,
        default=Limits.notebook_seconds,
        metavar="S",
        help=f"seconds one whole notebook may run (default: {Limits.notebook_seconds})",
    )
    parser.add_argument(
        "--memory-mb",
        type=_positive("MiB", 1024),  # a kernel that imports torch needs about 1 GiB of address space
        default=Limits.memory_mb,
        metavar="MB",
        help=f"memory (address space) of each notebook's kernel, MiB (default: {Limits.memory_mb})",
    )
    parser.add_argument(
        "--jobs", type=_positive("notebooks"), default=1, metavar="N", help="notebooks graded at once (default: 1)"
    )
    parser.add_argument("--csv", default=None, metavar="FILE", help="write the gradebook: one row per file")
    parser.add_argument("--feedback", default=None, metavar="DIR", help="write one Markdown feedback file per file")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write the JSON report to FILE, or without FILE to standard output (instead of the tables)",
    )
    return parser


def _check_outputs(args: argparse.Namespace) -> str | None:
    """Why an output path cannot be written (checked before any grading), else None."""
    for flag, value in (("--csv", args.csv), ("--json", None if args.json == "-" else args.json)):
        if value is None:
            continue
        path = Path(value)
        if path.is_dir():
            return f"{flag}: {value} is a folder; give a file name"
        if not path.parent.is_dir():
            return f"{flag}: the folder {path.parent} does not exist"
        if path.suffix == ".ipynb":
            return f"{flag}: {value} would overwrite a notebook"
    if args.feedback is not None and Path(args.feedback).exists() and not Path(args.feedback).is_dir():
        return f"--feedback: {args.feedback} exists and is not a folder"
    return None


def _summary(reports: list[Report], count: int) -> str:
    """The last line when ``count`` notebooks were given and ``reports`` could be graded."""
    ok = sum(r.passed for r in reports)
    failed = count - len(reports)
    return f"{ok} of {count} notebooks pass every check" + (f"; {failed} could not be graded" if failed else "")


def _write(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    if args.csv:
        write_csv(outcomes, Path(args.csv))
    if args.feedback:
        write_feedback(outcomes, Path(args.feedback))
    if args.json == "-":
        print(to_json(outcomes))
    elif args.json:
        Path(args.json).write_text(to_json(outcomes) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Grade each notebook named in ``argv`` (folders: every notebook in them) and report.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``): ``NOTEBOOK_OR_FOLDER... [--solutions
            DIR] [--timeout S] [--notebook-timeout S] [--memory-mb MB] [--jobs N] [--csv FILE]
            [--feedback DIR] [--json [FILE]]``.

    Returns:
        The exit code: :data:`EXIT_PASS` (0), :data:`EXIT_FAIL` (1) or :data:`EXIT_NOT_GRADABLE`
        (2), the worst over the notebooks; 2 also for a path that does not exist or an output
        that cannot be written (nothing is graded then).

    Raises:
        SystemExit: (from argparse, code 2) on bad arguments or ``--help``.
    """
    args = _parser().parse_args(argv)
    problem = _check_outputs(args)
    try:
        named = expand(args.notebooks)
    except GradeError as e:
        problem = problem or str(e)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_NOT_GRADABLE
    limits = Limits(cell_seconds=args.timeout, notebook_seconds=args.notebook_timeout, memory_mb=args.memory_mb)
    outcomes = grade_many(named, args.solutions, limits, args.jobs)
    worst = EXIT_PASS
    for o in outcomes:
        if o.report is None:
            print(f"error: {o.error}", file=sys.stderr)
            worst = EXIT_NOT_GRADABLE
            continue
        if args.json != "-":
            print(o.report.format())
        if not o.report.passed:
            worst = max(worst, EXIT_FAIL)
    if len(outcomes) > 1 and args.json != "-":
        print(_summary([o.report for o in outcomes if o.report], len(outcomes)))
    _write(outcomes, args)
    return worst
