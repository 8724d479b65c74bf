"""Tests of the grid-plot helpers in upsampling_course.grids."""
import matplotlib

matplotlib.use("Agg")  # headless; must precede the pyplot import in grids

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from upsampling_course.grids import as_image, as_volume, plot_grid, plot_grids, plot_volume  # noqa: E402

X = np.array([[1, 2], [3, 4]], dtype="float32")
BILINEAR = np.array(
    [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]]
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def new_axes(size=(4, 4)):
    fig, ax = plt.subplots(figsize=size)
    return ax


def labelled(ax, gid):
    """The texts of one kind: "pixel-value", "column-label" or "row-label"."""
    return [t for t in ax.texts if t.get_gid() == gid]


def texts(ax, gid="pixel-value"):
    return [t.get_text() for t in labelled(ax, gid)]


def values(ax):
    return labelled(ax, "pixel-value")


def tick_marks(ax):
    """Positions of the column and the row tick marks."""
    columns, rows = [line for line in ax.lines if line.get_gid() == "tick-marks"]
    return list(columns.get_xdata()), list(rows.get_ydata())


def test_a_tick_per_pixel_labelled_from_one():
    ax = plot_grid(new_axes(), np.zeros((3, 5)))
    assert tick_marks(ax) == ([0, 1, 2, 3, 4], [0, 1, 2])
    assert texts(ax, "column-label") == ["1", "2", "3", "4", "5"]
    assert texts(ax, "row-label") == ["1", "2", "3"]
    # Each label sits at its pixel: columns below the image, rows to its left.
    assert [t.get_position()[0] for t in labelled(ax, "column-label")] == [0, 1, 2, 3, 4]
    assert [t.get_position()[1] for t in labelled(ax, "row-label")] == [0, 1, 2]
    # Matplotlib's own ticks are gone: they would draw a second set of marks and labels.
    assert len(ax.get_xticks()) == len(ax.get_yticks()) == 0


def test_tick_labels_are_outside_the_image_and_not_clipped():
    ax = plot_grid(new_axes(), np.zeros((3, 5)))
    ax.figure.canvas.draw()
    image_box = ax.get_window_extent()
    for label in ax.texts:
        if label.get_gid() == "column-label":
            assert label.get_window_extent().y1 < image_box.y0
        elif label.get_gid() == "row-label":
            assert label.get_window_extent().x1 < image_box.x0
    assert all(not t.get_clip_on() for t in ax.texts if t.get_gid() != "pixel-value")


