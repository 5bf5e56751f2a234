"""Builders shared by the generator and grader tests (test_make_exercises, test_grade,
test_exercises, test_old_exercises): a small two-exercise solution notebook in the course's
conventions, and tools/make_exercises.py loaded as a module. The ``exercise_dirs`` fixture
(tests/conftest.py) writes one to tmp_path."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "make_exercises.py"
#: The file name of the fixture exercise, in solutions/ and exercises/ alike.
NAME = "01_fixture_exercise.ipynb"
LOCKED = {"course": {"locked": True}, "editable": False, "deletable": False}


def load_tool(name: str = "make_exercises") -> ModuleType:
    """tools/``name``.py as a module, loaded once (tools/ is not a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TOOL.parent / f"{name}.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def check_meta(name: str, points: int) -> dict:
    """The metadata of a check cell of exercise ``name`` worth ``points``."""
    return {"course": {"check": name, "points": points}, "editable": False, "deletable": False}


def solution_notebook(add_body="return a + b", double_body="return 2 * x", extra_check="") -> NotebookNode:
    """A two-exercise solution notebook (add: 2 points, double: 3 points) with a locked
    markdown intro, a locked setup cell (with an output), a markdown answer and two
    solution/check pairs."""
    run = new_code_cell(
        "import math\nprint(math.pi)",
        id="setup",
        metadata=LOCKED,
        execution_count=3,
        outputs=[new_output("stream", name="stdout", text="3.14\n")],
    )
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Fixture exercise\nTwo small functions.", id="intro", metadata=LOCKED),
            run,
            new_markdown_cell(
                "Why add?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
                id="md-why",
                metadata={"course": {"solution": "why"}},
            ),
            new_code_cell(
                f'def add(a, b):\n    """Sum."""\n    ### BEGIN SOLUTION\n    {add_body}\n    ### END SOLUTION\n',
                id="solution-add",
                metadata={"course": {"solution": "add"}},
            ),
            new_code_cell(
                "assert add(1, 2) == 3\nassert add(-1, 1) == 0" + extra_check,
                id="check-add",
                metadata=check_meta("add", 2),
            ),
            new_code_cell(
                f"def double(x):\n    ### BEGIN SOLUTION\n    {double_body}\n    ### END SOLUTION",
                id="solution-double",
                metadata={"course": {"solution": "double"}},
            ),
            new_code_cell(
                "assert double(2) == 4\nassert double(0) == 0", id="check-double", metadata=check_meta("double", 3)
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


SOLUTIONS = ROOT / "solutions"


def grade_answers(tmp_path: Path, notebook: str, sources: dict[str, str]) -> dict[str, dict]:
    """Per exercise (passed, points, message) of solution ``notebook`` with the cells ``sources`` names
    (cell id -> new source) replaced, graded by the real grader from a copy in ``tmp_path``."""
    import nbformat

    from course_lib import grading

    nb = nbformat.read(SOLUTIONS / notebook, as_version=4)
    for cell_id, source in sources.items():
        cells = [c for c in nb.cells if c.get("id") == cell_id]
        assert len(cells) == 1, f"{notebook} has no cell {cell_id!r}"
        cells[0].source = source
    path = tmp_path / notebook
    nbformat.write(nb, path)
    return grading.grade(path, SOLUTIONS).exercises()


class AnswerRounds:
    """Wrong answers and valid alternatives of one exercise notebook, graded in *rounds*.

    ``answers`` maps each exercise (its check name) to ``{label: (should_pass, source)}``;
    ``cells`` maps each exercise to the id of its solution cell. The exercises of a notebook are
    independent (each check calls only its own exercise's functions), so round ``i`` tries the
    i-th answer of every exercise that has one in a single grading run; the exercises a round
    leaves out keep the solution and must pass. Verdicts are cached per round and process."""

    def __init__(
        self,
        notebook: str,
        cells: dict[str, str],
        answers: dict[str, dict[str, tuple[bool, str]]],
        caught_by: dict[str, str] | None = None,
    ):
        """``caught_by``: for each wrong answer, a piece of the check message that must catch it."""
        self.notebook, self.cells, self.answers, self.caught_by = notebook, cells, answers, caught_by
        self.rounds = [
            {ex: list(a)[i] for ex, a in answers.items() if i < len(a)}
            for i in range(max(len(a) for a in answers.values()))
        ]
        #: (round, exercise, label) of every answer: the test parameters.
        self.cases = [(i, ex, label) for i, r in enumerate(self.rounds) for ex, label in r.items()]
        self.ids = [f"{ex}: {label}" for _, ex, label in self.cases]
        self._graded: dict[int, dict[str, dict]] = {}

    def verdict(self, tmp_path_factory, i: int, exercise: str, label: str) -> dict:
        """The grader's verdict on ``exercise`` in round ``i``, after asserting that it passed
        exactly when ``label`` should and that the exercises the round left alone still pass."""
        if i not in self._graded:
            sources = {self.cells[ex]: self.answers[ex][lab][1] for ex, lab in self.rounds[i].items()}
            self._graded[i] = grade_answers(tmp_path_factory.mktemp(f"round{i}"), self.notebook, sources)
        result = self._graded[i]
        assert result[exercise]["passed"] is self.answers[exercise][label][0], result[exercise]
        untouched = {ex: r["passed"] for ex, r in result.items() if ex not in self.rounds[i]}
        assert all(untouched.values()), untouched
        if self.caught_by is not None and not self.answers[exercise][label][0]:  # caught for its own reason
            assert result[exercise]["error"] == "AssertionError", result[exercise]
            assert self.caught_by[label] in result[exercise]["message"], result[exercise]
        return result[exercise]

    def check_complete(self) -> None:
        """Every exercise has wrong answers that fail and valid ones that pass, and every check of
        the solution notebook has answers."""
        import nbformat

        for ex, answers in self.answers.items():
            verdicts = {should_pass for should_pass, _ in answers.values()}
            assert verdicts == {True, False}, f"{ex}: needs wrong answers that fail and valid ones that pass"
        nb = nbformat.read(SOLUTIONS / self.notebook, as_version=4)
        checks = {c.metadata["course"]["check"] for c in nb.cells if c.metadata.get("course", {}).get("check")}
        assert checks == set(self.answers)
        if self.caught_by is not None:
            wrong = {label for answers in self.answers.values() for label, (ok, _) in answers.items() if not ok}
            assert wrong == set(self.caught_by)


def edit(path, **sources):
    """Copy of the notebook at ``path`` with the cells named by id given new sources
    (None deletes the cell); returns the new file's path."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    ids = {k.replace("_", "-"): v for k, v in sources.items()}
    nb.cells = [c for c in nb.cells if not (c.id in ids and ids[c.id] is None)]
    for c in nb.cells:
        if c.id in ids:
            c.source = ids[c.id]
    out = path.parent.parent / "student" / NAME
    out.parent.mkdir(exist_ok=True)
    nbformat.write(nb, out)
    return out


def results(report):
    return {name: (e["passed"], e["error"], e["earned"]) for name, e in report.exercises().items()}
