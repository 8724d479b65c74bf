"""Every page read as a learner reads it, at 1280 px and on a 390 px phone (issue 11).

The figures: each grid figure is an SVG drawing (its text is text), and the values written in
its cells are at least 9 px tall as displayed, the figure's font size scaled by the width it is
shown at over its natural width, at both widths; on a phone, wide grid figures switch to their
phone layout. The page: on a phone no printed output needs a sideways scroll, no table is
wider than the column (a wide one is shown row by row), and no heading breaks inside a word.

The values come from the session's visit of every page (fixture ``page_visits``).
"""
from __future__ import annotations

import pytest

from tests.browser.browser_helpers import toc_pages

pytestmark = pytest.mark.browser

PAGES = toc_pages()
#: Smallest height (CSS px) of a value written in a grid cell, as displayed.
SMALLEST_VALUE_PX = 9.0


def grid_figures(figures: list[dict]) -> list[dict]:
    """The figures that write values in grid cells."""
    return [figure for figure in figures if figure["svg"] and figure["values"]]


@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize("page", PAGES)
def test_grid_values_are_at_least_9_px_tall(page_visits, page, width):
    visit = page_visits[page]
    figures = visit.desktop_figures if width == "desktop" else visit.phone_figures
    small = [f"{figure['file']}: {figure['smallestValuePx']:.1f} px" for figure in grid_figures(figures)
             if figure["smallestValuePx"] < SMALLEST_VALUE_PX]
    assert small == [], f"{page} at {width} width: values smaller than {SMALLEST_VALUE_PX} px"


def test_the_book_has_grid_figures_in_svg_with_phone_layouts(page_visits):
    """Guards the test above (it needs grid figures to measure), and the phone layouts."""
    desktop = [f for visit in page_visits.values() for f in grid_figures(visit.desktop_figures)]
    phone = [f for visit in page_visits.values() for f in visit.phone_figures]
    assert len(desktop) >= 20, f"only {len(desktop)} grid figures with values"
    assert all(figure["texts"] >= figure["values"] > 0 for figure in desktop)
    assert sum(figure.get("phoneLayout", False) for figure in phone) >= 5, "few phone layouts"
    assert not any(f.get("phoneLayout") for visit in page_visits.values() for f in visit.desktop_figures)


@pytest.mark.parametrize("page", PAGES)
def test_grid_figures_are_svg_drawings(page_visits, page):
    """Every figure with pixel grids is SVG; PNG only for pictures (e.g. digits)."""
    figures = page_visits[page].desktop_figures
    pngs = [figure["file"] for figure in figures if not figure["svg"]]
    assert len(pngs) <= PICTURES.get(page, 0), f"{page}: figures drawn as PNG: {pngs}"


#: Pages whose figures include pictures (raster images that are not pixel grids).
PICTURES = {"chapters/choosing-a-method": 1}


@pytest.mark.parametrize("page", PAGES)
def test_printed_output_wraps_on_a_phone(page_visits, page):
    reading = page_visits[page].phone_reading
    assert reading["scrollingOutputs"] == [], f"{page}: outputs that scroll sideways on a phone"


@pytest.mark.parametrize("page", PAGES)
def test_tables_fit_a_phone(page_visits, page):
    reading = page_visits[page].phone_reading
    assert reading["wideTables"] == [], f"{page}: tables wider than a phone's column"


def test_phone_checks_saw_outputs_and_stacked_tables(page_visits):
    """Guards the two tests above: there were outputs and wide tables to look at."""
    readings = [visit.phone_reading for visit in page_visits.values()]
    assert sum(r["outputs"] for r in readings) >= 50
    assert sum(r["stackedTables"] for r in readings) >= 1
    assert sum(r["tables"] for r in readings) > sum(r["stackedTables"] for r in readings)


@pytest.mark.parametrize("page", PAGES)
def test_headings_break_only_between_words_on_a_phone(page_visits, page):
    assert page_visits[page].phone_reading["brokenWords"] == [], f"{page}: words split over lines"
