"""course_lib.measure: the one namespace, and pruning_costs of the four storage variants."""

import pytest
import torch

import course_lib.measure as measure
from course_lib.training.models import lenet_300_100, mlp


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
    small = 784 * 150 + 150 + 150 * 50 + 50 + 50 * 10 + 10
    assert c["neurons removed"]["params"] == small and c["neurons removed"]["memory_bytes"] == 4 * small
    assert c["neurons removed"]["macs"] == 784 * 150 + 150 * 50 + 50 * 10
    for v in c.values():
        assert v["disk_bytes"] > v["memory_bytes"]


def test_pruning_costs_cache_and_bad_rate():
    net = mlp([8, 6, 4], seed=0)
    c = measure.pruning_costs(net, 0.5, cache_bytes=10**6)
    assert all(v["energy"].dram_pj == 0 for v in c.values())
    with pytest.raises(ValueError, match="sparsity"):
        measure.pruning_costs(net, 1.5)
    with pytest.raises(TypeError, match="model"):
        measure.pruned_variants(torch.nn.Linear(2, 2), 0.5)
