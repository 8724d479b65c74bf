"""How notebooks show figures (upsampling_course.figures): drawings as SVG, pictures as PNG."""
import matplotlib

matplotlib.use("Agg")  # headless; must precede the pyplot import

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from upsampling_course import figures  # noqa: E402
from upsampling_course.grids import plot_grids  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def grid_figure(panels: int = 4):
    return plot_grids([np.arange(16.0).reshape(4, 4) - 3] * panels, [f"panel {i}" for i in range(panels)])[0]


def test_drawings_are_svg_with_text_as_text_and_the_same_bytes_each_time():
    fig = grid_figure()
    first, second = figures.svg(fig), figures.svg(fig)
    assert first == second
    assert first.count('<g id="pixel-value">') == 4 * 16 and "<text" in first
    assert "<dc:date>" not in first and "image-rendering:pixelated" in first.replace(" ", "")
    assert not figures.is_picture(fig)


def test_a_figure_with_a_raster_image_is_a_picture_shown_as_png():
    fig, ax = plt.subplots()
    ax.imshow(np.random.default_rng(0).uniform(size=(8, 8)))
    assert figures.is_picture(fig)
    assert figures.png(fig).startswith(b"\x89PNG")


def test_the_kernel_formatters_pick_one_format_per_figure():
    shell = InteractiveShell.instance()
    try:
        assert figures.show_figures_as_svg() is True
        drawing_data, drawing_metadata = shell.display_formatter.format(grid_figure())
        assert set(drawing_data) == {"text/plain", "image/svg+xml"}
        phone = drawing_metadata["image/svg+xml"][figures.PHONE_LAYOUT]
        assert phone.startswith("<?xml") and phone != drawing_data["image/svg+xml"]
        small, small_metadata = shell.display_formatter.format(grid_figure(1))
        assert "image/svg+xml" in small and "image/svg+xml" not in small_metadata
        fig, ax = plt.subplots()
        ax.imshow(np.zeros((8, 8)))
        picture, _ = shell.display_formatter.format(fig)
        assert set(picture) == {"text/plain", "image/png"}
    finally:
        InteractiveShell.clear_instance()


def test_outside_ipython_nothing_is_installed():
    assert InteractiveShell.initialized() is False
    assert figures.show_figures_as_svg() is False
