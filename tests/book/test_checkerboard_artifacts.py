"""Checkerboard artifacts: the values and claims the chapter's prose relies on, read from the
strictly built HTML (fixture ``built_book``)."""
from __future__ import annotations

import pytest

from tests.book.book_helpers import line_starting, numbers_in, objectives_and_summary, table_with

pytestmark = pytest.mark.book

NAME = "checkerboard-artifacts"


def number_after(built_book, prefix: str) -> float:
    return numbers_in(line_starting(built_book, NAME, prefix))[-1]


def output_after(built_book, marker: str) -> str:
    """The text of the first cell output that contains ``marker``, from the marker on."""
    for text in built_book.outputs(NAME):
        if marker in text:
            return text[text.index(marker) + len(marker):]
    raise AssertionError(f"{NAME}: no output contains {marker!r}")


def test_objectives_are_answered_by_the_summary(built_book):
    objectives, summary = objectives_and_summary(built_book, NAME)
    assert len(objectives) == len(summary) == 5


def test_no_dcgan_claim_about_3x3_kernels(built_book):
    # DCGAN used 5x5 kernels (paper) or 4x4 (the Torch code); the chapter once called k = 3 typical.
    assert "DCGAN" not in built_book.chapter_text(NAME)


def test_overlap_counts(built_book):
    assert built_book.has_array(NAME, [1, 1, 2, 1, 2, 1, 2, 1, 1])
    assert line_starting(built_book, NAME, "Keras agrees with the counts").endswith("True")
    table = table_with(built_book, NAME, "2")
    assert len(table) == 12
    for kernel, stride, period, even in table:
        counts = [int(c) for c in period.split()]
        assert len(counts) == int(stride)
        # The prose: even exactly when the stride divides the kernel size.
        assert even == ("yes" if int(kernel) % int(stride) == 0 else "no")
        assert (min(counts) == max(counts)) == (even == "yes")


def test_random_kernels_of_sizes_2_3_4_all_give_four_interior_values(built_book):
    # The contradiction this catches: "a kernel size divisible by the stride gives no
    # checkerboard". Equal tap counts, four different sums, four values, for k = 2, 3 and 4.
    rows = {row[0]: row[1:] for row in table_with(built_book, NAME, "4x4")}
    assert list(rows) == ["2x2", "3x3", "4x4"]
    taps = {k: [float(v) for v in row[0].split(" / ")] for k, row in rows.items()}
    assert taps == {"2x2": [1, 1, 1, 1], "3x3": [4, 2, 2, 1], "4x4": [4, 4, 4, 4]}
    for kernel, (_, sums, distinct, agree) in rows.items():
        assert int(distinct) == 4, kernel
        assert len(set(sums.split(" / "))) == 4, kernel
        assert agree == "True", kernel


def test_positive_kernel_darker_where_more_stamps_land(built_book):
    # [0.1, 1, 0.1]: the phase covered by four stamps gets 0.04, the one covered by one gets 1.
    counts = numbers_in(output_after(built_book, "stamps covering each phase:"))[:4]
    keras_period = numbers_in(output_after(built_book, "one 2x2 period of the Keras output"))
    keras_period = keras_period[-4:]  # after the "6-7" of the label
    assert counts == [4, 2, 2, 1]
    assert keras_period == pytest.approx([0.04, 0.2, 0.2, 1.0])
    most, fewest = counts.index(max(counts)), counts.index(min(counts))
    assert keras_period[most] < keras_period[fewest]


def test_balanced_kernel_is_flat(built_book):
    sums = line_starting(built_book, NAME, "sub-kernel sums, balanced:").split(":")[1].split(" / ")
    assert len({s.strip() for s in sums}) == 1
    assert number_after(built_book, "distinct interior values, balanced kernel:") == 1


def test_at_initialisation(built_book):
    assert line_starting(built_book, NAME, "transposed:").endswith("305 parameters")
    assert line_starting(built_book, NAME, "resize:").endswith("305 parameters")
    # "a periodic pattern" of four phases inside vs one flat value.
    assert number_after(built_book, "distinct values inside, transposed conv:") == 4
    assert number_after(built_book, "distinct values inside, resize + conv:") == 1


