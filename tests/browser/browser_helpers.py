"""Helpers of the browser tests: a local HTTP server for the built book, Chromium, and page visits.

A visit loads one page in a fresh browser context (empty cache, so its page weight is what
a first-time reader downloads) with every request to a host other than this machine blocked
and recorded: the book has to read fully offline.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: Seconds Playwright waits for a page or an element.
TIMEOUT_MS = 30_000


def toc_pages() -> list[str]:
    """The book's pages in table-of-contents order, as source paths without suffix."""
    from tools.build_book import toc_files

    return [path.relative_to(REPO).with_suffix("").as_posix() for path in toc_files(REPO)]


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def chromium_browser():
    """Debian's Chromium, driven by Playwright's sync API, for one test session."""
    from playwright.sync_api import sync_playwright

    # Earlier tests in the same session run Jupyter code that applies nest_asyncio, which can
    # leave an event loop marked as running in this thread; Playwright's sync API then refuses
    # to start ("using Playwright Sync API inside the asyncio loop"). No loop runs here.
    asyncio._set_running_loop(None)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class BookServer:
    """Serves a folder on 127.0.0.1 from a background thread (a context manager)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str = "") -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def page_url(self, page: str) -> str:
        return self.url(f"{page}.html")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or parts.hostname in LOCAL_HOSTS


@dataclass
class NetworkLog:
    """What a page asked the network for, recorded by :func:`open_context`."""
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    bytes_by_type: dict[str, int] = field(default_factory=dict)
    requests: int = 0

    def on_response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")
        if is_local(response.url) and not response.url.startswith("data:"):
            self.requests += 1
            kind = response.request.resource_type
            size = int(response.headers.get("content-length", 0))
            self.bytes_by_type[kind] = self.bytes_by_type.get(kind, 0) + size


def dropped_alternative(request) -> bool:
    """An image request the browser cancelled itself: a full-page screenshot makes Chromium
    start loading the phone layouts of <picture> elements, then drop them. An image the page
    needs and does not get fails the images test (test_images_load_and_have_alt_text)."""
    return request.resource_type == "image" and request.failure == "net::ERR_ABORTED"


def open_context(browser, viewport: dict):
    """A fresh context whose pages may reach this machine only; returns (context, page, log)."""
    log = NetworkLog()
    context = browser.new_context(viewport=viewport, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)

    def route(route):
        if is_local(route.request.url):
            route.continue_()
        else:
            log.foreign.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda msg: log.console_errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" else None)
    page.on("pageerror", lambda error: log.console_errors.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: None if not is_local(request.url)
            or dropped_alternative(request)
            else log.failed.append(f"{request.failure} {request.url}"))
    page.on("response", log.on_response)
    return context, page, log


# JavaScript run in the page ------------------------------------------------------------------

WAIT_FOR_MATHJAX = """async () => {
  if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return false;
  await MathJax.startup.promise;
  await document.fonts.ready;
  return true;
}"""

MATH_COUNTS = """() => ({
  sources: document.querySelectorAll('.bd-article span.math, .bd-article div.math').length,
  typeset: document.querySelectorAll('.bd-article mjx-container').length,
  errors: document.querySelectorAll('mjx-merror, .mjx-error').length,
})"""

IMAGES = """() => Array.from(document.images).map(img => ({
  src: img.getAttribute('src'), alt: img.getAttribute('alt'), complete: img.complete,
  naturalWidth: img.naturalWidth, inArticle: !!img.closest('.bd-article'),
}))"""

NAVIGATION = """() => ({
  prev: document.querySelector('a.left-prev')?.href ?? null,
  next: document.querySelector('a.right-next')?.href ?? null,
  toc: Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference.internal')).map(a => a.href),
  launch: Array.from(document.querySelectorAll('a[href]'))
    .filter(a => /mybinder\\.org|colab\\.research\\.google\\.com/.test(a.href))
    .map(a => ({text: a.textContent.trim(), href: a.href})),
  launch_buttons: Array.from(document.querySelectorAll('.dropdown-launch-buttons a[href]'))
    .map(a => ({text: a.textContent.trim(), href: a.href})),
  title: document.querySelector('.bd-article h1')?.textContent ?? null,
})"""

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
  }));
}"""

#: The page's width, and the elements that stick out of the screen (for the failure message).
PAGE_WIDTH = """() => {
  const clipped = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  return {
    width: document.documentElement.scrollWidth,
    wider: Array.from(document.querySelectorAll('body *'))
      .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1 && !clipped(el))
      .slice(0, 8)
      .map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} `
                 + `right=${Math.round(el.getBoundingClientRect().right)}`),
  };
}"""


#: Each image the cells produced: for an SVG drawing, the font size (CSS px, as displayed) of
#: the smallest value written in a grid cell; the file is the one the browser chose (a
#: <picture> has a phone layout). A wide image scaled down to the column shrinks its text.
FIGURE_TEXT = """async () => {
  const figures = [];
  for (const img of document.querySelectorAll('.bd-article div.cell_output img')) {
    const src = img.currentSrc || img.src;
    const shown = img.getBoundingClientRect().width;
    const file = src.split('/').pop();
    if (!/[.]svg$/.test(src)) { figures.push({file, svg: false, shown}); continue; }
    const text = await (await fetch(src)).text();
    const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
    const viewBoxWidth = Number((svg.getAttribute('viewBox') || '').split(/\\s+/)[2]);
    const sizes = Array.from(svg.querySelectorAll('g[id="pixel-value"] text'), (t) =>
      parseFloat(((t.getAttribute('style') || '').match(/font-size:\\s*([0-9.]+)px/) || [])[1]));
    figures.push({
      file, svg: true, shown, texts: svg.querySelectorAll('text').length, values: sizes.length,
      smallestValuePx: sizes.length ? Math.min(...sizes) * shown / viewBoxWidth : null,
      phoneLayout: !!img.closest('picture') && img.currentSrc !== img.src,
    });
  }
  return figures;
}"""

