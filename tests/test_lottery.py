"""course_lib.lottery: IMP with rewinding, its controls, and the study over seeds."""

import copy
import json

import pytest
import torch

from course_lib.experiments.lottery import (
    VARIANTS,
    imp_round,
    lottery_study,
    make_model,
    prune_masks,
    random_masks,
    rewind,
    start_variant,
)
from course_lib.pruning.schedules import layer_sparsities
from course_lib.training.data import load
from course_lib.training.train import train

DATA = load("digits")
SMALL = dict(model="24", rounds=2, seeds=2, rate=0.5, epochs=1, lr=5e-3, progress=False)


@pytest.fixture(scope="module")
def study():
    return lottery_study(DATA, **SMALL)


@pytest.fixture(scope="module")
def histories():
    """Two rewinding points on the same dense runs, keeping every round's masks and weights."""
    return lottery_study(DATA, rewind_iter=[0, 7], keep_history=True, **SMALL)


def test_rewind_restores_exactly_the_saved_weights_under_the_mask():
    net = make_model("24", 64, 10, seed=0)
    run = train(net, DATA, epochs=1, lr=5e-3, save_at=[0, 5], progress=False)
    masks = prune_masks(net, {"fc1.weight": 0.7, "fc2.weight": 0.35})
    for k in (0, 5):
        saved = run.snapshots[k]
        rewind(net, saved, masks)
        state = net.state_dict()
        for name, value in state.items():
            expected = saved[name] * masks[name] if name in masks else saved[name]
            assert torch.equal(value, expected), name
            if name in masks:
                assert (value[masks[name]] == saved[name][masks[name]]).all()
                assert (value[~masks[name]] == 0).all()


def test_imp_round_prunes_the_remaining_weights_and_retrains_from_the_rewind_point():
    net = make_model("24", 64, 10, seed=0)
    init = copy.deepcopy(net.state_dict())
    train(net, DATA, epochs=1, lr=5e-3, progress=False)
    masks = None
    for rnd in (1, 2):
        trained = copy.deepcopy(net.state_dict())
        new, run = imp_round(
            net,
            DATA,
            masks,
            init,
            {"fc1.weight": 0.5, "fc2.weight": 0.25},
            rnd,
            epochs=1,
            lr=5e-3,
            save_at=[0],
            progress=False,
        )
        assert int((~new["fc1.weight"]).sum()) == round((1 - 0.5**rnd) * 24 * 64)
        if masks is not None:
            assert not (new["fc1.weight"] & ~masks["fc1.weight"]).any()
        # rewound to init under the new mask, which pruned the smallest *trained* weights
        assert torch.equal(run.snapshots[0]["fc1.weight"], init["fc1.weight"] * new["fc1.weight"])
        w = trained["fc1.weight"].abs()
        prior = masks["fc1.weight"] if masks else torch.ones_like(new["fc1.weight"])
        newly = prior & ~new["fc1.weight"]
        assert w[newly].max() <= w[new["fc1.weight"]].min()
        assert (net.fc1.weight[~new["fc1.weight"]] == 0).all()
        masks = new


def test_random_masks_keep_per_layer_counts_and_are_seeded():
    net = make_model("lenet", 784, 10)
    masks = prune_masks(net, {"fc1.weight": 0.9, "fc2.weight": 0.9, "fc3.weight": 0.5})
    a, b, c = random_masks(masks, seed=1), random_masks(masks, seed=1), random_masks(masks, seed=2)
    for name, m in masks.items():
        assert a[name].dtype == torch.bool and a[name].shape == m.shape
        assert int(a[name].sum()) == int(m.sum())
        assert torch.equal(a[name], b[name]) and not torch.equal(a[name], c[name])
        assert not torch.equal(a[name], m)


def test_study_rows_and_controls_keep_the_ticket_per_layer_sparsity(study):
    rows = study.rows()
    assert [(r["variant"], r["round"]) for r in rows] == [(v, r) for v in VARIANTS for r in (1, 2)]
    layers = ["fc1.weight", "fc2.weight"]
    for rnd in (1, 2):
        expected = study.layer_density[rnd]
        assert expected["fc1.weight"] == pytest.approx(0.5**rnd, abs=1e-3)
        assert expected["fc2.weight"] == pytest.approx(0.75**rnd, abs=1e-2)  # output layer at half rate
        for variant in VARIANTS:
            for measured in study.nonzero_density[(variant, rnd)]:
                for name in layers:  # trained nets: zeros exactly where the mask prunes, same count per layer
                    assert measured[name] == pytest.approx(expected[name], abs=1e-9), (variant, rnd, name)
    assert study.weights_remaining[1] > study.weights_remaining[2]
    assert len(study.dense) == 2 and all(len(v) == 2 for v in study.runs.values())


def test_study_json_has_the_documented_fields(study):
    js = json.loads(json.dumps(study.to_json()))
    assert set(js) >= {"dense_test_acc", "rows", "config", "seeds"}
    assert js["dense_test_acc"] == pytest.approx(sum(r.final_test_acc for r in study.dense) / 2)
    for row in js["rows"]:
        assert {
            "variant",
            "round",
            "weights_remaining",
            "test_acc_mean",
            "test_acc_std",
            "early_stop_iter_mean",
        } <= set(row)
        assert row["variant"] in VARIANTS and 0 < row["weights_remaining"] < 1
        assert 0 <= row["test_acc_mean"] <= 100 and row["test_acc_std"] >= 0
    assert "curves" in study.to_json(curves=True)
    assert "weights %" in study.table()


