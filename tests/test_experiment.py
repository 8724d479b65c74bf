"""upsampling_course.experiment: the data split, the five autoencoders, and that training is
deterministic (the chapter "Choosing an upsampling method" promises the same numbers on every
run). The full comparison runs when the book is built; its values are checked on the HTML."""
import numpy as np
import pytest

import upsampling_course as uc
from upsampling_course import experiment


@pytest.fixture(scope="module")
def keras():
    return uc.setup_keras(seed=0)


@pytest.fixture(scope="module")
def digits():
    return experiment.load_digit_images(seed=0)


def test_digits_are_split_without_overlap_and_scaled(digits):
    train, test = digits
    assert train.shape == (1500, 8, 8, 1) and test.shape == (297, 8, 8, 1)
    assert train.dtype == np.float32 and 0.0 == train.min() and train.max() == 1.0
    flat_train = {image.tobytes() for image in train}
    # A few digits occur twice in the data set itself; the split must not copy any more.
    shared = sum(image.tobytes() in flat_train for image in test)
    assert shared <= 3
    again_train, again_test = experiment.load_digit_images(seed=0)
    np.testing.assert_array_equal(again_test, test)
    assert not np.array_equal(experiment.load_digit_images(seed=1)[1], test)


@pytest.mark.parametrize("method", experiment.METHODS)
def test_every_autoencoder_maps_8x8_back_to_8x8(keras, method):
    model = experiment.build_autoencoder(method)
    assert model.output_shape == (None, 8, 8, 1)
    expected = 15_417 if method == "pixel shuffle" else 4_953
    assert model.count_params() == expected
    output = np.asarray(model(np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype("float32")))
    assert output.shape == (3, 8, 8, 1) and np.all((0 <= output) & (output <= 1))


def test_unknown_method_is_rejected(keras):
    with pytest.raises(ValueError, match="unknown method"):
        experiment.build_autoencoder("bicubic + conv")


@pytest.mark.parametrize("method", experiment.METHODS)
def test_training_twice_gives_identical_results(keras, digits, method):
    train, test = digits
    first, second = (
        experiment.train_autoencoder(method, train[:320], test[:64], epochs=2, seed=0) for _ in range(2)
    )
    np.testing.assert_array_equal(first.reconstructions, second.reconstructions)
    assert first.test_mse == second.test_mse
    assert first.checkerboard_energy == second.checkerboard_energy
    assert first.initial_checkerboard_energy == second.initial_checkerboard_energy


def test_the_seed_matters(keras, digits):
    train, test = digits
    runs = [experiment.train_autoencoder("transposed conv", train[:320], test[:64], epochs=2, seed=seed)
            for seed in (0, 1)]
    assert runs[0].test_mse != runs[1].test_mse