#: What a phone reader could miss: printed outputs that scroll sideways, tables wider than
#: the column (the explorer's grids excepted: they scroll in their own box, by design), and
#: heading words split over two lines.
PHONE_READING = """() => {
  const article = document.querySelector('.bd-article');
  const outputs = Array.from(article.querySelectorAll('div.cell_output pre'));
  // The explorer's grids scroll in their own focusable box by design (tests/browser/test_explorer.py).
  const tables = Array.from(article.querySelectorAll('table'))
    .filter((table) => !table.closest('.upsampling-explorer'));
  const brokenWords = [];
  for (const heading of article.querySelectorAll('h1, h2, h3')) {
    const walker = document.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/[^\\s\\-/]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top)));
        if (lines.size > 1) brokenWords.push(match[0]);
      }
    }
  }
  return {
    outputs: outputs.length,
    scrollingOutputs: outputs.filter((pre) => pre.scrollWidth > pre.clientWidth + 1).map((pre) =>
      ({text: pre.textContent.trim().slice(0, 80), scrollWidth: pre.scrollWidth,
        clientWidth: pre.clientWidth})),
    tables: tables.length,
    stackedTables: tables.filter((table) => table.classList.contains('stacked')).length,
    wideTables: tables.filter((table) => {
      const box = table.parentElement;
      return box.scrollWidth > box.clientWidth + 1
        || table.getBoundingClientRect().right > box.getBoundingClientRect().right + 1;
    }).map((table) => table.textContent.trim().replace(/\\s+/g, ' ').slice(0, 80)),
    brokenWords,
  };
}"""


@dataclass
class PageVisit:
    page: str
    url: str
    log: NetworkLog
    math: dict
    images: list[dict]
    navigation: dict
    axe_violations: list[dict]
    phone_width: dict
    phone_log: NetworkLog
    screenshots: list[Path]
    desktop_figures: list[dict]
    phone_figures: list[dict]
    phone_reading: dict

    @property
    def weight(self) -> dict:
        return {"bytes": sum(self.log.bytes_by_type.values()), "requests": self.log.requests,
                "by_type": dict(sorted(self.log.bytes_by_type.items()))}


def screenshot_name(page: str, width_name: str) -> str:
    return f"{page.replace('/', '--')}-{width_name}.png"


def visit_page(browser, server: BookServer, page_name: str, shots: Path) -> PageVisit:
    """Load one page at desktop and phone widths and record everything the tests check."""
    url = server.page_url(page_name)
    context, page, log = open_context(browser, DESKTOP)
    try:
        page.goto(url, wait_until="networkidle")
        page.evaluate(WAIT_FOR_MATHJAX)
        desktop_shot = shots / screenshot_name(page_name, "desktop")
        page.screenshot(path=desktop_shot, full_page=True)  # also loads any lazy image
        page.wait_for_load_state("networkidle")
        math, images, navigation, desktop_figures = (
            page.evaluate(js) for js in (MATH_COUNTS, IMAGES, NAVIGATION, FIGURE_TEXT))
        page.add_script_tag(path=str(AXE_JS))
        violations = page.evaluate(AXE_RUN)
    finally:
        context.close()

    context, page, phone_log = open_context(browser, PHONE)
    try:
        page.goto(url, wait_until="networkidle")
        page.evaluate(WAIT_FOR_MATHJAX)
        phone_shot = shots / screenshot_name(page_name, "phone")
        page.screenshot(path=phone_shot, full_page=True)
        phone_width, phone_figures, phone_reading = (
            page.evaluate(js) for js in (PAGE_WIDTH, FIGURE_TEXT, PHONE_READING))
    finally:
        context.close()
    return PageVisit(page_name, url, log, math, images, navigation, violations, phone_width, phone_log,
                     [desktop_shot, phone_shot], desktop_figures, phone_figures, phone_reading)


# What counts as meaningful alternative text ---------------------------------------------------

_GENERIC_ALT = {"image", "img", "figure", "fig", "plot", "picture", "graph", "chart", "output",
                "png", "svg", "jpg", "jpeg", "icon", "logo", "untitled", "alt", "none"}
_FILE_LIKE = re.compile(r"\.(png|svg|jpe?g|gif|webp)$|^[\w./-]*_images/|^[0-9a-f]{16,}", re.I)


def alt_text_problem(image: dict) -> str | None:
    """Why an image's alt text says nothing to a reader who cannot see it, or None if it is fine.

    Figures in the article need a description (at least three words); the theme's small icons
    need a name. A file name or a generic word ("image", "plot") is never enough.
    """
    alt = (image.get("alt") or "").strip()
    if not alt:
        return "no alt text"
    if _FILE_LIKE.search(alt) or alt == (image.get("src") or ""):
        return f"alt text is a file name: {alt!r}"
    words = re.findall(r"[A-Za-z0-9]+", alt)
    if all(word.lower() in _GENERIC_ALT for word in words):
        return f"alt text is generic: {alt!r}"
    if image.get("inArticle") and len(words) < 3:
        return f"a figure needs a description, not just {alt!r}"
    return None
