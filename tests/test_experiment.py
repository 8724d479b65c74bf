"""upsampling_course.experiment: the data split, the five autoencoders, that training is
deterministic (the chapter "Choosing an upsampling method" promises the same numbers on every
run) and that training the five side by side gives each exactly what it would learn alone.
The full comparison runs when the book is built; its values are checked on the HTML."""
import numpy as np
import pytest

import upsampling_course as uc
from upsampling_course import experiment

pytestmark = pytest.mark.training


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


# A short training on a subset: 8 steps of 25 images, enough to move every weight.
SHORT = dict(epochs=1, batch_size=25)


@pytest.fixture(scope="module")
def trained_together(keras, digits):
    train, test = digits
    return experiment.compare_methods(train[:200], test[:64], **SHORT, seed=0)


def test_training_twice_gives_identical_results(keras, digits, trained_together):
    train, test = digits
    again = experiment.compare_methods(train[:200], test[:64], **SHORT, seed=0)
    assert [r.method for r in again] == list(experiment.METHODS)
    for first, second in zip(trained_together, again):
        np.testing.assert_array_equal(first.reconstructions, second.reconstructions)
        assert first.test_mse == second.test_mse
        assert first.checkerboard_energy == second.checkerboard_energy
        assert first.initial_checkerboard_energy == second.initial_checkerboard_energy


@pytest.mark.parametrize("method", experiment.METHODS)
def test_a_branch_trained_together_learns_what_it_learns_alone(keras, digits, trained_together, method):
    # The chapter's claim for training the five side by side: no branch sees the others.
    train, test = digits
    (alone,) = experiment.compare_methods(train[:200], test[:64], methods=(method,), **SHORT, seed=0)
    (together,) = [r for r in trained_together if r.method == method]
    np.testing.assert_array_equal(alone.reconstructions, together.reconstructions)
    assert alone.initial_checkerboard_energy == together.initial_checkerboard_energy
    assert alone.parameters == together.parameters == experiment.build_autoencoder(method).count_params()


def test_training_changes_the_outputs_and_times_every_method(keras, digits, trained_together):
    _, test = digits
    untrained = experiment.build_comparison(seed=0)(test[:64])
    for result in trained_together:
        assert result.reconstructions.shape == (64, 8, 8, 1)
        assert not np.allclose(result.reconstructions, np.asarray(untrained[result.method]), atol=1e-3)
        assert result.test_mse == pytest.approx(float(np.mean((result.reconstructions - test[:64]) ** 2)))
        assert 0 < result.inference_ms < 10_000


def test_the_seed_matters(keras, digits):
    train, test = digits
    runs = [experiment.compare_methods(train[:200], test[:64], methods=("transposed conv",), **SHORT, seed=seed)[0]
            for seed in (0, 1)]
    assert runs[0].test_mse != runs[1].test_mse
