"""The comparison of upsampling methods in the chapter "Choosing an upsampling method".

One small convolutional autoencoder is trained on scikit-learn's 8x8 digits (the data
ships with scikit-learn: nothing is downloaded) once per upsampling method.  The
encoder is the same for all of them; only the two upsampling steps of the decoder
(2x2 -> 4x4 -> 8x8) change.  Everything is seeded, so a run gives the same numbers
every time on the same machine; only the measured seconds vary.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .artifacts import checkerboard_energy

__all__ = [
    "METHODS",
    "MethodResult",
    "load_digit_images",
    "build_autoencoder",
    "train_autoencoder",
    "compare_methods",
]

#: The upsampling methods compared, in the order of the chapter's table.
METHODS = (
    "nearest + conv",
    "bilinear + conv",
    "transposed conv",
    "pixel shuffle",
    "max unpooling + conv",
)

# Feature channels after the first and the second encoder convolution.
_CHANNELS = (16, 8)


def load_digit_images(test_size: int = 297, seed: int = 0):
    """The 1,797 digits of ``sklearn.datasets.load_digits`` as ``(N, 8, 8, 1)`` float32 in [0, 1].

    Returns ``(train, test)``; the split is a seeded shuffle, ``test_size`` images held out.
    """
    from sklearn.datasets import load_digits

    images = load_digits().images.astype("float32") / 16.0
    order = np.random.default_rng(seed).permutation(len(images))
    images = images[order][..., None]
    return images[test_size:], images[:test_size]


def _upsample(keras, method: str, x, channels: int, switches=None):
    """One 2x upsampling step of the decoder, ending with ``channels`` feature maps."""
    layers = keras.layers
    if method == "nearest + conv":
        x = layers.UpSampling2D(interpolation="nearest")(x)
        return layers.Conv2D(channels, 3, padding="same", activation="relu")(x)
    if method == "bilinear + conv":
        x = layers.UpSampling2D(interpolation="bilinear")(x)
        return layers.Conv2D(channels, 3, padding="same", activation="relu")(x)
    if method == "transposed conv":
        return layers.Conv2DTranspose(channels, 3, strides=2, padding="same", activation="relu")(x)
    if method == "pixel shuffle":
        # A convolution computes the 2x2 = 4 sub-pixels of every output pixel as channels.
        x = layers.Conv2D(4 * channels, 3, padding="same", activation="relu")(x)
        return layers.Lambda(lambda t: keras.ops.depth_to_space(t, 2))(x)
    if method == "max unpooling + conv":
        from .layers import MaxUnpooling2D

        x = MaxUnpooling2D()([x, switches])
        return layers.Conv2D(channels, 3, padding="same", activation="relu")(x)
    raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")


def build_autoencoder(method: str, seed: int = 0):
    """The autoencoder 8x8x1 -> 2x2x8 -> 8x8x1 with ``method`` in both upsampling steps.

    Encoder: Conv2D(16) -> 2x2 max pooling -> Conv2D(8) -> 2x2 max pooling, leaving 32
    numbers per image.  Decoder: upsample to 4x4, then to 8x8, each step ending with
    16 channels, then a 3x3 Conv2D with a sigmoid gives the image.  With
    ``"max unpooling + conv"`` the encoder's pooling layers also hand their switches
    (where each maximum was) to the decoder.
    """
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    inputs = keras.Input(shape=(8, 8, 1))
    first, second = _CHANNELS
    x = layers.Conv2D(first, 3, padding="same", activation="relu")(inputs)
    if method == "max unpooling + conv":
        from .layers import MaxPoolingWithArgmax2D

        x, switches_8 = MaxPoolingWithArgmax2D()(x)
        x = layers.Conv2D(second, 3, padding="same", activation="relu")(x)
        x, switches_4 = MaxPoolingWithArgmax2D()(x)
    else:
        switches_8 = switches_4 = None
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(second, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    # Both steps end with 16 channels: the second unpooling needs as many channels as the
    # feature maps whose switches it uses.
    x = _upsample(keras, method, x, first, switches_4)
    x = _upsample(keras, method, x, first, switches_8)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name=method.replace(" + ", "_").replace(" ", "_"))


@dataclass
class MethodResult:
    """What one training run measured."""

    method: str
    parameters: int
    test_mse: float
    initial_checkerboard_energy: float
    checkerboard_energy: float
    seconds: float
    reconstructions: np.ndarray


def train_autoencoder(method: str, train, test, *, epochs: int = 15, batch_size: int = 64,
                      learning_rate: float = 5e-3, seed: int = 0) -> MethodResult:
    """Build and train one autoencoder; measure its test error and artifacts."""
    import keras

    start = time.perf_counter()
    model = build_autoencoder(method, seed)
    # What the untrained decoder draws: the pattern training starts from.
    initial_energy = checkerboard_energy(np.asarray(model(test)))
    # Eight steps per call into TensorFlow: same numbers, much less Python overhead.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", steps_per_execution=8)
    model.fit(train, train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    reconstructions = np.asarray(model(test))
    seconds = time.perf_counter() - start
    return MethodResult(
        method=method,
        parameters=model.count_params(),
        test_mse=float(np.mean((reconstructions - test) ** 2)),
        initial_checkerboard_energy=initial_energy,
        checkerboard_energy=checkerboard_energy(reconstructions),
        seconds=seconds,
        reconstructions=reconstructions,
    )


def compare_methods(methods=METHODS, *, epochs: int = 15, seed: int = 0) -> list[MethodResult]:
    """Train one autoencoder per method on the same data with the same seed."""
    train, test = load_digit_images(seed=seed)
    return [train_autoencoder(m, train, test, epochs=epochs, seed=seed) for m in methods]
