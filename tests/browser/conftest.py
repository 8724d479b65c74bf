"""Fixtures of the browser tests: the built book served on 127.0.0.1, Chromium, and one visit per page.

Every page is visited once per session (see :func:`page_visits`), in a fresh browser context
so that nothing is cached from another page; the tests then read what the visit recorded.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.browser.browser_helpers import (
    ARTIFACTS, AXE_JS, BookServer, chromium_browser, toc_pages, visit_page,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def book_html(request) -> Path:
    """The HTML folder of the built book.

    The session's strict build (fixture ``built_book`` in tests/conftest.py), or, to iterate
    on these tests alone, an existing build named by ``BOOK_HTML=<folder>``.
    """
    if os.environ.get("BOOK_HTML"):
        html = Path(os.environ["BOOK_HTML"]).resolve()
    else:
        html = request.getfixturevalue("built_book").html_dir
    assert (html / "index.html").is_file(), f"no built book in {html}"
    return html


@pytest.fixture(scope="session")
def book_server(book_html):
    """The built book on http://127.0.0.1:<free port>/ (stopped at the end of the session)."""
    with BookServer(book_html) as server:
        yield server


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, driven by Playwright (never a browser downloaded by Playwright)."""
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/browser/ (gitignored), emptied at the start of the session."""
    folder = ARTIFACTS / "browser"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "screenshots").mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def page_visits(book_server, chromium, artifacts_dir) -> dict:
    """Each page of the table of contents visited once: {page name: PageVisit}.

    Also writes the page weights to test-artifacts/browser/page-weight.json.
    """
    assert AXE_JS.is_file(), f"{AXE_JS} is missing: run `npm ci` in the repository first"
    visits = {page: visit_page(chromium, book_server, page, artifacts_dir / "screenshots")
              for page in toc_pages()}
    weights = {page: visit.weight for page, visit in visits.items()}
    summary = {
        "pages": weights,
        "total_transferred_bytes": sum(w["bytes"] for w in weights.values()),
        "built_html_bytes": sum(p.stat().st_size for p in book_server.root.rglob("*") if p.is_file()),
    }
    (artifacts_dir / "page-weight.json").write_text(json.dumps(summary, indent=2))
    # Everything the visits recorded, for reading a failure (and as a CI artifact).
    (artifacts_dir / "visits.json").write_text(json.dumps(
        {page: dataclasses.asdict(visit) for page, visit in visits.items()}, indent=2, default=str))
    return visits
