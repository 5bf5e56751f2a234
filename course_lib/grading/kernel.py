"""The student's kernel, driven one cell at a time, and the student's functions as seen by a check.

:class:`Kernel` starts a fresh ``python3`` kernel of the grader's own Python (not a kernelspec
that may point elsewhere) in a working directory of the grader's choosing, runs cells in it
one at a time and gives each cell's reply; a cell past the timeout is interrupted and replies
``Timeout``. :class:`StudentFunction` is what a check calls when it calls, say,
``my_magnitude_mask``: the arguments go to the kernel, the student's function runs there
(:func:`course_lib.grading.student.serve`) and the result and the arguments as the call left
them come back as data (:mod:`.wire`). An exception in the student's code becomes a
:class:`StudentError` that names the call's inputs and the student's line.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import time
from pathlib import Path
from typing import Any

import torch
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.grading.wire import decode, encode, first_change, loads, walk

__all__ = ["Kernel", "OutOfTime", "StudentError", "StudentFunction", "describe"]


class OutOfTime(Exception):
    """The notebook's time limit (:attr:`Kernel.deadline`) has passed: nothing more runs."""


class StudentError(Exception):
    """The student's code raised (or timed out, or its kernel died) during a check's call.

    ``ename`` is the student's exception type name (``"Timeout"``, ``"DeadKernel"``); the
    message names the call with its inputs and, where known, the student's line.
    """

    def __init__(self, ename: str, message: str):
        super().__init__(message)
        self.ename = ename


def describe(value: Any, depth: int = 0) -> str:
    """A short description of a check's input: small tensors by value, others by shape and dtype.

    >>> describe(torch.tensor([1.0, -2.0, 1 / 3]))
    'tensor([1.0, -2.0, 0.3333])'
    >>> describe({"fc1.weight": torch.zeros(300, 784)})
    "{'fc1.weight': float32 tensor of shape (300, 784)}"
    """
    if isinstance(value, torch.Tensor):
        if value.numel() <= 6 and value.dim() <= 1:
            values = [float(f"{v:.4g}") if isinstance(v, float) else v for v in value.tolist()]
            return f"tensor({values})"
        return f"{str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, dict) and depth < 2:
        items = [f"{k!r}: {describe(v, depth + 1)}" for k, v in list(value.items())[:4]]
        return "{" + ", ".join(items) + (", ..." if len(value) > 4 else "") + "}"
    if isinstance(value, (list, tuple)) and depth < 2 and len(value) <= 6:
        inner = ", ".join(describe(v, depth + 1) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, torch.Generator):
        return "a torch.Generator"
    if isinstance(value, torch.nn.Module):
        return repr(value).splitlines()[0].rstrip("(") + " module"
    text = f"{value:.4g}" if isinstance(value, float) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _input_name(path: str) -> str:
    """``"[0][1]['fc1']"`` (a :func:`~course_lib.grading.wire.first_change` path in ``(args, kwargs)``)
    as ``"argument 2['fc1']"``; ``"[1]['generator'].grad"`` as ``"generator.grad"``.

    >>> _input_name("[0][1]['fc1']"), _input_name("[1]['model'].fc1.weight.grad")
    ("argument 2['fc1']", 'model.fc1.weight.grad')
    """
    positional = re.match(r"\[0\]\[(\d+)\](.*)", path)
    if positional:
        return f"argument {int(positional.group(1)) + 1}{positional.group(2)}"
    keyword = re.match(r"\[1\]\['(\w+)'\](.*)", path)
    return f"{keyword.group(1)}{keyword.group(2)}" if keyword else path


