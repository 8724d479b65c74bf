"""Pixel-grid plots of small images and volumes, used by every chapter.

A grid plot shows an image the way the upsampling examples are reasoned about: one
square per pixel, a tick per pixel labelled 1..n, lines between pixels, and the value
written in each cell when it fits.  Keras-shaped arrays ``(1, H, W, 1)`` and
``(1, D, H, W, 1)`` are accepted as they come out of a layer.

Signed data (any negative value) is drawn on a diverging colour map centred on zero:
white at 0, red above, blue below, with limits symmetric about 0, so the colour of a
value says its sign and its size at once.

Figures are sized for the book's text column, so that a value written in a cell is at
least 9 px tall on the page at a desktop width; :func:`phone_version` rearranges a
:func:`plot_grids` figure into fewer panels per row for a phone (``upsampling_course.
figures`` shows it there).  :func:`outline_windows` and :func:`draw_switches` mark pooling
windows and the switches of max unpooling on grid plots.

The functions draw and return figures and axes; they never call ``plt.show()`` and
close nothing, so the caller (a notebook cell, a test) decides what happens next.
"""
from __future__ import annotations

import dataclasses
import functools
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import markers
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap, LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.image import AxesImage
from matplotlib.patches import ConnectionPatch, Rectangle
from matplotlib.textpath import TextToPath
from matplotlib.transforms import ScaledTranslation, TransformedPatchPath
from numpy.typing import ArrayLike

__all__ = [
    "DIVERGING",
    "GRID_IMAGE_GID",
    "as_image",
    "as_volume",
    "draw_switches",
    "is_signed",
    "outline_windows",
    "phone_version",
    "plot_grid",
    "plot_grids",
    "plot_volume",
]

#: The ``gid`` of the image artist of every grid plot (other images in a figure are pictures).
GRID_IMAGE_GID = "pixel-grid"

# Font sizes (points) of the values written in the cells. An SVG point is 4/3 CSS px, so
# 7 pt is 9.3 px on a page that shows the figure at its natural size.
_MIN_VALUE_FONTSIZE = 7.0
_MAX_VALUE_FONTSIZE = 11.0
_TITLE_FONTSIZE = 11.0
# Largest size (inches) of one pixel cell in plot_grids / plot_volume figures.
_MAX_CELL_INCHES = 0.55
# The book's column for cell outputs is 688 px wide at a desktop width (1280 px) and 358 px on
# a 390 px phone; an SVG figure is shown at 96 px per inch unless it is wider than that. Grid
# figures are sized to fit (with the 0.1 in margins of a tight bounding box), never shrunk.
_MAX_FIGURE_WIDTH = 6.9
_PHONE_FIGURE_WIDTH = 3.5
_MAX_FIGURE_HEIGHT = 5.5
_PHONE_FIGURE_HEIGHT = 9.0

Formatter = str | Callable[[float], str] | None


def _diverging_map() -> LinearSegmentedColormap:
    # ColorBrewer's RdBu (via matplotlib's RdBu_r: blue for negative, red for positive) with
    # its light grey centre made pure white, so that 0 reads as "nothing".
    colours = matplotlib.colormaps["RdBu_r"](np.linspace(0, 1, 11))
    colours[5] = (1.0, 1.0, 1.0, 1.0)
    # An odd number of colours puts one exactly at the centre: zero is pure white.
    return LinearSegmentedColormap.from_list("upsampling_course_diverging", colours, N=255)


#: The colour map of signed data: blue below zero, white at zero, red above.
DIVERGING = _diverging_map()
_SEQUENTIAL = "viridis"
# Cell borders: white on the sequential maps; grey on the diverging one, where zero is white.
_BORDER_COLOURS = {False: "white", True: "#a0a0a0"}


def as_image(image: ArrayLike) -> np.ndarray:
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


def as_volume(volume: ArrayLike) -> np.ndarray:
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


