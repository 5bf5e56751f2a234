"""Property tests (hypothesis) of the Part I core: exact counts, masks only shrink,
n:m keeps the n largest of each group, nesting of magnitude masks, determinism.

Weights are drawn from a mix of a few repeated values (many ties, zeros) and
continuous floats, so the properties are checked with and without ties.
The example budget comes from the "course" profile in tests/conftest.py.
"""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from course_lib import global_magnitude_masks, magnitude_mask, masked, nm_mask, row_norm_mask, sparsity

TIED = st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
CONT = st.floats(-10, 10, allow_nan=False, allow_subnormal=False, width=32)


@st.composite
def weights(draw, min_dims=1, max_dims=3, max_side=6, nonzero=False):
    shape = draw(st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims))
    numel = math.prod(shape)
    elems = (TIED | CONT).filter(lambda v: v != 0) if nonzero else TIED | CONT
    values = draw(st.lists(elems, min_size=numel, max_size=numel))
    return torch.tensor(values, dtype=torch.float32).reshape(shape)


@st.composite
def weights_with_prior(draw, **kw):
    w = draw(weights(**kw))
    bits = draw(st.lists(st.booleans(), min_size=w.numel(), max_size=w.numel()))
    return w, torch.tensor(bits, dtype=torch.bool).reshape(w.shape)


sparsities = st.floats(0.0, 1.0) | st.sampled_from([0.0, 1.0, 0.5, 0.25, 0.75, 0.125])


def _pruned(mask):
    return int((~mask).sum())


def _largest_kept(w, mask, candidates):
    """Every kept entry has |w| >= every entry pruned among ``candidates``."""
    a = w.abs()
    lost = candidates & ~mask
    return not lost.any() or not mask.any() or bool(a[mask].min() >= a[lost].max())


# --------------------------------------------------------------------------- exact counts
@given(weights(nonzero=True), sparsities)
def test_magnitude_zero_count_is_round_s_numel(w, s):
    mask = magnitude_mask(w, s)
    k = round(s * w.numel())
    assert _pruned(mask) == k
    out = masked(w, mask)
    assert int((out == 0).sum()) == k
    assert sparsity(out) == k / w.numel()
    assert _largest_kept(w, mask, torch.ones_like(mask))


@given(st.lists(weights(max_dims=2), min_size=1, max_size=4), sparsities)
def test_global_zero_count_is_round_s_total(ws, s):
    named = {f"l{i}": w for i, w in enumerate(ws)}
    masks = global_magnitude_masks(named, s)
    total = sum(w.numel() for w in ws)
    assert sum(_pruned(m) for m in masks.values()) == round(s * total)
    all_w, all_m = torch.cat([w.reshape(-1) for w in ws]), torch.cat([m.reshape(-1) for m in masks.values()])
    assert _largest_kept(all_w, all_m, torch.ones_like(all_m))


@given(weights(min_dims=2, max_dims=3), sparsities, st.sampled_from([1, 2]))
def test_row_norm_prunes_round_s_rows_whole(w, s, p):
    mask = row_norm_mask(w, s, p=p)
    rows = mask.reshape(w.shape[0], -1)
    assert ((rows.all(dim=1)) | (~rows.any(dim=1))).all()
    assert int((~rows.any(dim=1)).sum()) == round(s * w.shape[0])
    norms = w.reshape(w.shape[0], -1).norm(p=p, dim=1)
    kept = rows.any(dim=1)
    if kept.any() and (~kept).any():
        assert norms[kept].min() >= norms[~kept].max()


# --------------------------------------------------------------------------- masks only shrink under a prior
@given(weights_with_prior(), st.data())
def test_magnitude_with_prior_only_shrinks(wp, data):
    w, prior = wp
    k = data.draw(st.integers(_pruned(prior), w.numel()))
    mask = magnitude_mask(w, k / w.numel(), prior=prior)
    assert not (mask & ~prior).any()
    assert _pruned(mask) == k
    assert _largest_kept(w, mask, prior)  # the new losses are the smallest survivors


@given(st.lists(weights_with_prior(max_dims=2), min_size=1, max_size=3), st.data())
def test_global_with_prior_only_shrinks(wps, data):
    named = {f"l{i}": w for i, (w, _) in enumerate(wps)}
    prior = {f"l{i}": p for i, (_, p) in enumerate(wps)}
    total = sum(w.numel() for w in named.values())
    k = data.draw(st.integers(sum(_pruned(p) for p in prior.values()), total))
    masks = global_magnitude_masks(named, k / total, prior=prior)
    assert all(not (masks[n] & ~prior[n]).any() for n in named)
    assert sum(_pruned(m) for m in masks.values()) == k


