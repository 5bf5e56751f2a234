"""course_lib.experiments.conv: the per-layer filter sensitivity scan (Li et al. 2017), the
channel-rate sweep, and the lecture's CIFAR-10 table (its ratios, and one family's row rebuilt),
on tiny conv nets trained for a few epochs on the 8x8 digits."""

import copy
import dataclasses
from itertools import pairwise

import pytest
import torch
from torch import nn

import course_lib.experiments.conv as conv_exp
from course_lib import apply_masks, magnitude_mask
from course_lib.experiments.conv import (
    LECTURE_TABLE,
    ChannelSweep,
    FamilyRow,
    channel_sweep,
    conv_layers,
    family_row,
    filter_sensitivity,
    lecture_ratios,
    lecture_row,
)
from course_lib.measure.size import param_count
from course_lib.measure.work import macs
from course_lib.pruning.depgraph import prune_channels
from course_lib.training.config import num_threads
from course_lib.training.conv_models import conv4, conv_model, mobilenet_v1, vgg
from course_lib.training.data import Split, as_images
from course_lib.training.train import evaluate, train

SIZE = (1, 8, 8)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with num_threads(1):
        yield


@pytest.fixture(scope="module")
def images(digits):
    """The digits as (n, 1, 8, 8) pictures."""
    return as_images(digits)


@pytest.fixture(scope="module")
def small(images):
    """A subset (300 / 100 / 100 pictures) for the functions that train."""

    def head(split, n):
        return Split(split.x[:n], split.y[:n])

    return dataclasses.replace(
        images, train=head(images.train, 300), val=head(images.val, 100), test=head(images.test, 100)
    )


@pytest.fixture(scope="module")
def conv2_net(images):
    """Conv-2 at width 1/8 (8 filters per conv, biases, no BatchNorm), trained 2 epochs (~90%)."""
    net = conv_model("conv2", width=0.125, input_size=8)
    train(net, images, epochs=2, lr=5e-3, progress=False, threads=1)
    return net


@pytest.fixture(scope="module")
def vgg_net(images):
    """VGG-11 at width 1/8 (BatchNorm, no conv bias), trained 3 epochs (~90%)."""
    net = vgg(width=0.125, input_size=8)
    train(net, images, epochs=3, lr=3e-3, progress=False, threads=1)
    return net


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same_state(model, state):
    now = model.state_dict()
    return now.keys() == state.keys() and all(torch.equal(now[k], state[k]) for k in state)