def test_white_grid_lines_on_pixel_borders_and_no_minor_tick_marks():
    ax = plot_grid(new_axes(), np.zeros((3, 5)))
    (borders,) = [c for c in ax.collections if c.get_gid() == "pixel-borders"]
    segments = [np.asarray(segment) for segment in borders.get_segments()]
    vertical = sorted(s[0, 0] for s in segments if s[0, 0] == s[1, 0])
    horizontal = sorted(s[0, 1] for s in segments if s[0, 1] == s[1, 1])
    np.testing.assert_allclose(vertical, [-0.5, 0.5, 1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(horizontal, [-0.5, 0.5, 1.5, 2.5])
    # Each line spans the whole image, from edge to edge.
    for s in segments:
        along = 1 if s[0, 0] == s[1, 0] else 0
        assert sorted(s[:, along]) == ([-0.5, 2.5] if along == 1 else [-0.5, 4.5])
    assert all(matplotlib.colors.to_hex(colour) == "#ffffff" for colour in borders.get_colors())
    assert len(ax.get_xticks(minor=True)) == len(ax.get_yticks(minor=True)) == 0
    # The borders do not move the axes' limits: the image fills the axes exactly.
    assert ax.get_xlim() == (-0.5, 4.5) and ax.get_ylim() == (2.5, -0.5)


def test_integer_values_written_in_every_cell():
    ax = plot_grid(new_axes(), X)
    assert texts(ax) == ["1", "2", "3", "4"]
    positions = [t.get_position() for t in values(ax)]
    assert positions == [(0, 0), (1, 0), (0, 1), (1, 1)]


def test_fractional_values_use_short_decimals():
    ax = plot_grid(new_axes(), BILINEAR)
    assert texts(ax)[:4] == ["1", "1.25", "1.75", "2"]
    assert len(values(ax)) == 16


def test_custom_format_spec_template_and_callable():
    assert texts(plot_grid(new_axes(), X, fmt=".1f")) == ["1.0", "2.0", "3.0", "4.0"]
    assert texts(plot_grid(new_axes(), X, fmt="<{:.0f}>"))[0] == "<1>"
    assert texts(plot_grid(new_axes(), X, fmt=lambda v: f"v{v:g}"))[-1] == "v4"


def test_annotate_false_writes_nothing():
    assert len(values(plot_grid(new_axes(), X, annotate=False))) == 0


def test_values_skipped_when_cells_are_too_small():
    ax = plot_grid(new_axes((3, 3)), np.arange(100 * 100).reshape(100, 100))
    assert len(values(ax)) == 0
    assert tick_marks(ax) == (list(range(100)), list(range(100)))
    labels = texts(ax, "column-label")
    assert labels[0] == "1" and len(labels) < 100  # thinned out, not overlapping
    assert labels == [str(i + 1) for i in range(0, 100, int(labels[1]) - 1)]


def test_text_colour_contrasts_with_cell_colour():
    ax = plot_grid(new_axes(), X, cmap="gray")
    colours = [matplotlib.colors.to_hex(t.get_color()) for t in values(ax)]
    # gray: 1 (the minimum) is black, 4 (the maximum) is white.
    assert colours[0] == "#ffffff"
    assert colours[-1] == "#000000"


def test_nan_cells_stay_blank():
    ax = plot_grid(new_axes(), np.array([[1.0, np.nan]]))
    assert texts(ax) == ["1"]


def test_title_vmin_vmax_and_cmap():
    ax = plot_grid(new_axes(), X, title="input", cmap="magma", vmin=0, vmax=10)
    assert ax.get_title() == "input"
    image = ax.images[0]
    assert image.cmap.name == "magma"
    assert image.get_clim() == (0, 10)


def test_colour_bar_added_only_on_request():
    ax = plot_grid(new_axes(), X)
    assert len(ax.figure.axes) == 1
    ax = plot_grid(new_axes(), X, colorbar=True)
    assert len(ax.figure.axes) == 2


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 1), (1, 2, 3, 1)])
def test_accepted_image_shapes(shape):
    ax = plot_grid(new_axes(), np.arange(6).reshape(shape))
    assert ax.images[0].get_array().shape == (2, 3)
    assert as_image(np.zeros(shape)).shape == (2, 3)


@pytest.mark.parametrize("shape", [(6,), (2, 3, 2), (2, 2, 3, 1), (1, 2, 3, 2), (1, 1, 2, 3, 1), (0, 3)])
def test_bad_image_shapes_raise(shape):
    with pytest.raises(ValueError, match="expected an image"):
        plot_grid(new_axes(), np.zeros(shape))


def test_non_numeric_image_raises():
    with pytest.raises(ValueError, match="numbers"):
        as_image(np.array([["a", "b"]]))


def test_panels_do_not_overlap_and_fit_in_the_figure():
    fig, axes = plot_grids([X, np.zeros((16, 16)), np.zeros((3, 7))], ["a", "b", "c"],
                           colorbar=True, suptitle="s")
    boxes = [ax.get_position() for ax in fig.axes]  # grids and their colour bars
    for box in boxes:
        assert 0 <= box.x0 < box.x1 <= 1 and 0 <= box.y0 < box.y1 <= 1
    for i, first in enumerate(boxes):
        for second in boxes[i + 1:]:
            assert first.x1 <= second.x0 or second.x1 <= first.x0 or \
                first.y1 <= second.y0 or second.y1 <= first.y0


