"""Every way to run a notebook from the built book leads to a real file.

Colab and download links must point at a file the build wrote, at the path it has on the
publish branch (the HTML folder is that branch's root, tools/deploy_book.py); Binder links at a
file of the repository's sources (or one Binder's postBuild writes). The addresses come from
the one setting in ``_config.yml`` (tools/publishing.py).
"""
from __future__ import annotations

import posixpath
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import nbformat
import pytest

from autograder.sources import list_assignments
from autograder.student_copies import write_student_copies
from tools.build_book import BOOK_ROOT, notebook_files
from tools.publishing import BookSite, binder_student_copy_path, chapter_notebook_path, exercise_notebook_path
from tools.runnable_notebooks import install_cell_problem

pytestmark = pytest.mark.book

SITE = BookSite.from_config()
ASSIGNMENTS = list_assignments(BOOK_ROOT / "exercises")
CHAPTERS = [path.relative_to(BOOK_ROOT).with_suffix("").as_posix() for path in notebook_files()]


@dataclass(frozen=True)
class Link:
    page: str  # the HTML page, relative to the built folder
    kind: str  # "colab", "binder" or "download"
    href: str
    text: str


def links_of_the_book(html_dir: Path) -> list[Link]:
    """Every Colab, Binder and download link of every page of the built book."""
    from bs4 import BeautifulSoup

    found = []
    for path in sorted(html_dir.rglob("*.html")):
        page = path.relative_to(html_dir).as_posix()
        if page.startswith(("_static/", "_sources/")):
            continue
        for a in BeautifulSoup(path.read_text("utf8"), "html.parser").select("a[href]"):
            href, classes = a["href"], " ".join(a.get("class", []))
            kind = ("colab" if href.startswith(SITE.colab + "/") else
                    "binder" if href.startswith(SITE.binderhub + "/") else
                    "download" if a.has_attr("download") or "btn-download-" in classes else None)
            if kind:
                found.append(Link(page, kind, href, a.get_text(" ", strip=True)))
    return found


@pytest.fixture(scope="module")
def book_links(built_book) -> list[Link]:
    return links_of_the_book(built_book.html_dir)


def repository_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=BOOK_ROOT, capture_output=True, text=True, check=True)
    return set(listed.stdout.splitlines())


def test_every_colab_link_opens_a_notebook_the_build_wrote(built_book, book_links):
    colab = [link for link in book_links if link.kind == "colab"]
    prefix = f"{SITE.colab}/github/{SITE.owner_and_name}/blob/{SITE.publish_branch}/"
    for link in colab:
        assert link.href.startswith(prefix), f"{link.page}: Colab link not on the publish branch: {link.href}"
        path = link.href[len(prefix):]
        assert path.endswith(".ipynb"), f"{link.page}: Colab cannot open {path}"
        assert (built_book.html_dir / path).is_file(), f"{link.page}: the build wrote no {path}"
    # Each chapter's Colab button opens that chapter; each exercise link opens its student copy.
    targets = {link.href[len(prefix):] for link in colab}
    assert {chapter_notebook_path(c) for c in CHAPTERS} | {exercise_notebook_path(a) for a in ASSIGNMENTS} == targets
    for chapter in CHAPTERS:
        own = SITE.colab_url(chapter_notebook_path(chapter))
        assert any(link.page == f"{chapter}.html" and link.href == own for link in colab), chapter


def test_every_download_link_points_at_a_file_the_build_wrote(built_book, book_links):
    downloads = [link for link in book_links if link.kind == "download"]
    for link in downloads:
        assert "://" not in link.href, f"{link.page}: a download must come from the book itself: {link.href}"
        target = posixpath.normpath(posixpath.join(posixpath.dirname(link.page), link.href))
        assert (built_book.html_dir / target).is_file(), f"{link.page}: {link.href} was not built"
    # The executed chapter (the theme's menu) and every exercise's student copy can be downloaded.
    downloaded = {posixpath.normpath(posixpath.join(posixpath.dirname(link.page), link.href))
                  for link in downloads}
    assert {f"_sources/{c}.ipynb" for c in CHAPTERS} <= downloaded
    assert {exercise_notebook_path(a) for a in ASSIGNMENTS} <= downloaded


def test_every_binder_link_opens_a_file_of_the_repository(book_links):
    binder = [link for link in book_links if link.kind == "binder"]
    files = repository_files() | {binder_student_copy_path(a) for a in ASSIGNMENTS}
    for link in binder:
        url = urlparse(link.href)
        assert url.path == f"/v2/gh/{SITE.owner_and_name}/{SITE.branch}", link
        urlpath = parse_qs(url.query)["urlpath"][0]
        assert urlpath.startswith("lab/tree/"), link
        assert urlpath.removeprefix("lab/tree/") in files, f"{link.page}: Binder opens a missing file {urlpath}"
    assert {f"{c}.html" for c in CHAPTERS} <= {link.page for link in binder}


def test_student_copies_postbuild_writes_are_the_linked_ones(tmp_path):
    """The Binder links above may name files of exercises/student/: postBuild writes exactly those."""
    written = write_student_copies(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        binder_student_copy_path(a).removeprefix("exercises/student/") for a in ASSIGNMENTS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_published_chapter_is_runnable_and_has_no_outputs(built_book, chapter):
    nb = nbformat.read(built_book.html_dir / chapter_notebook_path(chapter), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert install_cell_problem(nb, SITE) is None
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    # The download button keeps the executed copy, with its outputs.
    executed = nbformat.read(built_book.html_dir / "_sources" / f"{chapter}.ipynb", as_version=4)
    assert any(cell.get("outputs") for cell in executed.cells if cell.cell_type == "code")


def test_published_student_copies_are_the_binder_ones(built_book, tmp_path):
    """The book publishes exactly the student copies that nbgrader's pipeline makes (see
    tests/binder/test_student_copies.py and the release guard in tests/exercises)."""
    def cells(path):  # cell ids are random; everything else must match
        nb = nbformat.read(path, as_version=4)
        return [(c.cell_type, c.source, c.metadata, c.get("outputs")) for c in nb.cells]

    for path in write_student_copies(tmp_path):
        assignment = path.parent.name
        assert cells(built_book.html_dir / exercise_notebook_path(assignment)) == cells(path), assignment
