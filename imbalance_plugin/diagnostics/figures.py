"""PNG figures in the layout of the GHM paper's figure 1: the fraction of
examples against ``g`` (log scale) beside the total gradient contribution of
each loss against ``g`` (log scale)."""
import os.path as osp
from typing import Dict, Optional

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .gradient_histogram import GradientHistogram

#: Size of every figure in inches and its resolution: 1000 x 400 pixels.
FIGSIZE = (10.0, 4.0)
DPI = 100
FIGURE_SIZE_PX = (int(FIGSIZE[0] * DPI), int(FIGSIZE[1] * DPI))


def _positive_or_nan(values: np.ndarray) -> np.ndarray:
    """Zeros cannot be drawn on a log axis: they become gaps."""
    values = values.astype(float)
    return np.where(values > 0, values, np.nan)


def draw_histogram(hist: GradientHistogram,
                   labels: Dict[str, str],
                   title: str,
                   note: Optional[str] = None) -> Figure:
    """The two panels of one histogram.

    Args:
        hist: the counts and contributions to draw.
        labels: contribution name -> legend label, in drawing order.
        title: suptitle of the figure.
        note: a line under the panels (e.g. how many examples).
    """
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    edges = hist.edges.double().numpy()
    centres = (edges[:-1] + edges[1:]) / 2
    width = edges[1:] - edges[:-1]

    left, right = fig.subplots(1, 2)
    left.bar(centres, _positive_or_nan(hist.fractions.double().numpy()),
             width=width, color='tab:gray', edgecolor='black', linewidth=0.4)
    left.set_yscale('log')
    left.set_xlim(0, 1)
    left.set_xlabel('gradient norm g')
    left.set_ylabel('fraction of examples')
    left.set_title('distribution of g')
    left.grid(True, which='major', alpha=0.3)

    for name, label in labels.items():
        right.plot(centres,
                   _positive_or_nan(hist.contributions[name].double().numpy()),
                   marker='o', markersize=3, label=label)
    right.set_yscale('log')
    right.set_xlim(0, 1)
    right.set_xlabel('gradient norm g')
    right.set_ylabel('total gradient norm')
    right.set_title('gradient contribution per g')
    right.grid(True, which='major', alpha=0.3)
    right.legend(loc='best', fontsize='small')

    fig.suptitle(title)
    if note:
        fig.text(0.5, 0.01, note, ha='center', va='bottom', fontsize='small')
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.2, top=0.84,
                        wspace=0.25)
    return fig


def save_figure(fig: Figure, path: str) -> str:
    """Writes ``fig`` as a PNG of :data:`FIGURE_SIZE_PX`; returns ``path``."""
    fig.savefig(path, dpi=DPI, format='png')
    return osp.abspath(path)
