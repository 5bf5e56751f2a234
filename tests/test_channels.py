"""course_lib.pruning.channels (and n:m on conv weights): filter masks, BatchNorm-scale scores,
and physical channel removal, whose outputs equal the masked model's (BatchNorm in eval mode)."""

import copy

import pytest
import torch
import torch.nn.utils.prune
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_lib import apply_masks, nm_mask, row_norm_mask
from course_lib.pruning.channels import (
    bn_scale_scores,
    channel_masks,
    conv_bn_pairs,
    filter_norm_mask,
    remove_channels,
    shrink_conv_chain,
)
from course_lib.training.config import num_threads
from course_lib.training.conv_models import densenet, lth_conv, mobilenet_v1, simplenet, vgg

ATOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny convs run faster on one thread; two threads on a busy 2-core machine contend (DESIGN.md)."""
    with num_threads(1):
        yield


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _randomize_bn(model, seed=0):
    """Random running statistics, scales and shifts, so BatchNorm is not the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model.eval()


def _filter_masks(model, sparsity, p=1):
    return {
        f"{n}.weight": filter_norm_mask(m.weight, sparsity, p)
        for n, m in model.named_children()
        if isinstance(m, nn.Conv2d)
    }


def _masked(model, masks):
    out = copy.deepcopy(model)
    apply_masks(out, masks)
    return out.eval()


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(model, state):
    return all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


# --------------------------------------------------------------------------- filter masks and scores
def test_filter_norm_mask_by_hand_and_against_torch_prune():
    w = torch.zeros(4, 2, 1, 1)
    w[:, :, 0, 0] = torch.tensor([[3.0, 0.0], [1.0, 1.0], [0.5, -0.4], [-2.0, 2.0]])  # L1 3, 2, 0.9, 4
    l1 = filter_norm_mask(w, 0.5)
    assert l1[:, 0, 0, 0].tolist() == [True, False, False, True] and l1.shape == w.shape
    l2 = filter_norm_mask(w, 0.25, p=2)  # L2: 3, 1.41, 0.64, 2.83
    assert l2[:, 0, 0, 0].tolist() == [True, True, False, True]
    conv = nn.Conv2d(3, 6, 3)
    conv.weight.data = _rand(6, 3, 3, 3, seed=1)
    expected = filter_norm_mask(conv.weight, 0.5, p=1)
    torch.nn.utils.prune.ln_structured(conv, "weight", amount=0.5, n=1, dim=0)
    assert torch.equal(conv.weight_mask.bool(), expected)
    assert torch.equal(expected, row_norm_mask(conv.weight_orig, 0.5, p=1))  # the thin wrapper adds only the check


def test_filter_norm_mask_bad_input():
    with pytest.raises(ValueError, match=r"^weight must be a conv weight of shape"):
        filter_norm_mask(torch.ones(4, 3), 0.5)
    with pytest.raises(ValueError, match=r"^sparsity must be a number in \[0, 1\]"):
        filter_norm_mask(torch.ones(4, 3, 1, 1), 1.5)
    with pytest.raises(ValueError, match=r"^p must be 1 or 2"):
        filter_norm_mask(torch.ones(4, 3, 1, 1), 0.5, p=3)
    with pytest.raises(ValueError, match=r"^prior must have shape"):
        filter_norm_mask(torch.ones(4, 3, 1, 1), 0.5, prior=torch.ones(4, 3, dtype=torch.bool))


def test_conv_bn_pairs_follow_the_graph():
    assert conv_bn_pairs(vgg()) == {f"conv{i}": f"bn{i}" for i in range(1, 9)}
    pairs = conv_bn_pairs(mobilenet_v1())
    assert len(pairs) == 27 and pairs["block1.dw"] == "block1.dw_bn" and pairs["block13.pw"] == "block13.pw_bn"
    assert conv_bn_pairs(densenet()) == {}  # pre-activation BatchNorms see concatenations, not a conv alone
    assert conv_bn_pairs(lth_conv(2)) == {}