def test_same_seeds_identical_result(study):
    again = lottery_study(DATA, model="24", rounds=2, seeds=2, rate=0.5, epochs=1, lr=5e-3, progress=False)
    assert again.to_json() == study.to_json()
    other = lottery_study(DATA, model="24", rounds=2, seeds=[5, 6], rate=0.5, epochs=1, lr=5e-3, progress=False)
    assert other.to_json()["rows"] != study.to_json()["rows"]


def _same_runs(a, b):
    assert a.runs.keys() == b.runs.keys()
    for key in a.runs:
        for x, y in zip(a.runs[key], b.runs[key], strict=True):
            assert x.iterations == y.iterations
            assert x.test_acc == pytest.approx(y.test_acc, abs=0.2)  # one example of 359 = 0.28 points
            assert x.val_loss == pytest.approx(y.val_loss, abs=1e-4)


def test_keep_history_changes_no_number(study):
    kept = lottery_study(DATA, keep_history=True, **SMALL)
    assert kept.to_json(curves=True) == study.to_json(curves=True)
    assert not study.masks and not study.final and not study.init and not study.rewind_state


def test_several_rewind_points_give_the_single_point_numbers(study, histories):
    # trained in one batch with the other rewinding point's jobs: equal up to float rounding
    _same_runs(study, histories[0])
    late = lottery_study(DATA, rewind_iter=7, variants=["ticket"], **SMALL)
    _same_runs(late, histories[7])
    assert histories[7].config["rewind_iter"] == histories[7].rewind_iter == 7
    assert histories[0].variants == list(VARIANTS) and histories[7].variants == ["ticket"]
    assert histories[0].weights_remaining == late.weights_remaining == study.weights_remaining
    # the dense networks were trained once and are shared
    assert histories[0].dense is histories[7].dense


def test_history_keeps_masks_and_weights(histories):
    h = histories[0]
    assert sorted(h.masks) == sorted(h.final) == [0, 1, 2]
    for i in range(2):
        assert all(bool(m.all()) for m in h.masks[0][i].values())
        assert h.dense_final[i] is h.final[0][i]
        for r in (1, 2):
            for n, m in h.masks[r][i].items():
                assert not bool((m & ~h.masks[r - 1][i][n]).any())  # masks only shrink
                assert bool((h.final[r][i][n][~m] == 0).all())  # pruned weights stayed zero
                assert not torch.equal(h.final[r][i][n], h.init[i][n] * m)  # and the kept ones trained
            # round r's masks are the magnitude masks of round r-1's trained ticket
            net = make_model("24", 64, 10)
            net.load_state_dict(h.final[r - 1][i])
            again = prune_masks(net, layer_sparsities(h.config["layer_rates"], r), prior=h.masks[r - 1][i])
            assert all(torch.equal(again[n], h.masks[r][i][n]) for n in again)
        # rewinding to 0 is the initialization; to 7 it is not
        assert all(torch.equal(h.rewind_state[i][n], h.init[i][n]) for n in h.init[i])
        assert not torch.equal(histories[7].rewind_state[i]["fc1.weight"], h.init[i]["fc1.weight"])
        assert histories[7].init[i] is h.init[i]


def test_start_variant_defines_the_controls():
    build = lambda s: make_model("24", 64, 10, seed=s)  # noqa: E731
    saved = build(3).state_dict()
    masks = prune_masks(build(3), {"fc1.weight": 0.5, "fc2.weight": 0.25})
    net, m = start_variant("ticket", build, 3, 2, saved, masks)
    assert m is masks and torch.equal(net.fc1.weight, saved["fc1.weight"] * masks["fc1.weight"])
    net, m = start_variant("reinit", build, 3, 2, saved, masks)
    assert m is masks and not torch.equal(net.fc1.weight, saved["fc1.weight"])
    a, ma = start_variant("random_prune", build, 3, 2, saved, masks)
    b, mb = start_variant("random_prune", build, 3, 2, saved, masks)
    assert all(torch.equal(ma[n], mb[n]) and int(ma[n].sum()) == int(masks[n].sum()) for n in masks)
    assert torch.equal(a.fc1.weight, saved["fc1.weight"] * ma["fc1.weight"])
    with pytest.raises(ValueError, match="variant"):
        start_variant("dense", build, 3, 2, saved, masks)


def test_late_rewinding_and_subset_of_variants():
    res = lottery_study(
        DATA, model="16", rounds=1, seeds=1, epochs=1, rewind_iter=5, variants=["ticket"], lr=5e-3, progress=False
    )
    assert res.variants == ["ticket"] and res.config["rewind_iter"] == 5
    with pytest.raises(ValueError, match="rewind_iter"):
        lottery_study(DATA, model="16", rounds=1, seeds=1, epochs=1, rewind_iter=10_000, progress=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="rounds"):
        lottery_study(DATA, rounds=0, progress=False)
    with pytest.raises(ValueError, match="seeds"):
        lottery_study(DATA, seeds=0, progress=False)
    with pytest.raises(ValueError, match="variants"):
        lottery_study(DATA, variants=["reinit"], progress=False)
    with pytest.raises(ValueError, match="late_variants"):
        lottery_study(DATA, rewind_iter=[0, 5], late_variants=["reinit"], progress=False)
    for bad in ([0, 0], [], [-1], 1.5, True, "0"):
        with pytest.raises(ValueError, match="rewind_iter"):
            lottery_study(DATA, rewind_iter=bad, progress=False)
    with pytest.raises(ValueError, match="training iterations"):
        lottery_study(DATA, rewind_iter=[0, 10_000], progress=False)
    with pytest.raises(ValueError, match="model"):
        make_model("lenet5", 64, 10)
    with pytest.raises(ValueError, match="unknown dataset"):
        lottery_study("cifar10", progress=False)
    with pytest.raises(ValueError, match="unknown parameter"):
        prune_masks(make_model("8", 4, 2), {"fc9.weight": 0.5})
