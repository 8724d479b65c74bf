"""Pixel-grid plots of small images and volumes, used by every chapter.

A grid plot shows an image the way the upsampling examples are reasoned about: one
square per pixel, a tick per pixel labelled 1..n, white lines between pixels, and the
value written in each cell when it fits.  Keras-shaped arrays ``(1, H, W, 1)`` and
``(1, D, H, W, 1)`` are accepted as they come out of a layer.

The functions draw and return figures and axes; they never call ``plt.show()`` and
close nothing, so the caller (a notebook cell, a test) decides what happens next.
"""
from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib import markers
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.transforms import ScaledTranslation, TransformedPatchPath

__all__ = ["plot_grid", "plot_grids", "plot_volume", "as_image", "as_volume"]

# Below this font size (points) a value no longer reads, so cells stay blank.
_MIN_VALUE_FONTSIZE = 6.0
_MAX_VALUE_FONTSIZE = 11.0
# Largest size (inches) of one pixel cell in plot_grids / plot_volume figures.
_MAX_CELL_INCHES = 0.55
# The book's text column is about 9 inches at the inline backend's 100 dpi; wider
# figures are scaled down in the HTML and their text shrinks with them.
_MAX_FIGURE_WIDTH = 9.0
_MAX_FIGURE_HEIGHT = 5.5

Formatter = str | Callable[[float], str] | None


def as_image(image) -> np.ndarray:
    """Return ``image`` as a 2-D ``(H, W)`` array.

    Accepts ``(H, W)``, ``(H, W, 1)`` and a Keras batch of one single-channel image
    ``(1, H, W, 1)``.  Anything else (several channels, several samples) raises
    ``ValueError``: silently picking one of them would plot the wrong thing.
    """
    array = np.asarray(image)
    original_shape = array.shape
    if array.ndim == 4 and array.shape[0] == 1 and array.shape[-1] == 1:
        array = array[0, ..., 0]
    elif array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(
            f"expected an image of shape (H, W), (H, W, 1) or (1, H, W, 1), got {original_shape}"
        )
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise ValueError(f"expected numbers, got an array of dtype {array.dtype}")
    return array.astype(float)


def as_volume(volume) -> np.ndarray:
    """Return ``volume`` as a 3-D ``(D, H, W)`` array.

    Accepts ``(D, H, W)``, ``(D, H, W, 1)`` and a Keras batch ``(1, D, H, W, 1)``.
    """
    array = np.asarray(volume)
    original_shape = array.shape
    if array.ndim == 5 and array.shape[0] == 1 and array.shape[-1] == 1:
        array = array[0, ..., 0]
    elif array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(
            "expected a volume of shape (D, H, W), (D, H, W, 1) or (1, D, H, W, 1), "
            f"got {original_shape}"
        )
    return array.astype(float)


def _formatter(values: np.ndarray, fmt: Formatter) -> Callable[[float], str]:
    to_text = _raw_formatter(values, fmt)

    def without_negative_zero(v: float) -> str:
        # -0.04 formatted with one decimal reads "-0.0"; a sign on zero is noise in a cell.
        text = to_text(v)
        return text[1:] if text.startswith("-") and not text.strip("-0.") else text

    return without_negative_zero


def _raw_formatter(values: np.ndarray, fmt: Formatter) -> Callable[[float], str]:
    if callable(fmt):
        return fmt
    if isinstance(fmt, str):
        return (lambda v: fmt.format(v)) if "{" in fmt else (lambda v: format(v, fmt))
    finite = values[np.isfinite(values)]
    if np.all(finite == np.round(finite)):
        return lambda v: f"{v:.0f}"

    def short(v: float) -> str:
        # Two decimals are enough for the course's values (1.25, 0.75 ...); drop trailing zeros.
        return f"{v:.2f}".rstrip("0").rstrip(".")

    return short


def _relative_luminance(rgba) -> float:
    """WCAG relative luminance of an sRGB colour (0 = black, 1 = white)."""
    channels = np.asarray(rgba[:3], dtype=float)
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def _text_colour(rgba) -> str:
    # 0.179 is where black and white text have the same contrast ratio against the cell.
    return "black" if _relative_luminance(rgba) > 0.179 else "white"


def _cell_size_points(ax: Axes, rows: int, cols: int) -> float:
    """Side of one pixel cell in points, from the axes' size in the figure (equal aspect)."""
    fig_width, fig_height = ax.figure.get_size_inches()
    position = ax.get_position()
    width_points = position.width * fig_width * 72
    height_points = position.height * fig_height * 72
    return min(width_points / cols, height_points / rows)


