"""The grader's side inside the student's kernel: calling the student's functions, hiding references.

When the grader grades a notebook, the checks run in the grader's own process (see
:mod:`.proxy`). The student's kernel only runs the student's code: the grader imports this
module there and calls :func:`serve` for each call a check makes. :func:`block` first replaces,
in every ``course_lib`` module, the reference functions that the exercises ask the student to
write with :func:`unavailable` stubs, so a solution that delegates to the library earns nothing.

Nothing here decides a grade: a kernel that tampers with this module can only change the
values it sends back, and those are compared in the grader with references the kernel never
sees. A student's own use of ``course_lib`` outside grading is unchanged.
"""

from __future__ import annotations

import functools
import importlib
import linecache
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import torch

from course_lib.grading.wire import dumps, encode, walk

__all__ = ["block", "guard", "limit", "unavailable", "serve", "student_line"]


def unavailable(path: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in for the reference function ``path`` that raises when called.

    It has the original's name and docstring but keeps no reference to it (no ``__wrapped__``,
    no closure over it), so the original cannot be reached through the stand-in.

    Raises (when called):
        RuntimeError: naming ``path`` and saying that the exercise asks for the student's own code.
    """
    message = f"{path} is not available while grading: the exercise asks you to write it yourself"

    def stub(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(message)

    stub.__name__ = stub.__qualname__ = original.__name__
    stub.__doc__ = original.__doc__
    return stub


def _replace(module: Any, original: Any, stub: Any) -> list[str]:
    """Put ``stub`` wherever ``module`` holds ``original``: its attributes, and the values of its
    dicts and lists (tables of methods such as ``{"snip": snip_scores}``). The places replaced."""
    replaced = []
    for attr, value in list(vars(module).items()):
        if value is original:
            setattr(module, attr, stub)
            replaced.append(f"{module.__name__}.{attr}")
        elif isinstance(value, dict):
            for key in [k for k, v in value.items() if v is original]:
                value[key] = stub
                replaced.append(f"{module.__name__}.{attr}[{key!r}]")
        elif isinstance(value, list):
            for i in [i for i, v in enumerate(value) if v is original]:
                value[i] = stub
                replaced.append(f"{module.__name__}.{attr}[{i}]")
    return replaced


def block(paths: Iterable[str]) -> list[str]:
    """Replace each reference function ``"package.module.name"`` wherever ``course_lib`` holds it.

    Every module of ``course_lib`` already imported (the package imports them all) whose
    attribute, or a value of whose dict or list attribute, is the same function object gets
    the stub, so ``course_lib.magnitude_mask``, ``course_lib.pruning.magnitude_mask``, ``from
    course_lib.pruning.magnitude import magnitude_mask`` and a table of methods all fail alike.

    Args:
        paths: dotted paths of functions of ``course_lib``.

    Returns:
        The places replaced (``"module.name"`` or ``"module.table[key]"``), sorted.

    Raises:
        ValueError: a path outside ``course_lib`` or one that names no function.
    """
    importlib.import_module("course_lib")
    replaced = []
    for path in paths:
        module_name, _, name = path.rpartition(".")
        if module_name.split(".")[0] != "course_lib":
            raise ValueError(f"paths: only functions of course_lib can be blocked, got {path!r}")
        original = getattr(importlib.import_module(module_name), name, None)
        if not callable(original):
            raise ValueError(f"paths: {path!r} is not a function of course_lib")
        stub = unavailable(path, original)
        for mod_name, module in list(sys.modules.items()):
            if mod_name.split(".")[0] == "course_lib" and module is not None:
                replaced += _replace(module, original, stub)
    return sorted(replaced)


_CELL_FILES = ("ipykernel_", "<ipython-input")


def _called_from_student_code(course_cells: frozenset[str]) -> bool:
    """Whether the innermost notebook-cell frame calling us is a function (or lambda) of the
    student's: not one of the course's own cells (a check, setup or demo cell: its source is one
    of ``course_cells``) and not a cell's top level."""
    frame = sys._getframe(2)
    while frame is not None and not any(c in frame.f_code.co_filename for c in _CELL_FILES):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None or frame.f_code.co_name == "<module>":
        return False  # a library call, or a student's scratch cell exploring the library
    source = "".join(linecache.getlines(frame.f_code.co_filename)).strip()
    return source not in course_cells


def _guarded(path: str, original: Callable[..., Any], course_cells: frozenset[str]) -> Callable[..., Any]:
    message = f"{path} is not available while grading: the exercise asks you to write it yourself"

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _called_from_student_code(course_cells):
            raise RuntimeError(message)
        return original(*args, **kwargs)

    guarded.__name__ = guarded.__qualname__ = original.__name__
    guarded.__doc__ = original.__doc__
    guarded.hidden_message = message  # type: ignore[attr-defined]
    return guarded


def _unalias(names: list[str], shell: Any) -> None:
    """After each cell: a student's name bound straight to a guarded reference (``my_f =
    course_lib.f``, or a ``functools.partial`` of it) is rebound to a stand-in that raises
    the grader's message, as it would fail when graded."""
    for name in names:
        value = shell.user_ns.get(name)
        target = value.func if isinstance(value, functools.partial) else value
        message = getattr(target, "hidden_message", None)
        if message:
            shell.user_ns[name] = unavailable(message.split(" ")[0], target)


