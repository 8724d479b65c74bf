"""From-scratch NumPy references of the layers the book teaches (no TensorFlow here).

The chapters show these functions and the tests hold Keras to them on random inputs.
"""
from .pooling import max_pool_with_argmax, max_unpool
from .resampling import (
    resampling_kernel,
    resampling_matrix,
    upsample_bilinear,
    upsample_filtered,
    upsample_nearest,
)
from .transposed_convolution import (
    conv2d_valid,
    conv_transpose,
    conv_transpose_output_length,
    conv_transpose_via_matrix,
    convolution_matrix,
)

__all__ = [
    "conv2d_valid",
    "conv_transpose",
    "conv_transpose_output_length",
    "conv_transpose_via_matrix",
    "convolution_matrix",
    "max_pool_with_argmax",
    "max_unpool",
    "resampling_kernel",
    "resampling_matrix",
    "upsample_bilinear",
    "upsample_filtered",
    "upsample_nearest",
]
