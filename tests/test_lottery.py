"""course_lib.lottery: IMP with rewinding, its controls, and the study over seeds."""
import copy
import json

import pytest
import torch

from course_lib.data import load
from course_lib.lottery import (
    VARIANTS,
    imp_round,
    lottery_study,
    make_model,
    prune_masks,
    random_masks,
    rewind,
)
from course_lib.train import train

DATA = load("digits")


@pytest.fixture(scope="module")
def study():
    return lottery_study(DATA, model="24", rounds=2, seeds=2, rate=0.5, epochs=1, lr=5e-3, progress=False)


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
        new, run = imp_round(net, DATA, masks, init, {"fc1.weight": 0.5, "fc2.weight": 0.25}, rnd,
                             epochs=1, lr=5e-3, save_at=[0], progress=False)
        assert int((~new["fc1.weight"]).sum()) == round((1 - 0.5 ** rnd) * 24 * 64)
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
        assert expected["fc1.weight"] == pytest.approx(0.5 ** rnd, abs=1e-3)
        assert expected["fc2.weight"] == pytest.approx(0.75 ** rnd, abs=1e-2)  # output layer at half rate
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
        assert {"variant", "round", "weights_remaining", "test_acc_mean", "test_acc_std",
                "early_stop_iter_mean"} <= set(row)
        assert row["variant"] in VARIANTS and 0 < row["weights_remaining"] < 1
        assert 0 <= row["test_acc_mean"] <= 100 and row["test_acc_std"] >= 0
    assert "curves" in study.to_json(curves=True)
    assert "weights %" in study.table()


def test_same_seeds_identical_result(study):
    again = lottery_study(DATA, model="24", rounds=2, seeds=2, rate=0.5, epochs=1, lr=5e-3, progress=False)
    assert again.to_json() == study.to_json()
    other = lottery_study(DATA, model="24", rounds=2, seeds=[5, 6], rate=0.5, epochs=1, lr=5e-3, progress=False)
    assert other.to_json()["rows"] != study.to_json()["rows"]


def test_late_rewinding_and_subset_of_variants():
    res = lottery_study(DATA, model="16", rounds=1, seeds=1, epochs=1, rewind_iter=5, variants=["ticket"],
                        lr=5e-3, progress=False)
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
    with pytest.raises(ValueError, match="model"):
        make_model("lenet5", 64, 10)
    with pytest.raises(ValueError, match="unknown dataset"):
        lottery_study("cifar10", progress=False)
    with pytest.raises(ValueError, match="unknown parameter"):
        prune_masks(make_model("8", 4, 2), {"fc9.weight": 0.5})
