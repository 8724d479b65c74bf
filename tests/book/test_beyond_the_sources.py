"""Part II of the book ("Beyond the sources"): the values and claims each chapter's prose relies
on, read from the strictly built HTML (fixture ``built_book``), plus plots with alt text and
folded answers.
"""
from __future__ import annotations

import re

import pytest

from tests.book.book_helpers import line_starting, numbers_in, table_with

pytestmark = pytest.mark.book

# Each chapter's plots: at least this many images produced by its cells.
PLOTS = {
    "checkerboard-artifacts": 5,
    "unpooling": 3,
    "volumes-3d": 5,
    "choosing-a-method": 1,
    "keras2-to-keras3": 0,
}


@pytest.mark.parametrize("name", list(PLOTS))
def test_plots_alt_text_summary_and_folded_answers(built_book, name):
    images = built_book.images(name)
    assert len(images) >= PLOTS[name], f"{name}: {len(images)} plots"
    for image in images:
        assert len(image.get("alt", "")) >= 30, f"{name}: {image['src']} lacks alt text"
    headings = [h.get_text(" ", strip=True) for h in built_book.article(name).select("h2")]
    assert any("Summary" in h for h in headings[-2:]) or "Summary" in headings[-1], headings
    dropdowns = built_book.article(name).select("details.sd-dropdown")
    assert dropdowns and "Answers" in dropdowns[-1].get_text() and "open" not in dropdowns[-1].attrs


# --- Unpooling --------------------------------------------------------------------------------

UNPOOLING = "unpooling"


def test_unpooling_matches_reference_on_batches_and_channels(built_book):
    for prefix in ("switches equal:", "unpooled equal:", "switches equal the reference:",
                   "unpooled equals the reference:", "pooled values survive unpooling:"):
        assert line_starting(built_book, UNPOOLING, prefix).endswith("True"), prefix
    assert line_starting(built_book, UNPOOLING, "shapes:") == "shapes: (3, 6, 6, 2) -> (3, 3, 3, 2) -> (3, 6, 6, 2)"
    # "The channel-1 switches are odd numbers, the channel-0 ones even"
    channel_0 = numbers_in(line_starting(built_book, UNPOOLING, "sample 0, channel 0 switches:"))[2:]
    channel_1 = numbers_in(line_starting(built_book, UNPOOLING, "sample 0, channel 1 switches:"))[2:]
    assert len(channel_0) == len(channel_1) == 9
    assert all(s % 2 == 0 for s in channel_0) and all(s % 2 == 1 for s in channel_1)


def test_unpooling_ties_and_odd_sizes(built_book):
    assert line_starting(built_book, UNPOOLING, "sum of the input:") == (
        "sum of the input: 35.0  sum after pool and unpool: 13.0"
    )
    assert line_starting(built_book, UNPOOLING, "pooled: (1, 2, 2, 1)").endswith("switches: [ 6  8 16 18]")
    assert line_starting(built_book, UNPOOLING, "unpooling to 4x4 fails:").endswith("InvalidArgumentError")
    assert line_starting(built_book, UNPOOLING, "unpooled, size from the input:").endswith("(1, 5, 5, 1)")
    assert line_starting(built_book, UNPOOLING, "equals the reference:").endswith("True")


def test_unpooling_encoder_decoder_shape_walk(built_book):
    table = table_with(built_book, UNPOOLING, "pool1")
    shapes = {row[0]: row[2] for row in table}
    assert shapes["image"] == "(32, 32, 1)"
    assert shapes["pool1"] == "(16, 16, 8) / (16, 16, 8)"
    assert shapes["pool3"] == "(4, 4, 32) / (4, 4, 32)"
    assert shapes["unpool3"] == "(8, 8, 32)" and shapes["deconv3"] == "(8, 8, 16)"
    assert shapes["unpool1"] == "(32, 32, 8)" and shapes["class_scores"] == "(32, 32, 3)"
    assert line_starting(built_book, UNPOOLING, "input (2, 32, 32, 1) -> output (2, 32, 32, 3)")
    assert line_starting(built_book, UNPOOLING, "class probabilities sum to 1").endswith("True")


# --- Choosing a method ------------------------------------------------------------------------

CHOOSING = "choosing-a-method"


