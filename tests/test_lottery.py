"""course_lib.experiments.tickets / lottery: IMP with rewinding, its controls, and the studies over seeds."""

import copy
import json

import pytest
import torch

from course_lib.experiments.lottery import lottery_study, make_model, rewinding_study
from course_lib.experiments.lottery_result import VARIANTS
from course_lib.experiments.tickets import imp_round, prune_and_rewind, random_masks, rewind, start_variant
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.schedules import layer_sparsities
from course_lib.training.train import train


def test_rewind_restores_exactly_the_saved_weights_under_the_mask(digits):
    net = make_model("24", 64, 10, seed=0)
    run = train(net, digits, epochs=1, lr=5e-3, save_at=[0, 5], progress=False)
    masks = magnitude_masks(net, {"fc1.weight": 0.7, "fc2.weight": 0.35})
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


def test_prune_and_rewind_prunes_the_trained_weights_and_rewinds_under_the_new_mask(digits):
    net = make_model("24", 64, 10, seed=0)
    init = copy.deepcopy(net.state_dict())
    train(net, digits, epochs=1, lr=5e-3, progress=False)
    trained = copy.deepcopy(net.state_dict())
    prior = magnitude_masks(make_model("24", 64, 10, seed=5), {"fc1.weight": 0.3})
    masks = prune_and_rewind(net, init, {"fc1.weight": 0.6}, prior=prior)
    assert list(masks) == ["fc1.weight"]
    assert not (masks["fc1.weight"] & ~prior["fc1.weight"]).any()  # what the prior pruned stays pruned
    assert int((~masks["fc1.weight"]).sum()) == round(0.6 * 24 * 64)
    w = trained["fc1.weight"].abs()
    newly = prior["fc1.weight"] & ~masks["fc1.weight"]
    assert w[newly].max() <= w[masks["fc1.weight"]].min()  # the smallest *trained* survivors went
    assert torch.equal(net.fc1.weight.detach(), init["fc1.weight"] * masks["fc1.weight"])
    assert torch.equal(net.fc2.weight.detach(), init["fc2.weight"])  # not pruned: rewound as is


def test_imp_round_prunes_the_remaining_weights_and_retrains_from_the_rewind_point(digits):
    net = make_model("24", 64, 10, seed=0)
    init = copy.deepcopy(net.state_dict())
    train(net, digits, epochs=1, lr=5e-3, progress=False)
    masks = None
    for rnd in (1, 2):
        trained = copy.deepcopy(net.state_dict())
        rates = {"fc1.weight": 0.5, "fc2.weight": 0.25}
        new, run = imp_round(net, digits, masks, init, rates, rnd, epochs=1, lr=5e-3, save_at=[0], progress=False)
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
    with pytest.raises(TypeError, match="rates"):
        imp_round(net, digits, masks, init, "0.5", 3, epochs=1, progress=False)


def test_random_masks_keep_per_layer_counts_and_are_seeded():
    net = make_model("lenet", 784, 10)
    masks = magnitude_masks(net, {"fc1.weight": 0.9, "fc2.weight": 0.9, "fc3.weight": 0.5})
    a, b, c = random_masks(masks, seed=1), random_masks(masks, seed=1), random_masks(masks, seed=2)
    for name, m in masks.items():
        assert a[name].dtype == torch.bool and a[name].shape == m.shape
        assert int(a[name].sum()) == int(m.sum())
        assert torch.equal(a[name], b[name]) and not torch.equal(a[name], c[name])
        assert not torch.equal(a[name], m)


def test_study_rows_and_controls_keep_the_ticket_per_layer_sparsity(small_study):
    study = small_study
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
            assert study.test_accs(variant, rnd) == [r.final_test_acc for r in study.runs[(variant, rnd)]]
    assert study.weights_remaining[1] > study.weights_remaining[2]
    assert len(study.dense) == 2 and all(len(v) == 2 for v in study.runs.values())


def test_study_json_has_the_documented_fields(small_study):
    js = json.loads(json.dumps(small_study.to_json()))
    assert set(js) >= {"dense_test_acc", "rows", "config", "seeds"}
    assert js["dense_test_acc"] == pytest.approx(sum(r.final_test_acc for r in small_study.dense) / 2)
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
    assert "curves" in small_study.to_json(curves=True)
    assert "weights %" in small_study.table()


