"""Max pooling with switches and max unpooling: the NumPy reference against TensorFlow."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.reference.strategies import poolings, sweep
from upsampling_course.reference import max_pool_with_argmax, max_unpool

SWEEP = sweep(150)


@SWEEP
@given(case=poolings(rank=2, max_size=7))
def test_max_pool_with_argmax_matches_tensorflow(tf, random_array, case):
    x = random_array(case["seed"], case["shape"], case["integers"])
    pooled, argmax = tf.nn.max_pool_with_argmax(
        x, case["pool_size"], case["strides"], case["padding"].upper(), include_batch_in_index=False)
    ref_pooled, ref_argmax = max_pool_with_argmax(x, case["pool_size"], case["strides"], case["padding"])
    np.testing.assert_array_equal(ref_pooled, pooled)
    np.testing.assert_array_equal(ref_argmax, argmax)


def test_tensorflow_breaks_ties_at_the_first_maximum_in_row_major_order(tf):
    # Each 2x2 window holds two equal maxima (at different places); TF reports the one that
    # comes first reading the window row by row.
    window_pairs = np.array([[5, 5, 0, 9], [1, 0, 9, 1],
                             [0, 5, 2, 2], [5, 1, 2, 2]], np.float32).reshape(1, 4, 4, 1)
    _, argmax = tf.nn.max_pool_with_argmax(window_pairs, 2, 2, "VALID")
    expected = [[0 * 4 + 0, 0 * 4 + 3], [2 * 4 + 1, 2 * 4 + 2]]
    np.testing.assert_array_equal(argmax[0, :, :, 0], expected)
    np.testing.assert_array_equal(max_pool_with_argmax(window_pairs)[1][0, :, :, 0], expected)


def test_overlapping_windows_share_a_switch(tf):
    x = np.zeros((1, 3, 3, 1), np.float32)
    x[0, 1, 1, 0] = 1  # the centre is in all four 2x2 windows of stride 1
    pooled, argmax = max_pool_with_argmax(x, (2, 2), (1, 1))
    np.testing.assert_array_equal(argmax[0, :, :, 0], [[4, 4], [4, 4]])
    np.testing.assert_array_equal(max_unpool(pooled, argmax, x.shape), x)


def test_flat_index_counts_channels_fastest():
    x = np.zeros((2, 4, 6, 3))
    x[1, 3, 5, 2] = 7  # last pixel, last channel of the second sample
    pooled, argmax = max_pool_with_argmax(x)
    assert pooled[1, 1, 2, 2] == 7
    assert argmax[1, 1, 2, 2] == (3 * 6 + 5) * 3 + 2 == x[0].size - 1


@SWEEP
@given(case=poolings(rank=2, max_size=7))
def test_pooled_values_sit_at_their_switches(keras, random_array, case):
    x = random_array(case["seed"], case["shape"], case["integers"])
    pooled, argmax = max_pool_with_argmax(x, case["pool_size"], case["strides"], case["padding"])
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(len(x), -1), argmax.reshape(len(x), -1), axis=1),
                                  pooled.reshape(len(x), -1))


@SWEEP
@given(case=poolings(rank=3, max_size=4))
def test_3d_pooled_values_match_keras_and_sit_at_their_switches(keras, random_array, case):
    x = random_array(case["seed"], case["shape"], case["integers"])
    pooled, argmax = max_pool_with_argmax(x, case["pool_size"], case["strides"], case["padding"])
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(len(x), -1), argmax.reshape(len(x), -1), axis=1),
                                  pooled.reshape(len(x), -1))
    if not tensorflow_3d_windows_are_shifted(x.shape[1:-1], case["pool_size"], case["strides"], case["padding"]):
        layer = keras.layers.MaxPooling3D(case["pool_size"], case["strides"], case["padding"])
        np.testing.assert_array_equal(pooled, layer(x))


def tensorflow_3d_windows_are_shifted(sizes, pool_size, strides, padding):
    # TensorFlow's 3D pooling with 'same' halves a *negative* total padding too (when pool <
    # stride the windows can end two or more pixels before the input does), shifting the
    # windows; its 2D pooling clamps the padding at zero.
    if padding != "same":
        return False
    return any((-(-n // s) - 1) * s + k - n <= -2 for n, k, s in zip(sizes, pool_size, strides))


def test_tensorflow_3d_same_pooling_shifts_windows_when_pool_is_smaller_than_stride(keras):
    # A quirk worth knowing: the 2D and 3D layers disagree on the same 1D problem.
    line = np.arange(3, dtype=np.float32)
    as_2d = keras.layers.MaxPooling2D((1, 1), (3, 1), padding="same")(line.reshape(1, 3, 1, 1))
    as_3d = keras.layers.MaxPooling3D((1, 1, 1), (3, 1, 1), padding="same")(line.reshape(1, 3, 1, 1, 1))
    assert float(np.ravel(as_2d)[0]) == 0.0  # window starts at pixel 0
    assert float(np.ravel(as_3d)[0]) == 1.0  # window moved to pixel 1
    assert tensorflow_3d_windows_are_shifted((3,), (1,), (3,), "same")
    assert max_pool_with_argmax(line.reshape(1, 3, 1, 1, 1), (1, 1, 1), (3, 1, 1), "same")[0].ravel()[0] == 0.0


@SWEEP
@given(seed=st.integers(0, 2**31), batch=st.integers(1, 2), height=st.integers(1, 5), width=st.integers(1, 5),
       channels=st.integers(1, 3), pool=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       padding=st.sampled_from(["valid", "same"]))
def test_3d_flat_index_reduces_to_the_2d_one_for_a_single_slice(tf, random_array, seed, batch, height, width,
                                                                channels, pool, padding):
    # With depth 1 the 3D index ((0 * h + y) * w + x) * c + ch is TensorFlow's 2D index.
    assume(padding == "same" or (height >= pool[0] and width >= pool[1]))
    x = random_array(seed, (batch, 1, height, width, channels), integers=3)
    _, argmax_3d = max_pool_with_argmax(x, (1, *pool), padding=padding)
    _, argmax_2d = tf.nn.max_pool_with_argmax(x[:, 0], pool, pool, padding.upper())
    np.testing.assert_array_equal(argmax_3d[:, 0], argmax_2d)


@SWEEP
@given(case=poolings(rank=2, max_size=7))
def test_unpooling_puts_maxima_back_and_zeros_elsewhere(random_array, case):
    # Integers >= 1 (few or many ties), so a zero in the output always means "not a switch".
    x = random_array(case["seed"], case["shape"], case["integers"] or 50) + 1
    pooled, argmax = max_pool_with_argmax(x, case["pool_size"], case["strides"], case["padding"])
    restored = max_unpool(pooled, argmax, x.shape)
    assert restored.shape == x.shape
    switches = restored != 0
    np.testing.assert_array_equal(restored[switches], x[switches])
    assert switches.reshape(len(x), -1).sum(axis=1).max() <= pooled[0].size
    # Pooling what unpooling restored gives the pooled maps back.
    np.testing.assert_array_equal(
        max_pool_with_argmax(restored, case["pool_size"], case["strides"], case["padding"])[0], pooled)


def test_unpooling_a_two_by_two_example():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 0, 1, 1], [6, 0, 1, 2]], float).reshape(1, 4, 4, 1)
    pooled, argmax = max_pool_with_argmax(x)
    np.testing.assert_array_equal(pooled[0, :, :, 0], [[5, 8], [6, 2]])
    expected = [[0, 5, 0, 0], [0, 0, 8, 0], [0, 0, 0, 0], [6, 0, 0, 2]]
    np.testing.assert_array_equal(max_unpool(pooled, argmax, x.shape)[0, :, :, 0], expected)


def test_unknown_padding_is_rejected():
    with pytest.raises(ValueError, match="padding"):
        max_pool_with_argmax(np.zeros((1, 4, 4, 1)), padding="full")
