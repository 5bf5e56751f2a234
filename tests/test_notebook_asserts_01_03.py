"""Every assert of lecture notebooks 01-03 can fail (issue 12): each one is run, as the notebook
writes it, on a plausible broken input or a broken library function, and must fire.

``fired`` executes a notebook cell (or only its assert statements) in a namespace made by the
notebook's own import cell plus what the case replaces, and returns the first line of the
assert that raised. Each case also runs on correct values, where no assert may fire, so a
case cannot pass by breaking something else. ``test_every_assert_has_a_case`` fails when a
notebook gains an assert that no case shows firing.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import traceback
from pathlib import Path

import pytest
import torch

from course_lib import apply_masks, magnitude_mask, nm_mask, remove_neurons, row_norm_mask, shrink_mlp
from course_lib.pruning.error import error_curve, layer_output, output_error, removal_errors, weight_error

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NB01, NB02, NB03 = "01_magnitude", "02_fine_vs_structured", "03_nm_sparsity"


def _cells(notebook: str) -> dict[str, str]:
    nb = json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text())
    return {c["id"]: "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"}


def _asserts(source: str) -> list[ast.Assert]:
    return [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assert)]


def _first_line(source: str, node: ast.stmt) -> str:
    return source.splitlines()[node.lineno - 1].split("#")[0].strip()


def _namespace(notebook: str, **values) -> dict:
    """The notebook's imports (its first code cell), then ``values``."""
    ns: dict = {}
    exec(next(iter(_cells(notebook).values())), ns)  # noqa: S102 (the course's own notebook)
    ns.update(values)
    return ns


def fired(notebook: str, cell: str, only_asserts: bool = False, **values) -> str | None:
    """Run ``cell`` of ``notebook`` (or only its assert statements) with ``values``; the first
    line of the assert that fired, ``None`` when none did."""
    source = _cells(notebook)[cell]
    if only_asserts:
        source = "\n".join(ast.get_source_segment(source, node) for node in _asserts(source))
    ns = _namespace(notebook, **values)
    try:
        exec(compile(source, "<cell>", "exec"), ns)  # noqa: S102
    except AssertionError as err:
        line = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == "<cell>"][-1].lineno
        node = next(n for n in _asserts(source) if n.lineno == line)
        return _first_line(source, node)
    return None


def state(notebook: str, cell: str, **values) -> dict:
    """The namespace after ``cell`` ran with ``values`` (and no assert fired)."""
    ns = _namespace(notebook, **values)
    exec(_cells(notebook)[cell], ns)  # noqa: S102
    return ns


# --------------------------------------------------------------------------- broken library functions
def signed_magnitude_mask(weight, sparsity):
    """Ranks by the signed value, not |w|: prunes the most negative weights."""
    k = round(sparsity * weight.numel())
    keep = torch.ones(weight.numel(), dtype=torch.bool)
    keep[weight.flatten().argsort(stable=True)[:k]] = False
    return keep.reshape(weight.shape)


def largest_magnitude_mask(weight, sparsity):
    """Prunes the largest |w| (a descending sort)."""
    return magnitude_mask(-weight.abs() + weight.abs().max() + 1, sparsity)


def median_threshold_mask(weight, sparsity):
    """A threshold at the median compared with >=: keeps the median weight too (off by one)."""
    return weight.abs() >= weight.abs().flatten().kthvalue(round(sparsity * weight.numel())).values


def mean_threshold_global_masks(weights, sparsity):
    """'Global' pruning with the mean of the layers' own thresholds: misses the total sparsity."""
    thresholds = [w.abs().flatten().kthvalue(round(sparsity * w.numel())).values for w in weights.values()]
    cut = torch.stack(thresholds).mean()
    return {name: w.abs() > cut for name, w in weights.items()}


def layerwise_as_global(weights, sparsity):
    return {name: magnitude_mask(w, sparsity) for name, w in weights.items()}


def kept_share(weight, mask):
    """weight_error measuring the kept weights instead of the pruned ones."""
    return float((weight * mask).norm() / weight.norm())


