"""Step-by-step pictures of a transposed convolution, as static sequences of small grids.

Two views of the same operation, each drawn one step per pair of panels, with the part
that the step reads or writes outlined:

- :func:`plot_stamp_steps`: the scatter-add. Each input pixel in turn (outlined on the
  left) adds a copy of the kernel, scaled by its value, to the output (its footprint
  outlined on the right); the right panel shows the output summed so far.
- :func:`plot_window_steps`: the equivalent direct convolution. The input is stretched
  (``stride - 1`` zeros between its pixels) and padded (``kernel size - 1`` zeros around),
  and the kernel, turned by 180 degrees, slides over it one pixel at a time; the window
  of the chosen output pixels is outlined on the left, the pixel it computes on the right.

The steps themselves are plain data (:func:`stamp_steps`, :func:`window_steps`), so tests
and other figures can use them. Single-channel 2-D inputs and kernels, ``padding='valid'``.
The figures are matplotlib figures drawn with :func:`upsampling_course.grids.plot_grids`:
static, so they read the same in a notebook and on a web page.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from numpy.typing import ArrayLike

from .grids import as_image, plot_grids

__all__ = [
    "Stamp",
    "Window",
    "plot_stamp_steps",
    "plot_window_steps",
    "stamp_steps",
    "stretched_input",
    "window_steps",
]

# Outline of what a step reads or writes: thick enough to see at 390 px, in a colour that
# no sequential colour map of the book uses for its cells.
HIGHLIGHT = "#e8590c"
_HIGHLIGHT_WIDTH = 3.0


@dataclass(frozen=True)
class Stamp:
    """One step of the scatter-add: input pixel ``pixel`` adds ``value * kernel`` to the
    output block whose top-left corner is ``corner``; ``output`` is the sum so far."""

    pixel: tuple[int, int]
    value: float
    corner: tuple[int, int]
    output: np.ndarray


@dataclass(frozen=True)
class Window:
    """One step of the equivalent convolution: output pixel ``pixel`` is the sum of the
    stretched, padded input's window at ``corner`` (kernel-sized) times the turned kernel.
    ``terms`` are the products that are not zero, as (input value, kernel weight) pairs."""

    pixel: tuple[int, int]
    corner: tuple[int, int]
    value: float
    terms: tuple[tuple[float, float], ...]


def _single_channel(array: ArrayLike, name: str) -> np.ndarray:
    try:
        return as_image(array)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def stamp_steps(x: ArrayLike, kernel: ArrayLike, stride: int) -> list[Stamp]:
    """The scatter-add of a transposed convolution (``'valid'``), one input pixel per step,
    in reading order. The last step's output is the whole result,
    ``((h - 1) * stride + kh, (w - 1) * stride + kw)``."""
    image, weights = _single_channel(x, "x"), _single_channel(kernel, "kernel")
    if stride < 1:
        raise ValueError(f"stride must be positive, got {stride}")
    (h, w), (kh, kw) = image.shape, weights.shape
    output = np.zeros(((h - 1) * stride + kh, (w - 1) * stride + kw))
    steps = []
    for row, column in np.ndindex(h, w):
        top, left = row * stride, column * stride
        output[top : top + kh, left : left + kw] += image[row, column] * weights
        steps.append(Stamp((row, column), float(image[row, column]), (top, left), output.copy()))
    return steps


def stretched_input(x: ArrayLike, kernel_size: int, stride: int) -> np.ndarray:
    """The input of the direct convolution equal to a ``'valid'`` transposed convolution:
    ``stride - 1`` zeros between neighbouring pixels, ``kernel_size - 1`` zeros around."""
    image = _single_channel(x, "x")
    h, w = image.shape
    stretched = np.zeros(((h - 1) * stride + 1, (w - 1) * stride + 1))
    stretched[::stride, ::stride] = image
    return np.pad(stretched, kernel_size - 1)


def window_steps(
    x: ArrayLike, kernel: ArrayLike, stride: int, pixels: Sequence[tuple[int, int]]
) -> list[Window]:
    """The equivalent direct convolution's computation of the output pixels ``pixels``."""
    weights = _single_channel(kernel, "kernel")
    if weights.shape[0] != weights.shape[1]:
        raise ValueError(f"expected a square kernel, got {weights.shape}")
    padded = stretched_input(x, weights.shape[0], stride)
    turned = weights[::-1, ::-1]
    kh, kw = turned.shape
    out_h, out_w = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    steps = []
    for row, column in pixels:
        if not (0 <= row < out_h and 0 <= column < out_w):
            raise ValueError(f"output pixel {(row, column)} is outside the {out_h}x{out_w} output")
        window = padded[row : row + kh, column : column + kw]
        terms = tuple((float(v), float(k)) for v, k in zip(window.ravel(), turned.ravel()) if v)
        steps.append(Window((row, column), (row, column), float(np.sum(window * turned)), terms))
    return steps


