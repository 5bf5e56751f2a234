"""Sliders that redraw a plot: the one widget pattern of the course.

A plot function takes keyword values and returns a matplotlib ``Figure``
(it lives in :mod:`course_lib.viz`, where it is tested). :class:`SliderFigure`
wires ``ipywidgets`` sliders to it; moving a slider calls the function again
and shows the new figure. The keyword each slider is given is the name of the
plot function's parameter it drives. Tests drive it without a browser:

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> def plot(sparsity):
...     fig, ax = plt.subplots()
...     _ = ax.bar([0], [sparsity])
...     return fig
>>> w = SliderFigure(plot, sparsity=sparsity_slider("sparsity", 0.5))
>>> w.sliders["sparsity"].value = 0.8
>>> round(float(w.figure.axes[0].patches[0].get_height()), 2)
0.8
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["SliderFigure", "sparsity_slider", "int_slider"]


def sparsity_slider(
    description: str = "sparsity", value: float = 0.5, low: float = 0.0, high: float = 0.99, step: float = 0.01
) -> widgets.FloatSlider:
    """A slider for a fraction in [low, high], shown with 2 decimals; it reports only on release.

    Made for a sparsity (the total fraction pruned); with another ``description`` it
    also serves a per-round rate or a density.

    Args:
        description: the label shown left of the slider.
        value: the start value.
        low, high: the ends of the slider's range.
        step: the slider's step.

    Returns:
        An ``ipywidgets.FloatSlider`` with ``continuous_update=False``.

    Raises:
        traitlets.TraitError: ``low > high``, or an argument of the wrong type (a
            non-number, a ``description`` that is not a ``str``). A ``value`` outside
            ``[low, high]`` is clipped to it, not refused.

    >>> s = sparsity_slider(value=0.9, low=0.5)
    >>> (s.description, s.value, s.min, s.max)
    ('sparsity', 0.9, 0.5, 0.99)
    """
    return widgets.FloatSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        readout_format=".2f",
        continuous_update=False,
        style={"description_width": "initial"},
    )


def int_slider(description: str, value: int, low: int, high: int, step: int = 1) -> widgets.IntSlider:
    """An integer slider (a round, a layer index, n of n:m, ...); it reports only on release.

    Args:
        description: the label shown left of the slider.
        value: the start value.
        low, high: the ends of the slider's range (both included).
        step: the slider's step.

    Returns:
        An ``ipywidgets.IntSlider`` with ``continuous_update=False``.

    Raises:
        traitlets.TraitError: ``low > high``, or an argument of the wrong type (a
            ``description`` that is not a ``str``). A ``value`` outside ``[low, high]`` is
            clipped to it, a float ``value`` truncated, not refused.

    >>> k = int_slider("m", 4, 1, 8)
    >>> (k.value, k.min, k.max)
    (4, 1, 8)
    """
    return widgets.IntSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
    )


def _in_kernel() -> bool:
    """True inside a Jupyter kernel, where an Output widget can show the figure."""
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _display_data(fig: Figure) -> dict:
    """``fig`` as one ``display_data`` output: its PNG (as the inline backend draws it), base64.

    The figure is set as the Output widget's ``outputs`` state, not captured with ``with
    output: display(fig)``: capturing makes a headless client (nbclient, nbconvert) play the
    front end and send a message on the shell channel while it waits for the cell's reply on
    that same channel, and that wait can miss the reply and hang on an idle kernel
    (jupyter/nbclient#312; issue 12 of this course).
    """
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    data = {"image/png": base64.b64encode(png.getvalue()).decode("ascii"), "text/plain": repr(fig)}
    return {"output_type": "display_data", "data": data, "metadata": {}}


class SliderFigure(widgets.VBox):
    """Sliders above a figure; each change re-runs ``plot_fn(**values)`` and shows the new figure.

    Args:
        plot_fn: a function of the sliders' values (as keyword arguments, named as the
            sliders are) that returns a new matplotlib ``Figure``.
        **sliders: the sliders, e.g. ``sparsity=sparsity_slider()``; at least one.

    Attributes:
        figure: the latest ``Figure`` (tests read its data).
        sliders: {keyword: slider}.

    Raises:
        TypeError: ``plot_fn`` is not callable, or returns something other than a ``Figure``.
        ValueError: no slider is given.
    """

    def __init__(self, plot_fn: Callable[..., Figure], **sliders: widgets.ValueWidget):
        if not callable(plot_fn):
            raise TypeError("plot_fn must be callable and return a matplotlib Figure")
        if not sliders:
            raise ValueError("give at least one slider, e.g. sparsity=sparsity_slider()")
        self.plot_fn = plot_fn
        self.sliders = dict(sliders)
        self.output = widgets.Output()
        self.figure: Figure | None = None
        super().__init__(children=[*self.sliders.values(), self.output])
        for s in self.sliders.values():
            s.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict:
        """The sliders' current values, keyed as ``plot_fn`` receives them."""
        return {name: s.value for name, s in self.sliders.items()}

    def update(self) -> Figure:
        """Redraw with the current slider values and return the new figure.

        Raises:
            TypeError: ``plot_fn`` did not return a ``Figure``.
        """
        fig = self.plot_fn(**self.values())
        if not isinstance(fig, Figure):
            raise TypeError(f"plot_fn must return a matplotlib Figure, got {type(fig).__name__}")
        if self.figure is not None and self.figure is not fig:
            plt.close(self.figure)
        self.figure = fig
        if _in_kernel():
            self.output.outputs = (_display_data(fig),)
        plt.close(fig)  # shown once, in the output area, not again below the cell
        return fig

    def _on_change(self, _change) -> None:
        self.update()
