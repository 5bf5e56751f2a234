"""course_lib.viz.widgets.SliderFigure, driven without a browser: setting a slider's value
re-runs the plot function, and the new figure's data follows."""

import ipywidgets as widgets
import pytest
from matplotlib.figure import Figure

from course_lib.viz.widgets import SliderFigure, int_slider, rate_slider


def line_plot(rate, n=1):
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [0, rate, n * rate])
    return fig


def ydata(sf):
    return sf.figure.axes[0].lines[0].get_ydata().tolist()


def test_first_figure_is_drawn_with_initial_values():
    sf = SliderFigure(line_plot, rate=rate_slider(value=0.3))
    assert isinstance(sf.figure, Figure)
    assert ydata(sf) == [0, 0.3, 0.3]
    assert sf.values() == {"rate": 0.3}


def test_changing_a_slider_changes_the_plotted_data():
    sf = SliderFigure(line_plot, rate=rate_slider(value=0.3), n=int_slider("n", 1, 1, 5))
    first = sf.figure
    sf.sliders["rate"].value = 0.8
    assert ydata(sf) == [0, 0.8, 0.8]
    assert sf.figure is not first
    sf.sliders["n"].value = 3
    assert ydata(sf) == pytest.approx([0, 0.8, 2.4])
    assert sf.values() == {"rate": 0.8, "n": 3}


def test_each_change_calls_the_plot_function_once():
    calls = []

    def plot(rate):
        calls.append(rate)
        return line_plot(rate)

    sf = SliderFigure(plot, rate=rate_slider(value=0.5))
    sf.sliders["rate"].value = 0.6
    sf.sliders["rate"].value = 0.6  # no change, no redraw
    assert calls == [0.5, 0.6]


def test_sliders_are_children_and_clamped():
    s = rate_slider(value=0.5)
    sf = SliderFigure(line_plot, rate=s)
    assert s in sf.children and sf.output in sf.children
    s.value = 5.0  # ipywidgets clamps to max
    assert s.value == pytest.approx(0.99)
    assert ydata(sf)[1] == pytest.approx(0.99)
    k = int_slider("k", 3, 1, 4)
    assert isinstance(k, widgets.IntSlider) and (k.min, k.max, k.value) == (1, 4, 3)


def test_bad_input():
    with pytest.raises(TypeError, match="plot_fn"):
        SliderFigure("not a function", rate=rate_slider())
    with pytest.raises(ValueError, match="slider"):
        SliderFigure(line_plot)
    with pytest.raises(TypeError, match="Figure"):
        SliderFigure(lambda rate: rate, rate=rate_slider())