def pruned_output_size(weight, mask, inputs, bias=None, activation=None):
    """output_error that forgot to subtract the dense output: ||y_pruned|| / ||y||."""
    dense = layer_output(weight, inputs, bias, activation)
    return float(layer_output(weight * mask, inputs, bias, activation).norm() / dense.norm())


def mask_ignored_error(weight, mask, inputs, bias=None, activation=None):
    """output_error that never applies the mask."""
    return output_error(weight, torch.ones_like(mask), inputs, bias, activation)


def at_most_n_mask(weight, n, m):
    """Reads 'at most n nonzeros' as a threshold: keeps the n largest only above the group's mean |w|."""
    groups = weight.abs().reshape(-1, m)
    return nm_mask(weight, n, m) & (groups >= groups.mean(dim=1, keepdim=True)).reshape(weight.shape)


# --------------------------------------------------------------------------- 01
W_SLIDE = torch.tensor([10.0, -8.0, 0.1])
X_SLIDE = torch.randn(10_000, 3, generator=torch.Generator().manual_seed(0))


def _slide_errors(scale_x2=1.0):
    return removal_errors(W_SLIDE, X_SLIDE * torch.tensor([1.0, 1.0, scale_x2]), activation=torch.relu)


def _absolute_removal_errors():
    """The output change of removing each weight, not divided by the output's norm."""
    y = torch.relu(X_SLIDE @ W_SLIDE)
    return torch.stack([(torch.relu(X_SLIDE @ (W_SLIDE * (torch.arange(3) != i))) - y).norm() for i in range(3)])


def _my_magnitude_mask(mask_fn):
    return {"my_magnitude_mask": mask_fn, "w": W_SLIDE}


def _lenet_weights():
    ns = state(NB01, "nb01-17")  # LeNet-300-100 at init; the slider figure is made and discarded
    return ns["weights"]


CASES_01 = [
    # (cell, only_asserts, broken values, correct values, the assert that must fire)
    (
        "nb01-04",
        False,
        lambda: {"errors": _slide_errors(1000.0)},
        lambda: {"errors": _slide_errors()},
        "assert int(errors.argmin()) == 2",
    ),
    (
        "nb01-04",
        False,
        lambda: {"errors": _absolute_removal_errors()},
        lambda: {"errors": _slide_errors()},
        "assert errors[2] < 0.05 < errors[1] < errors[0]",
    ),
    (
        "nb01-07",
        False,
        lambda: {"w": W_SLIDE, "x": X_SLIDE, "removal_errors": lambda w, x, activation=None: w.abs() / w.norm()},
        lambda: {"w": W_SLIDE, "x": X_SLIDE},
        "assert int(errors_scaled.argmin()) != 2",
    ),
    (
        "nb01-07",
        True,
        lambda: {"errors_scaled": _slide_errors(90.0)},
        lambda: {"errors_scaled": _slide_errors(1000.0)},
        "assert int(errors_scaled.argmax()) == 2",
    ),
    (
        "nb01-12",
        False,
        lambda: _my_magnitude_mask(signed_magnitude_mask),
        lambda: _my_magnitude_mask(magnitude_mask),
        "assert torch.equal(my_magnitude_mask(weight, s), magnitude_mask(weight, s)), (shape, s)",
    ),
    (
        "nb01-12",
        False,
        lambda: {**_my_magnitude_mask(signed_magnitude_mask), "magnitude_mask": signed_magnitude_mask},
        lambda: _my_magnitude_mask(magnitude_mask),
        "assert magnitude_mask(w, 1 / 3).tolist() == [True, True, False]",
    ),
    (
        "nb01-15",
        False,
        lambda: {"W": torch.nn.Linear(16, 8).weight.detach(), "magnitude_mask": median_threshold_mask},
        lambda: {"W": torch.nn.Linear(16, 8).weight.detach()},
        "assert sparsity(mask) == 0.5",
    ),
    (
        "nb01-15",
        False,
        lambda: {"W": torch.nn.Linear(16, 8).weight.detach(), "magnitude_mask": signed_magnitude_mask},
        lambda: {"W": torch.nn.Linear(16, 8).weight.detach()},
        "assert W.abs()[~mask].max() < W.abs()[mask].min()",
    ),
    (
        "nb01-18",
        False,
        lambda: {"weights": _lenet_weights(), "global_magnitude_masks": mean_threshold_global_masks},
        lambda: {"weights": _lenet_weights()},
        "assert abs(masks_sparsity(global_masks) - 0.5) < 1e-6",
    ),
    (
        "nb01-18",
        False,
        lambda: {"weights": _lenet_weights(), "global_magnitude_masks": layerwise_as_global},
        lambda: {"weights": _lenet_weights()},
        'assert per_layer["fc1.weight"] > 0.5 > per_layer["fc2.weight"] > per_layer["fc3.weight"]',
    ),
]


