"""Values crossing between the grader and the student's kernel, in both directions.

The grader runs each check in its own process and calls the student's functions in the
student's kernel (:mod:`.student`, :mod:`.proxy`). The arguments go to the kernel pickled
(the grader wrote them; the kernel may load anything). What comes back, the return value
and the arguments as the call left them, comes as *data only*: :func:`encode` turns it into
nested tuples of tensors and plain Python values, :func:`dumps` writes that with
``torch.save`` and :func:`loads` reads it with ``torch.load(weights_only=True)``, which
refuses anything that could run code in the grader. :func:`decode` rebuilds the objects:
tensors, dicts, lists, tuples, sets, numbers, strings, ``torch`` generators and modules of
``torch.nn`` (rebuilt from their attributes and parameters); anything else becomes an
:class:`Opaque` that names its type.

Objects that were arguments keep their identity: :func:`walk` numbers the objects inside the
arguments the same way on both sides (pickling keeps the structure), an argument object found
again after the call is sent as ``("same", index, state)`` and :func:`decode` updates the
grader's own object in place. So a check that asserts "must not change ``weight``", reads a
``.grad`` the student's code left behind, or gets an argument back as the result, sees what
it would see if the function ran in its own process.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

__all__ = ["Opaque", "walk", "encode", "decode", "dumps", "loads", "first_change"]

_PLAIN = (bool, int, float, complex, str, bytes, type(None), torch.dtype, torch.Size, torch.device)


class Opaque:
    """A value of a type that cannot cross to the grader (say a numpy array or a lambda).

    ``type_name`` is its type's qualified name and ``text`` its (cut) ``repr``; a check that
    asserts a type or compares the value fails on it, naming the type.
    """

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and (self.type_name, self.text) == (other.type_name, other.text)

    __hash__ = None  # type: ignore[assignment]


def walk(obj: Any, seen: dict[int, int] | None = None, out: list[Any] | None = None) -> list[Any]:
    """The mutable objects inside ``obj`` (itself first), depth first, each once.

    Tensors, modules (then their parameters, buffers and submodules), dicts (values), lists,
    tuples, sets and generators; plain values are skipped. The order depends only on the
    structure, so a pickled copy walks in the same order as the original.
    """
    seen = {} if seen is None else seen
    out = [] if out is None else out
    if isinstance(obj, _PLAIN) or id(obj) in seen:
        return out
    if isinstance(obj, (torch.Tensor, nn.Module, dict, list, tuple, set, torch.Generator)):
        seen[id(obj)] = len(out)
        out.append(obj)
    for child in _children(obj):
        walk(child, seen, out)
    return out


def _children(obj: Any) -> Iterator[Any]:
    if isinstance(obj, nn.Module):
        yield from obj._parameters.values()
        yield from obj._buffers.values()
        yield from obj._modules.values()
    elif isinstance(obj, dict):
        yield from obj.values()
    elif isinstance(obj, (list, tuple)):
        yield from obj
    elif isinstance(obj, set):
        yield from sorted(obj, key=repr)


def _plain_attrs(module: nn.Module) -> dict[str, Any]:
    """The module's own attributes that are plain values (its configuration: sizes, stride, eps...)."""

    def plain(v: Any) -> bool:
        return isinstance(v, _PLAIN) or (isinstance(v, (tuple, list)) and all(map(plain, v)))

    return {k: v for k, v in vars(module).items() if k not in ("_parameters", "_buffers", "_modules") and plain(v)}


def _builtin(obj: Any) -> Any:
    """A subclass of a builtin scalar (``numpy.float64`` is a ``float``) as that builtin, which
    ``weights_only`` loading accepts; other plain values unchanged."""
    base = next((t for t in (bool, int, float, complex, str, bytes) if isinstance(obj, t)), None)
    return base(obj) if base is not None and type(obj) is not base else obj


