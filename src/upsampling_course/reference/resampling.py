"""Fixed upsampling written from the definitions: nearest neighbour, bilinear, and the
filters with negative lobes (bicubic, Lanczos) as TensorFlow computes them.

Arrays are channels-last, ``(batch, *spatial, channels)``; ``size`` holds one integer
factor per spatial axis, so ``len(size)`` says whether the input is 2D or 3D.
"""
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike


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


def _keys_cubic(distance: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, TensorFlow's bicubic weights."""
    d = np.abs(distance)
    a = -0.5
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _lanczos(radius: int) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(distance: np.ndarray) -> np.ndarray:
        d = np.abs(distance)
        return np.where(d < radius, np.sinc(d) * np.sinc(d / radius), 0.0)

    return kernel


# Method -> (kernel, radius in input pixels).
_FILTERS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {"bicubic": (_keys_cubic, 2), "lanczos3": (_lanczos(3), 3), "lanczos5": (_lanczos(5), 5)}


def resampling_kernel(method: str) -> Callable[[np.ndarray], np.ndarray]:
    """The 1-D weight function of ``'bicubic'``, ``'lanczos3'`` or ``'lanczos5'``.

    It maps the distance (in input pixels) between an output pixel's position and an input
    pixel's centre to that input pixel's weight. Bicubic is Keys' cubic with a = -0.5,
    Lanczos-a is ``sinc(d) * sinc(d / a)`` for ``|d| < a``; all have negative lobes.
    """
    if method not in _FILTERS:
        raise ValueError(f"method must be one of {sorted(_FILTERS)}, got {method!r}")
    return _FILTERS[method][0]


def resampling_matrix(n: int, factor: int, method: str) -> np.ndarray:
    """The ``(n * factor, n)`` weights that upsample one axis of length ``n``, as TensorFlow does.

    Output pixel ``i`` sits at input coordinate ``u = (i + 0.5) / factor - 0.5`` (half-pixel
    centres) and takes every input pixel ``j`` within the filter's radius with weight
    ``kernel(u - j)``. Taps that fall outside the image are dropped, not replaced by the edge
    pixel, and the remaining weights are divided by their sum, so every row sums to 1.
    """
    kernel, radius = resampling_kernel(method), _FILTERS[method][1]
    positions = (np.arange(n * factor) + 0.5) / factor - 0.5
    weights = kernel(positions[:, None] - np.arange(n)[None, :])
    # Only taps strictly inside the radius exist (TensorFlow's bicubic uses 4 of them).
    weights = np.where(np.abs(positions[:, None] - np.arange(n)[None, :]) < radius, weights, 0.0)
    return weights / weights.sum(axis=1, keepdims=True)


def upsample_filtered(
    x: ArrayLike, size: Sequence[int] = (2, 2), method: str = "bicubic"
) -> np.ndarray:
    """``UpSampling2D(interpolation=method)`` for ``'bicubic'``, ``'lanczos3'`` and ``'lanczos5'``.

    Each spatial axis is multiplied by :func:`resampling_matrix` in turn.
    """
    values = np.asarray(x, dtype=float)
    if values.ndim != len(size) + 2:
        raise ValueError(
            f"expected (batch, *{len(size)} spatial axes, channels), got shape {values.shape}"
        )
    for axis, factor in enumerate(size, start=1):
        matrix = resampling_matrix(values.shape[axis], factor, method)
        values = np.moveaxis(np.tensordot(matrix, values, axes=([1], [axis])), 0, axis)
    return values
