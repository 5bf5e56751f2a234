"""Each lecture notebook in a real JupyterLab in headless Chromium, as a student uses it:
Run > Run All Cells, wait until the kernel is idle, no error output anywhere; then every
slider is moved with the keyboard and its readout and its plot must change.

Screenshots (one per notebook, one per slider move) and timings.txt land in
artifacts/browser/. A small fixture notebook with a SliderFigure runs first, so the
machinery is tested even where the lecture notebooks are not there.
"""

import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytestmark = pytest.mark.browser
PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError

ROOT = Path(__file__).resolve().parents[2]
LECTURES = [p.name for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))]
FIXTURE = "_slider_fixture.ipynb"
RUN_TIMEOUT_S = int(os.environ.get("BROWSER_NB_TIMEOUT", "900"))  # 07/08 take ~150 s alone, 3x that on a busy machine
PLOT_TIMEOUT_S = 90

KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && w.content && w.content.widgets.length);
}"""

# Run All is finished when the kernel is idle and no cell is queued or running ([*]); at
# least one cell must have run (guards against looking before the run has started).
RUN_FINISHED = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const prompts = [...w.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent);
  return !prompts.some(t => t.includes('*')) && prompts.some(t => /\\[\\d+\\]/.test(t));
}"""

# Error outputs and cells that did not run, read from the notebook model.
MODEL_ERRORS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const found = [], notRun = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    for (const o of c.outputs.toJSON()) {
      if (o.output_type === 'error') found.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
    if (c.executionCount === null && c.sharedModel.getSource().trim()) notRun.push(i);
  }
  if (notRun.length) found.push(`${notRun.length} code cells did not run (cells ${notRun.join(', ')})`);
  return found;
}"""

# The Output widget that shows a slider's plot: the nearest one up the widget tree.
PLOT_OF = """(slider) => {
  for (let p = slider.parentElement; p && !p.classList.contains('jp-OutputArea-output'); p = p.parentElement) {
    const o = p.querySelector('.widget-output');
    if (o) return o;
  }
  return null;
}"""

IMG_CHANGED = """([out, before]) => {
  const img = out.querySelector('img');
  return !!img && img.src !== before;
}"""


def write_fixture(root: Path) -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Slider fixture\nA SliderFigure with two sliders."),
            new_code_cell(
                "import matplotlib.pyplot as plt\n"
                "from course_lib.viz.widgets import SliderFigure, int_slider, sparsity_slider\n\n"
                "def plot(sparsity, n):\n    fig, ax = plt.subplots(figsize=(3, 2))\n"
                "    _ = ax.bar(range(n), [sparsity] * n)\n    ax.set_ylim(0, 1)\n    return fig"
            ),
            new_code_cell("SliderFigure(plot, sparsity=sparsity_slider(), n=int_slider('n', 3, 1, 8))"),
            new_code_cell("assert 1 + 1 == 2"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / FIXTURE)


def timings_file(artifacts: Path, name: str) -> Path:
    """A fresh timings file (one per test module: the modules run on different workers)."""
    path = artifacts / name
    path.write_text("notebook  open_s  run_all_s  sliders  sliders_s\n")
    return path


@pytest.fixture(scope="module")
def timings(artifacts):
    return timings_file(artifacts, "timings.txt")


def open_notebook(page, lab, name):
    page.goto(lab.url(f"lab/tree/{quote(name)}?reset"))
    page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=200)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # more room for the notebook
    mode = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.notebookConfig.windowingMode")
    assert mode == "none", f"windowingMode is {mode!r}: cells off screen would not be in the DOM"


def run_all(page, timeout_s):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(RUN_FINISHED, timeout=timeout_s * 1000, polling=250)


def errors_shown(page):
    found = list(page.evaluate(MODEL_ERRORS))
    for t in page.locator(
        '.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    ).all_inner_texts():
        if "Traceback" in t or re.search(r"^\w+Error\b", t, re.M):
            found.append("stderr output: " + t.strip()[:300])
    for t in page.locator(".jp-NotebookPanel .jupyter-widgets").all_inner_texts():
        if "Error displaying widget" in t or "Error rendering" in t:
            found.append("widget: " + t.strip()[:300])
    return found


def move_slider(page, slider):
    """Focus the slider's handle and press arrow keys; returns (readout before, after)."""
    readout = slider.locator(".widget-readout")
    before = readout.inner_text()
    handle = slider.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft"):  # at the maximum, ArrowRight changes nothing
        for _ in range(3):
            page.keyboard.press(key)
        if readout.inner_text() != before:
            break
    return before, readout.inner_text()


