"""Where training runs: the device, and on the CPU how many threads.

* :func:`resolve_device` turns ``"auto"``, ``"cpu"``, ``"cuda"``, ... into a ``torch.device``;
* :func:`auto_threads` / :func:`run_threads` choose torch's CPU threads for a run from the
  model's size and work per example, :func:`num_threads` sets them for a ``with`` block.

The trainers (:func:`course_lib.training.train.train`,
:func:`course_lib.training.stacked.train_many`), the lottery study and the command line
(``--device``) take a ``device`` and check it here, so they accept the same values and
raise the same errors. The default everywhere is the CPU: the course runs on a laptop;
``"auto"`` or ``"cuda"`` runs the CIFAR-10-size versions on a GPU where there is one.

>>> resolve_device("cpu"), resolve_device(None)
(device(type='cpu'), device(type='cpu'))
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import torch

from course_lib._checks import check_int, check_threads

__all__ = [
    "DEVICES",
    "resolve_device",
    "available_devices",
    "COMPUTE_BOUND_MACS",
    "auto_threads",
    "run_threads",
    "num_threads",
]

#: What :func:`resolve_device` accepts (besides a ``torch.device`` and ``None``).
DEVICES = ("auto", "cpu", "cuda", "cuda:N")

_CUDA_INDEX = re.compile(r"cuda:(\d+)")


def available_devices() -> list[str]:
    """The devices this machine offers: ``["cpu"]``, then ``"cuda:0"``, ``"cuda:1"``, ... if CUDA is available.

    Returns:
        A list of device names (strings), the CPU first.

    >>> available_devices()[0]
    'cpu'
    """
    cuda = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return ["cpu", *cuda]


def _cuda(index: int | None, asked: object, name: str) -> torch.device:
    """``torch.device("cuda"[, index])`` if this machine has it, else a ``ValueError`` saying what it has."""
    available = available_devices()
    if len(available) == 1:
        raise ValueError(
            f"{name}={asked!r} asks for CUDA, but torch.cuda.is_available() is False here "
            f"(no GPU, or a CPU-only torch build); available: {', '.join(available)}. "
            f"Use {name}='cpu' or 'auto'"
        )
    if index is not None and index >= len(available) - 1:
        raise ValueError(f"{name}={asked!r}: there is no GPU {index} here; available: {', '.join(available)}")
    return torch.device("cuda") if index is None else torch.device("cuda", index)


def resolve_device(device: object = "cpu", name: str = "device") -> torch.device:
    """The ``torch.device`` a ``device`` argument names, checked against this machine.

    Args:
        device: ``"auto"`` (the first GPU if CUDA is available, else the CPU), ``"cpu"``,
            ``"cuda"`` (the current GPU), ``"cuda:N"`` (GPU number ``N``), a ``torch.device``
            of type ``cpu`` or ``cuda``, or ``None`` (the CPU). Strings are case-insensitive
            and may have spaces around them.
        name: the argument's name in error messages (e.g. ``"--device"``).

    Returns:
        A ``torch.device``: ``device(type='cpu')``, ``device(type='cuda')`` or
        ``device(type='cuda', index=N)``.

    Raises:
        ValueError: CUDA asked for (``"cuda"``, ``"cuda:N"``, a cuda ``torch.device``) on a
            machine without it, or a GPU number it does not have (the message lists the
            available devices); any other string or device type (the message lists
            :data:`DEVICES`).
        TypeError: ``device`` is neither a string, a ``torch.device`` nor ``None``.

    >>> resolve_device(" CPU ")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be one of 'auto', 'cpu', 'cuda', 'cuda:N' (a GPU number) or a torch.device, got 'tpu'
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        if device.type == "cpu":
            return torch.device("cpu")
        if device.type == "cuda":
            return _cuda(device.index, device, name)
    elif isinstance(device, str):
        text = device.strip().lower()
        if text == "cpu":
            return torch.device("cpu")
        if text == "auto":
            return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        if text == "cuda":
            return _cuda(None, device, name)
        match = _CUDA_INDEX.fullmatch(text)
        if match:
            return _cuda(int(match.group(1)), device, name)
    else:
        raise TypeError(
            f"{name} must be a string such as 'cpu' or 'cuda', or a torch.device, got {type(device).__name__}"
        )
    accepted = ", ".join(repr(d) for d in DEVICES[:-1])
    raise ValueError(
        f"{name} must be one of {accepted}, {DEVICES[-1]!r} (a GPU number) or a torch.device, got {device!r}"
    )