def test_during_training(built_book):
    table = table_with(built_book, NAME, "0")
    steps = [int(row[0]) for row in table]
    assert steps == [0, 10, 20, 50, 100]
    energy_t, energy_r, error_t, error_r, pattern_t, pattern_r = (
        [float(row[i]) for row in table] for i in range(1, 7)
    )
    target = number_after(built_book, "checkerboard energy of the targets")
    # "about two thirds of the transposed generator's output variation ... several times"
    assert 0.6 < energy_t[0] < 0.72 and energy_t[0] > 3 * energy_r[0]
    # "Training removes most of it within ten steps"
    assert energy_t[1] < energy_t[0] / 2 and energy_t[-1] < energy_t[0] / 100
    # "after 20 steps its share is still more than ten times the resize model's"
    assert energy_t[2] > 10 * energy_r[2]
    # The printed ratios, unrounded by the table, say the same.
    assert number_after(built_book, "ratio transposed / resize at init") > 3
    assert number_after(built_book, "ratio transposed / resize after 20") > 10
    # "After 100 steps both shares are below the targets' own share"
    assert energy_t[-1] < target and energy_r[-1] < target
    assert error_t[-1] < error_t[0] / 10 and error_r[-1] < error_r[0] / 10
    # On a constant input: zero for resize at every checkpoint; the transposed pattern
    # "shrinks ... but is still there".
    assert all(value == 0 for value in pattern_r)
    shrink = number_after(built_book, "transposed pattern after 100 steps")
    assert shrink == pytest.approx(pattern_t[-1] / pattern_t[0], abs=0.01)
    assert 0.01 < pattern_t[-1] and shrink < 0.5
    # The reason given: the loss does punish the pattern on the training images (the energy
    # falls), it just does not reach the constant input; not "the loss never sees it".
    text = built_book.chapter_text(NAME)
    assert "The loss does punish phase differences" in text
    assert "never sees this input" not in text


def test_stacked_layers_compound(built_book):
    counts = [number_after(built_book, f"{depth} transposed layer(s):") for depth in (1, 2, 3)]
    assert counts == [4, 16, 64]
    sizes = [line_starting(built_book, NAME, f"{depth} transposed layer(s):") for depth in (1, 2, 3)]
    assert ["20x20" in sizes[0], "40x40" in sizes[1], "80x80" in sizes[2]] == [True] * 3
    resize = line_starting(built_book, NAME, "3 x (resize + conv):")
    assert "80x80" in resize and "1 distinct" in resize


def test_strided_convolution_gradients_are_checkerboards(built_book):
    lines = {size: line_starting(built_book, NAME, f"{size}x{size} kernel:")
             for size in (1, 3, 4)}
    assert "2 distinct" in lines[1]  # the weight and zero: three pixels in four get nothing
    assert "4 distinct" in lines[3] and "4 distinct" in lines[4]
    assert all(line.endswith("True") for line in lines.values())


def test_fixes(built_book):
    # Fix 1: resize + conv is a transposed convolution whose sub-kernel sums all equal the
    # convolution kernel's sum.
    assert number_after(built_book, "largest difference from UpSampling2D + Conv2D") < 1e-5
    sums = numbers_in(line_starting(built_book, NAME, "sub-kernel sums of the equivalent kernel"))
    assert len(sums) == 4 and len(set(sums)) == 1
    assert sums[0] == number_after(built_book, "sum of the convolution kernel:")
    # Fix 2: pixel shuffle, and ICNR.
    assert line_starting(built_book, NAME, "keras.ops.depth_to_space equals").endswith("True")
    assert built_book.has_array(NAME, [[1, 5, 2, 6], [9, 13, 10, 14], [3, 7, 4, 8], [11, 15, 12, 16]])
    for r in (2, 3):
        assert number_after(built_book, f"r = {r}:") < 1e-5
    assert number_after(built_book, "pixel shuffle, random init:") == 4
    assert number_after(built_book, "pixel shuffle, ICNR init:") == 1
    assert number_after(built_book, "ICNR vs Conv2D + nearest UpSampling2D") < 1e-5
    # Fix 3: the bilinear kernel's sub-kernels each sum to one; interior equal, border not.
    bilinear = line_starting(built_book, NAME, "sub-kernel sums of the bilinear kernel:")
    assert bilinear.endswith("1.00 / 1.00 / 1.00 / 1.00")
    assert number_after(built_book, "largest difference inside") == 0
    assert number_after(built_book, "largest difference at edges") == 1.75
