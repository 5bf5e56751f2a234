"""The one way the course makes a figure, and the finishing touches its plots share."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["new_figure", "finish_axes"]


def new_figure(figsize: tuple[float, float] = (6.4, 4.0)) -> Figure:
    """An empty figure with constrained layout, already closed in ``pyplot``.

    Closed means ``pyplot`` forgets it: a notebook shows it only where it is the
    cell's last expression (or displayed), never a second time at the cell's end.
    A bare ``matplotlib.figure.Figure()`` would not display at all in a kernel that
    has not yet made a ``pyplot`` figure (the inline backend loads lazily).

    Args:
        figsize: (width, height) in inches.

    Returns:
        A new ``Figure`` without axes.

    Raises:
        ValueError: ``figsize`` is not two positive finite numbers (from matplotlib).

    >>> fig = new_figure((3, 2))
    >>> fig.get_size_inches().tolist(), plt.fignum_exists(fig.number)
    ([3.0, 2.0], False)
    """
    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig


def finish_axes(
    ax: Axes, xlabel: str, ylabel: str, reference: float | None = None, reference_label: str = "dense"
) -> None:
    """Label both axes, add a light grid and a small legend; with ``reference``, first draw a
    dotted grey horizontal line at that height (the unpruned network's accuracy, say).

    Args:
        ax: the axes to finish (changed in place).
        xlabel, ylabel: the axis labels.
        reference: ``None``, or the y value of the reference line.
        reference_label: the reference line's legend entry.

    Returns:
        ``None``; ``ax`` is changed in place.

    >>> fig = new_figure(); ax = fig.add_subplot(); _ = ax.plot([0, 1], [90, 80], label="pruned")
    >>> finish_axes(ax, "sparsity (%)", "accuracy (%)", reference=95)
    >>> ax.get_xlabel(), list(ax.lines[-1].get_ydata()), ax.get_legend() is not None
    ('sparsity (%)', [95, 95], True)
    """
    if reference is not None:
        ax.axhline(reference, color="0.5", ls=":", label=reference_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
