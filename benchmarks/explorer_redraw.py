"""How fast the upsampling explorer redraws, and how much it adds to a page (on demand).

    python -m benchmarks.explorer_redraw                 # the built book in _build/html
    python -m benchmarks.explorer_redraw --runs 50 --html DIR

In Chromium, on the chapter pages of the built book, with every section of the explorer open:
the time from a control change (a new value and its ``input`` event, as a learner's click or
key press makes) to the next painted frame after the explorer redrew, median of ``--runs``.
The baseline, measured in the same run on the same page, is the same change made to a plain
input that nothing listens to: the browser's own floor for "change, then next frame". The
ratio says what the explorer costs on top of it.

Also prints the page weight the explorer adds: its script and style sheet, as shipped and
gzip-compressed, and the bytes of the embed in the chapter's HTML.
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
from pathlib import Path

from tests.browser.browser_helpers import DESKTOP, REPO, BookServer, chromium_browser, open_context
from tests.browser.explorer_checks import ExplorerPage, Settings
from tools.explorer_embed import SCRIPT, STYLE

#: (page, what changes, the settings to start from or None for the page's preset, label, values).
CASES = [
    (
        "chapters/checkerboard-artifacts",
        "stride 2 <-> 3, 2D 5x5, kernel 4 (the preset)",
        None,
        "Stride",
        ["3", "2"],
    ),
    (
        "chapters/conv2d-transpose",
        "kernel 5 <-> 4, 2D 5x5, stride 3 (17x17 output, the largest 2D)",
        Settings("conv-transpose", 2, (5, 5), 3, 5, "valid", None, "random", "random"),
        "Kernel size",
        ["4", "5"],
    ),
    (
        "chapters/volumes-3d",
        "input depth 2 <-> 3, 3D, kernel 3, stride 2 (the preset)",
        None,
        "Input depth",
        ["3", "2"],
    ),
]

TIME_CHANGES = """async ({selector, label, values, runs}) => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  let control;
  if (selector) {
    const root = document.querySelector(selector);
    control = Array.from(root.querySelectorAll('label'))
      .find((l) => l.textContent.trim() === label).control;
  } else {
    control = document.createElement('input');
    document.body.append(control);
  }
  const times = [];
  for (let i = 0; i < runs; i++) {
    await frame();
    control.value = values[i % values.length];
    const started = performance.now();
    control.dispatchEvent(new Event('input', {bubbles: true}));
    await frame();
    times.push(performance.now() - started);
  }
  return times;
}"""


def page_weight(html_dir: Path) -> list[str]:
    lines = []
    for name in (SCRIPT, STYLE):
        data = (html_dir / "_static" / name).read_bytes()
        lines.append(
            f"{name}: {len(data) / 1024:.1f} KB, "
            f"{len(gzip.compress(data)) / 1024:.1f} KB gzip-compressed"
        )
    for page in ("chapters/conv2d-transpose", "chapters/volumes-3d"):
        text = (html_dir / f"{page}.html").read_text("utf8")
        block = re.search(r'<div class="upsampling-explorer".*?</div>', text, re.S)
        if block is None:
            raise SystemExit(f"{page}.html embeds no explorer: build the book first")
        lines.append(
            f"embed in {page}.html: {len(block.group(0).encode())} bytes"
            f" (plus two tags loading the script and style sheet)"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--html",
        type=Path,
        default=REPO / "_build" / "html",
        help="the built book (default: _build/html)",
    )
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    if not (args.html / "_static" / SCRIPT).is_file():
        parser.error(f"no explorer in {args.html}: build the book first (make book)")

    with BookServer(args.html) as server, chromium_browser() as browser:
        for page_name, what, settings, label, values in CASES:
            context, page, log = open_context(browser, DESKTOP)
            page.goto(server.page_url(page_name), wait_until="load")
            explorer = ExplorerPage(page)
            explorer.open_sections()
            if settings is not None:
                explorer.apply(settings)
            common = {"label": label, "values": values, "runs": args.runs}
            explorer_ms = statistics.median(
                page.evaluate(TIME_CHANGES, {"selector": ".upsampling-explorer", **common})
            )
            floor_ms = statistics.median(page.evaluate(TIME_CHANGES, {"selector": None, **common}))
            render_ms = float(explorer.root.get_attribute("data-render-ms"))
            cells = explorer.root.locator("td").count()
            print(
                f"{page_name}, {what}: change to painted redraw {explorer_ms:.1f} ms "
                f"(median of {args.runs}); "
                f"plain input {floor_ms:.1f} ms; ratio {explorer_ms / floor_ms:.2f}; "
                f"last render alone {render_ms:.1f} ms, {cells} table cells"
            )
            context.close()
    for line in page_weight(args.html):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
