"""course_lib.viz.widgets.SliderFigure, driven without a browser: setting a slider's value
re-runs the plot function, and the new figure's data follows."""

import ipywidgets as widgets
import pytest
from matplotlib.figure import Figure

from course_lib.viz.widgets import SliderFigure, int_slider, sparsity_slider


def line_plot(sparsity, n=1):
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [0, sparsity, n * sparsity])
    return fig


def ydata(sf):
    return sf.figure.axes[0].lines[0].get_ydata().tolist()


def test_first_figure_is_drawn_with_initial_values():
    sf = SliderFigure(line_plot, sparsity=sparsity_slider(value=0.3))
    assert isinstance(sf.figure, Figure)
    assert ydata(sf) == [0, 0.3, 0.3]
    assert sf.values() == {"sparsity": 0.3}


def test_changing_a_slider_changes_the_plotted_data():
    sf = SliderFigure(line_plot, sparsity=sparsity_slider(value=0.3), n=int_slider("n", 1, 1, 5))
    first = sf.figure
    sf.sliders["sparsity"].value = 0.8
    assert ydata(sf) == [0, 0.8, 0.8]
    assert sf.figure is not first
    sf.sliders["n"].value = 3
    assert ydata(sf) == pytest.approx([0, 0.8, 2.4])
    assert sf.values() == {"sparsity": 0.8, "n": 3}


def test_each_change_calls_the_plot_function_once():
    calls = []

    def plot(sparsity):
        calls.append(sparsity)
        return line_plot(sparsity)

    sf = SliderFigure(plot, sparsity=sparsity_slider(value=0.5))
    sf.sliders["sparsity"].value = 0.6
    sf.sliders["sparsity"].value = 0.6  # no change, no redraw
    assert calls == [0.5, 0.6]


def test_sliders_are_children_and_clamped():
    s = sparsity_slider(value=0.5)
    sf = SliderFigure(line_plot, sparsity=s)
    assert s in sf.children and sf.output in sf.children
    s.value = 5.0  # ipywidgets clamps to max
    assert s.value == pytest.approx(0.99)
    assert ydata(sf)[1] == pytest.approx(0.99)
    k = int_slider("k", 3, 1, 4)
    assert isinstance(k, widgets.IntSlider) and (k.min, k.max, k.value) == (1, 4, 3)
    assert int_slider("k", 2, low=0, high=9, step=3).max == 9


def test_sparsity_slider_range():
    s = sparsity_slider("neurons removed", 0.75, low=0.1, high=0.95, step=0.05)
    assert (s.description, s.value, s.min, s.max, s.step) == ("neurons removed", 0.75, 0.1, 0.95, 0.05)
    assert s.readout_format == ".2f" and not s.continuous_update


def test_bad_input():
    with pytest.raises(TypeError, match="plot_fn"):
        SliderFigure("not a function", sparsity=sparsity_slider())
    with pytest.raises(ValueError, match="slider"):
        SliderFigure(line_plot)
    with pytest.raises(TypeError, match="Figure"):
        SliderFigure(lambda sparsity: sparsity, sparsity=sparsity_slider())
