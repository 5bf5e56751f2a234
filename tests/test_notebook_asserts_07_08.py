"""Every assert of notebooks 07 and 08 can fail (issue 12, item 2).

Each assert is read from the notebook itself (so weakening it there breaks its case here) and run
in a namespace built from a plausible mistake: a fine-grained mask where filters were meant, a
network that was never trained, a removal that keeps the wrong channels, masks counted instead of
removed, a score summed instead of averaged, an early-bird drawn without its window, ... Each case
must raise ``AssertionError``. The functions a notebook cell defines (``def``) are defined first.
A last test fails when a notebook has an assert without a case.
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from types import SimpleNamespace as NS

import pytest
import torch
import torch.nn.functional as F

from course_lib import measure
from course_lib.experiments import conv as exp
from course_lib.experiments.early_bird import mask_distance
from course_lib.pruning.at_init import init_masks, snip_scores, synflow_scores
from course_lib.pruning.channels import channel_masks, filter_norm_mask, shrink_conv_chain
from course_lib.pruning.depgraph import channel_groups, prune_channels
from course_lib.pruning.magnitude import magnitude_mask, magnitude_masks
from course_lib.pruning.masks import apply_masks
from course_lib.training.config import num_threads
from course_lib.training.conv_models import vgg as vgg_model
from course_lib.training.data import as_images
from course_lib.training.models import lenet_300_100
from course_lib.training.record import evaluate
from course_lib.training.sparse_training import erk_densities
from course_lib.training.train import train

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NB07, NB08 = "07_conv_pruning", "08_finding_tickets_early"
SIZE = (1, 8, 8)


def notebook_asserts(name: str) -> dict[str, tuple[ast.Assert, list[ast.FunctionDef]]]:
    """``{assert source: (the assert, the functions its cell defines)}`` of ``notebooks/<name>.ipynb``."""
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    out = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        code = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.startswith("%"))
        tree = ast.parse(code)
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                out[ast.unparse(node)] = (node, defs)
    return out


def fires(name: str, source: str, namespace: dict) -> None:
    """Run the notebook's assert ``source`` in ``namespace``; it must raise AssertionError."""
    node, defs = notebook_asserts(name)[source]
    scope = dict(namespace)
    for d in defs:
        exec(compile(ast.Module([d], []), "<notebook def>", "exec"), scope)
    with pytest.raises(AssertionError):
        exec(compile(ast.Module([node], []), "<notebook assert>", "exec"), scope)


# --------------------------------------------------------------------------- notebook 07
@pytest.fixture(scope="module")
def images(digits):
    return as_images(digits)


@pytest.fixture(scope="module")
def net():
    with num_threads(1):
        yield vgg_model(width=0.125, input_size=8).eval()


@pytest.fixture(scope="module")
def trained(images):
    model = vgg_model(width=0.125, input_size=8)
    with num_threads(1):
        train(model, images, epochs=2, lr=5e-3, progress=False)
    return model.eval()


def _w():
    return torch.randn(16, 8, 3, 3, generator=torch.Generator().manual_seed(0))


def test_07_whole_filters_fires_on_a_fine_grained_mask():
    w = _w()
    per_filter = magnitude_mask(w, 0.5).flatten(1)
    fires(NB07, "assert bool((per_filter.all(1) | ~per_filter.any(1)).all())", {"per_filter": per_filter})


def test_07_filter_count_fires_on_the_wrong_sparsity():
    w = _w()
    ns = {"per_filter": filter_norm_mask(w, 0.25).flatten(1), "w": w}
    fires(NB07, "assert int((~per_filter.any(1)).sum()) == round(0.5 * w.shape[0])", ns)


def test_07_largest_norms_fires_when_the_smallest_filters_are_kept():
    w = _w()
    ns = {"per_filter": (~filter_norm_mask(w, 0.5)).flatten(1), "norms": w.abs().flatten(1).sum(1)}
    fires(NB07, "assert norms[per_filter.any(1)].min() >= norms[~per_filter.any(1)].max()", ns)


