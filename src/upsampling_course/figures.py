"""How the book's notebooks show matplotlib figures: drawings as SVG, pictures as PNG.

A drawing (pixel grids, diagrams, line plots) is sent to the notebook as SVG: sharp at any
zoom, its text selectable. A picture (a figure holding a raster image that is not a pixel
grid, e.g. a mosaic of digits) stays PNG. :func:`show_figures_as_svg` installs this in the
running IPython kernel; ``upsampling_course.setup_keras`` calls it, so every chapter gets it.

A :func:`~upsampling_course.grids.plot_grids` figure too wide for a phone also carries its
phone layout (:func:`~upsampling_course.grids.phone_version`), as SVG in the output's
metadata under :data:`PHONE_LAYOUT`. Jupyter ignores it; when the book is built, the myst-nb
plugin :class:`PhoneLayoutRenderer` (registered as an entry point in pyproject.toml) writes
it next to the figure, and ``tools/book_html.py`` makes the two one ``<picture>`` that
shows the phone layout on narrow screens.
"""
from __future__ import annotations

import dataclasses
import io
from typing import TYPE_CHECKING, Any, ClassVar

import matplotlib
from matplotlib.figure import Figure

from upsampling_course.grids import GRID_IMAGE_GID, phone_version

if TYPE_CHECKING:  # only the book build has them
    from docutils import nodes
    from myst_nb.core.render import MimeData, NbElementRenderer

__all__ = ["PHONE_LAYOUT", "PhoneLayoutRenderer", "is_picture", "png", "show_figures_as_svg",
           "svg"]

SVG = "image/svg+xml"
#: Key, in an SVG output's metadata, of the figure's phone layout (an SVG document).
PHONE_LAYOUT = "upsampling_course.phone_layout"



def is_picture(fig: Figure) -> bool:
    """True if ``fig`` holds a raster image other than a pixel grid."""
    return any(image.get_gid() != GRID_IMAGE_GID for ax in fig.axes for image in ax.images)


def svg(fig: Figure) -> str:
    """``fig`` as an SVG document, cropped to its content as the inline backend does."""
    buffer = io.BytesIO()
    # Text stays text (selectable, searchable); ids of clip paths and the like come from a
    # fixed salt, so the same figure always gives the same file; no creation date.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "upsampling-course"}):
        fig.canvas.print_figure(buffer, format="svg", bbox_inches="tight",
                                metadata={"Date": None})
    return buffer.getvalue().decode("utf-8")


def png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes, cropped to its content."""
    buffer = io.BytesIO()
    fig.canvas.print_figure(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _svg_output(fig: Figure) -> str | tuple[str, dict[str, str]] | None:
    if is_picture(fig):
        return None
    phone = phone_version(fig)
    if phone is None:
        return svg(fig)
    return svg(fig), {PHONE_LAYOUT: svg(phone)}


def _png_output(fig: Figure) -> bytes | None:
    return png(fig) if is_picture(fig) else None


def show_figures_as_svg() -> bool:
    """Make the running IPython kernel show drawings as SVG and pictures as PNG.

    Returns False (and does nothing) outside IPython. Safe to call again.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import matplotlib.pyplot as plt

    # Pyplot loads its backend when the first figure is made, and the inline backend then
    # installs its own PNG formatter in place of these: load it now.
    plt.switch_backend(matplotlib.get_backend())
    formatters = shell.display_formatter.formatters
    formatters[SVG].for_type(Figure, _svg_output)
    formatters["image/png"].for_type(Figure, _png_output)
    return True


class PhoneLayoutRenderer:
    """myst-nb plugin: an SVG output with a phone layout becomes two images, phone first.

    The phone image gets the class ``phone-layout``, the other ``wide-layout``; both get the
    cell's image options (alt text). ``tools/book_html.py`` pairs them into a ``<picture>``.
    """

    mime_priority_overrides: ClassVar[tuple[tuple[str, str, int | None], ...]] = ()

    @staticmethod
    def handle_mime(renderer: NbElementRenderer, data: MimeData,
                    inline: bool) -> list[nodes.Element] | None:
        metadata: dict[str, Any] = data.output_metadata.get(SVG, {}) or {}
        phone = metadata.get(PHONE_LAYOUT)
        if inline or data.mime_type != SVG or not isinstance(phone, str):
            return None
        phone_data = dataclasses.replace(data, content=phone, output_metadata={})
        phone_nodes = renderer.render_image(phone_data)
        wide_nodes = renderer.render_image(data)
        for node in phone_nodes:
            node["classes"].append("phone-layout")
        for node in wide_nodes:
            node["classes"].append("wide-layout")
        return [*phone_nodes, *wide_nodes]
