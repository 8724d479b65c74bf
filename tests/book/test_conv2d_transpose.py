"""Conv2DTranspose: the values and claims the chapter's prose relies on, read from the strictly
built HTML (fixture ``built_book``)."""
from __future__ import annotations

import re

import pytest

from tests.book.book_helpers import line_starting, numbers_in, objectives_and_summary

pytestmark = pytest.mark.book

NAME = "conv2d-transpose"
STRETCHED = [[1, 0, 2], [0, 0, 0], [3, 0, 4]]
ONE_BY_ONE_OUTPUT = [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]
OVERLAP_ODD = "0 0 0 0 1 1 2 1 2 1 2 1 1 0 0 0"
OVERLAP_EVEN = "0 0 0 0 2 2 4 2 4 2 4 2 2 0 0 0"


def test_objectives_are_answered_by_the_summary(built_book):
    objectives, summary = objectives_and_summary(built_book, NAME)
    assert len(objectives) == len(summary) == 5


def test_conv2d_transpose_values(built_book):
    text = built_book.chapter_text(NAME)
    # The stretched input (s - 1 = 1 zero between pixels) and the 1x1 layer's output, which
    # is that array with one zero row and column appended.
    assert built_book.has_array(NAME, STRETCHED)
    assert built_book.has_array(NAME, ONE_BY_ONE_OUTPUT)
    assert "Total params: 2" in text
    assert "AttributeError" in text and "'list' object has no attribute 'shape'" in text
    tile = [[1, 10, 2, 20], [100, 1000, 200, 2000], [3, 30, 4, 40], [300, 3000, 400, 4000]]
    assert built_book.has_array(NAME, tile)
    # In 3000 the weight is told by the power of ten (1000 = d), not by a digit.
    assert "the power of ten says which kernel weight" in text
    valid_vs_same, lengths, with_output_padding = built_book.tables(NAME)[:3]
    assert valid_vs_same == [["2x2", "5x5", "4x4"], ["5x5", "11x11", "10x10"]]
    # The output-length tables: Keras and the formula agree in every row.
    assert len(lengths) == 12 and len(with_output_padding) == 6
    for kernel, stride, valid_keras, valid_formula, same_keras, same_formula in lengths:
        assert valid_keras == valid_formula and same_keras == same_formula
    for *_, keras_length, formula_length in with_output_padding:
        assert keras_length == formula_length
    assert "Total params: 324,353" in text and re.search(r"Conv2DTranspose\s+1,153", text)
    # The overlap pattern of the 8x8 block image.
    rows = {
        int(match[1]): match[2].strip()
        for line in built_book.output_lines(NAME)
        if (match := re.match(r"row\s+(\d+):\s+([\d ]+)$", line))
    }
    assert rows == {4: OVERLAP_ODD, 5: OVERLAP_ODD, 6: OVERLAP_EVEN, 7: OVERLAP_ODD,
                    8: OVERLAP_EVEN, 9: OVERLAP_ODD, 10: OVERLAP_EVEN, 11: OVERLAP_ODD,
                    12: OVERLAP_ODD}
    # The chapter hands the inner workings on to the next one, with a link.
    links = {a["href"].split("#")[0] for a in built_book.article(NAME).select("a[href]")}
    assert "inside-conv2d-transpose.html" in links


def test_equivalent_direct_convolution(built_book):
    # conv_arithmetic: k' = k, s' = 1, p' = k - p - 1, a extra zeros; o' = s(i'-1) + a + k - 2p.
    table = built_book.tables(NAME)[3]
    assert len(table) == 6
    for row in table:
        n, k, s, p, a, k_eq, s_eq, p_eq, length = (int(v) for v in row[:9])
        assert (k_eq, s_eq, p_eq) == (k, 1, k - p - 1)
        assert 0 <= a < s
        assert length == s * (n - 1) + a + k - 2 * p
        assert float(row[9]) < 1e-5
    # Every case of the table is a different combination, and padding and a both vary.
    assert len({tuple(row[:5]) for row in table}) == 6
    assert {row[3] for row in table} >= {"0", "1", "2"} and {row[4] for row in table} >= {"0", "1", "2"}


def test_random_kernels_divisible_or_not_all_draw_a_checkerboard(built_book):
    # The contradiction this catches: "kernel sizes that are multiples of the stride, such as
    # 2x2 or 4x4, give no checkerboard on uniform inputs".
    for size in (2, 3, 4):
        line = line_starting(built_book, NAME, f"random {size}x{size} kernel:")
        assert numbers_in(line)[-1] == 4, line
    answers = built_book.article(NAME).select("details.sd-dropdown")[-1].get_text()
    assert "does not by itself" in built_book.chapter_text(NAME)
    assert "four values" in " ".join(answers.split())


def test_dcgan_kernel_sizes(built_book):
    text = built_book.chapter_text(NAME)
    assert "5x5 kernels in the paper" in text and "4x4 kernels in the widely copied" in text


def test_even_kernel_with_same_padding_and_no_output_padding_fails(built_book):
    # The prose: Keras asks for (n - 1) s = 8 pixels; TensorFlow's gradient convolution maps
    # them back to 4, not the input's 5, and refuses.
    line = line_starting(built_book, NAME, "InvalidArgumentError:")
    assert line == ("InvalidArgumentError: Size of out_backprop doesn't match computed: "
                    "actual = 5, computed = 4"), line
