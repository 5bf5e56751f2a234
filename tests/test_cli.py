"""`python -m course_lib lottery`: end to end on a tiny study, and clear errors with exit status 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["lottery", "--dataset", "digits", "--rounds", "2", "--seeds", "2", "--epochs", "1", "--model", "16"]


def _run(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "course_lib", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_cli_end_to_end_writes_json_and_plot_and_is_reproducible(tmp_path, capsys):
    js, png = tmp_path / "r0.json", tmp_path / "r0.png"
    proc = _run([*TINY, "--json", str(js), "--plot", str(png)], ROOT)  # a real subprocess
    assert proc.returncode == 0, proc.stderr
    assert "weights %" in proc.stdout  # the table
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = tmp_path / "r1.json"
    assert main([*TINY, "--json", str(again), "--quiet"]) == 0  # a second run, in-process
    assert capsys.readouterr().out == ""  # --quiet prints nothing
    assert js.read_text() == again.read_text()  # same seeds -> identical JSON
    result = json.loads(js.read_text())
    assert isinstance(result["dense_test_acc"], float) and 0 <= result["dense_test_acc"] <= 100
    assert [(r["variant"], r["round"]) for r in result["rows"]] == [
        (v, r) for v in ("ticket", "reinit", "random_prune") for r in (1, 2)
    ]
    for row in result["rows"]:
        for key in ("weights_remaining", "test_acc_mean", "test_acc_std", "early_stop_iter_mean"):
            assert isinstance(row[key], (int, float))
    assert result["rows"][0]["weights_remaining"] > result["rows"][1]["weights_remaining"]
    assert result["config"]["epochs"] == 1 and result["seeds"] == [0, 1]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "cifar10"], "invalid choice: 'cifar10'"),
        (["--rounds", "0"], "--rounds: must be an int >= 1"),
        (["--seeds", "0"], "--seeds: must be an int >= 1"),
        (["--seeds", "two"], "--seeds: must be an int >= 1"),
        (["--rate", "1.5"], "--rate: must be a number in (0, 1)"),
        (["--json", "/nonexistent-dir/out.json"], "does not exist"),
        (["--plot", "out.txt"], "--plot must end in one of"),
        (["--variants", "reinit"], "--variants"),
        (["--model", "wide"], "--model"),
        (["--dataset", "mnist"], "--data-root"),
        (["--rate", "0"], "--rate: must be a number in (0, 1)"),
        (["--lr", "inf"], "--lr: must be a finite number > 0"),
        (["--lr", "nan"], "--lr: must be a finite number > 0"),
        (["--epochs", "2.5"], "--epochs: must be an int >= 1"),
        (["--model", "100,,100"], "--model"),
        (["--model", "100,"], "--model"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["lottery", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_directory_and_impossible_paths(capsys, tmp_path):
    (tmp_path / "file.txt").write_text("")
    for target, message in ((tmp_path, "is a directory"), (tmp_path / "file.txt" / "x.json", "does not exist")):
        with pytest.raises(SystemExit) as exit_info:
            main(["lottery", "--json", str(target)])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(["lottery", "--plot", str(locked / "x.png")])
        assert exit_info.value.code == 2 and "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_no_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