def test_07_trained_accuracy_fires_on_an_untrained_network(net, images):
    fires(NB07, "assert dense_acc > 90", {"dense_acc": evaluate(net, images.test)[1]})


def test_07_scan_leaves_the_model_fires_when_a_scan_prunes_it_in_place(trained, images):
    broken = copy.deepcopy(trained)
    scan = exp.filter_sensitivity(broken, images, [0.5], split="val")
    apply_masks(broken, channel_masks(broken, {"conv1.weight": filter_norm_mask(broken.conv1.weight.detach(), 0.5)}))
    ns = {"scan": scan, "vgg": broken, "data": images, "evaluate": evaluate}
    fires(NB07, "assert scan.dense_acc == evaluate(vgg, data.val)[1]", ns)


def _half(model):
    return {n: filter_norm_mask(p.detach(), 0.5) for n, p in model.named_parameters() if n in exp.conv_layers(model)}


def test_07_removal_fires_when_it_keeps_other_channels_than_the_mask(trained, images):
    net, masked = trained, copy.deepcopy(trained)
    apply_masks(masked, channel_masks(masked, _half(masked)))
    wrong = channel_masks(net, {n: ~m for n, m in _half(net).items()})  # keeps the smallest filters
    small = shrink_conv_chain(net, wrong).eval()
    x = images.test.x[:64]
    with torch.no_grad():
        gap = float((small(x) - masked(x)).abs().max())
    fires(NB07, "assert gap < 1e-05", {"gap": gap})


def test_07_quarter_of_the_macs_fires_when_the_masked_model_is_counted(net):
    masked = vgg_model(width=0.125, input_size=8).eval()
    apply_masks(masked, channel_masks(masked, _half(masked)))
    ns = {"before": measure.macs(net, input_size=SIZE, skip_zeros=False)}
    ns["after"] = measure.macs(masked, input_size=SIZE, skip_zeros=False)  # zeros still computed
    fires(NB07, "assert after <= 0.3 * before", ns)


def test_07_torch_pruning_agrees_fires_on_another_rate(trained, images):
    net = trained
    small = shrink_conv_chain(net, channel_masks(net, _half(net))).eval()
    tp_small = prune_channels(net, 0.25, SIZE).eval()
    with torch.no_grad():
        tp_gap = float((tp_small(images.test.x[:64]) - small(images.test.x[:64])).abs().max())
    fires(NB07, "assert tp_gap < 1e-05", {"tp_gap": tp_gap})
    ns = {"measure": measure, "tp_small": tp_small, "small": small}
    fires(NB07, "assert measure.param_count(tp_small) == measure.param_count(small)", ns)


def test_07_group_members_fire_on_a_plain_chain(net):
    groups = channel_groups(net, SIZE)  # no depthwise conv, no concatenation
    members = groups[1].members
    fires(NB07, "assert len(members) == 5", {"members": members})
    fires(NB07, "assert sum((m.dim == 'depthwise' for m in members)) == 1", {"members": members})
    widest = max(groups, key=lambda g: len(g.members))
    fires(NB07, "assert len(widest.members) > 5", {"widest": widest})


def test_07_fine_tuning_recovers_fires_when_nothing_was_fine_tuned():
    ns = {"tuned_acc": 10.0, "pruned_acc": 10.0, "dense_acc": 95.0}
    fires(NB07, "assert tuned_acc > pruned_acc + 20 and tuned_acc > dense_acc - 5", ns)


def test_07_sweep_falls_fires_when_the_masked_models_are_counted(net):
    masked = vgg_model(width=0.125, input_size=8).eval()
    apply_masks(masked, channel_masks(masked, _half(masked)))
    rows = measure.conv_costs({"0.0": net, "0.5": masked}, SIZE, timing=False)
    sweep = NS(rates=[0.0, 0.5], macs_ratio=[r["dense_macs"] / rows[0]["dense_macs"] for r in rows],
               size_kib=[r["size_kib"] for r in rows])  # fmt: skip
    fires(NB07, "assert all((b < a for a, b in zip(sweep.macs_ratio, sweep.macs_ratio[1:])))", {"sweep": sweep})
    fires(NB07, "assert all((b < a for a, b in zip(sweep.size_kib, sweep.size_kib[1:])))", {"sweep": sweep})
    fires(NB07, "assert sweep.macs_ratio[sweep.rates.index(0.5)] <= 0.3", {"sweep": sweep})


