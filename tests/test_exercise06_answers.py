"""Exercise 06 (filters, channels, MACs): plausible wrong answers must fail and valid alternatives must
pass, graded by the real grader (solution cells replaced in a copy of the solution notebook).
Graded in rounds: see ``AnswerRounds``."""

import pytest
from exercise_notebooks import AnswerRounds

NOTEBOOK = "06_channels_exercise.ipynb"
CELLS = {"filter_mask": "solution-filter_mask", "remove_channels": "solution-remove_channels", "macs": "solution-macs"}

# A correct answer in the solution's shape; each wrong answer changes one of its parts.
_MASK = """def my_filter_mask(weight, sparsity):
    k = {count}
    scores = {scores}
    keep = torch.ones(weight.shape[0], dtype=torch.bool)
    keep[torch.argsort(scores, {order}stable=True)[:k]] = False
    return keep.reshape(-1, 1, 1, 1).expand(weight.shape).clone()
"""


def mask_answer(
    count: str = "round(sparsity * weight.shape[0])", scores: str = "weight.abs().sum(dim=(1, 2, 3))", order: str = ""
) -> str:
    """The source of a my_filter_mask with the given pieces (the defaults make it correct)."""
    return _MASK.format(count=count, scores=scores, order=order)


FILTER_MASK = {
    "wrong: prunes input channels instead of filters": (
        False,
        """def my_filter_mask(weight, sparsity):
    in_channels = weight.shape[1]
    k = round(sparsity * in_channels)
    scores = weight.abs().sum(dim=(0, 2, 3))
    keep = torch.ones(in_channels, dtype=torch.bool)
    keep[torch.argsort(scores, stable=True)[:k]] = False
    return keep.reshape(1, -1, 1, 1).expand(weight.shape).clone()
""",
    ),
    "wrong: ranks by the L2 norm": (False, mask_answer(scores="weight.pow(2).sum(dim=(1, 2, 3)).sqrt()")),
    "wrong: keeps the smallest filters": (False, mask_answer(order="descending=True, ")),
    "wrong: floor instead of round": (False, mask_answer(count="int(sparsity * weight.shape[0])")),
    "wrong: rounds halves up": (False, mask_answer(count="int(sparsity * weight.shape[0] + 0.5)")),
    "wrong: keeps the top-k (ties not by index)": (
        False,
        """def my_filter_mask(weight, sparsity):
    out_channels = weight.shape[0]
    scores = weight.abs().sum(dim=(1, 2, 3))
    keep = torch.zeros(out_channels, dtype=torch.bool)
    keep[scores.topk(out_channels - round(sparsity * out_channels)).indices] = True
    return keep.reshape(-1, 1, 1, 1).expand(weight.shape).clone()
""",
    ),
    "valid: a loop over the filters, Python's sort": (
        True,
        """def my_filter_mask(weight, sparsity):
    n = weight.shape[0]
    norms = [float(weight[o].abs().sum()) for o in range(n)]
    order = sorted(range(n), key=lambda o: norms[o])   # Python's sort is stable
    mask = torch.ones(weight.shape, dtype=torch.bool)
    for o in order[: round(sparsity * n)]:
        mask[o] = False
    return mask
""",
    ),
    "valid: torch.linalg.vector_norm and a boolean fill": (
        True,
        """def my_filter_mask(weight, sparsity):
    scores = torch.linalg.vector_norm(weight, ord=1, dim=(1, 2, 3))
    order = torch.sort(scores, stable=True).indices
    mask = torch.zeros_like(weight, dtype=torch.bool)
    mask[order[round(sparsity * weight.shape[0]):]] = True
    return mask
""",
    ),
    "valid: flattened rows and Tensor.norm": (
        True,
        """def my_filter_mask(weight, sparsity):
    rows = weight.reshape(weight.shape[0], -1)
    pruned = rows.norm(p=1, dim=1).argsort(stable=True)[: round(sparsity * rows.shape[0])]
    keep = torch.ones(rows.shape[0], dtype=torch.bool).index_fill(0, pruned, False)
    return keep[:, None].expand(rows.shape).reshape(weight.shape)
""",
    ),
}

# The three new layers, for the answers that build them.
_NEW_LAYERS = """    k = int(keep.sum())
    new_conv = nn.Conv2d(conv.in_channels, k, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                         bias=conv.bias is not None)
    new_bn = nn.BatchNorm2d(k, eps=bn.eps, momentum=bn.momentum)
    new_next = nn.Conv2d(k, next_conv.out_channels, next_conv.kernel_size, stride=next_conv.stride,
                         padding=next_conv.padding, bias=next_conv.bias is not None)
"""
# ... filled as the solution does; each wrong answer changes one of the parts in braces.
_FILL = """    with torch.no_grad():
        new_conv.weight.copy_(conv.weight[keep])
        if conv.bias is not None:
            new_conv.bias.copy_({conv_bias})
        for name in {bn_entries}:
            getattr(new_bn, name).copy_(getattr(bn, name)[keep])
        new_next.weight.copy_(next_conv.weight[:, keep])
        if next_conv.bias is not None:
            new_next.bias.copy_(next_conv.bias)
    return new_conv, {returned}
"""


