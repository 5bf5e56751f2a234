"""Energy per inference, estimated from the cost of each operation in 45 nm.

The table is Fig. 1.1.9 of M. Horowitz, "Computing's energy problem (and what we
can do about it)", IEEE ISSCC 2014, pp. 10-14, doi:10.1109/ISSCC.2014.6757323
(45 nm, 0.9 V; 32-bit operands; SRAM read from an 8 KB array; DRAM read of 32
bits), the table on the lecture's "Energy" slide. Energies in picojoules:

=====================  ======
32-bit int add            0.1
32-bit float add          0.9
32-bit register file      1
32-bit int mult           3.1
32-bit float mult         3.7
32-bit SRAM read (8 KB)   5
32-bit DRAM read        640
=====================  ======

The model of one inference (a deliberately simple one; state it when quoting it):

* **compute**: one float multiply and one float add per MAC
  (:mod:`course_lib.measure.work`); a dense format multiplies every weight, zeros
  included; ``"csr"`` and ``"shrunk"`` only the stored non-zeros;
* **weight reads**: every stored 32-bit word (weights, biases, and for CSR its
  int32 indices) is read once per batch, so once per ``batch_size`` inferences.
  The first ``cache_bytes`` of the model come from on-chip SRAM, the rest from
  DRAM (``cache_bytes=0``: the model does not fit on chip, everything from DRAM);
* not counted: activations, register files, control, CSR index arithmetic.

Han et al. 2015 ("Learning both weights and connections for efficient neural
networks", NeurIPS 2015, Figure 1) quote the same table for the same argument: a
model that no longer fits on chip pays for DRAM reads, which cost far more than
the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
from torch import nn

from course_lib._checks import check_int
from course_lib.measure.size import check_fmt, model_bytes, shrunk
from course_lib.measure.work import macs

__all__ = ["HOROWITZ_45NM", "energy_table", "EnergyBreakdown", "energy_per_inference"]

#: picojoules per 32-bit operation, 45 nm, 0.9 V (Horowitz, ISSCC 2014).
HOROWITZ_45NM: dict[str, float] = {
    "int_add": 0.1,
    "float_add": 0.9,
    "register_file": 1.0,
    "int_mult": 3.1,
    "float_mult": 3.7,
    "sram_read": 5.0,
    "dram_read": 640.0,
}

_LABELS = {
    "int_add": "32 bit int ADD",
    "float_add": "32 bit float ADD",
    "register_file": "32 bit Register File",
    "int_mult": "32 bit int MULT",
    "float_mult": "32 bit float MULT",
    "sram_read": "32 bit SRAM Cache (8 KB)",
    "dram_read": "32 bit DRAM Memory",
}


def energy_table() -> list[tuple[str, float]]:
    """The slide's table (Horowitz 2014, 45 nm) as ``(operation, picojoules)`` rows, cheapest first.

    Returns:
        The 7 rows of :data:`HOROWITZ_45NM`: a label as on the slide (``str``) and the
        energy of one 32-bit operation in pJ (``float``), by ascending energy.

    >>> energy_table()[0], energy_table()[-1]
    (('32 bit int ADD', 0.1), ('32 bit DRAM Memory', 640.0))
    """
    return [(_LABELS[k], v) for k, v in sorted(HOROWITZ_45NM.items(), key=lambda kv: kv[1])]


@dataclass(frozen=True)
class EnergyBreakdown:
    """Picojoules (pJ) of one inference, by where they go (see :func:`energy_per_inference`).

    Attributes:
        mult_pj: float multiplies, one per MAC computed.
        add_pj: float adds, one per MAC computed.
        sram_pj: weight words read from on-chip SRAM, per inference.
        dram_pj: weight words read from DRAM, per inference.
    """

    mult_pj: float
    add_pj: float
    sram_pj: float
    dram_pj: float

    @property
    def compute_pj(self) -> float:
        """Multiplies and adds together (pJ)."""
        return self.mult_pj + self.add_pj

    @property
    def total_pj(self) -> float:
        """Everything counted: compute plus weight reads (pJ)."""
        return self.compute_pj + self.sram_pj + self.dram_pj

    def as_dict(self) -> dict[str, float]:
        """The four parts plus ``compute_pj`` and ``total_pj``, in pJ, keyed by name."""
        return {**asdict(self), "compute_pj": self.compute_pj, "total_pj": self.total_pj}


def energy_per_inference(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor] | None = None,
    fmt: str = "dense",
    cache_bytes: int = 0,
    batch_size: int = 1,
    table: Mapping[str, float] = HOROWITZ_45NM,
) -> EnergyBreakdown:
    """Estimated energy of one inference of ``model`` (with ``masks``) stored as ``fmt``.

    The cost model and its source (Horowitz 2014) are in the module docstring.

    Args:
        model: an MLP whose parameters all sit in ``nn.Linear`` layers.
        masks: parameter name -> bool keep-mask, or ``None``.
        fmt: ``"dense"`` (pruned weights stored and multiplied as zeros: masking
            alone saves nothing), ``"csr"`` (only non-zeros stored and multiplied,
            plus int32 indices read) or ``"shrunk"`` (neurons with fully pruned rows
            removed, :func:`course_lib.shrink_mlp`; needs an ``nn.Sequential``).
        cache_bytes: bytes of the model read from on-chip SRAM (int >= 0); the rest
            comes from DRAM.
        batch_size: inferences per read of the weights (int >= 1).
        table: picojoules per 32-bit operation; needs ``float_mult``, ``float_add``,
            ``sram_read``, ``dram_read`` (default :data:`HOROWITZ_45NM`).

    Returns:
        The :class:`EnergyBreakdown` of one inference, in pJ.

    Raises:
        ValueError: an unknown ``fmt``, ``cache_bytes`` or ``batch_size`` out of range,
            a ``table`` without the four entries, masks that do not fit the model.
        TypeError: a model with parameters outside ``nn.Linear`` layers.

    Worked example: ``Linear(4, 2)`` dense is 8 MACs, so 8 x 3.7 pJ multiplies
    and 8 x 0.9 pJ adds; its 10 parameters are 10 DRAM reads of 640 pJ each.

    >>> e = energy_per_inference(nn.Linear(4, 2))
    >>> round(e.mult_pj, 1), round(e.add_pj, 1), e.sram_pj, e.dram_pj, round(e.total_pj, 1)
    (29.6, 7.2, 0.0, 6400.0, 6436.8)
    >>> energy_per_inference(nn.Linear(4, 2), cache_bytes=16).sram_pj   # 4 words on chip
    20.0
    """
    check_fmt(fmt)
    cache_bytes = check_int(cache_bytes, "cache_bytes", 0)
    batch_size = check_int(batch_size, "batch_size", 1)
    missing = sorted({"float_mult", "float_add", "sram_read", "dram_read"} - set(table))
    if missing:
        raise ValueError(f"table must give picojoules for {missing}")
    if fmt == "shrunk":
        n_macs = macs(shrunk(model, masks), None, skip_zeros=True)
    else:
        n_macs = macs(model, masks, skip_zeros=fmt != "dense")
    stored = model_bytes(model, masks, fmt)
    words = stored / 4
    sram_words = min(stored, cache_bytes) / 4
    return EnergyBreakdown(
        mult_pj=n_macs * table["float_mult"],
        add_pj=n_macs * table["float_add"],
        sram_pj=sram_words * table["sram_read"] / batch_size,
        dram_pj=(words - sram_words) * table["dram_read"] / batch_size,
    )
