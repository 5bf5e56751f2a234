"""Every assert of notebooks/04_train_prune_finetune.ipynb can fail.

Each test runs one of the notebook's own code cells (read from the notebook, so the asserts
tested are the ones students run) on a plausible broken input or with a broken library
function, and checks which of the cell's asserts fire. A cell's statements run one by one:
a setup statement that raises (because the input is broken) leaves its names undefined,
and an assert that cannot be evaluated then counts as "did not fire", so each test names
the asserts it expects to fire.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
from pathlib import Path
from types import SimpleNamespace as NS

import pytest
import torch

import course_lib.experiments.analysis as analysis_module
import course_lib.experiments.finetune as finetune_module
import course_lib.experiments.refit as refit_module
from course_lib.experiments import analysis, refit
from course_lib.experiments.claims import Claims, compare
from course_lib.experiments.finetune import (
    extreme_layer,
    in_order,
    one_shot_vs_iterative,
    prune_finetune,
    scan_accuracies,
    seed_count,
)
from course_lib.experiments.lottery import make_model
from course_lib.pruning.magnitude import magnitude_masks
from course_lib.pruning.structured import row_keep, row_norm_mask
from course_lib.training.data import load
from course_lib.training.train import evaluate, train

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_train_prune_finetune.ipynb"
CELLS = {
    c.get("id"): "".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"
}


def _statements(cell_id: str, source: str | None = None) -> list[tuple[bool, str]]:
    """(holds an assert, source) of each top-level statement of a code cell."""
    text = CELLS[cell_id] if source is None else source
    tree = ast.parse(text)
    return [
        (any(isinstance(n, ast.Assert) for n in ast.walk(s)), ast.get_source_segment(text, s) or "") for s in tree.body
    ]


def run_cell(cell_id: str, namespace: dict, source: str | None = None) -> dict[str, bool]:
    """Run the cell in ``namespace``; ``{assert statement: fired}`` for each statement holding an assert."""
    fired = {}
    for has_assert, code in _statements(cell_id, source):
        try:
            exec(code, namespace)  # noqa: S102 - the notebook's own cell
            ok = True
        except AssertionError:
            ok = False
        except Exception:  # broken input: this statement could not run
            if has_assert:
                fired[code] = False
            continue
        if has_assert:
            fired[code] = not ok
    return fired


def fired_with(fired: dict[str, bool], fragment: str) -> bool:
    matches = [f for code, f in fired.items() if fragment in code]
    assert len(matches) == 1, f"{fragment!r} names {len(matches)} asserts of the cell"
    return matches[0]


def _base() -> dict:
    return {
        "torch": torch,
        "copy": copy,
        "functools": functools,
        "analysis": analysis,
        "refit": refit,
        "compare": compare,
        "magnitude_masks": magnitude_masks,
        "evaluate": evaluate,
        "row_keep": row_keep,
        "row_norm_mask": row_norm_mask,
        "claims": Claims("04_train_prune_finetune"),
        "seed_count": seed_count,
        "extreme_layer": extreme_layer,
        "in_order": in_order,
        "scan_accuracies": scan_accuracies,
    }


@pytest.fixture(scope="module")
def mnist():
    return load("mnist5k")


@pytest.fixture(scope="module")
def lenet(mnist):
    """LeNet-300-100 trained 3 epochs on MNIST-5k (the notebook's setting, shorter)."""
    net = make_model("lenet", mnist.in_features, mnist.num_classes, seed=0)
    train(net, mnist, epochs=3, progress=False)
    return net


def test_dense_accuracy_check_fires_when_the_networks_are_not_trained(mnist):
    nets = [make_model("lenet", mnist.in_features, mnist.num_classes, seed=s) for s in (0, 1, 2)]
    ns = _base() | {"dense_acc": [evaluate(n, mnist.test)[1] for n in nets]}
    source = "\n".join(line for line in CELLS["nb04-03"].splitlines() if line.startswith(('print("mean', "assert")))
    assert all(run_cell("nb04-03", ns, source).values())


def test_from_scratch_pruning_checks_fire_on_broken_pruning(trained, digits):
    ns = _base() | {"nets": [trained], "data": digits}
    signed = CELLS["nb04-05"].replace("w.abs()", "w")  # sorts by signed value: prunes the most negative
    assert fired_with(run_cell("nb04-05", dict(ns), signed), "torch.equal")
    unapplied = CELLS["nb04-05"].replace("w.mul_(masks[name])", "pass")  # the mask is never applied
    fired = run_cell("nb04-05", dict(ns), unapplied)
    assert fired_with(fired, "pruned_accuracy") and not fired_with(fired, "torch.equal")


def _cell8(lenet, mnist, **patched) -> dict[str, bool]:
    acc = evaluate(lenet, mnist.test)[1]
    ns = _base() | {
        "nets": [lenet],
        "data": mnist,
        "acc_before": acc,
        "GRID": [i / 20 for i in range(20)] + [0.97, 0.98, 0.99],
    }
    ns["curve"] = {
        "sparsities": ns["GRID"],
        "layer": analysis.pruned_accuracy_curve(lenet, mnist.test, ns["GRID"], "layer"),
        "global": analysis.pruned_accuracy_curve(lenet, mnist.test, ns["GRID"], "global"),
    }
    ns.update(patched)
    return run_cell("nb04-08", ns)


def _random_masks(model, sparsity, scope="layer", prior=None):
    """A broken criterion: random masks of the right sparsity per layer, blind to the weights and the scope."""
    g = torch.Generator().manual_seed(0)
    masks = {}
    for name, w in model.named_parameters():
        if w.dim() == 2:
            keep = torch.ones(w.numel(), dtype=torch.bool)
            keep[torch.randperm(w.numel(), generator=g)[: round(sparsity * w.numel())]] = False
            masks[name] = keep.reshape(w.shape)
    return masks


def _largest_pruned(model, sparsity, scope="layer", prior=None):
    """A broken criterion: prunes the *largest* weights (a flipped sort)."""
    return {n: ~m for n, m in magnitude_masks(model, 1.0 - sparsity, scope=scope).items()}


def test_pruned_curve_checks_fire_on_broken_criteria(lenet, mnist, monkeypatch):
    healthy = _cell8(lenet, mnist)
    assert not any(healthy.values()), healthy  # the notebook's setting, trained shorter: all hold
    blind = _cell8(lenet, mnist, magnitude_masks=_random_masks)
    assert fired_with(blind, "centre > 2 * border") and fired_with(blind, 'global90["fc1.weight"]')
    monkeypatch.setattr(analysis_module, "magnitude_masks", _largest_pruned)
    assert fired_with(_cell8(lenet, mnist), "first_big_drop >= 0.5")
    monkeypatch.setattr(
        analysis_module, "magnitude_masks", lambda m, s, scope="layer", prior=None: magnitude_masks(m, s)
    )
    assert fired_with(_cell8(lenet, mnist), 'curve["global"]')  # scope ignored: global = layer-wise
    monkeypatch.setattr(analysis_module, "apply_masks", lambda model, masks: None)  # masks never applied
    assert fired_with(_cell8(lenet, mnist), 'curve["layer"][-1]')


def test_finetune_step_check_fires_when_pruned_weights_are_updated(trained, digits):
    masks = magnitude_masks(trained, 0.8)
    pruned = copy.deepcopy(trained)
    with torch.no_grad():
        for name, p in pruned.named_parameters():
            if name in masks:
                p.mul_(masks[name])
    ns = _base() | {"pruned80": pruned, "masks80": masks, "data": digits, "acc_after": 0.0}
    assert not any(run_cell("nb04-10", dict(ns)).values())
    unmasked = (
        CELLS["nb04-10"].replace("params[name].grad.mul_(keep)", "pass").replace("params[name].mul_(keep)", "pass")
    )
    assert all(run_cell("nb04-10", dict(ns), unmasked).values())


def _pf_namespace(trained, digits) -> dict:
    pf = [prune_finetune(trained, digits, [0.0, 0.8, 0.95], epochs=2, lr=5e-3, seed=s, progress=False) for s in (0, 1)]
    ns = _base() | {"pf": pf}
    run_cell("nb04-15", ns)  # defines at, dense, pruned, tuned (its prints are not checked here)
    return ns


def test_recovery_checks_fire_on_broken_prune_finetune(trained, digits, monkeypatch):
    ns = _pf_namespace(trained, digits)
    fine = run_cell("nb04-16", dict(ns))
    assert not fired_with(fine, "mean_std(pruned)[0] < ") and not fired_with(
        fine, "(tuned)[0] > analysis.mean_std(pruned)"
    )
    monkeypatch.setattr(finetune_module, "apply_masks", lambda model, masks: None)  # pruning never applied
    assert fired_with(run_cell("nb04-16", _pf_namespace(trained, digits)), "mean_std(pruned)[0] < ")
    real = finetune_module.train_many
    monkeypatch.setattr(finetune_module, "train_many", lambda nets, data, masks, **kw: real(nets, data, None, **kw))
    # nor kept during fine-tuning: the "95%" network is the dense one trained longer
    assert fired_with(run_cell("nb04-16", _pf_namespace(trained, digits)), 'at(pf, 0.95, "finetuned_acc")')
    monkeypatch.undo()
    frozen = functools.partial(prune_finetune, lr=1e-12)  # a learning rate too small to change anything
    ns = _base() | {"pf": [frozen(trained, digits, [0.0, 0.8, 0.95], epochs=1, progress=False)]}
    run_cell("nb04-15", ns)
    no_tuning = run_cell("nb04-16", ns)
    assert fired_with(no_tuning, "(tuned)[0] > analysis.mean_std(pruned)")
    assert fired_with(no_tuning, "(tuned)[0] > analysis.mean_std(dense)[0] - 1.5")


def test_one_shot_vs_iterative_checks_fire_on_a_misread_record(trained, digits):
    runs = [
        one_shot_vs_iterative(trained, digits, 0.98, steps=4, scope="global", lr=5e-3, seed=s, progress=False)
        for s in (0, 1)
    ]
    ns = _base() | {"mean_pm": lambda v: f"{analysis.mean_std(v)[0]:.2f}", "osi_cubic": runs}
    # a record whose two curves are swapped (one-shot <-> iterative)
    ns["osi"] = [NS(one_shot_acc=r.iterative_acc, iterative_acc=r.one_shot_acc) for r in runs]
    assert fired_with(run_cell("nb04-20", dict(ns)), "slide_cmp.direction > 0")
    # a record that keeps the accuracy right after each pruning, before fine-tuning
    ns["osi"] = [NS(one_shot_acc=[r.one_shot_pruned_acc] * 4, iterative_acc=r.iterative_pruned_acc) for r in runs]
    assert fired_with(run_cell("nb04-20", ns), "min(it_end) > 80")


def _scans(mnist, monkeypatch) -> dict:
    """Scans of a broken ``layer_sensitivity`` that prunes nothing: every layer scores the same."""
    nets = {
        "LeNet-300-100": make_model("lenet", 784, 10, seed=0),
        "784-100-100-100-100-10": make_model("100,100,100,100", 784, 10, seed=0),
    }
    monkeypatch.setattr(
        finetune_module, "magnitude_mask", lambda w, s, prior=None: torch.ones_like(w, dtype=torch.bool)
    )
    scans = {
        label: [finetune_module.layer_sensitivity(n, mnist, [0.5, 0.8, 0.9, 0.95, 0.98])] for label, n in nets.items()
    }
    ns = _base() | {"scans": scans, "SCAN": [0.5, 0.8, 0.9, 0.95, 0.98]}
    run_cell("nb04-23", ns)  # defines acc_at, lenet, deep
    return ns


def test_layer_checks_fire_when_the_scan_does_not_prune(mnist, monkeypatch):
    fired = run_cell("nb04-24", _scans(mnist, monkeypatch))
    for fragment in (
        '"fc4.weight") > acc_at(deep',
        'acc_at(lenet, "fc1.weight")',
        'acc_at(deep, "fc1.weight")',
        "for label, out in",
    ):
        assert fired_with(fired, fragment), fragment


def test_refit_checks_fire_on_a_broken_refit(lenet, mnist, monkeypatch):
    ns = _base() | {"nets": [lenet], "data": mnist}
    assert not any(run_cell("nb04-26", dict(ns)).values())
    real = refit_module.least_squares_refit
    monkeypatch.setattr(
        refit_module, "least_squares_refit", lambda m, layer, keep, x, **kw: real(m, layer, keep, x[:100], **kw)
    )
    assert all(run_cell("nb04-26", dict(ns)).values())  # fitted on other inputs than the notebook's
    monkeypatch.setattr(
        refit_module,
        "least_squares_refit",
        lambda m, layer, keep, x, **kw: refit_module.remove_layer_neurons(m, layer, keep),
    )
    ns["net"] = lenet
    ns["scan_fc2"] = refit.refit_scan(lenet, mnist, "fc2", [0.0, 0.25, 0.5, 0.75, 0.9])  # "refit" that does not refit
    assert all(run_cell("nb04-30", ns).values())


# --------------------------------------------------------------------------- printed verdicts follow the numbers
def _pf(dense, longer, pruned, tuned) -> list:
    """prune_finetune results per seed (sparsity 0.0: the dense network trained longer; 0.8: pruned)."""
    return [
        [
            NS(sparsity=0.0, dense_acc=d, pruned_acc=d, finetuned_acc=m),
            NS(sparsity=0.8, dense_acc=d, pruned_acc=p, finetuned_acc=f),
        ]
        for d, m, p, f in zip(dense, longer, pruned, tuned, strict=True)
    ]


def _printed(capsys, cell_id: str, ns: dict) -> str:
    capsys.readouterr()
    run_cell(cell_id, ns)
    return capsys.readouterr().out


def test_own_loss_clause_only_when_the_longer_trained_network_got_worse_on_every_seed(capsys):
    dense, pruned = [93.4, 94.5, 94.1], [87.9, 83.4, 90.2]
    # issue 12's review: longer training -0.50 ± 0.51 with the seeds disagreeing; the clause fired on the mean
    out = _printed(capsys, "nb04-15", _base() | {"pf": _pf(dense, [93.6, 93.5, 93.4], pruned, [94.5, 94.0, 94.4])})
    assert "own loss" not in out and "WORSE on 2 of 3 seeds, better on 1" in out
    assert "higher on 2 of 3 seeds, lower on 1: quality did NOT increase on every seed" in out
    # worse on every seed, and the pruned network above it on every seed: the clause holds
    out = _printed(capsys, "nb04-15", _base() | {"pf": _pf(dense, [93.0, 93.5, 93.4], pruned, [94.5, 94.6, 94.4])})
    assert "WORSE on every seed: the gain over it is partly its own loss" in out
    assert "higher on every seed: quality increased on every seed" in out
    # worse on every seed, but the pruned network is not above it: no gain to explain
    out = _printed(capsys, "nb04-15", _base() | {"pf": _pf(dense, [93.0, 93.5, 93.4], pruned, [92.0, 93.6, 93.0])})
    assert "WORSE on every seed" in out and "own loss" not in out


def _gap_namespace(gaps: dict[str, list[float]]) -> dict:
    """The overfitting cell's inputs: stand-in models whose train-test gaps are ``gaps``."""
    models = {label: [NS(gap=g) for g in values] for label, values in gaps.items()}
    pf = [
        [NS(sparsity=0.0, model=d), NS(sparsity=0.8, model=p)]
        for d, p in zip(models["dense + 2 epochs"], models["pruned 80% + fine-tuned"], strict=True)
    ]
    return _base() | {
        "nets": models["dense (trained)"],
        "pf": pf,
        "data": NS(train=None, test=None),
        "train_test_gap": lambda model, data: model.gap,
        "evaluate": lambda model, split: (0.0, 99.0),
        "mean_pm": lambda v: f"{analysis.mean_std(v)[0]:.2f}",
    }


def test_gap_words_never_say_smaller_where_no_seed_was(capsys):
    # no seed smaller than the trained dense network's gap (two larger, one equal): the old words said
    # "smaller ... on some seeds only"
    gaps = {
        "dense (trained)": [5.4, 5.9, 5.4],
        "dense + 2 epochs": [6.2, 5.9, 6.3],
        "pruned 80% + fine-tuned": [5.4, 6.0, 6.1],
    }
    out = _printed(capsys, "overfitting-gap", _gap_namespace(gaps))
    assert "against the trained dense network's: LARGER on 2 of 3 seeds, equal on 1;" in out
    assert "longer-trained dense network's: smaller on 2 of 3 seeds, LARGER on 1:" in out
    assert "does not show that pruning reduces overfitting" in out
    gaps["pruned 80% + fine-tuned"] = [5.0, 5.5, 5.0]
    out = _printed(capsys, "overfitting-gap", _gap_namespace(gaps))
    assert "it overfit less than either dense network on every seed" in out


def test_layer_verdicts_hold_on_every_seed_or_say_not(capsys):
    # issue 12's run: the equal-sized layers' means rise (74.5, 84.5, 90.4) but fc3 ties fc2 on seed 2
    deep = {
        "fc1.weight": [85.8, 87.0, 87.6],
        "fc2.weight": [72.0, 69.2, 82.4],
        "fc3.weight": [82.6, 88.4, 82.4],
        "fc4.weight": [87.8, 91.8, 91.6],
        "fc5.weight": [54.6, 36.4, 50.6],
    }
    lenet = {"fc1.weight": [90.2, 92.0, 91.6], "fc2.weight": [80.8, 89.0, 92.0], "fc3.weight": [43.2, 49.2, 65.0]}

    def scans(accs):
        return [
            NS(
                sparsities=[0.95],
                acc={n: [v[s]] for n, v in accs.items()},
                sizes={n: 10 ** (6 - i) for i, n in enumerate(accs)},
            )
            for s in range(3)
        ]

    ns = _base() | {"scans": {"LeNet-300-100": scans(lenet), "784-100-100-100-100-10": scans(deep)}}
    out = _printed(capsys, "nb04-23", ns)
    assert "deeper prunes better among equal-sized hidden layers (at 95%): NOT on every seed" in out
    assert "LeNet-300-100: the most fragile layer is fc3.weight: lower than every other layer on every seed" in out
    out = _printed(capsys, "nb04-24", ns)
    assert "LeNet-300-100: the layer that tolerates 95% best is fc1.weight: the highest mean, not on every seed" in out
    deep["fc3.weight"] = [82.6, 88.4, 83.0]
    ns["scans"]["784-100-100-100-100-10"] = scans(deep)
    assert "(at 95%): YES, on every seed" in _printed(capsys, "nb04-23", ns)


#: Each assert of the notebook, by cell and a fragment of its text, and the test above that makes it fire.
TESTED = {
    ("nb04-03", "mean_std(dense_acc)[0] > 90"): "test_dense_accuracy_check_fires_when_the_networks_are_not_trained",
    ("nb04-05", "torch.equal"): "test_from_scratch_pruning_checks_fire_on_broken_pruning",
    ("nb04-05", "pruned_accuracy"): "test_from_scratch_pruning_checks_fire_on_broken_pruning",
    ("nb04-08", "first_big_drop >= 0.5"): "test_pruned_curve_checks_fire_on_broken_criteria",
    ("nb04-08", "centre > 2 * border"): "test_pruned_curve_checks_fire_on_broken_criteria",
    ("nb04-08", 'global90["fc1.weight"]'): "test_pruned_curve_checks_fire_on_broken_criteria",
    ("nb04-08", 'curve["layer"][-1]'): "test_pruned_curve_checks_fire_on_broken_criteria",
    ("nb04-08", 'curve["global"]'): "test_pruned_curve_checks_fire_on_broken_criteria",
    ("nb04-10", "named_parameters"): "test_finetune_step_check_fires_when_pruned_weights_are_updated",
    ("nb04-16", "mean_std(pruned)[0] < "): "test_recovery_checks_fire_on_broken_prune_finetune",
    ("nb04-16", "(tuned)[0] > analysis.mean_std(pruned)"): "test_recovery_checks_fire_on_broken_prune_finetune",
    ("nb04-16", "(tuned)[0] > analysis.mean_std(dense)[0] - 1.5"): "test_recovery_checks_fire_on_broken_prune_finetune",
    ("nb04-16", 'at(pf, 0.95, "finetuned_acc")'): "test_recovery_checks_fire_on_broken_prune_finetune",
    ("nb04-20", "slide_cmp.direction > 0"): "test_one_shot_vs_iterative_checks_fire_on_a_misread_record",
    ("nb04-20", "min(it_end) > 80"): "test_one_shot_vs_iterative_checks_fire_on_a_misread_record",
    ("nb04-24", '"fc4.weight") > acc_at(deep'): "test_layer_checks_fire_when_the_scan_does_not_prune",
    ("nb04-24", 'acc_at(lenet, "fc1.weight")'): "test_layer_checks_fire_when_the_scan_does_not_prune",
    ("nb04-24", 'acc_at(deep, "fc1.weight")'): "test_layer_checks_fire_when_the_scan_does_not_prune",
    ("nb04-24", "for label, out in"): "test_layer_checks_fire_when_the_scan_does_not_prune",
    ("nb04-26", "torch.allclose"): "test_refit_checks_fire_on_a_broken_refit",
    ("nb04-30", "refit_acc[i75]"): "test_refit_checks_fire_on_a_broken_refit",
    ("nb04-30", "refit_acc[-1]"): "test_refit_checks_fire_on_a_broken_refit",
}


def test_every_assert_of_the_notebook_is_tested():
    found = [(cell, code) for cell in CELLS for has, code in _statements(cell) if has]
    for cell, code in found:
        names = [TESTED[k] for k in TESTED if k[0] == cell and k[1] in code]
        assert len(names) == 1, f"an assert of {cell} has no test here (or two): {code[:80]!r}"
        assert names[0] in globals(), names[0]
    assert len(found) == len(TESTED), "TESTED names an assert the notebook no longer has"
