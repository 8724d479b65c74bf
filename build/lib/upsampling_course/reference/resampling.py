"""Fixed upsampling written from the definitions: nearest neighbour and bilinear.

Arrays are channels-last, ``(batch, *spatial, channels)``; ``size`` holds one integer
factor per spatial axis, so ``len(size)`` says whether the input is 2D or 3D.
"""
import numpy as np


def upsample_nearest(x, size=(2, 2)):
    """Repeat every row, column (and depth slice) ``size[axis]`` times.

    This is what ``keras.layers.UpSampling2D`` (and ``UpSampling3D``) computes with the
    default ``interpolation='nearest'``.
    """
    x = np.asarray(x)
    if x.ndim != len(size) + 2:
        raise ValueError(f"expected (batch, *{len(size)} spatial axes, channels), got shape {x.shape}")
    for axis, factor in enumerate(size, start=1):
        x = np.repeat(x, factor, axis=axis)
    return x


def upsample_bilinear(x, size=(2, 2)):
    """Linear interpolation along each spatial axis in turn, as ``UpSampling2D(interpolation='bilinear')``.

    Output pixel ``i`` of an axis upsampled by ``s`` sits at input coordinate
    ``(i + 0.5) / s - 0.5`` (pixel centres are aligned, not corners). Coordinates that
    fall outside the first or last input pixel are clamped to it, so the border repeats
    instead of fading towards zero.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != len(size) + 2:
        raise ValueError(f"expected (batch, *{len(size)} spatial axes, channels), got shape {x.shape}")
    for axis, factor in enumerate(size, start=1):
        n = x.shape[axis]
        source = (np.arange(n * factor) + 0.5) / factor - 0.5
        source = np.clip(source, 0, n - 1)
        lower = np.floor(source).astype(int)
        upper = np.minimum(lower + 1, n - 1)
        weight = source - lower  # how far we are from the lower neighbour, in [0, 1)
        shape = [1] * x.ndim
        shape[axis] = -1
        weight = weight.reshape(shape)
        x = (1 - weight) * np.take(x, lower, axis=axis) + weight * np.take(x, upper, axis=axis)
    return x