def guard(notebook: str) -> list[str]:
    """In the student's own kernel (JupyterLab): the references of exercise ``notebook`` fail when
    the student's code calls them, as they do when graded.

    The setup cell of each exercise calls this, so that a check cell run in JupyterLab gives
    the grader's verdict: a ``my_...`` function (or lambda, or alias) that calls the library's
    version of itself fails with the grader's message, while the check cells and the
    student's scratch cells (at a cell's top level) still call the library. Does nothing
    outside an IPython kernel (the grader runs the setup cells in its own process too), in
    the grading kernel (where :func:`block` already hid them) and where the solution
    notebook is not at hand (``course_lib`` installed without the repository's solutions/).

    Args:
        notebook: the exercise's file name, e.g. ``"01_magnitude_exercise.ipynb"`` (its solution in
            ``solutions/`` names the references, the checks and the student's functions).

    Returns:
        The places guarded (as :func:`block`); empty when it did nothing.
    """
    from IPython import get_ipython

    from course_lib.grading.load import DEFAULT_SOLUTIONS, load
    from course_lib.grading.run import Roles

    shell = get_ipython()
    solution = DEFAULT_SOLUTIONS / notebook
    if shell is None or not solution.is_file():
        return []
    nb = load(solution)
    roles = Roles(nb)
    course_cells = frozenset(  # checks, and the setup cell's helpers that checks call
        c.source.strip() for c in nb.cells if c.cell_type == "code" and not c.metadata.get("course", {}).get("solution")
    )
    places: list[str] = []
    for path in roles.references:
        module_name, _, name = path.rpartition(".")
        original = getattr(importlib.import_module(module_name), name)
        if original.__code__.co_name in ("stub", "guarded"):
            continue  # already hidden (the grading kernel) or guarded (the setup cell ran again)
        wrapper = _guarded(path, original, course_cells)
        for mod_name, module in list(sys.modules.items()):
            if mod_name.split(".")[0] == "course_lib" and module is not None:
                places += _replace(module, original, wrapper)
        for key in [k for k, v in shell.user_ns.items() if v is original]:  # imported by the setup cell
            shell.user_ns[key] = wrapper
            places.append(f"{key} (the notebook's name)")
    if places:
        shell.events.register("post_run_cell", lambda *_: _unalias(roles.student_names, shell))
    return sorted(places)


def limit(memory_mb: int, cpu_seconds: int, file_mb: int) -> None:
    """Cap this process (the kernel): address space, CPU time and the size of any file it writes.

    Past the memory limit an allocation raises (``MemoryError`` or torch's ``RuntimeError``);
    past the file size a write raises ``OSError`` ("File too large": Python ignores
    ``SIGXFSZ``); past the CPU time the kernel gets ``SIGXCPU``, which ends it (the grader
    names the reason). Soft and hard limits are set alike; a process
    running as root could raise them again: this is a guard against accidents, not a sandbox.
    Does nothing on a platform without the ``resource`` module (Windows).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    for which, value in (
        (resource.RLIMIT_AS, memory_mb * 2**20),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_FSIZE, file_mb * 2**20),
    ):
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def student_line(error: BaseException) -> str:
    """``"line N: source"`` of the last frame of ``error``'s traceback in a notebook cell, or ``""``.

    IPython compiles each cell to a file named ``<ipython-input-...>`` or
    ``.../ipykernel_<pid>/<hash>.py`` and keeps its source in ``linecache``.
    """
    cells = ("ipykernel_", "<ipython-input")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if any(c in f.filename for c in cells)]
    if not frames:
        return ""
    last = frames[-1]
    text = (last.line or linecache.getline(last.filename, last.lineno or 0)).strip()
    return f"line {last.lineno}: {text}"


def serve(namespace: dict[str, Any], name: str, in_path: str, out_path: str) -> None:
    """Call the student's ``namespace[name]`` on the arguments in ``in_path``; write what happened.

    ``in_path`` holds ``(args, kwargs, grads, rng_state, grad_enabled)`` pickled by the grader:
    ``grads`` are the ``.grad`` of the argument tensors in :func:`~course_lib.grading.wire.walk`
    order (pickling drops them); the global torch random state and grad mode are set as in the
    grader's process.
    ``out_path`` gets :func:`~course_lib.grading.wire.dumps` of ``(outcome, args_after,
    rng_state)``, where ``outcome`` is ``("ok", encoded result)`` or ``("error", type name,
    message, student line)``; the arguments are encoded after the call, so the grader sees
    what the call changed in them.
    """
    args, kwargs, grads, rng_state, grad_enabled = torch.load(in_path, weights_only=False)
    objects = walk((args, kwargs))
    for obj, grad in zip(objects, grads, strict=True):
        if grad is not None:
            obj.grad = grad
    refs = {id(o): i for i, o in enumerate(objects)}
    torch.set_rng_state(rng_state)
    try:
        if name not in namespace:
            raise NameError(f"name {name!r} is not defined: run the cell that defines it")
        with torch.set_grad_enabled(grad_enabled):
            result = namespace[name](*args, **kwargs)
        outcome: tuple = ("ok", encode(result, refs))
    except Exception as error:  # the student's code raised: the grader reports it
        outcome = ("error", type(error).__name__, str(error)[:2000], student_line(error))
    after = encode((args, kwargs), refs)
    with open(out_path, "wb") as f:
        f.write(dumps((outcome, after, torch.get_rng_state())))
