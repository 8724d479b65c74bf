"""The comparison of upsampling methods in the chapter "Choosing an upsampling method".

One small convolutional autoencoder is trained on scikit-learn's 8x8 digits (the data
ships with scikit-learn: nothing is downloaded) with each upsampling method.  The
encoder is the same for all of them; only the two upsampling steps of the decoder
(2x2 -> 4x4 -> 8x8) change.

The five autoencoders are trained side by side as the branches of one Keras model
(:func:`build_comparison`): one compiled training step updates all of them, which is
much faster than five separate trainings, yet each branch learns exactly as it would
alone, because the branches share no weights and each one's loss depends only on its
own weights.  Everything is seeded, so a run gives the same numbers every time on the
same machine; only the measured times vary.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np

from .artifacts import checkerboard_energy

__all__ = [
    "METHODS",
    "MethodResult",
    "load_digit_images",
    "build_autoencoder",
    "model_name",
    "build_comparison",
    "train_together",
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

# Training settings of the chapter's comparison, the same for every method.
#: One pass over the 1,500 training digits in batches of 15: 100 steps.
EPOCHS = 1
BATCH_SIZE = 15
#: Step size of the Lion optimizer (Lion wants a smaller one than Adam).
LEARNING_RATE = 3e-3


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
    return keras.Model(inputs, outputs, name=model_name(method))


def model_name(method: str) -> str:
    """The Keras name of ``method``'s autoencoder: ``"nearest + conv"`` -> ``"nearest_conv"``."""
    return method.replace(" + ", "_").replace(" ", "_")


def build_comparison(methods=METHODS, seed: int = 0):
    """One model whose branches are the autoencoders of ``methods``, all reading the same input.

    Each branch is ``build_autoencoder(method, seed)``, so it starts from the very weights
    it would have on its own; ``model.get_layer(model_name(method))`` returns it.  The
    model's output is a dict: method -> reconstructed images.
    """
    import keras

    inputs = keras.Input(shape=(8, 8, 1))
    branches = [build_autoencoder(method, seed) for method in methods]
    outputs = {method: branch(inputs) for method, branch in zip(methods, branches)}
    return keras.Model(inputs, outputs, name="comparison")


def train_together(model, train, *, epochs: int, batch_size: int, learning_rate: float,
                   seed: int = 0) -> None:
    """Train every branch of ``model`` to reproduce ``train`` (Lion, mean squared error).

    The loss is the sum of the branches' mean squared errors.  A branch's weights only
    affect its own term, so the gradient with respect to them is that branch's own
    gradient, and Lion updates every weight from its own gradient alone: each branch is
    updated exactly as if it were trained alone, on the same batches.  The batches are a
    seeded shuffle of ``train`` per epoch, all of ``batch_size`` images (the few left over
    in an epoch are skipped), so the compiled step is traced once.
    """
    import keras
    import tensorflow as tf

    # Lion (sign of a momentum) needs fewer operations per weight than Adam and, on this
    # model, reaches the same ordering of the methods in fewer steps.
    optimizer = keras.optimizers.Lion(learning_rate)
    weights = model.trainable_variables
    # Creating the optimizer's slots now, outside the compiled step, spares tf.function a
    # second trace.
    optimizer.build(weights)

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            outputs = model(images, training=True)
            errors = [keras.ops.mean(keras.ops.square(out - images)) for out in outputs.values()]
            loss = keras.ops.sum(keras.ops.stack(errors))
        optimizer.apply(tape.gradient(loss, weights), weights)

    rng = np.random.default_rng(seed)
    batches_per_epoch = len(train) // batch_size
    with _without_graph_rewrites():
        for _ in range(epochs):
            order = rng.permutation(len(train))
            for b in range(batches_per_epoch):
                step(tf.constant(train[order[b * batch_size:(b + 1) * batch_size]]))


@contextlib.contextmanager
def _without_graph_rewrites():
    """Switch off TensorFlow's graph optimizer (Grappler) inside the block, then restore it.

    Grappler rewrites a compiled function's graph before its first run.  That pays off for
    big graphs run many times; for a hundred steps of these tiny models the rewriting
    takes longer than it saves.  The numbers stay deterministic either way.
    """
    import tensorflow as tf

    options = tf.config.optimizer
    before = options.get_experimental_options().get("disable_meta_optimizer", False)
    options.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        options.set_experimental_options({"disable_meta_optimizer": before})


@dataclass
class MethodResult:
    """What the comparison measured for one method."""

    method: str
    parameters: int
    test_mse: float
    initial_checkerboard_energy: float
    checkerboard_energy: float
    #: Milliseconds of the faster of two eager calls of the trained autoencoder on the test images.
    inference_ms: float
    reconstructions: np.ndarray


def _inference_ms(autoencoder, images, repeats: int = 2) -> tuple[float, np.ndarray]:
    """The autoencoder's output on ``images`` and the fastest of ``repeats`` timed calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        output = np.asarray(autoencoder(images))
        times.append(time.perf_counter() - start)
    return 1000 * min(times), output


def compare_methods(train, test, methods=METHODS, *, epochs: int = EPOCHS,
                    batch_size: int = BATCH_SIZE, learning_rate: float = LEARNING_RATE,
                    seed: int = 0) -> list[MethodResult]:
    """Train one autoencoder per method, side by side, and measure each on ``test``."""
    model = build_comparison(methods, seed)
    # What the untrained decoders draw: the patterns training starts from.
    initial = {method: checkerboard_energy(np.asarray(out)) for method, out in model(test).items()}
    train_together(model, train, epochs=epochs, batch_size=batch_size,
                   learning_rate=learning_rate, seed=seed)
    results = []
    for method in methods:
        autoencoder = model.get_layer(model_name(method))
        milliseconds, reconstructions = _inference_ms(autoencoder, test)
        results.append(MethodResult(
            method=method,
            parameters=autoencoder.count_params(),
            test_mse=float(np.mean((reconstructions - test) ** 2)),
            initial_checkerboard_energy=initial[method],
            checkerboard_energy=checkerboard_energy(reconstructions),
            inference_ms=milliseconds,
            reconstructions=reconstructions,
        ))
    return results
