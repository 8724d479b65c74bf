"""upsampling_course.artifacts: overlap counts, the checkerboard measure, pixel shuffle and the
bilinear kernel, each against Keras or an independent computation, plus the values the
checkerboard chapter states."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reference.strategies import sweep

from upsampling_course import artifacts
from upsampling_course.reference import conv_transpose

SWEEP = sweep(40)


def keras_ones_transpose(keras, kernel_size, stride, input_size):
    layer = keras.layers.Conv2DTranspose(
        1, kernel_size, strides=stride, padding="valid", kernel_initializer="ones", use_bias=False
    )
    return np.asarray(layer(np.ones((1, input_size, input_size, 1), np.float32)))[0, :, :, 0]


# --- overlap counts ---------------------------------------------------------------------------

def test_overlap_counts_1d_values_in_the_chapter():
    np.testing.assert_array_equal(artifacts.overlap_counts_1d(3, 2, 4), [1, 1, 2, 1, 2, 1, 2, 1, 1])
    # Practice answer: k = 5, s = 2 on three pixels.
    np.testing.assert_array_equal(artifacts.overlap_counts_1d(5, 2, 3), [1, 1, 2, 2, 3, 2, 2, 1, 1])
    # Kernel smaller than the stride: uncovered pixels.
    np.testing.assert_array_equal(artifacts.overlap_counts_1d(2, 3, 3), [1, 1, 0, 1, 1, 0, 1, 1, 0])


@pytest.mark.parametrize("kernel_size", range(1, 6))
@pytest.mark.parametrize("stride", range(1, 4))
def test_overlap_counts_equal_keras_ones_kernel(keras, kernel_size, stride):
    for input_size in (1, 3, 4):
        np.testing.assert_array_equal(
            artifacts.overlap_counts(kernel_size, stride, input_size),
            keras_ones_transpose(keras, kernel_size, stride, input_size),
        )


@SWEEP
@given(kernel_size=st.integers(1, 7), stride=st.integers(1, 4), input_size=st.integers(1, 6))
def test_overlap_counts_equal_reference_scatter_add(kernel_size, stride, input_size):
    ones = np.ones((1, input_size, input_size, 1))
    kernel = np.ones((kernel_size, kernel_size, 1, 1))
    expected = conv_transpose(ones, kernel, strides=stride, padding="valid")[0, :, :, 0]
    np.testing.assert_array_equal(artifacts.overlap_counts(kernel_size, stride, input_size), expected)


@pytest.mark.parametrize("kernel_size", range(1, 9))
@pytest.mark.parametrize("stride", range(1, 5))
def test_interior_is_even_exactly_when_the_stride_divides_the_kernel(kernel_size, stride):
    counts = artifacts.overlap_counts_1d(kernel_size, stride, input_size=12)
    interior = counts[kernel_size : len(counts) - kernel_size]
    assert (interior.min() == interior.max()) == (kernel_size % stride == 0)
    if kernel_size % stride == 0:
        assert interior[0] == kernel_size // stride


def test_overlap_counts_reject_non_positive_sizes():
    with pytest.raises(ValueError):
        artifacts.overlap_counts_1d(0, 2, 3)


def test_overlap_count_mosaic_holds_each_map_once_around_its_tick_centre():
    kernel_sizes, strides = [2, 3, 4, 5], [1, 2, 3]
    mosaic, row_centres, column_centres = artifacts.overlap_count_mosaic(kernel_sizes, strides, 3)
    # The chapter's table: rows of heights 7, 9, 11 and columns of widths 9, 9, 10, 11, one cell apart.
    assert mosaic.shape == (7 + 9 + 11 + 2, 9 + 9 + 10 + 11 + 3)
    np.testing.assert_allclose(row_centres, [3, 12, 23])
    np.testing.assert_allclose(column_centres, [4, 14, 24.5, 36])
    covered = np.zeros(mosaic.shape, dtype=bool)
    for s, row_centre in zip(strides, row_centres):
        for k, column_centre in zip(kernel_sizes, column_centres):
            counts = artifacts.overlap_counts(k, s, 3)
            # Each map sits in the middle of its block: at most half a cell off the tick.
            top = int(np.floor(row_centre - (counts.shape[0] - 1) / 2))
            left = int(np.floor(column_centre - (counts.shape[1] - 1) / 2))
            np.testing.assert_array_equal(mosaic[top : top + counts.shape[0], left : left + counts.shape[1]], counts)
            covered[top : top + counts.shape[0], left : left + counts.shape[1]] = True
    assert np.isnan(mosaic[~covered]).all() and not np.isnan(mosaic[covered]).any()


def test_overlap_count_mosaic_of_one_map_is_that_map():
    mosaic, rows, columns = artifacts.overlap_count_mosaic([3], [2], input_size=4, gap=5)
    np.testing.assert_array_equal(mosaic, artifacts.overlap_counts(3, 2, 4))
    np.testing.assert_allclose([rows[0], columns[0]], [4, 4])


# --- checkerboard energy and power spectrum -------------------------------------------------

def test_checkerboard_energy_of_simple_patterns():
    rows, cols = np.indices((8, 8))
    assert artifacts.checkerboard_energy((rows + cols) % 2) == pytest.approx(1.0)
    assert artifacts.checkerboard_energy(rows % 2) == pytest.approx(1.0)  # stripes, every row
    assert artifacts.checkerboard_energy(np.full((8, 8), 3.0)) == 0.0
    assert artifacts.checkerboard_energy((rows // 2) % 2) == pytest.approx(0.0, abs=1e-12)  # period 4


def test_checkerboard_energy_of_white_noise_matches_its_expected_share():
    noise = np.random.default_rng(0).normal(size=(400, 8, 8))
    # Flat spectrum: the Nyquist row and column hold 15 of the 63 non-constant frequencies.
    assert artifacts.checkerboard_energy(noise) == pytest.approx(15 / 63, rel=0.05)


def test_checkerboard_energy_accepts_keras_batches_and_rejects_odd_sizes():
    rows, cols = np.indices((6, 6))
    board = ((rows + cols) % 2).astype(float)
    batch = np.stack([board, board.T], axis=0)[..., None].repeat(2, axis=-1)  # (2, 6, 6, 2)
    assert artifacts.checkerboard_energy(batch) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        artifacts.checkerboard_energy(np.zeros((5, 6)))


def test_smooth_blobs_are_smooth_deterministic_and_shaped():
    blobs = artifacts.smooth_blobs(50, size=8, seed=0)
    assert blobs.shape == (50, 8, 8, 1) and blobs.dtype == np.float32
    np.testing.assert_array_equal(blobs, artifacts.smooth_blobs(50, size=8, seed=0))
    assert not np.array_equal(blobs, artifacts.smooth_blobs(50, size=8, seed=1))
    assert artifacts.checkerboard_energy(blobs) < 0.01


def test_power_spectrum_obeys_parseval():
    image = np.random.default_rng(1).normal(size=(6, 8))
    spectrum = artifacts.power_spectrum(image)
    centred = image - image.mean()
    assert spectrum.sum() == pytest.approx(image.size * np.sum(centred**2))
    assert spectrum[3, 4] == pytest.approx(0.0, abs=1e-9)  # zero frequency, in the middle


# --- pixel shuffle and the sub-pixel kernel -------------------------------------------------

def test_depth_to_space_places_channel_c_at_position_c_of_each_block():
    four_channels = np.moveaxis(np.arange(1, 17).reshape(4, 2, 2), 0, -1)[None]
    expected = np.array([[1, 5, 2, 6], [9, 13, 10, 14], [3, 7, 4, 8], [11, 15, 12, 16]])
    np.testing.assert_array_equal(artifacts.depth_to_space(four_channels, 2)[0, :, :, 0], expected)


@SWEEP
@given(block=st.integers(2, 3), height=st.integers(1, 4), width=st.integers(1, 4),
       channels=st.integers(1, 3), batch=st.integers(1, 2))
def test_depth_to_space_equals_keras(keras, random_array, block, height, width, channels, batch):
    x = random_array(block * 10 + height, (batch, height, width, block * block * channels))
    expected = keras.ops.convert_to_numpy(keras.ops.depth_to_space(x, block))
    np.testing.assert_array_equal(artifacts.depth_to_space(x, block), expected)


def test_depth_to_space_rejects_channels_not_divisible():
    with pytest.raises(ValueError):
        artifacts.depth_to_space(np.zeros((1, 2, 2, 6)), 2)


@pytest.mark.parametrize("block", [1, 2, 3, 4])
@pytest.mark.parametrize("in_channels, out_channels", [(1, 1), (3, 2), (2, 5)])
def test_transposed_conv_with_kernel_equal_stride_is_1x1_conv_then_pixel_shuffle(
    keras, random_array, block, in_channels, out_channels
):
    x = random_array(block, (2, 3, 4, in_channels))
    transposed = keras.layers.Conv2DTranspose(out_channels, block, strides=block, use_bias=False)
    expected = np.asarray(transposed(x))
    one_by_one = keras.layers.Conv2D(block * block * out_channels, 1, use_bias=False)
    one_by_one.build(x.shape)
    one_by_one.kernel.assign(artifacts.subpixel_kernel(np.asarray(transposed.kernel)))
    result = artifacts.depth_to_space(np.asarray(one_by_one(x)), block)
    np.testing.assert_allclose(result, expected, atol=1e-5)


# --- bilinear kernel ----------------------------------------------------------------------------

def test_bilinear_kernel_values():
    np.testing.assert_allclose(artifacts.bilinear_kernel_1d(2), [0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(artifacts.bilinear_kernel_1d(3), [1 / 3, 2 / 3, 1, 2 / 3, 1 / 3])
    for factor in range(1, 6):
        weights = artifacts.bilinear_kernel_1d(factor)
        # Every output position gets weights summing to one: the phases of the tent each sum to 1.
        for phase in range(factor):
            assert weights[phase::factor].sum() == pytest.approx(1.0)
    kernel = artifacts.bilinear_kernel(2, channels=3)
    assert kernel.shape == (4, 4, 3, 3)
    assert kernel[:, :, 0, 1].sum() == 0 and kernel[1, 1, 2, 2] == pytest.approx(0.5625)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bilinear_transposed_conv_equals_upsampling2d_inside(keras, random_array, factor):
    x = random_array(factor, (2, 7, 6, 2))
    kernel = artifacts.bilinear_kernel(factor, channels=2)
    layer = keras.layers.Conv2DTranspose(2, kernel.shape[0], strides=factor, padding="same", use_bias=False)
    layer.build(x.shape)
    layer.kernel.assign(kernel)
    transposed = np.asarray(layer(x))
    upsampled = np.asarray(keras.layers.UpSampling2D(factor, interpolation="bilinear")(x))
    border = factor // 2
    inside = (slice(None), slice(border, -border), slice(border, -border), slice(None))
    np.testing.assert_allclose(transposed[inside], upsampled[inside], atol=1e-5)
    # At the border the transposed convolution sees zeros, UpSampling2D clamps.
    assert np.abs(transposed - upsampled).max() > 0.1


def test_bilinear_values_in_the_chapter(keras):
    X = np.array([[1, 2], [3, 4]], np.float32).reshape(1, 2, 2, 1)
    layer = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", use_bias=False)
    layer.build(X.shape)
    layer.kernel.assign(artifacts.bilinear_kernel(2))
    difference = np.asarray(keras.layers.UpSampling2D(interpolation="bilinear")(X)) - np.asarray(layer(X))
    assert np.abs(difference[0, 1:-1, 1:-1, 0]).max() == 0.0
    assert np.abs(difference).max() == pytest.approx(1.75)


# --- polyphase sums: what a constant input turns into -------------------------------------------

@pytest.mark.parametrize("kernel_size", [2, 3, 4, 5])
@pytest.mark.parametrize("stride", [2, 3])
def test_interior_of_a_constant_input_is_the_polyphase_sums(keras, random_array, kernel_size, stride):
    kernel = random_array(10 * kernel_size + stride, (kernel_size, kernel_size))
    layer = keras.layers.Conv2DTranspose(1, kernel_size, strides=stride, use_bias=False)
    layer.build((None, 9, 9, 1))
    layer.kernel.assign(kernel.reshape(kernel_size, kernel_size, 1, 1))
    output = np.asarray(layer(np.full((1, 9, 9, 1), 2.5, np.float32)))[0, :, :, 0]
    sums = artifacts.polyphase_sums(kernel, stride)
    # Output pixel o has phase o mod stride; inside, every tap of its sub-kernel has an input.
    for row in range(kernel_size, output.shape[0] - kernel_size):
        for column in range(kernel_size, output.shape[1] - kernel_size):
            assert output[row, column] == pytest.approx(2.5 * sums[row % stride, column % stride], abs=1e-4)
    # One distinct interior value per distinct sum. Random sums all differ, so a kernel at least
    # as large as the stride gives stride**2 values whether the stride divides it or not.
    distinct = artifacts.interior_values(output, kernel_size)
    assert len(distinct) == len(np.unique(np.round(2.5 * sums, 4)))
    if kernel_size >= stride:
        assert len(distinct) == stride * stride


def test_polyphase_sums_of_kernels_in_the_chapters():
    np.testing.assert_allclose(artifacts.polyphase_sums([0.1, 1, 0.1], 2), [0.2, 1.0])
    np.testing.assert_allclose(artifacts.polyphase_sums(np.ones((3, 3)), 2), [[4, 2], [2, 1]])
    np.testing.assert_allclose(artifacts.polyphase_sums(np.ones((4, 4)), 2), np.full((2, 2), 4))
    np.testing.assert_allclose(artifacts.polyphase_sums(artifacts.bilinear_kernel(2)[:, :, 0, 0], 2), 1)
    np.testing.assert_allclose(artifacts.polyphase_sums(np.ones((3, 3, 3)), 2)[0, 0, 0], 8)
    assert artifacts.polyphase_sums(np.ones(5), 1).tolist() == [5]


@SWEEP
@given(kernel_size=st.integers(1, 7), stride=st.integers(1, 4))
def test_polyphase_sums_of_a_ones_kernel_are_the_interior_overlap_counts(kernel_size, stride):
    counts = artifacts.overlap_counts_1d(kernel_size, stride, input_size=12)
    sums = artifacts.polyphase_sums(np.ones(kernel_size), stride)
    for o in range(kernel_size, len(counts) - kernel_size):
        assert counts[o] == sums[o % stride]


def test_polyphase_sums_and_interior_values_reject_bad_input():
    with pytest.raises(ValueError, match="stride"):
        artifacts.polyphase_sums(np.ones(3), 0)
    with pytest.raises(ValueError, match="border"):
        artifacts.interior_values(np.ones((4, 4)), 2)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        artifacts.interior_values(np.ones(4), 1)


def test_interior_values_drop_the_border_and_merge_float32_rounding():
    image = np.zeros((6, 6))
    image[0, :] = 9  # border only
    image[2:4, 2:4] = [[1.0, 1.0 + 1e-7], [2.0, 3.0]]
    np.testing.assert_array_equal(artifacts.interior_values(image, 1), [0, 1, 2, 3])
    np.testing.assert_array_equal(artifacts.interior_values(image[None, ..., None], 2), [1, 2, 3])


# --- resize then convolve is a transposed convolution with equal sub-kernel sums -----------------

@pytest.mark.parametrize("factor", [2, 3])
@pytest.mark.parametrize("kernel_size", [1, 3, 4])
def test_resize_conv_kernel_equals_nearest_upsampling_then_conv2d(keras, random_array, factor, kernel_size):
    x = random_array(factor, (2, 4, 5, 3))
    weights = random_array(kernel_size, (kernel_size, kernel_size, 3, 2))
    conv = keras.layers.Conv2D(2, kernel_size, use_bias=False)
    conv.build((None, 4 * factor, 5 * factor, 3))
    conv.kernel.assign(weights)
    expected = np.asarray(conv(keras.layers.UpSampling2D(factor)(x)))
    kernel = artifacts.resize_conv_kernel(weights, factor)
    assert kernel.shape == (kernel_size + factor - 1,) * 2 + (2, 3)
    full = conv_transpose(x, kernel, strides=factor)
    shift = kernel_size - 1
    np.testing.assert_allclose(
        full[:, shift : shift + expected.shape[1], shift : shift + expected.shape[2]], expected, atol=1e-5
    )
    # Every polyphase sub-kernel sums to the convolution kernel's sum: no checkerboard.
    for out in range(2):
        for inp in range(3):
            np.testing.assert_allclose(
                artifacts.polyphase_sums(kernel[:, :, out, inp], factor),
                weights[:, :, inp, out].astype(float).sum(), rtol=1e-9,
            )


# --- ICNR -----------------------------------------------------------------------------------------

def test_icnr_copies_the_base_kernel_to_every_subpixel_channel():
    base = np.arange(2 * 2 * 3 * 2, dtype=float).reshape(2, 2, 3, 2)
    kernel = artifacts.icnr(base, 3)
    assert kernel.shape == (2, 2, 3, 18)
    for position in range(9):  # channel (dy*3 + dx)*C + c holds base channel c
        np.testing.assert_array_equal(kernel[..., position * 2 : position * 2 + 2], base)
    with pytest.raises(ValueError, match="Conv2D kernel"):
        artifacts.icnr(np.ones((3, 3)), 2)


@pytest.mark.parametrize("factor", [2, 3])
def test_keras_icnr_starts_pixel_shuffle_as_nearest_upsampling(keras, random_array, factor):
    from upsampling_course.initializers import ICNR

    x = random_array(factor, (2, 5, 4, 3))
    channels = 2
    conv = keras.layers.Conv2D(
        factor * factor * channels, 3, padding="same",
        kernel_initializer=ICNR(factor, keras.initializers.GlorotUniform(seed=factor)),
    )
    shuffled = keras.ops.convert_to_numpy(keras.ops.depth_to_space(conv(x), factor))
    kernel = np.asarray(conv.kernel)
    np.testing.assert_array_equal(kernel, artifacts.icnr(kernel[..., :channels], factor))
    base = keras.layers.Conv2D(channels, 3, padding="same")
    base.build(x.shape)
    base.set_weights([kernel[..., :channels], np.zeros(channels, np.float32)])
    expected = np.asarray(keras.layers.UpSampling2D(factor)(base(x)))
    np.testing.assert_array_equal(shuffled, expected)
    # So a constant input gives a constant interior: no checkerboard at the start.
    flat = keras.ops.depth_to_space(conv(np.ones((1, 6, 6, 3), np.float32)), factor)
    for channel in range(channels):
        assert len(artifacts.interior_values(np.asarray(flat)[0, :, :, channel], factor + 1)) == 1


def test_keras_icnr_is_seeded_serialisable_and_checks_the_shape(keras):
    from upsampling_course.initializers import ICNR

    initializer = ICNR(2, keras.initializers.HeNormal(seed=7))
    first = np.asarray(initializer((3, 3, 4, 8)))
    np.testing.assert_array_equal(first, np.asarray(ICNR(2, keras.initializers.HeNormal(seed=7))((3, 3, 4, 8))))
    assert first.dtype == np.float32
    restored = keras.initializers.deserialize(keras.initializers.serialize(initializer))
    assert isinstance(restored, ICNR) and restored.factor == 2
    assert isinstance(restored.initializer, keras.initializers.HeNormal)
    with pytest.raises(ValueError, match="multiple of factor"):
        initializer((3, 3, 4, 6))
    with pytest.raises(ValueError, match="Conv2D kernels"):
        initializer((3, 4, 8))
