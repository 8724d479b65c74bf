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
