"""Diagrams of a network's feature maps drawn to scale, one layer per row.

Each row is a layer's output: its name, a square whose side is proportional to the map's
height (a flat vector is a thin bar), and its shape. The rows stack top to bottom, so the
figure is narrow enough for a phone's screen and reads the same on a desktop; curved arrows
on the right can join two rows (the switches of an unpooling network). ::

    fig = plot_feature_maps(model, title="Classifier: feature maps shrink")
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.path import Path

if TYPE_CHECKING:  # Keras is imported by whoever has a model to draw
    import keras

__all__ = ["FeatureMap", "feature_maps", "plot_feature_maps"]

# Inches. The figure is 3.4 in wide: a phone's column shows it at its natural size.
_WIDTH = 3.4
_NAME_RIGHT = 1.2  # layer names end here
_MAP_CENTRE = 1.85
_LARGEST_SIDE = 1.0  # the largest map's side
_SHAPE_LEFT = 2.45
_ROW_GAP = 0.12
_MIN_ROW = 0.24
_FONTSIZE = 9.0
_MAP_COLOUR = "#3182bd"
_VECTOR_COLOUR = "#9ecae1"


@dataclass(frozen=True)
class FeatureMap:
    """One row of a diagram: a layer's name and the shape of its output (without batch)."""

    name: str
    shape: tuple[int, ...]

    @property
    def label(self) -> str:
        if len(self.shape) == 1:
            return f"vector of {self.shape[0]:,}"
        return "x".join(str(n) for n in self.shape)


def feature_maps(model: keras.Model, layers: Sequence[str] | None = None, *,
                 names: str = "type") -> list[FeatureMap]:
    """The output shape of each layer of a Keras ``model``, input first.

    ``layers`` picks layers by name (default: all). A layer with several outputs (max
    pooling with switches) counts with its first. ``names="type"`` labels rows with the
    layer's class (``Conv2D``), ``names="name"`` with its name (``pool1``).
    """
    rows = []
    for layer in model.layers:
        if layers is not None and layer.name not in layers:
            continue
        output = layer.output[0] if isinstance(layer.output, (list, tuple)) else layer.output
        kind = type(layer).__name__
        label = "Input" if kind == "InputLayer" and names == "type" else (
            kind if names == "type" else layer.name)
        rows.append(FeatureMap(label, tuple(int(n) for n in output.shape[1:])))
    return rows


def plot_feature_maps(
    model_or_maps: keras.Model | Sequence[FeatureMap],
    *,
    title: str,
    layers: Sequence[str] | None = None,
    names: str = "type",
    links: Sequence[tuple[str, str]] = (),
) -> Figure:
    """Draw feature maps to scale, one row per layer, and return the figure.

    ``model_or_maps`` is a Keras model (see :func:`feature_maps` for ``layers`` and
    ``names``) or a list of :class:`FeatureMap`. ``links`` are pairs of row names joined by a
    curved arrow on the right, from the first to the second.
    """
    maps = (list(model_or_maps) if isinstance(model_or_maps, (list, tuple))
            else feature_maps(model_or_maps, layers, names=names))
    largest = max((m.shape[0] for m in maps if len(m.shape) == 3), default=1)
    scale = _LARGEST_SIDE / largest
    sides = [m.shape[0] * scale if len(m.shape) == 3 else 0.06 for m in maps]
    heights = [max(side, _MIN_ROW) for side in sides]
    title_height = 0.35
    height = title_height + sum(heights) + _ROW_GAP * (len(maps) + 1)
    fig = plt.figure(figsize=(_WIDTH, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, _WIDTH)
    ax.set_ylim(height, 0)  # inches from the top
    ax.axis("off")
    ax.text(0.05, 0.08, title, ha="left", va="top", fontsize=11)
    centres = {}
    y = title_height + _ROW_GAP
    for feature_map, side, row in zip(maps, sides, heights, strict=True):
        middle = y + row / 2
        if len(feature_map.shape) == 3:
            width = feature_map.shape[1] * scale
            patch = Rectangle((_MAP_CENTRE - width / 2, middle - side / 2), width, side,
                              facecolor=_MAP_COLOUR, edgecolor="black", linewidth=0.8)
        else:  # a vector has no spatial extent: a thin bar of fixed length
            patch = Rectangle((_MAP_CENTRE - 0.3, middle - 0.03), 0.6, 0.06,
                              facecolor=_VECTOR_COLOUR, edgecolor="black", linewidth=0.8)
        ax.add_patch(patch)
        ax.text(_NAME_RIGHT, middle, feature_map.name, ha="right", va="center",
                fontsize=_FONTSIZE)
        ax.text(_SHAPE_LEFT, middle, feature_map.label, ha="left", va="center",
                fontsize=_FONTSIZE)
        centres[feature_map.name] = middle
        y += row + _ROW_GAP
    # Links: out to the right of the longest shape label, down, and back; the link with the
    # longest span outermost, so that nested links do not cross.
    text_end = _SHAPE_LEFT + max(len(m.label) for m in maps) * 0.6 * _FONTSIZE / 72 + 0.08
    by_span = sorted(links, key=lambda link: abs(centres[link[1]] - centres[link[0]]))
    for rank, (start, end) in enumerate(by_span, start=1):
        column = text_end + 0.1 * rank
        route = Path([(text_end, centres[start]), (column, centres[start]),
                      (column, centres[end]), (text_end, centres[end])])
        ax.add_patch(FancyArrowPatch(path=route, arrowstyle="-|>", mutation_scale=10,
                                     color="#d62728", linewidth=1.2))
    return fig
