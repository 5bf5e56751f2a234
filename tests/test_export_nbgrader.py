"""tools/export_nbgrader.py: the solutions as an nbgrader course.

The fast tests check the metadata of all seven exported notebooks and the command line. The
slow ones run nbgrader itself in a temporary course directory (scratch HOME and Jupyter
folders, so nothing touches the user's ~/.jupyter): ``generate_assignment`` on all seven, then
``autograde`` on two students x two notebooks: one submits the solutions, the other the
untouched release. They are skipped when nbgrader (test extra) is not installed.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from exercise_notebooks import ROOT, load_tool, solution_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib.grading.cells import check_of

SCRIPT = ROOT / "tools" / "export_nbgrader.py"
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = sorted(p.name for p in SOLUTIONS.glob("*.ipynb"))
GRADED = ["01_magnitude_exercise.ipynb", "05_lottery_exercise.ipynb"]  # autograded (about 10 s each per student)
NO_NBGRADER = "nbgrader is not installed (it is in the test extra: pip install -e '.[test]')"


def load_export():
    """tools/export_nbgrader.py as a module, with the same make_exercises module (and SolutionError)
    as the other tests."""
    load_tool()
    return load_tool("export_nbgrader")


def course_of(cell):
    return cell.metadata.get("course", {})


# --- the metadata, on all seven solution notebooks -------------------------------------------------
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_cell_gets_nbgrader_metadata_and_keeps_its_solution(name):
    solution = nbformat.read(SOLUTIONS / name, as_version=4)
    nb = load_export().to_nbgrader(solution, name)
    assert len(nb.cells) == len(solution.cells) and "course" not in nb.metadata
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(set(ids)) == len(ids)
    points = 0.0
    for cell, original in zip(nb.cells, solution.cells, strict=True):
        meta, course = cell.metadata.get("nbgrader"), course_of(original)
        assert cell.source == original.source and "course" not in cell.metadata
        assert "editable" not in cell.metadata and "deletable" not in cell.metadata
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
        check = check_of(original)
        if check is not None:
            assert (meta["grade"], meta["locked"], meta["solution"]) == (True, True, False)
            assert meta["points"] == check[1] and meta["grade_id"] == f"check-{check[0]}"
            points += meta["points"]
        elif course.get("solution"):
            assert (meta["grade"], meta["locked"], meta["solution"]) == (False, False, True)
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            assert meta["grade_id"] == f"solution-{course['solution']}" and "points" not in meta
        elif course.get("locked"):
            assert (meta["grade"], meta["locked"], meta["solution"]) == (False, True, False)
            assert meta["grade_id"] == cell.id
        else:
            assert meta is None
        assert meta is None or (meta["schema_version"] == 3 and meta["task"] is False)
    checks = [check_of(c) for c in solution.cells]
    assert points == sum(c[1] for c in checks if c is not None) > 0


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_nbgraders_own_validator_accepts_the_export(name):
    pytest.importorskip("nbgrader", reason=NO_NBGRADER)
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    MetadataValidatorV3().validate_nb(load_export().to_nbgrader(nbformat.read(SOLUTIONS / name, as_version=4), name))


def test_markdown_answers_outputs_and_widget_state_of_the_fixture_notebook():
    nb = load_export().to_nbgrader(solution_notebook(), "fixture.ipynb")
    cells = {c.id: c for c in nb.cells}
    why = cells["md-why"].metadata["nbgrader"]
    assert (why["grade"], why["solution"], why["locked"], why["points"]) == (True, True, False, 0.0)
    assert cells["setup"].outputs == [] and cells["setup"].execution_count is None
    assert "widgets" not in nb.metadata
    assert [cells[i].metadata["nbgrader"]["points"] for i in ("check-add", "check-double")] == [2.0, 3.0]


def test_colliding_and_odd_names_become_unique_valid_grade_ids():
    locked = {"course": {"locked": True}}
    nb = new_notebook(
        cells=[
            new_markdown_cell("intro", id="check-f", metadata=locked),
            new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", metadata={"course": {"solution": "my f!"}}),
            new_code_cell("assert x == 1", metadata={"course": {"check": "f", "points": 1}}),
            new_code_cell("assert x > 0", metadata={"course": {"check": "f", "points": 2}}),
        ]
    )
    out = load_export().to_nbgrader(nb, "x.ipynb")
    ids = [c.metadata["nbgrader"]["grade_id"] for c in out.cells]
    assert ids == ["check-f", "solution-my_f_", "check-f-2", "check-f-3"]


# --- the command line ---------------------------------------------------------------------------
def run_main(capsys, *args):
    code = load_export().main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_writes_the_course_skeleton(tmp_path, capsys):
    out = tmp_path / "course"
    out.mkdir()  # an existing empty folder is fine
    code, stdout, err = run_main(capsys, out, "--assignment", "ps-1")
    assert code == 0 and err == "" and "generate_assignment ps-1" in stdout
    assert sorted(p.name for p in (out / "source" / "ps-1").iterdir()) == NOTEBOOKS
    assert sorted(p.name for p in out.iterdir()) == ["nbgrader_config.py", "source"]
    config = (out / "nbgrader_config.py").read_text()
    compile(config, "nbgrader_config.py", "exec")
    assert 'c.ClearSolutions.code_stub = {"python": "raise NotImplementedError"}' in config


@pytest.mark.parametrize("case", ["missing solutions", "outdir not empty", "outdir is a file", "bad assignment"])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, case):
    out, solutions, assignment = tmp_path / "course", SOLUTIONS, "pruning"
    if case == "missing solutions":
        solutions = tmp_path / "nowhere"
    elif case == "outdir not empty":
        out.mkdir()
        (out / "gradebook.db").write_text("the instructor's grades")
    elif case == "outdir is a file":
        out.write_text("not a folder")
    else:
        assignment = "problem set 1"
    before = sorted(tmp_path.rglob("*"))
    code, stdout, err = run_main(capsys, out, "--solutions", solutions, "--assignment", assignment)
    assert code == 2 and stdout == "" and len(err.splitlines()) == 1 and err.startswith("error: ")
    assert sorted(tmp_path.rglob("*")) == before
    if case == "outdir not empty":
        assert (out / "gradebook.db").read_text() == "the instructor's grades" and "not an empty folder" in err
    if case == "missing solutions":
        assert str(solutions) in err


def test_a_malformed_solution_is_named_and_nothing_is_written(tmp_path, capsys):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nb = solution_notebook(double_body="return 2 * x\n    ### BEGIN SOLUTION")  # a nested BEGIN
    nbformat.write(nb, solutions / "bad.ipynb")
    code, _, err = run_main(capsys, tmp_path / "course", "--solutions", solutions)
    assert code == 2 and "bad.ipynb" in err and "solution-double" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "course").exists()


def test_runs_as_a_script(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "c")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "c" / "source" / "pruning").glob("*.ipynb"))) == len(NOTEBOOKS)


# --- nbgrader's own generate_assignment and autograde ---------------------------------------------
def scratch_env(tmp: Path) -> dict[str, str]:
    """The environment for nbgrader: a scratch HOME and Jupyter/IPython folders under ``tmp``, the
    venv's bin first on PATH (nbgrader calls ``alembic`` from there), one thread per kernel."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    home = tmp / "home"
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / ".ipython"),
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        OMP_NUM_THREADS="1",
    )
    return env


