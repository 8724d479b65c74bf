"""The upsampling explorer in the built book, in Chromium, as a learner uses it.

Each preset is checked on the chapter page that embeds it (values against the NumPy
references and Keras, accessibility, 1280 px and 390 px, a screenshot of each kept in
test-artifacts/browser/explorer/), then a fixed sample of the whole space of settings is
set through the controls of one page and read back from its grids (tests/browser/explorer_checks.py;
``python -m benchmarks.explorer_whole_space`` runs every combination on demand).
"""
from __future__ import annotations

import collections
import re
import time
from pathlib import Path

import numpy as np
import pytest

from tests.browser.browser_helpers import AXE_JS, AXE_RUN, DESKTOP, PHONE, PAGE_WIDTH, REPO, open_context
from tests.browser.explorer_checks import (
    KERNEL_VALUES, OUTPUT_PADDINGS, PADDINGS, RANKS, ExplorerPage, KerasOracle, Settings, check, ci_sample,
)
from tools.explorer_embed import SCRIPT, STYLE, load_presets, page_link

pytestmark = pytest.mark.browser

PRESETS = load_presets()
#: Where each preset is embedded (the chapters' text around the embed matches the preset).
EMBEDS = {
    "chapters/conv2d-transpose": "conv2d-transpose",
    "chapters/inside-conv2d-transpose": "inside-conv2d-transpose",
    "chapters/checkerboard-artifacts": "checkerboard-artifacts",
    "chapters/volumes-3d": "volumes-3d",
}
PAGE_OF = {preset: page for page, preset in EMBEDS.items()}
SAMPLE_PAGE = "chapters/conv2d-transpose"


@pytest.fixture(scope="module")
def oracle():
    return KerasOracle()


@pytest.fixture(scope="module")
def explorer_shots(artifacts_dir) -> Path:
    folder = artifacts_dir / "explorer"
    folder.mkdir(exist_ok=True)
    return folder


def open_explorer(chromium, url: str, viewport: dict):
    context, page, log = open_context(chromium, viewport)
    page.goto(url, wait_until="load")
    return context, page, log, ExplorerPage(page)


def test_the_four_chapters_embed_the_explorer_and_no_other_page_loads_it(book_html):
    embedded = {}
    for path in sorted(book_html.rglob("*.html")):
        text = path.read_text("utf8")
        page = path.relative_to(book_html).with_suffix("").as_posix()
        presets = re.findall(r'<div class="upsampling-explorer" id="explorer-([a-z0-9-]+)"', text)
        if presets:
            embedded[page] = presets
        assert (SCRIPT in text) == bool(presets), f"{page}: the explorer's script without an explorer, or the reverse"
        assert (STYLE in text) == bool(presets), page
    assert embedded == {page: [preset] for page, preset in EMBEDS.items()}
    assert set(PRESETS) == set(EMBEDS.values()), "a preset that no chapter uses"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_on_its_page_agrees_with_numpy_and_keras(chromium, book_server, oracle, explorer_shots, preset):
    settings = Settings.from_state(PRESETS[preset]["state"])
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(PAGE_OF[preset]), DESKTOP)
    try:
        for section in PRESETS[preset]["open"]:
            assert explorer.root.locator(f'details[data-section="{section}"]').get_attribute("open") is not None
        explorer.settled()
        explorer.root.scroll_into_view_if_needed()
        explorer.root.screenshot(path=explorer_shots / f"{preset}-desktop.png")
        explorer.open_sections()
        problems = check(settings, explorer.read(settings.rank), oracle)
        assert problems == [], f"{preset}: {problems}"
        assert log.console_errors == [] and log.failed == [] and log.foreign == []
    finally:
        context.close()


def test_presets_show_what_the_chapters_say(chromium, book_server):
    """The sentences next to the embeds: four taps but four different sums (checkerboard),
    eight stamps in the centre of the 5x5x5 volume, the 5x5 output of the 2x2 example."""
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(PAGE_OF["checkerboard-artifacts"]), DESKTOP)
    try:
        shown = explorer.read(2)
        taps = {row[1] for row in shown.phases}
        sums = {row[2] for row in shown.phases}
        assert (len(shown.phases), taps, len(sums), shown.distinct) == (4, {"4"}, 4, 4), shown.phases
    finally:
        context.close()
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(PAGE_OF["volumes-3d"]), DESKTOP)
    try:
        counts = explorer.read(3).grids["overlap"]
        assert counts.shape == (5, 5, 5) and counts[2, 2, 2] == 8 == counts.max()
        assert explorer.root.locator("svg.ux-shapes").get_attribute("aria-label") == "input 2 by 2 by 2; kernel 3 by 3 by 3; output 5 by 5 by 5"
    finally:
        context.close()
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(PAGE_OF["conv2d-transpose"]), DESKTOP)
    try:
        shown = explorer.read(2)
        assert shown.shape == "(1, 5, 5, 1)"
        np.testing.assert_array_equal(shown.grids["output"][2], [4, 4, 10, 6, 6])
    finally:
        context.close()