def _outline(ax: Axes, corner: tuple[int, int], size: tuple[int, int],
             dashed: bool = False) -> None:
    """Outline the cells ``size`` (rows, columns) from ``corner`` (row, column): the step's
    highlight, or (``dashed``) a thin grey frame around a region of the grid."""
    (top, left), (rows, columns) = corner, size
    style: dict[str, Any] = (
        {"edgecolor": "0.35", "linewidth": 1.2, "linestyle": "--", "gid": "region", "zorder": 4}
        if dashed else
        {"edgecolor": HIGHLIGHT, "linewidth": _HIGHLIGHT_WIDTH, "gid": "highlight", "zorder": 5}
    )
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), columns, rows, fill=False, clip_on=False,
                           **style))


def _pixel_name(pixel: tuple[int, int]) -> str:
    # Grid labels count from 1, so the titles do too.
    return f"({pixel[0] + 1}, {pixel[1] + 1})"


def _number(value: float) -> str:
    return f"{value:g}"


def _sum_of_terms(window: Window) -> str:
    """``"1·9 + 2·7 = 23"``: the products that are not zero, and their sum."""
    products = " + ".join(f"{_number(v)}·{_number(k)}" for v, k in window.terms) or "0"
    return f"{products} = {_number(window.value)}"


# One highlight: (panel index in the step's pair, top-left (row, column), (rows, columns), dashed).
_Highlight = tuple[int, tuple[int, int], tuple[int, int], bool]


def _plot_step_pairs(
    panels: list[np.ndarray], titles: list[str], highlights: list[list[_Highlight]],
    **kwargs: Any,
) -> tuple[Figure, list[Axes]]:
    """Two panels per step and row, on one colour scale, with each step's outlines drawn."""
    kwargs.setdefault("cmap", "Blues")
    kwargs.setdefault("blank_zeros", True)
    fig, axes = plot_grids(panels, titles, ncols=2, shared_scale=True, **kwargs)
    for step, outlines in enumerate(highlights):
        for panel, corner, size, dashed in outlines:
            _outline(axes[2 * step + panel], corner, size, dashed)
    return fig, axes


def plot_stamp_steps(
    x: ArrayLike, kernel: ArrayLike, stride: int, **kwargs: Any
) -> tuple[Figure, list[Axes]]:
    """One row per input pixel: the input with that pixel outlined, and the output summed so
    far with the pixel's stamp outlined. All panels share one colour scale (0 is white unless
    ``cmap`` says otherwise); other keyword arguments go to :func:`plot_grids`."""
    image, weights = _single_channel(x, "x"), _single_channel(kernel, "kernel")
    steps = stamp_steps(image, weights, stride)
    panels: list[np.ndarray] = []
    titles: list[str] = []
    highlights: list[list[_Highlight]] = []
    for step in steps:
        panels += [image, step.output]
        titles += [f"input pixel {_pixel_name(step.pixel)} = {_number(step.value)}",
                   f"+ {_number(step.value)} x kernel"]
        highlights.append([(0, step.pixel, (1, 1), False),
                           (1, step.corner, weights.shape, False)])
    return _plot_step_pairs(panels, titles, highlights, **kwargs)


def plot_window_steps(
    x: ArrayLike, kernel: ArrayLike, stride: int, pixels: Sequence[tuple[int, int]],
    **kwargs: Any,
) -> tuple[Figure, list[Axes]]:
    """One row per output pixel in ``pixels``: the stretched, padded input with the kernel's
    window outlined (and the stretched input inside the padding dashed), and the output with
    that pixel outlined, the pixels computed so far filled in, and the sum of the window's
    non-zero products as its title. Other keyword arguments go to :func:`plot_grids`."""
    image, weights = _single_channel(x, "x"), _single_channel(kernel, "kernel")
    padded = stretched_input(image, weights.shape[0], stride)
    pad = weights.shape[0] - 1
    stretched_shape = (padded.shape[0] - 2 * pad, padded.shape[1] - 2 * pad)
    steps = window_steps(image, weights, stride, pixels)
    out_shape = (padded.shape[0] - weights.shape[0] + 1, padded.shape[1] - weights.shape[1] + 1)
    output = np.full(out_shape, np.nan)  # not computed yet: blank
    panels: list[np.ndarray] = []
    titles: list[str] = []
    highlights: list[list[_Highlight]] = []
    for step in steps:
        output[step.pixel] = step.value
        panels += [padded, output.copy()]
        titles += [f"window of output {_pixel_name(step.pixel)}",
                   f"output {_pixel_name(step.pixel)}: {_sum_of_terms(step)}"]
        highlights.append([(0, (pad, pad), stretched_shape, True),
                           (0, step.corner, weights.shape, False),
                           (1, step.pixel, (1, 1), False)])
    return _plot_step_pairs(panels, titles, highlights, **kwargs)
