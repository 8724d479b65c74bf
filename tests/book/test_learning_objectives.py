"""Chapters open with their learning objectives, and their summary answers each of them.

Issue 11 asks this of every chapter; the chapters below have them (a chapter joins the list
when its objectives are written).
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.book

CHAPTERS = ["why-upsample", "unpooling", "keras2-to-keras3"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_objectives_at_the_top_and_a_summary_point_for_each(built_book, name):
    article = built_book.article(name)
    first_block = article.select_one("section > div.admonition, section > .admonition")
    assert first_block is not None and "Learning objectives" in first_block.get_text(), name
    # At the top: before the first second-level heading.
    first_heading = article.select_one("h2")
    assert first_block.sourceline < first_heading.sourceline, name
    objectives = first_block.select("ol > li")
    summary = built_book.section(name, "Summary").select("ul > li")
    assert len(objectives) >= 3
    # One summary point per objective, each led by its topic in bold.
    assert len(summary) == len(objectives), (name, len(summary), len(objectives))
    assert all(item.find("strong") is not None for item in summary), name
