"""Max pooling with switches and max unpooling as Keras 3 layers (TensorFlow backend).

Keras has no unpooling layer. These layers pair up: the pooling layer returns the pooled
maps and the flat index of every maximum (the "switches"); the unpooling layer takes both
and puts each value back where it came from, zeros elsewhere::

    pooled, switches = MaxPoolingWithArgmax2D()(features)
    restored = MaxUnpooling2D()([pooled, switches])

Switches are flat indices into one sample, channels-last, as ``tf.nn.max_pool_with_argmax``
returns them with ``include_batch_in_index=False``: ``(y * width + x) * channels + c`` in 2D,
``((z * height + y) * width + x) * channels + c`` in 3D. ``upsampling_course.reference.pooling``
computes the same with NumPy.
"""
import itertools

import keras
import numpy as np
import tensorflow as tf


def _tuple(value, rank, name):
    if isinstance(value, int):
        return (value,) * rank
    value = tuple(int(v) for v in value)
    if len(value) != rank:
        raise ValueError(f"{name} needs {rank} values, got {value}")
    return value


def _pooled_length(n, pool, stride, padding):
    if n is None:
        return None
    if padding == "valid":
        return (n - pool) // stride + 1
    return -(-n // stride)


class _MaxPoolingWithArgmax(keras.layers.Layer):
    rank = None  # number of spatial axes, set by the subclasses

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else _tuple(strides, self.rank, "strides")
        self.padding = padding.lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")

    def compute_output_shape(self, input_shape):
        spatial = [
            _pooled_length(n, k, s, self.padding)
            for n, k, s in zip(input_shape[1:-1], self.pool_size, self.strides)
        ]
        shape = (input_shape[0], *spatial, input_shape[-1])
        return shape, shape

    def compute_output_spec(self, inputs):
        pooled_shape, argmax_shape = self.compute_output_shape(inputs.shape)
        return (
            keras.KerasTensor(pooled_shape, dtype=inputs.dtype),
            keras.KerasTensor(argmax_shape, dtype="int64"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, strides=self.strides, padding=self.padding)
        return config


@keras.saving.register_keras_serializable(package="upsampling_course")
class MaxPoolingWithArgmax2D(_MaxPoolingWithArgmax):
    """2D max pooling returning ``(pooled, argmax)``; a wrapper of ``tf.nn.max_pool_with_argmax``.

    Ties go to the first maximum of the window in row-major order (TensorFlow's CPU rule).
    """

    rank = 2

    def call(self, inputs):
        return tf.nn.max_pool_with_argmax(
            inputs,
            ksize=self.pool_size,
            strides=self.strides,
            padding=self.padding.upper(),
            include_batch_in_index=False,
        )


@keras.saving.register_keras_serializable(package="upsampling_course")
class MaxPoolingWithArgmax3D(_MaxPoolingWithArgmax):
    """3D max pooling returning ``(pooled, argmax)``.

    TensorFlow has no 3D argmax pooling, so the layer looks at every window offset in turn:
    one strided slice of the (padded) volume per offset, stacked on a new "window" axis,
    and takes the first offset that holds the maximum (depth, rows, columns order, the
    same tie rule as the 2D op). Needs static depth, height and width.
    """

    rank = 3

    def build(self, input_shape):
        # The windows are cut with static slices, so fail when the model is built, not later.
        if any(n is None for n in input_shape[1:-1]):
            raise ValueError(f"{self.name} needs static spatial sizes, got {tuple(input_shape)}")

    def call(self, inputs):
        sizes = inputs.shape[1:-1]
        channels = inputs.shape[-1]
        out_sizes = [_pooled_length(n, k, s, self.padding) for n, k, s in zip(sizes, self.pool_size, self.strides)]
        before = [
            max((o - 1) * s + k - n, 0) // 2 if self.padding == "same" else 0
            for n, k, s, o in zip(sizes, self.pool_size, self.strides, out_sizes)
        ]
        after = [(o - 1) * s + k - n - b for n, k, s, o, b in zip(sizes, self.pool_size, self.strides, out_sizes, before)]
        padded = tf.pad(
            inputs,
            [[0, 0], *([b, max(a, 0)] for b, a in zip(before, after)), [0, 0]],
            constant_values=-np.inf,
        )

        # One strided slice per window offset: windows[..., w, c] is the w-th pixel (row-major
        # order) of every window. Alongside, in NumPy (static shapes): whether that pixel is
        # inside the input, and its flat position z * height * width + y * width + x.
        windows, inside, flat_positions = [], [], []
        grid = np.meshgrid(*(np.arange(o) for o in out_sizes), indexing="ij")
        for offset in itertools.product(*(range(k) for k in self.pool_size)):
            window = tuple(slice(d, d + (o - 1) * s + 1, s) for d, o, s in zip(offset, out_sizes, self.strides))
            windows.append(padded[(slice(None), *window, slice(None))])
            position = [g * s - b + d for g, s, b, d in zip(grid, self.strides, before, offset)]
            inside.append(np.all([(0 <= p) & (p < n) for p, n in zip(position, sizes)], axis=0))
            flat_positions.append((position[0] * sizes[1] + position[1]) * sizes[2] + position[2])
        windows = tf.stack(windows, axis=-2)  # (batch, *out_sizes, window, channels)
        inside = np.stack(inside, axis=-1)[..., None]  # (*out_sizes, window, 1)
        flat_positions = np.stack(flat_positions, axis=-1)[..., None].astype(np.int64)
        never = np.iinfo(np.int64).max

        best = tf.reduce_max(windows, axis=-2, keepdims=True)  # padding is -inf, never above
        is_max = tf.logical_and(tf.equal(windows, best), inside)
        # Within a window, row-major order is also increasing flat position, so the first
        # maximum is the one with the smallest flat position.
        position = tf.reduce_min(tf.where(is_max, flat_positions, never), axis=-2)
        # A window of NaNs has no maximum: point at its first pixel rather than out of range.
        first_inside = np.min(np.where(inside, flat_positions, never), axis=-2)
        position = tf.where(position == never, first_inside, position)
        argmax = position * channels + tf.range(channels, dtype=tf.int64)
        # Read the maxima at the switches rather than calling tf.nn.max_pool3d: its 'same'
        # windows are misaligned when pool_size < strides, and the gradient then goes to
        # exactly one pixel per window, as with the 2D op.
        batch = tf.shape(inputs)[0]
        pooled = tf.gather(tf.reshape(inputs, [batch, -1]), tf.reshape(argmax, [batch, -1]), batch_dims=1)
        return tf.ensure_shape(tf.reshape(pooled, tf.shape(argmax)), argmax.shape), argmax


def _check_same_shape(pooled_shape, argmax_shape):
    """Each pooled value needs its own switch: a map of another shape (say, more channels
    after a convolution) would put values in the wrong places or fail inside TensorFlow."""
    known = [(p, a) for p, a in zip(pooled_shape[1:], argmax_shape[1:]) if p is not None and a is not None]
    if len(pooled_shape) != len(argmax_shape) or any(p != a for p, a in known):
        raise ValueError(
            f"the map to unpool has shape {tuple(pooled_shape)} but its switches {tuple(argmax_shape)}: "
            "pass the switches of a pooling layer whose output has the map's shape"
        )


class _MaxUnpooling(keras.layers.Layer):
    rank = None  # number of spatial axes, set by the subclasses

    def __init__(self, size=2, output_size=None, **kwargs):
        super().__init__(**kwargs)
        self.size = _tuple(size, self.rank, "size")
        self.output_size = None if output_size is None else _tuple(output_size, self.rank, "output_size")

    def _spatial_output(self, pooled_shape, like_shape=None):
        if like_shape is not None:
            return tuple(like_shape[1:-1])
        if self.output_size is not None:
            return self.output_size
        return tuple(None if n is None else n * f for n, f in zip(pooled_shape[1:-1], self.size))

    def compute_output_shape(self, input_shape):
        pooled_shape = input_shape[0]
        _check_same_shape(pooled_shape, input_shape[1])
        like_shape = input_shape[2] if len(input_shape) > 2 else None
        return (pooled_shape[0], *self._spatial_output(pooled_shape, like_shape), pooled_shape[-1])

    def call(self, inputs):
        pooled, argmax = inputs[0], inputs[1]
        _check_same_shape(pooled.shape, argmax.shape)
        if len(inputs) > 2:  # a tensor of the pre-pooling shape, e.g. the pooling layer's input
            spatial = tf.shape(inputs[2])[1:-1]
        elif self.output_size is not None:
            spatial = tf.constant(self.output_size, dtype=tf.int32)
        else:
            spatial = tf.shape(pooled)[1:-1] * tf.constant(self.size, dtype=tf.int32)
        batch = tf.shape(pooled)[0]
        channels = pooled.shape[-1]
        values = tf.reshape(pooled, [batch, -1])
        switches = tf.reshape(tf.cast(argmax, tf.int64), [batch, -1])
        sample = tf.broadcast_to(tf.range(tf.cast(batch, tf.int64))[:, None], tf.shape(switches))
        flat_length = tf.reduce_prod(spatial) * channels
        # Update, not add: when pooling windows overlap, one switch can be written twice
        # (with the same value); scatter_nd would sum the copies.
        flat = tf.tensor_scatter_nd_update(
            tf.zeros([batch, flat_length], dtype=pooled.dtype), tf.stack([sample, switches], axis=-1), values
        )
        out = tf.reshape(flat, tf.concat([[batch], spatial, [channels]], axis=0))
        static = self.compute_output_shape([pooled.shape, argmax.shape] + ([inputs[2].shape] if len(inputs) > 2 else []))
        out.set_shape(static)
        return out

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, output_size=self.output_size)
        return config


@keras.saving.register_keras_serializable(package="upsampling_course")
class MaxUnpooling2D(_MaxUnpooling):
    """Inverse of :class:`MaxPoolingWithArgmax2D` up to the lost values: ``[pooled, argmax] -> unpooled``.

    The output size is, by priority: the shape of an optional third input (pass the
    pooling layer's input), ``output_size``, or the pooled size times ``size``. It must be
    the size the switches were taken from: they are flat positions in that size.
    """

    rank = 2


@keras.saving.register_keras_serializable(package="upsampling_course")
class MaxUnpooling3D(_MaxUnpooling):
    """Inverse of :class:`MaxPoolingWithArgmax3D` up to the lost values: ``[pooled, argmax] -> unpooled``.

    The output size is, by priority: the shape of an optional third input (pass the
    pooling layer's input), ``output_size``, or the pooled size times ``size``. It must be
    the size the switches were taken from: they are flat positions in that size.
    """

    rank = 3
