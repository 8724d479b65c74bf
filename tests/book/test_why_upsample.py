"""Chapter "Why upsample?": the values and claims its prose relies on, read from the built book."""
from __future__ import annotations

import numpy as np
import pytest

from tests.book.book_helpers import numbers_in
from upsampling_course.reference import conv_transpose, upsample_bilinear, upsample_nearest

pytestmark = pytest.mark.book

NAME = "why-upsample"
X = np.array([[1, 2], [3, 4]], dtype=float).reshape(1, 2, 2, 1)


def test_pooling_halves_each_side_and_keeps_a_quarter(built_book):
    assert built_book.line_starting(NAME, "input") == "input (1, 4, 4, 1) -> pooled (1, 2, 2, 1)"
    assert built_book.line_starting(NAME, "pixels:") == "pixels: 16 -> 4"
    assert built_book.has_array(NAME, [[6, 8], [14, 16]])
    assert built_book.has_array(NAME, [[3.5, 5.5], [11.5, 13.5]])


def test_convolutions_lose_borders_or_halve_with_stride_2(built_book):
    sizes = built_book.tables(NAME)[0]
    # Table cells come without the spaces of their code: compare without spaces.
    assert [row[0].replace(" ", "") for row in sizes] == [
        "Conv2D3x3,padding='valid'", "Conv2D3x3,padding='same'",
        "Conv2D3x3,strides=2,padding='same'", "MaxPooling2D2x2"]
    assert [row[-1] for row in sizes] == ["4x4", "6x6", "3x3", "3x3"]


def test_classifier_shrinks_and_generator_grows(built_book):
    text = built_book.chapter_text(NAME)
    # "from 784 pixels to a 5x5 map"; the generator doubles 7x7 twice to 28x28.
    for shape in ["(None, 28, 28, 1)", "(None, 26, 26, 32)", "(None, 13, 13, 32)",
                  "(None, 5, 5, 64)", "(None, 1600)", "(None, 10)", "(None, 7, 7, 128)",
                  "(None, 14, 14, 128)", "(None, 28, 28, 32)"]:
        assert shape in text, shape
    assert 28 * 28 == 784


def test_three_families_on_small_inputs(built_book):
    transposed = conv_transpose(X, np.ones((3, 3, 1, 1)), strides=2, padding="same")
    assert built_book.has_array(NAME, transposed[0, ..., 0])
    # The alt text: "values from 1 to 10 where stamps overlap".
    assert (transposed.min(), transposed.max()) == (1, 10)
    assert built_book.line_starting(NAME, "unpooled, non-zero pixels:") == (
        "unpooled, non-zero pixels: 4 of 16")
    # The figure writes each panel's values: nearest, bilinear, transposed, unpooled.
    (figure,) = [img for img in built_book.images(NAME) if img["alt"].startswith("Four pixel")]
    values = [float(v) for v in built_book.figure_values(figure, NAME)]
    unpooled = [0, 0, 0, 0, 0, 6, 0, 8, 0, 0, 0, 0, 0, 14, 0, 16]
    expected = [upsample_nearest(X).ravel(), upsample_bilinear(X).ravel(), transposed.ravel(),
                unpooled]
    assert values == pytest.approx(np.concatenate(expected).tolist())


def test_only_the_transposed_convolution_has_weights(built_book):
    weights = {line.split(":")[0]: int(numbers_in(line.split(":")[1])[0])
               for line in built_book.output_lines(NAME) if line.endswith(" weights")}
    assert weights == {"UpSampling2D, nearest": 0, "UpSampling2D, bilinear": 0,
                       "Conv2DTranspose 3x3": 9, "MaxUnpooling2D": 0}


def test_transposed_convolution_restores_the_shape_not_the_values(built_book):
    assert built_book.line_starting(NAME, "x (1, 4, 4, 1) -> convolution") == (
        "x (1, 4, 4, 1) -> convolution (1, 2, 2, 1) -> transposed convolution (1, 4, 4, 1)")
    # "The shapes match and the values do not": far off, for values between 0 and 1.
    assert numbers_in(built_book.line_starting(NAME, "largest |z - x|:"))[0] > 0.5


def test_practice_answers_are_checked(built_book):
    assert built_book.line_starting(NAME, "question 1:") == (
        "question 1: 8x8 keeps 1/64 of the pixels")
    assert built_book.line_starting(NAME, "question 2:") == "question 2: valid 8x8 same 10x10"


def test_diagrams_of_feature_map_sizes_fit_a_phone(built_book):
    images = built_book.images(NAME)
    diagrams = [img for img in images if "drawn to scale" in img.get("alt", "")]
    assert len(diagrams) == 2
    for image in diagrams:
        svg = (built_book.page_path(NAME).parent / image["src"]).read_text()
        width_points = float(svg.split('width="', 1)[1].split("pt", 1)[0])
        assert width_points * 4 / 3 <= 358, "wider than a phone's column (358 px)"
