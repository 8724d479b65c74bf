"""Each chapter links the graded exercises that belong to it: their student copies in Binder, in
Colab, and for download (tests/book/test_launch_links.py checks that every such link resolves)."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.sources import list_assignments
from tools.publishing import BookSite, binder_student_copy_path, exercise_notebook_path, relative_to_page

pytestmark = pytest.mark.book

REPO = Path(__file__).resolve().parents[2]
EXERCISES_OF = {
    "upsampling2d": {"upsampling-by-hand"},
    "conv2d-transpose": {"upsampling-by-hand", "shapes-and-generators"},
    "inside-conv2d-transpose": {"transposed-convolution"},
    "checkerboard-artifacts": {"checkerboard"},
    "unpooling": {"unpooling"},
    "volumes-3d": {"shapes-and-generators"},
}


def test_every_exercise_is_linked_from_a_chapter():
    linked = set().union(*EXERCISES_OF.values())
    assert linked == set(list_assignments(REPO / "exercises"))


@pytest.mark.parametrize("chapter", sorted(EXERCISES_OF))
def test_chapter_offers_its_exercises_in_binder_colab_and_for_download(built_book, chapter):
    site = BookSite.from_config()
    offered = {}  # exercise name -> {link text: href}
    for code in built_book.article(chapter).select("code"):
        name = code.get_text(strip=True)
        links = {}
        for sibling in code.find_next_siblings("a", limit=3):
            links[sibling.get_text(strip=True)] = sibling["href"]
        if links:
            offered[name] = links
    for name in EXERCISES_OF[chapter]:
        assert name in offered, f"{chapter} does not link {name}: {offered}"
        assert offered[name] == {
            "Binder": site.binder_url(binder_student_copy_path(name)),
            "Colab": site.colab_url(exercise_notebook_path(name)),
            "download": relative_to_page(f"chapters/{chapter}", exercise_notebook_path(name)),
        }