def _label_step(n: int, cell_points: float, label_points: float) -> int:
    """Label every pixel when the labels fit; otherwise 1, 1 + step, 1 + 2 step ..."""
    for step in (1, 2, 5, 10, 20, 50, 100):
        if step * cell_points >= label_points:
            return step
    return max(1, n)


# Tick marks and labels as matplotlib draws them by default (points).
_TICK_LENGTH = 3.5
_TICK_PAD = 3.5


def _draw_pixel_axes(ax: Axes, rows: int, cols: int, ticks: bool = True) -> None:
    """A tick mark under each column and left of each row, labelled 1..n (unless not
    ``ticks``), and white lines on the pixel borders.

    Drawn as plain artists rather than with matplotlib's tick machinery: a tick object
    (two marks, a grid line, two labels, re-measured at every draw) per pixel was more
    than half of the time a notebook spent on a grid figure.
    """
    cell = _cell_size_points(ax, rows, cols)
    fontsize = 8.0 if cell >= 12 else 7.0
    ax.set_xticks([])
    ax.set_yticks([])
    if ticks:
        _add_pixel_labels(ax, rows, cols, cell, fontsize)
    # White lines on the pixel borders, as one collection.
    borders = [((x, -0.5), (x, rows - 0.5)) for x in np.arange(-0.5, cols, 1.0)]
    borders += [((-0.5, y), (cols - 0.5, y)) for y in np.arange(-0.5, rows, 1.0)]
    ax.add_collection(LineCollection(
        borders, colors="white", linewidths=min(1.5, max(0.3, 0.08 * cell)), gid="pixel-borders"),
        autolim=False)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)


def _add_pixel_labels(ax: Axes, rows: int, cols: int, cell: float, fontsize: float) -> None:
    dpi_scale = ax.figure.dpi_scale_trans
    offset = (_TICK_LENGTH + _TICK_PAD) / 72
    below = ax.get_xaxis_transform() + ScaledTranslation(0, -offset, dpi_scale)
    left_of = ax.get_yaxis_transform() + ScaledTranslation(-offset, 0, dpi_scale)
    # Column labels sit side by side and need their width; row labels only their height.
    column_step = _label_step(cols, cell, 0.6 * fontsize * len(str(cols)) + 3)
    row_step = _label_step(rows, cell, fontsize + 1)
    for i in range(0, cols, column_step):
        ax.text(i, 0, str(i + 1), transform=below, ha="center", va="top", fontsize=fontsize,
                gid="column-label", clip_on=False)
    for i in range(0, rows, row_step):
        ax.text(0, i, str(i + 1), transform=left_of, ha="right", va="center", fontsize=fontsize,
                gid="row-label", clip_on=False)
    marks = dict(linestyle="none", color="black", markersize=_TICK_LENGTH, clip_on=False,
                 gid="tick-marks")
    ax.plot(np.arange(cols), np.zeros(cols), marker=markers.TICKDOWN,
            transform=ax.get_xaxis_transform(), **marks)
    ax.plot(np.zeros(rows), np.arange(rows), marker=markers.TICKLEFT,
            transform=ax.get_yaxis_transform(), **marks)


def plot_grid(
    ax: Axes,
    image,
    *,
    title: str | None = None,
    annotate: bool = True,
    colorbar: bool = False,
    cmap="viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    fmt: Formatter = None,
    blank_zeros: bool = False,
    ticks: bool = True,
) -> Axes:
    """Draw ``image`` on ``ax`` as a pixel grid and return ``ax``.

    ``image`` is ``(H, W)``, ``(H, W, 1)`` or ``(1, H, W, 1)``.  Rows and columns are
    labelled 1..n.  With ``annotate`` each cell shows its value (formatted by ``fmt``:
    a format spec such as ``".2f"``, a ``"{:.2f}"`` template or a callable) in black
    or white, whichever reads better on the cell's colour; values are left out when
    the cells are too small for readable text.  ``colorbar`` adds a colour bar beside
    the axes.  ``vmin``/``vmax`` fix the colour scale (e.g. to share it across plots).
    ``blank_zeros`` writes no value in cells that hold 0: a sparse image then shows its
    non-zero values at a glance (and draws faster).  ``ticks=False`` leaves out the pixel numbers, for a caller that labels the axes
    itself (with ``ax.set_xticks``, say).
    """
    values = as_image(image)
    rows, cols = values.shape
    picture = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    _draw_pixel_axes(ax, rows, cols, ticks)
    if title is not None:
        # A fixed y (the default place) stops matplotlib re-measuring every tick label to
        # position the title at each draw; the ticks are below the image, not above.
        ax.set_title(title, y=1.0)
    if colorbar:
        ax.figure.colorbar(picture, ax=ax, fraction=0.046, pad=0.04)
    if annotate:
        _annotate(ax, values, picture.cmap, picture.norm, fmt, blank_zeros)
    _leave_drawing_to_the_inline_backend(ax.figure)
    return ax


