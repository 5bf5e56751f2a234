"""compare_study, its result, the sanity checks and the ``compare`` command line."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_lib.__main__ import main
from course_lib.experiments.claims import compare
from course_lib.experiments.compare import AT_INIT, METHODS, compare_study, imp_schedule, score_batch
from course_lib.experiments.compare_result import UNDECIDED, CompareResult, MethodRun, versus
from course_lib.experiments.lottery import make_model
from course_lib.experiments.sanity import CHECKS, check_variant, sanity_checks
from course_lib.pruning.at_init import SCORE_PASSES, init_masks
from course_lib.training.data import load

SMALL = dict(model="32", seeds=2, epochs=1, lr=5e-3, sparsities=(0.5, 0.9))
ROW_KEYS = {"method", "sparsity", "weights_remaining", "test_acc_mean", "test_acc_std", "cost_iterations"}


@pytest.fixture(scope="module")
def digits():
    return load("digits")


@pytest.fixture(scope="module")
def study(digits):
    return compare_study(digits, **SMALL)


# --------------------------------------------------------------------------- schedule
@given(
    st.lists(st.floats(0.05, 0.99), min_size=1, max_size=4, unique=True),
    st.floats(0.1, 0.9),
)
def test_imp_schedule_lands_on_every_target_and_never_prunes_more_than_the_rate(targets, rate):
    schedule = imp_schedule(targets, rate)
    assert all(t in schedule for t in targets)
    assert schedule == sorted(schedule) and len(set(schedule)) == len(schedule)
    density = 1.0
    for s in schedule:
        pruned_of_remaining = 1 - (1 - s) / density
        assert pruned_of_remaining <= rate + 1e-9
        density = 1 - s
    assert schedule[-1] == max(targets)


# --------------------------------------------------------------------------- the study
def test_rows_hold_every_method_and_sparsity_with_the_documented_fields(study):
    rows = study.rows()
    assert [(r["method"], r["sparsity"]) for r in rows] == [(m, s) for m in METHODS for s in (0.5, 0.9)]
    for r in rows:
        assert ROW_KEYS <= set(r)
        assert len(r["test_acc"]) == 2 and r["test_acc_mean"] == pytest.approx(sum(r["test_acc"]) / 2, abs=1e-4)
        assert 10 < r["test_acc_mean"] <= 100
        # global methods hit the target exactly; layer-wise ones within rounding per layer
        assert r["weights_remaining"] == pytest.approx(1 - r["sparsity"], abs=2e-3)


def test_costs_count_the_training_each_method_pays(study, digits):
    t = -(-len(digits.train) // 60)  # one epoch
    cost = {(r["method"], r["sparsity"]): r["cost_iterations"] for r in study.rows()}
    # IMP at rate 0.5: rounds 0.5 -> (1 dense + 1 round), 0.9 after 0.5, 0.75, 0.875, 0.9 -> 1 + 4
    assert cost[("imp", 0.5)] == 2 * t and cost[("imp", 0.9)] == 5 * t
    for m in AT_INIT:
        assert cost[(m, 0.5)] == t + SCORE_PASSES[m]
    assert cost[("rigl", 0.9)] == cost[("set", 0.9)] == t
    assert t <= cost[("earlybird", 0.9)] - t <= t  # drawn within its one epoch of dense training


def test_imp_masks_only_shrink_and_at_init_masks_are_the_library_s(study, digits):
    for seed in (0, 1):
        lo, hi = (study.runs_of("imp", s)[seed].masks for s in (0.5, 0.9))
        assert all(not (hi[n] & ~lo[n]).any() for n in lo)
        net = make_model("32", digits.in_features, 10, seed=seed)
        x, y = score_batch(digits, seed)
        run = study.runs_of("snip", 0.9)[seed]
        expected = init_masks("snip", net, 0.9, x=x, y=y)
        assert all(torch.equal(run.masks[n], expected[n]) for n in expected)
        assert all(torch.equal(run.init[k], v) for k, v in net.state_dict().items())


def test_same_arguments_same_json(digits):
    options = dict(SMALL, methods=["snip", "random", "rigl"], sparsities=[0.8])
    a, b = (compare_study(digits, **options).to_dict() for _ in range(2))
    assert json.dumps(a) == json.dumps(b)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(methods=["imp", "lottery"]), "unknown method"),
        (dict(methods="imp"), "methods must be"),
        (dict(sparsities=[0.5, 1.0]), r"\(0, 1\)"),
        (dict(sparsities=[1.5]), "sparsities entries"),
        (dict(imp_rate=1.0), "imp_rate"),
        (dict(epochs=0), "epochs"),
        (dict(seeds=0), "seeds"),
    ],
)
def test_bad_options_are_refused_by_name(digits, options, message):
    with pytest.raises(ValueError, match=message):
        compare_study(digits, **options)


def test_unknown_option_is_a_type_error(digits):
    with pytest.raises(TypeError, match="rounds"):
        compare_study(digits, rounds=3)


# --------------------------------------------------------------------------- verdicts
def _run(method, acc, seed=0):
    return MethodRun(method, 0.5, seed, acc, 1, {"w": torch.tensor([True, False])}, {})


def test_versus_is_the_paired_verdict_of_claims_compare():
    assert versus([80.0, 82.0], [80.0, 82.0]) == 0  # no gap
    assert versus([83.0, 85.0, 84.0], [80.0, 82.0, 81.2]) == 1  # +2.8..3 on every seed, spread 0.1
    assert versus([80.0, 82.0, 81.2], [83.0, 85.0, 84.0]) == -1
    assert versus([83.0, 85.0, 84.0], [80.0, 85.5, 81.0]) == 0  # one seed lower: the seeds disagree
    assert versus([82.0, 81.0, 84.0], [80.0, 80.8, 81.0]) == 0  # higher on every seed, within the spread
    assert versus([90.0], [80.0]) == 0  # one seed decides nothing
    for a, b in [([83.0, 85.0, 84.0], [80.0, 82.0, 81.2]), ([82.0, 81.0, 84.0], [80.0, 80.8, 81.0])]:
        v = compare(a, b, "a", "b")
        assert versus(a, b) == (v.direction if v.beyond_spread else 0)
    with pytest.raises(ValueError, match="one number per seed"):
        versus([80.0, 81.0], [80.0])


def test_versus_random_pairs_the_runs_by_seed():
    # seed 0 is easy and seed 1 hard for both: unpaired, the spreads (2 + 2) hide the +1 gap;
    # paired by seed, snip is 1 point better on each seed
    res = CompareResult({}, [_run("random", 80, 0), _run("random", 84, 1), _run("snip", 81, 0), _run("snip", 85, 1)])
    [v] = res.versus_random()
    assert (v["method"], v["gap"], v["seeds"], v["verdict"]) == ("snip", 1.0, 2, "beats random")
    # the same accuracies with the seeds swapped for snip: -3 and +5, the seeds disagree
    res = CompareResult({}, [_run("random", 80, 0), _run("random", 84, 1), _run("snip", 85, 0), _run("snip", 81, 1)])
    assert res.versus_random()[0]["verdict"] == "no better than random"
    assert "snip" in res.table() and "no better than random" in res.table()
    worse = CompareResult({}, [_run("random", 80, 0), _run("random", 84, 1), _run("imp", 70, 0), _run("imp", 75, 1)])
    assert worse.versus_random()[0]["verdict"] == "worse than random"
    # runs listed out of seed order are still paired by seed; a seed only one method ran is left out
    shuffled = CompareResult(
        {},
        [_run("snip", 85, 1), _run("random", 84, 1), _run("random", 80, 0), _run("snip", 81, 0), _run("snip", 99, 2)],
    )
    assert shuffled.versus_random() == [
        {"method": "snip", "sparsity": 0.5, "gap": 1.0, "seeds": 2, "verdict": "beats random"}
    ]


def test_one_seed_gives_no_verdict_against_random():
    res = CompareResult({}, [_run("random", 80), _run("snip", 95), _run("imp", 60)])
    assert [(v["method"], v["seeds"], v["verdict"]) for v in res.versus_random()] == [
        ("snip", 1, None),
        ("imp", 1, None),
    ]
    assert [v["gap"] for v in res.versus_random()] == [15.0, -20.0]  # the gap is still reported
    lines = res.table().splitlines()[1:]
    assert [line.endswith(UNDECIDED) for line in lines] == [False, True, True]  # random has no verdict
    assert "beats" not in res.table() and "worse" not in res.table()
    assert json.loads(json.dumps(res.to_dict()))["versus_random"][0]["verdict"] is None


def test_weights_remaining_are_counted_from_the_masks_and_averaged_over_seeds():
    # target 0.5, but the masks keep 1 of 4 (seed 0) and 3 of 4 (seed 1), 2 of 4 in layer "a" overall
    masks = [
        {"a": torch.tensor([True, False]), "b": torch.tensor([False, False])},
        {"a": torch.tensor([True, True]), "b": torch.tensor([True, False])},
    ]
    runs = [MethodRun("snip", 0.5, seed, 90.0, 1, m, {}) for seed, m in enumerate(masks)]
    [row] = CompareResult({}, runs).rows()
    assert row["weights_remaining"] == 0.5  # (1/4 + 3/4) / 2, not 1 - 0.5 by assumption
    assert row["layer_density"] == {"a": 0.75, "b": 0.25}
    runs = [MethodRun("snip", 0.9, 0, 90.0, 1, {"w": torch.arange(10) < 1}, {})]
    assert CompareResult({}, runs).rows()[0]["weights_remaining"] == 0.1  # exactly, not 0.09999999999999998


def test_accuracies_are_rounded_to_four_decimals_in_rows_and_json():
    noisy = float(torch.tensor(89.7, dtype=torch.float32))  # 89.70000457763672
    res = CompareResult({}, [_run("random", noisy, 0), _run("random", 90.0, 1)], [93.30000305175781])
    [row] = res.rows()
    assert row["test_acc"] == [89.7, 90.0] and row["test_acc_mean"] == 89.85 and row["test_acc_std"] == 0.15
    js = res.to_dict()
    assert js["dense_test_acc_mean"] == 93.3 and js["dense_test_acc_std"] == 0.0
    assert "89.70000457763672" not in json.dumps(js)


def _bird(seed, epoch, settled):
    return MethodRun("earlybird", 0.5, seed, 80.0, 100, {"w": torch.tensor([True, False])}, {}, epoch, settled)


def test_early_bird_rows_say_when_each_seed_drew_its_ticket_and_whether_the_masks_settled():
    res = CompareResult({}, [_bird(0, 4, False), _bird(1, 4, False), _run("random", 60, 0), _run("random", 62, 1)])
    row = res.rows()[0]
    assert (row["drawn_epoch"], row["settled"]) == ([4, 4], [False, False])
    assert "drawn_epoch" not in res.rows()[1]  # other methods do not draw
    [note] = res.earlybird_notes()
    assert "[4, 4]" in note and "the masks had not settled" in note and "one-shot magnitude pruning" in note
    assert note in res.table() and res.earlybird_status() == "not settled"
    res = CompareResult({}, [_bird(0, 2, True), _bird(1, 4, False)])
    [note] = res.earlybird_notes()
    assert "[2, 4]" in note and "settled in 1 of 2 seeds" in note and "one-shot" not in note
    assert res.earlybird_status(0.5) == "settled in 1 of 2 runs"
    res = CompareResult({}, [_bird(0, 2, True), _bird(1, 3, True)])
    assert "settled in every seed" in res.earlybird_notes()[0] and res.earlybird_status() == ""


def test_the_study_records_each_early_bird_draw(study, digits):
    t = -(-len(digits.train) // 60)
    for s in (0.5, 0.9):
        runs = study.runs_of("earlybird", s)
        assert all(r.drawn_epoch == 1 for r in runs)  # one epoch of dense training: drawn at its end
        assert all(r.cost_iterations == r.drawn_epoch * t + t for r in runs)
        assert all(r.settled is False for r in runs)  # the masks after 1 epoch are far from those at init
    row = next(r for r in study.rows() if r["method"] == "earlybird")
    assert row["drawn_epoch"] == [1, 1] and row["settled"] == [r.settled for r in study.runs_of("earlybird", 0.5)]


# --------------------------------------------------------------------------- sanity checks
def test_sanity_variants_keep_the_counts_they_promise(study, digits):
    run = study.runs_of("snip", 0.9)[0]
    shuffled, init = check_variant("shuffled", "snip", run, digits, study.config)
    assert init is run.init
    assert {n: int(m.sum()) for n, m in shuffled.items()} == {n: int(m.sum()) for n, m in run.masks.items()}
    assert any(not torch.equal(shuffled[n], run.masks[n]) for n in shuffled)
    masks, fresh = check_variant("reinit", "snip", run, digits, study.config)
    assert masks is run.masks and not torch.equal(fresh["fc1.weight"], run.init["fc1.weight"])
    inverted, _ = check_variant("inverted", "magnitude", study.runs_of("magnitude", 0.9)[0], digits, study.config)
    kept = torch.cat([run.init[n].abs()[inverted[n]] for n in inverted])
    dropped = torch.cat([run.init[n].abs()[~inverted[n]] for n in inverted])
    assert kept.max() <= dropped.min()  # inverted magnitude keeps the smallest |w|
    assert sum(int(m.sum()) for m in inverted.values()) == sum(int(m.sum()) for m in run.masks.values())


def test_sanity_checks_train_every_variant(study, digits):
    res = sanity_checks(study, digits, 0.9, methods=["imp", "snip"])
    rows = res.rows()
    assert {(r["method"], r["check"]) for r in rows} == {("snip", c) for c in CHECKS} | {("imp", c) for c in CHECKS[:3]}
    for r in rows:
        assert len(res.accs[(r["method"], r["check"])]) == 2
        assert (r["effect"] == "") == (r["check"] == "original")
    assert res.accs[("snip", "original")] == [r.test_acc for r in study.runs_of("snip", 0.9)]
    assert "n/a" in res.table()  # IMP has no inverted check
    with pytest.raises(ValueError, match="random"):
        sanity_checks(study, digits, 0.9, methods=["random"])
    with pytest.raises(ValueError, match="sparsity 0.7"):
        sanity_checks(study, digits, 0.7)


# --------------------------------------------------------------------------- command line
CLI = ["compare", "--dataset", "digits", "--model", "32", "--epochs", "1", "--seeds", "2", "--quiet"]


def test_cli_writes_rows_and_is_byte_identical_on_a_rerun(tmp_path):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for p in paths:
        assert main([*CLI, "--methods", "imp,snip,random", "--sparsities", "0.6", "--json", str(p)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    rows = json.loads(paths[0].read_text())["rows"]
    assert [r["method"] for r in rows] == ["imp", "snip", "random"] and all(ROW_KEYS <= set(r) for r in rows)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--methods", "imp,lottery"], "--methods: must be distinct names"),
        (["--methods", "snip,snip"], "--methods: must be distinct names"),
        (["--sparsities", "0.5,1"], "--sparsities: must be distinct numbers in (0, 1)"),
        (["--sparsities", "half"], "--sparsities"),
        (["--imp-rate", "0"], "--imp-rate"),
        (["--model", "resnet"], "--model must be"),
        (["--dataset", "cifar10"], "invalid choice"),
        (["--plot", "out.txt"], "--plot must end"),
        (["--methods", "snip,"], "--methods: must be distinct names among imp,"),
        (["--methods", "snip,,random"], "(an empty entry)"),
        (["--methods", ""], "--methods: must be distinct names"),
        (["--sparsities", "0.9,"], "--sparsities: must be distinct numbers in (0, 1), comma-separated, got '0.9,'"),
        (["--sparsities", ",0.9"], "(an empty entry)"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_message(extra, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([*CLI, *extra])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "usage: python -m course_lib compare" in err and "python -m course_lib compare: error:" in err
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--json", "no/such/folder/a.json"], "--json 'no/such/folder/a.json': folder 'no/such/folder' does not exist"),
        (["--json", "."], "--json '.' is a directory"),
        (["--plot", "out.xyz"], "--plot must end in one of"),
        (["--model", "0,0"], "--model must be 'lenet'"),
    ],
)
def test_cli_errors_found_after_parsing_name_the_compare_command(extra, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([*CLI, *extra])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"python -m course_lib compare: error: {message}" in err
    assert err.startswith("usage: python -m course_lib compare ") and "COMMAND" not in err


def test_cli_with_one_seed_decides_nothing_against_random(tmp_path, capsys):
    path = tmp_path / "one.json"
    argv = [*CLI[:-3], "--seeds", "1", "--methods", "snip,random", "--sparsities", "0.6", "--json", str(path)]
    assert main(argv) == 0
    [v] = json.loads(path.read_text())["versus_random"]
    assert (v["method"], v["seeds"], v["verdict"]) == ("snip", 1, None)
    out = capsys.readouterr().out
    assert UNDECIDED in out and "beats random" not in out


def test_study_does_not_touch_the_dataset(digits):
    before = copy.deepcopy(digits.train.x)
    compare_study(digits, **dict(SMALL, methods=["grasp"], sparsities=[0.5]))
    assert torch.equal(before, digits.train.x)


def test_a_sanity_check_with_one_seed_decides_nothing():
    from course_lib.experiments.compare_result import UNDECIDED
    from course_lib.experiments.sanity import SanityResult

    one = SanityResult(0.98, {("snip", "original"): [86.0], ("snip", "shuffled"): [80.0]})
    two = SanityResult(0.98, {("snip", "original"): [86.0, 86.2], ("snip", "shuffled"): [80.0, 80.4]})
    assert [r["effect"] for r in one.rows()] == ["", UNDECIDED]
    assert [r["effect"] for r in two.rows()] == ["", "hurts"]


def test_rows_are_counted_once_and_recounted_when_the_runs_change(monkeypatch):
    m = {"w": torch.tensor([True, False, False, False])}
    res = CompareResult(
        {}, [MethodRun("random", 0.75, 0, 50.0, 10, m, {}), MethodRun("snip", 0.75, 0, 60.0, 11, m, {})]
    )
    counted = []
    original = MethodRun.layer_density
    monkeypatch.setattr(MethodRun, "layer_density", lambda self: counted.append(1) or original(self))
    first = res.rows()
    first[0]["test_acc_mean"] = -1.0  # a caller's change does not reach the cache
    assert res.rows() == res.rows() != first and len(counted) == 2
    res.runs.append(MethodRun("grasp", 0.75, 0, 70.0, 12, m, {}))
    assert [r["method"] for r in res.rows()] == ["random", "snip", "grasp"] and len(counted) == 5
