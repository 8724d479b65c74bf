"""Part II of the book ("Beyond the sources"): the values and claims each chapter's prose relies
on, read from the strictly built HTML (fixture ``built_book``), plus plots with alt text and
folded answers.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.book

# Each chapter's plots: at least this many images produced by its cells.
PLOTS = {
    "checkerboard-artifacts": 5,
    "unpooling": 3,
    "volumes-3d": 5,
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