def is_signed(values: ArrayLike) -> bool:
    """True if ``values`` hold a negative number (beyond float rounding of a zero).

    Such data is plotted on :data:`DIVERGING`, centred on zero.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return False
    largest = float(np.abs(finite).max())
    return bool(finite.min() < -1e-6 * largest)


def _colour_scale(values: np.ndarray, signed: bool, vmin: float | None,
                  vmax: float | None) -> Normalize:
    """The value-to-colour scale: symmetric about zero for signed data."""
    finite = values[np.isfinite(values)]
    low = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    high = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    if not signed:
        return Normalize(vmin=vmin, vmax=vmax)
    half_range = max(abs(low), abs(high)) or 1.0
    return Normalize(vmin=-half_range, vmax=half_range)


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
        spec = fmt
        return (lambda v: spec.format(v)) if "{" in spec else (lambda v: format(v, spec))
    finite = values[np.isfinite(values)]
    if np.all(finite == np.round(finite)):
        return lambda v: f"{v:.0f}"

    def short(v: float) -> str:
        # Two decimals are enough for the course's values (1.25, 0.75 ...); drop trailing zeros.
        return f"{v:.2f}".rstrip("0").rstrip(".")

    return short


def _relative_luminance(rgba: Sequence[float]) -> float:
    """WCAG relative luminance of an sRGB colour (0 = black, 1 = white)."""
    channels = np.asarray(rgba[:3], dtype=float)
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def _text_colour(rgba: Sequence[float]) -> str:
    # 0.179 is where black and white text have the same contrast ratio against the cell.
    return "black" if _relative_luminance(rgba) > 0.179 else "white"


def _figure(ax: Axes) -> Figure:
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure), "the axes belong to no figure"
    return fig


def _grid_shape(ax: Axes) -> tuple[int, int]:
    """Rows and columns of the grid plotted on ``ax`` (by :func:`plot_grid`)."""
    data = ax.images[0].get_array()
    assert data is not None, "the axes hold no grid plot"
    rows, cols = data.shape
    return int(rows), int(cols)


def _cell_size_points(ax: Axes, rows: int, cols: int) -> float:
    """Side of one pixel cell in points, from the axes' size in the figure (equal aspect)."""
    fig_width, fig_height = _figure(ax).get_size_inches()
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


_TEXT_SIZES = TextToPath()


def _text_width(text: str, fontsize: float) -> float:
    """Width of one line of ``text`` in inches (DejaVu Sans, matplotlib's font)."""
    width, _, _ = _TEXT_SIZES.get_text_width_height_descent(
        text, FontProperties(size=fontsize), ismath=False)
    return width / 72


def _value_fontsize(cell_points: float, labels: Sequence[str]) -> float:
    """Font size of the values in cells of ``cell_points``: the widest of ``labels`` keeps a
    margin of 10% of the cell on each side, and a value at most 55% of the cell's height."""
    widest = max(_em_width(label) for label in labels)
    return min(_MAX_VALUE_FONTSIZE, 0.8 * cell_points / widest, 0.55 * cell_points)


@functools.lru_cache(maxsize=4096)
def _em_width(label: str) -> float:
    """Width of ``label`` in ems (a digit is about 0.64 em, a point 0.32 em)."""
    return max(_text_width(label, 1.0) * 72, 0.3)


# Tick marks and labels as matplotlib draws them by default (points).
_TICK_LENGTH = 3.5
_TICK_PAD = 3.5
_PIXEL_LABEL_GIDS = ("column-label", "row-label", "tick-marks")


def _draw_pixel_axes(ax: Axes, rows: int, cols: int, ticks: bool, border: str) -> None:
    """A tick mark under each column and left of each row, labelled 1..n (unless not
    ``ticks``), and lines of colour ``border`` on the pixel borders.

    Drawn as plain artists rather than with matplotlib's tick machinery: a tick object
    (two marks, a grid line, two labels, re-measured at every draw) per pixel was more
    than half of the time a notebook spent on a grid figure.
    """
    cell = _cell_size_points(ax, rows, cols)
    ax.set_xticks([])
    ax.set_yticks([])
    if ticks:
        _add_pixel_labels(ax, rows, cols, cell)
    # Lines on the pixel borders, as one collection.
    borders = [((x, -0.5), (x, rows - 0.5)) for x in np.arange(-0.5, cols, 1.0)]
    borders += [((-0.5, y), (cols - 0.5, y)) for y in np.arange(-0.5, rows, 1.0)]
    ax.add_collection(LineCollection(
        borders, colors=border, linewidths=_border_width(cell), gid="pixel-borders"),
        autolim=False)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)


