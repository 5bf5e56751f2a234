"""course_lib.energy: the Horowitz table, and a hand-worked energy per inference."""

import dataclasses

import pytest
import torch
from torch import nn

from course_lib.measure.energy import HOROWITZ_45NM, EnergyBreakdown, energy_per_inference, energy_table
from course_lib.training.models import mlp


def test_table_is_the_slide():
    assert HOROWITZ_45NM == {
        "int_add": 0.1,
        "float_add": 0.9,
        "register_file": 1.0,
        "int_mult": 3.1,
        "float_mult": 3.7,
        "sram_read": 5.0,
        "dram_read": 640.0,
    }
    values = [v for _, v in energy_table()]
    assert values == sorted(values) and len(values) == 7
    import course_lib.measure.energy

    for source in ("Horowitz", "Computing's energy problem", "ISSCC 2014"):
        assert source in course_lib.measure.energy.__doc__


def _net():
    """4 -> 2 -> 1 with known weights; fc1 row 1 and one fc2 weight are prunable."""
    net = mlp([4, 2, 1], seed=0)
    with torch.no_grad():
        net.fc1.weight.fill_(1.0)
        net.fc2.weight.fill_(1.0)
    return net


def test_hand_worked_example():
    # dense: 8 + 2 = 10 MACs; 8 + 2 + 2 + 1 = 13 words from DRAM
    e = energy_per_inference(_net())
    assert e.mult_pj == pytest.approx(10 * 3.7) and e.add_pj == pytest.approx(10 * 0.9)
    assert e.sram_pj == 0 and e.dram_pj == pytest.approx(13 * 640)
    assert e.total_pj == pytest.approx(10 * 4.6 + 13 * 640)
    assert e.as_dict()["compute_pj"] == pytest.approx(46)


def test_formats_and_cache_and_batch():
    net = _net()
    keep = torch.tensor([[True] * 4, [False] * 4])
    masks = {"fc1.weight": keep}
    dense_masked = energy_per_inference(net, masks)
    assert dense_masked == energy_per_inference(net)  # zeros stored dense cost as much as before
    csr = energy_per_inference(net, masks, "csr")
    # CSR: fc1 4 values + 4 cols + 3 crow = 11 words, fc2 2 + 2 + 2 = 6, biases 3 -> 20 words; 6 MACs
    assert csr.mult_pj == pytest.approx(6 * 3.7) and csr.dram_pj == pytest.approx(20 * 640)
    shrunk = energy_per_inference(net, masks, "shrunk")
    # fc1 1x4 + 1, fc2 1x1 + 1 = 7 words; 5 MACs
    assert shrunk.mult_pj == pytest.approx(5 * 3.7) and shrunk.dram_pj == pytest.approx(7 * 640)
    cached = energy_per_inference(net, cache_bytes=20)  # 5 of 13 words on chip
    assert cached.sram_pj == pytest.approx(5 * 5) and cached.dram_pj == pytest.approx(8 * 640)
    all_on_chip = energy_per_inference(net, cache_bytes=10_000)
    assert all_on_chip.dram_pj == 0 and all_on_chip.sram_pj == pytest.approx(13 * 5)
    batched = energy_per_inference(net, batch_size=64)
    assert batched.dram_pj == pytest.approx(13 * 640 / 64) and batched.mult_pj == pytest.approx(10 * 3.7)


def test_breakdown_is_frozen_and_sums():
    e = EnergyBreakdown(1.0, 2.0, 3.0, 4.0)
    assert e.compute_pj == 3.0 and e.total_pj == 10.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.mult_pj = 0


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(fmt="coo"), "fmt"),
        (dict(cache_bytes=-1), "cache_bytes"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=2.0), "batch_size"),
        (dict(table={"float_mult": 1.0}), "table"),
    ],
)
def test_bad_input(kwargs, word):
    with pytest.raises((TypeError, ValueError), match=word):
        energy_per_inference(nn.Linear(2, 2), **kwargs)
