"""Every combination of the upsampling explorer's settings, checked through the page (on demand).

    python -m benchmarks.explorer_whole_space                  # the built book in _build/html
    python -m benchmarks.explorer_whole_space --html DIR --limit 500
    python -m benchmarks.explorer_whole_space --start 12000      # the rest of an interrupted run

The explorer's whole space: kernel 1-5, stride 1-3, padding valid and same, output_padding
unset and 0-2 (the illegal ones too, which Keras must refuse), input 1-5 per axis, every
operation in every rank it has, the kernel and input values cycled through their kinds.
In Chromium (Playwright, /usr/bin/chromium), on a chapter page of the built book, each
combination is set through the explorer's labelled controls and read back from what the page
draws; tests/browser/explorer_checks.py compares it with the package's NumPy references and
with Keras (tests/browser/test_explorer.py runs a fixed sample of 240 of them in CI).

Prints how many combinations it checked, how many Keras refused and for how many the values
were compared, and every mismatch; exits 1 if any combination differs.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import sys
import time
from pathlib import Path

from tests.browser.browser_helpers import DESKTOP, REPO, BookServer, chromium_browser, open_context
from tests.browser.explorer_checks import ExplorerPage, KerasOracle, check, whole_space


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--html",
        type=Path,
        default=REPO / "_build" / "html",
        help="the built book (default: _build/html)",
    )
    parser.add_argument(
        "--page", default="chapters/conv2d-transpose", help="a page that embeds the explorer"
    )
    parser.add_argument("--limit", type=int, default=None, help="stop after this many combinations")
    parser.add_argument(
        "--start",
        type=int,
        default=0,
        help="skip the first this many combinations (a run prints its count every 1000)",
    )
    args = parser.parse_args(argv)
    if not (args.html / f"{args.page}.html").is_file():
        parser.error(f"no {args.page}.html in {args.html}: build the book first (make book)")

    stop = None if args.limit is None else args.start + args.limit
    space = list(itertools.islice(whole_space(), args.start, stop))
    last = args.start + len(space)
    oracle = KerasOracle()
    tally: collections.Counter = collections.Counter()
    failures = []
    started = time.perf_counter()
    with BookServer(args.html) as server, chromium_browser() as browser:
        context, page, log = open_context(browser, DESKTOP)
        page.goto(server.page_url(args.page), wait_until="load")
        explorer = ExplorerPage(page)
        explorer.open_sections()
        for number, settings in enumerate(space, start=args.start + 1):
            shown = explorer.show(settings)
            tally[
                "refused by Keras"
                if shown.refusal
                else "values compared"
                if "output" in shown.grids
                else "shape only"
            ] += 1
            problems = check(settings, shown, oracle)
            if problems:
                failures.append((settings, problems))
                print(f"MISMATCH {settings}: {problems}", flush=True)
            if number % 1000 == 0:
                print(
                    f"{number} of {last} checked, {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        errors = list(log.console_errors)
        context.close()
    seconds = time.perf_counter() - started
    print(
        f"checked {len(space)} combinations (numbers {args.start + 1}-{last})"
        f" in {seconds:.0f} s "
        f"({1000 * seconds / len(space):.0f} ms each): "
        + ", ".join(f"{count} {what}" for what, count in sorted(tally.items()))
    )
    print(f"{len(failures)} mismatches; console errors: {errors or 'none'}")
    return 1 if failures or errors else 0


if __name__ == "__main__":
    sys.exit(main())
