"""Reading a notebook to grade, and finding the solution notebook it is an exercise of.

Everything that makes a file ungradable raises :class:`GradeError` with a one-line message
naming the file (the command line prints it and exits 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_lib.grading.cells import checksum, is_read_only, stored_checksum
from course_lib.grading.report import one_line

__all__ = ["GradeError", "DEFAULT_SOLUTIONS", "load", "find_solution"]

#: Where the grader looks for the canonical notebooks by default: the repository's solutions/.
DEFAULT_SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


class GradeError(Exception):
    """The file cannot be graded (unreadable, not a notebook, not an exercise of this course)."""


def _read_json(path: Path) -> str:
    """The file's text, checked to be JSON with ``cells`` and ``nbformat`` (a notebook's shape)."""
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
    return text


def load(path: Path) -> NotebookNode:
    """The notebook at ``path``, read as nbformat 4.

    Args:
        path: a ``.ipynb`` file.

    Returns:
        The notebook (cells without ids keep none; see :func:`~course_lib.grading.cells.fill_ids`).

    Raises:
        GradeError: the file is missing or unreadable, is not JSON, or is not a valid notebook
            (every cell needs a ``cell_type`` and a ``source``).
    """
    text = _read_json(path)
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises various errors on malformed notebooks
        raise GradeError(f"{path}: not a valid notebook ({one_line(e)})") from None
    for i, c in enumerate(nb.cells):
        if not isinstance(c, dict) or "cell_type" not in c or "source" not in c:
            raise GradeError(f"{path}: not a valid notebook (cell {i} has no cell_type or source)")
    return nb


def _ties(nb: NotebookNode, solution: NotebookNode) -> int:
    """How many read-only cells of ``solution`` appear in ``nb``, by id, stored checksum or source."""
    seen = {c.get("id") for c in nb.cells} | {checksum(c.get("source", "")) for c in nb.cells}
    seen |= {stored_checksum(c) for c in nb.cells} - {None}
    return sum(bool({c.get("id"), checksum(c.source)} & seen) for c in solution.cells if is_read_only(c))


def find_solution(path: Path, nb: NotebookNode, solutions_dir: Path) -> Path:
    """The solution notebook that ``nb`` (read from ``path``) is an exercise of.

    The generator writes the solution's file name into the exercise's metadata
    (``metadata.course.exercise``). Without it (a tool dropped the metadata, or the student
    pasted the cells into a new notebook, with new ids and another file name), the solution
    is the one whose read-only cells (checks, instructions, setup) ``nb`` holds the most of,
    found by id, by the checksum the generator stored, or by their unchanged source.

    Args:
        path: where ``nb`` was read from (for the messages).
        nb: the student's notebook.
        solutions_dir: the folder of solution notebooks.

    Returns:
        The path of the solution notebook in ``solutions_dir``.

    Raises:
        GradeError: the named solution is not in ``solutions_dir``, or no read-only cell of any
            notebook there is in ``nb``, or two solutions match equally well.
    """
    meta = nb.metadata.get("course", {})
    name = meta.get("exercise") if isinstance(meta, dict) else None
    if name:
        sol = solutions_dir / Path(str(name)).name
        if not sol.is_file():
            raise GradeError(f"{path}: made from {name}, which is not in {solutions_dir}")
        return sol
    ties = {sol: _ties(nb, load(sol)) for sol in sorted(solutions_dir.glob("*.ipynb"))}
    best = max(ties.values(), default=0)
    found = [sol for sol, n in ties.items() if n == best]
    if best == 0:
        raise GradeError(
            f"{path}: not an exercise of this course (no course metadata, and none of its cells is a "
            f"check or instruction of a notebook in {solutions_dir})"
        )
    if len(found) > 1:
        names = ", ".join(s.name for s in found)
        raise GradeError(f"{path}: matches several exercises equally ({names}); add metadata.course.exercise")
    return found[0]
