"""benchmarks: `python -m benchmarks --quick --json PATH` runs and writes positive ratios
(no timing thresholds: the numbers depend on the machine and its load)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_writes_the_ratios(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "speedup" in proc.stdout
    r = json.loads(out.read_text())
    for key in (
        "structured_50_speedup",
        "masked_train_overhead",
        "batched_train_speedup",
        "prune_hook_overhead",
        "batched_train_speedup_lenet",
        "channels_50_speedup",
        "channels_50_macs_ratio",
    ):
        assert isinstance(r[key], float) and r[key] > 0, key
    assert set(r["csr_speedup"]) == {"50", "80", "90", "95", "99"}
    assert all(v > 0 for v in r["csr_speedup"].values())
    # channel removal: MACs are counted, not timed, so the quick net's ratio is exact
    main = r["channels"]["main"]
    assert r["channels_50_macs_ratio"] == main["macs_ratio"] < 0.3
    assert (main["cfg"], main["input"], main["batch_size"]) == ("vgg11", [1, 16, 16], 64)
    assert main["removed_mib"] < main["dense_mib"] / 3
    assert main["meets_bar"] == (main["macs_ratio"] <= 0.3 and main["speedup"] >= 2.0)
    assert len(r["channels"]["sweep"]) == 4 and all(s["speedup"] > 0 for s in r["channels"]["sweep"])
    assert "channels_50_speedup" in proc.stdout and "channels_last" in proc.stdout