def test_same_seeds_identical_result(small_study, digits, small_options):
    assert lottery_study(digits, **small_options).to_json() == small_study.to_json()
    other = lottery_study(digits, **{**small_options, "seeds": [5, 6]})
    assert other.to_json()["rows"] != small_study.to_json()["rows"]


def _same_runs(a, b):
    assert a.runs.keys() == b.runs.keys()
    for key in a.runs:
        for x, y in zip(a.runs[key], b.runs[key], strict=True):
            assert x.iterations == y.iterations
            assert x.test_acc == pytest.approx(y.test_acc, abs=0.2)  # one example of 359 = 0.28 points
            assert x.val_loss == pytest.approx(y.val_loss, abs=1e-4)


def test_keep_history_changes_no_number(small_study, digits, small_options):
    kept = lottery_study(digits, keep_history=True, **small_options)
    assert kept.to_json(curves=True) == small_study.to_json(curves=True)
    assert sorted(kept.masks) == [0, 1, 2]
    assert not small_study.masks and not small_study.final and not small_study.init and not small_study.rewind_state


def test_several_rewind_points_give_the_single_point_numbers(small_study, small_histories, digits, small_options):
    # trained in one batch with the other rewinding point's jobs: equal up to float rounding
    _same_runs(small_study, small_histories[0])
    late = lottery_study(digits, rewind_iter=7, variants=["ticket"], **small_options)
    _same_runs(late, small_histories[7])
    assert small_histories[7].config["rewind_iter"] == small_histories[7].rewind_iter == 7
    assert small_histories[0].variants == list(VARIANTS) and small_histories[7].variants == ["ticket"]
    assert small_histories[0].weights_remaining == late.weights_remaining == small_study.weights_remaining
    # the dense networks were trained once and are shared
    assert small_histories[0].dense is small_histories[7].dense


def test_history_keeps_masks_and_weights(small_histories):
    h = small_histories[0]
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
            target = layer_sparsities(h.config["layer_rates"], r)
            again = magnitude_masks(net, target, prior=h.masks[r - 1][i])
            assert all(torch.equal(again[n], h.masks[r][i][n]) for n in again)
        # rewinding to 0 is the initialization; to 7 it is not
        assert all(torch.equal(h.rewind_state[i][n], h.init[i][n]) for n in h.init[i])
        assert not torch.equal(small_histories[7].rewind_state[i]["fc1.weight"], h.init[i]["fc1.weight"])
        assert small_histories[7].init[i] is h.init[i]


def test_start_variant_defines_the_controls():
    def build(seed):
        return make_model("24", 64, 10, seed=seed)

    saved = build(3).state_dict()
    masks = magnitude_masks(build(3), {"fc1.weight": 0.5, "fc2.weight": 0.25})
    net, m = start_variant("ticket", build, 3, 2, saved, masks)
    assert m == masks and torch.equal(net.fc1.weight, saved["fc1.weight"] * masks["fc1.weight"])
    net, m = start_variant("reinit", build, 3, 2, saved, masks)
    assert m == masks and not torch.equal(net.fc1.weight, saved["fc1.weight"])
    a, ma = start_variant("random_prune", build, 3, 2, saved, masks)
    b, mb = start_variant("random_prune", build, 3, 2, saved, masks)
    assert all(torch.equal(ma[n], mb[n]) and int(ma[n].sum()) == int(masks[n].sum()) for n in masks)
    assert torch.equal(a.fc1.weight, saved["fc1.weight"] * ma["fc1.weight"])
    with pytest.raises(ValueError, match="variant"):
        start_variant("dense", build, 3, 2, saved, masks)


def test_late_rewinding_and_subset_of_variants(digits):
    res = lottery_study(
        digits, model="16", rounds=1, seeds=1, epochs=1, rewind_iter=5, variants=["ticket"], lr=5e-3, progress=False
    )
    assert res.variants == ["ticket"] and res.config["rewind_iter"] == 5
    with pytest.raises(ValueError, match="rewind_iter"):
        lottery_study(digits, model="16", rounds=1, seeds=1, epochs=1, rewind_iter=10_000, progress=False)


