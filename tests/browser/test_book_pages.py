"""The built book in Chromium, page by page, the way a reader meets it (and offline).

Each page is loaded once per session (fixture ``page_visits``); these tests read that visit.
Screenshots of every page at desktop and phone widths land in test-artifacts/browser/.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.browser.browser_helpers import PHONE, REPO, alt_text_problem, toc_pages

pytestmark = pytest.mark.browser

PAGES = toc_pages()


def _notebook_pages() -> list[str]:
    from tools.build_book import notebook_files

    return [path.relative_to(REPO).with_suffix("").as_posix() for path in notebook_files(REPO)]


NOTEBOOK_PAGES = _notebook_pages()


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_errors(page_visits, page):
    visit = page_visits[page]
    for log in (visit.log, visit.phone_log):
        assert log.console_errors == [], f"{page}: console errors"
        assert log.failed == [], f"{page}: failed requests"


@pytest.mark.parametrize("page", PAGES)
def test_page_reads_offline(page_visits, page):
    """No script, font, style sheet or image may come from another host (e.g. a CDN)."""
    visit = page_visits[page]
    assert visit.log.foreign + visit.phone_log.foreign == [], f"{page} asks other hosts"


@pytest.mark.parametrize("page", PAGES)
def test_images_load_and_have_alt_text(page_visits, page):
    images = page_visits[page].images
    broken = [img["src"] for img in images if not img["complete"] or img["naturalWidth"] == 0]
    assert broken == [], f"{page}: images that did not load"
    problems = [f"{img['src']}: {why}" for img in images if (why := alt_text_problem(img))]
    assert problems == [], f"{page}: images without meaningful alt text"


def test_alt_text_rule_rejects_what_says_nothing():
    figure = {"src": "../_images/3f2a.png", "inArticle": True}
    assert alt_text_problem({**figure, "alt": None}) == "no alt text"
    assert "file name" in alt_text_problem({**figure, "alt": "../_images/3f2a.png"})
    assert "generic" in alt_text_problem({**figure, "alt": "Plot"})
    assert "description" in alt_text_problem({**figure, "alt": "Grid values"})
    assert alt_text_problem({**figure, "alt": "A 4x4 grid of repeated input values"}) is None
    assert alt_text_problem({"src": "logo_binder.svg", "alt": "Binder", "inArticle": False}) is None


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(page_visits, page):
    math = page_visits[page].math
    assert math["typeset"] >= math["sources"], f"{page}: math left as TeX source: {math}"
    assert math["errors"] == 0, f"{page}: MathJax reported TeX errors"


def test_the_book_has_math(page_visits):
    """Guards the test above: it must have had math to check."""
    assert sum(visit.math["typeset"] for visit in page_visits.values()) > 0


@pytest.mark.parametrize("page", PAGES)
def test_no_serious_accessibility_violations(page_visits, page):
    serious = [v for v in page_visits[page].axe_violations if v["impact"] in {"serious", "critical"}]
    assert serious == [], f"{page}: axe-core reports serious or critical violations"


@pytest.mark.parametrize("page", PAGES)
def test_page_fits_a_phone_screen(page_visits, page):
    """Nothing makes the whole page scroll sideways at phone width (wide blocks scroll inside)."""
    width = page_visits[page].phone_width
    assert width["width"] <= PHONE["width"], f"{page}: wider than the screen: {width['wider']}"


@pytest.mark.parametrize("index", range(len(PAGES)), ids=PAGES)
def test_previous_and_next_links_follow_the_toc(page_visits, book_server, index):
    navigation = page_visits[PAGES[index]].navigation
    expected_prev = book_server.page_url(PAGES[index - 1]) if index > 0 else None
    expected_next = book_server.page_url(PAGES[index + 1]) if index + 1 < len(PAGES) else None
    assert (navigation["prev"], navigation["next"]) == (expected_prev, expected_next)


@pytest.mark.parametrize("page", PAGES)
def test_sidebar_lists_every_page(page_visits, book_server, page):
    listed = {href.split("#")[0] for href in page_visits[page].navigation["toc"]}
    expected = {book_server.page_url(p) for p in PAGES[1:]}  # the root is the logo/home link
    assert expected <= listed, f"{page}: missing from the sidebar: {sorted(expected - listed)}"


def _repository() -> tuple[str, str, str, str]:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    org, repo = config["repository"]["url"].rstrip("/").split("/")[-2:]
    return org, repo, config["repository"]["branch"], config["repository"]["publish_branch"]


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_launch_buttons_point_at_the_chapter(page_visits, page):
    """Binder opens the chapter's source; Colab its runnable notebook on the publish branch."""
    org, repo, branch, published = _repository()
    # The theme's launch menu (exercise links further down the page open Binder and Colab too).
    links = {link["text"]: link["href"] for link in page_visits[page].navigation["launch_buttons"]}
    assert links.get("Binder") == (
        f"https://mybinder.org/v2/gh/{org}/{repo}/{branch}?urlpath=lab/tree/{page}.md")
    assert links.get("Colab") == (
        f"https://colab.research.google.com/github/{org}/{repo}/blob/{published}/notebooks/{page}.ipynb")
    assert (REPO / f"{page}.md").is_file()


def test_book_has_launchable_chapters():
    assert len(NOTEBOOK_PAGES) >= 3, NOTEBOOK_PAGES


def test_screenshots_of_every_page(page_visits):
    shots = [shot for visit in page_visits.values() for shot in visit.screenshots]
    assert len(shots) == 2 * len(PAGES)
    assert all(Path(shot).stat().st_size > 10_000 for shot in shots)
