"""The experiment of the chapter "Choosing an upsampling method".

One small convolutional autoencoder is trained on scikit-learn's 8x8 digits (the data ships with
scikit-learn: nothing is downloaded) with each upsampling method and with several seeds.  The
encoder is the same for all of them; only the two upsampling steps of the decoder
(2x2 -> 4x4 -> 8x8) change.  Training follows one plan (:data:`PLAN`): a fixed budget of
epochs with cosine decay, and a stopping rule (:func:`should_stop`) judged on a validation set
as a safeguard; the test set is only measured.

All models are trained side by side (:mod:`upsampling_course.side_by_side`), which changes
nothing they learn but makes the whole comparison cost a few minutes.  Everything is seeded: a
run gives the same numbers every time on the same machine; only the measured times vary.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .artifacts import checkerboard_energy
from .side_by_side import join, reconstruction_errors, train_side_by_side

if TYPE_CHECKING:
    import keras

__all__ = [
    "METHODS",
    "SEEDS",
    "DigitSplit",
    "load_digit_split",
    "upsampling_step",
    "build_autoencoder",
    "TrainingPlan",
    "PLAN",
    "last_quarter",
    "gain_over_last_quarter",
    "should_stop",
    "Comparison",
    "run_comparison",
    "one_per_class",
]

#: The upsampling methods compared, in the order of the chapter's tables.
METHODS: tuple[str, ...] = (
    "nearest + conv",
    "bilinear + conv",
    "transposed conv",
    "pixel shuffle",
    "max unpooling + conv",
)

#: Every method is trained once from each of these seeds (initial weights and batch order).
SEEDS: tuple[int, ...] = (0, 1, 2)


@dataclass(frozen=True)
class DigitSplit:
    """The digits as ``(N, 8, 8, 1)`` float32 images in [0, 1], split three ways."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    #: The digit (0-9) each test image shows.
    test_labels: np.ndarray