class Kernel:
    """A fresh kernel of the current Python, working in ``cwd``; a context manager.

    Args:
        cwd: the kernel's working directory (the grader's temporary directory).
        timeout: seconds one cell may run before it is interrupted and replies ``Timeout``.
        env: the kernel's environment variables (default: this process's).
    """

    def __init__(self, cwd: str | Path, timeout: int, env: dict[str, str] | None = None):
        import ipykernel.kernelspec
        from jupyter_client.kernelspec import KernelSpec
        from jupyter_client.manager import AsyncKernelManager
        from nbclient import NotebookClient

        class CurrentEnvKernelManager(AsyncKernelManager):
            """python3 from the Python that runs the grader, whatever kernelspecs say."""

            @property
            def kernel_spec(self) -> KernelSpec:
                if self._kernel_spec is None:
                    self._kernel_spec = KernelSpec(
                        resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
                    )
                return self._kernel_spec

        self.cwd, self.timeout, self.env = Path(cwd), timeout, env
        #: ``time.monotonic()`` past which no cell runs (:class:`OutOfTime`); None: no limit.
        self.deadline: float | None = None
        self._reply: dict[str, Any] = {}
        self.client = NotebookClient(
            new_notebook(cells=[new_code_cell("")]),  # cells run at index 0 of this scratch notebook
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "Timeout", "evalue": f"the cell ran past {timeout} s", "traceback": []},
            kernel_manager_class=CurrentEnvKernelManager,
            on_cell_executed=self._on_executed,
            resources={"metadata": {"path": str(cwd)}},
        )
        self._stack = contextlib.ExitStack()

    def _on_executed(self, cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        self._reply = execute_reply.get("content", {})

    def __enter__(self) -> Kernel:
        devnull = self._stack.enter_context(open(os.devnull, "w"))  # the kernel's log is not the grade
        self.client.reset_execution_trackers()
        extra = {} if self.env is None else {"env": self.env}
        self._stack.enter_context(self.client.setup_kernel(stderr=devnull, **extra))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def run(self, cell: NotebookNode | str, timeout: int | None = None) -> dict[str, Any]:
        """Run one code cell (its outputs are written into it); return the kernel's reply content
        (``status``, and on an error ``ename``, ``evalue``, ``traceback``).

        Args:
            cell: a code cell, or its source.
            timeout: seconds for this cell (default: the kernel's ``timeout``).

        Raises:
            nbclient.exceptions.DeadKernelError: the kernel died.
            OutOfTime: :attr:`deadline` has passed (the cell does not run); a cell that would
                run past it gets only the time left.
        """
        cell = new_code_cell(cell) if isinstance(cell, str) else cell
        limit = self.timeout if timeout is None else timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise OutOfTime("the notebook's time limit has passed")
            limit = max(1, min(limit, math.ceil(left)))
        self._reply = {}
        self.client.timeout = limit
        try:
            self.client.execute_cell(cell, 0)
        finally:
            self.client.timeout = self.timeout
        return self._reply

    def out_of_time(self) -> bool:
        """Whether :attr:`deadline` has passed."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def responsive(self, seconds: int | None = None) -> bool:
        """Whether the kernel runs an empty cell within ``seconds`` (default: the cell timeout,
        between 2 and 10 s); False after a cell that ignored the interrupt and still runs."""
        from nbclient.exceptions import DeadKernelError

        wait = min(10, max(2, self.timeout)) if seconds is None else seconds
        try:
            return self.run("pass", timeout=wait).get("status") == "ok"
        except DeadKernelError:
            return False

    def restart(self) -> None:
        """Kill the kernel and start a fresh one in the same directory (everything defined is lost).

        Raises:
            RuntimeError: the new kernel does not answer within a minute (from jupyter_client).
        """
        from jupyter_core.utils import run_sync

        assert self.client.km is not None and self.client.kc is not None
        run_sync(self.client.km._async_restart_kernel)(now=True)  # the async manager's coroutine
        run_sync(self.client.kc._async_wait_for_ready)(timeout=60)

    def exit_reason(self) -> str:
        """Why the kernel process ended, when a resource limit killed it (else ``""``)."""
        import signal

        process = getattr(getattr(self.client.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        reasons = {
            -signal.SIGXCPU: "it used up its CPU time limit",
            -signal.SIGKILL: "it was killed (SIGKILL: out of memory, or by the notebook's own code)",
        }
        return reasons.get(code, "") if code is not None else ""


class StudentFunction:
    """The student's function ``name``, called in ``kernel`` from a check in the grader's process.

    Calling it pickles the arguments (with the grader's global torch random state and grad
    mode) to the kernel, runs the function there, updates the arguments in place as the call
    left them and returns the result rebuilt from data only.

    Raises (when called):
        StudentError: the student's code raised, timed out or killed the kernel, or returned
            something that cannot be read back as data.
    """

    def __init__(self, name: str, kernel: Kernel):
        self.__name__ = self.name = name
        self.kernel = kernel

    def __repr__(self) -> str:
        return f"<the student's {self.name}>"

    def _call_text(self, args: tuple, kwargs: dict) -> str:
        parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
        return f"{self.name}({', '.join(parts)})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from nbclient.exceptions import DeadKernelError

        call = self._call_text(args, kwargs)
        objects = walk((args, kwargs))
        snapshot = encode((args, kwargs))
        in_path, out_path = self.kernel.cwd / ".grader-call.pt", self.kernel.cwd / ".grader-result.pt"
        out_path.unlink(missing_ok=True)
        grads = [o.grad if isinstance(o, torch.Tensor) and o.is_leaf else None for o in objects]  # not pickled
        torch.save((args, kwargs, grads, torch.get_rng_state(), torch.is_grad_enabled()), in_path)
        source = (
            "__import__('course_lib.grading.student', fromlist=['serve'])"
            f".serve(globals(), {self.name!r}, {str(in_path)!r}, {str(out_path)!r})"
        )
        try:
            reply = self.kernel.run(source)
        except DeadKernelError:
            raise StudentError("DeadKernel", f"{call} killed the kernel") from None
        except OutOfTime:
            raise StudentError("OutOfTime", f"{call} was not run: the notebook ran past its time limit") from None
        if reply.get("status") != "ok":
            ename = reply.get("ename", "Error")
            if ename == "Timeout" and self.kernel.out_of_time():
                raise StudentError("OutOfTime", f"{call} was stopped: the notebook ran past its time limit")
            raise StudentError(ename, f"{call} raised {ename}: {reply.get('evalue', '')}".rstrip(": "))
        try:
            outcome, after, rng_state = loads(out_path.read_bytes())
            decode(after, objects)
            torch.set_rng_state(rng_state)
        except FileNotFoundError:
            raise StudentError(
                "BadResult", f"{call}: no result came back (did a cell of yours change how cells run?)"
            ) from None
        except Exception as e:
            raise StudentError("BadResult", f"{call}: its result could not be read back ({e})") from None
        if outcome[0] == "error":
            _, ename, message, line = outcome
            text = f"{call} raised {ename}" + (f": {message}" if message else "")
            raise StudentError(ename, text + (f" (your code, {line})" if line else ""))
        changed = first_change(snapshot, encode((args, kwargs)))
        if changed:  # a check computing its expectation from the inputs afterwards would be steered
            raise StudentError(
                "AssertionError",
                f"{call} changed its input ({_input_name(changed)}): "
                "leave the inputs as they are and return new values",
            )
        return decode(outcome[1], objects)
