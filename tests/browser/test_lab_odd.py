"""The odd-numbered lecture notebooks in JupyterLab, exactly as test_lab.py runs the others: a second
module so that pytest-xdist (``--dist loadfile``) runs the two halves on two workers at once."""

import pytest

from .test_lab import LECTURES, run_and_move_sliders, timings_file

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def timings(artifacts):
    return timings_file(artifacts, "timings-odd.txt")


@pytest.mark.parametrize("name", LECTURES[1::2][::-1])  # the heaviest (07) first: not at the same time as 08
def test_notebook_runs_and_sliders_redraw(name, lab, page, artifacts, timings):
    run_and_move_sliders(name, lab, page, artifacts, timings)
