"""Every ``assert`` of lecture notebooks 00 and 06 can fail: each fires on a plausible broken library.

Each case takes one assert of a notebook, word for word (the notebook's own source is parsed
and every assert in it must have a case here), and evaluates it on the values a plausible bug
would give: biases left out of a count, CSR stored without (or with int64) indices, masks not
applied, ``skip_zeros`` ignored, a cache or batch size ignored by the energy model, neurons
removed by the fraction of neurons instead of the fraction of weights, ``shrink_mlp`` that
keeps the next layer's columns, ... The assert must raise ``AssertionError`` on them.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import types
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from course_lib import apply_masks, magnitude_masks, measure, row_norm_mask, shrink_mlp
from course_lib.measure import costs, energy, size
from course_lib.measure.energy import HOROWITZ_45NM
from course_lib.pruning.masks import prunable_weights
from course_lib.training.data import load
from course_lib.training.models import lenet_300_100, mlp
from course_lib.training.train import train
from course_lib.viz import cost as viz

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CASES: dict[tuple[str, str], Callable[[], dict]] = {}


def _norm(expr: str) -> str:
    return ast.unparse(ast.parse(expr.strip(), mode="eval").body)


def case(notebook: str, expr: str):
    """Register a builder of the namespace (broken values) on which ``assert expr`` must fire."""

    def register(fn):
        CASES[(notebook, _norm(expr))] = fn
        return fn

    return register


def notebook_asserts(name: str) -> list[str]:
    """The test expression of every ``assert`` in the code cells of ``notebooks/<name>*.ipynb``."""
    (path,) = NOTEBOOKS.glob(f"{name}_*.ipynb")
    out = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            code = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.startswith("%"))
            out += [ast.unparse(n.test) for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Assert)]
    return out


@functools.cache
def lenet() -> torch.nn.Sequential:
    return lenet_300_100(seed=0)


def _with(module, **broken) -> types.SimpleNamespace:
    """``module`` with some functions replaced by broken ones."""
    return types.SimpleNamespace(**{**{k: getattr(module, k) for k in dir(module) if not k.startswith("_")}, **broken})


def _weights_only_count(model) -> int:  # a param_count that forgets the biases
    return sum(w.numel() for w in prunable_weights(model).values())


def _no_index_bytes(model, masks=None, fmt="dense") -> int:  # CSR that forgets its indices
    if fmt != "csr":
        return measure.model_bytes(model, masks, fmt)
    return 4 * measure.nonzero_count(model, masks)


def _int64_csr_bytes(model, masks=None) -> int:  # torch's to_sparse_csr: int64 indices
    state = measure.masked_state(model, masks)
    return sum(
        size.csr_bytes(w.shape[0], int((w != 0).sum()), 4, 8) if w.dim() == 2 else 4 * w.numel() for w in state.values()
    )


def _rows_only_shrink(model, rows) -> int:
    """Bytes of a "shrink" that removes the pruned rows but keeps every column of the next layer."""
    kept = {k: int(m.all(dim=1).sum()) if m.dim() == 2 else int(m.sum()) for k, m in rows.items()}
    total = 0
    for k, w in prunable_weights(model).items():
        out = kept.get(k, w.shape[0])
        total += out * w.shape[1] + out
    return 4 * total


# ---- notebook 00 -------------------------------------------------------------------------------


@case("00", "measure.param_count(lenet) == params_by_hand == 266_610")
def _():
    return {"measure": _with(measure, param_count=_weights_only_count), "lenet": lenet(), "params_by_hand": 266_610}


@case("00", "measure.macs(lenet, skip_zeros=False) == macs_by_hand == 266_200")
def _():
    flops_as_macs = _with(measure, macs=lambda m, skip_zeros=True: measure.flops(m, skip_zeros=skip_zeros))
    return {"measure": flops_as_macs, "lenet": lenet(), "macs_by_hand": 266_200}


@case("00", "measure.flops(lenet, skip_zeros=False) == 2 * macs_by_hand")
def _():
    return {"measure": _with(measure, flops=measure.macs), "lenet": lenet(), "macs_by_hand": 266_200}


@case("00", "measure.model_bytes(lenet) == bytes_by_hand")
def _():
    weights_only = _with(measure, model_bytes=lambda m: 4 * _weights_only_count(m))
    return {"measure": weights_only, "lenet": lenet(), "bytes_by_hand": 4 * 266_610}


def _saved(model) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


@functools.cache
def _not_pruned() -> dict:  # apply_masks that does nothing: the "pruned" model is the dense one
    return {"measure": measure, "pruned": lenet(), "lenet": lenet(), "pruned_file": _saved(lenet()),
            "dense_file": _saved(lenet()), "zlib": zlib}  # fmt: skip


@functools.cache
def _pruned() -> torch.nn.Sequential:
    pruned = lenet_300_100(seed=0)
    apply_masks(pruned, magnitude_masks(lenet(), 0.9))
    return pruned


case("00", "measure.nonzero_count(pruned) < 0.11 * measure.param_count(pruned)")(_not_pruned)
case("00", "len(zlib.compress(pruned_file)) < 0.5 * len(zlib.compress(dense_file))")(_not_pruned)


@case("00", "measure.model_bytes(pruned) == measure.model_bytes(lenet)")
def _():  # a model_bytes that counts only the non-zeros
    return {"measure": _with(measure, model_bytes=lambda m: 4 * measure.nonzero_count(m)), "pruned": _pruned(),
            "lenet": lenet()}  # fmt: skip


@case("00", "len(pruned_file) == len(dense_file)")
def _():  # a save that stores the pruned weights sparse
    state = {k: v.to_sparse() if v.dim() == 2 else v for k, v in _pruned().state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return {"pruned_file": buffer.getvalue(), "dense_file": _saved(lenet())}


@case("00", "measure.macs(pruned, skip_zeros=False) == measure.macs(lenet, skip_zeros=False)")
def _():  # macs that always skips the zeros
    return {"measure": _with(measure, macs=lambda m, skip_zeros=True: measure.macs(m, skip_zeros=True)),
            "pruned": _pruned(), "lenet": lenet()}  # fmt: skip


A = torch.tensor([[0.0, 2.0, 0.0, 0.0], [3.0, 0.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
BY_HAND = {"values": [2.0, 3.0, 4.0], "col_indices": [1, 0, 3], "crow_indices": [0, 1, 3, 3]}


@case("00", "csr.values().tolist() == values and csr.col_indices().tolist() == col_indices")
def _():  # a to_csr of the transpose (column-major)
    return {"csr": size.to_csr(A.t().contiguous()), **BY_HAND}


@case("00", "csr.crow_indices().tolist() == crow_indices")
def _():
    return {"csr": size.to_csr(A.t().contiguous()), **BY_HAND}


@case("00", "size.csr_tensor_bytes(csr) == 8 * len(values) + 4 * len(crow_indices) == size.csr_bytes(rows=3, nnz=3)")
def _():  # torch's own to_sparse_csr: int64 indices
    return {"csr": A.to_sparse_csr(), "size": size, **BY_HAND}


def _size_curves(sparsities, *, csr_index=4, neurons=None) -> dict:
    """size_curves of LeNet with a broken CSR index size or neuron fraction."""
    real = viz.size_curves(lenet(), sparsities)
    weights = prunable_weights(lenet())
    other = measure.model_bytes(lenet()) - 4 * sum(w.numel() for w in weights.values())
    for key, index in (("csr int32", csr_index), ("csr int64", 4 if csr_index == 8 else csr_index)):
        real[key] = [
            other + sum(4 * (w.numel() - round(s * w.numel())) * (1 + index / 4) for w in weights.values())
            for s in sparsities
        ]
    if neurons is not None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(viz, "neuron_fraction", neurons)
            real["neurons removed"] = viz.size_curves(lenet(), sparsities)["neurons removed"]
    return real


@case("00", 'curves["csr int32"][0] > curves["dense"][0] > curves["csr int32"][1]')
def _():  # CSR without indices: smaller than dense at any sparsity
    return {"curves": _size_curves([0.45, 0.55, 0.64, 0.7], csr_index=0)}


@case("00", 'curves["csr int64"][2] > curves["dense"][2] > curves["csr int64"][3]')
def _():  # "int64" CSR built with int32 indices
    return {"curves": _size_curves([0.45, 0.55, 0.64, 0.7], csr_index=8)}


def _costs(sparsity: float, broken: dict | None = None) -> dict:
    c = measure.pruning_costs(lenet(), sparsity)
    for (variant, key), value in (broken or {}).items():
        c[variant][key] = value
    return {"c": c, "s": sparsity}


@case("00", 'measure.same_sparsity({v: [c[v]["sparsity"]] for v in c if v != "dense"}, [s])')
def _():  # neurons removed by the fraction of neurons, not of the weights
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(costs, "neuron_fraction", lambda model, s: s)
        return {"measure": measure, **_costs(0.5)}


@case("00", 'c["masked"]["memory_bytes"] == c["dense"]["memory_bytes"]')
def _():  # masked counted as its non-zeros
    return _costs(0.5, {("masked", "memory_bytes"): 4 * measure.nonzero_count(lenet(), magnitude_masks(lenet(), 0.5))})


@case("00", 'c["masked"]["disk_bytes"] == c["dense"]["disk_bytes"]')
def _():  # masked saved as CSR
    masks = magnitude_masks(lenet(), 0.5)
    return _costs(0.5, {("masked", "disk_bytes"): measure.disk_bytes(lenet(), masks, "csr")})


@case("00", 'c["masked"]["macs"] == c["dense"]["macs"]')
def _():  # masked counted as if a dense kernel skipped zeros
    return _costs(0.5, {("masked", "macs"): measure.macs(lenet(), magnitude_masks(lenet(), 0.5), skip_zeros=True)})


@case("00", 'c["neurons removed"]["memory_bytes"] < (1 - s + 0.01) * c["dense"]["memory_bytes"]')
def _():  # the rows zeroed but stored dense
    rows = measure.pruned_variants(lenet(), 0.5)["neurons removed"][0]
    return _costs(0.5, {("neurons removed", "memory_bytes"): measure.model_bytes(lenet(), rows, "dense")})


@case("00", 'abs(c["csr"]["macs"] - (1 - s) * c["dense"]["macs"]) <= 3')
def _():  # CSR counted with the zeros
    return _costs(0.5, {("csr", "macs"): measure.macs(lenet(), skip_zeros=False)})


@case("00", 'table[0.5]["csr"]["memory_bytes"] > table[0.5]["dense"]["memory_bytes"]')
def _():
    table = {
        0.5: _costs(0.5, {("csr", "memory_bytes"): _no_index_bytes(lenet(), magnitude_masks(lenet(), 0.5), "csr")})["c"]
    }
    return {"table": table}


@case("00", 'table[0.8]["csr"]["memory_bytes"] < 0.45 * table[0.8]["dense"]["memory_bytes"]')
def _():
    table = {0.8: _costs(0.8, {("csr", "memory_bytes"): _int64_csr_bytes(lenet(), magnitude_masks(lenet(), 0.8))})["c"]}
    return {"table": table}


BY_HAND_PJ = 266_200 * (3.7 + 0.9) + 266_610 * 640


@case("00", "abs(e.total_pj - by_hand_pj) < 1e-6 * by_hand_pj")
def _():  # an energy model that forgets the add of each MAC
    e = measure.energy_per_inference(lenet(), table={**HOROWITZ_45NM, "float_add": 0.0})
    return {"e": e, "by_hand_pj": BY_HAND_PJ}


@case("00", "e.dram_pj > 0.99 * e.total_pj")
def _():  # an energy model that puts the whole model on chip
    return {"e": measure.energy_per_inference(lenet(), cache_bytes=2**21)}


def _at90(**broken_energy) -> dict:
    sram = 256 * 2**10
    at90 = measure.pruning_costs(lenet(), 0.9, cache_bytes=sram)
    for variant, e in broken_energy.items():
        at90[variant]["energy"] = e
    return {"at90": at90, "sram": sram}


@case("00", 'at90["masked"]["energy"] == at90["dense"]["energy"]')
def _():  # masked zeros not multiplied
    return _at90(masked=measure.energy_per_inference(lenet(), magnitude_masks(lenet(), 0.9), "csr", 256 * 2**10))


@case("00", 'at90["csr"]["memory_bytes"] <= sram < at90["dense"]["memory_bytes"]')
def _():  # CSR with int64 indices does not fit in 256 KiB
    out = _at90()
    out["at90"]["csr"]["memory_bytes"] = _int64_csr_bytes(lenet(), magnitude_masks(lenet(), 0.9))
    return out


def _no_cache() -> dict:  # an energy model that ignores the SRAM
    return _at90(csr=measure.energy_per_inference(lenet(), magnitude_masks(lenet(), 0.9), "csr", cache_bytes=0))


case("00", 'at90["csr"]["energy"].dram_pj == 0 and at90["dense"]["energy"].dram_pj > 0')(_no_cache)
case("00", 'at90["csr"]["energy"].total_pj < at90["dense"]["energy"].total_pj / 50')(_no_cache)


@case("00", "batch.compute_pj == one.compute_pj and batch.dram_pj == one.dram_pj / 64")
def _():  # the batch size ignored
    return {"one": energy.energy_per_inference(lenet()), "batch": energy.energy_per_inference(lenet(), batch_size=1)}


def _smaller(shrink_bytes) -> dict:
    """Times smaller than dense: masked and CSR at 50% of the weights, half the hidden neurons removed."""
    out = {}
    for name, model in (("LeNet-300-100", lenet()), ("784-1024-1024-10", mlp([784, 1024, 1024, 10], seed=0))):
        dense = measure.model_bytes(model)
        masks = magnitude_masks(model, 0.5)
        out[f"{name}, masked"] = 1.0
        out[f"{name}, csr"] = dense / measure.model_bytes(model, masks, "csr")
        rows = {k: row_norm_mask(w, 0.5) for k, w in list(prunable_weights(model).items())[:-1]}
        out[f"{name}, half the neurons"] = dense / shrink_bytes(model, rows)
    return {"smaller": out}


@case("00", 'smaller["LeNet-300-100, masked"] == 1.0 and smaller["LeNet-300-100, csr"] < 1.0')
def _():
    out = _smaller(lambda m, rows: measure.model_bytes(m, rows, "shrunk"))
    net = lenet()
    out["smaller"]["LeNet-300-100, csr"] = measure.model_bytes(net) / _no_index_bytes(
        net, magnitude_masks(net, 0.5), "csr"
    )
    return out


case("00", '2.0 < smaller["LeNet-300-100, half the neurons"] < 2.5')(functools.partial(_smaller, _rows_only_shrink))
case("00", 'smaller["784-1024-1024-10, half the neurons"] > smaller["LeNet-300-100, half the neurons"]')(
    functools.partial(_smaller, _rows_only_shrink)
)


# ---- notebook 06 -------------------------------------------------------------------------------


@case("06", "masked_work == dense_work and needed_work < 0.11 * dense_work")
def _():  # macs that ignores skip_zeros (always dense)
    work = measure.macs(lenet(), skip_zeros=False)
    return {"masked_work": work, "dense_work": work, "needed_work": measure.macs(_pruned(), skip_zeros=False)}


@case("06", "y == (A @ v).tolist() and n_mult == int((A != 0).sum())")
def _():  # the notebook's own csr_matvec on a to_csr of the transpose
    (path,) = NOTEBOOKS.glob("06_*.ipynb")
    cell = next(
        "".join(c["source"]) for c in json.loads(path.read_text())["cells"] if "def csr_matvec" in "".join(c["source"])
    )
    ns: dict = {"torch": torch, "measure": _with(measure, to_csr=lambda w: size.to_csr(w.t().contiguous()))}
    exec(cell.split("\nassert ")[0], ns)
    return ns


X64 = measure.example_input(lenet_300_100(seed=0), batch_size=64, seed=0)


@case("06", "torch.allclose(fast(x64), masked(x64), atol=1e-5)")
def _():  # csr_mlp that ignores the masks
    with torch.no_grad():
        return {"torch": torch, "fast": measure.csr_mlp(lenet()), "masked": _pruned(), "x64": X64}


SPARSITIES = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]


@case("06", "measure.same_sparsity(sweep.removed, SPARSITIES, tolerance=0.01)")
def _():  # neurons removed by the fraction of neurons (what speed_sweep did before issue 12)
    removed = {"csr": SPARSITIES, "neurons removed": []}
    for s in SPARSITIES:
        rows = {k: row_norm_mask(w, s) for k, w in list(prunable_weights(lenet()).items())[:-1]}
        removed["neurons removed"].append(measure.removed_fraction(lenet(), rows, "shrunk"))
    return {"measure": measure, "sweep": types.SimpleNamespace(removed=removed), "SPARSITIES": SPARSITIES}


@case("06", 'max((abs(a - b) for a, b in zip(accuracy["masked"], accuracy["csr"]))) <= 0.2')
def _():  # csr_mlp that ignores the masks, on a small trained MLP (digits)
    data = load("digits")
    net = mlp([64, 32, 16, 10], seed=0)
    train(net, data, epochs=3, seed=0, progress=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(costs, "csr_mlp", lambda model, masks=None: measure.csr_mlp(model))
        return {"accuracy": measure.variant_accuracy(net, data.test, [0.5, 0.9])}


def _half_rows() -> dict:
    return {k: row_norm_mask(w, 0.5) for k, w in list(prunable_weights(lenet()).items())[:-1]}


@case("06", "torch.allclose(small(x64), row_masked(x64), atol=1e-5)")
def _():  # a shrink that keeps the first neurons instead of the unpruned ones
    first = {
        k: torch.arange(m.shape[0]).unsqueeze(1).expand_as(m) < int(m.all(dim=1).sum()) for k, m in _half_rows().items()
    }
    row_masked = lenet_300_100(seed=0)
    apply_masks(row_masked, _half_rows())
    with torch.no_grad():
        return {"torch": torch, "small": shrink_mlp(lenet(), first), "row_masked": row_masked, "x64": X64}


@case("06", "mac_ratio > 2")
def _():  # a shrink that keeps the next layer's columns: only the rows' MACs go
    rows = _half_rows()
    kept = 0
    for k, w in prunable_weights(lenet()).items():
        kept += int(rows[k].all(dim=1).sum()) * w.shape[1] if k in rows else w.numel()
    return {"mac_ratio": measure.macs(lenet(), skip_zeros=False) / kept}


@case("06", 'at["csr int32"][0] > at["dense"][0] > at["csr int32"][1]')
def _():
    return {"at": _size_curves([0.5, 0.9], csr_index=0)}


@case("06", 'all((n < c for n, c in zip(at["neurons removed"], at["csr int32"])))')
def _():  # neurons removed by the density instead of the sparsity
    return {"at": _size_curves([0.5, 0.9], neurons=lambda model, s: 1 - s)}


@case("06", 'sizes["LeNet-300-100", 0.5, "masked"] == measure.model_bytes(lenet) / 2 ** 10')
def _():  # masked counted as its non-zeros
    kib = 4 * measure.nonzero_count(lenet(), magnitude_masks(lenet(), 0.5)) / 2**10
    return {"sizes": {("LeNet-300-100", 0.5, "masked"): kib}, "measure": measure, "lenet": lenet()}


@case("06", 'sizes["LeNet-300-100", 0.9, "neurons removed"] < sizes["LeNet-300-100", 0.9, "csr"]')
def _():  # the neurons' rows zeroed but stored dense
    variants = measure.pruned_variants(lenet(), 0.9)
    sizes = {
        ("LeNet-300-100", 0.9, "neurons removed"): measure.model_bytes(lenet(), variants["neurons removed"][0]) / 2**10,
        ("LeNet-300-100", 0.9, "csr"): measure.model_bytes(lenet(), variants["csr"][0], "csr") / 2**10,
    }
    return {"sizes": sizes}


# ---- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", ["00", "06"])
def test_every_assert_of_the_notebook_has_a_case(notebook):
    found = {_norm(a) for a in notebook_asserts(notebook)}
    cases = {expr for nb, expr in CASES if nb == notebook}
    assert found - cases == set(), "asserts without a case showing them fire"
    assert cases - found == set(), "cases of asserts no longer in the notebook"


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]}: {k[1][:60]}")
def test_the_assert_fires_on_a_broken_library(key):
    namespace = CASES[key]()
    with pytest.raises(AssertionError):
        exec(compile(f"assert {key[1]}", "<notebook assert>", "exec"), dict(namespace))
