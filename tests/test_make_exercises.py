"""tools/make_exercises.py on small fixture notebooks made in tmp_path (the ``exercise_dirs``
fixture of conftest.py; the builders are in exercise_notebooks.py)."""

import json
import subprocess
import sys

import nbformat
from exercise_notebooks import NAME, TOOL, load_tool, solution_notebook
from nbformat.v4 import new_output

from course_lib.grading import checksum, fill_ids


def cells(path):
    return {c.id: c for c in nbformat.read(path, as_version=4).cells}


def test_solution_blocks_become_stubs(exercise_dirs):
    _, ex = exercise_dirs
    c = cells(ex / NAME)
    assert c["solution-add"].source == 'def add(a, b):\n    """Sum."""\n    raise NotImplementedError\n'
    assert c["solution-double"].source == "def double(x):\n    raise NotImplementedError"
    assert c["md-why"].source == "Why add?\nYOUR ANSWER HERE"
    assert "BEGIN" not in nbformat.writes(nbformat.read(ex / NAME, as_version=4))


def test_outputs_and_widget_state_stripped_ids_and_metadata_kept(exercise_dirs):
    sol, ex = exercise_dirs
    nb = nbformat.read(ex / NAME, as_version=4)
    src = nbformat.read(sol / NAME, as_version=4)
    assert "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert [c.id for c in nb.cells] == [c.id for c in src.cells]
    for c, s in zip(nb.cells, src.cells, strict=False):
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
        meta = {k: v for k, v in c.metadata.items()}
        course = dict(meta.pop("course", {}))
        course.pop("checksum", None)
        s_meta = dict(s.metadata)
        assert course == s_meta.pop("course", {}) and meta == s_meta


def test_read_only_cells_carry_the_checksum_of_their_source(exercise_dirs):
    _, ex = exercise_dirs
    nb = nbformat.read(ex / NAME, as_version=4)
    sums = {c.id: c.metadata["course"].get("checksum") for c in nb.cells if "course" in c.metadata}
    assert set(k for k, v in sums.items() if v) == {"intro", "setup", "check-add", "check-double"}
    for c in nb.cells:
        if sums.get(c.id):
            assert sums[c.id] == checksum(c.source)
    assert nb.metadata["course"]["exercise"] == NAME


def test_in_sync_and_idempotent(exercise_dirs):
    sol, ex = exercise_dirs
    tool = load_tool()
    assert tool.check(sol, ex) == []
    before = (ex / NAME).read_bytes()
    mtime = (ex / NAME).stat().st_mtime_ns
    log = []
    assert tool.generate(sol, ex, log=log.append) == []
    assert log == []  # nothing to write
    assert (ex / NAME).read_bytes() == before and (ex / NAME).stat().st_mtime_ns == mtime
    # and from scratch: the same bytes
    (ex / NAME).unlink()
    tool.generate(sol, ex, log=log.append)
    assert (ex / NAME).read_bytes() == before


def test_check_lists_out_of_sync_missing_and_orphans(exercise_dirs):
    sol, ex = exercise_dirs
    tool = load_tool()
    nbformat.write(solution_notebook(extra_check="\nassert add(2, 2) == 4"), sol / NAME)
    nbformat.write(solution_notebook(), sol / "02_other_exercise.ipynb")
    (ex / "99_gone_exercise.ipynb").write_text((ex / NAME).read_text())
    problems = tool.check(sol, ex)
    assert any(p.startswith("out of sync") and NAME in p for p in problems)
    assert any(p.startswith("missing") and "02_other_exercise" in p for p in problems)
    assert any(p.startswith("no source") and "99_gone" in p for p in problems)


def test_older_generated_version_is_regenerated_without_force(exercise_dirs):
    sol, ex = exercise_dirs
    tool = load_tool()
    # the solution changes (a check is added to): the untouched exercise is simply rewritten
    nbformat.write(solution_notebook(extra_check="\nassert add(2, 2) == 4"), sol / NAME)
    assert tool.generate(sol, ex, log=lambda *_: None) == []
    assert "add(2, 2)" in cells(ex / NAME)["check-add"].source
    assert tool.check(sol, ex) == []


def test_running_an_untouched_exercise_does_not_count_as_an_edit(exercise_dirs):
    sol, ex = exercise_dirs
    tool = load_tool()
    nb = nbformat.read(ex / NAME, as_version=4)
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="3.14\n")]
    nb.cells[1].execution_count = 1
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, ex / NAME)
    assert not tool.was_edited(ex / NAME)
    assert tool.generate(sol, ex, log=lambda *_: None) == []
    assert tool.check(sol, ex) == []


