"""The notebooks the build publishes beside the HTML, for Colab and for downloading.

* every chapter as a runnable ``.ipynb`` without outputs, its MyST markup made plain Markdown, ``notebooks/<docname>.ipynb``
  (the theme's download button keeps offering the executed copy, ``_sources/<docname>.ipynb``,
  which :func:`write_executed_copies` fills with the outputs);
* every exercise's student copy (no solutions, no hidden tests), made exactly as Binder's
  postBuild makes it, ``notebooks/exercises/<a>/<a>.ipynb`` with the assignment's other files.

Each starts with the install cell of :meth:`tools.publishing.BookSite.install_cell`, so it runs
where the course package is missing; the build refuses a notebook that does not.
``tools/book_html.py`` calls :func:`write_runnable_notebooks` when the HTML build finishes.
"""
from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat

from autograder.student_copies import write_student_copies
from tools.notebook_markdown import Chapter, plain_markdown_cells
from tools.publishing import BOOK_ROOT, NOTEBOOKS_DIR, BookSite, chapter_notebook_path


class MissingInstallCell(ValueError):
    """A notebook's first code cell is not the install cell of the setting."""


def install_cell_problem(nb: nbformat.NotebookNode, site: BookSite) -> str | None:
    """Why ``nb`` would not run where the course package is missing, or None."""
    first = next((cell for cell in nb.cells if cell.cell_type == "code"), None)
    if first is None:
        return "it has no code cell"
    if first.source.strip() != site.install_cell():
        return "its first code cell is not the install cell of tools/publishing.py (BookSite.install_cell)"
    return None


def chapter_notebook(source: Path, site: BookSite | None = None,
                     book_root: Path = BOOK_ROOT) -> nbformat.NotebookNode:
    """A MyST chapter as a plain notebook: the same cells, no outputs, no jupytext header, and
    Markdown any notebook front end renders (tools/notebook_markdown.py)."""
    nb = jupytext.read(source, fmt="md:myst")
    site = site or BookSite.from_config(book_root)
    chapter = Chapter(Path(source), Path(book_root), site, site.book_url)
    plain_markdown_cells(nb, chapter, Path(book_root) / "references.bib")
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("language_info", {"name": "python"})
    nbformat.validate(nb)
    return nb


def write_executed_copies(html_dir: Path, executed_dir: Path, cache_path: Path,
                          docnames: list[str]) -> list[Path]:
    """Put the outputs into the executed chapters the download menu offers (``_sources/``).

    The theme copies myst-nb's ``jupyter_execute/<doc>.ipynb``, which myst-nb writes before it
    merges the cached outputs in (cache mode): the "executed" download has none. Each copy is
    merged with its record of the execution cache here; raises KeyError if one has none.
    """
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    written = []
    for docname in docnames:
        nb = nbformat.read(Path(executed_dir) / f"{docname}.ipynb", as_version=4)
        _, executed = cache.merge_match_into_notebook(nb)
        target = Path(html_dir) / "_sources" / f"{docname}.ipynb"
        nbformat.write(executed, target)
        written.append(target)
    return written


def write_runnable_notebooks(html_dir: Path, chapters: list[Path], site: BookSite,
                             book_root: Path = BOOK_ROOT) -> list[Path]:
    """Write the chapters' and exercises' notebooks under ``html_dir``; return their paths.

    Raises :class:`MissingInstallCell` naming every notebook whose first code cell is not the
    install cell (it would fail on Colab at its first import).
    """
    html_dir = Path(html_dir)
    written, problems = [], []
    for source in chapters:
        nb = chapter_notebook(source, site, book_root)
        docname = source.relative_to(book_root).with_suffix("").as_posix()
        if problem := install_cell_problem(nb, site):
            problems.append(f"{source.relative_to(book_root)}: {problem}")
        target = html_dir / chapter_notebook_path(docname)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(target)
    for path in write_student_copies(html_dir / NOTEBOOKS_DIR / "exercises"):
        if problem := install_cell_problem(nbformat.read(path, as_version=4), site):
            problems.append(f"exercise {path.stem}: {problem}")
        written.append(path)
    if problems:
        raise MissingInstallCell("notebooks that would not run where the course package is "
                                 "missing:\n" + "\n".join(problems))
    return written
