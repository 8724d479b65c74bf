"""Keras initialisers of the course (this module imports Keras).

:class:`ICNR` starts a sub-pixel convolution (a Conv2D followed by a pixel shuffle) as a
convolution followed by nearest upsampling, so that it starts without a checkerboard
(Aitken et al., 2017). The kernel layout is :func:`upsampling_course.artifacts.icnr`'s::

    conv = keras.layers.Conv2D(4 * channels, 3, padding="same", kernel_initializer=ICNR(2))
    upsampled = keras.ops.depth_to_space(conv(x), 2)
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .artifacts import icnr

__all__ = ["ICNR"]


@keras.saving.register_keras_serializable(package="upsampling_course")
class ICNR(keras.initializers.Initializer):
    """Draw one sub-kernel with ``initializer`` and copy it to all ``factor**2`` sub-pixels.

    For a Conv2D kernel of shape ``(kh, kw, in, factor**2 * C)``: the sub-kernel
    ``(kh, kw, in, C)`` comes from ``initializer`` (any Keras initialiser or its name),
    and every block position gets a copy (:func:`upsampling_course.artifacts.icnr`).
    """

    def __init__(self, factor: int = 2, initializer: Any = "glorot_uniform") -> None:
        if factor < 1:
            raise ValueError(f"factor must be positive, got {factor}")
        self.factor = factor
        self.initializer = keras.initializers.get(initializer)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        if len(shape) != 4:
            raise ValueError(f"ICNR initialises Conv2D kernels (kh, kw, in, out), got shape {shape}")
        *spatial, in_channels, out_channels = shape
        blocks = self.factor**2
        if out_channels % blocks:
            raise ValueError(
                f"the kernel's {out_channels} output channels are not a multiple of "
                f"factor**2 = {blocks}"
            )
        dtype = dtype or keras.config.floatx()
        base = self.initializer((*spatial, in_channels, out_channels // blocks), dtype=dtype)
        tiled = icnr(np.asarray(keras.ops.convert_to_numpy(base)), self.factor)
        return keras.ops.convert_to_tensor(tiled, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "initializer": keras.initializers.serialize(self.initializer),
        }
