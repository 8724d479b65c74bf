"""The HTML repairs of tools/book_html.py, on the snippets the theme really writes."""
from __future__ import annotations

from tools.book_html import repair

HEAD = """<head>
<script>const THEBE_JS_URL = "x"; const thebe_selector = ".thebe"</script>
<script>window.MathJax = {}</script>
<script>const THEBE_JS_URL = "x"; const thebe_selector = ".thebe"</script>
</head>"""


def test_repeated_inline_scripts_keep_only_the_first():
    repaired = repair(HEAD + "<body><script>a()</script><script>a()</script></body>")
    assert repaired.count("THEBE_JS_URL") == 1
    assert "window.MathJax" in repaired
    assert repaired.count("<script>a()</script>") == 2  # only the head is deduplicated


def test_search_button_takes_its_name_from_its_visible_text():
    button = ('<button class="btn search-button-field search-button__button pst-js-only" '
              'title="Search" aria-label="Search" data-bs-placement="bottom">')
    assert repair(button) == ('<button class="btn search-button-field search-button__button '
                              'pst-js-only" title="Search" data-bs-placement="bottom">')
    icon_only = '<button class="btn btn-sm search-button search-button__button" title="Search" aria-label="Search">'
    assert repair(icon_only) == icon_only  # no visible text: it needs its label


def test_colour_mode_icons_are_hidden_from_assistive_technology():
    icon = '<i class="theme-switch fa-solid fa-sun                fa-lg" data-mode="light" title="Light"></i>'
    assert repair(icon) == ('<i class="theme-switch fa-solid fa-sun                fa-lg" '
                            'data-mode="light" aria-hidden="true"></i>')


def test_code_toggles_and_citations():
    assert repair('<summary aria-label="Toggle hidden content">') == "<summary>"
    assert (repair('<div class="citation" id="id2" role="doc-biblioentry">')
            == '<div class="citation" id="id2" role="listitem">')


def test_a_figure_and_its_phone_layout_become_one_picture():
    # What Sphinx writes for the two images of upsampling_course.figures.PhoneLayoutRenderer.
    output = ('<div class="cell_output docutils container">\n'
              '<img alt="Four pixel grids" class="phone-layout" src="../_images/p.svg" />\n'
              '<img alt="Four pixel grids" class="wide-layout" src="../_images/w.svg" />\n</div>')
    repaired = repair(output)
    assert repaired == (
        '<div class="cell_output docutils container">\n<picture>'
        '<source media="(max-width: 640px)" srcset="../_images/p.svg" type="image/svg+xml" />'
        '<img alt="Four pixel grids" class="wide-layout" src="../_images/w.svg" /></picture>\n</div>')
    alone = '<img alt="A grid" class="wide-layout" src="../_images/w.svg" />'
    assert repair(alone) == alone  # a figure that fits a phone has no phone layout