def _border_width(cell_points: float) -> float:
    return min(1.5, max(0.3, 0.08 * cell_points))


def _add_pixel_labels(ax: Axes, rows: int, cols: int, cell: float) -> None:
    fontsize = 8.0 if cell >= 12 else 7.0
    dpi_scale = _figure(ax).dpi_scale_trans
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
    ax.plot(np.arange(cols), np.zeros(cols), marker=markers.TICKDOWN,
            transform=ax.get_xaxis_transform(), linestyle="none", color="black",
            markersize=_TICK_LENGTH, clip_on=False, gid="tick-marks")
    ax.plot(np.zeros(rows), np.arange(rows), marker=markers.TICKLEFT,
            transform=ax.get_yaxis_transform(), linestyle="none", color="black",
            markersize=_TICK_LENGTH, clip_on=False, gid="tick-marks")


def plot_grid(
    ax: Axes,
    image: ArrayLike,
    *,
    title: str | None = None,
    annotate: bool = True,
    colorbar: bool = False,
    cmap: str | Colormap | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    fmt: Formatter = None,
    blank_zeros: bool = False,
    ticks: bool = True,
    signed: bool | None = None,
) -> Axes:
    """Draw ``image`` on ``ax`` as a pixel grid and return ``ax``.

    ``image`` is ``(H, W)``, ``(H, W, 1)`` or ``(1, H, W, 1)``.  Rows and columns are
    labelled 1..n.  With ``annotate`` each cell shows its value (formatted by ``fmt``:
    a format spec such as ``".2f"``, a ``"{:.2f}"`` template or a callable) in black
    or white, whichever reads better on the cell's colour; values are left out when
    the cells are too small for readable text.  ``colorbar`` adds a colour bar beside
    the axes.  ``vmin``/``vmax`` fix the colour scale (e.g. to share it across plots).
    ``blank_zeros`` writes no value in cells that hold 0: a sparse image then shows its
    non-zero values at a glance (and draws faster).  ``ticks=False`` leaves out the pixel
    numbers, for a caller that labels the axes itself (with ``ax.set_xticks``, say).

    Signed data (``signed``; by default, any negative value) is drawn on
    :data:`DIVERGING` with a scale symmetric about zero (covering ``vmin``/``vmax`` if
    given), whatever ``cmap`` says: the book shows every signed quantity that way.
    ``signed=False`` opts out; ``cmap`` (default viridis) colours the other data.
    """
    values = as_image(image)
    rows, cols = values.shape
    signed = is_signed(values) if signed is None else signed
    colours = DIVERGING if signed else (cmap if cmap is not None else _SEQUENTIAL)
    picture = ax.imshow(values, cmap=colours, norm=_colour_scale(values, signed, vmin, vmax),
                        interpolation="none", gid=GRID_IMAGE_GID)
    _draw_pixel_axes(ax, rows, cols, ticks, _BORDER_COLOURS[signed])
    if title is not None:
        # A fixed y (the default place) stops matplotlib re-measuring every tick label to
        # position the title at each draw; the ticks are below the image, not above.
        ax.set_title(title, y=1.0, fontsize=_TITLE_FONTSIZE)
    if colorbar:
        _figure(ax).colorbar(picture, ax=ax, fraction=0.046, pad=0.04)
    if annotate:
        _annotate(ax, values, picture, fmt, blank_zeros)
    _leave_drawing_to_the_inline_backend(_figure(ax))
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


