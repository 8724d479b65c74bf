"""Checkerboard artifacts and their fixes, in NumPy.

Used by the chapters on checkerboard artifacts and on choosing an upsampling method:

- :func:`polyphase_sums` sums each polyphase sub-kernel of a transposed-convolution
  kernel (the taps that land on one output phase).  On a constant input every interior
  output pixel of a phase equals the input value times its sub-kernel's sum, so the
  output is flat exactly when all the sums are equal.  :func:`interior_values` lists the
  distinct values inside an output, away from its border.
- :func:`overlap_counts` counts how many kernel footprints of a transposed convolution
  land on each output pixel: the polyphase sums of an all-ones kernel.
  :func:`overlap_count_mosaic` tiles the maps of several kernel sizes and strides into
  one array, to draw them as one grid.
- :func:`checkerboard_energy` measures how much of an image's variation sits at the
  highest spatial frequency (a pattern that flips sign from one pixel to the next).
- :func:`depth_to_space` is the pixel shuffle of sub-pixel convolution, and
  :func:`subpixel_kernel` rewrites a transposed-convolution kernel whose size equals
  its stride as the 1x1 convolution that, followed by a pixel shuffle, computes the
  same thing.  :func:`icnr` makes a sub-pixel convolution's kernel start as nearest
  upsampling (Aitken et al., 2017); ``upsampling_course.initializers.ICNR`` is the same
  as a Keras initializer.
- :func:`bilinear_kernel` is the transposed-convolution kernel that performs
  bilinear upsampling, and :func:`resize_conv_kernel` the one that performs nearest
  upsampling followed by a given convolution.

Everything follows Keras' channels-last layout: images ``(batch, H, W, C)``, Conv2D
kernels ``(kh, kw, in_channels, out_channels)`` and Conv2DTranspose kernels
``(kh, kw, out_channels, in_channels)``.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "bilinear_kernel",
    "bilinear_kernel_1d",
    "checkerboard_energy",
    "depth_to_space",
    "icnr",
    "interior_values",
    "overlap_count_mosaic",
    "overlap_counts",
    "overlap_counts_1d",
    "polyphase_sums",
    "power_spectrum",
    "resize_conv_kernel",
    "smooth_blobs",
    "subpixel_kernel",
]


def polyphase_sums(kernel: ArrayLike, stride: int) -> np.ndarray:
    """The sum of each polyphase sub-kernel of a transposed-convolution kernel.

    ``kernel`` holds spatial axes only: ``(k,)``, ``(kh, kw)`` or ``(kd, kh, kw)``.  In a
    transposed convolution with stride ``s``, input pixel ``i`` writes kernel tap ``t`` to
    output ``o = s*i + t``, so output phase ``o mod s`` only ever receives the taps
    ``t = p, p + s, p + 2s, ...``: the sub-kernel ``kernel[p::s]``.  The result has one
    entry per phase, ``s`` along every axis; entry ``(p, q)`` of a 2-D kernel is
    ``kernel[p::s, q::s].sum()``.

    On a constant input ``c`` every interior output pixel of phase ``(p, q)`` equals
    ``c * sums[p, q]`` (plus the bias), so the output is flat exactly when all the sums
    are equal; equal tap counts (``s`` divides ``k``) do not make equal sums.
    """
    if stride < 1:
        raise ValueError(f"stride must be positive, got {stride}")
    weights = np.asarray(kernel, dtype=float)
    if weights.ndim == 0:
        raise ValueError("expected a kernel with at least one spatial axis")
    sums = np.zeros((stride,) * weights.ndim)
    for phase in np.ndindex(*sums.shape):
        sums[phase] = weights[tuple(slice(p, None, stride) for p in phase)].sum()
    return sums


def interior_values(image: ArrayLike, border: int, decimals: int = 5) -> np.ndarray:
    """The distinct values of ``image`` at least ``border`` pixels from every edge, sorted.

    ``image`` is ``(H, W)`` or ``(D, H, W)``, or a Keras batch of one single-channel image
    ``(1, H, W, 1)`` / ``(1, D, H, W, 1)``.  Values are rounded to ``decimals`` first, so
    float32 rounding does not split one value into several.  A constant input's
    transposed convolution has one interior value per distinct polyphase sum.
    """
    values = np.asarray(image, dtype=float)
    if values.ndim in (4, 5) and values.shape[0] == 1 and values.shape[-1] == 1:
        values = values[0, ..., 0]
    if values.ndim not in (2, 3):
        raise ValueError(f"expected a 2-D or 3-D image, got shape {np.shape(image)}")
    if border < 0 or any(2 * border >= n for n in values.shape):
        raise ValueError(f"border {border} leaves nothing of an image of shape {values.shape}")
    inside = values[tuple(slice(border, n - border) for n in values.shape)]
    return np.unique(np.round(inside, decimals))


def overlap_counts_1d(kernel_size: int, stride: int, input_size: int) -> np.ndarray:
    """How many kernel footprints cover each output position, along one axis.

    Input position ``i`` of a transposed convolution (padding ``'valid'``) writes its
    scaled kernel to outputs ``i*stride .. i*stride + kernel_size - 1``; this returns,
    for every output position, the number of inputs that write to it.  The interior
    counts are the tap counts of the polyphase sub-kernels, or their sums for a kernel
    of ones (:func:`polyphase_sums`).
    """
    if kernel_size < 1 or stride < 1 or input_size < 1:
        raise ValueError("kernel_size, stride and input_size must be positive")
    length = (input_size - 1) * stride + max(kernel_size, stride)
    counts = np.zeros(length, dtype=int)
    for i in range(input_size):
        counts[i * stride : i * stride + kernel_size] += 1
    return counts


def overlap_counts(kernel_size: int, stride: int, input_size: int) -> np.ndarray:
    """Overlap-count map of a square transposed convolution on a square input.

    A footprint covers a 2-D pixel exactly when it covers its row and its column, so
    the map is the outer product of the 1-D counts.  It equals the output of a
    Conv2DTranspose with an all-ones kernel (padding ``'valid'``) applied to an
    all-ones ``input_size x input_size`` image.
    """
    counts = overlap_counts_1d(kernel_size, stride, input_size)
    return np.outer(counts, counts)


def overlap_count_mosaic(
    kernel_sizes: Iterable[int], strides: Iterable[int], input_size: int, gap: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The overlap-count maps of every (stride, kernel size) pair, tiled into one array.

    Row block ``i`` holds the maps of ``strides[i]``, column block ``j`` those of
    ``kernel_sizes[j]``.  Each block is as tall as the tallest map of its row and as wide
    as the widest of its column, each map sits in the middle of its block, blocks are
    ``gap`` cells apart, and every cell outside a map is NaN (drawn blank).  One grid
    plot of the mosaic draws much faster than a panel per map.

    Returns ``(mosaic, row_centres, column_centres)``: the centres, in cells, of the
    row blocks and of the column blocks, where tick labels naming them belong.
    """
    kernels, steps = list(kernel_sizes), list(strides)
    maps = {(s, k): overlap_counts(k, s, input_size) for s in steps for k in kernels}
    heights = [max(maps[s, k].shape[0] for k in kernels) for s in steps]
    widths = [max(maps[s, k].shape[1] for s in steps) for k in kernels]
    tops = np.cumsum([0] + [h + gap for h in heights])
    lefts = np.cumsum([0] + [w + gap for w in widths])
    mosaic = np.full((tops[-1] - gap, lefts[-1] - gap), np.nan)
    for row, s in enumerate(steps):
        for column, k in enumerate(kernels):
            counts = maps[s, k]
            top = tops[row] + (heights[row] - counts.shape[0]) // 2
            left = lefts[column] + (widths[column] - counts.shape[1]) // 2
            mosaic[top : top + counts.shape[0], left : left + counts.shape[1]] = counts
    row_centres = tops[:-1] + (np.array(heights) - 1) / 2
    column_centres = lefts[:-1] + (np.array(widths) - 1) / 2
    return mosaic, row_centres, column_centres