# --------------------------------------------------------------------------- 02
@functools.cache
def _trained() -> dict:
    """Notebook 02's trained network and data (cell nb02-03 as written)."""
    return state(NB02, "nb02-03")


def _digits(**values) -> dict:
    t = _trained()
    return {k: t[k] for k in ("data", "X_test", "net", "W1", "b1", "accuracy", "dense_accuracy")} | values


def _curves(mask_fns=None, accuracy_fn=None) -> dict:
    """What cell nb02-10 computes, at 33 sparsities (accuracies only at 50%, all cell nb02-13 reads)."""
    t = _trained()
    sparsities = [k / 32 for k in range(33)]
    methods = {
        "fine-grained (|w|)": magnitude_mask,
        "rows, L1 norm": functools.partial(row_norm_mask, p=1),
        "rows, L2 norm": functools.partial(row_norm_mask, p=2),
    }
    used = {**methods, **(mask_fns or {})}
    errors = {
        n: error_curve(t["W1"], t["X_test"], f, sparsities, bias=t["b1"], activation=torch.relu)
        for n, f in used.items()
    }

    def with_fc1_mask(mask):
        pruned = copy.deepcopy(t["net"])
        apply_masks(pruned, {"fc1.weight": mask})
        return t["accuracy"](pruned)

    accuracy = accuracy_fn or with_fc1_mask
    accuracies = {n: [accuracy(f(t["W1"], 0.5)) if s == 0.5 else 0.0 for s in sparsities] for n, f in used.items()}
    return {"sparsities": sparsities, "methods": methods, "errors": errors, "accuracies": accuracies}


def _shrunk(shrink=shrink_mlp) -> dict:
    return _digits(shrink_mlp=shrink)


def _wrong_columns_shrink(net, masks):
    """Cuts fc2's first columns instead of the kept neurons' columns."""
    small = shrink_mlp(net, masks)
    small.fc2.weight.data = net.fc2.weight.detach()[:, : small.fc2.in_features].clone()
    return small


def _masked_copy(net, masks):
    """'Shrinks' by masking a copy: same outputs, same shapes."""
    small = copy.deepcopy(net)
    apply_masks(small, masks)
    return small


def _remove_neurons_state(remove=remove_neurons) -> dict:
    ns = state(NB02, "nb02-18", **_digits())
    return {k: ns[k] for k in ("masks", "masked_net")} | _digits(remove_neurons=remove)


def _wrong_columns_remove(fc, next_fc, keep):
    a, b = remove_neurons(fc, next_fc, keep)
    b.weight.data = next_fc.weight.detach()[:, : b.in_features].clone()
    return a, b


def _row_mask_values(mask_fn):
    return _digits(my_row_norm_mask=mask_fn)


def _descending_row_mask(weight, sparsity, p=2):
    """Prunes the rows of *largest* norm."""
    k = round(sparsity * weight.shape[0])
    keep = torch.ones(weight.shape[0], dtype=torch.bool)
    keep[weight.norm(p=p, dim=1).argsort(descending=True, stable=True)[:k]] = False
    return keep[:, None].expand_as(weight).clone()


