"""The notebook the grader runs: the student's cells, with the solution's read-only cells.

The nbgrader way (its "locked" and "grade" cells, restored from the source notebook before
autograding): every read-only cell (a check or a locked cell, see
:mod:`course_lib.grading.cells`) of the solution is matched with the student's copy of it
and its *source is taken from the solution*, so editing a check (say into ``assert True``)
changes nothing. The steps of :func:`merge`:

1. match: each read-only cell of the solution with a student cell, by cell id, or when an
   editor dropped the ids, by the checksum the generator stored or by the unchanged source;
2. replace: a matched cell by a clean copy of the solution's, warning if it differed;
3. demote: a student cell that only claims to be read-only (copied metadata) or repeats a
   matched id becomes an ordinary cell with a new id, which counts for nothing;
4. put back: a read-only cell the student deleted, after the cell that precedes it in the
   solution;
5. warn if the read-only cells run in another order than in the solution.

:func:`suspicious` flags student code that can still change how the checks run (the grader
is no sandbox).
"""

from __future__ import annotations

import copy
import re

from nbformat import NotebookNode

from course_lib.grading.cells import checksum, is_read_only, stored_checksum

__all__ = ["merge", "suspicious", "tamper_warnings"]


def _canonical_copy(cell: NotebookNode) -> NotebookNode:
    """A copy of a solution cell, without outputs or execution count."""
    new = copy.deepcopy(cell)
    if new.cell_type == "code":
        new.outputs = []
        new.execution_count = None
    return new


def _match(cells: list[NotebookNode], canon: dict[str, NotebookNode]) -> dict[int, str]:
    """{index in ``cells``: id of the read-only cell of ``canon`` it is the student's copy of}.

    First by id (the first cell with an id wins); then, for read-only cells still unmatched,
    by the checksum stored in a cell's metadata or by the checksum of its source.
    """
    match: dict[int, str] = {}
    for n, cell in enumerate(cells):
        cid = cell.get("id")
        if isinstance(cid, str) and cid in canon and cid not in match.values():
            match[n] = cid
    left: dict[str, list[str]] = {}
    for cid, ref in canon.items():
        if cid not in match.values():
            left.setdefault(checksum(ref.source), []).append(cid)
    for n, cell in enumerate(cells):
        if n in match or cell.get("id") in canon:
            continue
        for key in (stored_checksum(cell), checksum(cell.get("source", ""))):
            if key and left.get(key):
                match[n] = left[key].pop(0)
                break
    return match


def _change(cell: NotebookNode, ref: NotebookNode, cid: str) -> str | None:
    """The warning for a student's copy ``cell`` of the read-only cell ``ref``, None if unchanged."""
    source = checksum(cell.get("source", ""))
    if cell.cell_type != ref.cell_type:
        return (
            f"read-only cell '{cid}' was turned into a {cell.cell_type} cell; "
            f"the original {ref.cell_type} cell was used"
        )
    if source == checksum(ref.source):
        return None
    if stored_checksum(cell) == source:  # as generated, from an older solution
        return (
            f"read-only cell '{cid}' differs from the current solutions "
            "(exercise made from an older version); the current one was used"
        )
    return f"read-only cell '{cid}' was edited; its original source was used"


def _demoted(cell: NotebookNode, n: int, canon: dict[str, NotebookNode]) -> NotebookNode:
    """A copy of the unmatched student cell ``n``; one posing as read-only loses that role and id."""
    cell = copy.deepcopy(cell)
    if is_read_only(cell) or cell.get("id") in canon:  # an impostor, or a duplicate
        cell.get("metadata", {}).pop("course", None)
        cell["id"] = f"student-{n}"
    return cell


def _put_back(
    cells: list[NotebookNode], order: list[str], canon: dict[str, NotebookNode]
) -> tuple[list[NotebookNode], list[str]]:
    """``cells`` with every read-only cell missing from them re-inserted, and a warning for each.

    A missing cell goes right after the nearest cell that precedes it in the solution's
    ``order`` and is present, else first.
    """
    cells = list(cells)
    ids = [c.get("id") for c in cells]
    warnings = []
    for i, cid in enumerate(order):
        if cid not in canon or cid in ids:
            continue
        present = [prev for prev in reversed(order[:i]) if prev in ids]
        pos = ids.index(present[0]) + 1 if present else 0
        cells.insert(pos, _canonical_copy(canon[cid]))
        ids.insert(pos, cid)
        warnings.append(f"read-only cell '{cid}' was deleted; it was put back")
    return cells, warnings