def test_07_table_rows_fire_on_a_masked_model_and_on_no_fine_tuning(net):
    masked = vgg_model(width=0.125, input_size=8).eval()
    apply_masks(masked, channel_masks(masked, _half(masked)))
    with num_threads(1):
        r = exp.family_row("VGG", "VGG19", net, masked, (95.0, 10.0, 10.0), SIZE, repeats=1, threads=1)
    fires(NB07, "assert r.size_kib[1] <= 0.4 * r.size_kib[0] and r.macs[1] <= 0.4 * r.macs[0], r.family", {"r": r})
    fires(NB07, "assert r.acc_dense > 70 and r.acc_finetuned > r.acc_pruned + 20, r.family", {"r": r})


# --------------------------------------------------------------------------- notebook 08
@pytest.fixture(scope="module")
def lenet_batch():
    net = lenet_300_100(seed=0)
    g = torch.Generator().manual_seed(0)
    return net, torch.rand(32, 28, 28, generator=g), torch.randint(0, 10, (32,), generator=g)


def _weights(net):
    return {n: p for n, p in net.named_parameters() if p.dim() >= 2}


def test_08_snip_by_hand_fires_on_a_summed_loss_and_on_biases(lenet_batch):
    net, x, y = lenet_batch
    weights = _weights(net)
    grads = torch.autograd.grad(F.cross_entropy(net(x), y, reduction="sum"), list(weights.values()))
    mine = {n: (g * w).abs().detach() for (n, w), g in zip(weights.items(), grads, strict=True)}
    library = snip_scores(net, x, y)
    ns = {"library": library, "mine": mine, "torch": torch}
    fires(NB08, "assert all((torch.allclose(library[n], mine[n], rtol=1e-05, atol=1e-12) for n in mine))", ns)
    with_bias = {**library, "fc1.bias": torch.zeros(300)}  # a scorer that also scores biases
    fires(NB08, "assert set(library) == set(mine)", {"library": with_bias, "mine": mine})


def test_08_no_gradients_left_fires_after_a_backward_on_the_model(lenet_batch):
    _, x, y = lenet_batch
    net = lenet_300_100(seed=0)
    F.cross_entropy(net(x), y).backward()  # what a scorer using .backward() leaves behind
    fires(NB08, "assert all((p.grad is None for p in net.parameters()))", {"net": net})


def test_08_conservation_fires_on_a_network_with_biases():
    totals = {n: float(s.double().sum()) for n, s in synflow_scores(lenet_300_100(seed=0), (28, 28)).items()}
    spread = (max(totals.values()) - min(totals.values())) / max(totals.values())
    fires(NB08, "assert spread < 0.0001", {"spread": spread})


def test_08_synflow_keeps_every_layer_fires_on_a_one_shot_synflow():
    net = lenet_300_100(seed=0)
    masks = init_masks("synflow", net, 0.999, x=torch.zeros(1, 28, 28), rounds=1)  # one round: no re-scoring
    empty = {"synflow": [n for n, k in masks.items() if not k.any()]}
    fires(NB08, "assert not empty['synflow']", {"empty": empty})


def _epoch_states():
    """Weights at three epoch boundaries (10 steps per epoch): three different initializations."""
    return {10 * e: lenet_300_100(seed=e).state_dict() for e in range(3)}


def _masks_of(state, scope="global"):
    net = lenet_300_100(seed=0)
    net.load_state_dict(state)
    return magnitude_masks(net, 0.98, scope=scope)


