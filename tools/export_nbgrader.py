"""Export solutions/ as an nbgrader course: source notebooks with nbgrader's cell metadata.

    python tools/export_nbgrader.py OUTDIR [--assignment NAME] [--solutions DIR]

writes ``OUTDIR/nbgrader_config.py`` and ``OUTDIR/source/<assignment>/<notebook>.ipynb`` for
every solution notebook (default assignment ``pruning``). Then, in OUTDIR,
``nbgrader generate_assignment <assignment>`` writes the student version to ``release/`` and
``nbgrader autograde <assignment>`` grades ``submitted/<student>/<assignment>/``.

Each cell's ``metadata.course`` (see :mod:`course_lib.grading.cells`) becomes nbgrader's
``metadata.nbgrader`` (schema version 3):

* a check cell (``course.check``, ``course.points``) -> an autograder test: ``grade`` and
  ``locked``, with its points, ``grade_id`` ``check-<name>``;
* a solution cell (``course.solution``) -> an autograded answer: ``solution``, ``grade_id``
  ``solution-<name>`` (in markdown: a manually graded answer worth 0 points); its
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` block is kept (nbgrader uses the same delimiters);
* a locked cell (``course.locked``) -> a read-only cell, ``grade_id`` its cell id.

The notebooks are otherwise the solutions as ``tools/make_exercises.py`` sees them (same
validation, outputs and widget state stripped, stable cell ids); ``metadata.course`` and the
``editable``/``deletable`` flags are dropped (nbgrader locks the released cells itself). The
written ``nbgrader_config.py`` makes nbgrader's stub ``raise NotImplementedError``, as in
exercises/. Nothing is written into an existing non-empty OUTDIR.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from course_lib.grading.cells import check_of

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package: import its sibling
from make_exercises import SolutionError, make_exercise  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # an assignment name: a safe folder name, as nbgrader's ids
CONFIG = """\
# nbgrader configuration, written by tools/export_nbgrader.py (edit it as you need).
c = get_config()  # noqa: F821

# The stub of a cleared solution, the same as in the course's exercises/ folder.
c.ClearSolutions.code_stub = {"python": "raise NotImplementedError"}
# Seconds per cell when autograding; a check cell runs in seconds on 2 CPU cores.
c.Execute.timeout = 300
# For nbgrader's exchange (release_assignment, collect), name your course:
# c.CourseDirectory.course_id = "pruning"
"""


class ExportError(Exception):
    """The export cannot be written (the message says why, in one line)."""


def nbgrader_metadata(cell: NotebookNode) -> dict[str, Any] | None:
    """nbgrader's metadata (schema 3) for a cell of a solution notebook, or None for a free cell.

    Args:
        cell: a cell with the course's ``metadata.course`` (and an id, as ``fill_ids`` gives).

    Returns:
        ``{"grade", "solution", "locked", "task", "schema_version", "grade_id"[, "points"]}``:
        a check cell is ``grade`` + ``locked`` with float ``points``, a code solution cell is
        ``solution``, a markdown one ``solution`` + ``grade`` with 0 points (nbgrader's
        manually graded answer: set its points in the source notebook to grade it), a locked
        cell ``locked``; ``None`` for a cell with none of these. The ``grade_id`` may collide
        with another cell's: :func:`to_nbgrader` makes them unique.

    Raises:
        ValueError, TypeError: a check's points are not a number (as :func:`check_of`;
            :func:`to_nbgrader` refuses those first).

    >>> from nbformat.v4 import new_code_cell
    >>> check = new_code_cell("assert f(1) == 2", metadata={"course": {"check": "f", "points": 3}})
    >>> meta = nbgrader_metadata(check)
    >>> meta["grade"], meta["locked"], meta["solution"], meta["points"], meta["grade_id"]
    (True, True, False, 3.0, 'check-f')
    >>> nbgrader_metadata(new_code_cell("x = 1")) is None
    True
    """
    course = cell.get("metadata", {}).get("course", {})
    course = course if isinstance(course, dict) else {}
    meta: dict[str, Any] = {"grade": False, "solution": False, "locked": False, "task": False, "schema_version": 3}
    check = check_of(cell)
    if check is not None:
        meta.update(grade=True, locked=True, points=float(check[1]), grade_id=f"check-{check[0]}")
    elif course.get("solution"):
        meta.update(solution=True, grade_id=f"solution-{course['solution']}")
        if cell.cell_type == "markdown":  # nbgrader: a written answer, graded by hand
            meta.update(grade=True, points=0.0)
    elif course.get("locked"):
        meta.update(locked=True, grade_id=str(cell.get("id")))
    else:
        return None
    return meta


def _unique_id(wanted: str, taken: set[str]) -> str:
    """``wanted`` made a valid grade_id (other characters become ``_``) not in ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_-]", "_", wanted) or "cell"
    grade_id, n = base, 1
    while grade_id in taken:
        n += 1
        grade_id = f"{base}-{n}"
    taken.add(grade_id)
    return grade_id