def encode(obj: Any, refs: dict[int, int] | None = None) -> tuple:
    """``obj`` as nested tuples of tensors and plain values, safe for ``weights_only`` loading.

    Args:
        obj: any value.
        refs: ``{id(object): index}`` of the argument objects (see :func:`walk`); one met again
            is encoded as ``("same", index, state)``.

    Returns:
        A tagged tuple: ``("v", value)``, ``("tensor", data, requires_grad, grad)``,
        ``("dict", [(key, value), ...])``, ``("list"|"tuple"|"set", [...])``,
        ``("module", class path, attributes, parameters, buffers, submodules)``,
        ``("generator", state)``, ``("same", index, state)`` or ``("opaque", type, repr)``.
    """
    refs = {} if refs is None else refs
    if id(obj) in refs and not isinstance(obj, _PLAIN):
        index, refs_left = refs[id(obj)], {k: v for k, v in refs.items() if k != id(obj)}
        return ("same", index, encode(obj, refs_left))
    if isinstance(obj, _PLAIN):
        return ("v", _builtin(obj))
    if isinstance(obj, torch.Tensor):
        grad = obj.grad.detach().clone() if obj.is_leaf and obj.grad is not None else None
        return ("tensor", obj.detach().clone(), obj.requires_grad, grad, isinstance(obj, nn.Parameter))
    if isinstance(obj, dict):
        return ("dict", [(encode(k, refs), encode(v, refs)) for k, v in obj.items()])
    if isinstance(obj, (list, tuple, set)):
        items = sorted(obj, key=repr) if isinstance(obj, set) else obj
        return (type(obj).__name__ if type(obj) in (list, tuple, set) else "tuple", [encode(v, refs) for v in items])
    if isinstance(obj, torch.Generator):
        return ("generator", obj.get_state())
    if isinstance(obj, nn.Module):
        cls = type(obj)
        parts = [
            {k: encode(v, refs) for k, v in getattr(obj, attr).items()}
            for attr in ("_parameters", "_buffers", "_modules")
        ]
        return ("module", f"{cls.__module__}:{cls.__qualname__}", _plain_attrs(obj), *parts)
    return ("opaque", f"{type(obj).__module__}.{type(obj).__qualname__}", repr(obj)[:200])


def _module_class(path: str) -> type[nn.Module]:
    """The nn.Module subclass ``module:qualname`` of torch.nn or course_lib, already imported."""
    mod_name, _, qualname = path.partition(":")
    module = sys.modules.get(mod_name) if mod_name.split(".")[0] in ("torch", "course_lib") else None
    cls = getattr(module, qualname, None) if module is not None and "." not in qualname else None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"cannot rebuild a module of class {path!r}")
    return cls


def _update(target: Any, new: Any) -> Any:
    """Make the grader's argument object ``target`` equal to ``new`` (decoded), in place."""
    if isinstance(target, torch.Tensor) and isinstance(new, torch.Tensor):
        with torch.no_grad():
            if target.shape == new.shape and target.dtype == new.dtype:
                target.copy_(new)
            else:
                target.data = new.detach()
        if target.is_leaf:
            target.grad = new.grad
            target.requires_grad_(new.requires_grad)
    elif isinstance(target, dict) and isinstance(new, dict):
        target.clear()
        target.update(new)
    elif isinstance(target, list) and isinstance(new, list):
        target[:] = new
    elif isinstance(target, set) and isinstance(new, set):
        target.clear()
        target.update(new)
    elif isinstance(target, torch.Generator) and isinstance(new, torch.Generator):
        target.set_state(new.get_state())
    elif isinstance(target, nn.Module) and isinstance(new, nn.Module):
        for attr in ("_parameters", "_buffers", "_modules"):
            getattr(target, attr).clear()
            getattr(target, attr).update(getattr(new, attr))
        target.__dict__.update(_plain_attrs(new))
    return target  # a tuple, or a type that changed, cannot be updated in place: the caller keeps it