def remove_answer(
    conv_bias: str = "conv.bias[keep]",
    bn_entries: str = '("weight", "bias", "running_mean", "running_var")',
    returned: str = "new_bn, new_next",
    layers: str = _NEW_LAYERS,
) -> str:
    """The source of a my_remove_channels with the given pieces (the defaults make it correct)."""
    body = _FILL.format(conv_bias=conv_bias, bn_entries=bn_entries, returned=returned)
    return "def my_remove_channels(conv, bn, next_conv, keep):\n" + layers + body


REMOVE_CHANNELS = {
    "wrong: the next conv loses its stride (found by a review)": (
        False,
        remove_answer(layers=_NEW_LAYERS.replace("stride=next_conv.stride,\n                         ", "")),
    ),
    "wrong: prunes the conv's input channels instead of its filters": (
        False,
        """def my_remove_channels(conv, bn, next_conv, keep):
    new_conv, new_bn, new_next = copy.deepcopy(conv), copy.deepcopy(bn), copy.deepcopy(next_conv)
    new_conv.weight = nn.Parameter(conv.weight.detach()[:, keep].clone())
    new_next.weight = nn.Parameter(next_conv.weight.detach()[keep].clone())
    return new_conv, new_bn, new_next
""",
    ),
    "wrong: forgets the BatchNorm": (False, remove_answer(bn_entries="()", returned="copy.deepcopy(bn), new_next")),
    "wrong: slices the BatchNorm's weight and bias, not its running statistics": (
        False,
        remove_answer(bn_entries='("weight", "bias")'),
    ),
    "wrong: forgets the next layer's input channels": (
        False,
        remove_answer(returned="new_bn, copy.deepcopy(next_conv)"),
    ),
    "wrong: keeps the removed filters' biases": (
        False,
        """def my_remove_channels(conv, bn, next_conv, keep):
    new_conv, new_bn, new_next = copy.deepcopy(conv), copy.deepcopy(bn), copy.deepcopy(next_conv)
    k = int(keep.sum())
    new_conv.weight = nn.Parameter(conv.weight.detach()[keep].clone())   # the bias stays whole
    new_conv.out_channels = new_bn.num_features = new_next.in_channels = k
    for name in ("weight", "bias"):
        setattr(new_bn, name, nn.Parameter(getattr(bn, name).detach()[keep].clone()))
    new_bn.running_mean, new_bn.running_var = bn.running_mean[keep].clone(), bn.running_var[keep].clone()
    new_next.weight = nn.Parameter(next_conv.weight.detach()[:, keep].clone())
    return new_conv, new_bn, new_next
""",
    ),
    "wrong: the first k biases, not the kept filters' ones": (False, remove_answer(conv_bias="conv.bias[:k]")),
    "wrong: a random bias on a conv that had none": (
        False,
        remove_answer(layers=_NEW_LAYERS.replace("bias=conv.bias is not None", "bias=True")),
    ),
    "valid: index_select on the kept indices": (
        True,
        """def my_remove_channels(conv, bn, next_conv, keep):
    idx = keep.nonzero().flatten()
"""
        + _NEW_LAYERS
        + """    with torch.no_grad():
        new_conv.weight.copy_(conv.weight.index_select(0, idx))
        if conv.bias is not None:
            new_conv.bias.copy_(conv.bias.index_select(0, idx))
        new_bn.weight.copy_(bn.weight.index_select(0, idx))
        new_bn.bias.copy_(bn.bias.index_select(0, idx))
        new_bn.running_mean.copy_(bn.running_mean.index_select(0, idx))
        new_bn.running_var.copy_(bn.running_var.index_select(0, idx))
        new_next.weight.copy_(next_conv.weight.index_select(1, idx))
        if next_conv.bias is not None:
            new_next.bias.copy_(next_conv.bias)
    return new_conv, new_bn, new_next
""",
    ),
    "valid: deep copies with sliced .data": (
        True,
        """def my_remove_channels(conv, bn, next_conv, keep):
    new_conv, new_bn, new_next = copy.deepcopy(conv), copy.deepcopy(bn), copy.deepcopy(next_conv)
    new_conv.weight.data = conv.weight.data[keep].clone()
    if conv.bias is not None:
        new_conv.bias.data = conv.bias.data[keep].clone()
    new_bn.weight.data = bn.weight.data[keep].clone()
    new_bn.bias.data = bn.bias.data[keep].clone()
    new_bn.running_mean.data = bn.running_mean.data[keep].clone()
    new_bn.running_var.data = bn.running_var.data[keep].clone()
    new_next.weight.data = next_conv.weight.data[:, keep].clone()
    new_conv.out_channels = new_bn.num_features = new_next.in_channels = int(keep.sum())
    return new_conv, new_bn, new_next
""",
    ),
    "valid: load_state_dict of the sliced state": (
        True,
        """def my_remove_channels(conv, bn, next_conv, keep):
"""
        + _NEW_LAYERS
        + """    new_conv.load_state_dict({name: t[keep] for name, t in conv.state_dict().items()})
    new_bn.load_state_dict({name: t[keep] if t.dim() else t for name, t in bn.state_dict().items()})
    state = next_conv.state_dict()
    new_next.load_state_dict({name: t[:, keep] if name == "weight" else t for name, t in state.items()})
    return new_conv, new_bn, new_next
""",
    ),
}