CASES_02 = [
    ("nb02-03", False, lambda: {"train": lambda *args, **kwargs: None}, lambda: {}, "assert dense_accuracy > 90"),
    (
        "nb02-06",
        False,
        lambda: _row_mask_values(_descending_row_mask),
        lambda: _row_mask_values(row_norm_mask),
        "assert torch.equal(my_row_norm_mask(weight, s, p), row_norm_mask(weight, s, p=p)), "
        "(tuple(weight.shape), p, s)",
    ),
    (
        "nb02-10",
        True,
        lambda: _digits(sparsities=[k / 20 for k in range(21)]),
        lambda: _digits(sparsities=[k / 32 for k in range(33)]),
        "assert all(sparsity(magnitude_mask(W1, s)) == sparsity(row_norm_mask(W1, s)) == s for s in sparsities)",
    ),
    (
        "nb02-13",
        False,
        lambda: _digits(**_curves({"fine-grained (|w|)": largest_magnitude_mask})),
        lambda: _digits(**_curves()),
        "assert fine[half] < min(rows_l1[half], rows_l2[half])",
    ),
    (
        "nb02-13",
        False,
        lambda: _digits(**_curves(accuracy_fn=lambda mask: _trained()["dense_accuracy"])),
        lambda: _digits(**_curves()),
        'assert accuracies["fine-grained (|w|)"][half] > max(accuracies["rows, L1 norm"][half], '
        'accuracies["rows, L2 norm"][half])',
    ),
    ("nb02-18", False, lambda: _shrunk(_wrong_columns_shrink), lambda: _shrunk(), "assert same"),
    (
        "nb02-18",
        False,
        lambda: _shrunk(_masked_copy),
        lambda: _shrunk(),
        "assert (small.fc1.weight.shape, small.fc2.weight.shape) == ((16, 64), (10, 16))",
    ),
    (
        "nb02-20",
        False,
        lambda: _remove_neurons_state(_wrong_columns_remove),
        lambda: _remove_neurons_state(),
        "assert torch.allclose(fc2_small(torch.relu(fc1_small(X_test))), masked_net(X_test), atol=1e-5)",
    ),
]


# --------------------------------------------------------------------------- 03
def _unsigned_nm(weight, n, m):
    """Keeps the n largest *signed* values of each group (no abs)."""
    groups = weight.reshape(-1, m)
    top = groups.argsort(dim=1, descending=True, stable=True)[:, :n]
    return torch.zeros_like(groups, dtype=torch.bool).scatter_(1, top, True).reshape(weight.shape)


@functools.cache
def _layer() -> dict:
    """Cell nb03-09's layer, inputs and masks, as written."""
    ns = state(NB03, "nb03-09")
    return {k: ns[k] for k in ("W", "b", "x")}


@functools.cache
def _patterns(mask_fn=magnitude_mask, error=output_error, weight_err=weight_error) -> dict:
    """What cell nb03-11 computes, with the given mask and error functions."""
    W, b, x = (_layer()[k] for k in ("W", "b", "x"))
    patterns = [(1, 2), (2, 4), (4, 8), (8, 16), (1, 4), (2, 8), (3, 4), (6, 8), (1, 8)]
    sparsities = [k / 16 for k in range(16)]
    return {
        "patterns": patterns,
        "sparsities": sparsities,
        "nm_errors": {f"{n}:{m}": (1 - n / m, error(W, nm_mask(W, n, m), x, bias=b)) for n, m in patterns},
        "nm_weight_errors": {f"{n}:{m}": weight_err(W, nm_mask(W, n, m)) for n, m in patterns},
        "unstructured_errors": [error(W, mask_fn(W, s), x, bias=b) for s in sparsities],
    }