def merge(student: NotebookNode, solution: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """The notebook to run: the student's cells with every read-only cell of ``solution``.

    Read-only cells are matched by id (or checksum, see the module's docstring) and take
    the solution's source and metadata; a missing one is re-inserted after the cell that
    precedes it in the solution. A student cell that merely claims to be read-only (copied
    metadata) is demoted. Neither argument is changed.

    Args:
        student: the notebook to grade.
        solution: its solution notebook, every cell with an id
            (see :func:`~course_lib.grading.cells.fill_ids`).

    Returns:
        ``(notebook, warnings)``: a new notebook (the student's metadata, the merged cells)
        and one warning (``str``) per read-only cell changed, deleted or moved.

    Raises:
        AttributeError: a cell without ``cell_type`` or ``source``, which a notebook read by
            :func:`~course_lib.grading.load.load` never has (it raises ``GradeError`` first).

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
    match = _match(student.cells, canon)
    cells, warnings = [], []
    for n, cell in enumerate(student.cells):
        if n in match:
            ref = canon[match[n]]
            cells.append(_canonical_copy(ref))
            warnings += [w for w in [_change(cell, ref, match[n])] if w]
        else:
            if is_read_only(cell):
                warnings.append(
                    f"cell {n} ('{cell.get('id')}') claims to be a check or locked cell but is not one of the "
                    "solution's: it ran as your own cell and counts for nothing"
                )
            cells.append(_demoted(cell, n, canon))
    cells, deleted = _put_back(cells, order, canon)
    warnings += deleted
    if [c.get("id") for c in cells if c.get("id") in canon] != [i for i in order if i in canon]:
        warnings.append("read-only cells were moved; they ran in the student's order")
    nb = copy.deepcopy(student)
    nb.cells = cells
    return nb, warnings


# Student code that can change how later cells run or what the checks compare against.
# Not a sandbox: a flag for the instructor to read the cell. Most specific first, so that
# ``get_ipython().input_transformers_cleanup`` is reported as the transformer it installs.
_TAMPER = tuple(
    re.compile(p, re.MULTILINE)
    for p in (
        r"input_transformers|ast_transformers|set_custom_exc|events\.register|"
        r"sys\.modules|settrace|setprofile|__builtins__|\bbuiltins\b",
        r"\bcourse_lib(\.\w+)+\s*=(?!=)|setattr\(\s*course_lib|\b(torch|np|numpy)(\.\w+)+\s*=(?!=)",
        r"\bsetattr\(|\bvars\(|importlib|\bsubprocess\b|\brunpy\b|\bmultiprocessing\b|\bos\.(system|popen|exec)|"
        r"__import__|^\s*!|\bget_ipython\(|\breload\(|\bgc\.|\bimport gc\b|__wrapped__|__file__|course_lib\.grading|"
        r"\bexec\(|\beval\(",
    )
)


def suspicious(source: str) -> str | None:
    """The most telling construct in ``source`` that can tamper with the checks, else None.

    Looks for IPython input/AST transformers and event hooks, ``sys.modules``, tracing,
    builtins, assignments to attributes of ``course_lib``, ``torch`` or ``numpy``, and the
    usual ways back to a reference function the grading kernel hides (reloading, re-importing
    or executing the library's source, another process, the garbage collector,
    ``__wrapped__``, the grader's own modules, IPython's shell). Not every way: a flag is a
    reason to read the cell, its absence no proof.

    Args:
        source: a code cell's source, a ``str`` (as ``nbformat.read`` gives it).

    Returns:
        The matched text (a ``str``, e.g. ``"sys.modules"``), or ``None`` when nothing matches.

    Raises:
        TypeError: ``source`` is not a string (e.g. a list of lines).

    >>> suspicious("get_ipython().input_transformers_cleanup.append(lambda lines: [])")
    'input_transformers'
    >>> suspicious("course_lib.magnitude_mask = my_magnitude_mask")
    'course_lib.magnitude_mask ='
    >>> suspicious("mask = course_lib.magnitude_mask(w, 0.5) == ref") is None
    True
    """
    if not isinstance(source, str):
        raise TypeError(f"source: a cell's source as one str, got {type(source).__name__}")
    for pattern in _TAMPER:
        m = pattern.search(source)
        if m:
            return m.group(0)
    return None


def tamper_warnings(nb: NotebookNode) -> list[str]:
    """One warning per student code cell of ``nb`` that :func:`suspicious` flags, naming the cell.

    Args:
        nb: a merged notebook (read-only cells are the solution's and are not flagged).

    Returns:
        The warnings (``str``), in cell order; empty when no cell is flagged.

    Raises:
        TypeError: a code cell's source is not a string (as :func:`suspicious`).
    """
    warnings = []
    for i, cell in enumerate(nb.cells):
        found = suspicious(cell.source) if cell.cell_type == "code" and not is_read_only(cell) else None
        if found:
            warnings.append(
                f"cell {i} ('{cell.get('id')}') uses {found}, which can change how the "
                "checks run: read it before trusting the score"
            )
    return warnings
