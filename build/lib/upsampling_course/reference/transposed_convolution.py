"""Transposed convolution written from the definitions, with Keras' shapes and layout.

Arrays are channels-last, ``(batch, *spatial, channels)``. Kernels use the layout of
``keras.layers.Conv2DTranspose`` / ``Conv3DTranspose``: ``(*kernel_size, out_channels,
in_channels)``, the reverse of ``Conv2D``'s ``(*kernel_size, in_channels, out_channels)``.
"""
import numpy as np


def conv_transpose_output_length(n, kernel_size, stride, padding="valid", output_padding=None):
    """Length of one spatial axis after a Keras transposed convolution.

    ``valid``: ``(n - 1) * stride + max(kernel_size, stride)``, or
    ``(n - 1) * stride + kernel_size + output_padding`` when ``output_padding`` is given.
    ``same``: ``n * stride``, or ``(n - 1) * stride + kernel_size % 2 + output_padding``.
    """
    if output_padding is not None and not 0 <= output_padding < stride:
        raise ValueError(f"output_padding must be in [0, stride), got {output_padding} with stride {stride}")
    if padding == "valid":
        if output_padding is None:
            return (n - 1) * stride + max(kernel_size, stride)
        return (n - 1) * stride + kernel_size + output_padding
    if padding == "same":
        if output_padding is None:
            return n * stride
        return (n - 1) * stride + kernel_size % 2 + output_padding
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")


def conv_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None):
    """Transposed convolution as a scatter-add of the (unflipped) kernel.

    Every input pixel pastes a copy of the kernel, scaled by its value, into the output,
    its corner moved ``strides`` pixels per input pixel; overlapping copies add up. The
    full result, ``(n - 1) * stride + kernel_size`` long per axis, is then cut to Keras'
    length (:func:`conv_transpose_output_length`). ``valid`` keeps it from the first pixel
    (padding with zeros at the end if Keras asks for more); ``same`` drops
    ``(full - length) // 2`` pixels at the start, as TensorFlow does.
    """
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    rank = x.ndim - 2  # number of spatial axes
    kernel_size = kernel.shape[:rank]
    out_channels, in_channels = kernel.shape[rank:]
    if x.shape[-1] != in_channels:
        raise ValueError(f"input has {x.shape[-1]} channels, kernel expects {in_channels}")
    strides = (strides,) * rank if np.isscalar(strides) else tuple(strides)
    if output_padding is None or np.isscalar(output_padding):
        output_padding = (output_padding,) * rank
    batch, in_sizes = x.shape[0], x.shape[1:-1]

    full_sizes = [(n - 1) * s + k for n, s, k in zip(in_sizes, strides, kernel_size)]
    full = np.zeros((batch, *full_sizes, out_channels))
    for position in np.ndindex(*in_sizes):
        footprint = tuple(slice(p * s, p * s + k) for p, s, k in zip(position, strides, kernel_size))
        pixel = x[(slice(None), *position)]  # (batch, in_channels)
        # (batch, in) x (*kernel_size, out, in) -> (batch, *kernel_size, out)
        full[(slice(None), *footprint)] += np.tensordot(pixel, kernel, axes=([1], [rank + 1]))

    out_sizes = [
        conv_transpose_output_length(n, k, s, padding, op)
        for n, k, s, op in zip(in_sizes, kernel_size, strides, output_padding)
    ]
    out = np.zeros((batch, *out_sizes, out_channels))
    source, target = [slice(None)], [slice(None)]
    for f, o in zip(full_sizes, out_sizes):
        start = max(f - o, 0) // 2 if padding == "same" else 0
        stop = min(start + o, f)
        source.append(slice(start, stop))
        target.append(slice(0, stop - start))
    out[tuple(target)] = full[tuple(source)]
    if bias is not None:
        out += np.asarray(bias, dtype=float)
    return out


def conv2d_valid(image, kernel, strides=(1, 1)):
    """Single-channel 2D 'valid' convolution, computed like Keras' ``Conv2D`` (no kernel flip)."""
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    (kh, kw), (sh, sw) = kernel.shape, strides
    out_h = (image.shape[0] - kh) // sh + 1
    out_w = (image.shape[1] - kw) // sw + 1
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = np.sum(image[i * sh:i * sh + kh, j * sw:j * sw + kw] * kernel)
    return out


def convolution_matrix(input_shape, kernel, strides=(1, 1)):
    """The matrix ``C`` of a single-channel 2D 'valid' convolution.

    ``conv2d_valid(x, kernel, strides).ravel() == C @ x.ravel()``: row ``r`` of ``C`` holds
    the kernel at the place where output pixel ``r`` reads the input, zeros elsewhere.
    """
    kernel = np.asarray(kernel, dtype=float)
    (h, w), (kh, kw), (sh, sw) = input_shape, kernel.shape, strides
    out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    matrix = np.zeros((out_h * out_w, h * w))
    for i in range(out_h):
        for j in range(out_w):
            footprint = np.zeros((h, w))
            footprint[i * sh:i * sh + kh, j * sw:j * sw + kw] = kernel
            matrix[i * out_w + j] = footprint.ravel()
    return matrix


def conv_transpose_via_matrix(y, kernel, input_shape, strides=(1, 1)):
    """Transposed convolution as ``C.T @ y``: maps a convolution's output shape back to its input shape."""
    matrix = convolution_matrix(input_shape, kernel, strides)
    return (matrix.T @ np.asarray(y, dtype=float).ravel()).reshape(input_shape)