def test_bn_scale_scores_are_the_absolute_scales_per_filter():
    net = _randomize_bn(vgg(), seed=2)
    before = _state(net)
    scores = bn_scale_scores(net)
    assert _same(net, before)
    assert set(scores) == {f"conv{i}.weight" for i in range(1, 9)}
    for i in range(1, 9):
        s, gamma = scores[f"conv{i}.weight"], getattr(net, f"bn{i}").weight.detach()
        assert s.shape == getattr(net, f"conv{i}").weight.shape
        assert torch.equal(s[:, 0, 0, 0], gamma.abs()) and (s == s[:, :1, :1, :1]).all()
    # masks by the existing functions: whole filters with the smallest |gamma| go
    mask = row_norm_mask(scores["conv3.weight"], 0.5)
    kept = mask[:, 0, 0, 0]
    assert (
        kept.sum() == net.bn3.num_features // 2
        and net.bn3.weight.abs()[kept].min() >= net.bn3.weight.abs()[~kept].max()
    )
    with pytest.raises(ValueError, match="no Conv2d whose output goes straight into an affine BatchNorm2d"):
        bn_scale_scores(lth_conv(2))
    with pytest.raises(TypeError, match=r"^model must be a torch.nn.Module"):
        bn_scale_scores("vgg")


def test_channel_masks_add_the_bias_and_batchnorm_entries():
    net = _randomize_bn(mobilenet_v1())
    before = _state(net)
    keep = filter_norm_mask(net.block2.pw.weight, 0.5)
    prior_bn = torch.ones(net.block2.pw_bn.num_features, dtype=torch.bool)
    prior_bn[0] = False
    masks = channel_masks(net, {"block2.pw.weight": keep, "block2.pw_bn.weight": prior_bn})
    rows = keep[:, 0, 0, 0]
    assert _same(net, before) and torch.equal(masks["block2.pw.weight"], keep)
    assert torch.equal(masks["block2.pw_bn.bias"], rows)
    assert torch.equal(masks["block2.pw_bn.weight"], rows & prior_bn)  # masks only shrink
    assert "block2.pw.bias" not in masks  # the conv has no bias
    c2 = lth_conv(2)
    masks = channel_masks(c2, {"conv1.weight": filter_norm_mask(c2.conv1.weight, 0.25)})
    assert set(masks) == {"conv1.weight", "conv1.bias"} and masks["conv1.bias"].sum() == 6
    with pytest.raises(ValueError, match=r"^masks\['conv1.weight'\] must have shape"):
        channel_masks(c2, {"conv1.weight": torch.ones(8, dtype=torch.bool)})


# --------------------------------------------------------------------------- n:m on conv weights
@pytest.mark.parametrize("n, m", [(1, 2), (2, 4), (1, 4), (3, 8)])
def test_nm_on_conv_weights_groups_input_channels(n, m):
    w = _rand(5, 2 * m, 3, 2, seed=10 * m + n)
    mask = nm_mask(w, n, m)
    assert mask.shape == w.shape and mask.dtype == torch.bool
    for o in range(5):
        for i in range(3):
            for j in range(2):
                for g in range(2):
                    group = w[o, g * m : (g + 1) * m, i, j].abs()
                    kept = mask[o, g * m : (g + 1) * m, i, j]
                    assert kept.sum() == n  # every group keeps exactly n
                    assert set(kept.nonzero().flatten().tolist()) == set(group.topk(n).indices.tolist())


def test_nm_on_conv_is_not_along_the_kernel_and_linear_is_unchanged():
    w = torch.zeros(1, 4, 1, 4)
    w[0, :, 0, :] = torch.tensor([[9.0, 1, 1, 1], [8, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]])
    conv = nm_mask(w, 2, 4)
    assert conv[0, :, 0, 0].tolist() == [True, True, False, False]  # input channels 0, 1 at position (0, 0)
    assert conv.sum() == 8
    lin = _rand(3, 8, seed=5)
    assert torch.equal(nm_mask(lin, 2, 4), nm_mask(lin.reshape(6, 4), 2, 4).reshape(3, 8))  # rows, groups of 4
    three_d = _rand(2, 3, 4, seed=6)
    assert (nm_mask(three_d, 2, 4).sum(dim=-1) == 2).all()  # not 4-D: along the last dimension as before
    with pytest.raises(ValueError, match=r"^m=4 must divide the input channels \(weight.shape\[1\] = 3\)"):
        nm_mask(_rand(4, 3, 3, 3), 2, 4)


def test_nm_on_conv_with_prior_never_revives():
    w = _rand(2, 4, 2, 2, seed=7)
    prior = torch.ones_like(w, dtype=torch.bool)
    prior[:, :3] = False  # only channel 3 survives in each group
    mask = nm_mask(w, 2, 4, prior=prior)
    assert not (mask & ~prior).any() and torch.equal(mask, prior)


