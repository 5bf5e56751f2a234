"""Execute notebooks headless, as nbconvert, CI and instructors do, and time each run.

    python tools/run_notebooks.py notebooks/*.ipynb                 # each once
    python tools/run_notebooks.py notebooks/01_magnitude.ipynb --repeat 10 --cell-timeout 120
    python tools/run_notebooks.py notebooks/*.ipynb --claims claims # what `make claims` runs

Each run uses nbclient (the client under ``jupyter nbconvert --execute``) in a fresh kernel, in
the notebook's folder; the notebook file is never written. A cell that raises, or that runs
longer than ``--cell-timeout`` seconds (a hang), fails the run. With ``--claims DIR`` the
kernels get ``COURSE_CLAIMS_DIR=DIR``, so each lecture notebook saves the rows of the README's
claims table it measured (see ``course_lib/experiments/claims.py``).

Exit status: 0 when every run finished, 1 when one failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def run_once(path: Path, cell_timeout: int) -> tuple[bool, float, str]:
    """Execute ``path`` once in a fresh kernel: ``(finished, seconds, what went wrong or "")``."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=cell_timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellTimeoutError:
        return False, time.perf_counter() - start, f"a cell ran past {cell_timeout} s (hung?)"
    except (CellExecutionError, DeadKernelError) as err:
        return False, time.perf_counter() - start, str(err).strip().splitlines()[-1][:300]
    return True, time.perf_counter() - start, ""


def _unreadable(path: Path) -> str:
    """Why ``path`` is not a notebook nbclient can run ("" when it is one), checked before any run."""
    if not path.is_file() or path.suffix != ".ipynb":
        return "no such .ipynb file"
    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception as err:  # nbformat raises NotJSONError, ValidationError, KeyError, ... for broken files
        return f"unreadable: {type(err).__name__}"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each notebook (default 1)")
    parser.add_argument("--cell-timeout", type=int, default=600, help="seconds one cell may run (default 600)")
    parser.add_argument("--claims", type=Path, help="folder where the notebooks save their claims")
    args = parser.parse_args(argv)
    unreadable = [f"{p} ({why})" for p in args.notebooks if (why := _unreadable(p))]
    if unreadable:
        parser.error(f"notebooks: not a notebook file: {'; '.join(unreadable)}")
    if args.repeat < 1 or args.cell_timeout < 1:
        parser.error("--repeat and --cell-timeout: integers >= 1")
    if args.claims is not None and args.claims.exists() and not args.claims.is_dir():
        parser.error(f"--claims: {args.claims} exists and is not a folder")
    if args.claims is not None:
        args.claims.mkdir(parents=True, exist_ok=True)
        os.environ["COURSE_CLAIMS_DIR"] = str(args.claims.resolve())  # the kernels inherit it
    failed = 0
    for path in args.notebooks:
        times = []
        for i in range(args.repeat):
            ok, seconds, why = run_once(path.resolve(), args.cell_timeout)
            times.append(seconds)
            print(
                f"{path.name} run {i + 1}/{args.repeat}: {'ok' if ok else 'FAILED'} in {seconds:.0f} s {why}",
                flush=True,
            )
            failed += not ok
        if args.repeat > 1:
            print(
                f"{path.name}: {args.repeat} runs, slowest {max(times):.0f} s, fastest {min(times):.0f} s", flush=True
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
