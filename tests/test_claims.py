"""The sentences notebooks print about results, and the README's claims table built from them (issue 12)."""

import json
import sys
from pathlib import Path

import pytest

from course_lib.experiments import claims
from course_lib.experiments.claims import Claims, change, compare

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import claims_table  # noqa: E402


@pytest.mark.parametrize(
    ("a", "b", "direction", "beyond", "words"),
    [
        ([94.0, 95.0, 94.5], [93.0, 94.0, 93.4], 1, True, "higher on every seed, beyond the seed spread"),
        ([93.0, 94.0, 93.5], [92.9, 89.0, 90.0], 1, False, "higher on every seed"),
        ([90.0, 91.0], [91.0, 92.5], -1, True, "lower on every seed, beyond the seed spread"),
        ([94.0, 93.0], [93.0, 94.0], 0, False, "the seeds disagree"),
        ([94.0, 93.0], [94.0, 92.0], 0, False, "higher on 1 of 2 seeds, tied on 1"),  # a tie decides nothing
        ([90.0, 91.0, 92.0], [90.0, 92.0, 92.0], 0, False, "lower on 1 of 3 seeds, tied on 2"),
        ([90.0, 91.0], [90.0, 91.0], 0, False, "the same on every seed"),
        ([95.0, 90.1], [90.0, 90.2], 0, False, "the seeds disagree"),  # a large mean gap, one seed against it
        ([94.0], [90.0], 0, False, "one seed, not decided"),
    ],
)
def test_compare_says_only_what_every_seed_shows(a, b, direction, beyond, words):
    v = compare(a, b, "pruned", "dense")
    assert (v.direction, v.beyond_spread) == (direction, beyond)
    assert v.text.endswith("; " + words) and v.text.startswith("pruned vs dense: ")
    assert v.mean == pytest.approx(sum(a) / len(a) - sum(b) / len(b))
    flipped = compare(b, a, "dense", "pruned")  # the same verdict, seen from the other side
    assert (flipped.direction, flipped.beyond_spread, flipped.mean) == (-direction, beyond, pytest.approx(-v.mean))


def test_compare_pairs_by_seed_not_by_mean():
    """Paired: the same means and spreads per setting, but only one pairing is higher on every seed."""
    ticket, control = [90.0, 92.0, 94.0], [89.0, 91.0, 93.0]
    assert compare(ticket, control, "t", "c").direction == 1
    assert compare(ticket, control[::-1], "t", "c").direction == 0  # seed 0's ticket against seed 2's control


def test_compare_prints_the_mean_and_spread_it_computed():
    v = compare([90.0, 92.0], [85.0, 91.0], "ticket", "random", unit="pp", decimals=1)
    assert (v.mean, v.std) == (3.0, 2.0) and "+3.0 ± 2.0 pp" in v.text


def test_change_never_calls_a_larger_number_smaller():
    """The finding of issue 12: a CSR file 0.2% larger than dense was printed '1.0x smaller'."""
    v = change(1041, 1043, "KiB", "CSR vs dense")
    assert v.direction == 1 and v.text.endswith("1.002× larger")
    assert change(1043, 1041, "KiB", "x").text.endswith("1.002× smaller")
    assert change(640, 3.7, "pJ", "x").text.endswith(" 173× smaller")
    assert change(2.0, 5.0, "ms", "x").text.endswith("2.5× larger")
    assert change(5, 5, "ms", "x").text.endswith("the same") and change(5, 5, "ms", "x").direction == 0


@pytest.mark.parametrize(
    ("call", "word"),
    [
        (lambda: compare([1.0, 2.0], [1.0], "a", "b"), "one number per seed"),
        (lambda: compare([], [], "a", "b"), "at least one"),
        (lambda: compare("12", "34", "a", "b"), "a sequence"),
        (lambda: compare([1.0, float("nan")], [1.0, 2.0], "a", "b"), "finite"),
        (lambda: compare([1.0], [2.0], "a", "b", decimals=-1), "decimals"),
        (lambda: change(0, 3, "KiB", "x"), "before"),
        (lambda: change(3, float("nan"), "KiB", "x"), "after"),
        (lambda: Claims("magnitude"), "notebook"),
        (lambda: Claims("01_magnitude").row("a | b", "c"), "slide"),
        (lambda: Claims("01_magnitude").row("a", ""), "measured"),
        (lambda: Claims("01_magnitude").row("a", "two\nlines"), "measured"),
    ],
)
def test_bad_input_names_the_argument(call, word):
    with pytest.raises((ValueError, TypeError), match=word):
        call()


def test_a_claim_is_recorded_once_and_saved_only_where_asked(tmp_path, monkeypatch):
    c = Claims("04_train_prune_finetune")
    assert c.row("Iterative beats one-shot", "+6.1 ± 0.7 points") == "+6.1 ± 0.7 points"
    with pytest.raises(ValueError, match="recorded already"):
        c.row("Iterative beats one-shot", "again")
    monkeypatch.delenv(claims.CLAIMS_DIR_VARIABLE, raising=False)
    assert c.save() is None and not list(tmp_path.iterdir())  # a student's run writes nothing
    monkeypatch.setenv(claims.CLAIMS_DIR_VARIABLE, str(tmp_path / "claims"))
    path = c.save()
    record = json.loads(path.read_text())
    assert path.name == "04_train_prune_finetune.json" and record["rows"] == c.rows
    assert set(record["environment"]) == {"cpu", "cores", "torch_threads", "torch", "python"}
    with pytest.raises(ValueError, match="no row"):
        Claims("05_lottery_ticket").save(tmp_path)


