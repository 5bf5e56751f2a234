"""Every assert of notebooks/05_lottery_ticket.ipynb can fail: each test evaluates one of the
notebook's conditions (the same expression, or the library predicate it asserts) on a plausible
broken input or library step, and shows it false, next to the case where it holds."""

import copy

import pytest
import torch

from course_lib.experiments import analysis
from course_lib.experiments.claims import compare
from course_lib.experiments.lottery import make_model
from course_lib.experiments.tickets import random_masks, rewind
from course_lib.pruning.magnitude import magnitude_mask, magnitude_masks
from course_lib.pruning.masks import apply_masks, prunable_weights
from course_lib.pruning.schedules import layer_rates, layer_sparsities
from course_lib.training.train import TrainResult, train


def _run(val, test=None, step=59):
    """A TrainResult with validation accuracies ``val`` (evaluated every ``step`` iterations)."""
    test = val if test is None else test
    its = [i * step for i in range(len(val))]
    return TrainResult(seed=0, iterations=its, val_acc=list(val), test_acc=list(test), val_loss=[1.0] * len(val))


def _notebook_ticket(data, options, rewinding=True):
    """The notebook's ``lottery_ticket`` (section 1); ``rewinding=False``: the survivors keep their trained values."""
    net = make_model(options["model"], data.in_features, data.num_classes, seed=0)
    init = copy.deepcopy(net.state_dict())
    train(net, data, epochs=options["epochs"], lr=options["lr"], seed=0, progress=False)
    rates = layer_rates(list(prunable_weights(net)), options["rate"])
    masks = None
    for r in range(1, options["rounds"] + 1):
        masks = magnitude_masks(net, layer_sparsities(rates, r), prior=masks)
        if rewinding:
            rewind(net, init, masks)
        else:  # a step that forgets to rewind: pruning and fine-tuning, not a lottery ticket
            apply_masks(net, masks)
        train(net, data, masks, epochs=options["epochs"], lr=options["lr"], seed=0, progress=False)
    return masks


def test_section1_same_masks_fails_for_a_step_that_does_not_rewind(digits, small_histories, small_options):
    study = small_histories[0].masks[2][0]
    ok = _notebook_ticket(digits, small_options)
    assert all(torch.equal(ok[n], study[n]) for n in study)
    broken = _notebook_ticket(digits, small_options, rewinding=False)
    assert not all(torch.equal(broken[n], study[n]) for n in study)


def _checked_by_hand(trained, prior, mask, final, sparsity):
    """Section 1's hand check of one layer (the cell's four asserts, as booleans): ``mask`` lies in
    ``prior``, keeps the schedule's count, keeps the largest |w| of ``trained`` within ``prior``,
    and ``final`` (the weights after training with ``mask``) is 0 where ``mask`` prunes."""
    w, dropped = trained.abs(), prior & ~mask
    return [
        not (mask & ~prior).any(),
        int(mask.sum()) == w.numel() - round(sparsity * w.numel()),
        float(w[mask].min()) >= float(w[dropped].max()),
        bool((final[~mask] == 0).all()),
    ]


def _layer(res, r, n="fc1.weight"):
    """Round ``r`` of seed 0, one layer: round r-1's trained weights and mask, round r's mask and trained weights."""
    return res.final[r - 1][0][n], res.masks[r - 1][0][n], res.masks[r][0][n], res.final[r][0][n]


def test_section1_hand_check_holds_for_the_study_and_fails_for_broken_rounds(small_histories, small_options):
    res = small_histories[0]
    rates = layer_rates(list(res.masks[2][0]), small_options["rate"])
    for r in (1, 2):  # the study: every check holds, every layer, both rounds
        target = layer_sparsities(rates, r)
        assert all(all(_checked_by_hand(*_layer(res, r, n), target[n])) for n in target)
    trained, prior, mask, final = _layer(res, 2)
    s = layer_sparsities(rates, 2)["fc1.weight"]
    # a study that pruned the dense network each round (one-shot), not round 1's trained ticket
    dense = make_model(small_options["model"], 64, 10)
    dense.load_state_dict(res.dense_final[0])
    one_shot = magnitude_masks(dense, s)["fc1.weight"]  # the same count, the dense network's largest |w|
    assert _checked_by_hand(trained, prior, one_shot, final, s)[2] is False
    # a mask that brings back weights round 1 had pruned (the schedule's count, drawn anywhere)
    anywhere = random_masks({"w": mask}, seed=0)["w"]
    assert _checked_by_hand(trained, prior, anywhere, final, s)[0] is False
    # a round that prunes by the signed value (a sign bug in the ranking), inside the prior mask
    signed = prior & (trained >= trained[prior].kthvalue(int((~mask & prior).sum()) + 1).values)
    assert int(signed.sum()) == int(mask.sum())
    assert _checked_by_hand(trained, prior, signed, final, s)[2] is False
    # a round that prunes one weight too few (an off-by-one in the count)
    extra = mask.clone()
    extra.view(-1)[torch.nonzero((prior & ~mask).view(-1))[0]] = True
    assert _checked_by_hand(trained, prior, extra, final, s)[1] is False
    # a training step that let pruned weights grow back
    regrown = final.clone()
    regrown[~mask] += 0.01
    assert _checked_by_hand(trained, prior, mask, regrown, s)[3] is False


