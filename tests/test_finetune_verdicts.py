"""course_lib.experiments.finetune's verdicts over seeds: words that hold for every seed's numbers."""

from types import SimpleNamespace as S

import pytest

from course_lib.experiments.finetune import extreme_layer, in_order, scan_accuracies, seed_count

# the notebook's run of issue 12's review: the dense network trained 2 epochs longer, per seed
DENSE, LONGER = [93.4, 94.5, 94.1], [93.6, 93.5, 93.4]


def test_seed_count_counts_and_never_names_seeds_there_are_none_of():
    assert seed_count(LONGER, DENSE, "WORSE", "better") == "WORSE on 2 of 3 seeds, better on 1"
    assert seed_count([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], "smaller", "LARGER") == "LARGER on every seed"
    assert seed_count([0.0, 0.0], [1.0, 1.0], "smaller", "LARGER") == "smaller on every seed"
    # none smaller: the old gap_words said "smaller on some seeds only" here
    words = seed_count([6.5, 6.0, 6.1], [6.5, 5.9, 5.4], "smaller", "LARGER")
    assert words == "LARGER on 2 of 3 seeds, equal on 1" and "smaller" not in words
    assert seed_count([2.0, 2.0], [2.0, 2.0]) == "equal on every seed"
    assert seed_count([1.0], [2.0]) == "lower on the one seed"  # one seed: never "every"


@pytest.mark.parametrize(
    ("a", "b", "error", "match"),
    [
        ([1.0, 2.0], [1.0], ValueError, "one number per seed"),
        ([], [], ValueError, "at least one"),
        ("ab", "cd", TypeError, "sequence"),
    ],
)
def test_seed_count_refuses_unpaired_or_empty_input(a, b, error, match):
    with pytest.raises(error, match=match):
        seed_count(a, b)


# the layer scan at 95% of issue 12's run (784-100-100-100-100-10), one accuracy per seed
DEEP = {
    "fc1.weight": [85.8, 87.0, 87.6],
    "fc2.weight": [72.0, 69.2, 82.4],
    "fc3.weight": [82.6, 88.4, 82.4],
    "fc4.weight": [87.8, 91.8, 91.6],
    "fc5.weight": [54.6, 36.4, 50.6],
}


def test_in_order_needs_every_step_on_every_seed():
    holds, text = in_order(DEEP, ["fc2.weight", "fc3.weight", "fc4.weight"])
    # the means rise (74.5, 84.5, 90.4): the old check said YES; fc3 ties fc2 on seed 2
    assert not holds
    assert text.startswith("fc3.weight vs fc2.weight: +9.93") and "higher on 2 of 3 seeds, tied on 1" in text
    assert "fc4.weight vs fc3.weight: +5.93 ± 2.42 points; higher on every seed, beyond the seed spread" in text
    assert in_order(DEEP, ["fc2.weight", "fc4.weight"])[0]
    assert not in_order(DEEP, ["fc4.weight", "fc2.weight"])[0]
    with pytest.raises(ValueError, match="names"):
        in_order(DEEP, ["fc2.weight"])
    with pytest.raises(ValueError, match="names"):
        in_order(DEEP, ["fc2.weight", "fc9.weight"])


def test_extreme_layer_says_every_seed_only_when_each_comparison_holds():
    assert extreme_layer(DEEP) == ("fc5.weight", "fc5.weight: lower than every other layer on every seed")
    best, text = extreme_layer(DEEP, lowest=False)
    assert (best, text) == ("fc4.weight", "fc4.weight: higher than every other layer on every seed")
    close = {"fc1.weight": [90.2, 92.0, 91.6], "fc2.weight": [80.8, 89.0, 92.0]}
    best, text = extreme_layer(close, lowest=False)  # fc1 higher on average, not on seed 2
    assert best == "fc1.weight" and text.startswith("fc1.weight: the highest mean, not on every seed: ")
    assert "fc1.weight vs fc2.weight" in text and "the seeds disagree" in text
    with pytest.raises(ValueError, match="two layers"):
        extreme_layer({"fc1.weight": [1.0]})


def test_scan_accuracies_reads_one_number_per_seed():
    scans = [S(sparsities=[0.5, 0.95], acc={"fc1.weight": [90.0, 80.0 + s]}) for s in range(3)]
    assert scan_accuracies(scans, "fc1.weight", 0.95) == [80.0, 81.0, 82.0]
    assert scan_accuracies(scans, "fc1.weight", 0.5) == [90.0] * 3
    for args, match in (
        ((scans, "fc9.weight", 0.5), "layer"),
        ((scans, "fc1.weight", 0.9), "sparsity"),
        (([], "fc1.weight", 0.5), "scans"),
    ):
        with pytest.raises(ValueError, match=match):
            scan_accuracies(*args)
