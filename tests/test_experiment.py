"""upsampling_course.experiment and .side_by_side: the data split, the five autoencoders, the
stopping rule, that training is deterministic (the chapter "Choosing an upsampling method"
promises the same numbers on every run, also in a fresh process) and that training models side
by side gives each exactly what it would learn alone.  The full comparison runs when the book is
built; its values are checked on the HTML (tests/book/test_choosing_a_method.py)."""
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import upsampling_course as uc
from upsampling_course import experiment
from upsampling_course.experiment import TrainingPlan, gain_over_last_quarter, last_quarter, should_stop

pytestmark = pytest.mark.training


@pytest.fixture(scope="module")
def keras():
    return uc.setup_keras(seed=0)


@pytest.fixture(scope="module")
def digits():
    return experiment.load_digit_split()


def test_digits_are_split_three_ways_without_overlap_and_scaled(digits):
    assert digits.train.shape == (1197, 8, 8, 1)
    assert digits.validation.shape == digits.test.shape == (300, 8, 8, 1)
    assert digits.test_labels.shape == (300,) and set(digits.test_labels) == set(range(10))
    assert digits.train.dtype == np.float32 and digits.train.min() == 0 and digits.train.max() == 1
    seen = {image.tobytes() for image in digits.train}
    # A few digits occur twice in the data set itself; the split must not copy any more.
    assert sum(image.tobytes() in seen for image in digits.test) <= 3
    assert sum(image.tobytes() in seen for image in digits.validation) <= 3
    again = experiment.load_digit_split()
    np.testing.assert_array_equal(again.test, digits.test)
    np.testing.assert_array_equal(again.test_labels, digits.test_labels)
    assert not np.array_equal(experiment.load_digit_split(seed=1).test, digits.test)


def test_labels_belong_to_their_images():
    from sklearn.datasets import load_digits

    raw = load_digits()
    split = experiment.load_digit_split()
    lookup = {(image / 16.0).astype("float32").tobytes(): label
              for image, label in zip(raw.images, raw.target, strict=True)}
    assert all(lookup[image[..., 0].tobytes()] == label
               for image, label in zip(split.test, split.test_labels, strict=True))


def test_one_per_class_picks_the_first_image_of_every_class():
    labels = np.array([3, 1, 1, 0, 2, 3, 0])
    np.testing.assert_array_equal(experiment.one_per_class(labels), [3, 1, 4, 0])


@pytest.mark.parametrize("method", experiment.METHODS)
def test_every_autoencoder_maps_8x8_back_to_8x8(keras, method):
    model = experiment.build_autoencoder(method)
    assert model.output_shape == (None, 8, 8, 1)
    expected = 5_409 if method == "pixel shuffle" else 1_905
    assert model.count_params() == expected
    images = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype("float32")
    output = np.asarray(model(images))
    assert output.shape == (3, 8, 8, 1) and np.all((0 <= output) & (output <= 1))


def test_unknown_method_is_rejected(keras):
    with pytest.raises(ValueError, match="unknown method"):
        experiment.build_autoencoder("bicubic + conv")


# --- The stopping rule -----------------------------------------------------------------------

PLAN = TrainingPlan(min_epochs=4, max_epochs=12, min_gain=0.01)


def falling(epochs, rate):
    """Validation errors that fall by ``rate`` per epoch (one model)."""
    return (1 - rate) ** np.arange(epochs)[:, None]


def test_the_rule_never_stops_before_the_minimum_and_always_at_the_maximum():
    flat = np.ones((3, 2))
    assert not should_stop(flat, PLAN)
    assert should_stop(np.ones((4, 2)), PLAN)
    assert should_stop(falling(12, 0.5), PLAN)  # still improving fast, but out of epochs


def test_the_rule_stops_when_no_model_gained_one_percent_over_the_last_quarter():
    # 8 epochs: the last quarter runs from the error after epoch 6 to the one after epoch 8.
    slow = falling(8, 0.004)  # 0.8% over two epochs
    fast = falling(8, 0.006)  # 1.2% over two epochs
    assert should_stop(slow, PLAN)
    assert not should_stop(fast, PLAN)
    assert not should_stop(np.hstack([slow, fast]), PLAN), "one model still learning"
    rising = np.linspace(1, 2, 8)[:, None]  # overfitting: the error grows
    assert should_stop(np.hstack([slow, rising]), PLAN)


def test_the_last_quarter_is_the_last_fourth_of_the_epochs_and_its_gain_is_the_rules():
    assert list(last_quarter(60)) == list(range(46, 61))  # 15 epochs, after epoch 45
    assert list(last_quarter(8)) == [7, 8]
    assert list(last_quarter(2)) == [2]  # never empty: at least the last epoch
    # The gain runs from the error after the epoch before the quarter (6) to the last (8).
    errors = np.array([9.0, 8, 7, 6, 5, 4, 3, 2])[:, None]
    assert gain_over_last_quarter(errors) == pytest.approx([1 - 2 / 4])
    assert should_stop(errors * 0 + 1, PLAN) and not should_stop(errors, PLAN)