# --------------------------------------------------------------------------- removing channels
@st.composite
def links(draw):
    """A random ``conv -> [bn] -> relu -> [pool] -> conv`` or ``... -> flatten -> linear``, a keep vector,
    and whether the masks cover the bias and BatchNorm entries too."""
    c0, c1, c2 = draw(st.integers(1, 3)), draw(st.integers(2, 5)), draw(st.integers(1, 4))
    k1 = draw(st.sampled_from([1, 3]))
    pad1 = draw(st.integers(0, k1 // 2))
    side = draw(st.integers(4, 7))
    pool = draw(st.sampled_from([None, nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(2)]))
    nxt = draw(st.sampled_from(["conv0", "conv1", "linear"]))
    bias1, bias2, with_bn = draw(st.sampled_from([True, True, False])), draw(st.booleans()), draw(st.booleans())
    keep = torch.tensor(draw(st.lists(st.booleans(), min_size=c1, max_size=c1).filter(lambda k: any(k) and not all(k))))
    seed, full = draw(st.integers(0, 2**16)), draw(st.sampled_from([False, False, True]))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = [nn.Conv2d(c0, c1, k1, padding=pad1, bias=bias1)]
        layers += [nn.BatchNorm2d(c1)] if with_bn else []
        layers += [nn.ReLU()] + ([pool] if pool is not None else [])
        with torch.no_grad():
            out = nn.Sequential(*layers)(torch.zeros(1, c0, side, side))
        if nxt == "linear":
            layers += [nn.Flatten(), nn.Linear(out[0].numel(), c2, bias=bias2)]
        else:
            k2 = 3 if out.shape[-1] >= 3 else 1
            layers += [nn.Conv2d(c1, c2, k2, padding=int(nxt == "conv1"), bias=bias2)]
        chain = _randomize_bn(nn.Sequential(*layers), seed)
    masks = {"0.weight": keep.reshape(-1, 1, 1, 1).expand(c1, c0, k1, k1).clone()}
    x = torch.randn(2, c0, side, side, generator=torch.Generator().manual_seed(seed))
    return chain, masks if not full else channel_masks(chain, masks), keep, x


@settings(max_examples=60)
@given(links())
def test_removal_equals_the_masked_outputs_or_refuses_a_padded_constant(link):
    chain, masks, keep, x = link
    masked = _masked(chain, masks)
    before = _state(masked)
    conv, bn, nxt = masked[0], masked[1] if isinstance(masked[1], nn.BatchNorm2d) else None, masked[-1]
    relu_at = 2 if bn is not None else 1
    with torch.no_grad():
        expected = masked(x)
        const = masked[: relu_at + 1](x)[:, ~keep]  # what the removed channels send on
    padded = isinstance(nxt, nn.Conv2d) and nxt.padding != (0, 0)
    if padded and bool((const != 0).any()):
        with pytest.raises(ValueError, match=r"non-zero constant .* zero padding"):
            remove_channels(conv, bn, nxt, keep)
        return
    new_conv, new_bn, new_next = remove_channels(conv, bn, nxt, keep)
    assert _same(masked, before)
    assert new_conv.out_channels == int(keep.sum()) and (new_bn is None) == (bn is None)
    small = nn.Sequential(new_conv, *([new_bn] if new_bn is not None else []), *masked[relu_at:-1], new_next).eval()
    with torch.no_grad():
        assert torch.allclose(small(x), expected, atol=ATOL)


def test_a_removed_channel_constant_is_folded_by_hand():
    conv = nn.Conv2d(1, 2, 1)
    lin = nn.Linear(2 * 4, 1, bias=False)  # flatten of 2 channels x 2x2
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 5.0]).reshape(2, 1, 1, 1))
        conv.bias.copy_(torch.tensor([0.0, 3.0]))
        lin.weight.copy_(torch.arange(8.0).reshape(1, 8))
    new_conv, _, new_lin = remove_channels(conv, None, lin, torch.tensor([True, False]))
    # channel 1 sends relu(3) = 3 to the features 4..7 (weights 4, 5, 6, 7): 3 * 22 = 66
    assert new_lin.bias.item() == 66.0 and torch.equal(new_lin.weight, torch.arange(4.0).reshape(1, 4))
    assert torch.equal(new_conv.weight, conv.weight[:1]) and new_conv.bias.tolist() == [0.0]


