"""The one way the course makes a figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["new_figure"]


def new_figure(figsize=(6.4, 4.0)) -> Figure:
    """An empty figure with constrained layout, already closed in ``pyplot``.

    Closed means ``pyplot`` forgets it: a notebook shows it only where it is the
    cell's last expression (or displayed), never a second time at the cell's end.
    A bare ``matplotlib.figure.Figure()`` would not display at all in a kernel that
    has not yet made a ``pyplot`` figure (the inline backend loads lazily).

    >>> fig = new_figure((3, 2))
    >>> fig.get_size_inches().tolist(), plt.fignum_exists(fig.number)
    ([3.0, 2.0], False)
    """
    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig
