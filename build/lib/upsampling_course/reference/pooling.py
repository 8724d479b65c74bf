"""Max pooling that remembers where each maximum came from, and the unpooling that uses it.

Arrays are channels-last, ``(batch, *spatial, channels)``; ``pool_size`` has one entry per
spatial axis (2 or 3). The recorded positions ("switches", Zeiler & Fergus 2013) are flat
indices into one sample, as ``tf.nn.max_pool_with_argmax`` returns them with
``include_batch_in_index=False``: ``(y * width + x) * channels + c`` in 2D, and
``((z * height + y) * width + x) * channels + c`` in 3D.
"""
import numpy as np


def max_pool_with_argmax(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Max pooling that also returns the flat index of each maximum.

    ``strides`` defaults to ``pool_size``. With ``padding='same'`` the output has
    ``ceil(n / stride)`` pixels per axis; windows that stick out of the input just see
    fewer pixels, and ``(needed - n) // 2`` of the missing ones are before the input, as in
    TensorFlow. Ties go to the first maximum in row-major order within the window
    (depth, then rows, then columns), which is what TensorFlow does.
    """
    x = np.asarray(x)
    rank = x.ndim - 2
    strides = tuple(pool_size) if strides is None else tuple(strides)
    batch, sizes, channels = x.shape[0], x.shape[1:-1], x.shape[-1]
    if padding == "valid":
        out_sizes = [(n - k) // s + 1 for n, k, s in zip(sizes, pool_size, strides)]
        before = [0] * rank
    elif padding == "same":
        out_sizes = [-(-n // s) for n, s in zip(sizes, strides)]
        before = [max((o - 1) * s + k - n, 0) // 2 for n, k, s, o in zip(sizes, pool_size, strides, out_sizes)]
    else:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")

    pooled = np.zeros((batch, *out_sizes, channels), dtype=x.dtype)
    argmax = np.zeros((batch, *out_sizes, channels), dtype=np.int64)
    for position in np.ndindex(*out_sizes):
        starts = [max(p * s - b, 0) for p, s, b in zip(position, strides, before)]
        stops = [min(p * s - b + k, n) for p, s, b, k, n in zip(position, strides, before, pool_size, sizes)]
        window = x[(slice(None), *(slice(a, b) for a, b in zip(starts, stops)))]
        flat_window = window.reshape(batch, -1, channels)  # row-major over the window's pixels
        best = np.argmax(flat_window, axis=1)  # (batch, channels); first maximum wins
        offsets = np.unravel_index(best, window.shape[1:-1])
        flat_index = np.zeros_like(best)
        for start, offset, n in zip(starts, offsets, sizes):
            flat_index = flat_index * n + start + offset
        index = (slice(None), *position)
        pooled[index] = np.take_along_axis(flat_window, best[:, None, :], axis=1)[:, 0, :]
        argmax[index] = flat_index * channels + np.arange(channels)
    return pooled, argmax


def max_unpool(pooled, argmax, output_shape):
    """Put every pooled value back at its switch; every other pixel is zero.

    ``output_shape`` is the shape of the array before pooling, ``(batch, *spatial,
    channels)``. When windows overlap, two pooled values can share a switch; they are then
    the same value, and it is written once.
    """
    pooled = np.asarray(pooled)
    argmax = np.asarray(argmax)
    batch = pooled.shape[0]
    out = np.zeros((batch, int(np.prod(output_shape[1:]))), dtype=pooled.dtype)
    for sample in range(batch):
        out[sample, argmax[sample].ravel()] = pooled[sample].ravel()
    return out.reshape(output_shape)
