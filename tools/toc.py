"""The book's pages in reading order, from ``_toc.yml`` read by sphinx-external-toc's own parser
(the one Jupyter Book uses), so the tools and tests see the order the book has."""

from __future__ import annotations

from pathlib import Path

from sphinx_external_toc.api import SiteMap
from sphinx_external_toc.parsing import parse_toc_yaml

#: The repository's root, which is the book's folder (tools, benchmarks and tests run from
#: the checkout; the installed autograder finds the exercises by ``autograder.locations``).
BOOK_ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".md", ".ipynb")


def _reading_order(site_map: SiteMap, docname: str) -> list[str]:
    """``docname`` and, depth first, every document its subtrees list."""
    order = [docname]
    for subtree in site_map[docname].subtrees:
        for child in subtree.items:
            if isinstance(child, str):  # globs and URLs are not files of the book
                order += _reading_order(site_map, child)
    return order


def toc_files(book_root: Path = BOOK_ROOT) -> list[Path]:
    """Every page ``_toc.yml`` lists (root first), as paths of existing source files."""
    site_map = parse_toc_yaml(book_root / "_toc.yml")
    paths = []
    for name in _reading_order(site_map, site_map.root.docname):
        matches = [
            book_root / f"{name}{s}" for s in SUFFIXES if (book_root / f"{name}{s}").exists()
        ]
        if not matches:
            raise FileNotFoundError(
                f"_toc.yml lists {name!r}, but there is no {name}.md or {name}.ipynb"
            )
        paths.append(matches[0])
    return paths


def toc_chapters(book_root: Path = BOOK_ROOT) -> list[Path]:
    """The chapters (``chapters/*``) in reading order; the intro and back matter have no code."""
    return [p for p in toc_files(book_root) if p.parent.name == "chapters"]
