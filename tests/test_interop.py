"""Interop with torch's reparametrizations: a model pruned by ``torch.nn.utils.prune`` or
parametrized by ``torch.nn.utils.parametrize`` is read as it computes.

The oracle is the same model after torch's own removal (``prune.remove``,
``parametrize.remove_parametrizations``): every function that reads weights must give the same
answer on both. Functions that write or train weights either handle the reparametrization or
refuse it with a ``ValueError`` saying how to remove it; and the CSR builder refuses the dtypes
torch's CPU sparse kernels lack when it is built.
"""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from course_lib import apply_masks, magnitude_masks, masks_sparsity, model_sparsity, prunable_weights, shrink_mlp
from course_lib.experiments.analysis import pruned_accuracy
from course_lib.experiments.finetune import layer_sensitivity
from course_lib.experiments.tickets import rewind
from course_lib.measure.costs import pruning_costs
from course_lib.measure.size import disk_bytes, masked_state, model_bytes, nonzero_count, param_count
from course_lib.measure.sparse import csr_mlp
from course_lib.measure.work import layer_macs
from course_lib.pruning.at_init import snip_scores, synflow_scores
from course_lib.pruning.reparam import check_plain, effective_parameters, plain_copy, reparametrized
from course_lib.pruning.structured import remove_neurons
from course_lib.training.models import mlp
from course_lib.training.sparse_training import sparse_training
from course_lib.training.stacked import train_many
from course_lib.training.train import train

SIZES = [64, 32, 16, 10]  # LeNet-like, on the 8x8 digits
WEIGHTS = ["fc1.weight", "fc2.weight", "fc3.weight"]