def _annotate(ax: Axes, values: np.ndarray, picture: AxesImage, fmt: Formatter,
              blank_zeros: bool = False) -> None:
    rows, cols = values.shape
    to_text = _formatter(values, fmt)
    labels = [[to_text(v) if np.isfinite(v) and not (blank_zeros and v == 0) else ""
               for v in row] for row in values]
    written = {label for row in labels for label in row if label}
    if not written:
        return
    fontsize = _value_fontsize(_cell_size_points(ax, rows, cols), sorted(written))
    if fontsize < _MIN_VALUE_FONTSIZE:
        return
    # One colour-map call for the whole image rather than one per cell, and one clip path
    # for all the values (each text otherwise builds its own from the axes).
    colours = picture.cmap(picture.norm(np.nan_to_num(values)))
    clip_path = TransformedPatchPath(ax.patch)
    for r in range(rows):
        for c in range(cols):
            if not labels[r][c]:
                continue
            text = ax.text(c, r, labels[r][c], ha="center", va="center", fontsize=fontsize,
                           color=_text_colour(np.asarray(colours)[r, c]), gid="pixel-value",
                           clip_path=clip_path)
            # Inside the axes by construction: leaving them out of layout and tight-bbox
            # computations makes drawing a dense grid several times faster.
            text.set_in_layout(False)


# --- Figures of several grids -------------------------------------------------------------------

# Fixed parts of a plot_grids figure, in inches. The axes are placed explicitly (no layout
# engine): every cell gets exactly the same size, and drawing is about twice as fast as
# with constrained layout, which matters for chapters with many figures.
_LEFT = 0.45  # room for the row labels of a panel
_GAP = 0.15  # between a panel and the next one's row labels
_BOTTOM = 0.35  # room for the column labels
_RIGHT = 0.15
_TITLE_LINE = 0.22
_SUPTITLE_LINE = 0.28
_COLORBAR = 0.7  # a panel's own colour bar: pad, bar and its labels
_SHARED_COLORBAR = 0.8

def _wrap(text: str, width: float, fontsize: float) -> str:
    """``text`` broken into lines no wider than ``width`` inches, only between words.

    A word wider than ``width`` gets a line of its own; it is never broken.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and _text_width(candidate, fontsize) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def _longest_word(text: str | None, fontsize: float) -> float:
    return max((_text_width(word, fontsize) for word in (text or "").split()), default=0.0)


@dataclass(frozen=True)
class _Layout:
    """Panels in rows of ``ncols``; every pixel cell is ``cell`` inches in every panel.

    ``title_words`` is the width (inches) of the longest word of each panel's title: a
    column of panels is made wide enough for it, since titles never break inside a word.
    """

    shapes: tuple[tuple[int, int], ...]
    ncols: int
    colorbars: str  # "none", "each" or "shared"
    title_words: tuple[float, ...]
    max_width: float = _MAX_FIGURE_WIDTH
    max_height: float = _MAX_FIGURE_HEIGHT

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
        return _LEFT + _GAP + (_COLORBAR if self.colorbars == "each" else 0.0)

    @property
    def _shared_colorbar(self) -> float:
        return _SHARED_COLORBAR if self.colorbars == "shared" else 0.0

    def title_room(self, cell: float) -> list[float]:
        """Extra width each column needs so that its titles' longest words fit."""
        room = [0.0] * self.ncols
        for index, word in enumerate(self.title_words):
            column = self._slot(index)[1]
            available = self.column_widths[column] * cell + _LEFT + _GAP
            room[column] = max(room[column], word - available)
        return room

    def width(self, cell: float) -> float:
        fixed = self.ncols * self._panel_extra + _RIGHT + self._shared_colorbar
        return fixed + sum(self.column_widths) * cell + sum(self.title_room(cell))

    @property
    def cell(self) -> float:
        cell = min(_MAX_CELL_INCHES, self.max_height * self.nrows / sum(self.row_heights))
        # A wider title column leaves less for the cells; a few rounds settle it.
        for _ in range(4):
            excess = self.width(cell) - self.max_width
            if excess <= 1e-9:
                break
            cell = max(0.05, cell - excess / sum(self.column_widths))
        return cell

    def wrapped_title(self, index: int, title: str, cell: float) -> str:
        column = self._slot(index)[1]
        columns = self.column_widths[column]
        width = max(columns * cell + _LEFT + _GAP + self.title_room(cell)[column], 0.5)
        return _wrap(title, width, _TITLE_FONTSIZE)

    def place(self, fig: Figure, panels: Sequence[Axes], panel_colorbars: Sequence[Axes],
              shared_colorbar: Axes | None, title_lines: int, suptitle_lines: int) -> None:
        """Size ``fig`` and put each panel (and its colour bar) in its slot."""
        cell = self.cell
        room = self.title_room(cell)
        title_height = _TITLE_LINE * title_lines + (0.08 if title_lines else 0.05)
        row_slot = [title_height + rows * cell + _BOTTOM for rows in self.row_heights]
        column_slot = [self._panel_extra + cols * cell + extra
                       for cols, extra in zip(self.column_widths, room, strict=True)]
        width = sum(column_slot) + _RIGHT + self._shared_colorbar
        top = _SUPTITLE_LINE * suptitle_lines + 0.12 if suptitle_lines else 0.05
        height = top + sum(row_slot)
        fig.set_size_inches(width, height)

        def box(left: float, bottom: float, w: float,
                h: float) -> tuple[float, float, float, float]:
            return (left / width, bottom / height, w / width, h / height)

        for index, ((rows, cols), ax) in enumerate(zip(self.shapes, panels, strict=True)):
            row, column = self._slot(index)
            left = sum(column_slot[:column]) + _LEFT + room[column] / 2
            top_of_cells = height - top - sum(row_slot[:row]) - title_height
            ax.set_position(box(left, top_of_cells - rows * cell, cols * cell, rows * cell))
            if panel_colorbars:
                panel_colorbars[index].set_position(box(
                    left + cols * cell + 0.1, top_of_cells - rows * cell, 0.12, rows * cell))
        if shared_colorbar is not None:
            first_top = height - top - title_height
            shared_colorbar.set_position(box(
                sum(column_slot) + 0.1, _BOTTOM, 0.15, first_top - _BOTTOM))


