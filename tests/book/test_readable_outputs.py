"""What every page shows a learner: short deliberate errors, no build paths, figures as SVG.

Issue 11: a deliberate error (a cell tagged raises-exception) shows its one line, type and
message, not a traceback; no path of the machine that built the book appears anywhere in
the build; grid figures are SVG files with their alt text, and those too wide for a phone
carry a phone layout (a <picture> source) that exists.
"""
from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import pytest

from tools.build_book import BOOK_ROOT, notebook_files

pytestmark = pytest.mark.book

NOTEBOOKS = [path.relative_to(BOOK_ROOT).with_suffix("").as_posix() for path in notebook_files()]
TEXT_SUFFIXES = {".html", ".js", ".css", ".svg", ".txt", ".md", ".ipynb", ".json", ".xml"}
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt): \S")


def build_paths(built_book) -> list[str]:
    """Paths and path fragments of the machine that built the book."""
    output = built_book.html_dir.parent.parent  # the folder the build wrote _build/ into
    return sorted({str(BOOK_ROOT), str(output), sys.prefix, str(Path.home()),
                   tempfile.gettempdir() + "/", "site-packages", "/tmp/", "/root/", "/home/"})


def test_no_path_of_the_build_machine_anywhere_in_the_build(built_book):
    paths = build_paths(built_book)
    pattern = re.compile("|".join(re.escape(path) for path in paths))
    files = [p for p in built_book.html_dir.rglob("*") if p.suffix in TEXT_SUFFIXES]
    assert len(files) > 50
    found = {}
    for path in files:
        match = pattern.search(path.read_text("utf8", errors="replace"))
        if match:
            found[str(path.relative_to(built_book.html_dir))] = match.group(0)
    assert found == {}, f"build paths in the HTML: {found}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_deliberate_errors_show_one_line(built_book, name):
    for cell in built_book.cells(name, "raises-exception"):
        error = cell.select_one("div.output.traceback")
        assert error is not None, f"{name}: a raises-exception cell did not raise"
        lines = [line for line in error.get_text().splitlines() if line.strip()]
        assert len(lines) == 1 and ERROR_LINE.match(lines[0]), f"{name}: {lines[:5]}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_output_cut_short_with_an_ellipsis(built_book, name):
    """Keras' summary shortens a value that does not fit its column to "323,…"."""
    cut = [line for line in built_book.output_lines(name) if "…" in line]
    assert cut == [], f"{name}: values cut short: {cut[:3]}"


def test_the_book_has_deliberate_errors(built_book):
    """Guards the test above: it had errors to look at."""
    assert sum(len(built_book.cells(name, "raises-exception")) for name in NOTEBOOKS) >= 6


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_figures_are_svg_with_alt_text_and_phone_layouts(built_book, name):
    page_dir = built_book.page_path(name).parent
    for image in built_book.images(name):
        assert image["src"].endswith((".svg", ".png")) and image.get("alt"), image
        if image["src"].endswith(".svg"):
            svg = (page_dir / image["src"]).read_text()
            assert "<text" in svg, f"{name}: {image['src']} has no text elements"
    for picture in built_book.article(name).select("div.cell_output picture"):
        source, image = picture.select_one("source"), picture.select_one("img")
        assert (page_dir / source["srcset"]).is_file() and image.get("alt"), picture
        assert "wide-layout" in image["class"]
    assert not built_book.article(name).select("img.phone-layout"), "an unpaired phone layout"


def test_grid_figures_are_svg_and_some_have_phone_layouts(built_book):
    images = [img for name in NOTEBOOKS for img in built_book.images(name)]
    svgs = [img for img in images if img["src"].endswith(".svg")]
    assert len(svgs) >= 30 and len(images) - len(svgs) <= 2
    pictures = [p for name in NOTEBOOKS for p in built_book.article(name).select("picture")]
    assert len(pictures) >= 5
