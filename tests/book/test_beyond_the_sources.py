"""Part II of the book ("Beyond the sources"): the values and claims each chapter's prose relies
on, read from the strictly built HTML (fixture ``built_book``), plus plots with alt text and
folded answers.
"""
from __future__ import annotations

import re

import pytest

from tests.book.book_helpers import numbers_in

pytestmark = pytest.mark.book

# Each chapter's plots: at least this many images produced by its cells.
PLOTS = {
    "checkerboard-artifacts": 5,
    "unpooling": 3,
    "volumes-3d": 5,
    "choosing-a-method": 1,
    "keras2-to-keras3": 0,
}


def line_starting(built_book, name, prefix):
    return built_book.line_starting(name, prefix)


def table_with(built_book, name, first_cell):
    return built_book.table_with(name, first_cell)


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
