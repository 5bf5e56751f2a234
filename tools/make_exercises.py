"""Generate exercises/ from solutions/: each solution block becomes a stub.

    python tools/make_exercises.py            # (re)generate exercises/
    python tools/make_exercises.py --check    # exit 1 listing files out of sync
    python tools/make_exercises.py --force    # also overwrite exercises a student edited

The conventions are nbgrader's (its "autograded answer" cells and solution delimiters).
In a code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``
become one ``raise NotImplementedError`` at the indentation of the BEGIN line;
in a markdown cell they become ``YOUR ANSWER HERE``. Outputs, execution counts
and widget state are stripped; cell ids and metadata are kept (the grader
matches cells by id). Every read-only cell (``metadata.course.check`` or
``.locked``) gets ``metadata.course.checksum``, the SHA-256 of its source. The cell
helpers (ids, checksums, read-only) are the grader's, from :mod:`course_lib.grading.cells`.

Nothing lost: the notebook metadata ``course.generated_sha256`` is a hash of
what was generated (cell types, ids and sources). A file in exercises/ whose
cells no longer hash to its stored value was edited (by a student working in
exercises/); the generator refuses to overwrite or delete it, names it, and
leaves it unchanged, unless ``--force``. Outputs and metadata are not part of
the hash: running an untouched exercise does not make it "edited".
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_lib.grading.cells import checksum, fill_ids, is_read_only
from course_lib.grading.report import show_path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = re.compile(r"^(\s*)###\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*###\s*END SOLUTION\s*$")
STUB = "raise NotImplementedError"
ANSWER = "YOUR ANSWER HERE"


class SolutionError(Exception):
    """A solution notebook the generator cannot turn into an exercise (the message names the cell)."""


def strip_solution(source: str, cell_type: str = "code") -> str:
    """Replace every BEGIN/END SOLUTION block of ``source`` by its stub.

    Args:
        source: a cell's source.
        cell_type: ``"code"`` (stub ``raise NotImplementedError``, at the BEGIN line's
            indentation) or ``"markdown"`` (stub ``YOUR ANSWER HERE``).

    Returns:
        The source with each block, delimiters included, replaced by one stub line.

    Raises:
        SolutionError: a BEGIN without END, an END without BEGIN, or nested blocks (naming the line).

    >>> print(strip_solution("def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION\\n"))
    def f(x):
        raise NotImplementedError
    <BLANKLINE>
    >>> strip_solution("Why?\\n### BEGIN SOLUTION\\nBecause.\\n### END SOLUTION", "markdown")
    'Why?\\nYOUR ANSWER HERE'
    """
    out, inside = [], False
    for n, line in enumerate(source.splitlines(keepends=True), 1):
        begin, end = BEGIN.match(line.rstrip("\r\n")), END.match(line.rstrip("\r\n"))
        if begin:
            if inside:
                raise SolutionError(f"line {n}: BEGIN SOLUTION inside another solution block")
            inside = True
            stub = STUB if cell_type == "code" else ANSWER
            out.append(begin.group(1) + stub + ("\n" if line.endswith("\n") else ""))
        elif end:
            if not inside:
                raise SolutionError(f"line {n}: END SOLUTION without BEGIN SOLUTION")
            inside = False
            if not line.endswith("\n") and out and out[-1].endswith("\n"):
                out[-1] = out[-1][:-1]
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionError("BEGIN SOLUTION without END SOLUTION")
    return "".join(out)


def content_hash(nb: NotebookNode) -> str:
    """Hash of what a student writes in a notebook: cell types, ids and sources, in order.

    Outputs and metadata are left out, so running a notebook does not change it.

    Returns:
        The SHA-256 (hex) of the JSON list ``[[cell_type, id, source], ...]``.
    """
    cells = [
        [c.cell_type, c.get("id"), "".join(c.source) if isinstance(c.source, list) else c.source] for c in nb.cells
    ]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()


def make_exercise(solution: NotebookNode, name: str) -> NotebookNode:
    """The exercise notebook generated from a solution notebook (which is not changed).

    Args:
        solution: the solution notebook (nbformat 4).
        name: its file name, stored as ``metadata.course.exercise`` (the grader finds the
            solution by it).

    Returns:
        A new notebook: solution blocks stubbed, outputs and widget state stripped, stable
        ids filled in, read-only cells checksummed, ``metadata.course.generated_sha256`` set.

    Raises:
        SolutionError: duplicate cell ids, malformed solution blocks, ``metadata.course`` not
            a dict, or a check's ``points`` not an int >= 0.
    """
    nb = copy.deepcopy(solution)
    nb.metadata.pop("widgets", None)
    fill_ids(nb)  # nbformat < 4.5: stable ids, the same the grader derives
    seen = set()
    for i, cell in enumerate(nb.cells):
        cid = cell["id"]
        if cid in seen:
            raise SolutionError(f"cell {i}: duplicate cell id '{cid}'")
        seen.add(cid)
        try:
            cell.source = strip_solution(cell.source, cell.cell_type)
        except SolutionError as e:
            raise SolutionError(f"cell {i} ('{cid}'): {e}") from None
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        course = cell.metadata.get("course")
        if course is not None and not isinstance(course, dict):
            raise SolutionError(f"cell {i} ('{cid}'): metadata 'course' must be a dict")
        if course and course.get("check"):
            points = course.get("points", 1)
            if not isinstance(points, int) or isinstance(points, bool) or points < 0:
                raise SolutionError(f"cell {i} ('{cid}'): points must be an int >= 0, got {points!r}")
        if is_read_only(cell):
            cell.metadata["course"] = {**course, "checksum": checksum(cell.source)}
    meta = dict(nb.metadata.get("course", {}))
    meta.pop("generated_sha256", None)
    meta["exercise"] = name
    nb.metadata["course"] = meta
    nb.metadata["course"]["generated_sha256"] = content_hash(nb)
    return nb


def render(nb: NotebookNode) -> str:
    """The exact text the generator writes (nbformat's layout, one trailing newline)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _read_solution(path: Path) -> NotebookNode:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        raise SolutionError(f"{path}: cannot read it as a notebook ({str(e).splitlines()[0]})") from None
    try:
        return make_exercise(nb, path.name)
    except SolutionError as e:
        raise SolutionError(f"{path}: {e}") from None


def was_edited(path: Path) -> bool:
    """True when the file at ``path`` is not, cell for cell, something this tool generated.

    An unreadable file, or one without ``metadata.course.generated_sha256``, counts as edited
    (it may be half-saved student work).
    """
    try:
        nb = nbformat.read(path, as_version=4)
        stored = nb.metadata.get("course", {}).get("generated_sha256")
    except Exception:
        return True  # unreadable: maybe half-saved student work, never clobber it silently
    return not stored or stored != content_hash(nb)


def plan(solutions: Path, exercises: Path) -> tuple[dict[Path, str], list[Path]]:
    """What should be in exercises/: ``{path: text}``, and the exercise files with no solution.

    Raises:
        SolutionError: a solution notebook cannot be read or turned into an exercise.
    """
    wanted = {}
    for sol in sorted(solutions.glob("*.ipynb")):
        wanted[exercises / sol.name] = render(_read_solution(sol))
    orphans = [p for p in sorted(exercises.glob("*.ipynb")) if p not in wanted]
    return wanted, orphans


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def check(solutions: Path, exercises: Path) -> list[str]:
    """Problems that make exercises/ differ from what would be generated now (empty: in sync).

    Returns:
        One line per file: ``missing: ...``, ``out of sync: ...`` (with ``(edited by hand)``
        when a student changed it) or ``no source in solutions/: ...``.

    Raises:
        SolutionError: as :func:`plan`.
    """
    wanted, orphans = plan(solutions, exercises)
    problems = []
    for path, text in wanted.items():
        current = _read_text(path)
        if current is None:
            problems.append(f"missing: {show_path(path)}")
        elif current != text:
            problems.append(f"out of sync: {show_path(path)}" + (" (edited by hand)" if was_edited(path) else ""))
    problems += [f"no source in {show_path(solutions)}/: {show_path(p)}" for p in orphans]
    return problems


def generate(solutions: Path, exercises: Path, force: bool = False, log: Callable[[str], object] = print) -> list[Path]:
    """Write exercises/ from solutions/: new and changed files (atomically), orphans removed.

    Args:
        solutions: the folder of solution notebooks.
        exercises: the folder to write (created if missing).
        force: also overwrite or remove exercises a student edited.
        log: called with one line per file written, removed or refused.

    Returns:
        The files left unchanged because they were edited (never without ``force``).

    Raises:
        SolutionError: as :func:`plan` (nothing is written then).
    """
    wanted, orphans = plan(solutions, exercises)
    exercises.mkdir(parents=True, exist_ok=True)
    refused = []
    for path, text in wanted.items():
        current = _read_text(path)
        if current == text:
            continue
        if path.exists() and was_edited(path) and not force:
            refused.append(path)
            continue
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        log(f"wrote {show_path(path)}")
    for path in orphans:
        if was_edited(path) and not force:
            refused.append(path)
            continue
        path.unlink()
        log(f"removed {show_path(path)} (its solution is gone)")
    for path in refused:
        log(
            f"refused: {show_path(path)} was edited since it was generated; it is left unchanged. "
            "Move your work elsewhere, or pass --force to overwrite it."
        )
    return refused


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module's docstring).

    Returns:
        0 when done (or in sync with ``--check``), 1 when a file was refused (or out of sync),
        2 on a malformed solution notebook.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files out of sync (exit 1)")
    parser.add_argument("--force", action="store_true", help="overwrite exercises even if edited")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--exercises", type=Path, default=ROOT / "exercises")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(args.solutions, args.exercises)
            for p in problems:
                print(p)
            if problems:
                print("run `make exercises` to regenerate exercises/ from solutions/")
            return 1 if problems else 0
        return 1 if generate(args.solutions, args.exercises, force=args.force) else 0
    except SolutionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
