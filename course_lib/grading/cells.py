"""The cells of an exercise notebook: ids, checksums, and the metadata that marks them.

The conventions follow nbgrader's cell metadata (nbgrader's ``grade``/``locked``/``points``
become ``metadata.course.check``/``.locked``/``.points`` here):

* a *check* cell (``course.check``: the exercise's name, ``course.points``: an int, default 1)
  holds the tests of one exercise;
* a *locked* cell (``course.locked``: true) is setup code or instructions;
* both are *read-only*: the grader always runs the solution's version of them;
* ``course.checksum``, written by ``tools/make_exercises.py`` into every read-only cell of an
  exercise, is the SHA-256 of the source the cell had when it was generated.

``tools/make_exercises.py`` imports these helpers, so the generator and the grader agree on
ids and checksums.

>>> checksum("assert f(1) == 2")[:12]
'f37b9ce64ac0'
"""

from __future__ import annotations

import hashlib
from typing import Any

from nbformat import NotebookNode

__all__ = ["checksum", "fill_ids", "is_read_only", "check_of", "stored_checksum"]


def checksum(source: str | list[str]) -> str:
    """SHA-256 of a cell's source, as 64 hex digits.

    Args:
        source: the cell's source, a string or a list of lines (joined first, as nbformat does).

    Returns:
        The hex digest (a ``str`` of 64 lowercase hex digits) of the UTF-8 encoded source.

    Raises:
        TypeError: a list entry is not a string.
        AttributeError: ``source`` is neither a string nor a list (it is not checked).
        UnicodeEncodeError: the source holds a lone surrogate (not valid UTF-8).

    >>> checksum(["a = 1\\n", "b = 2"]) == checksum("a = 1\\nb = 2")
    True
    """
    if isinstance(source, list):
        source = "".join(source)
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def fill_ids(nb: NotebookNode) -> None:
    """Give every cell without an id a stable one, in place (nbformat < 4.5 has no cell ids).

    The id is ``"cell-"`` and 8 hex digits of the checksum of the cell's position and source,
    so the generator and the grader derive the same id for the same solution; never a random
    one. Raises the notebook's ``nbformat_minor`` to 5 (the version with ids) where needed.

    Args:
        nb: a notebook read with ``nbformat.read(..., as_version=4)``; changed in place.

    Returns:
        ``None``; ``nb`` is changed in place.

    >>> from nbformat.v4 import new_notebook, new_code_cell
    >>> nb = new_notebook(cells=[new_code_cell("x = 1", id="keep")])
    >>> nb.cells.append(new_code_cell("y = 2")); del nb.cells[1]["id"]
    >>> fill_ids(nb); [c.id for c in nb.cells]
    ['keep', 'cell-5ddf8d64']
    >>> nb.cells[1].id == "cell-" + checksum("1:y = 2")[:8]   # position 1, source "y = 2"
    True
    """
    for i, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = "cell-" + checksum(f"{i}:{''.join(cell.get('source', ''))}")[:8]
    if any(c.get("id") for c in nb.cells) and nb.get("nbformat_minor", 5) < 5:
        nb["nbformat_minor"] = 5


def _course(cell: NotebookNode) -> dict[str, Any]:
    """The cell's ``metadata.course`` dict; empty if it has none or it is not a dict."""
    course = cell.get("metadata", {}).get("course", {})
    return course if isinstance(course, dict) else {}


def is_read_only(cell: NotebookNode) -> bool:
    """True for a check cell or a locked cell (``metadata.course.check`` or ``.locked``).

    Args:
        cell: a notebook cell (any type).

    Returns:
        ``True`` if either entry is set (truthy), else ``False``; also ``False`` for a cell
        without ``metadata.course`` or with one that is not a dict.

    >>> from nbformat.v4 import new_code_cell
    >>> is_read_only(new_code_cell("assert True", metadata={"course": {"check": "f", "points": 1}}))
    True
    >>> is_read_only(new_code_cell("x = 1"))
    False
    """
    course = _course(cell)
    return bool(course.get("check") or course.get("locked"))


def check_of(cell: NotebookNode) -> tuple[str, int] | None:
    """The exercise a check cell tests and its points, or None for any other cell.

    Args:
        cell: a notebook cell.

    Returns:
        ``(exercise name, points)``, a ``(str, int)``; points default to 1.

    Raises:
        ValueError: ``metadata.course.points`` is a string that is not an integer.
        TypeError: ``metadata.course.points`` is neither a number nor a string (e.g. null);
            a float is truncated (``2.7`` gives 2), not refused.

    >>> from nbformat.v4 import new_code_cell
    >>> check_of(new_code_cell("assert True", metadata={"course": {"check": "add", "points": 2}}))
    ('add', 2)
    >>> check_of(new_code_cell("x = 1")) is None
    True
    """
    course = _course(cell)
    if not course.get("check"):
        return None
    return str(course["check"]), int(course.get("points", 1))


def stored_checksum(cell: NotebookNode) -> str | None:
    """The checksum the generator stored in the cell's metadata (``course.checksum``), else None.

    Args:
        cell: a cell of a generated exercise (or of a student's copy of one).

    Returns:
        The stored value as a ``str`` (64 hex digits as the generator writes it), or ``None``
        when the cell has none (or an empty one).

    >>> from nbformat.v4 import new_code_cell
    >>> stored_checksum(new_code_cell("x", metadata={"course": {"locked": True, "checksum": "ab12"}}))
    'ab12'
    >>> stored_checksum(new_code_cell("x")) is None
    True
    """
    value = _course(cell).get("checksum")
    return str(value) if value else None