def test_the_comparison_uses_the_shared_last_quarter(keras, digits):
    comparison = short_comparison(digits, methods=("nearest + conv",), seeds=(0,),
                                  plan=TrainingPlan(batch_size=25, min_epochs=4, max_epochs=4))
    assert comparison.epochs == 4 and list(comparison.last_quarter) == [4]
    np.testing.assert_array_equal(comparison.last_quarter_gains,
                                  gain_over_last_quarter(comparison.validation_errors))


# --- Training side by side, deterministically -------------------------------------------------

# A short training on a subset: two epochs of 8 batches of 25 images, enough to move every
# weight.  With an impossible minimum gain the rule stops after the minimum of two epochs.
SHORT = TrainingPlan(batch_size=25, min_epochs=2, max_epochs=50, min_gain=1.0)


def short_comparison(digits, methods=experiment.METHODS, seeds=(0, 1), plan=SHORT):
    small = experiment.DigitSplit(digits.train[:200], digits.validation[:64], digits.test[:64],
                                  digits.test_labels[:64])
    return experiment.run_comparison(small, methods, seeds, plan)


@pytest.fixture(scope="module")
def trained_together(keras, digits):
    return short_comparison(digits)


def test_the_comparison_records_every_epoch_and_stops_by_the_rule(trained_together):
    c = trained_together
    assert c.methods == experiment.METHODS and c.seeds == (0, 1)
    assert c.epochs == 2
    assert c.validation_errors.shape == c.test_errors.shape == (2, 5, 2)
    assert c.initial_checkerboard.shape == c.final_checkerboard.shape == (5, 2)
    assert c.reconstructions.shape == (5, 64, 8, 8, 1)
    assert c.parameters == tuple(experiment.build_autoencoder(m).count_params() for m in c.methods)
    assert 0 < c.cpu_seconds and 0 < c.seconds
    assert np.all(c.test_errors[-1] < c.test_errors[0]), "two epochs lower every test error"


def test_errors_and_rankings_agree_with_the_reconstructions(trained_together, digits):
    c = trained_together
    test = digits.test[:64]
    for m in range(len(c.methods)):
        mse = float(np.mean((c.reconstructions[m] - test) ** 2))
        assert c.test_errors[-1, m, 0] == pytest.approx(mse, rel=1e-5)
    ranking = c.ranking(c.epochs, 0)
    assert sorted(ranking) == sorted(c.methods)
    errors = [c.test_errors[-1, c.methods.index(m), 0] for m in ranking]
    assert errors == sorted(errors)
    assert ranking in c.rankings_in_last_quarter(0)


def test_training_twice_gives_identical_results(keras, digits, trained_together):
    again = short_comparison(digits)
    for field in ("validation_errors", "test_errors", "initial_checkerboard",
                  "final_checkerboard", "reconstructions"):
        np.testing.assert_array_equal(getattr(again, field), getattr(trained_together, field))


def test_a_fresh_process_gives_identical_results(trained_together):
    # What a re-run of the chapter does: a new kernel, TensorFlow's thread pools started anew.
    code = (
        "import numpy as np, sys\n"
        "import upsampling_course as uc\n"
        "uc.setup_keras(seed=0)\n"
        "from tests.test_experiment import short_comparison\n"
        "from upsampling_course import experiment\n"
        "c = short_comparison(experiment.load_digit_split())\n"
        "np.save(sys.stdout.buffer, c.test_errors)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    np.testing.assert_array_equal(np.load(io.BytesIO(run.stdout)), trained_together.test_errors)


def test_a_model_trained_alone_learns_what_it_learns_side_by_side(keras, digits, trained_together):
    # The claim that makes training side by side legitimate: no branch sees the others, and a
    # seed's group reads its own batches.  Seed 1 is the second group of the joint run.
    methods = ("transposed conv", "max unpooling + conv")
    alone = short_comparison(digits, methods=methods, seeds=(1,))
    together = trained_together
    for m, method in enumerate(methods):
        k = together.methods.index(method)
        np.testing.assert_array_equal(alone.test_errors[:, m, 0], together.test_errors[:, k, 1])
        np.testing.assert_array_equal(alone.initial_checkerboard[m, 0],
                                      together.initial_checkerboard[k, 1])


def test_the_seed_matters(trained_together):
    errors = trained_together.test_errors[-1]
    assert np.all(errors[:, 0] != errors[:, 1])
