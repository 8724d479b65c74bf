"""Tests of the step-by-step transposed-convolution pictures in upsampling_course.stamps."""
import matplotlib

matplotlib.use("Agg")  # headless; must precede the pyplot import in grids

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from upsampling_course.reference import conv2d_valid, conv_transpose  # noqa: E402
from upsampling_course.stamps import (  # noqa: E402
    plot_stamp_steps,
    plot_window_steps,
    stamp_steps,
    stretched_input,
    window_steps,
)

X = np.array([[1, 2], [3, 4]], dtype=float)
KERNEL = np.arange(1, 10, dtype=float).reshape(3, 3)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def outlines(ax, gid="highlight"):
    """(top row, left column, rows, columns) of each outline drawn on ``ax``."""
    return [
        (round(p.get_y() + 0.5), round(p.get_x() + 0.5), round(p.get_height()), round(p.get_width()))
        for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == gid
    ]


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("kernel_size", [1, 2, 3])
def test_the_last_stamp_step_is_the_whole_transposed_convolution(stride, kernel_size):
    x = np.random.default_rng(stride).normal(size=(3, 2))
    kernel = np.random.default_rng(kernel_size).normal(size=(kernel_size, kernel_size))
    steps = stamp_steps(x, kernel, stride)
    expected = conv_transpose(x[None, ..., None], kernel[..., None, None], strides=stride)
    # Keras pads a 'valid' output to (n-1)s + max(k, s); the stamps cover (n-1)s + k.
    rows, columns = steps[-1].output.shape
    np.testing.assert_allclose(steps[-1].output, expected[0, :rows, :columns, 0])
    assert [step.pixel for step in steps] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    assert [step.corner for step in steps] == [(r * stride, c * stride) for r, c in np.ndindex(3, 2)]


def test_each_stamp_adds_value_times_kernel_at_its_corner():
    steps = stamp_steps(X, KERNEL, 2)
    before = np.zeros_like(steps[0].output)
    for step in steps:
        added = step.output - before
        top, left = step.corner
        np.testing.assert_array_equal(added[top : top + 3, left : left + 3], step.value * KERNEL)
        added[top : top + 3, left : left + 3] = 0
        assert not added.any()
        before = step.output
    assert steps[-1].output[2, 2] == 36


def test_stretched_input_puts_stride_minus_one_zeros_between_and_k_minus_one_around():
    padded = stretched_input(X, kernel_size=3, stride=2)
    assert padded.shape == (7, 7)
    np.testing.assert_array_equal(padded[2:5, 2:5], [[1, 0, 2], [0, 0, 0], [3, 0, 4]])
    assert padded.sum() == X.sum()


def test_every_window_equals_the_transposed_convolution_and_lists_its_products():
    output = conv_transpose(X[None, ..., None], KERNEL[..., None, None], strides=2)[0, :, :, 0]
    pixels = [(r, c) for r, c in np.ndindex(*output.shape)]
    steps = window_steps(X, KERNEL, 2, pixels)
    np.testing.assert_allclose([step.value for step in steps], output.ravel())
    np.testing.assert_allclose(conv2d_valid(stretched_input(X, 3, 2), KERNEL[::-1, ::-1]), output)
    centre = steps[pixels.index((2, 2))]
    assert centre.terms == ((1, 9), (2, 7), (3, 3), (4, 1)) and centre.value == 36
    assert steps[0].terms == ((1, 1),)


def test_window_steps_reject_pixels_outside_the_output_and_non_square_kernels():
    with pytest.raises(ValueError, match="outside"):
        window_steps(X, KERNEL, 2, [(5, 0)])
    with pytest.raises(ValueError, match="square"):
        window_steps(X, np.ones((2, 3)), 2, [(0, 0)])
    with pytest.raises(ValueError, match="kernel"):
        stamp_steps(X, np.ones((3, 3, 2)), 2)


def test_stamp_figure_outlines_the_pixel_and_its_stamp_in_each_row():
    _, axes = plot_stamp_steps(X, KERNEL, 2)
    assert len(axes) == 8
    inputs, outputs = axes[::2], axes[1::2]
    corners = [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [outlines(ax) for ax in inputs] == [[(r, c, 1, 1)] for r, c in corners]
    assert [outlines(ax) for ax in outputs] == [[(2 * r, 2 * c, 3, 3)] for r, c in corners]
    final = stamp_steps(X, KERNEL, 2)[-1].output
    np.testing.assert_array_equal(outputs[-1].images[0].get_array(), final)
    assert [ax.get_title() for ax in outputs][1] == "+ 2 x kernel"
    # One colour scale for every panel.
    assert len({ax.images[0].get_clim() for ax in axes}) == 1


def test_window_figure_outlines_the_window_and_the_pixel_and_names_the_products():
    pixels = [(0, 0), (2, 2)]
    _, axes = plot_window_steps(X, KERNEL, 2, pixels)
    assert len(axes) == 4
    expected = [[(0, 0, 3, 3)], [(0, 0, 1, 1)], [(2, 2, 3, 3)], [(2, 2, 1, 1)]]
    assert [outlines(ax) for ax in axes] == expected
    assert outlines(axes[0], gid="region") == [(2, 2, 3, 3)]  # the stretched input in its padding
    assert "1·9 + 2·7 + 3·3 + 4·1 = 36" in axes[3].get_title().replace("\n", " ")
    # Pixels not computed yet are blank (NaN), those computed so far keep their values.
    last = np.ma.filled(axes[3].images[0].get_array(), np.nan)
    assert last[0, 0] == 1 and last[2, 2] == 36 and np.isnan(last).sum() == 23