def test_bad_arguments(digits):
    with pytest.raises(ValueError, match="rounds"):
        lottery_study(digits, rounds=0, progress=False)
    with pytest.raises(ValueError, match="seeds"):
        lottery_study(digits, seeds=0, progress=False)
    with pytest.raises(ValueError, match="seeds"):
        lottery_study(digits, seeds=[1, 1], progress=False)
    with pytest.raises(ValueError, match="variants"):
        lottery_study(digits, variants=["reinit"], progress=False)
    with pytest.raises(ValueError, match="late_variants"):
        rewinding_study(digits, [0, 5], late_variants=["reinit"], progress=False)
    for bad in ([0, 5], -1, 1.5, True, "0"):  # one int: several points are rewinding_study's
        with pytest.raises(ValueError, match="rewind_iter"):
            lottery_study(digits, rewind_iter=bad, progress=False)
    for bad in ([0, 0], [], [-1], 3, "0"):
        with pytest.raises(ValueError, match="rewind_iters"):
            rewinding_study(digits, bad, progress=False)
    with pytest.raises(ValueError, match="training iterations"):
        rewinding_study(digits, [0, 10_000], progress=False)
    with pytest.raises(TypeError, match="unknown option"):
        lottery_study(digits, round=3)
    with pytest.raises(ValueError, match="model"):
        make_model("lenet5", 64, 10)
    with pytest.raises(ValueError, match="unknown dataset"):
        lottery_study("cifar100", progress=False)
    with pytest.raises(TypeError, match="Dataset"):
        lottery_study(digits.train, progress=False)


def _state(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"bogus": 3}, TypeError, "bogus"),
        ({"optimizer": "rmsprop"}, ValueError, "optimizer"),
    ],
)
def test_imp_round_with_bad_training_arguments_leaves_the_model_untouched(digits, bad, error, match):
    net = make_model("32", 64, 10, seed=0)
    init = copy.deepcopy(net.state_dict())
    train(net, digits, epochs=1, lr=5e-3, progress=False)
    before = _state(net)
    with pytest.raises(error, match=match):
        imp_round(net, digits, None, init, 0.5, 1, progress=False, **bad)
    assert _same(before, _state(net))


def test_imp_round_needs_a_round_of_at_least_one(digits):
    net = make_model("32", 64, 10, seed=0)
    with pytest.raises(ValueError, match="pruning_round"):
        imp_round(net, digits, None, copy.deepcopy(net.state_dict()), 0.5, 0, epochs=1, progress=False)


@pytest.mark.parametrize(
    "state_edit, masks, match",
    [
        (None, {"fc1.weight": torch.ones(3, 3, dtype=torch.bool)}, "shape"),
        (None, {"nope.weight": torch.ones(32, 64, dtype=torch.bool)}, "nope.weight"),
        ("drop", None, "missing"),
        ("reshape", None, "another shape"),
    ],
)
def test_rewind_checks_everything_before_it_writes(state_edit, masks, match):
    net, saved = make_model("32", 64, 10, seed=0), make_model("32", 64, 10, seed=1).state_dict()
    if state_edit == "drop":
        saved.pop("fc1.bias")
    elif state_edit == "reshape":
        saved["fc1.weight"] = torch.zeros(3, 3)
    before = _state(net)
    with pytest.raises(ValueError, match=match):
        rewind(net, saved, masks)
    assert _same(before, _state(net))


@pytest.mark.parametrize(
    "option, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": -5}, ValueError, "batch_size"),
        ({"epochs": "x"}, ValueError, "epochs"),
        ({"epochs": 2.7}, ValueError, "epochs"),
        ({"rate": "x"}, TypeError, "rate"),
        ({"rate": 0}, ValueError, "rate"),
        ({"output_rate": 1.0}, ValueError, "output_rate"),
        ({"lr": "x"}, TypeError, "lr"),
        ({"keep_history": "yes"}, TypeError, "keep_history"),
        ({"progress": "no"}, TypeError, "progress"),
        ({"data_seed": -1}, ValueError, "data_seed"),
        ({"threads": 0}, ValueError, "threads"),
    ],
)
def test_study_options_are_checked_before_anything_runs(digits, option, error, match):
    with pytest.raises(error, match=match):
        lottery_study(digits, model="8", rounds=1, seeds=1, **{"progress": False, **option})


# --------------------------------------------------------------------------- conv nets
CONV_OPTIONS = dict(rounds=2, seeds=[0, 1], epochs=1, lr=5e-3, progress=False)


@pytest.fixture(scope="module")
def conv_study(digits):
    """Conv-2 on the 8x8 digits as pictures, 2 rounds at the paper's per-layer rates."""
    return lottery_study(digits, model="conv2", width=0.25, **CONV_OPTIONS)


