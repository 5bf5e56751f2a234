"""course_lib.experiments.refit: remove a hidden layer's neurons, refit the next layer by least squares."""

import copy

import pytest
import torch

from course_lib.experiments.refit import (
    hidden_activations,
    least_squares_refit,
    refit_scan,
    remove_layer_neurons,
)
from course_lib.pruning.structured import remove_neurons, row_keep, row_norm_mask
from course_lib.training.data import load
from course_lib.training.train import evaluate

DATA = load("digits")


def test_remove_layer_neurons_drops_rows_and_the_next_layers_columns(trained):
    before = copy.deepcopy(trained.state_dict())
    keep = row_keep(row_norm_mask(trained.fc2.weight.detach(), 0.25))
    small = remove_layer_neurons(trained, "fc2", keep)
    assert all(torch.equal(before[k], v) for k, v in trained.state_dict().items())  # not changed
    assert small.fc2.out_features == small.fc3.in_features == int(keep.sum()) == 12
    assert torch.equal(small.fc2.weight, trained.fc2.weight[keep]) and torch.equal(
        small.fc2.bias, trained.fc2.bias[keep]
    )
    assert torch.equal(small.fc3.weight, trained.fc3.weight[:, keep])
    # the smaller network computes what the masked one computes (remove_neurons folds what a
    # removed neuron's bias still sends on into fc3's bias)
    zeroed = copy.deepcopy(trained)
    with torch.no_grad():
        zeroed.fc2.weight[~keep] = 0
    torch.testing.assert_close(small(DATA.test.x), zeroed(DATA.test.x))
    # a row mask of the weight's shape works too
    row_mask = keep[:, None].expand_as(trained.fc2.weight)
    assert torch.equal(remove_layer_neurons(trained, "fc2", row_mask).fc3.weight, small.fc3.weight)
    with pytest.raises(TypeError, match="bool"):
        remove_layer_neurons(trained, "fc2", keep.float())
    with pytest.raises(ValueError, match="shape"):
        remove_layer_neurons(trained, "fc2", keep[:5])


def test_least_squares_refit_is_no_worse_than_plain_removal_on_the_fit_data(trained):
    x = DATA.train.x
    keep = row_keep(row_norm_mask(trained.fc1.weight.detach(), 0.5))
    _, z = hidden_activations(trained, "fc1", x)
    refit = least_squares_refit(trained, "fc1", keep, x)
    assert refit.fc1.out_features == 16 and refit.fc2.in_features == 16
    first, second = remove_neurons(trained.fc1, trained.fc2, keep)
    with torch.no_grad():
        h_keep = torch.relu(first(x.flatten(1)))
        plain_err = (second(h_keep) - z).pow(2).sum()
        refit_err = (refit.fc2(h_keep) - z).pow(2).sum()
    assert refit_err <= plain_err * (1 + 1e-5)
    assert refit_err < 0.9 * plain_err  # and here clearly better
    same = least_squares_refit(trained, "fc1", torch.ones(32, dtype=torch.bool), x)
    torch.testing.assert_close(same(DATA.test.x), trained(DATA.test.x), atol=1e-3, rtol=1e-3)
    ridge = least_squares_refit(trained, "fc1", keep, x, ridge=10.0)
    assert ridge.fc2.weight.norm() < refit.fc2.weight.norm()


def test_refit_scan_and_bad_layers(trained):
    scan = refit_scan(trained, DATA, "fc2", [0.25, 0.75])
    assert scan.layer == "fc2" and len(scan.removed_acc) == len(scan.refit_acc) == 2
    assert scan.refit_acc[1] >= scan.removed_acc[1]
    keep = row_keep(row_norm_mask(trained.fc2.weight.detach(), 0.75))
    assert scan.removed_acc[1] == evaluate(remove_layer_neurons(trained, "fc2", keep), DATA.test)[1]
    assert scan.dense_acc == evaluate(trained, DATA.test)[1]
    with pytest.raises(ValueError, match="hidden Linear"):
        least_squares_refit(trained, "fc3", torch.ones(10, dtype=torch.bool), DATA.train.x)
    with pytest.raises(ValueError, match="shape"):
        least_squares_refit(trained, "fc1", torch.ones(5, dtype=torch.bool), DATA.train.x)
    with pytest.raises(ValueError, match="ridge"):
        least_squares_refit(trained, "fc1", torch.ones(32, dtype=torch.bool), DATA.train.x, ridge=-1.0)
    with pytest.raises(ValueError, match="split"):
        refit_scan(trained, DATA, "fc1", [0.5], split="training")