@pytest.mark.parametrize(
    "ticket, control, separated",
    [
        ([60.0, 61.0, 59.5], [50.0, 52.0, 49.0], True),
        ([60.0, 61.0, 59.5], [60.0, 61.0, 59.5], False),  # a "control" that is the ticket itself
        ([60.0, 61.0, 59.5], [59.0, 61.5, 58.0], False),  # a control as good on one seed
        ([60.0, 61.0, 59.5], [59.9, 56.0, 55.0], False),  # higher on every seed, within the spread
        ([60.0], [50.0], False),  # a study with one seed decides nothing
    ],
)
def test_sections_1_and_6_separated_fails_when_the_control_is_as_good(ticket, control, separated):
    verdict = compare(ticket, control, "ticket", "control")
    assert (verdict.direction == 1 and verdict.beyond_spread) is separated


def test_section2_winning_ticket_fails_for_a_slow_or_a_worse_ticket():
    dense = [_run([10, 30, 45, 52, 56, 58, 60, 59, 61, 60, 60])] * 3
    fast = [_run([10, 50, 58, 60, 60, 61, 61, 60, 61, 61, 61])] * 3
    slow = [_run([10, 15, 20, 30, 40, 45, 50, 55, 58, 60, 61])] * 3  # same accuracy, more iterations
    worse = [_run([10, 50, 55, 56, 57, 57, 57, 57, 57, 57, 57])] * 3  # fast, but 3 points lower
    assert analysis.is_winning_ticket(fast, dense)
    assert not analysis.is_winning_ticket(slow, dense)
    assert not analysis.is_winning_ticket(worse, dense)
    # the old criterion (early stop <= 1.1 x dense early stop) passed any ticket once the dense
    # run stopped at its 10th of 11 evaluations: 1.1 x 531 is beyond the last iteration (590)
    assert all(run.iterations[-1] <= 1.1 * 531 + 59 for run in slow)


def test_section3_faster_fails_when_the_ticket_learns_like_the_reinit():
    ticket = [_run([10, 40, 50, 55, 56])] * 2
    reinit = [_run([10, 20, 30, 40, 50])] * 2
    assert analysis.faster_on_every_seed(analysis.race(ticket, reinit))
    assert not analysis.faster_on_every_seed(analysis.race(reinit, reinit))  # no faster than itself
    assert not analysis.faster_on_every_seed(analysis.race([_run([10, 20, 30, 40, 45])] * 2, reinit))  # never there
    assert compare([61.0, 62.0], [60.0, 61.0], "ticket", "reinit").direction == 1  # the reinit ended lower
    assert compare([60.0, 61.0], [60.0, 62.0], "ticket", "reinit").direction != 1  # not lower on every seed


def test_section4_movement_asserts_fail_for_a_ticket_that_barely_moved_or_lost_its_signs():
    g = torch.Generator().manual_seed(0)
    init = torch.randn(40, 30, generator=g)
    keep = init.abs() > 0.5
    moved_far = analysis.weight_movement(init, 3 * init + 0.3 * torch.randn(40, 30, generator=g), keep)
    assert moved_far["relative_distance"] > 0.5
    assert moved_far["sign_kept"] > 0.75 and moved_far["correlation"] > 0.5
    barely = analysis.weight_movement(init, 1.1 * init, keep)
    assert not barely["relative_distance"] > 0.5
    unrelated = analysis.weight_movement(init, torch.randn(40, 30, generator=g), keep)
    assert not (unrelated["sign_kept"] > 0.75 and unrelated["correlation"] > 0.5)
    # the dense run: kept weights moved more than pruned ones, not so when the mask keeps the still ones
    dense_final = init + torch.where(keep, 1.0, 0.1) * torch.randn(40, 30, generator=g)
    kept = analysis.weight_movement(init, dense_final, keep)["mean_abs_change"]
    pruned = analysis.weight_movement(init, dense_final, ~keep)["mean_abs_change"]
    assert kept > pruned
    assert not analysis.weight_movement(init, dense_final, ~keep)["mean_abs_change"] > kept


def test_section5_every_ticket_beats_reinit_fails_when_they_overlap():
    late_ticket, reinit = [48.0, 50.0, 49.0], [45.0, 47.0, 46.0]
    assert min(late_ticket) > max(reinit)
    assert not min(late_ticket) > max([45.0, 48.5, 46.0])  # one reinit seed above the worst ticket


def test_section8_mask_asserts_fail_for_a_random_mask_and_for_a_mask_that_keeps_the_ends():
    g = torch.Generator().manual_seed(0)
    # a ticket-like mask: inputs 5..29 keep most connections, the ends few
    weights = torch.randn(100, 40, generator=g).abs() * torch.cat(
        [torch.full((5,), 0.2), torch.ones(25), torch.full((10,), 0.2)]
    )
    ticket = {"fc1.weight": magnitude_mask(weights, 0.8)}

    def spread(mask):
        return float(analysis.input_density(mask).std())

    def edge_inner(mask):
        frac = analysis.input_density(mask)
        return float(torch.cat([frac[:3], frac[-7:]]).mean()), float(frac[5:30].mean())

    random_spread = [spread(random_masks(ticket, seed=s)["fc1.weight"]) for s in range(20)]
    assert spread(ticket["fc1.weight"]) > max(random_spread)
    assert not spread(random_masks(ticket, seed=99)["fc1.weight"]) > max(random_spread)  # a random "ticket"
    edge, inner = edge_inner(ticket["fc1.weight"])
    assert edge < inner
    edge, inner = edge_inner(~ticket["fc1.weight"])  # a mask that keeps the ends
    assert not edge < inner


def test_section1_late_rounds_exist_only_when_the_study_prunes_to_30_percent(small_histories):
    remaining = small_histories[0].weights_remaining  # 2 rounds of 50%: about 50% and 25% left
    assert [r for r in (1, 2) if remaining[r] <= 0.3] == [2]
    assert not [r for r in (1,) if remaining[r] <= 0.3]  # a study stopped after one round: the assert fires