def _records(folder, notebooks):
    for name, rows in notebooks.items():
        c = Claims(name)
        for slide, measured in rows:
            c.row(slide, measured)
        c.save(folder)


def test_the_table_is_written_from_the_records_and_checked_against_them(tmp_path, capsys):
    folder = tmp_path / "claims"
    _records(folder, {"01_magnitude": [("Magnitude works", "0.8% vs 58%")], "00_why_prune": [("Smaller", "2.1×")]})
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\n{claims_table.START}\nold table\n{claims_table.END}\n\n## Next\n")
    assert claims_table.main([*_args(folder, readme, tmp_path, "00_why_prune", "01_magnitude"), "--check"]) == 1
    assert claims_table.main(_args(folder, readme, tmp_path, "00_why_prune", "01_magnitude")) == 0
    text = readme.read_text()
    assert text.index("| Smaller | 00 | 2.1× |") < text.index("| Magnitude works | 01 | 0.8% vs 58% |")
    assert text.startswith("# Course\n\n") and text.endswith("\n\n## Next\n") and "old table" not in text
    assert claims_table.main([*_args(folder, readme, tmp_path), "--check"]) == 0
    _records(folder, {"01_magnitude": [("Magnitude works", "0.9% vs 58%")]})  # a rerun measured another figure
    assert claims_table.main([*_args(folder, readme, tmp_path), "--check"]) == 1
    assert "differs" in capsys.readouterr().err


def _args(folder, readme, tmp_path, *lecture):
    """Command-line arguments of claims_table with the lecture notebooks ``lecture`` (empty files) in tmp_path."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir(exist_ok=True)
    for name in lecture:
        (notebooks / f"{name}.ipynb").write_text("{}")
    return ["--claims", str(folder), "--readme", str(readme), "--notebooks", str(notebooks)]


def test_a_claim_measured_by_several_notebooks_is_one_row_and_a_pipe_stays_in_its_cell():
    folder_rows = [
        {"notebook": "02_rows", "rows": [{"slide": "Fine beats coarse", "measured": "0.11 vs 0.54"}]},
        {"notebook": "03_nm", "rows": [{"slide": "Fine beats coarse", "measured": "|e| 0.35 vs 0.45"}]},
    ]
    env = {k: 1 for k in claims_table.ENVIRONMENT_KEYS}
    table = claims_table.render([{**r, "environment": env} for r in folder_rows])
    [row] = [line for line in table.splitlines() if line.startswith("| Fine")]
    assert row == "| Fine beats coarse | 02, 03 | **02:** 0.11 vs 0.54 · **03:** \\|e\\| 0.35 vs 0.45 |"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("not json", "00_a.json: not JSON"),
        ('{"notebook": "00_a", "environment": {}, "rows": [{"slide": "s", "measured": "m"}]}', "environment"),
        ('{"notebook": "00_a", "environment": ENV, "rows": "s"}', "rows"),
        ('{"notebook": "00_a", "environment": ENV, "rows": []}', "rows"),
        ('{"notebook": "00_b", "environment": ENV, "rows": [{"slide": "s", "measured": "m"}]}', "file's name"),
        ('{"notebook": "00_a", "environment": ENV, "rows": [{"slide": "s", "measured": 1}]}', "rows"),
    ],
)
def test_a_malformed_record_is_refused_naming_its_file(tmp_path, content, match):
    env = json.dumps({k: 1 for k in claims_table.ENVIRONMENT_KEYS})
    (tmp_path / "00_a.json").write_text(content.replace("ENV", env))
    with pytest.raises(ValueError, match=match):
        claims_table.load(tmp_path)


def test_a_partial_run_is_refused(tmp_path, capsys):
    _records(tmp_path / "claims", {"00_why_prune": [("a", "b")]})
    readme = tmp_path / "README.md"
    readme.write_text(f"{claims_table.START}\n{claims_table.END}\n")
    args = _args(tmp_path / "claims", readme, tmp_path, "00_why_prune", "01_magnitude")
    assert claims_table.main(args) == 2
    assert "no record of 01_magnitude (a partial run?)" in capsys.readouterr().err
    assert readme.read_text() == f"{claims_table.START}\n{claims_table.END}\n"  # nothing written


def test_records_from_two_machines_are_refused(tmp_path):
    _records(tmp_path, {"01_magnitude": [("a", "b")], "02_fine_vs_structured": [("c", "d")]})
    record = json.loads((tmp_path / "02_fine_vs_structured.json").read_text())
    record["environment"]["cores"] += 1
    (tmp_path / "02_fine_vs_structured.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="different machines"):
        claims_table.load(tmp_path)


def test_the_readme_table_matches_the_committed_records():
    """`make claims` wrote claims/*.json and the README's table from the same run; editing either alone fails here."""
    if not list((ROOT / "claims").glob("[0-9][0-9]_*.json")):
        pytest.skip("no notebook records its claims yet (claims/ is empty)")
    assert claims_table.main(["--check"]) == 0