@dataclass
class _GridFigure:
    """What :func:`plot_grids` drew, kept on the figure so it can be laid out again."""

    layout: _Layout
    titles: tuple[str | None, ...]
    suptitle: str | None
    panels: list[Axes]
    panel_colorbars: list[Axes] = field(default_factory=list)
    shared_colorbar: Axes | None = None

    def cell_for_values(self) -> float:
        """The smallest cell (inches) in which every written value keeps the book's minimum
        font size, with 10% to spare; 0.2 in for a figure without values."""
        labels = {text.get_text() for ax in self.panels for text in ax.texts
                  if text.get_gid() == "pixel-value"}
        if not labels:
            return 0.2
        widest = max(_em_width(label) for label in labels)
        points = _MIN_VALUE_FONTSIZE * max(widest / 0.8, 1 / 0.55)
        return 1.1 * points / 72

    def arrange(self, fig: Figure, layout: _Layout) -> None:
        """Lay the panels out by ``layout``, with titles and values fitted to its cells."""
        old_cell, cell = self.layout.cell, layout.cell
        self.layout = layout
        wrapped = [layout.wrapped_title(i, t, cell) if t else None
                   for i, t in enumerate(self.titles)]
        title_lines = max((t.count("\n") + 1 for t in wrapped if t), default=0)
        suptitle = (_wrap(self.suptitle, layout.width(cell) - 0.2, _SUPTITLE_FONTSIZE)
                    if self.suptitle else None)
        suptitle_lines = suptitle.count("\n") + 1 if suptitle else 0
        layout.place(fig, self.panels, self.panel_colorbars, self.shared_colorbar,
                     title_lines, suptitle_lines)
        for ax, title, (rows, cols) in zip(self.panels, wrapped, layout.shapes, strict=True):
            if title is not None:
                ax.set_title(title, y=1.0, fontsize=_TITLE_FONTSIZE)
            if abs(cell - old_cell) > 1e-9:
                _fit_to_cells(ax, rows, cols)
        if suptitle is not None:
            fig.suptitle(suptitle, y=1 - 0.1 / fig.get_figheight(), va="top",
                         fontsize=_SUPTITLE_FONTSIZE)


_SUPTITLE_FONTSIZE = 12.0