def test_plot_grids_side_by_side_with_equal_cells():
    fig, axes = plot_grids([X.reshape(1, 2, 2, 1), np.zeros((4, 6))], ["in", "out"], suptitle="s")
    assert len(axes) == 2 and all(ax.figure is fig for ax in axes)
    assert [ax.get_title() for ax in axes] == ["in", "out"]
    assert fig.get_suptitle() == "s"
    fig.canvas.draw()
    cell_widths = [ax.get_window_extent().width / n for ax, n in zip(axes, (2, 6))]
    assert cell_widths[0] == pytest.approx(cell_widths[1], rel=0.05)
    # No plt.show(): the figure is still open for the caller.
    assert plt.fignum_exists(fig.number)


def test_plot_grids_shared_scale_and_single_colour_bar():
    fig, axes = plot_grids([X, 2 * X], shared_scale=True, colorbar=True)
    assert [ax.images[0].get_clim() for ax in axes] == [(1.0, 8.0), (1.0, 8.0)]
    assert len(fig.axes) == 3  # two grids and one colour bar
    fig, axes = plot_grids([X, 2 * X], colorbar=True)
    assert [ax.images[0].get_clim() for ax in axes] == [(1.0, 4.0), (2.0, 8.0)]
    assert len(fig.axes) == 4


def test_plot_grids_errors():
    with pytest.raises(ValueError, match="at least one"):
        plot_grids([])
    with pytest.raises(ValueError, match="titles"):
        plot_grids([X, X], ["only one"])
    with pytest.raises(ValueError, match="expected an image"):
        plot_grids([X, np.zeros((2, 2, 2))])


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 4, 1), (1, 2, 3, 4, 1)])
def test_plot_volume_one_grid_per_depth_slice(shape):
    volume = np.arange(24).reshape(shape)
    fig, axes = plot_volume(volume, title="volume")
    assert [ax.get_title() for ax in axes] == ["depth 1", "depth 2"]
    assert fig.get_suptitle() == "volume"
    np.testing.assert_array_equal(axes[1].images[0].get_array(), np.arange(12, 24).reshape(3, 4))
    assert {ax.images[0].get_clim() for ax in axes} == {(0.0, 23.0)}
    assert as_volume(volume).shape == (2, 3, 4)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4, 2), (2, 2, 3, 4, 1)])
def test_plot_volume_bad_shapes_raise(shape):
    with pytest.raises(ValueError, match="expected a volume"):
        plot_volume(np.zeros(shape))


def test_plot_grids_wraps_into_rows_of_ncols():
    images = [np.full((3, 3), value) for value in range(5)]
    fig, axes = plot_grids(images, [f"panel {i}" for i in range(5)], ncols=3)
    assert len(axes) == 5
    tops = [round(ax.get_position().y1, 6) for ax in axes]
    lefts = [round(ax.get_position().x0, 6) for ax in axes]
    assert tops[0] == tops[1] == tops[2] > tops[3] == tops[4]
    assert lefts[0] < lefts[1] < lefts[2] and (lefts[3], lefts[4]) == (lefts[0], lefts[1])
    assert fig.axes == axes  # no empty slot drawn for the sixth panel
    with pytest.raises(ValueError, match="ncols"):
        plot_grids(images, ncols=0)


def test_long_titles_are_wrapped_to_the_panel_width():
    fig, axes = plot_grids([X, np.zeros((4, 4))], ["MaxPooling2D with a long title", "out"])
    assert "\n" in axes[0].get_title()
    assert axes[1].get_title() == "out"


def test_negative_zero_written_without_sign():
    ax = plot_grid(new_axes(), np.array([[-0.04, -0.4, 0.0]]), fmt=".1f")
    assert texts(ax) == ["0.0", "-0.4", "0.0"]
    ax = plot_grid(new_axes(), np.array([[-0.001, 1.5]]))
    assert texts(ax) == ["0", "1.5"]


@pytest.mark.parametrize("backend, stale_after_plotting", [
    ("module://matplotlib_inline.backend_inline", False),
    ("agg", True),
])
def test_only_the_inline_backend_is_spared_the_extra_draw(monkeypatch, backend, stale_after_plotting):
    monkeypatch.setattr(matplotlib, "get_backend", lambda: backend)
    fig, axes = plot_grids([X, np.zeros((4, 4))], ["in", "out"], colorbar=True, suptitle="s")
    assert fig.stale is stale_after_plotting
    fig_volume, _ = plot_volume(np.zeros((2, 2, 2)))
    assert fig_volume.stale is stale_after_plotting
    # A change made after plotting still gets drawn.
    axes[0].set_title("changed")
    assert fig.stale


