"""The Sphinx side of the explorer (tools/explorer_embed.py), on a tiny MyST project.

The whole book's strict build and tests/browser/test_explorer.py cover the real chapters;
this checks what a wrong embed does: a warning (which fails the strict build) that says
what to write.
"""
from __future__ import annotations

import io
import json
import re

import pytest
from sphinx.application import Sphinx

from tools.explorer_embed import SCRIPT, STYLE, load_presets, page_link

BASEURL = "https://example.org/book/"
PRESET = "conv2d-transpose"


def embed(preset: str, link: str) -> str:
    return (f'# A page\n\nText.\n\n<div class="upsampling-explorer" data-preset="{preset}">\n\n'
            f"This interactive explorer runs in the book's web pages only. Open [this page]({link}).\n\n</div>\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    source = tmp_path_factory.mktemp("source")
    (source / "conf.py").write_text(
        f"extensions = ['myst_parser', 'tools.explorer_embed']\nhtml_baseurl = {BASEURL!r}\n")
    (source / "index.md").write_text("# Index\n\n```{toctree}\ngood\nunknown\nunlinked\nplain\n```\n")
    (source / "good.md").write_text(embed(PRESET, page_link(BASEURL, "good", PRESET)))
    (source / "unknown.md").write_text(embed("no-such-preset", page_link(BASEURL, "unknown", "no-such-preset")))
    (source / "unlinked.md").write_text(embed(PRESET, "https://example.org/elsewhere.html"))
    (source / "plain.md").write_text("# Plain\n\nNo explorer here.\n")
    out = tmp_path_factory.mktemp("html")
    warnings = io.StringIO()
    app = Sphinx(str(source), str(source), str(out), str(out / ".doctrees"), "html",
                 status=io.StringIO(), warning=warnings, freshenv=True)
    app.build()
    return out, warnings.getvalue()


def test_a_good_embed_carries_its_preset_and_loads_the_assets(built):
    out, warnings = built
    html = (out / "good.html").read_text()
    match = re.search(r'<div class="upsampling-explorer" id="explorer-conv2d-transpose" '
                      r'data-preset="conv2d-transpose" data-state="([^"]*)">', html)
    assert match, html
    state = json.loads(match.group(1).replace("&quot;", '"'))
    assert state == {"state": load_presets()[PRESET]["state"], "open": load_presets()[PRESET]["open"]}
    assert f'src="_static/{SCRIPT}' in html and f'href="_static/{STYLE}' in html
    assert (out / "_static" / SCRIPT).is_file() and (out / "_static" / STYLE).is_file()
    assert "good.md" not in warnings


def test_pages_without_an_embed_do_not_load_the_assets(built):
    out, _ = built
    html = (out / "plain.html").read_text()
    assert SCRIPT not in html and STYLE not in html


def test_an_unknown_preset_is_a_warning_that_lists_the_presets(built):
    _, warnings = built
    assert re.search(r"unknown\.md:\d+: WARNING: unknown explorer preset 'no-such-preset'; "
                     r"explorer/presets.json has \['checkerboard-artifacts'", warnings), warnings


def test_a_missing_notebook_link_is_a_warning_that_gives_the_link(built):
    _, warnings = built
    assert (f"unlinked.md:5: WARNING: the explorer block must link to its page for notebook readers: "
            f"{page_link(BASEURL, 'unlinked', PRESET)}") in warnings, warnings