def test_remove_channels_keeps_one_channel_and_the_inputs_flags():
    torch.manual_seed(0)
    conv, bn, nxt = nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 3)
    _randomize_bn(nn.Sequential(bn))
    conv, bn, nxt = conv.double(), bn.double(), nxt.double()
    nxt.bias.requires_grad_(False)
    bn.train()
    before = [_state(m) for m in (conv, bn, nxt)]
    keep = torch.tensor([False, False, True, False])
    c, b, n = remove_channels(conv, bn, nxt, keep)
    assert all(_same(m, s) for m, s in zip((conv, bn, nxt), before, strict=True))
    assert (c.out_channels, b.num_features, n.in_channels) == (1, 1, 1)
    assert c.weight.dtype == torch.float64 and b.training and not n.bias.requires_grad and n.weight.requires_grad
    assert torch.equal(b.running_var, bn.running_var[2:3]) and b.num_batches_tracked == bn.num_batches_tracked


def _rc(conv, bn, nxt, keep=None, *args):
    """remove_channels with a 2-channel keep-all vector by default (short lines for the table below)."""
    return lambda: remove_channels(conv, bn, nxt, torch.ones(2, dtype=torch.bool) if keep is None else keep, *args)


C12, C21 = nn.Conv2d(1, 2, 1), nn.Conv2d(2, 1, 1)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (_rc(nn.Linear(2, 2), None, nn.Linear(2, 2)), TypeError, "^conv must be a torch.nn.Conv2d"),
        (_rc(C12, nn.ReLU(), C21), TypeError, "^bn must be a torch.nn.BatchNorm2d or None"),
        (_rc(C12, None, nn.Dropout()), TypeError, "^next_layer must be a torch.nn.Conv2d or torch.nn.Linear"),
        (_rc(C12, None, nn.Conv2d(3, 1, 1)), ValueError, r"^next_layer.in_channels \(3\) must equal"),
        (_rc(C12, None, nn.Linear(5, 1)), ValueError, r"^next_layer.in_features \(5\) must be a multiple"),
        (_rc(C12, nn.BatchNorm2d(3), C21), ValueError, "^bn must have running statistics"),
        (_rc(C12, nn.BatchNorm2d(2, track_running_stats=False), C21), ValueError, "^bn must have running"),
        (_rc(nn.Conv2d(2, 2, 1, groups=2), None, C21), ValueError, r"^conv has groups=2"),
        (_rc(C12, None, nn.Conv2d(2, 2, 1, groups=2)), ValueError, r"^next_layer has groups=2"),
        (_rc(C12, None, C21, torch.ones(3, dtype=torch.bool)), ValueError, r"^keep must have shape \(2,\)"),
        (
            _rc(C12, None, C21, torch.ones(2, 1, 3, 3, dtype=torch.bool)),
            ValueError,
            r"^keep must have shape \(2, 1, 1, 1\)",
        ),
        (_rc(C12, None, C21, torch.ones(2)), TypeError, r"^keep must have dtype torch.bool"),
        (_rc(C12, None, C21, torch.zeros(2, dtype=torch.bool)), ValueError, r"^keep must keep at least one channel"),
        (_rc(C12, None, C21, None, "relu"), TypeError, r"^activation must be callable"),
    ],
)
def test_remove_channels_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# --------------------------------------------------------------------------- whole chains
CHAINS = {"conv2": lambda: lth_conv(2), "conv6": lambda: lth_conv(6), "vgg11": vgg, "simplenet": simplenet}


@pytest.mark.parametrize("name", list(CHAINS))
def test_shrink_conv_chain_equals_the_masked_model(name):
    net = _randomize_bn(CHAINS[name](), seed=3)
    before = _state(net)
    masks = _filter_masks(net, 0.5)
    hidden = [n for n, m in net.named_children() if isinstance(m, nn.Linear)][:-1]
    masks |= {f"{n}.weight": row_norm_mask(getattr(net, n).weight, 0.25) for n in hidden}  # and hidden neurons
    masks = channel_masks(net, masks)
    small = shrink_conv_chain(net, masks).eval()
    assert _same(net, before)
    assert [n for n, _ in small.named_children()] == [n for n, _ in net.named_children()]
    for n, m in net.named_children():
        if isinstance(m, nn.Conv2d):
            assert getattr(small, n).out_channels == m.out_channels - round(0.5 * m.out_channels)
    x = _rand(3, 1, 28, 28, seed=4)
    with torch.no_grad():
        assert torch.allclose(small(x), _masked(net, masks)(x), atol=ATOL)