def test_pixel_numbers_can_be_left_to_the_caller():
    ax = plot_grid(new_axes(), np.zeros((3, 5)), ticks=False)
    assert texts(ax, "column-label") == texts(ax, "row-label") == []
    assert not [line for line in ax.lines if line.get_gid() == "tick-marks"]
    assert [c.get_gid() for c in ax.collections] == ["pixel-borders"]
    ax.set_xticks([1, 3], ["a", "b"])  # the caller's own ticks are the only ones
    assert [label.get_text() for label in ax.get_xticklabels()] == ["a", "b"]


def test_blank_zeros_writes_only_the_non_zero_values():
    sparse = np.array([[0, 2, 0], [0.0, 0, -1]])
    ax = plot_grid(new_axes(), sparse, blank_zeros=True)
    assert texts(ax) == ["2", "-1"]
    assert [t.get_position() for t in values(ax)] == [(1, 0), (2, 1)]
    # Without it every cell is written, zeros included.
    assert len(texts(plot_grid(new_axes(), sparse))) == 6


# --- Readable figures (issue 11) ----------------------------------------------------------------

from upsampling_course.grids import (  # noqa: E402
    DIVERGING, GRID_IMAGE_GID, draw_switches, is_signed, outline_windows, phone_version,
)


def test_signed_data_is_centred_on_white_zero_whatever_the_cmap():
    signed = np.array([[-2.0, 0.0], [1.0, 0.5]])
    for cmap in (None, "gray", "coolwarm"):
        image = plot_grid(new_axes(), signed, cmap=cmap).images[0]
        assert image.cmap is DIVERGING
        assert image.get_clim() == (-2.0, 2.0)  # symmetric: the same colour strength for ±2
        assert matplotlib.colors.to_hex(image.cmap(image.norm(0.0))) == "#ffffff"
    # Explicit limits are widened to be symmetric; signed=False opts out.
    assert plot_grid(new_axes(), signed, vmin=-1, vmax=3).images[0].get_clim() == (-3, 3)
    kept = plot_grid(new_axes(), signed, cmap="gray", signed=False).images[0]
    assert kept.cmap.name == "gray" and kept.get_clim() == (-2.0, 1.0)


def test_sign_detection_ignores_rounding_noise():
    assert is_signed([[-1.0, 2.0]]) and is_signed([[-1.0, -2.0]])
    assert not is_signed([[0.0, 2.0]]) and not is_signed([[-1e-9, 2.0]])
    assert not is_signed([[np.nan, 1.0]])
    assert plot_grid(new_axes(), X).images[0].cmap.name == "viridis"


def test_shared_scale_of_signed_panels_is_one_symmetric_diverging_scale():
    fig, axes = plot_grids([X, -3 * X], shared_scale=True, colorbar=True)
    assert [ax.images[0].get_clim() for ax in axes] == [(-12.0, 12.0)] * 2
    assert all(ax.images[0].cmap is DIVERGING for ax in axes)


def test_grid_images_are_drawn_unsampled_and_tagged():
    image = plot_grid(new_axes(), X).images[0]
    # "none" lets an SVG embed the grid at one pixel per cell, drawn with crisp edges.
    assert image.get_interpolation() == "none" and image.get_gid() == GRID_IMAGE_GID


def test_cell_borders_stay_visible_around_white_zeros():
    (signed,) = [c for c in plot_grid(new_axes(), -X).collections if c.get_gid() == "pixel-borders"]
    (plain,) = [c for c in plot_grid(new_axes(), X).collections if c.get_gid() == "pixel-borders"]
    assert matplotlib.colors.to_hex(signed.get_colors()[0]) != "#ffffff"
    assert matplotlib.colors.to_hex(plain.get_colors()[0]) == "#ffffff"


LONG_TITLES = ["UpSampling2D interpolation='bilinear'", "AveragePooling2D (2x2)",
               "Conv2DTranspose 3x3, stride 2, kernel of ones", "x"]


