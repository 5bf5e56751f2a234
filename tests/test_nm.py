"""Unit tests of course_lib.nm: n:m masks (n largest |w| in each m consecutive inputs of a row)."""

import itertools

import pytest
import torch

from course_lib import nm_mask, sparsity


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_nm_mask_2_4_by_hand():
    w = torch.tensor([[0.1, -0.9, 0.5, 0.2, 3.0, -4.0, 1.0, -2.0], [-7.0, 0.0, 0.3, 6.0, 0.01, 0.02, -0.03, 0.04]])
    expected = torch.tensor(
        [[False, True, True, False, True, True, False, False], [True, False, False, True, False, False, True, True]]
    )
    assert torch.equal(nm_mask(w, 2, 4), expected)
    assert torch.equal(nm_mask(w), expected)  # 2:4 is the default


def test_nm_mask_groups_run_along_rows_not_columns():
    # columns-wise grouping would choose differently: this row has its big weights in the first group
    w = torch.tensor([[9.0, 8.0, 1.0, 2.0], [1.0, 2.0, 9.0, 8.0]])
    assert torch.equal(nm_mask(w, 1, 2), torch.tensor([[True, False, False, True], [False, True, True, False]]))
    # a flattened-matrix grouping with m=4 and a row length of 4 would be the same, so also check m=2 x 3 cols
    w2 = torch.tensor([[1.0, 5.0, 2.0, 6.0, 3.0, 4.0]])
    assert torch.equal(nm_mask(w2, 1, 2), torch.tensor([[False, True, False, True, False, True]]))


@pytest.mark.parametrize("n, m", [(n, m) for m in (1, 2, 3, 4, 8) for n in range(1, m + 1)])
def test_nm_mask_every_group_keeps_its_n_largest(n, m):
    w = _rand(5, 3 * m, seed=10 * m + n)
    mask = nm_mask(w, n, m)
    assert mask.shape == w.shape and mask.dtype == torch.bool
    groups_w, groups_m = w.abs().reshape(-1, m), mask.reshape(-1, m)
    assert (groups_m.sum(dim=1) == n).all()
    expected = torch.zeros_like(groups_m)
    expected.scatter_(1, groups_w.topk(n, dim=1).indices, True)
    assert torch.equal(groups_m, expected)
    assert sparsity(mask) == pytest.approx(1 - n / m)


def test_nm_mask_on_1d_and_conv_shaped_weights_groups_the_last_dim():
    v = torch.tensor([1.0, 3.0, 2.0, 0.0, -5.0, 4.0])
    assert torch.equal(nm_mask(v, 1, 3), torch.tensor([False, True, False, False, True, False]))
    w = _rand(2, 3, 4, seed=1)
    mask = nm_mask(w, 2, 4)
    assert mask.shape == w.shape
    assert (mask.sum(dim=-1) == 2).all()


def test_nm_mask_ties_keep_the_earlier_entry():
    w = torch.ones(3, 8)
    expected = torch.tensor([True, True, False, False] * 2).expand(3, 8)
    assert torch.equal(nm_mask(w, 2, 4), expected)
    w2 = torch.tensor([[2.0, -1.0, 1.0, -2.0]])
    assert torch.equal(nm_mask(w2, 1, 4), torch.tensor([[True, False, False, False]]))
    assert torch.equal(nm_mask(w2, 3, 4), torch.tensor([[True, True, False, True]]))


def test_nm_mask_with_prior_never_revives_and_may_keep_fewer():
    w = torch.tensor([[4.0, 3.0, 2.0, 1.0, 4.0, 3.0, 2.0, 1.0]])
    prior = torch.tensor([[False, True, True, True, False, False, False, True]])
    mask = nm_mask(w, 2, 4, prior=prior)
    # group 1: the prior pruned 4 -> keep 3 and 2; group 2: only 1 survives -> keep it alone
    assert torch.equal(mask, torch.tensor([[False, True, True, False, False, False, False, True]]))
    assert not (mask & ~prior).any()


def test_nm_mask_is_pure_and_deterministic():
    w = torch.nn.Parameter(_rand(4, 8, seed=3))
    before = w.detach().clone()
    masks = [nm_mask(w, 2, 4) for _ in range(3)]
    assert torch.equal(w.detach(), before)
    assert all(torch.equal(masks[0], m) for m in masks)


def test_nm_mask_n_equals_m_keeps_everything_and_1_of_m_keeps_the_max():
    w = _rand(3, 12, seed=4)
    assert nm_mask(w, 4, 4).all()
    one = nm_mask(w, 1, 6)
    for row, row_mask in zip(w, one, strict=False):
        for g, gm in zip(row.reshape(-1, 6), row_mask.reshape(-1, 6), strict=False):
            assert gm.nonzero().item() == int(g.abs().argmax())


def test_nm_mask_all_small_patterns_exhaustively():
    """Every arrangement of 4 distinct magnitudes in one group, every n."""
    for perm in itertools.permutations([1.0, 2.0, 3.0, 4.0]):
        w = torch.tensor([perm])
        for n in range(1, 5):
            kept = sorted(w[nm_mask(w, n, 4)].tolist())
            assert kept == [float(v) for v in range(5 - n, 5)]