def _zero_filters(model, layer, bn, filters):
    """A copy of ``model`` whose ``filters`` of conv ``layer`` output 0, written out by hand:
    the filters' weights and bias, and their BatchNorm scale and shift, set to 0."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        conv = out.get_submodule(layer)
        conv.weight[filters] = 0.0
        if conv.bias is not None:
            conv.bias[filters] = 0.0
        if bn is not None:
            out.get_submodule(bn).weight[filters] = 0.0
            out.get_submodule(bn).bias[filters] = 0.0
    return out


# --------------------------------------------------------------------------- the lecture's table
def test_lecture_ratios_are_the_slides_numbers_after_over_before():
    assert lecture_ratios("SimpleNet") == (1.8 / 8.7, 2.7 / 5.8)
    assert lecture_ratios("VGG19") == (13.5 / 53.4, 9.44 / 28.62)
    assert lecture_ratios("DenseNet40") == (1.5 / 4.3, 39.97 / 77.87)
    assert lecture_ratios("MobileNet V1") == (1.8 / 6.6, 8.01 / 19.39)
    assert lecture_ratios("OCR-Net") == (841.9 / 2426.2, 7.3 / 10.36)
    assert list(LECTURE_TABLE) == ["SimpleNet", "VGG19", "DenseNet40", "MobileNet V1", "OCR-Net"]
    for name in LECTURE_TABLE:  # pruning made every model smaller and faster on the slide
        assert all(0 < r < 1 for r in lecture_ratios(name))


def test_lecture_ratios_rejects_an_unknown_row_and_lists_the_rows():
    with pytest.raises(ValueError, match="'VGG16'") as err:
        lecture_ratios("VGG16")
    assert all(name in str(err.value) for name in LECTURE_TABLE)


# --------------------------------------------------------------------------- conv_layers
def test_conv_layers_lists_the_ordinary_convs_in_order_and_leaves_out_depthwise_and_grouped():
    assert conv_layers(conv4()) == ["conv1.weight", "conv2.weight", "conv3.weight", "conv4.weight"]
    net = mobilenet_v1(input_size=8)
    names = conv_layers(net)
    assert names == ["conv1.weight"] + [f"block{i}.pw.weight" for i in range(1, 14)]
    depthwise = [f"{n}.weight" for n, m in net.named_modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 13 and not set(depthwise) & set(names)
    grouped = nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.Conv2d(4, 4, 1))
    assert conv_layers(grouped) == ["1.weight"]
    assert conv_layers(nn.Conv2d(1, 2, 3)) == ["weight"]  # the model is the conv itself
    assert conv_layers(nn.Linear(2, 2)) == []


def test_conv_layers_rejects_a_non_module():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got dict"):
        conv_layers({"conv1.weight": torch.zeros(1)})


# --------------------------------------------------------------------------- filter_sensitivity
def test_filter_sensitivity_at_sparsity_0_is_the_dense_accuracy_and_leaves_the_model_alone(conv2_net, images):
    state, mode = _state(conv2_net), conv2_net.training
    scan = filter_sensitivity(conv2_net, images, [0.0, 0.5], split="test")
    assert _same_state(conv2_net, state) and conv2_net.training == mode
    assert scan.dense_acc == evaluate(conv2_net, images.test)[1] > 80
    assert list(scan.acc) == conv_layers(conv2_net) == ["conv1.weight", "conv2.weight"]
    assert all(accs[0] == scan.dense_acc for accs in scan.acc.values())
    assert scan.sizes == {"conv1.weight": 8 * 1 * 9, "conv2.weight": 8 * 8 * 9}
    assert scan.sparsities == [0.0, 0.5] and scan.split == "test"


@pytest.mark.parametrize(
    ("fixture", "layer", "bn"),
    [("conv2_net", "conv1", None), ("conv2_net", "conv2", None), ("vgg_net", "conv3", "bn3")],
)
def test_filter_sensitivity_equals_zeroing_the_smallest_l1_filters_by_hand(fixture, layer, bn, images, request):
    net = request.getfixturevalue(fixture)
    name = f"{layer}.weight"
    scan = filter_sensitivity(net, images, [0.5, 1.0], layers=[name])
    assert list(scan.acc) == [name]
    w = net.get_submodule(layer).weight.detach()
    n = w.shape[0]
    weakest = torch.argsort(w.abs().sum(dim=(1, 2, 3)))[: n // 2].tolist()
    by_hand = [evaluate(_zero_filters(net, layer, bn, f), images.val)[1] for f in (weakest, list(range(n)))]
    assert scan.acc[name] == by_hand
    assert scan.acc[name][1] < scan.dense_acc - 30  # a layer that outputs nothing: near chance


def test_filter_sensitivity_ranks_by_the_l2_norm_with_p_2(vgg_net, images):
    w = vgg_net.conv2.weight.detach()
    l1, l2 = w.abs().sum(dim=(1, 2, 3)), w.pow(2).sum(dim=(1, 2, 3))
    k = w.shape[0] // 4
    drop1, drop2 = torch.argsort(l1)[:k].tolist(), torch.argsort(l2)[:k].tolist()
    scan = filter_sensitivity(vgg_net, images, [0.25], layers=["conv2.weight"], p=2)
    assert scan.acc["conv2.weight"] == [evaluate(_zero_filters(vgg_net, "conv2", "bn2", drop2), images.val)[1]]
    if set(drop1) != set(drop2):  # the norms chose differently here: L1 must give the other accuracy
        l1_scan = filter_sensitivity(vgg_net, images, [0.25], layers=["conv2.weight"], p=1)
        assert l1_scan.acc["conv2.weight"] == [evaluate(_zero_filters(vgg_net, "conv2", "bn2", drop1), images.val)[1]]


def test_filter_sensitivity_rejects_bad_input_naming_it(conv2_net, images):
    state = _state(conv2_net)
    with pytest.raises(ValueError, match=r"unknown name\(s\) \['fc1.weight'\]"):
        filter_sensitivity(conv2_net, images, [0.5], layers=["conv1.weight", "fc1.weight"])
    with pytest.raises(ValueError, match="block1.dw.weight"):  # a depthwise conv is not scanned
        filter_sensitivity(mobilenet_v1(input_size=8), images, [0.5], layers=["block1.dw.weight"])
    with pytest.raises(ValueError, match="split must be 'train', 'val' or 'test', got 'valid'"):
        filter_sensitivity(conv2_net, images, [0.5], split="valid")
    with pytest.raises(ValueError, match=r"sparsity must be a number in \[0, 1\], got 1.5"):
        filter_sensitivity(conv2_net, images, [0.5, 1.5])
    with pytest.raises(ValueError, match="p"):
        filter_sensitivity(conv2_net, images, [0.5], p=3)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        filter_sensitivity("conv2", images, [0.5])
    assert _same_state(conv2_net, state)


# --------------------------------------------------------------------------- channel_sweep
@pytest.fixture(scope="module")
def sweep(vgg_net, images):
    state = _state(vgg_net)
    result = channel_sweep(vgg_net, images, [0.0, 0.25, 0.5, 0.75], repeats=1, threads=1)
    assert _same_state(vgg_net, state)  # not changed
    return result


def test_channel_sweep_keeps_the_rates_and_shrinks_macs_and_size(sweep, vgg_net):
    assert isinstance(sweep, ChannelSweep)
    assert sweep.rates == [0.0, 0.25, 0.5, 0.75] and list(sweep.models) == sweep.rates
    assert len(sweep.macs_ratio) == len(sweep.size_kib) == len(sweep.ms_per_64) == len(sweep.acc) == 4
    assert sweep.macs_ratio[0] == 1.0
    assert all(a > b for a, b in pairwise(sweep.macs_ratio))
    assert all(a > b for a, b in pairwise(sweep.size_kib))
    dense = macs(vgg_net, skip_zeros=False, input_size=SIZE)
    for r, m, ratio, mb in zip(sweep.rates, sweep.models.values(), sweep.macs_ratio, sweep.size_kib, strict=True):
        assert ratio == macs(m, skip_zeros=False, input_size=SIZE) / dense
        assert mb == param_count(m) * 4 / 1024
        n = vgg_net.conv1.out_channels
        assert m.conv1.out_channels == n - round(r * n)
    assert sweep.size_kib[0] == param_count(vgg_net) * 4 / 1024
    assert sweep.macs_ratio[2] <= 0.3  # the bar: half the channels, at most 0.3x the MACs
    assert all(t > 0 for t in sweep.ms_per_64)


def test_channel_sweep_accuracy_is_the_removed_models_without_fine_tuning(sweep, vgg_net, images):
    assert sweep.models[0.0] is not vgg_net and _same_state(sweep.models[0.0], vgg_net.state_dict())
    assert sweep.acc[0] == sweep.dense_acc == evaluate(vgg_net, images.test)[1]
    small = prune_channels(vgg_net, 0.5, SIZE)
    assert sweep.acc[2] == evaluate(small, images.test)[1]
    x = images.test.x[:16]
    torch.testing.assert_close(sweep.models[0.5].eval()(x), small.eval()(x))


def test_channel_sweep_measures_on_the_split_asked(vgg_net, images):
    result = channel_sweep(vgg_net, images, [0.0, 0.5], split="val", repeats=1, threads=1)
    assert result.dense_acc == result.acc[0] == evaluate(vgg_net, images.val)[1]
    assert result.acc[1] == evaluate(prune_channels(vgg_net, 0.5, SIZE), images.val)[1]


def test_channel_sweep_counts_the_macs_a_dense_kernel_computes_also_on_a_masked_model(vgg_net, images):
    masked = copy.deepcopy(vgg_net)
    apply_masks(masked, {"conv4.weight": magnitude_mask(masked.conv4.weight, 0.5)})  # half its weights exactly 0
    result = channel_sweep(masked, images, [0.0, 0.5], repeats=1, threads=1)
    assert result.macs_ratio[0] == 1.0  # rate 0 is the model itself, as its size and time are
    assert result.macs_ratio[1] == macs(result.models[0.5], skip_zeros=False, input_size=SIZE) / macs(
        masked, skip_zeros=False, input_size=SIZE
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rates": [0.0, 1.0]}, ValueError, r"rates entries must be in \[0, 1\)"),
        ({"rates": [-0.1]}, ValueError, "rates entries"),
        ({"rates": [0.5, 0.5]}, ValueError, "distinct"),
        ({"rates": []}, ValueError, "non-empty"),
        ({"rates": ["0.5"]}, TypeError, "rates entries"),
        ({"split": "dev"}, ValueError, "split"),
        ({"repeats": 0}, ValueError, "repeats"),
        ({"threads": 0}, ValueError, "threads"),
    ],
)
def test_channel_sweep_rejects_bad_input_before_pruning(kwargs, error, match, conv2_net, images, monkeypatch):
    def no_pruning(*args, **kw):
        raise AssertionError("pruned before the arguments were checked")

    monkeypatch.setattr(conv_exp, "prune_channels", no_pruning)
    with pytest.raises(error, match=match):
        channel_sweep(conv2_net, images, **{"rates": [0.0, 0.5], **kwargs})


# --------------------------------------------------------------------------- lecture_row
@pytest.fixture
def spy(monkeypatch):
    """Records the keyword arguments of every ``train`` call lecture_row makes."""
    calls = []

    def recording_train(model, data, **kw):
        calls.append(kw)
        return train(model, data, **kw)

    monkeypatch.setattr(conv_exp, "train", recording_train)
    return calls


def test_lecture_row_trains_in_place_removes_half_the_channels_and_measures(small, spy):
    net = vgg(width=0.0625, input_size=8)
    before = _state(net)
    row = lecture_row("VGG-11 (width 1/16)", "VGG19", net, small, {"epochs": 2, "lr": 5e-3}, repeats=1, threads=1)
    assert isinstance(row, FamilyRow) and (row.family, row.lecture) == ("VGG-11 (width 1/16)", "VGG19")
    assert not _same_state(net, before)  # trained in place
    removed = prune_channels(net, 0.5, SIZE)  # the same channels lecture_row removed (fine-tuning keeps shapes)
    assert row.params == (param_count(net), param_count(removed))
    assert row.size_kib == (param_count(net) * 4 / 1024, param_count(removed) * 4 / 1024)
    assert row.macs == (macs(net, input_size=SIZE), macs(removed, input_size=SIZE))
    for after_before in (row.params, row.size_kib, row.macs):
        assert after_before[1] < after_before[0]
    assert all(t > 0 for t in row.ms_per_64) and all(s >= 0 for s in row.ms_spread)
    assert row.acc_dense == pytest.approx(evaluate(net, small.test)[1], abs=1.0)  # one picture of 100
    assert row.acc_pruned == evaluate(removed, small.test)[1]
    assert all(0 <= a <= 100 for a in (row.acc_dense, row.acc_pruned, row.acc_finetuned))
    assert row.seconds > 0
    assert [(kw["epochs"], kw["lr"], kw["progress"]) for kw in spy] == [(2, 5e-3, False), (1, 5e-3, False)]


def test_lecture_row_fine_tunes_with_its_own_epochs_and_learning_rate(small, spy):
    kw = {"epochs": 1, "lr": 5e-3, "progress": False, "seed": 3}
    row = lecture_row("Conv-2", "SimpleNet", conv_model("conv2", width=0.125, input_size=8), small, kw,
                      finetune_epochs=2, finetune_lr=1e-3, sparsity=0.25, repeats=1)  # fmt: skip
    assert [(c["epochs"], c["lr"], c["seed"]) for c in spy] == [(1, 5e-3, 3), (2, 1e-3, 3)]
    assert row.params[1] < row.params[0]


def test_lecture_row_without_fine_tuning_keeps_the_pruned_accuracy(small, spy):
    row = lecture_row("Conv-2", "SimpleNet", conv_model("conv2", width=0.125, input_size=8), small,
                      {"epochs": 1, "lr": 5e-3}, finetune_epochs=0, repeats=1)  # fmt: skip
    assert row.acc_finetuned == row.acc_pruned
    assert len(spy) == 1  # the dense training only


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lecture": "ResNet50"}, ValueError, "ResNet50"),
        ({"sparsity": 1.0}, ValueError, r"sparsity must be in \[0, 1\)"),
        ({"sparsity": -0.5}, ValueError, "sparsity"),
        ({"finetune_epochs": -1}, ValueError, "finetune_epochs"),
        ({"finetune_lr": 0.0}, ValueError, "finetune_lr"),
        ({"repeats": 0}, ValueError, "repeats"),
        ({"threads": 0}, ValueError, "threads"),
    ],
)
def test_lecture_row_rejects_bad_input_before_training(kwargs, error, match, small, spy):
    net = vgg(width=0.0625, input_size=8)
    before = _state(net)
    args = {"lecture": "VGG19", **kwargs}
    with pytest.raises(error, match=match):
        lecture_row("VGG", args.pop("lecture"), net, small, {"epochs": 1}, **args)
    assert spy == [] and _same_state(net, before)


def test_family_row_measures_models_trained_already_without_changing_them():
    net = vgg(width=0.0625, input_size=8)
    removed = prune_channels(net, 0.5, SIZE)
    before = _state(net)
    row = family_row("VGG", "VGG19", net, removed, (90.0, 10.0, 85.5), SIZE, repeats=1, threads=1)
    assert row.params == (param_count(net), param_count(removed))
    assert row.size_kib == (param_count(net) * 4 / 1024, param_count(removed) * 4 / 1024)
    assert (row.acc_dense, row.acc_pruned, row.acc_finetuned, row.seconds) == (90.0, 10.0, 85.5, 0.0)
    assert all(t > 0 for t in row.ms_per_64) and _same_state(net, before)


@pytest.mark.parametrize(
    ("lecture", "accs", "error", "match"),
    [("ResNet", (1.0, 2.0, 3.0), ValueError, "ResNet"), ("VGG19", (1.0, 2.0), ValueError, "accs"),
     ("VGG19", (1.0, -2.0, 3.0), ValueError, "accs entries"), ("VGG19", (1.0, "a", 3.0), TypeError, "accs entries")],
)  # fmt: skip
def test_family_row_rejects_bad_input(lecture, accs, error, match):
    net = vgg(width=0.0625, input_size=8)
    with pytest.raises(error, match=match):
        family_row("VGG", lecture, net, net, accs, SIZE, repeats=1)