def test_08_early_bird_asserts_fire_on_a_short_run_counts_and_other_distances():
    fires(NB08, "assert len(bird.distances) == 2 * EPOCHS", {"EPOCHS": 4, "bird": NS(distances=[0.02] * 4)})
    states = _epoch_states()
    right = [mask_distance(_masks_of(states[0]), _masks_of(states[10]))]
    layerwise = [mask_distance(_masks_of(states[0], "layer"), _masks_of(states[10], "layer"))]  # another scope
    assert right != layerwise
    fires(NB08, "assert recomputed == bird.distances", {"recomputed": right, "bird": NS(distances=layerwise)})
    shifted = [mask_distance(_masks_of(states[10]), _masks_of(states[20]))]  # one epoch late
    fires(NB08, "assert recomputed == bird.distances", {"recomputed": right, "bird": NS(distances=shifted)})
    counted = [d * 266200 for d in right]  # entries that differ, not the fraction
    fires(
        NB08, "assert all((0.0 <= d <= largest + 1e-09 for d in recomputed))", {"recomputed": counted, "largest": 0.04}
    )


def test_08_early_bird_draw_fires_without_the_window_and_on_a_wrong_found_flag():
    source = "assert (bird.found, bird.draw_epoch) == (first is not None, first or 2 * EPOCHS)"
    # distances [0.02, 0.003, 0.005, 0.003, 0.003, ...] with threshold 0.004, window 2: settled at epoch 5
    no_window = NS(found=True, draw_epoch=2)  # drawn at the first distance below the threshold
    fires(NB08, source, {"bird": no_window, "first": 5, "EPOCHS": 4})
    never = NS(found=True, draw_epoch=8)  # nothing settled, yet reported as found
    fires(NB08, source, {"bird": never, "first": None, "EPOCHS": 4})


def test_08_early_bird_masks_fire_on_the_masks_of_another_epoch():
    states = _epoch_states()
    epoch_masks = [_masks_of(states[10 * e]) for e in range(3)]
    late = NS(masks=epoch_masks[2], draw_epoch=1)  # the masks after the whole run, not at the draw
    source = "assert all((torch.equal(bird.masks[n], epoch_masks[bird.draw_epoch][n]) for n in bird.masks))"
    fires(NB08, source, {"bird": late, "epoch_masks": epoch_masks, "torch": torch})


def test_08_drop_and_grow_asserts_fire_on_broken_steps():
    mask = torch.tensor([[True, True, False, True], [False, True, True, False]])
    no_grow = torch.tensor([[True, False, False, True], [False, False, True, False]])  # dropped, grew nothing
    fires(NB08, "assert int(new.sum()) == int(mask.sum())", {"new": no_grow, "mask": mask})
    dropped_largest = torch.tensor([[False, True, True, True], [False, True, False, True]])
    fires(NB08, "assert not new[0, 1] and (not new[1, 1])", {"new": dropped_largest})
    grew_smallest = torch.tensor([[True, False, False, True], [True, False, True, True]])
    fires(NB08, "assert new[0, 2] and new[1, 3]", {"new": grew_smallest})


def test_08_erk_total_fires_when_sparsity_is_passed_as_density():
    net = lenet_300_100(seed=0)
    weights = _weights(net)
    erk = erk_densities(net, 0.98)  # the sparsity where the density was meant
    source = (
        "assert abs(sum((d * weights[n].numel() for n, d in erk.items())) - (1 - SANITY_SPARSITY) * "
        "sum((p.numel() for p in weights.values()))) <= len(erk)"
    )
    fires(NB08, source, {"erk": erk, "weights": weights, "SANITY_SPARSITY": 0.98})


def test_08_table_asserts_fire_on_missing_rows_and_wrong_counts():
    sparsities = (0.9, 0.98)
    rows = [{"method": m, "sparsity": s} for m in ("imp", "snip") for s in sparsities][:-1]  # a run lost
    result = NS(methods=["imp", "snip"])
    source = (
        "assert {(r['method'], r['sparsity']) for r in rows} == {(m, s) for m in result.methods for s in SPARSITIES}"
    )
    fires(NB08, source, {"rows": rows, "result": result, "SPARSITIES": sparsities})
    layerwise = {"weights_remaining": 0.05, "sparsity": 0.9}  # one layer's density read as the network's
    fires(NB08, "assert abs(r['weights_remaining'] - (1 - r['sparsity'])) < 0.002, r", {"r": layerwise})


