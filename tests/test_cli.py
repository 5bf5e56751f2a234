"""`python -m course_lib lottery`: end to end on a tiny study, and clear errors with exit status 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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
    assert js.stat().st_mode & 0o777 == png.stat().st_mode & 0o777  # the JSON as readable as the plot, not 0600


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "cifar100"], "invalid choice: 'cifar100'"),
        (["--dataset", "cifar10"], "--dataset cifar10 needs --data-root"),
        (["--download"], "--download applies only to --dataset cifar10"),
        (["--dataset", "mnist", "--data-root", ".", "--download"], "--download applies only to --dataset cifar10"),
        (["--data-root", "."], "--data-root/--data-url apply only to --dataset mnist or cifar10"),
        (["--model", "resnet18"], "conv net, one of conv2, conv4, conv6, vgg11"),
        (["--device", "tpu"], "--device: --device must be one of 'auto', 'cpu', 'cuda', 'cuda:N'"),
        (["--device", "cuda:x"], "--device"),
        (["--rewind-iter", "0,0"], "--rewind-iter: must be distinct ints >= 0"),
        (["--rewind-iter", "-1"], "--rewind-iter: must be distinct ints >= 0"),
        (["--rewind-iter", "0,,5"], "--rewind-iter: must be distinct ints >= 0"),
        (["--width", "0"], "--width: must be a finite number > 0"),
        (["--dataset", "mnist1d", "--model", "conv2"], "pictures"),
        (["--dataset", "digits", "--model", "16", "--width", "2"], "width applies to conv nets"),
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


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_where_there_is_none_exits_2_saying_what_there_is(device, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        main(["lottery", "--device", device])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"--device={device!r} asks for CUDA" in err and "available: cpu" in err


def test_cifar10_files_missing_exit_2_saying_how_to_get_them(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["lottery", "--dataset", "cifar10", "--data-root", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "could not load --dataset cifar10" in capsys.readouterr().err


def test_conv_net_at_two_rewinding_points_writes_both_results(tmp_path, capsys):
    js, png = tmp_path / "conv.json", tmp_path / "conv.png"
    args = ["lottery", "--dataset", "digits", "--model", "conv2", "--width", "0.25", "--rounds", "1", "--seeds", "1"]
    args += ["--epochs", "1", "--rewind-iter", "0,3", "--variants", "ticket,reinit", "--device", "auto"]
    assert main([*args, "--json", str(js), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "rewound to iteration 0:" in out and "rewound to iteration 3:" in out
    result = json.loads(js.read_text())
    assert result["rewind_iters"] == [0, 3]
    assert [r["config"]["rewind_iter"] for r in result["results"]] == [0, 3]
    for res in result["results"]:
        assert res["config"]["model"] == "conv2" and "conv1.weight" in res["config"]["layer_rates"]
        assert [(r["variant"], r["round"]) for r in res["rows"]] == [("ticket", 1), ("reinit", 1)]
    assert result["results"][0]["dense_test_acc"] == result["results"][1]["dense_test_acc"]  # same dense runs
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
