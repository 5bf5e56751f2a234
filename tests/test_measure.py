"""course_lib.measure: the one namespace, and pruning_costs of the four storage variants."""

import pytest
import torch

import course_lib.measure as measure
from course_lib.pruning.structured import row_norm_mask, shrink_mlp
from course_lib.training.data import Split
from course_lib.training.models import lenet_300_100, mlp
from course_lib.training.record import evaluate


def test_namespace_exports_everything():
    for name in measure.__all__:
        assert hasattr(measure, name), name
    for name in (
        "param_count",
        "nonzero_count",
        "model_bytes",
        "disk_bytes",
        "csr_bytes",
        "macs",
        "flops",
        "latency",
        "compare_latency",
        "energy_per_inference",
        "HOROWITZ_45NM",
    ):
        assert name in measure.__all__


def test_pruning_costs_on_lenet():
    net = lenet_300_100()
    c = measure.pruning_costs(net, 0.5)
    assert list(c) == ["dense", "masked", "csr", "neurons removed"]
    dense = c["dense"]
    assert dense["params"] == 266_610 and dense["macs"] == 266_200 and dense["memory_bytes"] == 266_610 * 4
    assert c["masked"]["memory_bytes"] == dense["memory_bytes"]  # zeros stored dense save nothing
    assert c["masked"]["macs"] == dense["macs"]
    assert c["masked"]["energy"].total_pj == pytest.approx(dense["energy"].total_pj)
    assert c["csr"]["macs"] == 266_200 // 2 and c["csr"]["params"] == 133_100 + 410
    assert c["csr"]["memory_bytes"] > dense["memory_bytes"] / 2  # indices cost: at 50% CSR is no smaller
    # 142 of 300 and 47 of 100 hidden neurons removed: as near half the weights as whole neurons go
    weights = 784 * 158 + 158 * 53 + 53 * 10
    small = weights + 158 + 53 + 10
    assert c["neurons removed"]["params"] == small and c["neurons removed"]["memory_bytes"] == 4 * small
    assert c["neurons removed"]["macs"] == weights
    assert c["neurons removed"]["sparsity"] == pytest.approx(1 - weights / 266_200)
    assert [c[k]["sparsity"] for k in ("dense", "masked", "csr")] == [0.0, 0.5, 0.5]
    for v in c.values():
        assert v["disk_bytes"] > v["memory_bytes"]


@pytest.mark.parametrize("sizes", [[784, 300, 100, 10], [784, 1024, 1024, 10], [20, 7, 5, 3, 2]])
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.9, 0.99])
def test_neurons_removed_match_the_weight_sparsity(sizes, sparsity):
    net = mlp(sizes, seed=0)
    f = measure.neuron_fraction(net, sparsity)
    hidden = [k for k in measure.pruned_variants(net, sparsity)["neurons removed"][0]]
    rows = {k: row_norm_mask(dict(net.named_parameters())[k], f) for k in hidden}
    got = measure.removed_fraction(net, rows, "shrunk")
    # no other whole-neuron fraction comes nearer (the smallest hidden layer sets the step)
    for g in (f - 1 / min(sizes[1:-1]), f + 1 / min(sizes[1:-1])):
        if 0 <= g <= 1:
            other = {k: row_norm_mask(dict(net.named_parameters())[k], g) for k in hidden}
            assert abs(got - sparsity) <= abs(measure.removed_fraction(net, other, "shrunk") - sparsity) + 1e-12
    if sparsity in (0.5, 0.9):
        assert f < sparsity  # fewer neurons than the sparsity: each takes a row and a column


def test_removed_fraction_counts_rows_and_columns():
    net = mlp([4, 4, 2], seed=0)
    half = {"fc1.weight": (torch.arange(4) < 2).unsqueeze(1).expand(4, 4)}
    assert measure.removed_fraction(net) == 0.0
    assert measure.removed_fraction(net, half, "dense") == measure.removed_fraction(net, half, "csr") == 8 / 24
    assert measure.removed_fraction(net, half, "shrunk") == 12 / 24  # fc1's 2 rows and fc2's 2 columns
    with pytest.raises(ValueError, match="fmt"):
        measure.removed_fraction(net, half, "coo")
    with pytest.raises(TypeError, match="model"):
        measure.neuron_fraction(torch.nn.Linear(2, 2), 0.5)


def test_pruned_models_compute_their_variants():
    net = mlp([12, 8, 6, 3], seed=0)
    x = torch.randn(5, 12, generator=torch.Generator().manual_seed(0))
    models = measure.pruned_models(net, 0.6)
    variants = measure.pruned_variants(net, 0.6)
    with torch.no_grad():
        torch.testing.assert_close(models["csr"](x), models["masked"](x))
        assert measure.nonzero_count(models["masked"]) == measure.nonzero_count(net, variants["masked"][0])
        small = shrink_mlp(net, variants["neurons removed"][0])
        torch.testing.assert_close(models["neurons removed"](x), small(x))
    assert models["dense"] is net


def test_variant_accuracy_scores_each_model():
    net = mlp([12, 8, 6, 3], seed=0)
    gen = torch.Generator().manual_seed(1)
    split = Split(torch.randn(40, 12, generator=gen), torch.randint(0, 3, (40,), generator=gen))
    acc = measure.variant_accuracy(net, split, [0.0, 0.6, 1.0])
    for i, s in enumerate([0.0, 0.6, 1.0]):
        for name, m in measure.pruned_models(net, s).items():
            assert acc[name][i] == evaluate(m, split)[1]
    assert acc["masked"] == acc["csr"] and acc["dense"] == [acc["dense"][0]] * 3


def test_pruning_costs_cache_and_bad_rate():
    net = mlp([8, 6, 4], seed=0)
    c = measure.pruning_costs(net, 0.5, cache_bytes=10**6)
    assert all(v["energy"].dram_pj == 0 for v in c.values())
    with pytest.raises(ValueError, match="sparsity"):
        measure.pruning_costs(net, 1.5)
    with pytest.raises(TypeError, match="model"):
        measure.pruned_variants(torch.nn.Linear(2, 2), 0.5)
