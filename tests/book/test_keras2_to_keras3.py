"""Chapter "From Keras 2 to Keras 3": each difference it shows, read from the built book."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.book

NAME = "keras2-to-keras3"
RESIZE_METHODS = ["area", "bicubic", "bilinear", "gaussian", "lanczos3", "lanczos5",
                  "mitchellcubic", "nearest"]


def deliberate_errors(built_book) -> list[str]:
    """The error line of each cell tagged raises-exception, in order."""
    return [" ".join(cell.select_one("div.output.traceback").get_text().split())
            for cell in built_book.cells(NAME, "raises-exception")]


def test_tf_keras_is_keras_3_and_input_shape_warns(built_book):
    assert built_book.line_starting(NAME, "tf.keras is Keras 3:").endswith("True")
    # The chapter's own question (the first cell's version line also starts "TensorFlow").
    asked = [line for line in built_book.output_lines(NAME)
             if re.fullmatch(r"TensorFlow 2\.\d+\.\d+ \| Keras 3\.\d+\.\d+", line)]
    assert len(asked) == 1
    assert "Do not pass an `input_shape`" in built_book.line_starting(NAME, "UserWarning from Keras")
    assert built_book.line_starting(NAME, "output shape:") == "output shape: (None, 4, 4, 1)"


def test_set_weights_with_arrays_shows_zero_insertion(built_book):
    assert built_book.has_array(NAME, [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])


def test_summary_counts_and_memory_size(built_book):
    text = " ".join(built_book.output_lines(NAME))
    assert "Total params: 324,353 (1.24 MB)" in text  # the live summary
    assert "323,200" in text and "…" not in text  # every count printed whole, on a phone too
    assert built_book.line_starting(NAME, "parameters:") == "parameters: 324,353"
    assert built_book.line_starting(NAME, "per layer:") == "per layer: [323200, 0, 0, 1153]"
    assert built_book.line_starting(NAME, "bytes as float32:") == "bytes as float32: 1,297,412"
    assert round(4 * 324_353 / 2**20, 2) == 1.24  # "1.24 MB in units of 2^20 bytes"


def test_six_of_the_eight_resize_methods_work_and_fail_when_called(built_book):
    listed = built_book.line_starting(NAME, "8 methods of tf.image.resize:")
    assert listed == "8 methods of tf.image.resize: " + ", ".join(RESIZE_METHODS)
    lines = built_book.output_lines(NAME)
    working = {line.split(":")[0] for line in lines if line.endswith(": works")}
    failing = {line.split(":")[0] for line in lines if line.endswith(": ValueError when called")}
    assert working == {"area", "bicubic", "bilinear", "lanczos3", "lanczos5", "nearest"}
    assert failing == {"gaussian", "mitchellcubic"}
    message = next(line for line in built_book.output_lines(NAME) if "Expected" in line)
    expected = message.split("Expected", 1)[1].split("Received", 1)[0]
    assert all(f"'{name}'" in expected for name in working) and "gaussian" not in expected


def test_output_padding_chooses_the_size(built_book):
    assert built_book.line_starting(NAME, "Conv2D stride 2:") == "Conv2D stride 2: (9, 9) -> (5, 5)"
    for output_padding, size in (("None", 10), ("0", 9), ("1", 10)):
        assert built_book.line_starting(
            NAME, f"Conv2DTranspose, output_padding={output_padding}:").endswith(f"({size}, {size})")


def test_addons_missing_and_the_package_layers_unpool(built_book):
    assert built_book.line_starting(NAME, "tensorflow_addons installed:").endswith("False")
    assert built_book.has_array(NAME, [[0, 0, 0, 0], [0, 5, 0, 7], [0, 0, 0, 0], [0, 13, 0, 15]])
    assert built_book.line_starting(NAME, "(2, 2) (2, 2)")


def test_deliberate_errors_are_the_documented_ones_in_one_line(built_book):
    expected = [
        "AttributeError: 'list' object has no attribute 'shape'",
        "ValueError:",  # output_padding too large
        "ModuleNotFoundError: No module named 'tensorflow_addons'",
        "ModuleNotFoundError: No module named 'keras.layers.convolutional'",
        "AttributeError: module 'tensorflow' has no attribute 'truncated_normal'",
    ]
    errors = deliberate_errors(built_book)
    assert len(errors) == len(expected)
    for error, start in zip(errors, expected):
        assert error.startswith(start), error
    assert "must be strictly less than" in errors[1]


def test_practice_answers_are_checked(built_book):
    assert built_book.line_starting(NAME, "question 1:").endswith("True")
    assert built_book.line_starting(NAME, "question 2:") == "question 2: kernel [2.] bias [1.]"
    assert built_book.line_starting(NAME, "question 3: 7x7 -> 4x4 -> 7x7").endswith(
        "output_padding=0")
    assert built_book.line_starting(NAME, "question 3: 7x7 -> 4x4 -> 8x8").endswith(
        "output_padding=None")


def test_claims_about_tf_keras_2_are_marked_historical(built_book):
    # No cell runs tf.keras 2: its behaviour is stated as history, next to the live Keras 3 cell.
    text = " ".join(built_book.chapter_text(NAME).split())
    assert "A historical note, not shown by a cell" in text
    assert "a historical note, from their documentation: no cell here runs tf.keras 2" in text
