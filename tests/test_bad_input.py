"""Bad input: every public function of the Part I core raises ValueError or TypeError
whose message names the argument, and nothing is half-modified."""

import copy

import pytest
import torch
from torch import nn

from course_lib import (
    apply_masks,
    density,
    global_magnitude_masks,
    magnitude_mask,
    magnitude_masks,
    masked,
    masks_sparsity,
    model_sparsity,
    nm_mask,
    prunable_weights,
    remove_neurons,
    row_keep,
    row_norm_mask,
    shrink_mlp,
    sparsity,
)
from course_lib.training.models import mlp

W = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
KEEP = torch.ones(4, 8, dtype=torch.bool)
NET = mlp([8, 4, 3], seed=0)

BAD_SPARSITY = [
    (-0.1, ValueError),
    (1.1, ValueError),
    (float("nan"), ValueError),
    (float("inf"), ValueError),
    ("0.5", TypeError),
    (None, TypeError),
    (True, TypeError),
    (False, TypeError),
    ([0.5], TypeError),
    (torch.tensor([0.1, 0.2]), TypeError),
]
SPARSITY_FUNCS = {
    "magnitude_mask": lambda s: magnitude_mask(W, s),
    "global_magnitude_masks": lambda s: global_magnitude_masks({"a": W}, s),
    "row_norm_mask": lambda s: row_norm_mask(W, s),
    "magnitude_masks": lambda s: magnitude_masks(NET, s),
    "magnitude_masks global": lambda s: magnitude_masks(NET, s, scope="global"),
}


@pytest.mark.parametrize("func", list(SPARSITY_FUNCS))
@pytest.mark.parametrize("value, error", BAD_SPARSITY, ids=lambda v: repr(v)[:20])
def test_bad_sparsity_is_rejected_naming_sparsity(func, value, error):
    with pytest.raises(error, match=r"^sparsity must be a number in \[0, 1\]"):
        SPARSITY_FUNCS[func](value)