@pytest.mark.parametrize("page_name", sorted(EMBEDS))
def test_accessible_with_every_section_open(chromium, book_server, page_name):
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(page_name), DESKTOP)
    try:
        explorer.open_sections()
        unlabelled = explorer.root.evaluate("""(root) => Array.from(root.querySelectorAll('input, select, button'))
            .filter((el) => !el.closest('[hidden]'))
            .filter((el) => !(el.labels && el.labels.length) && !el.textContent.trim() && !el.getAttribute('aria-label'))
            .map((el) => el.outerHTML.slice(0, 80))""")
        assert unlabelled == []
        grids = explorer.root.evaluate("""(root) => Array.from(root.querySelectorAll('[data-grid]'))
            .filter((el) => !el.closest('[hidden]'))
            .map((el) => ({tables: el.querySelectorAll('table').length,
                           captions: el.querySelectorAll('table > caption').length,
                           headers: el.querySelectorAll('th[scope]').length}))""")
        assert grids and all(g["tables"] >= 1 and g["captions"] == g["tables"] and g["headers"] > 0 for g in grids)
        explorer.settled()
        page.add_script_tag(path=str(AXE_JS))
        serious = [v for v in page.evaluate(AXE_RUN) if v["impact"] in {"serious", "critical"}]
        assert serious == [], f"{page_name}: {serious}"
    finally:
        context.close()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_fits_a_phone(chromium, book_server, explorer_shots, preset):
    """At 390 px every control is on screen and can take the focus; wide grids scroll in their
    own box (which then takes the focus too), never the page."""
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(PAGE_OF[preset]), PHONE)
    try:
        explorer.open_sections()
        explorer.apply(Settings("conv-transpose", 2, (5, 5), 3, 5, "valid", None, "random", "random"))
        assert explorer.read(2).shape == "(1, 17, 17, 1)"
        explorer.settled()
        width = page.evaluate(PAGE_WIDTH)
        assert width["width"] <= PHONE["width"], width["wider"]
        controls = explorer.root.locator(".ux-controls input:visible, .ux-controls select:visible, .ux-stepper input, .ux-stepper button")
        assert controls.count() >= 8
        for control in controls.all():
            box = control.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], control
            control.focus()
            assert control.evaluate("(el) => el === document.activeElement")
        box = explorer.root.locator('[data-grid="output"] .ux-scroll')
        sizes = box.evaluate("(el) => ({scroll: el.scrollWidth, client: el.clientWidth, tab: el.tabIndex})")
        assert sizes["scroll"] > sizes["client"] and sizes["tab"] == 0, sizes
        # The book's phone layout stacks wide tables row by row; a pixel grid must stay a grid.
        page.evaluate("() => window.dispatchEvent(new Event('resize'))")
        page.wait_for_timeout(100)
        assert explorer.root.locator("table.stacked").count() == 0
        explorer.apply(Settings.from_state(PRESETS[preset]["state"]))
        explorer.settled()
        explorer.root.scroll_into_view_if_needed()
        explorer.root.screenshot(path=explorer_shots / f"{preset}-phone.png")
    finally:
        context.close()


def test_runs_from_a_file_url(chromium, book_html):
    """The README promises the built book reads from file://: so does the explorer (a classic
    script, as browsers refuse module scripts from file:// URLs)."""
    context = chromium.new_context(viewport=DESKTOP)
    asked = []
    context.route("http*://**/*", lambda route: (asked.append(route.request.url), route.abort()))
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto((book_html / f"{SAMPLE_PAGE}.html").as_uri(), wait_until="load")
        assert ExplorerPage(page).read(2).shape == "(1, 5, 5, 1)"
        assert [e for e in errors if "explorer" in e] == [] and asked == []
    finally:
        context.close()


def test_keyboard_alone_changes_the_settings(chromium, book_server):
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(SAMPLE_PAGE), DESKTOP)
    try:
        explorer.control("Kernel size").focus()
        page.keyboard.press("ArrowUp")
        assert explorer.read(2).shape == "(1, 6, 6, 1)"  # valid: (2 - 1) * 2 + 4
        explorer.control("Padding").focus()
        page.keyboard.press("ArrowDown")
        assert explorer.read(2).shape == "(1, 4, 4, 1)"  # same: 2 * 2
        explorer.control("Dimensions").focus()
        page.keyboard.press("ArrowDown")
        assert explorer.read(3).shape == "(1, 4, 4, 4, 1)"
    finally:
        context.close()


def test_a_bad_number_keeps_the_drawing_and_says_why(chromium, book_server):
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(SAMPLE_PAGE), DESKTOP)
    try:
        before = explorer.read(2)
        explorer.control("Kernel size").fill("9")
        after = explorer.read(2)
        assert "whole number from 1 to 5" in after.message
        assert explorer.control("Kernel size").get_attribute("aria-invalid") == "true"
        assert after.shape == before.shape and np.array_equal(after.grids["output"], before.grids["output"])
        explorer.control("Kernel size").fill("2")
        assert explorer.read(2).shape == "(1, 4, 4, 1)" and not explorer.read(2).message
    finally:
        context.close()