def test_choosing_table_supports_the_reading_of_results(built_book):
    table = table_with(built_book, CHOOSING, "transposed conv")
    assert [row[0] for row in table] == [
        "nearest + conv", "bilinear + conv", "transposed conv", "pixel shuffle", "max unpooling + conv",
    ]
    rows = {row[0]: [float(value.replace(",", "")) for value in row[1:]] for row in table}
    parameters = {m: r[0] for m, r in rows.items()}
    error = {m: r[1] for m, r in rows.items()}
    untrained = {m: r[2] for m, r in rows.items()}
    trained = {m: r[3] for m, r in rows.items()}
    milliseconds = {m: r[4] for m, r in rows.items()}
    data_energy = numbers_in(line_starting(built_book, CHOOSING, "checkerboard energy of the test digits"))[-1]

    assert parameters["pixel shuffle"] == 15_417
    assert {p for m, p in parameters.items() if m != "pixel shuffle"} == {4_953}
    # Every method has its own measured time (rounded to whole milliseconds).
    assert all(ms >= 1 for ms in milliseconds.values()), milliseconds
    # Unpooling wins on error; pixel shuffle is best of the rest.
    assert min(error, key=error.get) == "max unpooling + conv"
    assert min((m for m in error if m != "max unpooling + conv"), key=error.get) == "pixel shuffle"
    # Transposed conv and pixel shuffle start with the strongest checkerboards; resizing the smoothest.
    ranked = sorted(untrained, key=untrained.get, reverse=True)
    assert set(ranked[:2]) == {"transposed conv", "pixel shuffle"}
    assert set(ranked[-2:]) == {"nearest + conv", "bilinear + conv"}
    # After training all are small, below their start and at most the digits' own level.
    for method in rows:
        assert trained[method] < untrained[method] / 2
        assert trained[method] <= data_energy
    # "errors close to the transposed convolution's"
    for method in ("nearest + conv", "bilinear + conv"):
        assert abs(error[method] - error["transposed conv"]) < 0.5 * error["transposed conv"]


def test_choosing_summary_lines(built_book):
    assert line_starting(built_book, CHOOSING, "train (1500, 8, 8, 1)").startswith(
        "train (1500, 8, 8, 1)  test (297, 8, 8, 1)"
    )
    assert line_starting(built_book, CHOOSING, "lowest test error:").endswith("max unpooling + conv")
    assert line_starting(built_book, CHOOSING, "lowest test error without switches:").endswith("pixel shuffle")
    ratio = numbers_in(line_starting(built_book, CHOOSING, "most parameters:"))[-1]
    assert 2.5 < ratio < 3.5  # "about three times as many parameters"
    assert line_starting(built_book, CHOOSING, "highest checkerboard energy before training:").endswith(
        "transposed conv, pixel shuffle"
    )
    assert re.fullmatch(r"trained 5 autoencoders side by side in \d+\.\d s",
                        line_starting(built_book, CHOOSING, "trained 5"))


# --- Keras 2 -> Keras 3 -----------------------------------------------------------------------

KERAS3 = "keras2-to-keras3"


def deliberate_errors(built_book):
    """The text of each cell tagged raises-exception, in order."""
    return [cell.get_text() for cell in built_book.cells(KERAS3, "raises-exception")]


def test_keras3_page_shows_each_difference(built_book):
    assert line_starting(built_book, KERAS3, "tf.keras is Keras 3:").endswith("True")
    assert "Do not pass an `input_shape`" in line_starting(built_book, KERAS3, "UserWarning from Keras")
    assert line_starting(built_book, KERAS3, "output shape:") == "output shape: (None, 4, 4, 1)"
    assert built_book.has_array(KERAS3, [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])
    text = " ".join(built_book.output_lines(KERAS3))
    assert "Total params: 324,353" in text  # the live summary
    assert line_starting(built_book, KERAS3, "parameters:") == "parameters: 324,353"
    working = {line.split(":")[0] for line in built_book.output_lines(KERAS3) if line.endswith(": works")}
    failing = {line.split(":")[0] for line in built_book.output_lines(KERAS3)
               if line.endswith(": ValueError when called")}
    assert working == {"area", "bicubic", "bilinear", "lanczos3", "lanczos5", "nearest"}
    assert failing == {"gaussian", "mitchellcubic"}
    assert "Expected of one" in text
    assert line_starting(built_book, KERAS3, "Conv2DTranspose, output_padding=None:").endswith("(10, 10)")
    assert line_starting(built_book, KERAS3, "Conv2DTranspose, output_padding=0:").endswith("(9, 9)")
    assert line_starting(built_book, KERAS3, "tensorflow_addons installed:").endswith("False")


def test_keras3_deliberate_errors_are_the_documented_ones(built_book):
    errors = deliberate_errors(built_book)
    expected = [
        "'list' object has no attribute 'shape'",
        "must be strictly less than",
        "No module named 'tensorflow_addons'",
        "No module named 'keras.layers.convolutional'",
        "module 'tensorflow' has no attribute 'truncated_normal'",
    ]
    assert len(errors) == len(expected)
    for text, message in zip(errors, expected):
        assert message in " ".join(text.split()), message