def decode(data: tuple, objects: list[Any] | None = None) -> Any:
    """The object :func:`encode` described; ``("same", i, state)`` updates ``objects[i]`` in place.

    Args:
        data: what :func:`encode` returned (after :func:`loads`).
        objects: the grader's argument objects, in :func:`walk` order.

    Raises:
        ValueError: an unknown tag, a reference out of range, or a module class outside
            ``torch`` and ``course_lib``.
    """
    objects = [] if objects is None else objects
    tag, *rest = data
    if tag == "v":
        return rest[0]
    if tag == "same":
        if not 0 <= rest[0] < len(objects):
            raise ValueError(f"reference {rest[0]} to an argument that does not exist")
        return _update(objects[rest[0]], decode(rest[1], objects))
    if tag == "tensor":
        value, requires_grad, grad, is_param = rest
        out = nn.Parameter(value, requires_grad) if is_param else value.requires_grad_(requires_grad)
        out.grad = grad
        return out
    if tag == "dict":
        return {decode(k, objects): decode(v, objects) for k, v in rest[0]}
    if tag in ("list", "tuple", "set"):
        return {"list": list, "tuple": tuple, "set": set}[tag](decode(v, objects) for v in rest[0])
    if tag == "generator":
        gen = torch.Generator()
        gen.set_state(rest[0])
        return gen
    if tag == "module":
        path, attrs, params, buffers, modules = rest
        module = _module_class(path).__new__(_module_class(path))
        nn.Module.__init__(module)
        module.__dict__.update(attrs)
        for name, value in params.items():
            module._parameters[name] = decode(value, objects)
        for name, value in buffers.items():
            module._buffers[name] = decode(value, objects)
        for name, value in modules.items():
            module._modules[name] = decode(value, objects)
        return module
    if tag == "opaque":
        return Opaque(*rest)
    raise ValueError(f"unknown tag {tag!r}")


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.is_floating_point() or a.is_complex():
        return bool(((a == b) | (a.isnan() & b.isnan())).all())
    return torch.equal(a, b)


def first_change(before: Any, after: Any, where: str = "") -> str | None:
    """Where two :func:`encode` snapshots of the same objects differ (``None`` when they do not).

    Tensors compare by dtype, shape and values (NaN equal to NaN), with their ``.grad`` and
    ``requires_grad``; dicts by keys and values; modules by parameters, buffers, submodules and
    configuration. Generators are left out: drawing from a generator that was passed in is
    what it is for. The answer is a path such as ``"[0]['fc1.weight']"`` or ``"[0].fc1.weight.grad"``.
    """
    if before[0] != after[0]:
        return where or "the value"
    tag = before[0]
    if tag == "tensor":
        (b, b_req, b_grad, _), (a, a_req, a_grad, _) = before[1:], after[1:]
        if not _same_tensor(b, a):
            return where or "the tensor"
        if (b_grad is None) != (a_grad is None) or (b_grad is not None and not _same_tensor(b_grad, a_grad)):
            return f"{where}.grad"
        return f"{where}.requires_grad" if b_req != a_req else None
    if tag == "dict":
        b_items, a_items = dict(before[1]), dict(after[1])
        if list(b_items) != list(a_items):
            return f"{where} (its keys)"
        return next((c for k in b_items if (c := first_change(b_items[k], a_items[k], f"{where}[{k[1]!r}]"))), None)
    if tag in ("list", "tuple", "set"):
        if len(before[1]) != len(after[1]):
            return f"{where} (its length)"
        pairs = zip(before[1], after[1], strict=True)
        return next((c for i, (b, a) in enumerate(pairs) if (c := first_change(b, a, f"{where}[{i}]"))), None)
    if tag == "module":
        if before[2] != after[2]:
            keys = list(dict.fromkeys([*before[2], *after[2]]))
            return next(f"{where}.{k}" for k in keys if before[2].get(k) != after[2].get(k))
        for b_part, a_part in zip(before[3:], after[3:], strict=True):
            if list(b_part) != list(a_part):
                return f"{where} (its parameters or layers)"
            for name in b_part:
                if change := first_change(b_part[name], a_part[name], f"{where}.{name}"):
                    return change
        return None
    if tag == "generator":
        return None
    return None if before == after else (where or "the value")


def dumps(data: Any) -> bytes:
    """``data`` written with ``torch.save`` (bytes)."""
    buffer = io.BytesIO()
    torch.save(data, buffer)
    return buffer.getvalue()


def loads(raw: bytes) -> Any:
    """What :func:`dumps` wrote, read with ``torch.load(weights_only=True)``: tensors and plain
    values only, nothing that runs code. Raises ``pickle.UnpicklingError`` on anything else."""
    return torch.load(io.BytesIO(raw), weights_only=True)
