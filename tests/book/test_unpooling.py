"""Chapter "Unpooling": the values and claims its prose relies on, read from the built book."""
from __future__ import annotations

import pytest

from tests.book.book_helpers import numbers_in

pytestmark = pytest.mark.book

NAME = "unpooling"


def test_switches_of_the_example_and_their_pixels(built_book):
    assert built_book.line_starting(NAME, "switch -> (row, column):") == (
        "switch -> (row, column): {5: (1, 1), 3: (0, 3), 8: (2, 0), 10: (2, 2)}")
    (figure,) = [img for img in built_book.images(NAME) if "flat indices 5 3, 8 10" in img["alt"]]
    # The figure writes the input, the pooled map and the switches.
    assert built_book.figure_values(figure, NAME)[16:] == ["6", "8", "9", "7", "5", "3", "8", "10"]


def test_unpooling_restores_positions_not_values(built_book):
    # "a quarter of its pixels carry the maxima ... the other three quarters are zero"
    assert built_book.line_starting(NAME, "non-zero pixels after unpooling:") == (
        "non-zero pixels after unpooling: 4 of 16")
    # "UpSampling2D copies each maximum into all four pixels of its window"
    assert built_book.has_array(NAME, [[6, 6, 8, 8], [6, 6, 8, 8], [9, 9, 7, 7], [9, 9, 7, 7]])


def test_keras_layers_match_the_reference_on_batches_and_channels(built_book):
    for prefix in ("switches equal:", "unpooled equal:", "switches equal the reference:",
                   "unpooled equals the reference:", "pooled values survive unpooling:"):
        assert built_book.line_starting(NAME, prefix).endswith("True"), prefix
    assert built_book.line_starting(NAME, "shapes:") == (
        "shapes: (3, 6, 6, 2) -> (3, 3, 3, 2) -> (3, 6, 6, 2)")
    # "The channel-1 switches are odd numbers, the channel-0 ones even"
    channel_0 = numbers_in(built_book.line_starting(NAME, "sample 0, channel 0 switches:"))[2:]
    channel_1 = numbers_in(built_book.line_starting(NAME, "sample 0, channel 1 switches:"))[2:]
    assert len(channel_0) == len(channel_1) == 9
    assert all(s % 2 == 0 for s in channel_0) and all(s % 2 == 1 for s in channel_1)


def test_a_negative_maximum_does_not_survive_a_second_pooling(built_book):
    line = built_book.line_starting(NAME, "pooled: [-1.]")
    assert numbers_in(line) == [-1, 0]


def test_ties_keep_the_first_maximum_and_the_gradient_goes_there(built_book):
    assert built_book.line_starting(NAME, "sum of the input:") == (
        "sum of the input: 35.0  sum after pool and unpool: 13.0")
    assert built_book.has_array(NAME, [[1, 0, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
    assert built_book.line_starting(NAME, "non-zero at the switches only:").endswith("True")


def test_odd_sizes_need_the_pre_pooling_shape(built_book):
    assert built_book.line_starting(NAME, "pooled: (1, 2, 2, 1)").endswith("switches: [ 6  8 16 18]")
    assert built_book.line_starting(NAME, "switches past the 16th pixel:") == (
        "switches past the 16th pixel: 2")
    assert built_book.line_starting(NAME, "unpooling to 4x4 fails:").endswith("InvalidArgumentError")
    assert built_book.line_starting(NAME, "unpooled, size from the input:").endswith("(1, 5, 5, 1)")
    assert built_book.line_starting(NAME, "equals the reference:").endswith("True")


def test_encoder_decoder_shape_walk(built_book):
    shapes = {row[0]: row[2] for row in built_book.table_with(NAME, "pool1")}
    assert shapes["image"] == "(32, 32, 1)"
    assert shapes["pool1"] == "(16, 16, 8) / (16, 16, 8)"
    assert shapes["pool3"] == "(4, 4, 32) / (4, 4, 32)"
    # "The decoder's transposed convolutions have stride 1: unpooling does the growing"
    assert shapes["unpool3"] == "(8, 8, 32)" and shapes["deconv3"] == "(8, 8, 16)"
    assert shapes["unpool2"] == "(16, 16, 16)" and shapes["deconv2"] == "(16, 16, 8)"
    assert shapes["unpool1"] == "(32, 32, 8)" and shapes["class_scores"] == "(32, 32, 3)"
    assert built_book.line_starting(NAME, "input (2, 32, 32, 1) -> output (2, 32, 32, 3)")
    assert built_book.line_starting(NAME, "class probabilities sum to 1").endswith("True")


def test_unpooling_a_map_of_another_shape_is_refused(built_book):
    line = built_book.line_starting(NAME, "ValueError:")
    assert "(None, 4, 4, 32)" in line and "(None, 4, 4, 16)" in line


def test_practice_answers_are_checked(built_book):
    assert built_book.line_starting(NAME, "question 1:") == (
        "question 1: (row, column, channel) = (2, 1, 2)")
    assert built_book.line_starting(NAME, "question 3:") == "question 3: switch 1"
    line = built_book.line_starting(NAME, "question 4:")
    assert "pooled (3, 3)" in line and "past a 6x6 map: [36 38 40]" in line
    assert line.endswith("with the 7x7 input: (7, 7)")


def test_pooling_windows_outlined_and_switches_drawn_as_arrows(built_book):
    images = {image["alt"]: image for image in built_book.images(NAME)}
    arrows = [alt for alt in images if "joined by arrows" in alt]
    assert len(arrows) == 1
    svg = (built_book.page_path(NAME).parent / images[arrows[0]]["src"]).read_text()
    assert svg.count('id="switch-arrow"') == 4 and svg.count('id="pooling-window"') == 4