class Masking(nn.Module):
    """A parametrization ``w -> w * mask`` (``torch.nn.utils.parametrize``)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask.float())

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.mask


def _linears(net: nn.Module) -> list[nn.Linear]:
    return [m for m in net if isinstance(m, nn.Linear)]


def _reparametrize(net: nn.Module, method: str) -> None:
    """Prune (or parametrize) every Linear weight of ``net`` in place, the way ``method`` says."""
    layers = _linears(net)
    if method == "l1_unstructured":
        for layer in layers:
            prune.l1_unstructured(layer, "weight", amount=0.5)
    elif method == "global_unstructured":
        prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured, amount=0.6)
    elif method == "ln_structured":
        for layer in layers[:-1]:
            prune.ln_structured(layer, "weight", amount=0.25, n=2, dim=0)
    elif method == "twice":  # a PruningContainer: l1, then whole rows
        for layer in layers:
            prune.l1_unstructured(layer, "weight", amount=0.3)
            prune.ln_structured(layer, "weight", amount=0.2, n=1, dim=0)
    else:
        for i, layer in enumerate(layers):
            mask = torch.rand(layer.weight.shape, generator=torch.Generator().manual_seed(i)) > 0.4
            parametrize.register_parametrization(layer, "weight", Masking(mask))


def _remove(net: nn.Module) -> None:
    """torch's own removal: the oracle's plain model."""
    for layer in _linears(net):
        if prune.is_pruned(layer):
            prune.remove(layer, "weight")
        if parametrize.is_parametrized(layer):
            parametrize.remove_parametrizations(layer, "weight")


def _pair(method: str, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """(reparametrized model, the same model after torch's removal)."""
    net, removed = mlp(SIZES, seed=seed), mlp(SIZES, seed=seed)
    _reparametrize(net, method)
    _reparametrize(removed, method)
    _remove(removed)
    assert reparametrized(net) and not reparametrized(removed)
    return net, removed


def _same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


METHODS = ["l1_unstructured", "global_unstructured", "ln_structured", "twice", "parametrize"]
PRUNE_METHODS = METHODS[:-1]
X = torch.randn(7, 64, generator=torch.Generator().manual_seed(3))


# --------------------------------------------------------------------------- reading weights
def test_the_issue_a_net_pruned_to_half_by_l1_unstructured_is_half_sparse():
    net = mlp(SIZES, seed=0)
    for layer in _linears(net):
        prune.l1_unstructured(layer, "weight", amount=0.5)
    assert list(prunable_weights(net)) == WEIGHTS  # not fc1.weight_orig
    assert model_sparsity(net) == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("method", METHODS)
def test_weights_read_as_after_torch_removes_the_reparametrization(method):
    net, removed = _pair(method)
    ours = prunable_weights(net)
    assert list(ours) == WEIGHTS
    _same({k: v.detach() for k, v in ours.items()}, {k: v.detach() for k, v in prunable_weights(removed).items()})
    _same({k: v.detach() for k, v in effective_parameters(net).items()}, dict(removed.named_parameters()))
    assert model_sparsity(net) == model_sparsity(removed) > 0.1
    both = ["fc2.weight", "fc1.bias"]
    assert model_sparsity(net, both) == model_sparsity(removed, both)
    for scope in ("layer", "global"):
        masks = magnitude_masks(net, 0.7, scope=scope)
        _same(masks, magnitude_masks(removed, 0.7, scope=scope))
        assert masks_sparsity(masks) == pytest.approx(0.7, abs=1e-3)
    with torch.no_grad():
        torch.testing.assert_close(net(X), removed(X))


@pytest.mark.parametrize("method", METHODS)
def test_measures_agree_with_the_removed_model(method):
    net, removed = _pair(method)
    masks = magnitude_masks(removed, 0.8)
    rows = {"fc1.weight": masks["fc1.weight"] | True, "fc2.weight": masks["fc2.weight"]}
    assert param_count(net) == param_count(removed) == sum(p.numel() for p in removed.parameters())
    for m in (None, masks):
        _same(masked_state(net, m), masked_state(removed, m))
        assert nonzero_count(net, m) == nonzero_count(removed, m) < param_count(removed)
        for fmt in ("dense", "csr"):
            assert model_bytes(net, m, fmt) == model_bytes(removed, m, fmt)
            assert disk_bytes(net, m, fmt) == disk_bytes(removed, m, fmt)
        for skip in (True, False):
            assert layer_macs(net, m, skip) == layer_macs(removed, m, skip)
    assert model_bytes(net, rows, "shrunk") == model_bytes(removed, rows, "shrunk")
    ours, theirs = pruning_costs(net, 0.6), pruning_costs(removed, 0.6)
    for variant in ours:
        assert {k: v for k, v in ours[variant].items() if k != "energy"} == {
            k: v for k, v in theirs[variant].items() if k != "energy"
        }
        assert ours[variant]["energy"].as_dict() == theirs[variant]["energy"].as_dict()


@pytest.mark.parametrize("method", METHODS)
def test_copies_and_rebuilt_models_compute_what_the_model_computes(method):
    net, removed = _pair(method)
    before, kinds = {k: v.clone() for k, v in net.state_dict().items()}, reparametrized(net)
    masks = {n: m | (torch.arange(m.shape[0]) % 3 != 0).unsqueeze(1) for n, m in magnitude_masks(net, 0.9).items()}
    with torch.no_grad():
        torch.testing.assert_close(csr_mlp(net, masks)(X), csr_mlp(removed, masks)(X))
        torch.testing.assert_close(shrink_mlp(net, masks)(X), shrink_mlp(removed, masks)(X))
        a, b = remove_neurons(net.fc1, net.fc2, masks["fc1.weight"])
        c, d = remove_neurons(removed.fc1, removed.fc2, masks["fc1.weight"])
        torch.testing.assert_close(b(torch.relu(a(X))), d(torch.relu(c(X))))
    copy = plain_copy(net)
    assert not reparametrized(copy) and list(dict(copy.named_parameters())) == list(dict(removed.named_parameters()))
    _same(dict(copy.named_parameters()), dict(removed.named_parameters()))
    # nothing above changed the model, nor broke its reparametrization
    _same(dict(net.state_dict()), before)
    assert reparametrized(net) == kinds
    with torch.no_grad():
        torch.testing.assert_close(net(X), removed(X))


@pytest.mark.parametrize("method", ["l1_unstructured", "parametrize"])
def test_scores_and_experiments_read_the_computed_weights(method, digits):
    net, removed = _pair(method)
    y = torch.arange(7) % 10
    _same(snip_scores(net, X, y), snip_scores(removed, X, y))
    _same(synflow_scores(net, (64,)), synflow_scores(removed, (64,)))
    assert pruned_accuracy(net, digits.test, 0.7) == pruned_accuracy(removed, digits.test, 0.7)
    ours, theirs = layer_sensitivity(net, digits, [0.5, 0.9]), layer_sensitivity(removed, digits, [0.5, 0.9])
    assert ours.acc == theirs.acc and ours.sizes == theirs.sizes


def test_the_weights_of_the_next_forward_pass_also_after_an_optimizer_step():
    net, _ = _pair("l1_unstructured")
    with torch.no_grad():
        net.fc1.weight_orig.add_(1.0)  # torch's module.weight is stale until the next forward pass
    expected = net.fc1.weight_orig * net.fc1.weight_mask
    assert not torch.equal(net.fc1.weight, expected)
    assert torch.equal(prunable_weights(net)["fc1.weight"], expected)


# --------------------------------------------------------------------------- writing weights
@pytest.mark.parametrize("method", PRUNE_METHODS)
def test_apply_masks_on_a_pruned_model_prunes_as_torch_would(method):
    net, removed = _pair(method)
    kinds = reparametrized(net)
    masks = magnitude_masks(removed, 0.85)
    apply_masks(net, masks)
    apply_masks(removed, masks)
    assert reparametrized(net) == kinds  # still torch's pruning, the mask combined into it
    assert torch.equal(net.fc1.weight_mask.bool(), masks["fc1.weight"] & (net.fc1.weight_orig != 0))
    assert model_sparsity(net) == model_sparsity(removed) == pytest.approx(0.85, abs=1e-3)
    with torch.no_grad():
        torch.testing.assert_close(net(X), removed(X))
    _remove(net)
    _same(dict(net.named_parameters()), dict(removed.named_parameters()))


def test_apply_masks_refuses_a_parametrized_weight_and_changes_nothing():
    net, removed = _pair("parametrize")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    masks = magnitude_masks(removed, 0.85)
    with pytest.raises(ValueError, match=r"'fc1.weight'.*parametrize.*remove_parametrizations"):
        apply_masks(net, {"fc3.bias": torch.ones(10, dtype=torch.bool), **masks})
    _same(dict(net.state_dict()), before)
    apply_masks(net, {"fc3.bias": torch.zeros(10, dtype=torch.bool)})  # a plain parameter is fine
    assert bool((net.fc3.bias == 0).all())


def test_training_a_pruned_model_equals_training_the_removed_one_with_its_masks(digits):
    net, removed = _pair("l1_unstructured")
    torch_masks = {n: getattr(net, n.split(".")[0]).weight_mask.bool() for n in WEIGHTS}
    kw = dict(epochs=1, lr=5e-3, progress=False, threads=1)
    ours, theirs = train(net, digits, **kw), train(removed, digits, torch_masks, **kw)
    assert ours.train_loss == pytest.approx(theirs.train_loss, rel=1e-4, nan_ok=True)
    for n, w in prunable_weights(net).items():
        torch.testing.assert_close(w.detach(), dict(removed.named_parameters())[n].detach(), rtol=1e-4, atol=1e-5)
        assert bool((w[~torch_masks[n]] == 0).all())


def test_train_with_masks_combines_them_into_torchs_mask(digits):
    net, _ = _pair("l1_unstructured")
    extra = {"fc2.weight": torch.arange(16 * 32).reshape(16, 32) % 2 == 0}
    keep = net.fc2.weight_mask.bool() & extra["fc2.weight"]
    train(net, digits, extra, epochs=1, lr=5e-3, progress=False, threads=1)
    assert torch.equal(net.fc2.weight_mask.bool(), keep)  # torch's mask and ours, both kept through training
    assert torch.equal(prunable_weights(net)["fc2.weight"] != 0, keep)


def test_trainers_refuse_what_they_cannot_write_before_anything_changes(digits):
    net, _ = _pair("parametrize")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    masks = {"fc1.weight": torch.ones(32, 64, dtype=torch.bool)}
    with pytest.raises(ValueError, match=r"train with masks.*'fc1.weight'.*remove_parametrizations"):
        train(net, digits, masks, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"rewind with masks.*remove_parametrizations"):
        rewind(net, before, masks)
    pruned, _ = _pair("l1_unstructured")
    for model in (net, pruned):
        with pytest.raises(ValueError, match=r"train_many.*(prune\.remove|remove_parametrizations)"):
            train_many([model], digits, epochs=1, progress=False)
        with pytest.raises(ValueError, match=r"sparse_training.*(prune\.remove|remove_parametrizations)"):
            sparse_training(model, digits, 0.5, epochs=1, progress=False)
    _same(dict(net.state_dict()), before)


def test_check_plain_names_every_reparametrized_tensor_and_how_to_remove_it():
    net, _ = _pair("l1_unstructured")
    parametrize.register_parametrization(net.fc3, "bias", Masking(torch.ones(10, dtype=torch.bool)))
    with pytest.raises(ValueError) as err:
        check_plain(net, "writing")
    text = str(err.value)
    assert "torch.nn.utils.prune.remove(model.get_submodule('fc2'), 'weight')" in text
    assert "torch.nn.utils.parametrize.remove_parametrizations(model.get_submodule('fc3'), 'bias')" in text
    check_plain(net, "writing", names=["fc1.bias"])  # a plain parameter
    check_plain(net, "writing", names=WEIGHTS, allow=("torch.nn.utils.prune",))


# --------------------------------------------------------------------------- CSR dtypes
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_csr_refuses_dtypes_the_cpu_sparse_kernels_lack_when_built(dtype):
    net = mlp(SIZES, seed=0).to(dtype)
    with pytest.raises(ValueError, match=rf"layer 'fc1' has dtype {dtype}.*torch.float32, torch.float64"):
        csr_mlp(net)
    with pytest.raises(NotImplementedError), torch.no_grad():  # what torch itself does, later
        torch.addmm(
            torch.zeros(3, 1, dtype=dtype), torch.eye(3, dtype=dtype).to_sparse_csr(), torch.ones(3, 1, dtype=dtype)
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_csr_runs_in_float32_and_float64(dtype):
    net = mlp(SIZES, seed=0).to(dtype)
    x = X.to(dtype)
    with torch.no_grad():
        torch.testing.assert_close(csr_mlp(net)(x), net(x))