# A correct my_output_size, for the wrong answers elsewhere.
_OUTPUT_SIZE = """def my_output_size(conv, height, width):
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    return (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1


"""
# ... and a correct my_conv_macs after it: the wrong answers that change only my_block_macs.
_CORRECT_CONV = (
    _OUTPUT_SIZE
    + """def my_conv_macs(conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    kh, kw = conv.kernel_size
    return out_h * out_w * conv.out_channels * (conv.in_channels // conv.groups) * kh * kw
"""
)
_BLOCK = """

def my_block_macs(conv, bn, next_conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    return my_conv_macs(conv, height, width) + bn.num_features * out_h * out_w + my_conv_macs(next_conv, out_h, out_w)
"""

MACS = {
    "wrong: the next conv keeps its input's size (found by a review)": (
        False,
        _CORRECT_CONV
        + """

def my_block_macs(conv, bn, next_conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    kh, kw = next_conv.kernel_size
    nxt = out_h * out_w * next_conv.out_channels * next_conv.in_channels * kh * kw
    return my_conv_macs(conv, height, width) + bn.num_features * out_h * out_w + nxt
""",
    ),
    "wrong: forgets the groups": (
        False,
        _OUTPUT_SIZE
        + """def my_conv_macs(conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    kh, kw = conv.kernel_size
    return out_h * out_w * conv.out_channels * conv.in_channels * kh * kw
"""
        + _BLOCK,
    ),
    "wrong: the input size for the output size": (
        False,
        """def my_output_size(conv, height, width):
    return height, width


def my_conv_macs(conv, height, width):
    kh, kw = conv.kernel_size
    return height * width * conv.out_channels * (conv.in_channels // conv.groups) * kh * kw
"""
        + _BLOCK,
    ),
    "wrong: ignores the stride": (
        False,
        """def my_output_size(conv, height, width):
    (kh, kw), (ph, pw) = conv.kernel_size, conv.padding
    return height + 2 * ph - kh + 1, width + 2 * pw - kw + 1


def my_conv_macs(conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    kh, kw = conv.kernel_size
    return out_h * out_w * conv.out_channels * (conv.in_channels // conv.groups) * kh * kw
"""
        + _BLOCK,
    ),
    "wrong: the next conv on the input picture's size": (
        False,
        _CORRECT_CONV
        + """

def my_block_macs(conv, bn, next_conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    return my_conv_macs(conv, height, width) + bn.num_features * out_h * out_w + my_conv_macs(next_conv, height, width)
""",
    ),
    "wrong: forgets the BatchNorm": (
        False,
        _CORRECT_CONV
        + """

def my_block_macs(conv, bn, next_conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    return my_conv_macs(conv, height, width) + my_conv_macs(next_conv, out_h, out_w)
""",
    ),
    "wrong: true division (floats)": (
        False,
        """def my_output_size(conv, height, width):
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    return (height + 2 * ph - kh) / sh + 1, (width + 2 * pw - kw) / sw + 1


def my_conv_macs(conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    kh, kw = conv.kernel_size
    return out_h * out_w * conv.out_channels * (conv.in_channels / conv.groups) * kh * kw
"""
        + _BLOCK,
    ),
    "valid: the output size from a forward pass, MACs from the weight's size": (
        True,
        """def my_output_size(conv, height, width):
    with torch.no_grad():
        out = conv(torch.zeros(1, conv.in_channels, height, width))
    return out.shape[-2], out.shape[-1]


def my_conv_macs(conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    return out_h * out_w * conv.weight.numel()   # out_channels * (in_channels / groups) * kh * kw weights
"""
        + _BLOCK,
    ),
    "valid: math.floor of a true division": (
        True,
        """import math


def my_output_size(conv, height, width):
    sizes = (height, width)
    return tuple(
        math.floor((sizes[i] + 2 * conv.padding[i] - conv.kernel_size[i]) / conv.stride[i]) + 1 for i in range(2)
    )


def my_conv_macs(conv, height, width):
    out_h, out_w = my_output_size(conv, height, width)
    per_filter = conv.in_channels // conv.groups * math.prod(conv.kernel_size)
    return out_h * out_w * conv.out_channels * per_filter
"""
        + _BLOCK,
    ),
}

ANSWERS = {"filter_mask": FILTER_MASK, "remove_channels": REMOVE_CHANNELS, "macs": MACS}
ROUNDS = AnswerRounds(NOTEBOOK, CELLS, ANSWERS)


@pytest.mark.parametrize(("i", "exercise", "label"), ROUNDS.cases, ids=ROUNDS.ids)
def test_exercise06_answer(tmp_path_factory, i, exercise, label):
    ROUNDS.verdict(tmp_path_factory, i, exercise, label)


def test_every_exercise_has_wrong_and_valid_answers():
    ROUNDS.check_complete()