def check_sliders(page, shots: Path, stem: str, plot_timeout_s: float = PLOT_TIMEOUT_S):
    """Move every slider; return (number of sliders, problems). One screenshot per move."""
    sliders = page.locator(".jp-NotebookPanel .widget-slider")
    count, problems = sliders.count(), []
    for k in range(count):
        slider = sliders.nth(k)
        label = slider.locator(".widget-label").inner_text().strip() or f"slider {k}"
        plot = slider.evaluate_handle(PLOT_OF)
        if plot.as_element() is None:
            problems.append(f"slider {k} ('{label}') has no plot (Output widget) next to it")
            continue
        src = plot.evaluate("o => { const i = o.querySelector('img'); return i ? i.src : null; }")
        if src is None:
            problems.append(f"slider {k} ('{label}') shows no plot before it is moved")
            continue
        before, after = move_slider(page, slider)
        if before == after:
            problems.append(f"slider {k} ('{label}'): readout stayed {before!r} after arrow keys")
            continue
        try:
            page.wait_for_function(IMG_CHANGED, arg=[plot, src], timeout=plot_timeout_s * 1000, polling=200)
            page.wait_for_function(KERNEL_IDLE, timeout=plot_timeout_s * 1000, polling=200)
        except PlaywrightTimeout:
            problems.append(
                f"slider {k} ('{label}'): readout {before} -> {after}, but the plot "
                f"did not change within {plot_timeout_s} s"
            )
        finally:
            slider.evaluate("s => s.parentElement.scrollIntoView({block: 'center'})")
            page.screenshot(path=str(shots / f"{stem}-slider{k}.png"))
    return count, problems


@pytest.mark.parametrize("name", [FIXTURE] + LECTURES[0::2])  # the others: test_lab_odd.py, on another worker
def test_notebook_runs_and_sliders_redraw(name, lab, page, artifacts, timings):
    run_and_move_sliders(name, lab, page, artifacts, timings)


def run_and_move_sliders(name, lab, page, artifacts, timings):
    """Run All on notebook ``name``, no error anywhere, then move every slider: each must redraw."""
    if name == FIXTURE:
        write_fixture(lab.root)
    stem = Path(name).stem
    for old in artifacts.glob(f"{stem}*.png"):
        old.unlink()
    t0 = time.monotonic()
    open_notebook(page, lab, name)
    t1 = time.monotonic()
    try:
        run_all(page, RUN_TIMEOUT_S)
    finally:
        page.screenshot(path=str(artifacts / f"{stem}.png"))
    t2 = time.monotonic()
    errors = errors_shown(page)
    assert errors == [], f"{name} shows errors after Run All:\n" + "\n".join(errors)
    count, problems = check_sliders(page, artifacts, stem)
    t3 = time.monotonic()
    with timings.open("a") as f:
        f.write(f"{name}  {t1 - t0:.1f}  {t2 - t1:.1f}  {count}  {t3 - t2:.1f}\n")
    problems += errors_shown(page)
    if problems and page.js_errors:
        problems.append("JavaScript errors in the page: " + "; ".join(page.js_errors[:5]))
    assert problems == [], "\n".join(problems)
    if name == FIXTURE:
        assert count == 2, f"the fixture has two sliders; the test found {count}"


def test_the_checks_see_an_error_and_a_frozen_plot(lab, page, tmp_path):
    """The detector itself: a cell that raises, and a slider whose plot ignores it, are caught."""
    nb = new_notebook(
        cells=[
            new_code_cell(
                "import matplotlib.pyplot as plt\n"
                "from course_lib.viz.widgets import SliderFigure, sparsity_slider\n"
                "def frozen(sparsity):\n    fig, ax = plt.subplots(figsize=(2, 1))\n"
                "    _ = ax.plot([0, 1])\n    return fig\n"
                "SliderFigure(frozen, sparsity=sparsity_slider())"
            ),
            new_code_cell("1 / 0"),
            new_code_cell("print('never')"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab.root / "_broken_fixture.ipynb")
    open_notebook(page, lab, "_broken_fixture.ipynb")
    run_all(page, 120)
    errors = errors_shown(page)
    assert any("ZeroDivisionError" in e for e in errors) and any("did not run" in e for e in errors)
    count, problems = check_sliders(page, tmp_path, "broken", plot_timeout_s=4)
    assert count == 1 and len(problems) == 1 and "plot did not change" in problems[0]


def _make_exercises_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_make_exercises_b", ROOT / "tools" / "make_exercises.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_exercise_saved_from_lab_counts_as_edited_only_when_typed_in(lab, page, tmp_path):
    """The generator's "student-edited" rule, with JupyterLab's own saving: running and saving
    an untouched exercise (outputs, metadata) does not count; typing in a cell does."""
    tool = _make_exercises_tool()
    sol = tmp_path / "solutions"
    sol.mkdir()
    nb = new_notebook(
        cells=[
            new_code_cell(
                "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
                id="solution-add",
                metadata={"course": {"solution": "add"}},
            ),
            new_code_cell(
                "assert add(1, 2) == 3",
                id="check-add",
                metadata={"course": {"check": "add", "points": 1}, "editable": False, "deletable": False},
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, sol / "_save_exercise.ipynb")
    ex = lab.root / "_exercises"
    assert tool.generate(sol, ex, log=lambda *_: None) == []
    path = ex / "_save_exercise.ipynb"
    saved = """() => !window.jupyterapp.shell.currentWidget.context.model.dirty"""

    open_notebook(page, lab, f"{ex.name}/{path.name}")
    run_all(page, 60)
    page.keyboard.press("Control+s")
    page.wait_for_function(saved)
    page.wait_for_timeout(500)
    assert "NotImplementedError" in path.read_text()  # saved with its outputs
    assert not tool.was_edited(path)

    page.locator(".jp-CodeCell .cm-content").first.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# my work")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    page.wait_for_function(saved)
    page.wait_for_timeout(500)
    assert "# my work" in path.read_text()
    assert tool.was_edited(path)
    before = path.read_bytes()
    assert tool.generate(sol, ex, log=lambda *_: None) == [path]
    assert path.read_bytes() == before
