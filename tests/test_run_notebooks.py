"""tools/run_notebooks.py: headless runs for `make claims` and `make headless`; bad input refused before any run."""

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import run_notebooks  # noqa: E402


def _notebook(path, *sources):
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def test_a_run_finishes_fails_or_times_out_and_never_writes_the_notebook(tmp_path):
    ok = _notebook(tmp_path / "ok.ipynb", "x = 1", "assert x == 1")
    before = ok.read_bytes()
    assert run_notebooks.run_once(ok, 30)[0] is True
    assert ok.read_bytes() == before
    finished, _, why = run_notebooks.run_once(_notebook(tmp_path / "bad.ipynb", "assert 1 == 2, 'broken'"), 30)
    assert not finished and "broken" in why
    finished, _, why = run_notebooks.run_once(_notebook(tmp_path / "slow.ipynb", "import time; time.sleep(30)"), 2)
    assert not finished and "ran past 2 s" in why


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda d: d / "missing.ipynb", [], "no such .ipynb file"),
        (lambda d: (d / "x.ipynb").write_text("not json") and d / "x.ipynb", [], "unreadable: NotJSONError"),
        (lambda d: (d / "x.ipynb").write_text("{}") and d / "x.ipynb", [], "unreadable: ValidationError"),
        (lambda d: _notebook(d / "ok.ipynb", "1"), ["--repeat", "0"], "--repeat and --cell-timeout"),
        (lambda d: _notebook(d / "ok.ipynb", "1"), ["--cell-timeout", "-1"], "--repeat and --cell-timeout"),
        (lambda d: (d / "f").write_text("x") and _notebook(d / "ok.ipynb", "1"), ["--claims", "F"], "not a folder"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_before_any_run(tmp_path, capsys, make, args, message):
    path = make(tmp_path)
    args = [a.replace("F", str(tmp_path / "f")) for a in args]
    with pytest.raises(SystemExit) as exit_:
        run_notebooks.main([str(path), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