def load_digit_split(validation_size: int = 300, test_size: int = 300, seed: int = 0) -> DigitSplit:
    """The 1,797 digits of ``sklearn.datasets.load_digits``, shuffled (seeded) and split.

    The first ``test_size`` images of the shuffle are the test set, the next
    ``validation_size`` the validation set (used by the stopping rule), the rest are trained on.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype("float32")[..., None] / 16.0
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], digits.target[order]
    held_out = test_size + validation_size
    return DigitSplit(
        train=images[held_out:],
        validation=images[test_size:held_out],
        test=images[:test_size],
        test_labels=labels[:test_size],
    )


def upsampling_step(method: str, x: keras.KerasTensor, channels: int,
                    switches: keras.KerasTensor | None = None) -> keras.KerasTensor:
    """One 2x upsampling step of the decoder, ending with ``channels`` feature maps."""
    import keras

    from upsampling_course.layers import MaxUnpooling2D

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
        x = MaxUnpooling2D()([x, switches])
        return layers.Conv2D(channels, 3, padding="same", activation="relu")(x)
    raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")


def build_autoencoder(method: str, seed: int = 0) -> keras.Model:
    """The autoencoder 8x8x1 -> 2x2x8 -> 8x8x1 with ``method`` in both upsampling steps.

    Encoder: Conv2D(8) -> 2x2 max pooling -> Conv2D(8) -> 2x2 max pooling, leaving 32
    numbers per image.  Decoder: two upsampling steps of 8 channels each, then a 3x3 Conv2D
    with a sigmoid gives the image.  With "max unpooling + conv" the encoder's pooling layers
    also hand their switches (where each maximum was) to the decoder.
    """
    import keras

    from upsampling_course.layers import MaxPoolingWithArgmax2D

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    inputs = keras.Input(shape=(8, 8, 1))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    if method == "max unpooling + conv":
        x, switches_8x8 = MaxPoolingWithArgmax2D()(x)
        x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
        x, switches_4x4 = MaxPoolingWithArgmax2D()(x)
    else:
        switches_8x8 = switches_4x4 = None
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    # Both steps end with 8 channels: unpooling needs as many channels as the feature maps
    # whose switches it uses.
    x = upsampling_step(method, x, 8, switches_4x4)
    x = upsampling_step(method, x, 8, switches_8x8)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    name = method.replace(" + ", "_").replace(" ", "_") + f"_seed{seed}"
    return keras.Model(inputs, outputs, name=name)


@dataclass(frozen=True)
class TrainingPlan:
    """How every model is trained: Adam on the mean squared error, in batches, by epochs.

    The learning rate decays from ``learning_rate`` to zero along a cosine over ``max_epochs``.
    """

    batch_size: int = 64
    learning_rate: float = 3e-3
    #: Never stop before this many epochs, never train more than ``max_epochs``.
    min_epochs: int = 8
    max_epochs: int = 60
    #: Stop once no model's validation error fell by this fraction over the last quarter.
    min_gain: float = 0.01


PLAN = TrainingPlan()


def last_quarter(epochs: int) -> range:
    """The epochs (counted from 1) of the last quarter of ``epochs``: the last ``epochs // 4``,
    at least the last epoch.

    For 60 epochs, epochs 46 to 60.  The gain over the quarter is measured from the error after
    the epoch before it (45) to the error after the last (:func:`gain_over_last_quarter`).
    """
    return range(epochs - max(1, epochs // 4) + 1, epochs + 1)


def gain_over_last_quarter(validation_errors: np.ndarray) -> np.ndarray:
    """Each model's relative fall of the validation error over the last quarter of training.

    ``validation_errors[e, ...]`` is the error after epoch ``e + 1``; the result has the shape
    of one epoch's errors.  The one computation the stopping rule and the chapter share.
    """
    epochs = len(validation_errors)
    if epochs < 2:
        raise ValueError("a gain needs the errors of at least two epochs")
    before_quarter = last_quarter(epochs).start - 1  # the epoch before the quarter, from 1
    return 1 - validation_errors[-1] / validation_errors[before_quarter - 1]


def should_stop(validation_errors: np.ndarray, plan: TrainingPlan = PLAN) -> bool:
    """The stopping rule, applied after every epoch to all models at once.

    ``validation_errors[e, m]`` is model ``m``'s validation error after epoch ``e + 1``.  Stop
    when no model's error fell by ``plan.min_gain`` (1%) or more over the last quarter of
    the epochs trained so far, or when ``plan.max_epochs`` are done.
    """
    epochs = len(validation_errors)
    if epochs >= plan.max_epochs:
        return True
    if epochs < max(plan.min_epochs, 2):  # a gain needs two epochs
        return False
    return bool(np.all(gain_over_last_quarter(validation_errors) < plan.min_gain))


@dataclass(frozen=True)
class Comparison:
    """What :func:`run_comparison` measured.  Arrays are indexed by method, then seed."""

    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    plan: TrainingPlan
    #: Trainable and non-trainable weights of each method's autoencoder.
    parameters: tuple[int, ...]
    #: ``(epochs, methods, seeds)``: errors (MSE) after every epoch.
    validation_errors: np.ndarray
    test_errors: np.ndarray
    #: ``(methods, seeds)``: checkerboard energy of the test reconstructions, before training
    #: and after.
    initial_checkerboard: np.ndarray
    final_checkerboard: np.ndarray
    #: ``(methods, N, 8, 8, 1)``: the trained models of the first seed on the test images.
    reconstructions: np.ndarray
    #: Wall-clock and CPU seconds of the whole run (the only numbers that vary between runs).
    seconds: float
    cpu_seconds: float

    @property
    def epochs(self) -> int:
        return len(self.test_errors)

    @property
    def last_quarter(self) -> range:
        """The epochs (counted from 1) of the last quarter of training (:func:`last_quarter`)."""
        return last_quarter(self.epochs)

    @property
    def last_quarter_gains(self) -> np.ndarray:
        """``(methods, seeds)``: each model's validation gain over the last quarter, as the rule
        computes it (:func:`gain_over_last_quarter`)."""
        return gain_over_last_quarter(self.validation_errors)

    def ranking(self, epoch: int, seed_index: int) -> tuple[str, ...]:
        """The methods from lowest to highest test error after ``epoch`` (from 1), one seed."""
        errors = self.test_errors[epoch - 1, :, seed_index]
        return tuple(self.methods[m] for m in np.argsort(errors, kind="stable"))

    def rankings_in_last_quarter(self, seed_index: int) -> set[tuple[str, ...]]:
        """Every ranking of the methods that occurred in the last quarter, for one seed."""
        return {self.ranking(epoch, seed_index) for epoch in self.last_quarter}


def run_comparison(data: DigitSplit, methods: Sequence[str] = METHODS,
                   seeds: Sequence[int] = SEEDS, plan: TrainingPlan = PLAN) -> Comparison:
    """Train an autoencoder per method and seed under ``plan``, side by side, until the rule stops.

    The models of one seed form one group: they start from that seed's weights and read that
    seed's batches.  After each epoch every model is measured on the validation and test sets;
    only the validation errors decide when to stop.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    methods, seeds = tuple(methods), tuple(seeds)
    groups = [[build_autoencoder(method, seed) for method in methods] for seed in seeds]
    joined = join(groups)
    errors = reconstruction_errors(joined)

    def reconstruct(images: np.ndarray) -> np.ndarray:
        """``(methods, seeds, N, 8, 8, 1)`` outputs of every model."""
        outputs = joined([images] * len(seeds))
        stacked = np.stack([np.asarray(out) for out in outputs])
        return np.swapaxes(stacked.reshape(len(seeds), len(methods), *images.shape), 0, 1)

    def energies(outputs: np.ndarray) -> np.ndarray:
        return np.array([[checkerboard_energy(seed_out) for seed_out in method_out]
                         for method_out in outputs])

    initial = energies(reconstruct(data.test))
    validation: list[np.ndarray] = []
    test: list[np.ndarray] = []

    def by_method_and_seed(flat: np.ndarray) -> np.ndarray:
        return flat.reshape(len(seeds), len(methods)).T

    def after_epoch(epochs_done: int) -> bool:
        validation.append(by_method_and_seed(errors(data.validation)))
        test.append(by_method_and_seed(errors(data.test)))
        # The rule sees every model's validation error as one column.
        return should_stop(np.stack(validation).reshape(epochs_done, -1), plan)

    train_side_by_side(joined, data.train, group_seeds=seeds, batch_size=plan.batch_size,
                       learning_rate=plan.learning_rate, max_epochs=plan.max_epochs,
                       after_epoch=after_epoch)
    final = reconstruct(data.test)
    return Comparison(
        methods=methods,
        seeds=seeds,
        plan=plan,
        parameters=tuple(model.count_params() for model in groups[0]),
        validation_errors=np.stack(validation),
        test_errors=np.stack(test),
        initial_checkerboard=initial,
        final_checkerboard=energies(final),
        reconstructions=final[:, 0],
        seconds=time.perf_counter() - start,
        cpu_seconds=time.process_time() - cpu_start,
    )


def one_per_class(labels: np.ndarray) -> np.ndarray:
    """Index of the first image of each class 0, 1, ..., in class order."""
    classes = np.unique(labels)
    return np.array([int(np.flatnonzero(labels == c)[0]) for c in classes])
