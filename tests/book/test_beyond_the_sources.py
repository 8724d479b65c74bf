"""Part II of the book ("Beyond the sources"): the values and claims each chapter's prose relies
on, read from the strictly built HTML (fixture ``built_book``), plus plots with alt text and
folded answers.
"""
from __future__ import annotations

import pytest

from tests.book.book_helpers import numbers_in

pytestmark = pytest.mark.book

# Each chapter's plots: at least this many images produced by its cells.
PLOTS = {
    "checkerboard-artifacts": 5,
    "unpooling": 3,
    "volumes-3d": 5,
    "keras2-to-keras3": 0,
}


def line_starting(built_book, name, prefix):
    """The first output line of chapter ``name`` that starts with ``prefix``."""
    for line in built_book.output_lines(name):
        if line.startswith(prefix):
            return line
    raise AssertionError(f"{name}: no output line starts with {prefix!r}")


def table_with(built_book, name, first_cell):
    """The first printed table of ``name`` that has a row starting with ``first_cell``."""
    for table in built_book.tables(name):
        if any(row and row[0] == first_cell for row in table):
            return table
    raise AssertionError(f"{name}: no table with a row starting {first_cell!r}")


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


# --- Checkerboard artifacts -------------------------------------------------------------------

CHECKERBOARD = "checkerboard-artifacts"


def test_checkerboard_overlap_counts(built_book):
    assert built_book.has_array(CHECKERBOARD, [1, 1, 2, 1, 2, 1, 2, 1, 1])
    assert line_starting(built_book, CHECKERBOARD, "Keras agrees with the counts").endswith("True")
    table = table_with(built_book, CHECKERBOARD, "2")
    assert len(table) == 12
    for kernel, stride, period, even in table:
        counts = [int(c) for c in period.split()]
        assert len(counts) == int(stride)
        # The prose: even exactly when the stride divides the kernel size.
        assert even == ("yes" if int(kernel) % int(stride) == 0 else "no")
        assert (min(counts) == max(counts)) == (even == "yes")


def test_checkerboard_at_initialisation(built_book):
    assert line_starting(built_book, CHECKERBOARD, "transposed:").endswith("305 parameters")
    assert line_starting(built_book, CHECKERBOARD, "resize:").endswith("305 parameters")
    # A periodic pattern inside vs one flat value.
    assert numbers_in(line_starting(built_book, CHECKERBOARD, "distinct values inside, transposed"))[-1] > 1
    assert numbers_in(line_starting(built_book, CHECKERBOARD, "distinct values inside, resize"))[-1] == 1


def test_checkerboard_during_training(built_book):
    table = table_with(built_book, CHECKERBOARD, "0")
    steps = [int(row[0]) for row in table]
    assert steps == [0, 10, 20, 50, 100]
    energy_t, energy_r, error_t, error_r, pattern_t, pattern_r = (
        [float(row[i]) for row in table] for i in range(1, 7)
    )
    target = numbers_in(line_starting(built_book, CHECKERBOARD, "checkerboard energy of the targets"))[-1]
    # "most of the transposed generator's output variation ... several times the resize one's"
    assert energy_t[0] > 0.5 and energy_t[0] > 3 * energy_r[0]
    # "after 20 steps its share is still more than ten times the resize model's"
    assert energy_t[2] > 10 * energy_r[2]
    # The printed ratios, unrounded by the table, say the same.
    assert numbers_in(line_starting(built_book, CHECKERBOARD, "ratio transposed / resize at init"))[-1] > 3
    assert numbers_in(line_starting(built_book, CHECKERBOARD, "ratio transposed / resize after 20"))[-1] > 10
    # "Training removes most of it" and "both end up near the level of the targets"
    assert energy_t[-1] < energy_t[0] / 100
    assert max(energy_t[-1], energy_r[-1]) < 2 * target
    assert error_t[-1] < error_t[0] / 10 and error_r[-1] < error_r[0] / 10
    # On a constant input: resize never draws a pattern; the transposed one shrinks, never vanishes.
    assert all(value == 0 for value in pattern_r)
    assert 0.01 < pattern_t[-1] < pattern_t[0] / 2


def test_checkerboard_fixes(built_book):
    assert line_starting(built_book, CHECKERBOARD, "keras.ops.depth_to_space equals").endswith("True")
    assert built_book.has_array(CHECKERBOARD, [[1, 5, 2, 6], [9, 13, 10, 14], [3, 7, 4, 8], [11, 15, 12, 16]])
    for r in (2, 3):
        line = line_starting(built_book, CHECKERBOARD, f"r = {r}:")
        assert float(line.rsplit(" ", 1)[1]) < 1e-5
    assert numbers_in(line_starting(built_book, CHECKERBOARD, "largest difference inside"))[-1] == 0
    assert numbers_in(line_starting(built_book, CHECKERBOARD, "largest difference at edges"))[-1] == 1.75


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


# --- Volumes ----------------------------------------------------------------------------------

VOLUMES = "volumes-3d"


def test_volumes_layer_shapes_from_the_brief(built_book):
    # Table cells come without the spaces of their code: compare without spaces.
    rows = {row[0].replace(" ", ""): row[1:] for row in table_with(built_book, VOLUMES, "UpSampling3D()")}
    assert rows["UpSampling3D()"] == ["(1, 4, 4, 4, 1)", "0"]
    assert rows["Conv3DTranspose(1,3,strides=2,padding='same')"] == ["(1, 4, 4, 4, 1)", "28"]
    assert rows["Conv3DTranspose(1,3,strides=2,padding='valid')"] == ["(1, 5, 5, 5, 1)", "28"]
    upsampling_3d = line_starting(built_book, VOLUMES, "UpSampling3D:")
    assert "interpolation" not in upsampling_3d
    assert "interpolation" in line_starting(built_book, VOLUMES, "UpSampling2D:")


def test_volumes_checks_and_drills(built_book):
    assert line_starting(built_book, VOLUMES, "equals the NumPy reference:").endswith("True")
    assert line_starting(built_book, VOLUMES, "equals the NumPy scatter-add:").endswith("True")
    assert line_starting(built_book, VOLUMES, "largest count:") == (
        "largest count: 8 at (depth, row, column) (2, 2, 2)"
    )
    drills = table_with(built_book, VOLUMES, "(1, 3, 3)")
    assert len(drills) == 7 and all(row[-1] == "yes" for row in drills)
    assert line_starting(built_book, VOLUMES, "Keras and the formula agree").endswith("True")
    assert line_starting(built_book, VOLUMES, "UpSampling3D(size=(1, 2, 2)):").endswith("(1, 4, 12, 16, 8)")
    text = " ".join(built_book.output_lines(VOLUMES))
    assert "(3, 3, 3), strides=(1, 2, 2)): (1, 4, 12, 16, 16), 3,472 parameters" in text
    assert "Conv2DTranspose(16, 3, strides=2): 1,168 parameters" in text
    assert line_starting(built_book, VOLUMES, "non-zero voxels after unpooling:") == (
        "non-zero voxels after unpooling: 8 of 64"
    )


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
