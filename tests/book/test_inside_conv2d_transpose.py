"""Inside Conv2DTranspose: the values and claims the chapter's prose relies on, read from the
strictly built HTML (fixture ``built_book``)."""
from __future__ import annotations

import pytest

from tests.book.book_helpers import numbers_in, objectives_and_summary

pytestmark = pytest.mark.book

NAME = "inside-conv2d-transpose"


def test_objectives_are_answered_by_the_summary(built_book):
    objectives, summary = objectives_and_summary(built_book, NAME)
    assert len(objectives) == len(summary) == 4


def test_inside_conv2d_transpose_values(built_book):
    text = built_book.chapter_text(NAME)
    assert "Conv2D kernel: (3, 3, 3, 5)" in text and "Conv2DTranspose kernel: (3, 3, 5, 3)" in text
    # The three ways agree with Keras to float32 rounding.
    differences = [numbers_in(line)[-1] for line in built_book.output_lines(NAME)
                   if "max |difference from Keras|" in line]
    assert len(differences) == 4 and max(differences) < 1e-5
    assert "convolution matrix C: (4, 25)" in text
    assert "(limit ±0.1)" in text and "kernel shape: (3, 3, 16, 8)" in text


def test_step_by_step_figures(built_book):
    # Two static step sequences after the five-step figure: stamps per input pixel, then
    # windows of the equivalent convolution; their alt texts name what is outlined.
    alts = [image.get("alt", "") for image in built_book.images(NAME)]
    stamps = [alt for alt in alts if "current stamp outlined" in alt]
    windows = [alt for alt in alts if "window outlined" in alt]
    assert len(stamps) == 1 and len(windows) == 1
    assert "1·9 + 2·7 + 3·3 + 4·1 = 36" in windows[0]


def test_offsets_are_stated_where_the_kernel_is_turned(built_book):
    text = built_book.chapter_text(NAME)
    # Sphinx turns the heading's apostrophe into a typographic one: match around it.
    section = text[text.index("Why the kernel is turned"):text.index("shape is reversed")]
    for formula in ("t = o - s i", "j - o", "j = s i + k - 1", "s i + k - 1 - o"):
        assert formula in section, formula


def test_four_ways_figure_writes_its_values_and_the_matrix_has_its_own_alt_text(built_book):
    images = built_book.images(NAME)
    four = [image for image in images if "gradient of Conv2D" in image.get("alt", "")]
    matrix = [image for image in images if "4x25 convolution matrix" in image.get("alt", "")]
    assert len(four) == 1 and len(matrix) == 1 and four[0] is not matrix[0]
    assert "colour bar" in four[0]["alt"]
    values = built_book.figure_values(four[0], NAME)
    assert len(values) == 4 * 25, "every cell of the four 5x5 grids shows its value"
    assert values[:25] == values[25:50] == values[50:75] == values[75:]
    # The frameworks' way is named where the zero-insertion view is introduced.
    text = built_book.chapter_text(NAME)
    assert "frameworks do not compute it so" in text
    # Scatter-add (gradient of a convolution) is TensorFlow's and PyTorch's way, not JAX's.
    assert "TensorFlow (the backend this book runs) and PyTorch call" in " ".join(text.split())
    assert "the scatter-add is how it is computed" not in text
