"""The built book, for tests that read its HTML.

The session fixture ``built_book`` (exported by tests/conftest.py) builds the book once with
the strict build tool into a fresh temporary folder and returns a :class:`BuiltBook`. In
tests/book/ it stands for two books in turn (tests/book/conftest.py): the pinned build and the
one whose chapters ran in the second environment (``compat_book``), so every value test holds
in both. A chapter's tests then need a few lines, e.g.::

    def test_unpooling_values(built_book):
        assert "0 0 6 0" in built_book.chapter_text("unpooling")
        assert built_book.has_array("unpooling", [[0, 0], [0, 6]])

Chapter names are the file stems under chapters/ (``"upsampling2d"``); other pages are
named by their path without suffix (``"intro"``, ``"bibliography"``).
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup, Tag

from tools.build_book import BuildResult, build

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def page_name(name: str) -> str:
    """``"upsampling2d"`` -> ``"chapters/upsampling2d"``; names with a slash, and the
    top-level pages, are kept as they are."""
    if "/" in name or name in ("intro", "bibliography", "index"):
        return name
    return f"chapters/{name}"


def numbers_in(text: str) -> list[float]:
    """Every number printed in ``text``, in order (NumPy's ``1.`` counts as 1.0)."""
    return [float(match) for match in NUMBER.findall(text)]


def contains_run(values: list[float], expected, atol: float = 1e-6) -> bool:
    """True if ``expected`` (flattened) occurs as a contiguous run in ``values``."""
    wanted = np.asarray(expected, dtype=float).ravel()
    found = np.asarray(values, dtype=float)
    if found.size < wanted.size:
        return False
    windows = np.lib.stride_tricks.sliding_window_view(found, wanted.size)
    return bool(np.any(np.all(np.abs(windows - wanted) <= atol, axis=1)))


@dataclass(eq=False)  # hashed by identity, for the page cache
class BuiltBook:
    """The HTML of one strict build, with helpers to read its pages."""

    result: BuildResult

    @property
    def html_dir(self) -> Path:
        return self.result.html_dir

    @property
    def log(self) -> str:
        return self.result.log_path.read_text()

    def page_path(self, name: str) -> Path:
        return self.html_dir / f"{page_name(name)}.html"

    @functools.cache
    def page(self, name: str) -> BeautifulSoup:
        path = self.page_path(name)
        assert path.is_file(), f"the built book has no page {path.relative_to(self.html_dir)}"
        return BeautifulSoup(path.read_text("utf8"), "html.parser")

    def article(self, name: str) -> Tag:
        """The page's own content (no navigation, header or footer)."""
        article = self.page(name).select_one("article.bd-article") or self.page(name).select_one("main")
        assert article is not None, f"no article in page {name}"
        return article

    def chapter_text(self, name: str) -> str:
        """The visible text of a page's content, whitespace collapsed to single spaces.

        Text is joined without separators, so output split over styled spans (Keras'
        summary table) reads as printed: ``(None, 10, 10, 1)``.
        """
        return " ".join(self.article(name).get_text().split())

    def cells(self, name: str, tag: str | None = None) -> list[Tag]:
        """The page's code cells, optionally only those with the cell tag ``tag``."""
        cells = self.article(name).select("div.cell")
        if tag is not None:
            cells = [cell for cell in cells if f"tag_{tag}" in cell.get("class", [])]
        return cells

    def outputs(self, name: str) -> list[str]:
        """The text of each cell output on the page (line breaks kept)."""
        return [output.get_text() for output in self.article(name).select("div.cell_output")]

    def output_lines(self, name: str) -> list[str]:
        return [line.strip() for text in self.outputs(name) for line in text.splitlines()]

    def line_starting(self, name: str, prefix: str) -> str:
        """The first output line of page ``name`` that starts with ``prefix``."""
        for line in self.output_lines(name):
            if line.startswith(prefix):
                return line
        raise AssertionError(f"{name}: no output line starts with {prefix!r}")

    def table_with(self, name: str, first_cell: str) -> list[list[str]]:
        """The first printed table of ``name`` that has a row starting with ``first_cell``."""
        for table in self.tables(name):
            if any(row and row[0] == first_cell for row in table):
                return table
        raise AssertionError(f"{name}: no table with a row starting {first_cell!r}")

    def section(self, name: str, heading: str) -> Tag:
        """The section of page ``name`` whose heading (after its number) is ``heading``."""
        for section in self.article(name).select("section"):
            title = section.find(["h1", "h2", "h3"])
            text = title.get_text(" ", strip=True).rstrip("#").strip() if title else ""
            if re.sub(r"^[\d.]+\s*", "", text) == heading:
                return section
        raise AssertionError(f"{name}: no section {heading!r}")

    def has_array(self, name: str, expected, atol: float = 1e-6) -> bool:
        """True if one cell output prints the values of ``expected`` in row-major order."""
        return any(contains_run(numbers_in(text), expected, atol) for text in self.outputs(name))

    def tables(self, name: str) -> list[list[list[str]]]:
        """Every table a cell printed (e.g. via IPython.display.Markdown): rows of cell texts."""
        return [
            [[td.get_text(strip=True) for td in tr.select("td")] for tr in table.select("tbody tr")]
            for table in self.article(name).select("div.cell_output table")
        ]

    def images(self, name: str) -> list[Tag]:
        """The images produced by the page's cells (plots), in order."""
        return self.article(name).select("div.cell_output img")

    def figure_values(self, image: Tag, name: str) -> list[str]:
        """The values written in the grid cells of a figure (an SVG image of page ``name``),
        panel after panel, row by row."""
        svg = (self.page_path(name).parent / image["src"]).read_text("utf8")
        groups = BeautifulSoup(svg, "html.parser").select('g[id="pixel-value"] text')
        return [text.get_text() for text in groups]

    def code_blocks(self, name: str) -> list[str]:
        """The text of every code block on the page (cell sources and literal includes)."""
        return [pre.get_text() for pre in self.article(name).select("div.highlight pre")]


def line_starting(book: BuiltBook, name: str, prefix: str) -> str:
    """The first output line of chapter ``name`` that starts with ``prefix``."""
    for line in book.output_lines(name):
        if line.startswith(prefix):
            return line
    raise AssertionError(f"{name}: no output line starts with {prefix!r}")


def table_with(book: BuiltBook, name: str, first_cell: str) -> list[list[str]]:
    """The first printed table of ``name`` that has a row starting with ``first_cell``."""
    for table in book.tables(name):
        if any(row and row[0] == first_cell for row in table):
            return table
    raise AssertionError(f"{name}: no table with a row starting {first_cell!r}")


def objectives_and_summary(book: BuiltBook, name: str) -> tuple[list[str], list[str]]:
    """The numbered learning objectives at the top of chapter ``name`` (an admonition titled
    "Learning objectives") and the numbered points of its Summary section, as texts."""
    article = book.article(name)
    box = next((div for div in article.select("div.admonition")
                if div.select_one(".admonition-title") is not None
                and "Learning objectives" in div.select_one(".admonition-title").get_text()),
               None)
    assert box is not None, f"{name}: no 'Learning objectives' admonition"
    summary = next((h.find_parent("section") for h in article.select("h2")
                    if "Summary" in h.get_text()), None)
    assert summary is not None, f"{name}: no Summary section"

    def items(tag: Tag) -> list[str]:
        numbered = tag.find("ol")
        assert numbered is not None, f"{name}: no numbered list in {tag.name}"
        return [" ".join(li.get_text().split()) for li in numbered.find_all("li", recursive=False)]

    return items(box), items(summary)


def strict_build(path_output: Path, kernel_python: Path | None = None) -> BuiltBook:
    """Build the book into a fresh folder: parallel pre-execution, strict Sphinx.

    Fails unless the build exits 0, logs no warning, and the Sphinx build found every chapter
    in the cache the pre-execution filled. ``kernel_python``: the chapters run in that
    interpreter's environment (the second test environment, tools/compat_env.py).
    """
    result = build(path_output, quiet=True, kernel_python=kernel_python)
    problems = "\n".join(result.warnings) or "(no warnings)"
    assert result.returncode == 0, f"jupyter-book build failed; log: {result.log_path}\n{problems}"
    assert not result.warnings, f"the strict build logged warnings:\n{problems}"
    assert result.sphinx_executed == 0, "Sphinx executed notebooks the pre-execution had cached"
    return BuiltBook(result)


@pytest.fixture(scope="session")
def pinned_book(tmp_path_factory) -> BuiltBook:
    """The book built once per session with the pinned environment (requirements.txt)."""
    return strict_build(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def compat_book(tmp_path_factory) -> BuiltBook:
    """The book with every chapter executed in the second environment (TensorFlow 2.19,
    ``make compat-env``); the HTML is made by the pinned Sphinx from that execution.

    Also writes each chapter's execution time there to test-artifacts/compat-timings.json.
    """
    from tools.compat_env import compat_python

    book = strict_build(tmp_path_factory.mktemp("book-compat"), kernel_python=compat_python())
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "compat-timings.json").write_text(json.dumps({
        "preexecute_seconds": round(book.result.preexecute_seconds, 1),
        "sphinx_seconds": round(book.result.sphinx_seconds, 1),
        "chapters": {Path(uri).stem: round(seconds, 1)
                     for uri, seconds in sorted(book.result.chapter_seconds.items())},
    }, indent=2))
    return book


@pytest.fixture(scope="session")
def built_book(pinned_book) -> BuiltBook:
    """The pinned build (tests/book/ reads the second environment's build too: its conftest)."""
    return pinned_book
