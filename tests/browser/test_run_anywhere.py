"""A fresh browser session on the built book: the notebooks download, and every launch URL
(Colab, Binder, download) resolves to a file the build wrote or the repository holds.

The book is served on 127.0.0.1; a Colab URL names a path of the publish branch, which is the
built folder (tools/deploy_book.py), so the session fetches that path from the local server.
"""
from __future__ import annotations

import json

import pytest
import yaml

from tests.browser.browser_helpers import DESKTOP, REPO, open_context

pytestmark = pytest.mark.browser

CHAPTER = "chapters/upsampling2d"
EXERCISE = "upsampling-by-hand"


def _colab_prefix() -> str:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    owner_and_name = "/".join(config["repository"]["url"].rstrip("/").split("/")[-2:])
    return (f"{config['launch_buttons']['colab_url'].rstrip('/')}/github/{owner_and_name}"
            f"/blob/{config['repository']['publish_branch']}/")


def _notebook(path) -> dict:
    nb = json.loads(path.read_text("utf8"))
    assert nb["nbformat"] == 4 and nb["cells"], path
    return nb


@pytest.fixture
def fresh_page(chromium):
    context, page, log = open_context(chromium, DESKTOP)
    yield page, log
    context.close()


def test_a_reader_downloads_the_chapter_and_its_exercise(fresh_page, book_server, tmp_path):
    page, log = fresh_page
    page.goto(book_server.page_url(CHAPTER), wait_until="networkidle")

    # The theme's download menu: the executed chapter (its link opens a new tab, which saves it).
    downloads = []
    def saved(download):
        downloads.append(download)

    page.context.on("page", lambda tab: tab.on("download", saved))
    page.on("download", saved)
    page.get_by_role("button", name="Download this page").click()
    page.locator("a.btn-download-notebook-button").click()
    for _ in range(300):
        if downloads:
            break
        page.wait_for_timeout(100)
    assert len(downloads) == 1, "the .ipynb entry of the download menu saved no file"
    chapter = tmp_path / downloads[0].suggested_filename
    downloads[0].save_as(chapter)
    assert chapter.name == "upsampling2d.ipynb"
    cells = _notebook(chapter)["cells"]
    assert any(cell.get("outputs") for cell in cells if cell["cell_type"] == "code")

    # The exercise's "download" link beside Binder and Colab: the student copy.
    link = page.locator("a.reference.download", has_text="download").first
    with page.expect_download() as download:
        link.click()
    exercise = tmp_path / download.value.suggested_filename
    download.value.save_as(exercise)
    assert exercise.name == f"{EXERCISE}.ipynb"
    text = exercise.read_text("utf8")
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text and "find_spec(" in text
    assert log.failed == [] and log.console_errors == []


def test_every_launch_url_resolves_to_a_built_or_repository_file(page_visits, fresh_page, book_server):
    page, _ = fresh_page
    prefix = _colab_prefix()
    checked = {"colab": 0, "binder": 0}
    for name, visit in page_visits.items():
        for link in visit.navigation["launch"]:
            href = link["href"]
            if href.startswith(prefix):
                response = page.request.get(book_server.url(href.removeprefix(prefix)))
                assert response.ok, f"{name}: {href} -> {response.status}"
                assert response.json()["nbformat"] == 4, href
                checked["colab"] += 1
            elif "mybinder.org" in href:
                path = href.split("urlpath=lab/tree/", 1)[1]
                from_postbuild = path.startswith("exercises/student/")
                assert from_postbuild or (REPO / path).is_file(), f"{name}: Binder opens {path}"
                checked["binder"] += 1
            else:
                pytest.fail(f"{name}: a launch link to an unknown service: {href}")
    assert checked["colab"] >= 9 and checked["binder"] >= 9, checked
