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
    ):
        assert isinstance(r[key], float) and r[key] > 0, key
    assert set(r["csr_speedup"]) == {"50", "80", "90", "95", "99"}
    assert all(v > 0 for v in r["csr_speedup"].values())