def test_conv_study_prunes_conv_and_fc_weights_at_the_papers_rates(conv_study):
    from course_lib.experiments.lottery import LTH_CONV_RATES

    cfg = conv_study.config
    assert cfg["model"] == "conv2" and cfg["width"] == 0.25
    assert cfg["layer_rates"] == {
        "conv1.weight": 0.1,
        "conv2.weight": 0.1,
        "fc1.weight": 0.2,
        "fc2.weight": 0.2,
        "fc3.weight": 0.1,
    }
    assert (cfg["conv_rate"], cfg["rate"], cfg["output_rate"]) == LTH_CONV_RATES["conv2"]
    for rnd in (1, 2):
        for name, density in conv_study.layer_density[rnd].items():
            assert density == pytest.approx((1 - cfg["layer_rates"][name]) ** rnd, abs=0.01)
        ticket = conv_study.nonzero_density[("ticket", rnd)]
        for variant in ("reinit", "random_prune"):  # the controls keep the ticket's per-layer sparsity
            for a, b in zip(ticket, conv_study.nonzero_density[(variant, rnd)], strict=True):
                assert a == pytest.approx(b, abs=0.02)
    assert [(r["variant"], r["round"]) for r in conv_study.rows()] == [(v, r) for v in VARIANTS for r in (1, 2)]


def test_conv_study_same_arguments_same_json(conv_study, digits):
    again = lottery_study(digits, model="conv2", width=0.25, **CONV_OPTIONS)
    assert json.dumps(again.to_json(curves=True)) == json.dumps(conv_study.to_json(curves=True))


def test_a_given_rate_prunes_every_layer_at_it_and_batchnorm_is_never_pruned(digits):
    res = rewinding_study(
        digits, [0, 4], model="VGG11", rate=0.3, rounds=1, seeds=[0], epochs=1, keep_history=True, progress=False
    )
    first = res[0]
    assert first.config["model"] == "VGG11" and first.config["width"] is None
    rates = first.config["layer_rates"]
    assert set(rates) == {f"conv{i}.weight" for i in range(1, 9)} | {"fc1.weight"}  # no BatchNorm, no bias
    assert [rates[n] for n in rates][:-1] == [0.3] * 8 and rates["fc1.weight"] == 0.15
    assert sorted(res) == [0, 4] and res[4].variants == ["ticket"]
    masks = first.masks[1][0]
    assert masks["conv3.weight"].dim() == 4
    assert float(masks["conv3.weight"].float().mean()) == pytest.approx(0.7, abs=0.01)
    assert all(t.device.type == "cpu" for t in first.final[1][0].values())


def test_conv_study_bad_arguments(digits, monkeypatch):
    with pytest.raises(ValueError, match="pictures"):
        lottery_study("mnist1d", model="conv2", rounds=1, seeds=1, epochs=1, progress=False)
    with pytest.raises(ValueError, match="width applies to conv nets"):
        lottery_study(digits, model="16", width=0.5, rounds=1, seeds=1, epochs=1, progress=False)
    with pytest.raises(ValueError, match="densenet.*width"):
        lottery_study(digits, model="densenet", width=0.5, rounds=1, seeds=1, epochs=1, progress=False)
    with pytest.raises(ValueError, match="width"):
        lottery_study(digits, model="conv2", width=0.0, rounds=1, seeds=1, epochs=1, progress=False)
    with pytest.raises(ValueError, match="model"):
        lottery_study(digits, model="resnet18", rounds=1, seeds=1, epochs=1, progress=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda' asks for CUDA"):
        lottery_study(digits, model="conv2", device="cuda", rounds=1, seeds=1, epochs=1, progress=False)


def test_width_study_prunes_every_width_to_the_same_count_and_checks_its_arguments(digits):
    from course_lib.experiments.lottery import width_study

    out = width_study(digits, ["8", [16]], 200, rounds=2, seeds=[0], epochs=1, progress=False)
    assert list(out) == ["8", "16"]
    for spec, res in out.items():
        total = 64 * int(spec) + int(spec) * 10
        assert abs(res.weights_remaining[2] * total - 200) <= 2  # per-layer rounding
        assert res.config["rate"] == res.config["output_rate"] and res.variants == ["ticket"]
    assert out["16"].config["rate"] > out["8"].config["rate"]  # the wider net is pruned harder per round
    with pytest.raises(ValueError, match="weights_left"):
        width_study(digits, ["2"], 200, rounds=1, seeds=[0], epochs=1, progress=False)
    with pytest.raises(TypeError, match="rate"):
        width_study(digits, ["8"], 200, rate=0.5)