@given(weights_with_prior(min_dims=2, max_dims=2), st.sampled_from([1, 2]), st.data())
def test_row_norm_with_prior_only_shrinks(wp, p, data):
    w, prior = wp
    rows = w.shape[0]
    dead = int((~prior.any(dim=1)).sum())
    k = data.draw(st.integers(dead, rows))
    mask = row_norm_mask(w, k / rows, p=p, prior=prior)
    assert not (mask & ~prior).any()
    assert int((~mask.any(dim=1)).sum()) == k
    # every row the new mask empties that the prior had kept alive was a smallest surviving row
    survivors = (w * prior).norm(p=p, dim=1)
    emptied_now = prior.any(dim=1) & ~mask.any(dim=1)
    alive = mask.any(dim=1)
    if emptied_now.any() and alive.any():
        assert survivors[emptied_now].max() <= survivors[alive].min()


@given(
    st.integers(1, 6).flatmap(lambda m: st.tuples(st.integers(1, m), st.just(m))),
    st.integers(1, 4),
    st.integers(1, 4),
    st.data(),
)
def test_nm_with_prior_only_shrinks_and_keeps_largest_survivors(nm, rows, groups, data):
    n, m = nm
    numel = rows * groups * m
    w = torch.tensor(data.draw(st.lists(TIED | CONT, min_size=numel, max_size=numel))).reshape(rows, groups * m)
    prior = torch.tensor(data.draw(st.lists(st.booleans(), min_size=numel, max_size=numel))).reshape(w.shape)
    mask = nm_mask(w, n, m, prior=prior)
    assert not (mask & ~prior).any()
    for wg, mg, pg in zip(w.reshape(-1, m), mask.reshape(-1, m), prior.reshape(-1, m), strict=False):
        assert int(mg.sum()) == min(n, int(pg.sum()))
        assert _largest_kept(wg, mg, pg)


# --------------------------------------------------------------------------- n:m
@given(
    st.integers(1, 8).flatmap(lambda m: st.tuples(st.integers(1, m), st.just(m))),
    st.integers(1, 4),
    st.integers(1, 4),
    st.data(),
)
def test_nm_each_group_keeps_exactly_its_n_largest(nm, rows, groups, data):
    n, m = nm
    numel = rows * groups * m
    w = torch.tensor(data.draw(st.lists(TIED | CONT, min_size=numel, max_size=numel))).reshape(rows, groups * m)
    mask = nm_mask(w, n, m)
    assert _pruned(mask) * m == numel * (m - n)  # sparsity exactly 1 - n/m (in integers: no rounding)
    assert abs(sparsity(mask) - (1 - n / m)) < 1e-12
    for wg, mg in zip(w.reshape(-1, m), mask.reshape(-1, m), strict=False):
        assert int(mg.sum()) == n
        assert _largest_kept(wg, mg, torch.ones_like(mg))
        # ties: among equal |w| at the boundary, the earlier entries are the kept ones
        if n < m:
            cut = wg.abs()[mg].min()
            tied = (wg.abs() == cut).nonzero().flatten().tolist()
            kept_tied = [i for i in tied if mg[i]]
            assert kept_tied == tied[: len(kept_tied)]


# --------------------------------------------------------------------------- nesting and determinism
@given(weights(), sparsities, sparsities)
def test_magnitude_nesting_prior_from_lower_sparsity_equals_scratch(w, s1, s2):
    lo, hi = sorted((s1, s2))
    prior = magnitude_mask(w, lo)
    assert torch.equal(magnitude_mask(w, hi, prior=prior), magnitude_mask(w, hi))
    assert not (magnitude_mask(w, hi) & ~prior).any()  # the higher-sparsity mask is nested in the lower


@given(st.lists(weights(max_dims=2), min_size=1, max_size=3), sparsities, sparsities)
def test_global_nesting_prior_from_lower_sparsity_equals_scratch(ws, s1, s2):
    lo, hi = sorted((s1, s2))
    named = {f"l{i}": w for i, w in enumerate(ws)}
    prior = global_magnitude_masks(named, lo)
    with_prior, scratch = global_magnitude_masks(named, hi, prior=prior), global_magnitude_masks(named, hi)
    assert all(torch.equal(with_prior[n], scratch[n]) for n in named)


@given(weights(min_dims=2, max_dims=2), sparsities, sparsities, st.sampled_from([1, 2]))
def test_row_norm_nesting_prior_from_lower_sparsity_equals_scratch(w, s1, s2, p):
    lo, hi = sorted((s1, s2))
    prior = row_norm_mask(w, lo, p=p)
    assert torch.equal(row_norm_mask(w, hi, p=p, prior=prior), row_norm_mask(w, hi, p=p))


@given(weights(), sparsities)
def test_same_input_same_mask_even_with_ties(w, s):
    assert torch.equal(magnitude_mask(w, s), magnitude_mask(w.clone(), s))
    assert torch.equal(global_magnitude_masks({"a": w}, s)["a"], magnitude_mask(w.clone(), s))
    if w.shape[-1] % 2 == 0:
        assert torch.equal(nm_mask(w, 1, 2), nm_mask(w.clone(), 1, 2))
    if w.dim() >= 2:
        assert torch.equal(row_norm_mask(w, s), row_norm_mask(w.clone(), s))
