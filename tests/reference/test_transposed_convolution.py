"""Transposed convolution: the NumPy reference against Keras' Conv2DTranspose / Conv3DTranspose,
the output-length formula, the convolution-matrix view and the brief's values."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.reference.strategies import sweep

from upsampling_course.reference import (
    conv2d_valid,
    conv_transpose,
    conv_transpose_output_length,
    conv_transpose_via_matrix,
    convolution_matrix,
)

X = np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(1, 2, 2, 1)
SWEEP = sweep(300)


def keras_conv_transpose(keras, x, kernel, bias, strides, padding, output_padding):
    """Run a Conv2DTranspose / Conv3DTranspose layer with the given weights on ``x``."""
    rank = x.ndim - 2
    layer_class = {2: keras.layers.Conv2DTranspose, 3: keras.layers.Conv3DTranspose}[rank]
    layer = layer_class(kernel.shape[rank], kernel.shape[:rank], strides=strides, padding=padding,
                        output_padding=output_padding)
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    return np.asarray(layer(x))


def keras_rejects(padding, kernel_size, output_padding):
    # TensorFlow computes the 'same' length n*s-(s-k%2-op) back into a forward convolution of
    # ceil(length/s) pixels; with an even kernel and output_padding 0 that is n-1, not n.
    return padding == "same" and any(k % 2 == 0 and op == 0 for k, op in zip(kernel_size, output_padding))


# ---------------------------------------------------------------- output length


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_output_length_matches_keras_output_shapes(keras, padding):
    checked = 0
    for n in range(1, 6):
        for k in range(1, 6):
            for s in range(1, 4):
                for op in [None, *range(s)]:
                    if keras_rejects(padding, [k], [op]):
                        continue
                    out = keras.ops.conv_transpose(np.ones((1, n, 1), np.float32), np.ones((k, 1, 1), np.float32),
                                                   strides=s, padding=padding, output_padding=op)
                    assert out.shape[1] == conv_transpose_output_length(n, k, s, padding, op), (n, k, s, op)
                    checked += 1
    assert checked > 150


@given(n=st.integers(1, 20), k=st.integers(1, 7), s=st.integers(1, 5), data=st.data())
@sweep(200)
def test_output_length_fits_the_general_relation(n, k, s, data):
    # o = s(i - 1) + a + k - 2p (Dumoulin & Visin, 2016): p is the padding of the matching
    # forward convolution, a the extra pixels at the far end. 'valid' has p = 0; 'same' has
    # "half" padding p = k // 2; output_padding, when given, is a.
    op = data.draw(st.one_of(st.none(), st.integers(0, s - 1)))
    for padding, p in [("valid", 0), ("same", k // 2)]:
        if op is not None:
            a = op
        elif padding == "valid":
            a = max(k, s) - k  # zeros that fill a stride longer than the kernel
        else:
            a = s - k % 2  # so that o = n * s
        assert conv_transpose_output_length(n, k, s, padding, op) == s * (n - 1) + a + k - 2 * p


def test_output_length_formula_cases():
    assert conv_transpose_output_length(2, 3, 2, "valid") == 5
    assert conv_transpose_output_length(2, 3, 2, "same") == 4
    assert conv_transpose_output_length(5, 3, 2, "valid") == 11
    assert conv_transpose_output_length(5, 3, 2, "same") == 10
    assert conv_transpose_output_length(2, 1, 3, "valid") == 6  # max(k, s) when the kernel is smaller
    assert conv_transpose_output_length(4, 3, 2, "valid", 1) == 10
    assert conv_transpose_output_length(4, 3, 2, "same", 1) == 8
    assert conv_transpose_output_length(4, 4, 2, "same", 1) == 7
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_output_length(4, 3, 2, "valid", 2)
    with pytest.raises(ValueError, match="padding"):
        conv_transpose_output_length(4, 3, 2, "full")


def test_keras_rejects_output_padding_not_below_stride(keras):
    with pytest.raises(ValueError, match="output_padding"):
        keras.layers.Conv2DTranspose(1, 3, strides=2, output_padding=2)


@pytest.mark.parametrize("rank", [2, 3])
def test_keras_fails_clearly_on_same_even_kernel_with_output_padding_zero(keras, tf, rank):
    # Limitation of the TensorFlow backend: the layer is accepted and its output shape is
    # computed, but the first call fails inside TensorFlow's backprop-input kernel.
    layer_class = {2: keras.layers.Conv2DTranspose, 3: keras.layers.Conv3DTranspose}[rank]
    layer = layer_class(1, 2, strides=2, padding="same", output_padding=0)
    assert tuple(layer.compute_output_shape((1, *[3] * rank, 1))) == (1, *[4] * rank, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="doesn't match computed"):
        layer(np.ones((1, *[3] * rank, 1), np.float32))
    # Without output_padding, or with output_padding 1, the same kernel and stride work.
    assert layer_class(1, 2, strides=2, padding="same")(np.ones((1, *[3] * rank, 1), np.float32)).shape[1] == 6
    assert layer_class(1, 2, strides=2, padding="same", output_padding=1)(
        np.ones((1, *[3] * rank, 1), np.float32)).shape[1] == 5


# ---------------------------------------------------------------- brief values


def test_set_weights_needs_numpy_arrays(keras):
    layer = keras.layers.Conv2DTranspose(1, (1, 1), strides=(2, 2))
    layer.build(X.shape)
    with pytest.raises(AttributeError):
        layer.set_weights([[[[[1]]]], [0]])
    layer.set_weights([np.array([[[[1]]]]), np.array([0])])
    assert layer.count_params() == 2


def test_stride_two_one_by_one_kernel_inserts_zeros(keras):
    expected = [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]
    kernel, bias = np.ones((1, 1, 1, 1), np.float32), np.zeros(1, np.float32)
    np.testing.assert_array_equal(conv_transpose(X, kernel, bias, strides=2)[0, :, :, 0], expected)
    np.testing.assert_array_equal(keras_conv_transpose(keras, X, kernel, bias, 2, "valid", None)[0, :, :, 0], expected)


def test_two_by_two_kernel_with_stride_two_tiles_scaled_copies(keras):
    a, b, c, d = 0.5, -1.25, 2.0, 3.5
    kernel = np.array([[a, b], [c, d]], np.float32).reshape(2, 2, 1, 1)
    expected = [[a, b, 2 * a, 2 * b], [c, d, 2 * c, 2 * d], [3 * a, 3 * b, 4 * a, 4 * b], [3 * c, 3 * d, 4 * c, 4 * d]]
    np.testing.assert_allclose(conv_transpose(X, kernel, strides=2)[0, :, :, 0], expected)
    keras_out = keras_conv_transpose(keras, X, kernel, np.zeros(1, np.float32), 2, "valid", None)
    np.testing.assert_allclose(keras_out[0, :, :, 0], expected)


@pytest.mark.parametrize("n, padding, expected", [(2, "valid", 5), (2, "same", 4), (5, "valid", 11), (5, "same", 10)])
def test_three_by_three_kernel_stride_two_shapes(keras, n, padding, expected):
    x = np.ones((1, n, n, 1), np.float32)
    out = keras.layers.Conv2DTranspose(1, (3, 3), strides=(2, 2), padding=padding)(x)
    assert out.shape == (1, expected, expected, 1)
    assert conv_transpose(x, np.ones((3, 3, 1, 1)), strides=2, padding=padding).shape == out.shape


def test_overlap_pattern_of_the_eight_by_eight_image(keras):
    image = np.zeros((1, 8, 8, 1), np.float32)
    image[0, 2:6, 2:6, 0] = 1
    ones = [0, 0, 0, 0, 1, 1, 2, 1, 2, 1, 2, 1, 1, 0, 0, 0]
    twos = [0, 0, 0, 0, 2, 2, 4, 2, 4, 2, 4, 2, 2, 0, 0, 0]
    layer = keras.layers.Conv2DTranspose(1, kernel_size=3, strides=2, padding="same", kernel_initializer="ones")
    for out in [np.asarray(layer(image)), conv_transpose(image, np.ones((3, 3, 1, 1)), strides=2, padding="same")]:
        out = out[0, :, :, 0]
        assert out.shape == (16, 16)
        for row in [4, 5, 7, 9, 11, 12]:
            np.testing.assert_array_equal(out[row], ones)
        for row in [6, 8, 10]:
            np.testing.assert_array_equal(out[row], twos)
        assert not out[[0, 1, 2, 3, 13, 14, 15]].any()


@pytest.mark.parametrize("padding, expected", [("same", 4), ("valid", 5)])
def test_conv3d_transpose_shapes_of_the_brief(keras, padding, expected):
    volume = np.ones((1, 2, 2, 2, 1), np.float32)
    out = keras.layers.Conv3DTranspose(1, (3, 3, 3), strides=2, padding=padding)(volume)
    assert out.shape == (1, expected, expected, expected, 1)
    assert conv_transpose(volume, np.ones((3, 3, 3, 1, 1)), strides=2, padding=padding).shape == out.shape


def test_scatter_add_is_not_a_flipped_kernel():
    # One input pixel pastes the kernel as it is (a convolution would flip it).
    kernel = np.arange(1, 10, dtype=float).reshape(3, 3, 1, 1)
    impulse = np.ones((1, 1, 1, 1))
    np.testing.assert_array_equal(conv_transpose(impulse, kernel)[0, :, :, 0], kernel[:, :, 0, 0])


def test_channel_mismatch_is_rejected():
    with pytest.raises(ValueError, match="channels"):
        conv_transpose(np.ones((1, 2, 2, 3)), np.ones((3, 3, 1, 2)))


# ---------------------------------------------------------------- random sweeps against Keras


@st.composite
def transposed_convolutions(draw, rank, max_size):
    kernel_size = draw(st.tuples(*[st.integers(1, 4)] * rank))
    strides = draw(st.tuples(*[st.integers(1, 3)] * rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    if draw(st.booleans()):
        output_padding = None
    else:
        output_padding = tuple(draw(st.integers(0, s - 1)) for s in strides)
    assume(output_padding is None or not keras_rejects(padding, kernel_size, output_padding))
    return dict(
        seed=draw(st.integers(0, 2**31)),
        shape=(draw(st.integers(1, 2)), *draw(st.tuples(*[st.integers(1, max_size)] * rank)), draw(st.integers(1, 3))),
        kernel_size=kernel_size, out_channels=draw(st.integers(1, 3)), strides=strides, padding=padding,
        output_padding=output_padding,
    )


def check_against_keras(keras, random_array, case):
    x = random_array(case["seed"], case["shape"])
    kernel = random_array(case["seed"] + 1, (*case["kernel_size"], case["out_channels"], case["shape"][-1]))
    bias = random_array(case["seed"] + 2, (case["out_channels"],))
    args = case["strides"], case["padding"], case["output_padding"]
    expected = keras_conv_transpose(keras, x, kernel, bias, *args)
    np.testing.assert_allclose(conv_transpose(x, kernel, bias, *args), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2, 3])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4])
def test_conv2d_transpose_matches_keras_for_every_rule(keras, random_array, padding, strides, kernel_size):
    # Every combination the length rules distinguish (kernel below/at/above the stride, odd or
    # even, every output_padding), on rectangular inputs with several channels.
    for output_padding in [None, *range(strides)]:
        if keras_rejects(padding, [kernel_size], [output_padding]):
            continue
        for seed, shape in enumerate([(1, 1, 2, 1), (2, 3, 4, 2), (1, 4, 5, 3)]):
            check_against_keras(keras, random_array, dict(
                seed=seed, shape=shape, kernel_size=(kernel_size, kernel_size), out_channels=2,
                strides=(strides, strides), padding=padding, output_padding=output_padding))


@SWEEP
@given(case=transposed_convolutions(rank=2, max_size=5))
def test_conv2d_transpose_matches_keras(keras, random_array, case):
    check_against_keras(keras, random_array, case)


@sweep(150)
@given(case=transposed_convolutions(rank=3, max_size=3))
def test_conv3d_transpose_matches_keras(keras, random_array, case):
    check_against_keras(keras, random_array, case)


# ---------------------------------------------------------------- the convolution-matrix view


@sweep(60)
@given(seed=st.integers(0, 2**31), shape=st.tuples(st.integers(3, 7), st.integers(3, 7)),
       kernel_size=st.tuples(st.integers(1, 3), st.integers(1, 3)), strides=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_convolution_matrix_and_its_transpose(tf, random_array, seed, shape, kernel_size, strides):
    image = random_array(seed, shape)
    kernel = random_array(seed + 1, kernel_size)
    matrix = convolution_matrix(shape, kernel, strides)

    # C @ x is the convolution, as Keras/TensorFlow computes it (cross-correlation, valid).
    conv = tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], strides, "VALID").numpy()[0, :, :, 0]
    np.testing.assert_allclose(conv2d_valid(image, kernel, strides), conv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose((matrix @ image.ravel()).reshape(conv.shape), conv, rtol=1e-5, atol=1e-5)

    # C.T @ y is the gradient of the convolution with respect to its input ...
    y = random_array(seed + 2, conv.shape)
    x_var = tf.Variable(image[None, :, :, None])
    with tf.GradientTape() as tape:
        out = tf.nn.conv2d(x_var, kernel[:, :, None, None], strides, "VALID")
    gradient = tape.gradient(out, x_var, output_gradients=y[None, :, :, None]).numpy()[0, :, :, 0]
    via_matrix = conv_transpose_via_matrix(y, kernel, shape, strides)
    np.testing.assert_allclose(via_matrix, gradient, rtol=1e-4, atol=1e-4)

    # ... and the scatter-add transposed convolution, with output_padding bringing it to the
    # input's size (the pixels no convolution window reached stay zero).
    output_padding = tuple((n - k) % s for n, k, s in zip(shape, kernel_size, strides))
    scatter = conv_transpose(y[None, :, :, None], kernel[:, :, None, None], strides=strides,
                             output_padding=output_padding)[0, :, :, 0]
    np.testing.assert_allclose(via_matrix, scatter, rtol=1e-4, atol=1e-4)
