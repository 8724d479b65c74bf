"""Each chapter links the graded exercises that belong to it, as Binder links to student copies."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from autograder.sources import list_assignments

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
def test_chapter_links_its_exercises_in_binder(built_book, chapter):
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    binder = config["launch_buttons"]["binderhub_url"].rstrip("/")
    repo = urlparse(config["repository"]["url"]).path.strip("/")
    found = {}
    for link in built_book.article(chapter).select("a[href]"):
        url = urlparse(link["href"])
        if f"{url.scheme}://{url.netloc}" == binder and "urlpath" in url.query:
            found[link.get_text(strip=True)] = (url.path, parse_qs(url.query)["urlpath"][0])
    for name in EXERCISES_OF[chapter]:
        assert name in found, f"{chapter} does not link {name}: {found}"
        path, urlpath = found[name]
        assert path == f"/v2/gh/{repo}/{config['repository']['branch']}"
        assert urlpath == f"lab/tree/exercises/student/{name}/{name}.ipynb"
