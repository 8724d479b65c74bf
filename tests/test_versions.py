"""uc.show_versions(): the versions line each chapter prints, and the note outside the supported range."""
from __future__ import annotations

from importlib import metadata

import keras
import numpy
import tensorflow as tf

import upsampling_course as uc

BOOK_EXTRA = ['numpy', 'tensorflow-cpu<2.22,>=2.19; extra == "book"', 'keras<3.16,>=3.15; extra == "book"',
              'numpy<2.5,>=2.1; extra == "book"', 'pytest; extra == "test"']


def test_versions_inside_the_range_need_no_note():
    assert uc.versions_note({"tensorflow": "2.19.1", "keras": "3.15.1", "numpy": "2.1.3"}, BOOK_EXTRA) is None
    assert uc.versions_note({"tensorflow": "2.21.0", "keras": "3.15.0", "numpy": "2.4.6"}, BOOK_EXTRA) is None


def test_versions_outside_the_range_are_named():
    note = uc.versions_note({"tensorflow": "2.22.0", "keras": "3.10.0", "numpy": "2.1.3"}, BOOK_EXTRA)
    assert "tensorflow 2.22.0 (supported: <2.22,>=2.19)" in note
    assert "keras 3.10.0 (supported: <3.16,>=3.15)" in note
    assert "numpy" not in note  # only the book extra's ranges count, and 2.1.3 is inside


def test_the_installed_package_declares_the_book_range():
    book = [line for line in metadata.requires(uc.DISTRIBUTION) if 'extra == "book"' in line]
    assert {line.split("<")[0].split(">")[0] for line in book} >= {"tensorflow-cpu", "keras", "numpy"}
    # The pinned environment is inside it.
    assert uc.versions_note({"tensorflow": tf.__version__, "keras": keras.__version__,
                             "numpy": numpy.__version__}, metadata.requires(uc.DISTRIBUTION)) is None


def test_show_versions_prints_one_line(capsys):
    uc.show_versions()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {numpy.__version__} (Python 3.")
    assert len(lines) == 1


def test_the_intro_and_readme_state_the_declared_range():
    """The prose names the range of the book extra (pyproject.toml), not another one."""
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parents[1]
    book = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["book"]
    (tensorflow,) = [Requirement(line) for line in book if line.startswith("tensorflow-cpu")]
    low = next(s.version for s in tensorflow.specifier if s.operator == ">=")
    below = next(s.version for s in tensorflow.specifier if s.operator == "<")
    major, minor = below.split(".")[:2]
    high = f"{major}.{int(minor) - 1}"
    assert f"TensorFlow {low} to {high}" in (root / "intro.md").read_text()
    assert f"TensorFlow {low}-{high}" in (root / "README.md").read_text()
