"""course_lib.measure.conv_costs: parameters, size, MACs of conv nets equal to hand-computed values for
dense, masked and channels-removed versions; latency rows with the expected keys (no timed assertions)."""

import copy

import pytest
import torch
from torch import nn

from course_lib import apply_masks
from course_lib.measure.conv_costs import COST_KEYS, conv_costs
from course_lib.pruning.depgraph import prune_channels
from course_lib.training.config import num_threads
from course_lib.training.conv_models import mobilenet_v1

SIZE = (1, 4, 4)


def _tiny():
    """conv 1->2 (3x3, pad 1, no bias), BN(2), ReLU, max-pool 2, flatten, Linear(8 -> 3)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, bias=False),
        nn.BatchNorm2d(2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * 2 * 2, 3),
    )
    nn.init.constant_(net[1].bias, 0.1)  # no zero among the parameters
    return net


def _variants():
    dense = _tiny()
    masked = copy.deepcopy(dense)
    keep = torch.tensor([True, False])
    apply_masks(
        masked,
        {
            "0.weight": keep.reshape(2, 1, 1, 1).expand(2, 1, 3, 3),
            "1.weight": keep,
            "1.bias": keep,
            "5.weight": keep.repeat_interleave(4).expand(3, 8),
        },
    )
    removed = prune_channels(dense, 0.5, SIZE)
    return dense, masked, removed


def test_counts_equal_hand_computed_values():
    dense, masked, removed = _variants()
    rows = {
        r["model"]: r for r in conv_costs({"dense": dense, "masked": masked, "removed": removed}, SIZE, timing=False)
    }
    # params: conv 2*9, BN 2+2, Linear 8*3+3 = 49; removed: conv 9, BN 2, Linear 4*3+3 = 26
    assert [rows[k]["params"] for k in ("dense", "masked", "removed")] == [49, 49, 26]
    assert rows["masked"]["nonzero"] == 49 - 9 - 2 - 12
    assert [rows[k]["size_kib"] for k in ("dense", "masked", "removed")] == [
        49 * 4 / 1024,
        49 * 4 / 1024,
        26 * 4 / 1024,
    ]
    # MACs: conv 18 weights * 16 positions, BN 2*16, max-pool 8 outputs * 4, Linear 8*3 = 376
    assert rows["dense"]["macs"] == rows["dense"]["dense_macs"] == 288 + 32 + 32 + 24
    # masked, skipping zeros: conv 9*16, BN 1*16, pool still all 2 channels (32), Linear 4*3
    assert (rows["masked"]["macs"], rows["masked"]["dense_macs"]) == (144 + 16 + 32 + 12, 376)
    # removed: conv 9*16, BN 16, pool 4 outputs * 4, Linear 4*3
    assert rows["removed"]["macs"] == rows["removed"]["dense_macs"] == 144 + 16 + 16 + 12
    assert all(rows[k]["ms_per_batch"] is None and rows[k]["batch_size"] == 64 for k in rows)


def test_depthwise_macs_and_rows_in_order():
    net = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1, groups=3), nn.Flatten(), nn.Linear(3 * 16, 2))
    row = conv_costs({"dw": net}, (3, 4, 4), timing=False)[0]
    assert row["macs"] == 16 * 3 * 9 + 48 * 2 and row["params"] == 27 + 3 + 96 + 2
    assert list(row) == list(COST_KEYS)


@pytest.mark.parametrize("channels_last", [False, True])
def test_latency_rows_have_positive_times_and_models_are_untouched(channels_last):
    dense = mobilenet_v1().train()
    removed = prune_channels(dense, 0.5, (1, 28, 28))
    before = copy.deepcopy(dense.state_dict())
    with num_threads(1):
        rows = conv_costs(
            {"dense": dense, "removed": removed},
            (1, 28, 28),
            batch_size=4,
            threads=1,
            repeats=3,
            channels_last=channels_last,
        )
    assert [r["model"] for r in rows] == ["dense", "removed"]
    for r in rows:
        assert list(r) == list(COST_KEYS)
        assert r["ms_per_batch"] > 0 and r["ms_per_picture"] > 0 and r["batch_spread"] >= 0 <= r["picture_spread"]
        assert (r["batch_size"], r["threads"], r["channels_last"]) == (4, 1, channels_last)
    assert rows[1]["macs"] < 0.5 * rows[0]["macs"]
    assert dense.training and removed.training  # timed on eval-mode copies
    assert all(torch.equal(before[k], v) for k, v in dense.state_dict().items())
    assert dense.conv1.weight.is_contiguous()


def test_picture_false_times_the_batch_only():
    with num_threads(1):
        [row] = conv_costs({"dense": _tiny()}, SIZE, batch_size=4, threads=1, repeats=2, picture=False)
    assert row["ms_per_batch"] > 0 and row["batch_spread"] >= 0
    assert row["ms_per_picture"] is None and row["picture_spread"] is None


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"models": {}}, TypeError, "non-empty dict"),
        ({"models": {"a": "net"}}, TypeError, "models['a'] must be a torch.nn.Module"),
        ({"models": {"a": nn.LSTM(2, 2)}}, TypeError, "LSTM"),
        ({"input_size": (1, 0, 4)}, ValueError, "input_size"),
        ({"input_size": (2, 4, 4)}, ValueError, "does not fit"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"repeats": 0}, ValueError, "repeats"),
        ({"threads": 0}, ValueError, "threads"),
        ({"seed": -1}, ValueError, "seed"),
        ({"timing": 1}, TypeError, "timing"),
        ({"channels_last": "yes"}, TypeError, "channels_last"),
        ({"picture": 0}, TypeError, "picture"),
    ],
)
def test_bad_input(kwargs, error, words):
    args = {"models": {"dense": _tiny()}, "input_size": SIZE, "timing": False, **kwargs}
    with pytest.raises(error, match=None) as info:
        conv_costs(**args)
    assert words in str(info.value)