def test_refusal_names_the_rule(chromium, book_server, oracle):
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(SAMPLE_PAGE), DESKTOP)
    try:
        cases = {
            Settings("conv-transpose", 2, (2, 2), 2, 3, "valid", 2, "ones", "counting"): "must be smaller than the stride",
            Settings("conv-transpose", 2, (3, 3), 2, 4, "same", 0, "ones", "counting"): "an even kernel (4) and output_padding=0",
            Settings("conv", 1, (2,), 1, 3, "valid", None, "ones", "counting"): "kernel must fit inside the input",
            Settings("unpool", 3, (4, 2, 4), 1, 3, "valid", None, None, "random"): "pooling window must fit inside the input",
        }
        for settings, rule in cases.items():
            shown = explorer.show(settings)
            assert shown.refusal and rule in shown.refusal["text"], (settings, shown.refusal)
            assert check(settings, shown, oracle) == []  # Keras refuses it too
    finally:
        context.close()


def test_step_through_the_stamps(chromium, book_server):
    """Each step adds one input pixel's stamp: after t steps the output is the transposed
    convolution of the first t input pixels (the others zero)."""
    from upsampling_course.reference import conv_transpose

    context, page, log, explorer = open_explorer(chromium, book_server.page_url(PAGE_OF["inside-conv2d-transpose"]), DESKTOP)
    try:
        shown = explorer.read(2)
        x, kernel = shown.grids["input"], shown.grids["kernel"]
        slider = explorer.root.get_by_label("Stamps shown")
        assert slider.input_value() == "4"
        np.testing.assert_array_equal(shown.grids["step-output"], shown.grids["output"])
        for t in (0, 1, 3):
            slider.fill(str(t))
            masked = np.where(np.arange(x.size).reshape(x.shape) < t, x, 0)
            expected = conv_transpose(masked[None, ..., None], kernel[..., None, None], strides=2)[0, ..., 0]
            np.testing.assert_allclose(explorer.read(2).grids["step-output"], expected)
            highlighted = explorer.root.locator('[data-grid="step-output"] td.ux-current').count()
            assert highlighted == (0 if t == 0 else 9)
        explorer.root.get_by_role("button", name="Next").click()
        assert slider.input_value() == "4"
        explorer.root.get_by_role("button", name="Previous").click()
        assert slider.input_value() == "3"
    finally:
        context.close()


def test_sample_covers_the_whole_space():
    sample = ci_sample()
    assert len(sample) >= 200
    assert {(s.operation, s.rank) for s in sample} == {(op, r) for op, ranks in RANKS.items() for r in ranks}
    kernel_ops = [s for s in sample if s.kernel is not None]
    assert {s.kernel for s in kernel_ops} == set(range(1, 6))
    assert {s.stride for s in sample} == {1, 2, 3}
    assert {s.padding for s in kernel_ops} == set(PADDINGS)
    assert {s.output_padding for s in sample if s.operation == "conv-transpose"} == set(OUTPUT_PADDINGS)
    assert {n for s in sample for n in s.sizes} == set(range(1, 6))
    assert {s.kernel_values for s in kernel_ops if s.kernel_values} == set(KERNEL_VALUES)
    assert {s.input_values for s in sample} == {"random", "counting", "ones"}


def test_sample_agrees_with_numpy_and_keras(chromium, book_server, oracle, artifacts_dir):
    sample = ci_sample()
    context, page, log, explorer = open_explorer(chromium, book_server.page_url(SAMPLE_PAGE), DESKTOP)
    started = time.perf_counter()
    tally = collections.Counter()
    try:
        explorer.open_sections()
        failures = []
        for settings in sample:
            shown = explorer.show(settings)
            tally["refused" if shown.refusal else "values" if "output" in shown.grids else "shape only"] += 1
            problems = check(settings, shown, oracle)
            if problems:
                failures.append((settings, problems))
        assert log.console_errors == []
    finally:
        context.close()
    seconds = time.perf_counter() - started
    (artifacts_dir / "explorer-sample.txt").write_text(
        f"{len(sample)} combinations in {seconds:.1f} s: {dict(tally)}\n")
    assert failures == [], f"{len(failures)} of {len(sample)} differ; first: {failures[:3]}"
    assert tally["refused"] >= 10 and tally["values"] >= 150


def test_notebook_readers_get_a_link_to_the_page():
    """In a notebook no page script runs: the embed renders as a paragraph linking to the
    chapter's page of the published book (Jupyter renders Markdown as CommonMark)."""
    import jupytext
    import yaml
    from markdown_it import MarkdownIt

    baseurl = yaml.safe_load((REPO / "_config.yml").read_text())["html"]["baseurl"]
    for page, preset in EMBEDS.items():
        notebook = jupytext.read(REPO / f"{page}.md")
        cells = [c.source for c in notebook.cells if c.cell_type == "markdown" and "upsampling-explorer" in c.source]
        assert len(cells) == 1, page
        rendered = MarkdownIt("commonmark").render(cells[0])
        assert f'<a href="{page_link(baseurl, page, preset)}">' in rendered, rendered
        assert "web pages only" in rendered