def to_nbgrader(solution: NotebookNode, name: str) -> NotebookNode:
    """The nbgrader source notebook made from a solution notebook (which is not changed).

    Args:
        solution: a solution notebook of the course (nbformat 4).
        name: its file name (for :func:`make_exercise`'s validation).

    Returns:
        A new notebook: the solution's cells and sources, outputs and widget state stripped,
        stable cell ids, ``metadata.nbgrader`` from :func:`nbgrader_metadata` with unique
        grade ids, ``metadata.course`` and ``editable``/``deletable`` removed.

    Raises:
        SolutionError: the notebook is not a valid solution (as ``tools/make_exercises.py``).
    """
    nb = make_exercise(solution, name)  # validates; strips outputs; fills ids
    nb.metadata.pop("course", None)
    taken: set[str] = set()
    for cell, original in zip(nb.cells, solution.cells, strict=True):
        cell.source = original.source  # keep the solution blocks: nbgrader clears them itself
        meta = nbgrader_metadata(cell)
        for key in ("course", "editable", "deletable"):
            cell.metadata.pop(key, None)
        if meta is not None:
            meta["grade_id"] = _unique_id(meta["grade_id"], taken)
            cell.metadata["nbgrader"] = meta
    return nb


def export(solutions: Path, outdir: Path, assignment: str = "pruning") -> list[Path]:
    """Write the nbgrader course skeleton for every ``*.ipynb`` in ``solutions``.

    Args:
        solutions: the folder of solution notebooks.
        outdir: the course directory to write; created if missing, refused if not empty.
        assignment: nbgrader's assignment name (letters, digits, ``_`` and ``-``).

    Returns:
        The notebooks written, ``outdir/source/<assignment>/<name>.ipynb``, sorted by name.

    Raises:
        ExportError: a bad assignment name, no solutions folder or no notebook in it, or an
            existing non-empty ``outdir`` (nothing is written then).
        SolutionError: a malformed solution notebook, named with its path (nothing is written).
    """
    if not NAME.match(assignment):
        raise ExportError(f"assignment must be letters, digits, '_' or '-', got {assignment!r}")
    if not solutions.is_dir():
        raise ExportError(f"no solutions folder at {solutions}")
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise ExportError(f"{outdir} exists and is not an empty folder; nothing written (choose a new one)")
    paths = sorted(solutions.glob("*.ipynb"))
    if not paths:
        raise ExportError(f"no .ipynb notebook in {solutions}")
    notebooks = {}
    for path in paths:
        try:
            notebooks[path.name] = to_nbgrader(nbformat.read(path, as_version=4), path.name)
        except SolutionError as e:
            raise SolutionError(f"{path}: {e}") from None
    folder = outdir / "source" / assignment
    folder.mkdir(parents=True)
    (outdir / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)
    return [folder / name for name in notebooks]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module's docstring).

    Returns:
        0 when written, 2 on an error (one line on stderr, nothing written).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="the nbgrader course directory to create")
    parser.add_argument("--assignment", default="pruning", help="nbgrader assignment name (default: pruning)")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions", help="the solution notebooks")
    args = parser.parse_args(argv)
    try:
        written = export(args.solutions, args.outdir, args.assignment)
    except (ExportError, SolutionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} notebooks to {written[0].parent} and {args.outdir / 'nbgrader_config.py'}")
    print(f"next: cd {args.outdir} && nbgrader generate_assignment {args.assignment}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
