"""Nearest and bilinear upsampling: the NumPy reference against Keras and the brief's values."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reference.strategies import sweep

from upsampling_course.reference import (
    resampling_kernel,
    resampling_matrix,
    upsample_bilinear,
    upsample_filtered,
    upsample_nearest,
)

X = np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(1, 2, 2, 1)
SWEEP = sweep(60)


def test_importing_the_references_does_not_import_tensorflow():
    code = (
        "import sys, upsampling_course, upsampling_course.reference; "
        "loaded = {'tensorflow', 'keras'} & set(sys.modules); "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_nearest_default_size_repeats_rows_and_columns_twice():
    expected = [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    np.testing.assert_array_equal(upsample_nearest(X)[0, :, :, 0], expected)


def test_nearest_size_2_3_gives_4_by_6():
    expected = [[1, 1, 1, 2, 2, 2], [1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4], [3, 3, 3, 4, 4, 4]]
    np.testing.assert_array_equal(upsample_nearest(X, (2, 3))[0, :, :, 0], expected)


def test_bilinear_values_of_the_brief():
    expected = [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]]
    np.testing.assert_allclose(upsample_bilinear(X)[0, :, :, 0], expected)


def test_brief_values_are_what_keras_gives(keras):
    np.testing.assert_array_equal(keras.layers.UpSampling2D()(X)[0, :, :, 0], upsample_nearest(X)[0, :, :, 0])
    np.testing.assert_array_equal(
        keras.layers.UpSampling2D(size=(2, 3))(X)[0, :, :, 0], upsample_nearest(X, (2, 3))[0, :, :, 0]
    )
    np.testing.assert_allclose(
        keras.layers.UpSampling2D(interpolation="bilinear")(X)[0, :, :, 0], upsample_bilinear(X)[0, :, :, 0]
    )


def test_eight_by_eight_block_becomes_sixteen_by_sixteen_block():
    image = np.zeros((1, 8, 8, 1))
    image[0, 2:6, 2:6, 0] = 1
    expected = np.zeros((16, 16))
    expected[4:12, 4:12] = 1
    np.testing.assert_array_equal(upsample_nearest(image)[0, :, :, 0], expected)


def test_upsampling3d_shape_of_the_brief(keras):
    volume = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2, 1)
    out = keras.layers.UpSampling3D()(volume)
    assert out.shape == (1, 4, 4, 4, 1)
    np.testing.assert_array_equal(out, upsample_nearest(volume, (2, 2, 2)))


def test_bilinear_stays_within_the_input_range_and_keeps_constants():
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 2))
    y = upsample_bilinear(x, (3, 2))
    assert y.min() >= x.min() and y.max() <= x.max()
    np.testing.assert_allclose(upsample_bilinear(np.full((1, 3, 3, 1), 7.0), (4, 5)), 7.0)


def test_wrong_number_of_spatial_axes_is_rejected():
    with pytest.raises(ValueError, match="spatial axes"):
        upsample_nearest(X, (2, 2, 2))
    with pytest.raises(ValueError, match="spatial axes"):
        upsample_bilinear(X, (2,))


sizes_2d = st.tuples(st.integers(1, 6), st.integers(1, 6))
factors_2d = st.tuples(st.integers(1, 4), st.integers(1, 4))


@SWEEP
@given(seed=st.integers(0, 2**31), batch=st.integers(1, 3), spatial=sizes_2d, channels=st.integers(1, 3),
       size=factors_2d)
def test_nearest_2d_matches_keras(keras, random_array, seed, batch, spatial, channels, size):
    x = random_array(seed, (batch, *spatial, channels))
    np.testing.assert_array_equal(upsample_nearest(x, size), keras.layers.UpSampling2D(size=size)(x))


@SWEEP
@given(seed=st.integers(0, 2**31), batch=st.integers(1, 3), spatial=sizes_2d, channels=st.integers(1, 3),
       size=factors_2d)
def test_bilinear_2d_matches_keras(keras, random_array, seed, batch, spatial, channels, size):
    x = random_array(seed, (batch, *spatial, channels))
    expected = keras.layers.UpSampling2D(size=size, interpolation="bilinear")(x)
    np.testing.assert_allclose(upsample_bilinear(x, size), expected, rtol=1e-5, atol=1e-5)


@SWEEP
@given(seed=st.integers(0, 2**31), batch=st.integers(1, 2),
       spatial=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)), channels=st.integers(1, 3),
       size=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)))
def test_nearest_3d_matches_keras(keras, random_array, seed, batch, spatial, channels, size):
    x = random_array(seed, (batch, *spatial, channels))
    np.testing.assert_array_equal(upsample_nearest(x, size), keras.layers.UpSampling3D(size=size)(x))


# --- filters with negative lobes: bicubic and Lanczos ---------------------------------------------

WIDE_FILTERS = ["bicubic", "lanczos3", "lanczos5"]


@SWEEP
@given(seed=st.integers(0, 2**31), batch=st.integers(1, 2), spatial=sizes_2d, channels=st.integers(1, 2),
       size=st.tuples(st.sampled_from([1, 2, 4]), st.sampled_from([1, 2, 4])),
       method=st.sampled_from(WIDE_FILTERS))
def test_filtered_upsampling_matches_keras(keras, random_array, seed, batch, spatial, channels, size, method):
    # Factors 1, 2 and 4 put every output pixel at a multiple of 1/8 of a pixel, where
    # TensorFlow's tabulated bicubic weights are exact: the two agree to float32 rounding.
    x = random_array(seed, (batch, *spatial, channels))
    expected = keras.layers.UpSampling2D(size=size, interpolation=method)(x)
    np.testing.assert_allclose(upsample_filtered(x, size, method), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", WIDE_FILTERS)
def test_filtered_upsampling_with_factors_3_and_5(keras, random_array, method):
    # TensorFlow looks bicubic weights up in a table of 1,024 steps per pixel, so other
    # factors agree to that table's resolution; the Lanczos weights are computed exactly.
    x = random_array(5, (2, 6, 5, 2))
    expected = np.asarray(keras.layers.UpSampling2D(size=(3, 5), interpolation=method)(x))
    tolerance = 3e-3 * np.abs(x).max() if method == "bicubic" else 1e-5
    np.testing.assert_allclose(upsample_filtered(x, (3, 5), method), expected, atol=tolerance)


def test_filtered_weights_drop_the_taps_outside_and_rescale():
    # The chapter's numbers: at u = -0.25 the Keys cubic weights of taps -2..1 are
    # -0.0234, 0.2266, 0.8672, -0.0703; TensorFlow keeps the two inside, rescaled to sum 1.
    kernel = resampling_kernel("bicubic")
    weights = kernel(-0.25 - np.array([-2, -1, 0, 1]))
    np.testing.assert_allclose(weights, [-0.0234375, 0.2265625, 0.8671875, -0.0703125])
    matrix = resampling_matrix(2, 2, "bicubic")
    np.testing.assert_allclose(matrix[0], np.array([0.8671875, -0.0703125]) / 0.796875)
    for method in WIDE_FILTERS:
        rows = resampling_matrix(5, 3, method)
        np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    # Repeating the edge instead would give a different value: 0.9297, not 0.9118.
    assert weights @ np.array([1, 1, 1, 2]) == pytest.approx(0.9296875)
    assert matrix[0] @ [1, 2] == pytest.approx(0.91176, abs=1e-5)


def test_filtered_upsampling_extrapolates_at_the_border_and_keeps_constants():
    row = np.array([1.0, 2.0]).reshape(1, 1, 2, 1)
    for method in WIDE_FILTERS:
        upsampled = upsample_filtered(row, (1, 2), method)[0, 0, :, 0]
        assert upsampled[0] < 1 and upsampled[-1] > 2, method
        np.testing.assert_allclose(upsample_filtered(np.full((1, 3, 4, 1), 7.0), (2, 3), method), 7.0)
    with pytest.raises(ValueError, match="method"):
        resampling_kernel("gaussian")
    with pytest.raises(ValueError, match="spatial axes"):
        upsample_filtered(row, (2,), "bicubic")
