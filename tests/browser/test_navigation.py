"""Moving around the built book as a reader does: next/previous, the sidebar, and search."""
from __future__ import annotations

import re

import pytest

from tests.browser.browser_helpers import DESKTOP, PHONE, open_context, toc_pages

pytestmark = pytest.mark.browser

PAGES = toc_pages()
SEARCH_TERM = "Conv2DTranspose"


@pytest.fixture
def reader(chromium):
    """A fresh desktop page; the test fails if it logged console errors or went off-machine."""
    context, page, log = open_context(chromium, DESKTOP)
    yield page
    context.close()
    assert log.console_errors == [] and log.failed == [] and log.foreign == [], log


def test_next_and_previous_walk_the_book_in_toc_order(reader, book_server):
    expected = [book_server.page_url(p) for p in PAGES]
    reader.goto(book_server.url("index.html"))  # the book's front door redirects to the root page
    reader.wait_for_url(expected[0])
    visited = [reader.url]
    while reader.locator("a.right-next").count():
        reader.locator("a.right-next").click()
        reader.wait_for_load_state()
        visited.append(reader.url)
        assert len(visited) <= len(expected), "the next links run past the last page"
    assert visited == expected
    back = [reader.url]
    while reader.locator("a.left-prev").count():
        reader.locator("a.left-prev").click()
        reader.wait_for_load_state()
        back.append(reader.url)
        assert len(back) <= len(expected), "the previous links run past the first page"
    assert back == expected[::-1]


def test_sidebar_links_open_their_pages(reader, book_server):
    reader.goto(book_server.page_url(PAGES[0]))
    links = reader.locator("nav.bd-docs-nav a.reference.internal")
    assert links.count() == len(PAGES), "the sidebar should list the root page and every chapter"
    for index, page in enumerate(PAGES):
        reader.goto(book_server.page_url(PAGES[-1] if index == 0 else PAGES[0]))
        reader.locator("nav.bd-docs-nav a.reference.internal").nth(index).click()
        reader.wait_for_url(book_server.page_url(page))
        assert reader.locator(".bd-article h1").first.is_visible()


def test_phone_menus_open_the_contents(chromium, book_server):
    """On a phone the book's and the page's contents hide behind the header's buttons."""
    context, page, log = open_context(chromium, PHONE)
    try:
        page.goto(book_server.page_url(PAGES[1]))
        assert not page.locator("nav.bd-docs-nav a.reference.internal").nth(2).is_visible()
        page.locator(".secondary-toggle:visible").first.click()
        on_this_page = page.locator("dialog[open] nav.page-toc a")
        assert on_this_page.count() > 0 and on_this_page.first.is_visible()
        page.keyboard.press("Escape")
        page.locator(".primary-toggle:visible").first.click()
        page.locator("dialog[open] nav.bd-docs-nav a.reference.internal").nth(2).click()
        page.wait_for_url(book_server.page_url(PAGES[2]))
    finally:
        context.close()
    assert log.console_errors == [] and log.foreign == []


def _pages_titled_with(book_html, word: str) -> set[str]:
    found = set()
    for page in PAGES:
        html = (book_html / f"{page}.html").read_text("utf8")
        title = re.search(r"<h1>(.*?)</h1>", html, re.S)
        if title and word in re.sub(r"<[^>]+>", "", title.group(1)):
            found.add(page)
    return found


def test_search_finds_conv2dtranspose(reader, book_server, book_html):
    titled = _pages_titled_with(book_html, SEARCH_TERM)
    assert titled, f"no page has {SEARCH_TERM} in its title"
    reader.goto(book_server.page_url(PAGES[0]))
    reader.keyboard.press("Control+k")  # the theme's shortcut; the search button does the same
    box = reader.locator("#pst-search-dialog input[name=q]")
    box.fill(SEARCH_TERM)
    box.press("Enter")
    reader.wait_for_url(re.compile(r"/search\.html\?q=" + SEARCH_TERM))
    # Results are added one by one; the summary line appears when the search has finished.
    reader.locator("#search-results", has_text=re.compile(r"found \d+ page", re.I)).wait_for()
    results = reader.locator("#search-results ul.search li a")
    hrefs = {href.split("#")[0].split("?")[0] for href in
             results.evaluate_all("links => links.map(a => a.href)")}
    assert {book_server.page_url(p) for p in titled} <= hrefs
    summary = reader.locator("#search-results").inner_text()
    assert re.search(r"found \d+ page", summary, re.I), summary
