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
    In a notebook it also shows figures as the book prints them: drawings as SVG, pictures
    as PNG (see ``upsampling_course.figures``).
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
    from upsampling_course.figures import show_figures_as_svg

    show_figures_as_svg()
    return keras


#: The distribution whose ``book`` extra (pyproject.toml) declares the versions the book supports.
DISTRIBUTION = "upsampling-course"
#: Imported module -> its distribution in the ``book`` extra (TensorFlow is tensorflow-cpu there).
_CHECKED = {"tensorflow": "tensorflow-cpu", "keras": "keras", "numpy": "numpy"}


def versions_note(versions: dict[str, str], requirements: list[str]) -> str | None:
    """Which of ``versions`` ({module: version}) lie outside the ``book`` extra's ranges.

    ``requirements`` are the package's requirement strings (``importlib.metadata.requires``).
    Returns a sentence for the reader, or None when every checked version is supported.
    """
    from packaging.requirements import Requirement

    ranges = {}
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is not None and requirement.marker.evaluate({"extra": "book"}):
            ranges[requirement.name] = requirement.specifier
    outside = [f"{module} {version} (supported: {ranges[_CHECKED[module]]})"
               for module, version in versions.items()
               if _CHECKED.get(module) in ranges and version not in ranges[_CHECKED[module]]]
    if not outside:
        return None
    return ("Outside the versions this book is checked with: " + "; ".join(outside)
            + ". The code should still run, but printed values may differ in the last digits.")


def show_versions() -> None:
    """Print the TensorFlow, Keras and NumPy versions this notebook runs with (one line).

    Where the course package is installed (not only on the path) and a version lies outside
    the range its ``book`` extra declares, a second line says so.
    """
    import platform
    from importlib import metadata

    import keras
    import numpy
    import tensorflow as tf

    versions = {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": numpy.__version__}
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {numpy.__version__} "
          f"(Python {platform.python_version()})")
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # the sources on the path, e.g. the second test env
        return
    note = versions_note(versions, requirements)
    if note:
        print(note)


def submit(link=None, **options):
    """Hand in the notebook you are working in (see :mod:`upsampling_course.handin`)."""
    from .handin import submit as _submit

    return _submit(link, **options)