def test_08_comparison_early_bird_fires_on_another_threshold_scope_and_cost():
    """The comparison's seed-0 early-bird run against section 2's run of the same network."""
    states = {59 * e: lenet_300_100(seed=e).state_dict() for e in range(4)}
    epoch_masks = [_masks_of(states[59 * e]) for e in range(4)]
    ns = {"drawn_at": 3, "epoch_masks": epoch_masks, "EPOCHS": 3, "steps": 59, "torch": torch}
    # the paper's 0.1 on the distance, not scaled to the sparsity: fires at once, after the window of 2 epochs
    unscaled = NS(drawn_epoch=2, masks=epoch_masks[2], cost_iterations=(2 + 3) * 59)
    fires(NB08, "assert seed0.drawn_epoch == drawn_at", {**ns, "seed0": unscaled})
    layer = NS(drawn_epoch=3, masks=_masks_of(states[177], "layer"), cost_iterations=6 * 59)  # layer-wise masks
    source = "assert all((torch.equal(seed0.masks[n], epoch_masks[drawn_at][n]) for n in seed0.masks))"
    fires(NB08, source, {**ns, "seed0": layer})
    dense_only = NS(drawn_epoch=3, masks=epoch_masks[3], cost_iterations=3 * 59)  # the training after the draw unpaid
    fires(NB08, "assert seed0.cost_iterations == (drawn_at + EPOCHS) * steps", {**ns, "seed0": dense_only})


def test_08_sanity_checks_complete_fires_on_a_missing_check():
    effects = {(m, c): {} for m in ("snip", "grasp") for c in ("original", "shuffled", "reinit")}  # no "inverted"
    source = "assert set(effects) >= {(m, c) for m in at_init for c in ('original', 'shuffled', 'reinit', 'inverted')}"
    fires(NB08, source, {"effects": effects, "at_init": ["snip", "grasp"]})


def test_08_instability_asserts_fire_on_other_iterations_and_ends():
    rows = [NS(rewind_iter=0), NS(rewind_iter=59)]
    fires(
        NB08,
        "assert [r.rewind_iter for r in dense_rows] == list(REWIND_ITERS)",
        {"dense_rows": rows, "REWIND_ITERS": (0, 118)},
    )
    r = NS(errors=[7.0, 8.5, 7.2], final_test_acc=95.0, rewind_iter=0)  # ends are errors of other copies
    fires(
        NB08,
        "assert abs(100 - r.errors[0] + (100 - r.errors[-1]) - 2 * r.final_test_acc) < 0.001, r.rewind_iter",
        {"r": r},
    )


# --------------------------------------------------------------------------- completeness


def _covered(name: str) -> set[str]:
    """The assert sources this module's tests pass to :func:`fires` for notebook ``name``."""
    tree = ast.parse(Path(__file__).read_text())
    out = set()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "fires" and len(call.args) >= 2:
            which, source = call.args[0], call.args[1]
            value = {"NB07": NB07, "NB08": NB08}.get(getattr(which, "id", ""))
            if value == name:
                out.add(_literal(source, tree))
    return out


def _literal(node: ast.AST, tree: ast.Module) -> str:
    """The string a ``fires`` call names: a literal, or a local ``source = (...)`` assigned before it."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    assigned = [
        n.value for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == getattr(node, "id", None) for t in n.targets)
    ]  # fmt: skip
    return "|".join(str(ast.literal_eval(v)) for v in assigned)


@pytest.mark.parametrize("name", [NB07, NB08])
def test_every_assert_of_the_notebook_has_a_case_that_fires(name):
    covered = "|".join(_covered(name))
    missing = [source for source in notebook_asserts(name) if source not in covered]
    assert missing == [], f"{name}: asserts without a case here: {missing}"
