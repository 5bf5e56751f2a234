"""Why prune, measured: size, work (MACs/FLOPs), latency and energy.

``from course_lib import measure`` gives everything in one namespace; each concern
lives in its own short module:

* :mod:`course_lib.measure.size`: parameter and non-zero counts, bytes in memory and
  on disk, stored dense, as CSR (int32 indices) or with neurons removed;
* :mod:`course_lib.measure.work`: multiply-accumulates per sample, dense or skipping zeros
  (conv nets: with ``input_size``);
* :mod:`course_lib.measure.timing`: time per batch (warm-up, repeats, median, spread),
  sweeps of latency against sparsity, and what may be said of them: the speedup of one
  version over another paired run by run, with its quartiles (:func:`speedup`), and whether
  a run was too noisy to read (:func:`noise_note`);
* :mod:`course_lib.measure.sparse`: a pruned MLP run in CSR, or 2:4 on a suitable GPU;
* :mod:`course_lib.measure.energy`: an energy estimate per inference from Horowitz's
  45 nm table (ISSCC 2014);
* :mod:`course_lib.measure.costs`: all of them for the four ways the course stores a
  pruned MLP at one sparsity of the weights (:func:`pruned_variants`, :func:`pruning_costs`,
  :func:`pruned_models`, :func:`variant_accuracy`; :func:`neuron_fraction`,
  :func:`removed_fraction`);
* :mod:`course_lib.measure.conv_costs`: conv nets side by side (dense, masked, channels
  removed): parameters, size in KiB, MACs, and latency per batch of 64 and per picture
  (:func:`conv_costs`).

Units: sizes in bytes (notebooks print KiB or MiB; :func:`conv_costs`' ``size_kib``: KiB), work in
MACs per sample (FLOPs = 2 x MACs), times in seconds (``*_ms``: milliseconds), energies in
picojoules (pJ).

>>> from course_lib.training.models import lenet_300_100
>>> net = lenet_300_100()
>>> param_count(net), macs(net, skip_zeros=False), model_bytes(net)
(266610, 266200, 1066440)
"""

# Each module's public names, and only those: the modules' own __all__ lists are the one record.
from course_lib.measure import (
    conv_costs as _conv_costs,
)  # noqa: I001
from course_lib.measure import (
    costs as _costs,
)
from course_lib.measure import (
    energy as _energy,
)
from course_lib.measure import (
    size as _size,
)
from course_lib.measure import (
    sparse as _sparse,
)
from course_lib.measure import (
    timing as _timing,
)
from course_lib.measure import (
    work as _work,
)
from course_lib.measure.conv_costs import *  # noqa: F403
from course_lib.measure.costs import *  # noqa: F403
from course_lib.measure.energy import *  # noqa: F403
from course_lib.measure.size import *  # noqa: F403
from course_lib.measure.sparse import *  # noqa: F403
from course_lib.measure.timing import *  # noqa: F403
from course_lib.measure.work import *  # noqa: F403

__all__ = [
    *_conv_costs.__all__,
    *_costs.__all__,
    *_energy.__all__,
    *_size.__all__,
    *_sparse.__all__,
    *_timing.__all__,
    *_work.__all__,
]
