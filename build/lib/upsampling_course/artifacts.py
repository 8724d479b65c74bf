"""Checkerboard artifacts and their fixes, in NumPy.

Used by the chapters on checkerboard artifacts and on choosing an upsampling method:

- :func:`overlap_counts` counts how many kernel footprints of a transposed
  convolution land on each output pixel; uneven counts are what draws a
  checkerboard into the output.  :func:`overlap_count_mosaic` tiles the maps of
  several kernel sizes and strides into one array, to draw them as one grid.
- :func:`checkerboard_energy` measures how much of an image's variation sits at the
  highest spatial frequency (a pattern that flips sign from one pixel to the next).
- :func:`depth_to_space` is the pixel shuffle of sub-pixel convolution, and
  :func:`subpixel_kernel` rewrites a transposed-convolution kernel whose size equals
  its stride as the 1x1 convolution that, followed by a pixel shuffle, computes the
  same thing.
- :func:`bilinear_kernel` is the transposed-convolution kernel that performs
  bilinear upsampling.

Everything follows Keras' channels-last layout: images ``(batch, H, W, C)`` and
Conv2DTranspose kernels ``(kh, kw, out_channels, in_channels)``.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "overlap_counts_1d",
    "overlap_counts",
    "overlap_count_mosaic",
    "checkerboard_energy",
    "power_spectrum",
    "depth_to_space",
    "subpixel_kernel",
    "bilinear_kernel_1d",
    "bilinear_kernel",
    "smooth_blobs",
]


def overlap_counts_1d(kernel_size: int, stride: int, input_size: int) -> np.ndarray:
    """How many kernel footprints cover each output position, along one axis.

    Input position ``i`` of a transposed convolution (padding ``'valid'``) writes its
    scaled kernel to outputs ``i*stride .. i*stride + kernel_size - 1``; this returns,
    for every output position, the number of inputs that write to it.
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


def overlap_count_mosaic(kernel_sizes, strides, input_size: int, gap: int = 1):
    """The overlap-count maps of every (stride, kernel size) pair, tiled into one array.

    Row block ``i`` holds the maps of ``strides[i]``, column block ``j`` those of
    ``kernel_sizes[j]``.  Each block is as tall as the tallest map of its row and as wide
    as the widest of its column, each map sits in the middle of its block, blocks are
    ``gap`` cells apart, and every cell outside a map is NaN (drawn blank).  One grid
    plot of the mosaic draws much faster than a panel per map.

    Returns ``(mosaic, row_centres, column_centres)``: the centres, in cells, of the
    row blocks and of the column blocks, where tick labels naming them belong.
    """
    kernel_sizes, strides = list(kernel_sizes), list(strides)
    maps = {(s, k): overlap_counts(k, s, input_size) for s in strides for k in kernel_sizes}
    heights = [max(maps[s, k].shape[0] for k in kernel_sizes) for s in strides]
    widths = [max(maps[s, k].shape[1] for s in strides) for k in kernel_sizes]
    tops = np.cumsum([0] + [h + gap for h in heights])
    lefts = np.cumsum([0] + [w + gap for w in widths])
    mosaic = np.full((tops[-1] - gap, lefts[-1] - gap), np.nan)
    for row, s in enumerate(strides):
        for column, k in enumerate(kernel_sizes):
            counts = maps[s, k]
            top = tops[row] + (heights[row] - counts.shape[0]) // 2
            left = lefts[column] + (widths[column] - counts.shape[1]) // 2
            mosaic[top : top + counts.shape[0], left : left + counts.shape[1]] = counts
    row_centres = tops[:-1] + (np.array(heights) - 1) / 2
    column_centres = lefts[:-1] + (np.array(widths) - 1) / 2
    return mosaic, row_centres, column_centres


def _as_image_batch(images) -> np.ndarray:
    """``(H, W)``, ``(N, H, W)`` or ``(N, H, W, C)`` -> float ``(N, C, H, W)``."""
    array = np.asarray(images, dtype=float)
    if array.ndim == 2:
        array = array[None, :, :, None]
    elif array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise ValueError(f"expected (H, W), (N, H, W) or (N, H, W, C) images, got {array.shape}")
    return np.moveaxis(array, -1, 1)


def power_spectrum(image) -> np.ndarray:
    """Power of each spatial frequency of a 2-D image, zero frequency in the middle.

    The mean is removed first, so the spectrum shows variation only.  With an even
    side the highest frequency (period two pixels) is the first row and column.
    """
    values = np.asarray(image, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {values.shape}")
    spectrum = np.abs(np.fft.fft2(values - values.mean())) ** 2
    return np.fft.fftshift(spectrum)


def checkerboard_energy(images) -> float:
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


def depth_to_space(x, block_size: int) -> np.ndarray:
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


def subpixel_kernel(transposed_kernel) -> np.ndarray:
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
