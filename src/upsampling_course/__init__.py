"""Shared code of the course book on upsampling layers.

Chapters, exercises, the autograder and the tests import it in one line::

    import upsampling_course as uc
    keras = uc.setup_keras()

Importing the package is cheap: it does not import TensorFlow. It only sets the
environment variables that keep TensorFlow's start-up quiet, which must happen
before TensorFlow is first imported.
"""
import os

# Both are needed, and only work if set before TensorFlow is imported (stack notes).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "1.0.0"


def setup_keras(seed: int = 0):
    """Import Keras quietly, seed every random generator and return the ``keras`` module.

    Safe to call more than once: each call re-seeds, so a re-run cell gives the same numbers.
    """
    import logging
    import warnings

    import keras
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")
    warnings.filterwarnings("ignore", module="tensorflow")
    keras.utils.set_random_seed(seed)
    return keras


def submit(link=None, **options):
    """Hand in the notebook you are working in (see :mod:`upsampling_course.handin`)."""
    from .handin import submit as _submit

    return _submit(link, **options)