def _fit_to_cells(ax: Axes, rows: int, cols: int) -> None:
    """Redo what depends on the size of a panel's cells: labels, values, border lines."""
    cell = _cell_size_points(ax, rows, cols)
    artists = [*ax.texts, *ax.lines]
    had_labels = any(a.get_gid() in _PIXEL_LABEL_GIDS for a in artists)
    for artist in artists:
        if artist.get_gid() in _PIXEL_LABEL_GIDS:
            artist.remove()
    if had_labels:
        _add_pixel_labels(ax, rows, cols, cell)
    values = [text for text in ax.texts if text.get_gid() == "pixel-value"]
    if values:
        fontsize = _value_fontsize(cell, sorted({text.get_text() for text in values}))
        for text in values:
            text.set_fontsize(fontsize)
            text.set_visible(fontsize >= _MIN_VALUE_FONTSIZE)
    for collection in ax.collections:
        if collection.get_gid() == "pixel-borders":
            collection.set_linewidth(_border_width(cell))


_GRID_FIGURE = "_upsampling_course_grid_figure"


def plot_grids(
    images: Sequence[ArrayLike],
    titles: Sequence[str] | None = None,
    *,
    suptitle: str | None = None,
    shared_scale: bool = False,
    ncols: int | None = None,
    **kwargs: Any,
) -> tuple[Figure, list[Axes]]:
    """Plot several images side by side (e.g. a layer's input and output).

    Returns ``(fig, axes)`` with one axes per image, in order.  Cells have the same
    size in every panel, so a 2x2 input looks a quarter of its 4x4 output.  With
    ``shared_scale`` all panels use one colour scale (the overall min and max unless
    ``vmin``/``vmax`` are given; symmetric about zero if any panel is signed), and
    ``colorbar=True`` then draws a single colour bar for the figure.  ``ncols`` wraps
    the panels into rows of that many (default: one row).  Titles are wrapped between
    words to their panel's width.  Other keyword arguments go to :func:`plot_grid`.

    The figure fits the book's column; :func:`phone_version` lays it out for a phone.
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
        kwargs.setdefault("signed", any(is_signed(a) for a in arrays))
        kwargs.setdefault("vmin", float(finite.min()) if finite.size else None)
        kwargs.setdefault("vmax", float(finite.max()) if finite.size else None)
    colorbars = ("shared" if shared_scale else "each") if colorbar else "none"
    all_titles = tuple(titles) if titles is not None else (None,) * len(arrays)
    layout = _Layout(tuple(a.shape for a in arrays), min(ncols, len(arrays)), colorbars,
                     tuple(_longest_word(t, _TITLE_FONTSIZE) for t in all_titles))
    fig = plt.figure(figsize=(layout.max_width, layout.max_height))
    axes = [fig.add_axes((0, 0, 1, 1)) for _ in arrays]
    record = _GridFigure(layout, all_titles, suptitle, axes)
    if colorbars == "each":
        record.panel_colorbars = [fig.add_axes((0, 0, 1, 1)) for _ in arrays]
    elif colorbars == "shared":
        record.shared_colorbar = fig.add_axes((0, 0, 1, 1))
    # Place the axes first: the pixel labels and values are sized from the cells.
    record.arrange(fig, layout)
    for index, (ax, array) in enumerate(zip(axes, arrays, strict=True)):
        plot_grid(ax, array, title=ax.get_title() or None, **kwargs)
        if record.panel_colorbars:
            fig.colorbar(ax.images[0], cax=record.panel_colorbars[index])
    if record.shared_colorbar is not None:
        fig.colorbar(axes[-1].images[0], cax=record.shared_colorbar)
    setattr(fig, _GRID_FIGURE, record)
    _leave_drawing_to_the_inline_backend(fig)
    return fig, axes


def phone_version(fig: Figure) -> Figure | None:
    """A copy of a :func:`plot_grids` figure laid out for a phone's screen, or None.

    The copy has fewer panels per row (each panel as large as the phone's width allows),
    titles and values fitted to its cells; values that would be smaller than the book's
    minimum are left out.  None when ``fig`` was not made by :func:`plot_grids` or
    already fits a phone.  Anything the caller added (arrows between panels, outlines)
    comes along, since it is a copy of the whole figure.
    """
    record: _GridFigure | None = getattr(fig, _GRID_FIGURE, None)
    if record is None or fig.get_figwidth() <= _PHONE_FIGURE_WIDTH + 1e-9:
        return None
    phone = _phone_layout(record.layout, record.cell_for_values())
    copy = pickle.loads(pickle.dumps(fig))
    # Unpickling registers a copy of a pyplot figure with pyplot, which would show it too.
    plt.close(copy)
    getattr(copy, _GRID_FIGURE).arrange(copy, phone)
    return copy


def _phone_layout(wide: _Layout, cell_for_values: float) -> _Layout:
    """The most panels per row whose cells still hold the values (or are as large as a
    single column allows, if even that is too small)."""
    def layout(ncols: int) -> _Layout:
        return dataclasses.replace(wide, ncols=ncols, max_width=_PHONE_FIGURE_WIDTH,
                                   max_height=_PHONE_FIGURE_HEIGHT)

    enough = min(wide.cell, layout(1).cell, cell_for_values)
    return next(layout(n) for n in range(wide.ncols, 0, -1) if layout(n).cell >= enough - 1e-9)


def plot_volume(volume: ArrayLike, *, title: str | None = None,
                **kwargs: Any) -> tuple[Figure, list[Axes]]:
    """Plot a ``(D, H, W)`` volume (or Keras ``(1, D, H, W, 1)``) as a row of depth slices.

    Each slice is a grid titled "depth 1" .. "depth D"; the slices share one colour
    scale unless ``shared_scale=False`` is passed.  Returns ``(fig, axes)``.
    """
    slices = as_volume(volume)
    kwargs.setdefault("shared_scale", True)
    titles = [f"depth {d + 1}" for d in range(slices.shape[0])]
    return plot_grids(list(slices), titles, suptitle=title, **kwargs)


# --- Marks on grid plots: pooling windows and switches ------------------------------------------


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    first, second = (int(v) for v in value)
    return first, second


def outline_windows(
    ax: Axes,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    *,
    color: str = "black",
    linewidth: float = 2.5,
) -> list[Rectangle]:
    """Outline each pooling window on a grid plot (``'valid'`` windows, row by row).

    ``strides`` defaults to ``pool_size``. Returns the rectangles, one per window.
    """
    rows, cols = _grid_shape(ax)
    (k_rows, k_cols), (s_rows, s_cols) = _pair(pool_size), _pair(strides or pool_size)
    outlines = []
    for top in range(0, rows - k_rows + 1, s_rows):
        for left in range(0, cols - k_cols + 1, s_cols):
            outline = Rectangle((left - 0.5, top - 0.5), k_cols, k_rows, fill=False,
                                edgecolor=color, linewidth=linewidth, gid="pooling-window",
                                clip_on=False)
            ax.add_patch(outline)
            outlines.append(outline)
    return outlines


def draw_switches(
    pooled_ax: Axes,
    unpooled_ax: Axes,
    switches: ArrayLike,
    *,
    color: str = "#d62728",
) -> list[ConnectionPatch]:
    """An arrow from each pooled value to the pixel its switch points at.

    ``switches`` are the flat indices of one single-channel sample, shaped like the pooled
    map (``(H', W')``, or Keras-shaped); the arrows go from the cells of ``pooled_ax`` to
    the cells of ``unpooled_ax``, whose grid has the pre-pooling width. Returns the arrows.
    """
    where = as_image(switches).astype(int)
    width = _grid_shape(unpooled_ax)[1]
    fig = _figure(pooled_ax)
    arrows = []
    for (row, col), index in np.ndenumerate(where):
        arrow = ConnectionPatch(
            xyA=(col, row), coordsA=pooled_ax.transData,
            xyB=(index % width, index // width), coordsB=unpooled_ax.transData,
            arrowstyle="-|>", mutation_scale=12, shrinkA=6, shrinkB=6, color=color,
            linewidth=1.3, connectionstyle="arc3,rad=-0.15", gid="switch-arrow")
        fig.add_artist(arrow)
        arrows.append(arrow)
    _leave_drawing_to_the_inline_backend(fig)
    return arrows
