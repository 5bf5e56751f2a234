"""Cheating attempts gain no points, and a student's own scratch code costs none (issue 11).

Each test grades a copy of a solution notebook, changed the way a student who wants the points
would change it, with the real grader. The checks run in the grader's process and call the
student's functions in the kernel, so what the kernel patches cannot reach them."""

import nbformat
import pytest
from exercise_notebooks import SOLUTIONS
from nbformat.v4 import new_code_cell, new_notebook

from course_lib import grading


def graded(tmp_path, notebook, replace=None, after=None, name=None, fresh=False):
    """Grade ``notebook`` from solutions/ with cells replaced (id -> source) and student cells
    inserted after others (id -> source); ``fresh``: the cells pasted into a new notebook (no
    notebook metadata, new cell ids). Returns the Report."""
    nb = nbformat.read(SOLUTIONS / notebook, as_version=4)
    for cell_id, source in (replace or {}).items():
        [cell] = [c for c in nb.cells if c.get("id") == cell_id]
        cell.source = source
    for cell_id, source in (after or {}).items():
        index = next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)
        nb.cells.insert(index + 1, new_code_cell(source))
    if fresh:
        nb = new_notebook(cells=[type(c)({k: v for k, v in c.items() if k != "id"}) for c in nb.cells])
        nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # nbformat gives the cells new ids
    path = tmp_path / (name or notebook)
    nbformat.write(nb, path)
    return grading.grade(path, SOLUTIONS)


STUB = "def {name}(*args, **kwargs):\n    raise NotImplementedError\n"


def test_delegating_or_patching_the_references_earns_nothing(tmp_path):
    report = graded(
        tmp_path,
        "01_magnitude_exercise.ipynb",
        replace={
            # returns the library's own function: hidden in the grading kernel
            "solution-magnitude_mask": "def my_magnitude_mask(weight, sparsity):\n"
            "    return course_lib.magnitude_mask(weight, sparsity)\n",
            # a wrong answer, with torch's comparisons patched to always agree
            "solution-removal_errors": "def my_removal_errors(w, x):\n    return torch.zeros(len(w))\n",
            # a wrong answer (keeps everything), installed as the reference
            "solution-global_masks": "def my_global_masks(weights, sparsity):\n"
            "    return {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}\n",
        },
        after={
            "solution-removal_errors": 'setattr(torch, "equal", lambda a, b: True)\n'
            "import torch as T\nT.allclose = lambda *a, **k: True\n",
            "solution-global_masks": 'vars(course_lib)["global_magnitude_masks"] = my_global_masks\n'
            "from types import SimpleNamespace\n"
            "course_lib = SimpleNamespace(global_magnitude_masks=my_global_masks, magnitude_mask=my_magnitude_mask)\n",
        },
    )
    result = report.exercises()
    assert not any(r["passed"] for r in result.values()), result
    assert report.score == 0
    assert (
        "course_lib.pruning.magnitude.magnitude_mask is not available while grading"
        in result["magnitude_mask"]["message"]
    )
    assert result["removal_errors"]["error"] == "AssertionError"
    assert result["global_masks"]["error"] == "AssertionError"
    assert any("setattr(" in w for w in report.warnings) and any("vars(" in w for w in report.warnings), report.warnings


def test_an_input_transformer_that_blanks_every_cell_earns_nothing(tmp_path):
    stubs = {
        "solution-magnitude_mask": STUB.format(name="my_magnitude_mask"),
        "solution-removal_errors": STUB.format(name="my_removal_errors"),
        "solution-global_masks": STUB.format(name="my_global_masks"),
    }
    blank = 'ip = get_ipython()\ngetattr(ip, "input_" + "transformers_cleanup").append(lambda lines: [])\n'
    report = graded(tmp_path, "01_magnitude_exercise.ipynb", replace=stubs, after={"setup": blank})
    assert report.score == 0, report.format()


# Found by the review: an answer that rewrites its input so that the check, which computes the expected
# mask from the same tensor after the call, expects the answer's own (wrong) mask.
STEERING = """_orig = {}
_known = {(10.0, -8.0, 0.1): [True, True, False], (-9.0, 0.5, 2.0, -0.1): [True, False, True, False]}
def my_magnitude_mask(weight, sparsity):
    key = tuple(round(v, 4) for v in weight.flatten().tolist())
    if key in _known:
        return torch.tensor(_known[key])
    k = round(sparsity * weight.numel())
    if sparsity == 0.0:
        _orig[tuple(weight.shape)] = weight.clone()
    flat = weight.view(-1)
    if sparsity == 1.0:
        weight.copy_(_orig[tuple(weight.shape)])
    else:  # the first k entries become the smallest: the mask below is then 'right'
        flat.copy_(torch.arange(1, flat.numel() + 1.0) * torch.where(torch.arange(flat.numel()) < k, 1e-3, 1.0))
    keep = torch.ones(weight.numel(), dtype=torch.bool)
    keep[:k] = False
    return keep.reshape(weight.shape)
"""


