"""Volumes (3D): the values and claims the chapter's prose relies on, read from the strictly
built HTML (fixture ``built_book``)."""
from __future__ import annotations

import re

import pytest

from tests.book.book_helpers import line_starting, objectives_and_summary, table_with

pytestmark = pytest.mark.book

NAME = "volumes-3d"


def shape_in(line: str) -> tuple[int, ...]:
    """The last tuple printed on ``line``."""
    return tuple(int(v) for v in re.findall(r"\(([\d, ]+)\)", line)[-1].split(","))


def test_objectives_are_answered_by_the_summary(built_book):
    objectives, summary = objectives_and_summary(built_book, NAME)
    assert len(objectives) == len(summary) == 5


def test_volumes_layer_shapes_from_the_brief(built_book):
    # Table cells come without the spaces of their code: compare without spaces.
    table = table_with(built_book, NAME, "UpSampling3D()")
    rows = {row[0].replace(" ", ""): row[1:] for row in table}
    assert rows["UpSampling3D()"] == ["(1, 4, 4, 4, 1)", "0"]
    assert rows["Conv3DTranspose(1,3,strides=2,padding='same')"] == ["(1, 4, 4, 4, 1)", "28"]
    assert rows["Conv3DTranspose(1,3,strides=2,padding='valid')"] == ["(1, 5, 5, 5, 1)", "28"]
    upsampling_3d = line_starting(built_book, NAME, "UpSampling3D:")
    assert "interpolation" not in upsampling_3d
    assert "interpolation" in line_starting(built_book, NAME, "UpSampling2D:")


def test_volumes_checks_and_drills(built_book):
    assert line_starting(built_book, NAME, "equals the NumPy reference:").endswith("True")
    assert line_starting(built_book, NAME, "equals the NumPy scatter-add:").endswith("True")
    assert line_starting(built_book, NAME, "largest count:") == (
        "largest count: 8 at (depth, row, column) (2, 2, 2)"
    )
    drills = table_with(built_book, NAME, "(1, 3, 3)")
    assert len(drills) == 7 and all(row[-1] == "yes" for row in drills)
    assert line_starting(built_book, NAME, "Keras and the formula agree").endswith("True")
    in_plane = line_starting(built_book, NAME, "UpSampling3D(size=(1, 2, 2)):")
    assert in_plane.endswith("(1, 4, 12, 16, 8)")
    text = " ".join(built_book.output_lines(NAME))
    assert "(3, 3, 3), strides=(1, 2, 2)): (1, 4, 12, 16, 16), 3,472 parameters" in text
    assert "Conv2DTranspose(16, 3, strides=2): 1,168 parameters" in text
    assert line_starting(built_book, NAME, "non-zero voxels after unpooling:") == (
        "non-zero voxels after unpooling: 8 of 64"
    )


def test_divisible_kernel_still_gives_eight_values(built_book):
    # The claim this replaces: "choose a kernel size divisible by the stride" as a fix.
    for size in (3, 4):
        line = line_starting(built_book, NAME, f"random {size}x{size}x{size} kernel:")
        assert "8 distinct interior values" in line and line.endswith("True"), line
    # The objective's condition: eight for a random kernel at least as large as the stride,
    # while a 1x1x1 kernel reaches one phase of eight (two values, the cell of ones kernels).
    text = " ".join(built_book.chapter_text(NAME).split())
    assert "eight for a random kernel at least as large as the stride" in text
    assert "of any size" not in text


def test_conv3d_does_not_keep_the_spatial_size_by_default(built_book):
    default = line_starting(built_book, NAME, "Conv3D(4, 3) on (1, 8, 8, 8, 1):")
    same = line_starting(built_book, NAME, "Conv3D(4, 3, padding='same') on")
    strided = line_starting(built_book, NAME, "Conv3D(4, 3, padding='same', strides=2) on")
    assert shape_in(default) == (1, 6, 6, 6, 4)
    assert shape_in(same) == (1, 8, 8, 8, 4)
    assert shape_in(strided) == (1, 4, 4, 4, 4)


def test_conv3d_transpose_outputs_filters_channels(built_book):
    shapes = {}
    for filters, stride in ((16, 2), (4, 2), (1, 2), (8, 1)):
        # The whole printed line, not the table row naming the same layer earlier on.
        prefix = f"Conv3DTranspose({filters}, 3, strides={stride}, padding='same') on"
        shapes[filters] = shape_in(line_starting(built_book, NAME, prefix))
    # From 4 input channels: more, as many, fewer; stride 1 'same' keeps the size.
    assert [shape[-1] for shape in shapes.values()] == [16, 4, 1, 8]
    assert shapes[16][1:4] == (8, 8, 8) and shapes[8][1:4] == (4, 4, 4)


def test_at_most_eight_values_fewer_when_sub_kernel_sums_are_equal(built_book):
    # "one value per phase ... up to eight": kernels of ones give as many values as there are
    # distinct tap counts (1x1x1: 1 and the seven empty phases; 3x3x3: 1, 2, 4, 8; 4x4x4: 8).
    expected = {1: "2 distinct interior value(s): [0.0, 1.0]",
                3: "4 distinct interior value(s): [1.0, 2.0, 4.0, 8.0]",
                4: "1 distinct interior value(s): [8.0]"}
    for size, values in expected.items():
        line = line_starting(built_book, NAME, f"all-ones {size}x{size}x{size} kernel:")
        assert line.endswith(values), line


def test_3d_ties_keep_the_first_maximum_in_depth_row_column_order(built_book):
    assert line_starting(built_book, NAME, "the maximum is kept at") == (
        "the maximum is kept at (depth, row, column) [(0, 1, 1)] only"
    )
    assert line_starting(built_book, NAME, "equals the reference:").endswith("True")
