"""course_lib.experiments.transfer: a ticket found on one data set, trained on another."""

import numpy as np
import pytest

from course_lib.experiments.lottery import lottery_study, make_model
from course_lib.experiments.tickets import rewind
from course_lib.experiments.transfer import (
    MNIST1D_DISTORTION,
    digits_as_mnist,
    mnist1d_distorted,
    transfer_target,
    transfer_ticket,
)
from course_lib.training.data import load
from course_lib.training.stacked import train_many


def test_transfer_ticket_trains_the_source_masks_on_the_target(small_histories, digits):
    h = small_histories[0]
    target = load("digits", seed=3)  # other train and test examples than the source's split
    runs = transfer_ticket(h, 2, target)
    assert sorted(runs) == ["dense", "random_prune", "reinit", "ticket"]
    assert all(len(v) == 2 for v in runs.values())
    # each ticket run is the source's round-2 ticket (its mask on its rewound weights) trained on the
    # target's training split and measured on the target's test split: the same job trained alone
    # gives the same curve (up to float rounding: the transfer trains all its runs together)
    cfg = h.config
    for i, seed in enumerate(h.seeds):
        start = make_model(cfg["model"], target.in_features, target.num_classes)
        rewind(start, h.rewind_state[i], h.masks[2][i])
        settings = dict(epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"], optimizer=cfg["optimizer"])
        alone = train_many([start], target, [h.masks[2][i]], seeds=[seed], progress=False, **settings)[0]
        assert runs["ticket"][i].iterations == alone.iterations
        assert runs["ticket"][i].test_acc == pytest.approx(alone.test_acc, abs=0.3)  # one example = 0.28 points
    # on the source data, the transferred ticket's run is the study's run
    again = transfer_ticket(h, 2, digits, variants=["ticket"], dense=False)
    assert again["ticket"][0].test_acc == pytest.approx(h.runs[("ticket", 2)][0].test_acc, abs=0.2)


def test_transfer_ticket_bad_input(small_histories, digits):
    h, target = small_histories[0], load("digits", seed=3)
    with pytest.raises(ValueError, match="pruning_round"):
        transfer_ticket(h, 5, target)
    with pytest.raises(ValueError, match="pruning_round"):
        transfer_ticket(h, 0, target)
    with pytest.raises(ValueError, match="variants"):
        transfer_ticket(h, 1, target, variants=["dense"])
    with pytest.raises(ValueError, match="input features"):
        transfer_ticket(h, 1, load("mnist1d"))
    with pytest.raises(TypeError, match="Dataset"):
        transfer_ticket(h, 1, target.test)
    with pytest.raises(TypeError, match="keep_history"):
        transfer_ticket(lottery_study(digits, model="8", rounds=1, seeds=1, epochs=1, progress=False), 1, target)


def test_transfer_targets():
    d = digits_as_mnist()
    assert d.input_shape == (28, 28) and d.num_classes == 10
    pixels = d.train.x * d.std + d.mean
    assert float(pixels.min()) >= -1e-5 and float(pixels.max()) <= 1 + 1e-5
    assert float(pixels[:, :4].abs().max()) < 1e-5  # the 4-pixel frame is empty, as in MNIST
    assert transfer_target("mnist5k").name == "digits28"
    with pytest.raises(ValueError, match="name"):
        transfer_target("digits")


def test_the_mnist1d_target_is_a_distorted_mnist1d_and_the_global_generators_are_restored(monkeypatch, request):
    import mnist1d.data

    seen = {}

    def fake_make_dataset(args):  # what the generator is asked for, and a quick stand-in for its output
        seen.update(vars(args))
        np.random.seed(123)  # the real one seeds the global generator too
        rng = np.random.default_rng(0)
        return {
            "x": rng.normal(size=(400, 40)),
            "y": np.arange(400) % 10,
            "x_test": rng.normal(size=(100, 40)),
            "y_test": np.arange(100) % 10,
        }

    monkeypatch.setattr(mnist1d.data, "make_dataset", fake_make_dataset)
    from course_lib.training import data as cdata

    cdata._mnist1d_arrays.cache_clear()  # generated data are cached: ask the fake generator
    request.addfinalizer(cdata._mnist1d_arrays.cache_clear)  # and keep no fake data for later tests
    np.random.seed(7)
    expected = np.random.get_state()[1].copy()
    np.random.seed(7)
    d = transfer_target("mnist1d", seed=0)
    assert np.array_equal(np.random.get_state()[1], expected)  # the notebooks' numbers stay reproducible
    assert d.name == "mnist1d-distorted" and d.input_shape == (40,) and len(d.test) == 100
    assert (len(d.train), len(d.val)) == (350, 50)
    asked = {"generator_seed": seen["seed"], "shear_scale": seen["shear_scale"], "scale_coeff": seen["scale_coeff"]}
    assert asked == MNIST1D_DISTORTION
    defaults = vars(mnist1d.data.get_dataset_args())
    assert seen["shear_scale"] == 2 * defaults["shear_scale"] and seen["scale_coeff"] == 2 * defaults["scale_coeff"]
    assert seen["seed"] != defaults["seed"]  # not the source's signals either
    assert {k: seen[k] for k in ("template_len", "final_seq_length", "corr_noise_scale")} == {
        k: defaults[k] for k in ("template_len", "final_seq_length", "corr_noise_scale")
    }  # the same templates and noise: a similar data set
    with pytest.raises(ValueError, match="seed"):
        mnist1d_distorted(-1)