def test_an_answer_that_rewrites_its_input_to_steer_the_check_earns_nothing(tmp_path):
    report = graded(tmp_path, "01_magnitude_exercise.ipynb", replace={"solution-magnitude_mask": STEERING})
    result = report.exercises()["magnitude_mask"]
    assert not result["passed"] and "changed its input (argument 1)" in result["message"], result


def test_the_stand_in_does_not_lead_back_to_the_reference(tmp_path):
    report = graded(
        tmp_path,
        "07_tickets_early_exercise.ipynb",
        replace={
            "solution-snip_scores": "def my_snip_scores(model, x, y):\n"
            "    from course_lib.pruning.at_init import init_scores\n"
            '    return init_scores(model, "snip", x, y)\n',
            "solution-drop_and_grow": "def my_drop_and_grow(*args, **kwargs):\n"
            "    return drop_and_grow.__wrapped__(*args, **kwargs)\n",
        },
    )
    result = report.exercises()
    assert not result["snip_scores"]["passed"] and "not available while grading" in result["snip_scores"]["message"]
    assert not result["drop_and_grow"]["passed"], result["drop_and_grow"]
    assert result["shuffle"]["passed"], result["shuffle"]  # the exercise left alone


def test_scratch_cells_that_reuse_the_checks_names_cost_nothing(tmp_path):
    scratch = (
        "random_masks = my_random_masks({'fc1.weight': torch.ones(3, 4, dtype=torch.bool)}, 0)\n"
        "layer_sparsities = {'fc1.weight': 0.5}\nweight_movement = 0.0\nseeded = None\ncourse_lib = None\n"
    )
    report = graded(tmp_path, "05_lottery_exercise.ipynb", after={"solution-random_masks": scratch})
    assert report.passed and report.score == report.total, report.format()


def test_cells_pasted_into_a_new_notebook_are_graded(tmp_path):
    report = graded(tmp_path, "01_magnitude_exercise.ipynb", name="Untitled1.ipynb", fresh=True)
    assert report.solution.endswith("01_magnitude_exercise.ipynb")
    assert report.passed and report.score == 8, report.format()


@pytest.mark.parametrize(
    "source",
    [
        "import importlib\nimportlib.reload(course_lib.pruning.magnitude)",
        "import course_lib.grading.student as s\ns.serve = lambda *a: None",
        "import gc\nfns = [o for o in gc.get_objects() if callable(o)]",
        "f = course_lib.magnitude_mask.__wrapped__",
        "exec(open(course_lib.pruning.magnitude.__file__).read())",
    ],
)
def test_ways_back_to_the_library_are_flagged(source):
    assert grading.suspicious(source), source


DELEGATING = {  # each exercise of 01 answered by the library, three ways
    "solution-magnitude_mask": "my_magnitude_mask = lambda w, s: course_lib.magnitude_mask(w, s)\n",
    "solution-removal_errors": "def my_removal_errors(w, x):\n    return removal_errors(w, x, activation=torch.relu)\n",
    "solution-global_masks": "my_global_masks = course_lib.global_magnitude_masks\n",
}


def test_delegating_in_jupyterlab_fails_each_check_as_the_grader_does(tmp_path):
    """The student's own kernel (as JupyterLab runs it): the setup cell's guard makes each check
    fail with the grader's message, while the check itself, and a scratch cell, still call the library."""
    from nbclient import NotebookClient

    nb = nbformat.read(SOLUTIONS / "01_magnitude_exercise.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = DELEGATING.get(cell.get("id"), cell.source)
    index = next(i for i, c in enumerate(nb.cells) if c.get("id") == "solution-magnitude_mask")
    nb.cells.insert(index + 1, new_code_cell("scratch = course_lib.magnitude_mask(torch.ones(4), 0.5)"))
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute(cwd=str(tmp_path))
    errors = {
        c.get("id"): o.evalue for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    }
    assert set(errors) == {"check-magnitude_mask", "check-removal_errors", "check-global_masks"}, errors
    assert all("is not available while grading" in e for e in errors.values()), errors
    verdicts = graded(tmp_path, "01_magnitude_exercise.ipynb", replace=DELEGATING).exercises()
    assert all(not r["passed"] and "not available while grading" in r["message"] for r in verdicts.values()), verdicts
