"""UpSampling2D: the values and claims the chapter's prose relies on, read from the strictly
built HTML (fixture ``built_book``)."""
from __future__ import annotations

import re

import pytest

from tests.book.book_helpers import line_starting, numbers_in, objectives_and_summary

pytestmark = pytest.mark.book

NAME = "upsampling2d"
BILINEAR_X = [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]]
NEAREST_4X4 = [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
NEAREST_4X6 = [[1, 1, 1, 2, 2, 2], [1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4], [3, 3, 3, 4, 4, 4]]
WIDE_FILTERS = ("bicubic", "lanczos3", "lanczos5")


def test_objectives_are_answered_by_the_summary(built_book):
    objectives, summary = objectives_and_summary(built_book, NAME)
    assert len(objectives) == len(summary) == 5


def test_upsampling2d_values(built_book):
    text = built_book.chapter_text(NAME)
    assert built_book.has_array(NAME, NEAREST_4X4)
    assert built_book.has_array(NAME, NEAREST_4X6)
    assert built_book.has_array(NAME, BILINEAR_X)
    assert "(None, 4, 4, 1)" in text and "Total params: 0" in text
    # The re-run pitfall, shown safely in a loop.
    for shape in ["(1, 4, 4, 1)", "(1, 8, 12, 1)", "(1, 16, 36, 1)", "(1, 32, 108, 1)"]:
        assert shape in text, shape
    # The generator: 323,200 + 0 + 0 + 1,153 = 324,353 and a 10x10 output.
    assert "Total params: 324,353" in text
    assert "(None, 10, 10, 1)" in text
    assert re.search(r"Dense\s+323,200", text) and re.search(r"Conv2D\s+1,153", text)
    assert "block of ones: rows 4-11, columns 4-11" in text


def border_rows(built_book) -> dict[str, tuple[list[float], list[float]]]:
    """Method -> (first row with size=(1, 2), first row with size=(2, 2)), as printed."""
    # The table of first rows, not the one of minima and maxima before it: rows of 4 numbers.
    table = next(table for table in built_book.tables(NAME)
                 if table and len(table[0]) == 3 and len(numbers_in(table[0][1])) == 4)
    return {method: (numbers_in(one_axis), numbers_in(both_axes))
            for method, one_axis, both_axes in table}


def test_border_values_have_the_signs_the_prose_states(built_book):
    # The contradiction this catches: the prose said the wide filters push the last value
    # above 2 while the 4x4 table printed 1.912, 1.825 and 1.779.
    rows = border_rows(built_book)
    assert list(rows) == ["nearest", "area", "bilinear", *WIDE_FILTERS]
    assert rows["area"] == rows["nearest"]  # "area gives what nearest gives"
    for method in ("nearest", "area", "bilinear"):
        for row in rows[method]:
            assert row[0] == 1 and row[-1] == 2, method
    assert rows["bilinear"][0] == [1, 1.25, 1.75, 2]
    for method in WIDE_FILTERS:
        one_axis, both_axes = rows[method]
        # Along one axis: "start below 1 and end above 2".
        assert one_axis[0] < 1 and one_axis[-1] > 2, method
        # With size=(2, 2): "starts below 1 and also ends below 2".
        assert both_axes[0] < 1 and both_axes[-1] < 2, method
    assert rows["bicubic"][1][0] == 0.7353  # the bicubic 4x4 value the text works through


def test_tensorflow_drops_outside_taps_and_rescales(built_book):
    weights = numbers_in(line_starting(built_book, NAME, "bicubic weights of the four taps:"))
    kept = numbers_in(line_starting(built_book, NAME, "the two inside the image, rescaled:"))
    assert weights == pytest.approx([-0.0234, 0.2266, 0.8672, -0.0703])
    assert kept == pytest.approx([1.0882, -0.0882])  # "1.088 ... and -0.088"
    dropped = numbers_in(line_starting(built_book, NAME, "dropping the outside taps gives"))[-1]
    repeated = numbers_in(line_starting(built_book, NAME, "repeating the edge pixel"))[-1]
    keras = numbers_in(line_starting(built_book, NAME, "Keras, size=(1, 2):"))[-1]
    assert dropped == keras == 0.9118
    assert repeated != keras
    # The vertical pass first: 1.088 * [1, 2] - 0.088 * [3, 4], then both passes = Keras.
    vertical = numbers_in(line_starting(built_book, NAME, "first row after the vertical pass:"))
    assert vertical == pytest.approx([1.0882 - 0.0882 * 3, 2 * 1.0882 - 0.0882 * 4], abs=1e-3)
    # "their order does not matter"
    assert line_starting(built_book, NAME, "horizontal pass first gives the same:").endswith("True")
    assert "acts first" not in built_book.chapter_text(NAME)
    both = numbers_in(line_starting(built_book, NAME, "after both passes:"))
    assert both == numbers_in(line_starting(built_book, NAME, "Keras, size=(2, 2):"))[-4:]


def test_all_six_interpolation_options_side_by_side(built_book):
    table = next(t for t in built_book.tables(NAME) if t and t[0][0] == "nearest"
                 and len(t[0]) == 3 and len(numbers_in(t[0][1])) == 1)
    extremes = {row[0]: (float(row[1]), float(row[2])) for row in table}
    assert list(extremes) == ["nearest", "area", "bilinear", *WIDE_FILTERS]
    assert extremes["area"] == extremes["nearest"]
    assert line_starting(built_book, NAME, "area equals nearest here:").endswith("True")
    # The one figure of the section draws all six.
    assert any("nearest, area, bilinear, bicubic, lanczos3 and lanczos5" in image.get("alt", "")
               for image in built_book.images(NAME))