def nbgrader(course: Path, env: dict[str, str], *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def submit(course: Path, student: str, name: str, nb) -> None:
    folder = course / "submitted" / student / "pruning"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The exported course after generate_assignment (all seven) and autograde (GRADED, for
    "solved": the release with the solutions filled in, "untouched": the release as it is);
    returns (course dir, {(student, notebook stem): {grade_id: (score, max_score)}},
    {notebook stem: max score in the gradebook})."""
    pytest.importorskip("nbgrader", reason=NO_NBGRADER)
    from nbgrader.api import Gradebook

    tmp = tmp_path_factory.mktemp("nbgrader")
    root, env = tmp / "course", scratch_env(tmp)
    load_export().export(SOLUTIONS, root, "pruning")
    nbgrader(root, env, "generate_assignment", "pruning")
    for name in GRADED:
        released = nbformat.read(root / "release" / "pruning" / name, as_version=4)
        submit(root, "untouched", name, released)
        source = nbformat.read(root / "source" / "pruning" / name, as_version=4)
        for cell, original in zip(released.cells, source.cells, strict=True):
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = original.source
        submit(root, "solved", name, released)
    nbgrader(root, env, "autograde", "pruning")
    scores, max_scores = {}, {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for nb in gb.find_assignment("pruning").notebooks:
            max_scores[nb.name] = nb.max_score
        for student in ("solved", "untouched"):
            for name in GRADED:
                sub = gb.find_submission_notebook(Path(name).stem, "pruning", student)
                scores[student, Path(name).stem] = {g.name: (g.score, g.max_score) for g in sub.grades}
    return root, scores, max_scores


def test_generate_assignment_releases_the_exercises_stubs(course):
    root = course[0]
    make_exercise = load_tool().make_exercise
    for name in NOTEBOOKS:
        released = nbformat.read(root / "release" / "pruning" / name, as_version=4)
        exercise = make_exercise(nbformat.read(SOLUTIONS / name, as_version=4), name)
        assert "BEGIN SOLUTION" not in nbformat.writes(released) and "END SOLUTION" not in nbformat.writes(released)
        assert [c.source for c in released.cells] == [c.source for c in exercise.cells], name
        for cell in released.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                assert "raise NotImplementedError" in cell.source
            if meta.get("locked"):
                assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False


def test_the_gradebook_holds_every_notebook_with_the_courses_points(course):
    expected = {}
    for name in NOTEBOOKS:
        checks = [check_of(c) for c in nbformat.read(SOLUTIONS / name, as_version=4).cells]
        expected[Path(name).stem] = float(sum(c[1] for c in checks if c))
    assert course[2] == expected


@pytest.mark.parametrize("name", GRADED)
def test_autograde_gives_the_solution_full_points_and_the_untouched_release_zero(course, name):
    checks = [check_of(c) for c in nbformat.read(SOLUTIONS / name, as_version=4).cells]
    points = {f"check-{c[0]}": float(c[1]) for c in checks if c}
    solved, untouched = course[1]["solved", Path(name).stem], course[1]["untouched", Path(name).stem]
    assert solved == {grade_id: (p, p) for grade_id, p in points.items()}
    assert untouched == {grade_id: (0.0, p) for grade_id, p in points.items()}