def test_titles_break_between_words_only():
    fig, axes = plot_grids([X, X, np.zeros((4, 4)), X], LONG_TITLES)
    for ax, title in zip(axes, LONG_TITLES):
        assert ax.get_title().replace("\n", " ") == title  # same words, only spaces became breaks
    assert "\n" in axes[2].get_title()


def test_titles_wider_than_their_panel_do_not_overlap():
    fig, axes = plot_grids([X, X, X], ["AveragePooling2D", "MaxPooling2DWithSwitches", "c"])
    fig.canvas.draw()
    boxes = [ax.title.get_window_extent() for ax in axes]
    for left, right in zip(boxes, boxes[1:]):
        assert left.x1 <= right.x0


def test_values_are_at_least_7_points_and_figures_fit_the_column():
    # 7 pt is 9.3 px at an SVG's natural size; the figure is at most the column's width.
    fig, axes = plot_grids([np.random.default_rng(0).normal(size=(6, 6)) for _ in range(4)],
                           ["a", "b", "c", "d"], fmt=".2f", colorbar=True, suptitle="s")
    assert fig.get_figwidth() <= 6.9 + 1e-9
    sizes = [t.get_fontsize() for ax in axes for t in values(ax)]
    assert sizes == [] or min(sizes) >= 7.0


def test_phone_version_has_fewer_panels_per_row_and_readable_values():
    images = [np.arange(16.0).reshape(4, 4) - 5 for _ in range(4)]
    fig, axes = plot_grids(images, ["first panel", "second", "third", "fourth"], suptitle="wide")
    open_figures = plt.get_fignums()
    phone = phone_version(fig)
    assert phone is not None and phone is not fig and phone.get_figwidth() <= 3.5 + 1e-9
    panels = [ax for ax in phone.axes if ax.images]
    assert len({round(ax.get_position().y0, 6) for ax in panels}) >= 2  # rows, not one row
    sizes = [t.get_fontsize() for ax in panels for t in values(ax) if t.get_visible()]
    assert len(sizes) == 4 * 16 and min(sizes) >= 7.0
    # The original is untouched, and the copy is not shown by pyplot as a figure of its own.
    assert fig.get_figwidth() > 3.5 and len(fig.axes) == 4
    assert plt.get_fignums() == open_figures
    assert phone_version(plot_grids([X], ["small"])[0]) is None  # already fits a phone
    assert phone_version(plt.subplots()[0]) is None  # not a plot_grids figure


def test_phone_version_keeps_what_the_caller_added():
    fig, axes = plot_grids([np.zeros((4, 4)), np.ones((2, 2)), np.zeros((4, 4)), X],
                           ["input", "pooled", "unpooled", "x"])
    outline_windows(axes[0])
    draw_switches(axes[1], axes[2], [[0, 2], [8, 10]])
    phone = phone_version(fig)
    assert sum(p.get_gid() == "pooling-window" for ax in phone.axes for p in ax.patches) == 4
    assert sum(a.get_gid() == "switch-arrow" for a in phone.artists) == 4


def test_outline_windows_draws_one_rectangle_per_valid_window():
    ax = plot_grid(new_axes(), np.zeros((5, 6)))
    outlines = outline_windows(ax, pool_size=2)
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in outlines[:2]] == [
        (-0.5, -0.5, 2, 2), (1.5, -0.5, 2, 2)]
    assert len(outlines) == 2 * 3  # the fifth row is in no window
    assert len(outline_windows(plot_grid(new_axes(), np.zeros((4, 4))), 3, strides=1)) == 4


def test_switch_arrows_go_from_each_pooled_value_to_its_pixel():
    fig, (pooled, unpooled) = plot_grids([np.ones((2, 2)), np.zeros((4, 4))])
    arrows = draw_switches(pooled, unpooled, np.array([[5, 3], [8, 10]]).reshape(1, 2, 2, 1))
    ends = [(arrow.xy1, arrow.xy2) for arrow in arrows]
    assert ends == [((0, 0), (1, 1)), ((1, 0), (3, 0)), ((0, 1), (0, 2)), ((1, 1), (2, 2))]
