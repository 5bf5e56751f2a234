"""course_lib.grading.merge under random student edits (no kernel: fast): whatever a student
does to the cells, the notebook that runs holds each read-only cell of the solution exactly
once, as the solution has it, and the student's own cells in the student's order."""

import copy

import nbformat
from exercise_notebooks import NAME, load_tool, solution_notebook
from hypothesis import given
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell

from course_lib.grading import checksum, is_read_only, merge

SOLUTION = solution_notebook()
EXERCISE = load_tool().make_exercise(SOLUTION, NAME)
READ_ONLY = {c.id: c for c in SOLUTION.cells if is_read_only(c)}
KINDS = ["delete", "duplicate", "move", "edit", "drop_id", "impostor"]


def student_copy(ops: list[tuple[str, int, int]]) -> nbformat.NotebookNode:
    """The exercise after ``ops``: (kind, i, j) with i, j taken modulo the number of cells."""
    nb = copy.deepcopy(EXERCISE)
    cells = nb.cells
    for kind, a, b in ops:
        if not cells:
            break
        i, j = a % len(cells), b % len(cells)
        if kind == "delete":
            del cells[i]
        elif kind == "duplicate":
            cells.insert(j, copy.deepcopy(cells[i]))
        elif kind == "move":
            cells.insert(j, cells.pop(i))
        elif kind == "edit":
            cells[i].source = f"x = {j}"
        elif kind == "drop_id":
            cells[i].pop("id", None)
        else:  # a student cell that claims to be a check, maybe with a real check's id
            fake = {"course": {"check": "add", "points": 100}}
            cells.insert(i, new_code_cell("assert True", id=["check-add", "setup", "bonus"][j % 3], metadata=fake))
    return nb


def still_there(cid: str, cells: list) -> bool:
    """Whether a student cell can stand for the read-only cell ``cid``: same id, or (ids lost)
    the checksum the generator stored, or the unchanged source."""
    want = checksum(READ_ONLY[cid].source)
    return any(
        c.get("id") == cid or want in (c.metadata.get("course", {}).get("checksum"), checksum(c.source)) for c in cells
    )


ops = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 50), st.integers(0, 50)), max_size=8)


@given(ops)
def test_read_only_cells_run_once_as_the_solution_has_them(ops):
    student = student_copy(ops)
    before = copy.deepcopy(student)
    merged, warnings = merge(student, SOLUTION)
    assert student == before, "merge changed the student's notebook"
    read_only = [c for c in merged.cells if is_read_only(c)]
    assert sorted(c.id for c in read_only) == sorted(READ_ONLY), "each read-only cell once, no impostor"
    for c in read_only:
        ref = READ_ONLY[c.id]
        assert (c.cell_type, c.source, c.metadata) == (ref.cell_type, ref.source, ref.metadata)
    own = [c.source for c in merged.cells if not is_read_only(c)]
    it = iter(c.source for c in student.cells)
    assert all(src in it for src in own), "the student's cells keep their order"
    for cid in READ_ONLY:
        deleted = f"read-only cell '{cid}' was deleted; it was put back"
        assert (deleted in warnings) == (not still_there(cid, student.cells)), cid


@given(st.lists(st.tuples(st.just("edit"), st.sampled_from([2, 3, 5]), st.integers(0, 9)), max_size=3))
def test_answering_the_exercise_raises_no_warning(ops):
    """Editing only the solution cells (positions 2, 3, 5 of the fixture) is what a student should do."""
    merged, warnings = merge(student_copy(ops), SOLUTION)
    assert warnings == []
    assert [c.id for c in merged.cells] == [c.id for c in SOLUTION.cells]


def test_a_check_turned_into_markdown_is_run_and_the_warning_says_so():
    nb = copy.deepcopy(EXERCISE)
    [check] = [c for c in nb.cells if c.get("id") == "check-add"]
    nb.cells[nb.cells.index(check)] = nbformat.v4.new_markdown_cell(
        check.source, id="check-add", metadata=check.metadata
    )
    merged, warnings = merge(nb, SOLUTION)
    [ran] = [c for c in merged.cells if c.get("id") == "check-add"]
    assert ran.cell_type == "code" and ran.source == READ_ONLY["check-add"].source
    assert warnings == ["read-only cell 'check-add' was turned into a markdown cell; the original code cell was used"]