def _as_image_batch(images: ArrayLike) -> np.ndarray:
    """``(H, W)``, ``(N, H, W)`` or ``(N, H, W, C)`` -> float ``(N, C, H, W)``."""
    array = np.asarray(images, dtype=float)
    if array.ndim == 2:
        array = array[None, :, :, None]
    elif array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise ValueError(f"expected (H, W), (N, H, W) or (N, H, W, C) images, got {array.shape}")
    return np.moveaxis(array, -1, 1)


def power_spectrum(image: ArrayLike) -> np.ndarray:
    """Power of each spatial frequency of a 2-D image, zero frequency in the middle.

    The mean is removed first, so the spectrum shows variation only.  With an even
    side the highest frequency (period two pixels) is the first row and column.
    """
    values = np.asarray(image, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {values.shape}")
    spectrum = np.abs(np.fft.fft2(values - values.mean())) ** 2
    return np.fft.fftshift(spectrum)


def checkerboard_energy(images: ArrayLike) -> float:
    """Share of the images' variation that sits at the highest spatial frequency.

    For each image (and channel) the mean is removed and the 2-D power spectrum
    taken; the result is the power in the Nyquist row and column (patterns that
    alternate every pixel along the height or the width, such as a stride-2
    checkerboard) divided by the total power, pooled over all images.  It is 1 for a
    pure checkerboard, 0 for a constant or very smooth image, and about
    ``(H + W - 1) / (H * W - 1)`` for white noise.  Height and width must be even.
    """
    batch = _as_image_batch(images)
    height, width = batch.shape[-2:]
    if height % 2 or width % 2:
        raise ValueError(f"height and width must be even, got {height}x{width}")
    centred = batch - batch.mean(axis=(-2, -1), keepdims=True)
    power = np.abs(np.fft.fft2(centred)) ** 2
    total = power.sum()
    if total == 0:
        return 0.0
    nyquist = np.zeros((height, width), dtype=bool)
    nyquist[height // 2, :] = True
    nyquist[:, width // 2] = True
    return float(power[..., nyquist].sum() / total)


def depth_to_space(x: ArrayLike, block_size: int) -> np.ndarray:
    """Pixel shuffle: move channel blocks into ``block_size x block_size`` pixel blocks.

    ``x`` has shape ``(N, H, W, r*r*C)``; the result ``(N, H*r, W*r, C)``.  Output
    pixel ``(h*r + dy, w*r + dx)``, channel ``c`` takes input channel
    ``(dy*r + dx)*C + c`` at ``(h, w)``: the order of ``tf.nn.depth_to_space`` and
    ``keras.ops.depth_to_space``.
    """
    array = np.asarray(x)
    r = block_size
    n, h, w, depth = array.shape
    if depth % (r * r):
        raise ValueError(f"channels ({depth}) must be a multiple of block_size**2 ({r * r})")
    c = depth // (r * r)
    blocks = array.reshape(n, h, w, r, r, c)
    return blocks.transpose(0, 1, 3, 2, 4, 5).reshape(n, h * r, w * r, c)


def subpixel_kernel(transposed_kernel: ArrayLike) -> np.ndarray:
    """The 1x1 Conv2D kernel that, followed by :func:`depth_to_space`, equals a
    Conv2DTranspose whose kernel size equals its stride.

    With kernel size == stride == ``r`` the footprints do not overlap: input pixel
    ``(h, w)`` alone fills output block ``(h*r .. h*r+r-1, w*r .. w*r+r-1)``, with
    the kernel entry ``[dy, dx]`` at offset ``(dy, dx)``.  A 1x1 convolution can
    compute all ``r*r`` entries of a block as channels, and the pixel shuffle puts
    them in place.  ``transposed_kernel`` has shape ``(r, r, out, in)``; the result
    ``(1, 1, in, r*r*out)``.
    """
    kernel = np.asarray(transposed_kernel)
    r, r2, out_channels, in_channels = kernel.shape
    if r != r2:
        raise ValueError(f"expected a square kernel, got {kernel.shape[:2]}")
    # (dy, dx, out, in) -> (in, dy, dx, out): channel (dy*r + dx)*out + o, as depth_to_space reads it.
    return kernel.transpose(3, 0, 1, 2).reshape(1, 1, in_channels, r * r * out_channels)


def icnr(base_kernel: ArrayLike, factor: int) -> np.ndarray:
    """ICNR: a sub-pixel convolution kernel whose ``factor**2`` sub-pixel channels start equal.

    ``base_kernel`` is a Conv2D kernel ``(kh, kw, in, C)``; the result
    ``(kh, kw, in, factor**2 * C)`` holds a copy of it for every position of a
    ``factor x factor`` block, in :func:`depth_to_space`'s channel order
    (``(dy*factor + dx)*C + c``).  A Conv2D with this kernel followed by the pixel shuffle
    then computes the base convolution at low resolution and repeats each value over its
    block: it starts as a convolution followed by nearest upsampling, so it cannot start
    with a checkerboard (Aitken et al., 2017, "initialisation to convolution NN resize").
    """
    if factor < 1:
        raise ValueError(f"factor must be positive, got {factor}")
    base = np.asarray(base_kernel)
    if base.ndim != 4:
        raise ValueError(f"expected a Conv2D kernel (kh, kw, in, out), got shape {base.shape}")
    return np.tile(base, (1, 1, 1, factor * factor))


def bilinear_kernel_1d(factor: int) -> np.ndarray:
    """Weights of 1-D linear interpolation by ``factor`` as a transposed-convolution kernel.

    Length ``2*factor - factor % 2``, a tent centred on the kernel: ``1 - |t - c| / factor``
    with ``c = (length - 1) / 2``.  Used with ``strides=factor`` and ``padding='same'``
    it reproduces Keras' half-pixel bilinear upsampling away from the borders.
    """
    if factor < 1:
        raise ValueError("factor must be positive")
    length = 2 * factor - factor % 2
    centre = (length - 1) / 2
    return 1.0 - np.abs(np.arange(length) - centre) / factor


def bilinear_kernel(factor: int, channels: int = 1) -> np.ndarray:
    """Conv2DTranspose kernel ``(k, k, channels, channels)`` for bilinear upsampling.

    Each channel is upsampled on its own (the kernel is zero between different
    channels), so the layer needs ``filters=channels``, ``strides=factor`` and
    ``padding='same'``.
    """
    weights = bilinear_kernel_1d(factor)
    tent = np.outer(weights, weights)
    kernel = np.zeros(tent.shape + (channels, channels))
    for c in range(channels):
        kernel[:, :, c, c] = tent
    return kernel


def resize_conv_kernel(conv_kernel: ArrayLike, factor: int) -> np.ndarray:
    """The transposed-convolution kernel of nearest upsampling followed by a convolution.

    ``conv_kernel`` is a Conv2D kernel ``(k, k, in, out)`` (any ``kh x kw``).  Upsampling by
    ``factor`` (nearest) and then convolving with it (stride 1, ``'valid'``) equals a
    transposed convolution with stride ``factor`` and the returned kernel,
    ``(kh + factor - 1, kw + factor - 1, out, in)``: the kernel turned by 180 degrees and
    summed over every shift of a ``factor x factor`` box.  Output pixel ``(y, x)`` of the
    pair is pixel ``(y + kh - 1, x + kw - 1)`` of the full (``'valid'``) transposed
    convolution.  Every tap of the turned kernel lands once in every polyphase sub-kernel,
    so all of them sum to the convolution kernel's sum (:func:`polyphase_sums`).
    """
    if factor < 1:
        raise ValueError(f"factor must be positive, got {factor}")
    weights = np.asarray(conv_kernel, dtype=float)
    if weights.ndim != 4:
        raise ValueError(f"expected a Conv2D kernel (kh, kw, in, out), got shape {weights.shape}")
    kh, kw, in_channels, out_channels = weights.shape
    # Turned by 180 degrees, in Conv2DTranspose's (kh, kw, out, in) layout.
    turned = weights[::-1, ::-1].transpose(0, 1, 3, 2)
    kernel = np.zeros((kh + factor - 1, kw + factor - 1, out_channels, in_channels))
    for dy in range(factor):
        for dx in range(factor):
            kernel[dy : dy + kh, dx : dx + kw] += turned
    return kernel


def smooth_blobs(count: int, size: int = 8, seed: int = 0) -> np.ndarray:
    """``count`` smooth test images ``(count, size, size, 1)`` (float32), each the sum of
    two round Gaussian bumps of random position and width.

    Smooth on purpose: they have almost no energy at the highest spatial frequency,
    so any checkerboard an upsampling layer adds to them stands out.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]
    images = np.zeros((count, size, size))
    for _ in range(2):
        centre_row, centre_col = rng.uniform(1, size - 2, (2, count))[..., None, None]
        width = rng.uniform(1.0, 2.0, count)[:, None, None]
        images += np.exp(-((rows - centre_row) ** 2 + (cols - centre_col) ** 2) / (2 * width**2))
    return images[..., None].astype("float32")