#: Multiply-accumulates per example from which a model counts as compute-bound
#: (:func:`auto_threads`): the course's conv nets do 1-2 M, LeNet-300-100 0.27 M.
COMPUTE_BOUND_MACS = 500_000


def auto_threads(n_params: int, macs_per_example: int | None = None) -> int:
    """CPU threads used to train a model when none are given, from its size and its work per example.

    * Small MLPs (below 1,000,000 parameters and ``COMPUTE_BOUND_MACS`` MACs per example,
      up to LeNet-300-100): 1 thread. Per-step overhead dominates, and on a shared CPU
      two OpenMP threads wait on each other (measured here under load: a LeNet step took
      5x longer on 2 threads than on 1).
    * Compute-bound models (conv nets: few parameters, 1-2 M MACs per 28x28 picture):
      all of torch's threads but one, at least 1. Measured on this 2-core machine (one
      epoch of MNIST-5k, channels_last): Conv-4 1.3-1.7 s on 1 thread, 0.6-4.2 s on 2;
      VGG-11 1.3-1.5 s on 1, 1.3-12.6 s on 2 when other processes ran. A second thread
      pays only on an otherwise idle machine; one core left for the rest of the system
      (Jupyter, a second test worker) avoids the cliff.
    * Models above 1,000,000 parameters: ``torch.get_num_threads()``.

    Args:
        n_params: the model's number of parameters (int >= 0).
        macs_per_example: multiply-accumulates of one forward pass per example
            (:func:`course_lib.measure.work.macs`); ``None``: ``n_params`` (an MLP does one
            MAC per weight).

    Returns:
        The number of threads, an ``int`` >= 1.

    Raises:
        ValueError: a negative or non-int ``n_params`` or ``macs_per_example``.

    >>> auto_threads(266_610), auto_threads(266_610, 266_200)
    (1, 1)
    >>> auto_threads(470_690, 983_808) == max(1, torch.get_num_threads() - 1)
    True
    """
    n_params = check_int(n_params, "n_params", 0)
    work = n_params if macs_per_example is None else check_int(macs_per_example, "macs_per_example", 0)
    if n_params >= 1_000_000:
        return torch.get_num_threads()
    if work >= COMPUTE_BOUND_MACS:
        return max(1, torch.get_num_threads() - 1)
    return 1


def run_threads(threads: object, n_params: int, macs_per_example: int | None = None) -> int:
    """The CPU threads a run uses: ``threads`` if given (an int >= 1), else :func:`auto_threads`.

    Args:
        threads: an int >= 1, or ``None`` to choose by model size and work.
        n_params: the model's parameter count (of one run).
        macs_per_example: its MACs per example (``None``: ``n_params``, as for an MLP).

    Returns:
        An ``int`` >= 1.

    Raises:
        ValueError: ``threads`` is not ``None`` or an int >= 1.

    >>> run_threads(None, 266_610), run_threads(2, 266_610)
    (1, 2)
    """
    checked = check_threads(threads)
    return auto_threads(n_params, macs_per_example) if checked is None else checked


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Context manager: run torch on ``n`` CPU threads (``None``: keep), restoring the previous number after.

    Args:
        n: the number of threads (int >= 1), or ``None`` to keep the current one.

    Returns:
        A context manager; it yields ``None``.

    Raises:
        ValueError: (on entering the ``with`` block, :func:`course_lib._checks.check_threads`)
            ``n`` is neither ``None`` nor an int >= 1.

    >>> before = torch.get_num_threads()
    >>> with num_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    threads = check_threads(n)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