def test_edited_exercise_is_never_overwritten_without_force(exercise_dirs, capsys):
    sol, ex = exercise_dirs
    tool = load_tool()
    nb = nbformat.read(ex / NAME, as_version=4)
    nb.cells[3].source = "def add(a, b):\n    return a + b  # my work\n"
    nbformat.write(nb, ex / NAME)
    mine = (ex / NAME).read_bytes()
    nbformat.write(solution_notebook(extra_check="\nassert add(2, 2) == 4"), sol / NAME)  # the course changes
    rc = tool.main(["--solutions", str(sol), "--exercises", str(ex)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "refused" in out and str(ex / NAME) in out and "--force" in out
    assert (ex / NAME).read_bytes() == mine
    assert any("edited by hand" in p for p in tool.check(sol, ex))
    # a second run refuses again (no "now it is mine" state)
    assert tool.main(["--solutions", str(sol), "--exercises", str(ex)]) == 1
    assert (ex / NAME).read_bytes() == mine
    # --force overwrites it with the fresh exercise
    assert tool.main(["--solutions", str(sol), "--exercises", str(ex), "--force"]) == 0
    assert tool.check(sol, ex) == []
    assert "my work" not in (ex / NAME).read_text()


def test_edited_file_without_generation_hash_counts_as_edited(exercise_dirs):
    sol, ex = exercise_dirs
    tool = load_tool()
    (ex / NAME).write_text("{ not json")
    mine = (ex / NAME).read_bytes()
    assert tool.generate(sol, ex, log=lambda *_: None) == [ex / NAME]
    assert (ex / NAME).read_bytes() == mine


def test_orphans_removed_only_when_untouched(exercise_dirs):
    sol, ex = exercise_dirs
    tool = load_tool()
    (ex / "98_untouched_exercise.ipynb").write_text((ex / NAME).read_text())
    nb = nbformat.read(ex / NAME, as_version=4)
    nb.cells[3].source = "def add(a, b):\n    return a + b\n"
    nbformat.write(nb, ex / "97_edited_exercise.ipynb")
    refused = tool.generate(sol, ex, log=lambda *_: None)
    assert refused == [ex / "97_edited_exercise.ipynb"]
    assert not (ex / "98_untouched_exercise.ipynb").exists()
    assert (ex / "97_edited_exercise.ipynb").exists()


def test_malformed_solution_blocks_are_errors_naming_the_file(tmp_path, capsys):
    tool = load_tool()
    sol = tmp_path / "solutions"
    sol.mkdir()
    nb = solution_notebook()
    nb.cells[3].source = "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n"
    nbformat.write(nb, sol / NAME)
    assert tool.main(["--solutions", str(sol), "--exercises", str(tmp_path / "ex")]) == 2
    err = capsys.readouterr().err
    assert NAME in err and "solution-add" in err and "END SOLUTION" in err
    assert not (tmp_path / "ex" / NAME).exists()


def test_command_line_check(exercise_dirs):
    """The script itself (one subprocess: it imports course_lib, so torch, which takes seconds)."""
    sol, ex = exercise_dirs
    nbformat.write(solution_notebook(extra_check="\nassert add(2, 2) == 4"), sol / NAME)
    cmd = [sys.executable, str(TOOL), "--check", "--solutions", str(sol), "--exercises", str(ex)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 1 and NAME in res.stdout and "make exercises" in res.stdout


def test_solution_without_cell_ids_gets_stable_ids_the_grader_shares(tmp_path):
    """An nbformat 4.4 solution (no ids): the exercise gets ids derived from position and
    source, the same on every run and the same the grader derives for the solution."""
    tool = load_tool()
    sol = tmp_path / "solutions"
    sol.mkdir()
    nb = json.loads(nbformat.writes(solution_notebook()))
    nb["nbformat_minor"] = 4
    for c in nb["cells"]:
        c.pop("id")
    (sol / NAME).write_text(json.dumps(nb))
    tool.generate(sol, tmp_path / "a", log=lambda *_: None)
    tool.generate(sol, tmp_path / "b", log=lambda *_: None)
    assert (tmp_path / "a" / NAME).read_bytes() == (tmp_path / "b" / NAME).read_bytes()
    ex_ids = [c.id for c in nbformat.read(tmp_path / "a" / NAME, as_version=4).cells]
    solution = nbformat.read(sol / NAME, as_version=4)
    fill_ids(solution)
    assert ex_ids == [c.id for c in solution.cells] and len(set(ex_ids)) == len(ex_ids)