# (call, exception, regex the message must match): the regex names the argument
CASES = {
    # ---- magnitude_mask
    "magnitude int weight": (lambda: magnitude_mask(torch.arange(6), 0.5), TypeError, r"^weight .*floating"),
    "magnitude list weight": (lambda: magnitude_mask([1.0, 2.0], 0.5), TypeError, r"^weight .*torch.Tensor"),
    "magnitude nan weight": (
        lambda: magnitude_mask(torch.tensor([1.0, float("nan")]), 0.5),
        ValueError,
        r"^weight .*finite",
    ),
    "magnitude empty weight": (lambda: magnitude_mask(torch.zeros(0), 0.5), ValueError, r"^weight .*empty"),
    "magnitude 0-dim weight": (lambda: magnitude_mask(torch.tensor(1.0), 0.5), ValueError, r"^weight .*dimension"),
    "magnitude prior shape": (lambda: magnitude_mask(W, 0.5, prior=KEEP.T), ValueError, r"^prior .*shape"),
    "magnitude prior float": (lambda: magnitude_mask(W, 0.5, prior=KEEP.float()), TypeError, r"^prior .*bool"),
    "magnitude prior list": (lambda: magnitude_mask(W, 0.5, prior=[True] * 32), TypeError, r"^prior "),
    "magnitude below prior": (
        lambda: magnitude_mask(W, 0.1, prior=torch.arange(32).reshape(4, 8) >= 8),
        ValueError,
        r"^sparsity=0.1 .*prior",
    ),
    # ---- global_magnitude_masks
    "global weights list": (lambda: global_magnitude_masks([W], 0.5), TypeError, r"^weights must be a dict"),
    "global weights empty": (lambda: global_magnitude_masks({}, 0.5), ValueError, r"^weights .*non-empty"),
    "global int weight": (
        lambda: global_magnitude_masks({"a": W, "b": torch.ones(3, dtype=torch.int32)}, 0.5),
        TypeError,
        r"^weights\['b'\] .*floating",
    ),
    "global prior not dict": (
        lambda: global_magnitude_masks({"a": W}, 0.5, prior=KEEP),
        TypeError,
        r"^prior must be a dict",
    ),
    "global prior missing name": (
        lambda: global_magnitude_masks({"a": W, "b": W}, 0.5, prior={"a": KEEP}),
        ValueError,
        r"^prior .*missing \['b'\]",
    ),
    "global prior unknown name": (
        lambda: global_magnitude_masks({"a": W}, 0.5, prior={"a": KEEP, "z": KEEP}),
        ValueError,
        r"^prior .*unknown \['z'\]",
    ),
    "global prior shape": (
        lambda: global_magnitude_masks({"a": W}, 0.5, prior={"a": KEEP[:2]}),
        ValueError,
        r"^prior\['a'\] .*shape",
    ),
    "global prior int": (
        lambda: global_magnitude_masks({"a": W}, 0.5, prior={"a": KEEP.int()}),
        TypeError,
        r"^prior\['a'\] .*bool",
    ),
    "global below prior": (
        lambda: global_magnitude_masks({"a": W}, 0.0, prior={"a": ~KEEP}),
        ValueError,
        r"^sparsity=0.0 .*prior",
    ),
    # ---- row_norm_mask
    "row_norm int weight": (lambda: row_norm_mask(torch.ones(3, 3, dtype=torch.long), 0.5), TypeError, r"^weight "),
    "row_norm 1-d weight": (lambda: row_norm_mask(torch.ones(5), 0.5), ValueError, r"^weight .*2 dimension"),
    "row_norm inf weight": (lambda: row_norm_mask(torch.tensor([[1.0, float("inf")]]), 0.5), ValueError, r"^weight "),
    "row_norm p=3": (lambda: row_norm_mask(W, 0.5, p=3), ValueError, r"^p must be 1 or 2"),
    "row_norm p=0": (lambda: row_norm_mask(W, 0.5, p=0), ValueError, r"^p must be 1 or 2"),
    "row_norm p str": (lambda: row_norm_mask(W, 0.5, p="2"), ValueError, r"^p must be 1 or 2"),
    "row_norm p bool": (lambda: row_norm_mask(W, 0.5, p=True), ValueError, r"^p must be 1 or 2"),
    "row_norm prior shape": (lambda: row_norm_mask(W, 0.5, prior=KEEP[:, :4]), ValueError, r"^prior .*shape"),
    "row_norm prior float": (lambda: row_norm_mask(W, 0.5, prior=KEEP.double()), TypeError, r"^prior .*bool"),
    "row_norm below prior": (
        lambda: row_norm_mask(W, 0.25, prior=torch.tensor([[False]] * 2 + [[True]] * 2).expand(4, 8)),
        ValueError,
        r"^sparsity=0.25 .*prior",
    ),
    # ---- nm_mask
    "nm n > m": (lambda: nm_mask(W, 5, 4), ValueError, r"^n must be in \[1, m\]"),
    "nm n = 0": (lambda: nm_mask(W, 0, 4), ValueError, r"^n must be in \[1, m\]"),
    "nm n < 0": (lambda: nm_mask(W, -1, 4), ValueError, r"^n must be in \[1, m\]"),
    "nm m = 0": (lambda: nm_mask(W, 1, 0), ValueError, r"^m must be >= 1"),
    "nm m not dividing": (lambda: nm_mask(W, 1, 3), ValueError, r"^m=3 must divide the row length"),
    "nm n float": (lambda: nm_mask(W, 2.0, 4), TypeError, r"^n must be an int"),
    "nm m str": (lambda: nm_mask(W, 2, "4"), TypeError, r"^m must be an int"),
    "nm n bool": (lambda: nm_mask(W, True, 4), TypeError, r"^n must be an int"),
    "nm n None": (lambda: nm_mask(W, None, 4), TypeError, r"^n must be an int"),
    "nm int weight": (lambda: nm_mask(torch.ones(2, 4, dtype=torch.int64)), TypeError, r"^weight .*floating"),
    "nm nan weight": (lambda: nm_mask(torch.full((2, 4), float("nan"))), ValueError, r"^weight "),
    "nm prior shape": (lambda: nm_mask(W, prior=KEEP[:1]), ValueError, r"^prior .*shape"),
    "nm prior float": (lambda: nm_mask(W, prior=KEEP.float()), TypeError, r"^prior .*bool"),
    # ---- apply_masks
    "apply unknown name": (
        lambda: apply_masks(copy.deepcopy(NET), {"fc9.weight": KEEP}),
        ValueError,
        r"^masks .*unknown .*fc9.weight",
    ),
    "apply wrong shape": (
        lambda: apply_masks(copy.deepcopy(NET), {"fc1.weight": KEEP.T}),
        ValueError,
        r"^masks\['fc1.weight'\] .*shape",
    ),
    "apply float mask": (
        lambda: apply_masks(copy.deepcopy(NET), {"fc1.weight": KEEP.float()}),
        TypeError,
        r"^masks\['fc1.weight'\] .*bool",
    ),
    "apply list mask": (
        lambda: apply_masks(copy.deepcopy(NET), {"fc1.weight": KEEP.tolist()}),
        TypeError,
        r"^masks\['fc1.weight'\] ",
    ),
    "apply masks not dict": (lambda: apply_masks(copy.deepcopy(NET), [KEEP]), TypeError, r"^masks must be a dict"),
    "apply model not module": (
        lambda: apply_masks({"fc1.weight": W}, {}),
        TypeError,
        r"^model must be a torch.nn.Module",
    ),
    # ---- masked
    "masked wrong shape": (lambda: masked(W, KEEP[:3]), ValueError, r"^mask .*shape"),
    "masked float mask": (lambda: masked(W, KEEP.float()), TypeError, r"^mask .*bool"),
    "masked weight list": (lambda: masked(W.tolist(), KEEP), TypeError, r"^weight must be a torch.Tensor"),
    # ---- sparsity / density
    "sparsity list": (lambda: sparsity([0.0, 1.0]), TypeError, r"^tensor must be a torch.Tensor"),
    "sparsity empty": (lambda: sparsity(torch.zeros(0)), ValueError, r"^tensor must not be empty"),
    "density None": (lambda: density(None), TypeError, r"^tensor must be a torch.Tensor"),
    "density empty": (lambda: density(torch.zeros(2, 0)), ValueError, r"^tensor must not be empty"),
    # ---- masks_sparsity
    "masks_sparsity list": (lambda: masks_sparsity([KEEP]), TypeError, r"^masks must be a dict"),
    "masks_sparsity empty": (lambda: masks_sparsity({}), ValueError, r"^masks must be a non-empty"),
    "masks_sparsity float": (lambda: masks_sparsity({"a": KEEP, "b": W}), TypeError, r"^masks\['b'\] .*bool"),
    "masks_sparsity all empty": (
        lambda: masks_sparsity({"a": torch.zeros(0, dtype=torch.bool)}),
        ValueError,
        r"^masks ",
    ),
    # ---- model_sparsity / prunable_weights
    "model_sparsity not module": (lambda: model_sparsity(W), TypeError, r"^model must be a torch.nn.Module"),
    "model_sparsity unknown name": (
        lambda: model_sparsity(NET, names=["fc7.weight"]),
        ValueError,
        r"^names .*unknown.*fc7",
    ),
    "model_sparsity names str": (lambda: model_sparsity(NET, names="fc1.weight"), TypeError, r"^names must be a list"),
    "model_sparsity names int": (lambda: model_sparsity(NET, names=3), TypeError, r"^names must be a list"),
    "model_sparsity names empty": (lambda: model_sparsity(NET, names=[]), ValueError, r"^names must list"),
    "model_sparsity nothing prunable": (lambda: model_sparsity(nn.ReLU()), ValueError, r"^model has no prunable"),
    "prunable_weights not module": (lambda: prunable_weights({"w": W}), TypeError, r"^model must be a torch.nn.Module"),
    # ---- row_keep
    "row_keep float": (lambda: row_keep(W), TypeError, r"^mask must be a bool tensor"),
    "row_keep list": (lambda: row_keep([[True]]), TypeError, r"^mask must be a bool tensor"),
    "row_keep 0-dim": (lambda: row_keep(torch.tensor(True)), ValueError, r"^mask must have at least one dimension"),
    # ---- remove_neurons
    "remove first not linear": (lambda: remove_neurons(nn.ReLU(), NET.fc2, KEEP[:, 0]), TypeError, r"^first must be"),
    "remove second not linear": (
        lambda: remove_neurons(NET.fc1, nn.Conv1d(4, 3, 1), KEEP[:, 0]),
        TypeError,
        r"^second must be",
    ),
    "remove size mismatch": (
        lambda: remove_neurons(NET.fc1, nn.Linear(5, 3), KEEP[:, 0]),
        ValueError,
        r"^second.in_features",
    ),
    "remove keep wrong length": (
        lambda: remove_neurons(NET.fc1, NET.fc2, torch.ones(5, dtype=torch.bool)),
        ValueError,
        r"^keep .*shape",
    ),
    "remove keep wrong 2-d shape": (
        lambda: remove_neurons(NET.fc1, NET.fc2, torch.ones(4, 7, dtype=torch.bool)),
        ValueError,
        r"^keep .*shape",
    ),
    "remove keep float": (lambda: remove_neurons(NET.fc1, NET.fc2, torch.ones(4)), TypeError, r"^keep .*bool"),
    "remove keep list": (lambda: remove_neurons(NET.fc1, NET.fc2, [True] * 4), TypeError, r"^keep "),
    "remove activation": (
        lambda: remove_neurons(NET.fc1, NET.fc2, KEEP[:, 0], activation="relu"),
        TypeError,
        r"^activation must be callable",
    ),
    # ---- shrink_mlp
    "shrink not sequential": (lambda: shrink_mlp(NET.fc1, {}), TypeError, r"^model must be an nn.Sequential"),
    "shrink conv layer": (
        lambda: shrink_mlp(nn.Sequential(nn.Conv2d(1, 1, 1)), {}),
        TypeError,
        r"^model may hold only",
    ),
    "shrink two relus": (
        lambda: shrink_mlp(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.ReLU(), nn.Linear(2, 2)), {}),
        ValueError,
        r"^model must have exactly one ReLU",
    ),
    "shrink no relu": (
        lambda: shrink_mlp(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)), {}),
        ValueError,
        r"^model must have exactly one ReLU",
    ),
    "shrink masks not dict": (lambda: shrink_mlp(NET, [KEEP]), TypeError, r"^masks must be a dict"),
    "shrink unknown name": (lambda: shrink_mlp(NET, {"fc3.weight": KEEP}), ValueError, r"^masks .*unknown"),
    "shrink wrong shape": (
        lambda: shrink_mlp(NET, {"fc1.weight": KEEP.T}),
        ValueError,
        r"^masks\['fc1.weight'\] .*shape",
    ),
    "shrink float mask": (
        lambda: shrink_mlp(NET, {"fc1.weight": KEEP.float()}),
        TypeError,
        r"^masks\['fc1.weight'\] .*bool",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_naming_the_argument(case):
    call, error, pattern = CASES[case]
    with pytest.raises(error, match=pattern):
        call()


def test_every_public_function_of_the_core_has_a_bad_input_case():
    import course_lib

    core = {
        "magnitude_mask",
        "global_magnitude_masks",
        "magnitude_masks",
        "row_norm_mask",
        "row_keep",
        "nm_mask",
        "apply_masks",
        "masked",
        "sparsity",
        "density",
        "masks_sparsity",
        "model_sparsity",
        "prunable_weights",
        "remove_neurons",
        "shrink_mlp",
    }
    assert core <= set(course_lib.__all__)
    covered = {
        name for f in list(CASES.values()) + [(v,) for v in SPARSITY_FUNCS.values()] for name in f[0].__code__.co_names
    }
    assert core <= covered, sorted(core - covered)


# --------------------------------------------------------------------------- nothing half-modified
def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(model, state):
    return all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


@pytest.mark.parametrize(
    "bad",
    [
        {"fc2.weight": torch.ones(3, 4)},  # float
        {"fc2.weight": torch.ones(4, 3, dtype=torch.bool)},  # transposed shape
        {"fc2.weight": "all"},  # not a tensor
        {"fc9.weight": torch.ones(3, 4, dtype=torch.bool)},  # unknown name
    ],
)
def test_apply_masks_validates_all_masks_before_applying_any(bad):
    net = mlp([8, 4, 3], seed=1)
    before = _state(net)
    good = {"fc1.weight": torch.zeros(4, 8, dtype=torch.bool)}  # would zero all of fc1
    for masks in ({**good, **bad}, {**bad, **good}):  # the bad one last and first
        with pytest.raises((ValueError, TypeError), match=r"^masks"):
            apply_masks(net, masks)
        assert _same(net, before)
    apply_masks(net, good)  # the check above can fail: the good mask alone does change the model
    assert not _same(net, before)


def test_failed_pruning_calls_leave_their_inputs_unchanged():
    w = W.clone()
    prior = torch.ones(4, 8, dtype=torch.bool)
    prior[0] = False
    net = mlp([8, 4, 3], seed=2)
    before = _state(net)
    for call in (
        lambda: magnitude_mask(w, 0.0, prior=prior),
        lambda: row_norm_mask(w, 0.0, prior=prior),
        lambda: global_magnitude_masks({"a": w}, 2.0),
        lambda: shrink_mlp(net, {"fc1.weight": torch.zeros(4, 8, dtype=torch.bool), "fc2.weight": KEEP}),
    ):
        with pytest.raises((ValueError, TypeError)):
            call()
    assert torch.equal(w, W) and torch.equal(prior[1:], torch.ones(3, 8, dtype=torch.bool)) and not prior[0].any()
    assert _same(net, before)