_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def _leave_drawing_to_the_inline_backend(fig: Figure) -> None:
    """Spare a notebook one full draw of ``fig`` that nobody sees.

    At the end of a cell pyplot first draws every stale figure into its canvas, then the
    inline backend renders each figure again, itself, to send it to the notebook.  Under
    that backend the first draw is wasted work, and on a dense grid it is a third of the
    figure's cost; a figure that is not stale is skipped by it.  Any later change to the
    figure marks it stale again, so nothing is ever shown out of date.  Other backends
    (a window, ipympl) draw from ``stale`` and are left alone.
    """
    if matplotlib.get_backend() == _INLINE_BACKEND:
        fig.stale = False


def _annotate(ax: Axes, values: np.ndarray, cmap, norm: Normalize, fmt: Formatter,
              blank_zeros: bool = False) -> None:
    rows, cols = values.shape
    to_text = _formatter(values, fmt)
    labels = [[to_text(v) if np.isfinite(v) and not (blank_zeros and v == 0) else ""
               for v in row] for row in values]
    longest = max((len(label) for row in labels for label in row), default=0)
    if longest == 0:
        return
    cell = _cell_size_points(ax, rows, cols)
    # A digit is about 0.6 em wide; keep a margin of 15% of the cell on each side.
    fontsize = min(_MAX_VALUE_FONTSIZE, 0.7 * cell / (0.6 * longest), 0.55 * cell)
    if fontsize < _MIN_VALUE_FONTSIZE:
        return
    # One colour-map call for the whole image rather than one per cell, and one clip path
    # for all the values (each text otherwise builds its own from the axes).
    colours = cmap(norm(np.nan_to_num(values)))
    clip_path = TransformedPatchPath(ax.patch)
    for r in range(rows):
        for c in range(cols):
            if not labels[r][c]:
                continue
            colour = _text_colour(colours[r, c])
            text = ax.text(c, r, labels[r][c], ha="center", va="center", fontsize=fontsize,
                           color=colour, gid="pixel-value", clip_path=clip_path)
            # Inside the axes by construction: leaving them out of layout and tight-bbox
            # computations makes drawing a dense grid several times faster.
            text.set_in_layout(False)


# Fixed parts of a plot_grids figure, in inches. The axes are placed explicitly (no layout
# engine): every cell gets exactly the same size, and drawing is about twice as fast as
# with constrained layout, which matters for chapters with many figures.
_LEFT = 0.45  # room for the row labels of a panel
_BOTTOM = 0.35  # room for the column labels
_RIGHT = 0.15
_TITLE_LINE = 0.22
_SUPTITLE = 0.4
_COLORBAR = 0.7  # a panel's own colour bar: pad, bar and its labels
_SHARED_COLORBAR = 0.8