@st.composite
def chains(draw):
    """A random plain chain of 2-3 convs (random padding, BatchNorm or not, pooling) and a Linear head,
    the side of its pictures, and a filter sparsity."""
    c, side = draw(st.integers(1, 2)), draw(st.integers(4, 8))
    first_side, seed = side, draw(st.integers(0, 2**16))
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(draw(st.integers(2, 3))):
            out, pad = draw(st.integers(1, 4)), draw(st.integers(0, 1))
            layers.append(nn.Conv2d(c, out, 3, padding=pad, bias=draw(st.booleans())))
            layers += [nn.BatchNorm2d(out)] if draw(st.booleans()) else []
            layers.append(nn.ReLU())
            side, c = side + 2 * pad - 2, out
            if side >= 6 and draw(st.booleans()):
                layers.append(nn.MaxPool2d(2))
                side //= 2
            if side < 3:
                break
        layers += [nn.Flatten(), nn.Linear(c * side * side, 3)]
        net = _randomize_bn(nn.Sequential(*layers), seed)
    return net, first_side, draw(st.floats(0, 0.75))


@settings(max_examples=40)
@given(chains())
def test_shrink_random_chains_with_channel_masks_equals_masked(case):
    net, side, sparsity = case
    convs = {f"{n}.weight": m.weight for n, m in net.named_children() if isinstance(m, nn.Conv2d)}
    filters = {k: filter_norm_mask(w, min(sparsity, 1 - 1 / w.shape[0])) for k, w in convs.items()}  # keep one
    masks = channel_masks(net, filters)
    small = shrink_conv_chain(net, masks)
    x = _rand(2, net[0].in_channels, side, side, seed=side)
    with torch.no_grad():
        assert torch.allclose(small(x), _masked(net, masks)(x), atol=ATOL)
    assert sum(m.out_channels for m in small.modules() if isinstance(m, nn.Conv2d)) == sum(
        int(m[:, 0, 0, 0].sum()) for m in filters.values()
    )


def _seq(*layers):
    return lambda: nn.Sequential(*layers)


B8 = torch.ones(8, 1, 3, 3, dtype=torch.bool)


@pytest.mark.parametrize(
    "model, masks, error, pattern",
    [
        (mobilenet_v1, {}, TypeError, r"layer 'block1' is Sequential \(graphs with branches: use Torch-Pruning\)"),
        (densenet, {}, TypeError, r"layer 'block1' is Sequential"),
        (
            _seq(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Dropout(), nn.Flatten(), nn.Linear(2, 1)),
            {},
            TypeError,
            "'2' is Dropout",
        ),
        (_seq(nn.Conv2d(2, 2, 3, groups=2), nn.ReLU(), C21), {}, ValueError, "'0' is a grouped or depthwise Conv2d"),
        (_seq(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.ReLU(), C21), {}, ValueError, "between '0' and '3' .* one ReLU"),
        (_seq(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.BatchNorm2d(2), C21), {}, ValueError, "between '0' and '3'"),
        (_seq(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Linear(2, 1)), {}, ValueError, "between '0' and '2' .* one Flatten"),
        (_seq(nn.Linear(2, 2), nn.ReLU(), nn.Conv2d(2, 1, 1)), {}, ValueError, "a Linear layer followed by a Conv2d"),
        (
            _seq(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(3, padding=1), C21),
            {},
            ValueError,
            "'2' averages zero padding",
        ),
        (vgg, {"conv1.weight": B8[..., 0]}, ValueError, r"^masks\['conv1.weight'\] must have shape"),
        (vgg, {"conv1.weight": B8.float()}, TypeError, r"^masks\['conv1.weight'\] must have dtype torch.bool"),
        (vgg, {"conv9.weight": B8}, ValueError, r"^masks has unknown parameter name"),
        (vgg, {"conv2.weight": torch.zeros(16, 8, 3, 3, dtype=torch.bool)}, ValueError, "^keep must keep at least one"),
        (
            lth_conv,
            {"conv1.weight": B8 & torch.tensor([True, False] * 4).reshape(8, 1, 1, 1)},
            ValueError,
            "non-zero constant",
        ),
    ],
)
def test_shrink_conv_chain_bad_input_leaves_the_model_untouched(model, masks, error, pattern):
    net = model()
    before = _state(net)
    with pytest.raises(error, match=pattern):
        shrink_conv_chain(net, masks)
    assert _same(net, before)
    with pytest.raises(TypeError, match=r"^model must be an nn.Sequential"):
        shrink_conv_chain(nn.ModuleList([nn.Conv2d(1, 1, 1)]), {})