def _gpu_product(mask_reference: bool) -> dict:
    """The float16 products the GPU cell compares, on the CPU: 2:4 weight times input, against the
    dense product of the same 2:4 weight, or (the bug) of the weight before masking."""
    w = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    x = torch.randn(64, 32, generator=torch.Generator().manual_seed(1))
    w24 = w * nm_mask(w, 2, 4)
    sparse_out = (w24.half().float() @ x.half().float()).half()
    dense_out = (w24 if mask_reference else w) @ x
    from course_lib.pruning.error import relative_difference

    return {"relative": relative_difference(sparse_out, dense_out)}


CASES_03 = [
    (
        "nb03-04",
        False,
        lambda: {"my_nm_mask": _unsigned_nm},
        lambda: {"my_nm_mask": nm_mask},
        "assert torch.equal(my_nm_mask(weight, n, m), nm_mask(weight, n, m)), (shape, n, m)",
    ),
    (
        "nb03-05",
        False,
        lambda: {"nm_mask": lambda w, n, m: nm_mask(w.T.contiguous(), n, m).T},
        lambda: {},
        "assert (mask_24.reshape(8, 6, 4).sum(dim=2) == 2).all()",
    ),
    (
        "nb03-09",
        False,
        lambda: {"nm_mask": at_most_n_mask},
        lambda: {},
        "assert sparsity(unstructured) == sparsity(two_four) == 0.5",
    ),
    (
        "nb03-09",
        False,
        lambda: {"magnitude_mask": largest_magnitude_mask},
        lambda: {},
        'assert results["unstructured 50%"][0] <= results["2:4"][0]',
    ),
    (
        "nb03-09",
        False,
        lambda: {"output_error": pruned_output_size},
        lambda: {},
        'assert results["unstructured 50%"][1] <= results["2:4"][1]',
    ),
    (
        "nb03-12",
        False,
        lambda: _patterns(mask_fn=largest_magnitude_mask),
        lambda: _patterns(),
        "assert unstructured_errors[sparsities.index(s)] <= e, name",
    ),
    (
        "nb03-12",
        False,
        lambda: _patterns(weight_err=kept_share),
        lambda: _patterns(),
        "assert all(nm_weight_errors[a] >= nm_weight_errors[b] for a, b in steps)",
    ),
    (
        "nb03-12",
        False,
        lambda: _patterns(error=mask_ignored_error),
        lambda: _patterns(),
        "assert all(out[a] > out[b] for a, b in steps)",
    ),
    (
        "nb03-14",
        True,
        lambda: _gpu_product(mask_reference=False),
        lambda: _gpu_product(mask_reference=True),
        "assert relative < 1e-2",
    ),
]

CASES = {NB01: CASES_01, NB02: CASES_02, NB03: CASES_03}
PARAMS = [
    pytest.param(nb, *case, id=f"{nb[:2]}:{case[0]}:{case[4][7:47]}") for nb, cases in CASES.items() for case in cases
]


@pytest.mark.parametrize(("notebook", "cell", "only_asserts", "broken", "correct", "expected"), PARAMS)
def test_the_assert_fires_on_a_broken_input_and_not_on_the_correct_one(
    notebook, cell, only_asserts, broken, correct, expected
):
    torch.manual_seed(0)  # the cells that seed the global generator themselves do so again
    assert fired(notebook, cell, only_asserts, **correct()) is None
    torch.manual_seed(0)
    assert fired(notebook, cell, only_asserts, **broken()) == expected


def test_every_assert_has_a_case():
    """A new assert in notebooks 01-03 needs a case above that shows it firing."""
    shown = {(nb, case[0], case[4]) for nb, cases in CASES.items() for case in cases}
    written = {
        (nb, cell, _first_line(source, node))
        for nb in CASES
        for cell, source in _cells(nb).items()
        for node in _asserts(source)
    }
    assert written == shown


def test_fired_names_the_assert_that_raised():
    """The helper itself: it reports the assert that fired, and None when all hold."""
    assert fired(NB01, "nb01-04", errors=torch.tensor([0.7, 0.6, 0.01])) is None
    assert fired(NB01, "nb01-04", errors=torch.tensor([0.6, 0.7, 0.01])) == (
        "assert errors[2] < 0.05 < errors[1] < errors[0]"
    )
