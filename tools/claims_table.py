"""Write (or check) the README's claims table from the rows the lecture notebooks recorded.

``make claims`` runs every lecture notebook with ``COURSE_CLAIMS_DIR=claims``; each saves the
rows it measured (:class:`course_lib.experiments.claims.Claims`) to ``claims/NN_name.json``.
This tool renders those files as the table between the README's markers:

    python tools/claims_table.py            # rewrite the table in README.md
    python tools/claims_table.py --check    # exit 1 when README.md and claims/ disagree

The table names the machine the rows were measured on; rows from different machines (a
partial rerun elsewhere) are refused: rerun ``make claims``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = "<!-- claims table: written by `make claims` from claims/*.json; edit the notebooks, not this table -->"
END = "<!-- end of claims table -->"


ENVIRONMENT_KEYS = ("cpu", "cores", "torch_threads", "torch", "python")


def _read(path: Path) -> dict:
    """One record, checked: ``notebook`` (its file's name), ``environment``, ``rows`` of slide/measured."""
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err})") from None
    ok = isinstance(record, dict) and record.get("notebook") == path.stem
    ok = ok and isinstance(record.get("environment"), dict) and set(ENVIRONMENT_KEYS) <= set(record["environment"])
    rows = record.get("rows") if ok else None
    ok = ok and isinstance(rows, list) and bool(rows)
    ok = ok and all(
        isinstance(r, dict) and isinstance(r.get("slide"), str) and isinstance(r.get("measured"), str) for r in rows
    )
    if not ok:
        raise ValueError(
            f"{path}: a record holds notebook (its file's name), environment ({', '.join(ENVIRONMENT_KEYS)}) "
            "and rows (a list of {slide, measured} strings); rerun `make claims`"
        )
    return record


def load(folder: Path, notebooks: list[str] | None = None) -> list[dict]:
    """The notebooks' records in ``folder`` (``NN_name.json``), in notebook order.

    Args:
        folder: where ``make claims`` saved the records.
        notebooks: the lecture notebooks' names (``NN_name``) that must each have a record, or
            ``None`` to take what is there.

    Raises:
        ValueError: no record, a malformed record, a lecture notebook without its record (a
            partial run), or records measured on different machines.
    """
    records = [_read(p) for p in sorted(Path(folder).glob("[0-9][0-9]_*.json"))]
    if not records:
        raise ValueError(f"{folder}: no NN_name.json record; run `make claims`")
    missing = sorted(set(notebooks or ()) - {r["notebook"] for r in records})
    if missing:
        raise ValueError(f"{folder}: no record of {', '.join(missing)} (a partial run?); run `make claims`")
    machines = {json.dumps(r["environment"], sort_keys=True) for r in records}
    if len(machines) > 1:
        raise ValueError(f"{folder}: records from {len(machines)} different machines; rerun `make claims`")
    return records


def render(records: list[dict]) -> str:
    """The README section: the machine line and the table, between the markers.

    A slide claim measured by several notebooks is one row: its notebooks in ``where`` and
    their findings, each after its notebook's number, in ``measured here``.
    """
    env = records[0]["environment"]
    lines = [
        START,
        f"Measured by `make claims` on {env['cpu']} ({env['cores']} cores), torch {env['torch']} with "
        f"{env['torch_threads']} threads, Python {env['python']}.",
        "",
        "| slide claim | where | measured here |",
        "|---|---|---|",
    ]
    claims: dict[str, list[tuple[str, str]]] = {}
    for record in records:
        for row in record["rows"]:
            cell = row["measured"].replace("|", "\\|")  # a pipe would end the table's cell
            claims.setdefault(row["slide"].replace("|", "\\|"), []).append((record["notebook"][:2], cell))
    for slide, found in claims.items():
        where = ", ".join(dict.fromkeys(nb for nb, _ in found))
        measured = found[0][1] if len(found) == 1 else " · ".join(f"**{nb}:** {text}" for nb, text in found)
        lines.append(f"| {slide} | {where} | {measured} |".replace("\n", " "))
    return "\n".join([*lines, END])


def section(readme_text: str) -> tuple[int, int]:
    """Where the generated section starts and ends in ``readme_text`` (end exclusive).

    Raises:
        ValueError: the markers are missing or out of order.
    """
    start, end = readme_text.find(START), readme_text.find(END)
    if start < 0 or end < start:
        raise ValueError("README.md: the claims table's markers are missing or out of order")
    return start, end + len(END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=Path, default=ROOT / "claims", help="folder of NN_name.json records")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="the lecture notebooks")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when they disagree")
    args = parser.parse_args(argv)
    try:
        text = args.readme.read_text()
        start, end = section(text)
        lecture = [p.stem for p in sorted(args.notebooks.glob("[0-9][0-9]_*.ipynb"))]
        table = render(load(args.claims, lecture))
    except (OSError, ValueError) as err:
        print(f"claims_table: {err}", file=sys.stderr)
        return 2
    if text[start:end] == table:
        print(f"{args.readme.name}: the claims table matches {args.claims.name}/")
        return 0
    if args.check:
        print(
            f"{args.readme.name}: the claims table differs from {args.claims.name}/; run `make claims`", file=sys.stderr
        )
        return 1
    args.readme.write_text(text[:start] + table + text[end:])
    print(f"{args.readme.name}: claims table rewritten from {args.claims.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
