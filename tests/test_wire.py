"""course_lib.grading.wire and .student: what crosses from the student's kernel to the grader is
data only, comes back equal, keeps the arguments' identity; hidden references stay hidden."""

import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_lib.grading import student
from course_lib.grading.wire import Opaque, decode, dumps, encode, loads, walk


def through_the_wire(value):
    """``value`` encoded (as in the kernel), written, read back as data only and decoded (as in
    the grader)."""
    return decode(loads(dumps(encode(value))))


plain = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.floats(allow_nan=False), st.text(max_size=5)
)
tensors = st.builds(
    lambda shape, dtype, seed: (torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 3).to(dtype),
    st.lists(st.integers(0, 4), max_size=3).map(tuple),
    st.sampled_from([torch.float32, torch.float64, torch.int64, torch.bool]),
    st.integers(0, 1000),
)
values = st.recursive(
    st.one_of(plain, tensors),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
    ),
    max_leaves=8,
)


def same(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None)
@given(values)
def test_values_come_back_equal_and_of_the_same_types(value):
    assert same(through_the_wire(value), value)


def test_modules_come_back_as_working_modules():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
    net[1].running_mean.uniform_()
    net.eval()
    back = through_the_wire(net)
    x = torch.randn(2, 1, 8, 8)
    assert type(back[0]) is nn.Conv2d and back[0].bias is None and not back.training
    assert torch.equal(back(x), net(x))


def test_arguments_changed_in_the_kernel_are_changed_in_place_and_keep_their_identity():
    weight = torch.arange(6.0).reshape(2, 3)
    masks = {"a": torch.ones(3, dtype=torch.bool)}
    args = (weight, masks)

    def student_code(kernel_args):
        w, m = kernel_args
        w.mul_(2)  # changes an argument in place
        m["b"] = m["a"].clone()  # adds a key to an argument dict
        return w  # returns an argument itself

    objects = walk(args)
    copy_args = pickle.loads(pickle.dumps(args))
    refs = {id(o): i for i, o in enumerate(walk(copy_args))}
    result = student_code(copy_args)
    decode(loads(dumps(encode(copy_args, refs))), objects)
    back = decode(loads(dumps(encode(result, refs))), objects)
    assert back is weight and torch.equal(weight, torch.arange(6.0).reshape(2, 3) * 2)
    assert set(masks) == {"a", "b"}


def test_what_cannot_cross_becomes_an_opaque_that_names_its_type():
    got = through_the_wire({"mask": np.ones(3, dtype=bool), "f": lambda: 1})
    assert isinstance(got["mask"], Opaque) and got["mask"].type_name == "numpy.ndarray"
    assert isinstance(got["f"], Opaque) and "function" in got["f"].type_name


def test_a_pickle_that_would_run_code_is_refused():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    raw = io.BytesIO()
    torch.save(Evil(), raw)
    with pytest.raises(pickle.UnpicklingError):
        loads(raw.getvalue())


def test_only_module_classes_of_torch_and_course_lib_are_rebuilt():
    data = ("module", "os:system", {}, {}, {}, {})
    with pytest.raises(ValueError, match="cannot rebuild"):
        decode(data)


BLOCK_IN_A_FRESH_PROCESS = """
import pytest, torch, course_lib
from course_lib.grading import student
original = course_lib.pruning.magnitude.magnitude_mask
course_lib.pruning.magnitude._TEST_TABLE = {"magnitude": original}
replaced = student.block(["course_lib.pruning.magnitude.magnitude_mask"])
for place in ["course_lib.magnitude_mask",
              "course_lib.pruning.magnitude.magnitude_mask", "course_lib.pruning.magnitude._TEST_TABLE['magnitude']"]:
    assert place in replaced, (place, replaced)
with pytest.raises(RuntimeError, match="not available while grading"):
    course_lib.magnitude_mask(torch.ones(3), 0.5)
from course_lib.pruning.magnitude import magnitude_mask
assert magnitude_mask is course_lib.magnitude_mask is not original
assert not hasattr(magnitude_mask, "__wrapped__") and magnitude_mask.__closure__ is not None
assert all(c.cell_contents is not original for c in magnitude_mask.__closure__)
print("hidden")
"""


def test_block_hides_a_reference_everywhere_course_lib_holds_it():
    # in a fresh process: block() changes the library for the rest of the process
    out = subprocess.run([sys.executable, "-c", BLOCK_IN_A_FRESH_PROCESS], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "hidden", out.stderr[-2000:]


@pytest.mark.parametrize("path", ["os.system", "course_lib.pruning.magnitude.no_such_function"])
def test_block_refuses_what_is_not_a_function_of_course_lib(path):
    with pytest.raises(ValueError, match="paths"):
        student.block([path])


def test_a_subclass_of_a_builtin_scalar_crosses_as_the_builtin():
    """numpy.float64 is a float: a student's ``np.mean(...)`` answer must arrive, not fail to load."""
    got = through_the_wire({"acc": np.float64(0.25), "flag": True, "size": torch.Size([2, 3])})
    assert got == {"acc": 0.25, "flag": True, "size": torch.Size([2, 3])}
    assert type(got["acc"]) is float and type(got["size"]) is torch.Size