@dataclass(frozen=True)
class _Layout:
    """Panels in rows of ``ncols``; every pixel cell is ``cell`` inches in every panel."""

    shapes: tuple[tuple[int, int], ...]
    ncols: int
    colorbars: str  # "none", "each" or "shared"

    @property
    def nrows(self) -> int:
        return -(-len(self.shapes) // self.ncols)

    def _slot(self, index: int) -> tuple[int, int]:
        return divmod(index, self.ncols)

    @property
    def column_widths(self) -> list[int]:
        widths = [1] * self.ncols
        for index, (_, cols) in enumerate(self.shapes):
            column = self._slot(index)[1]
            widths[column] = max(widths[column], cols)
        return widths

    @property
    def row_heights(self) -> list[int]:
        heights = [1] * self.nrows
        for index, (rows, _) in enumerate(self.shapes):
            row = self._slot(index)[0]
            heights[row] = max(heights[row], rows)
        return heights

    @property
    def _panel_extra(self) -> float:
        """Width each panel needs besides its cells: row labels, gap, its own colour bar."""
        return _LEFT + 0.15 + (_COLORBAR if self.colorbars == "each" else 0.0)

    @property
    def _fixed_width(self) -> float:
        shared = _SHARED_COLORBAR if self.colorbars == "shared" else 0.0
        return self.ncols * self._panel_extra + _RIGHT + shared

    @property
    def cell(self) -> float:
        return min(
            _MAX_CELL_INCHES,
            (_MAX_FIGURE_WIDTH - self._fixed_width) / sum(self.column_widths),
            _MAX_FIGURE_HEIGHT * self.nrows / sum(self.row_heights),
        )

    def figure(self, title_lines: int, suptitle: bool) -> tuple[Figure, list[Axes], Axes | None]:
        """The figure, one axes per shape, and the axes of the shared colour bar (if any)."""
        cell = self.cell
        title_height = _TITLE_LINE * title_lines + (0.08 if title_lines else 0.05)
        row_slot = [title_height + rows * cell + _BOTTOM for rows in self.row_heights]
        column_slot = [self._panel_extra + cols * cell for cols in self.column_widths]
        shared = _SHARED_COLORBAR if self.colorbars == "shared" else 0.0
        width = sum(column_slot) + _RIGHT + shared
        top = _SUPTITLE if suptitle else 0.05
        height = top + sum(row_slot)
        fig = plt.figure(figsize=(width, height))

        def place(left, bottom, w, h):  # inches from the bottom-left corner
            return fig.add_axes((left / width, bottom / height, w / width, h / height))

        axes = []
        for index, (rows, cols) in enumerate(self.shapes):
            row, column = self._slot(index)
            left = sum(column_slot[:column]) + _LEFT
            top_of_cells = height - top - sum(row_slot[:row]) - title_height
            ax = place(left, top_of_cells - rows * cell, cols * cell, rows * cell)
            axes.append(ax)
        colorbar_axes = None
        if self.colorbars == "shared":
            first_top = height - top - title_height
            last_bottom = _BOTTOM
            colorbar_axes = place(sum(column_slot) + 0.1, last_bottom, 0.15, first_top - last_bottom)
        return fig, axes, colorbar_axes


def plot_grids(
    images: Sequence,
    titles: Sequence[str] | None = None,
    *,
    suptitle: str | None = None,
    shared_scale: bool = False,
    ncols: int | None = None,
    **kwargs,
) -> tuple[Figure, list[Axes]]:
    """Plot several images side by side (e.g. a layer's input and output).

    Returns ``(fig, axes)`` with one axes per image, in order.  Cells have the same
    size in every panel, so a 2x2 input looks a quarter of its 4x4 output.  With
    ``shared_scale`` all panels use one colour scale (the overall min and max unless
    ``vmin``/``vmax`` are given), and ``colorbar=True`` then draws a single colour bar
    for the figure.  ``ncols`` wraps the panels into rows of that many (default: one
    row).  Other keyword arguments go to :func:`plot_grid`.
    """
    arrays = [as_image(image) for image in images]
    if not arrays:
        raise ValueError("plot_grids needs at least one image")
    if titles is not None and len(titles) != len(arrays):
        raise ValueError(f"got {len(titles)} titles for {len(arrays)} images")
    ncols = len(arrays) if ncols is None else ncols
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    colorbar = kwargs.pop("colorbar", False)
    if shared_scale:
        finite = np.concatenate([a[np.isfinite(a)] for a in arrays])
        kwargs.setdefault("vmin", float(finite.min()) if finite.size else None)
        kwargs.setdefault("vmax", float(finite.max()) if finite.size else None)
    colorbars = ("shared" if shared_scale else "each") if colorbar else "none"
    layout = _Layout(tuple(a.shape for a in arrays), min(ncols, len(arrays)), colorbars)
    wrapped = [
        # Wrap a title wider than its panel, so neighbouring titles do not run together.
        textwrap.fill(title, width=max(8, int(array.shape[1] * layout.cell / 0.085)))
        for title, array in zip(titles, arrays)
    ] if titles is not None else [None] * len(arrays)
    title_lines = max((title.count("\n") + 1 for title in wrapped if title), default=0)
    fig, axes, colorbar_axes = layout.figure(title_lines, suptitle is not None)
    for ax, array, title in zip(axes, arrays, wrapped):
        plot_grid(ax, array, title=title, **kwargs)
        if colorbars == "each":
            box = ax.get_position()
            cax = fig.add_axes((box.x1 + 0.1 / fig.get_figwidth(), box.y0,
                                0.12 / fig.get_figwidth(), box.height))
            fig.colorbar(ax.images[0], cax=cax)
    if colorbar_axes is not None:
        fig.colorbar(axes[-1].images[0], cax=colorbar_axes)
    if suptitle is not None:
        fig.suptitle(suptitle, y=1 - 0.08 / fig.get_figheight(), va="top")
    _leave_drawing_to_the_inline_backend(fig)
    return fig, axes


def plot_volume(volume, *, title: str | None = None, **kwargs) -> tuple[Figure, list[Axes]]:
    """Plot a ``(D, H, W)`` volume (or Keras ``(1, D, H, W, 1)``) as a row of depth slices.

    Each slice is a grid titled "depth 1" .. "depth D"; the slices share one colour
    scale unless ``shared_scale=False`` is passed.  Returns ``(fig, axes)``.
    """
    slices = as_volume(volume)
    kwargs.setdefault("shared_scale", True)
    titles = [f"depth {d + 1}" for d in range(slices.shape[0])]
    return plot_grids(list(slices), titles, suptitle=title, **kwargs)
