"""Sphinx extension: the upsampling explorer (explorer/) in the chapters that embed it.

A chapter embeds the explorer with a raw-HTML block whose content is the text a notebook
reader sees, since no page script runs in a notebook (Binder, Colab, a download)::

    <div class="upsampling-explorer" data-preset="checkerboard-artifacts">

    This interactive explorer runs in the book's web pages only. Reading this as a notebook?
    Open [this chapter's page of the book](https://.../chapters/checkerboard-artifacts.html#explorer-checkerboard-artifacts).

    </div>

The preset names an entry of ``explorer/presets.json`` (the settings the explorer starts
with, and the sections it opens). At build time this extension

* checks the preset name, and that the block links to the chapter's page on the published
  book: ``html.baseurl`` in ``_config.yml`` (the one place the site's address is written)
  followed by ``<page>.html#explorer-<preset>``. A wrong name or link is a build warning,
  which fails the strict build, and the warning gives the link to write;
* writes the preset into the block (``data-state``) and gives it the link's anchor as id;
* ships ``explorer/upsampling-explorer.js`` and ``.css`` as ``_static/`` files and adds them
  to the pages that embed the explorer, and to no other page. (Jupyter Book adds every
  script found under the book's own ``_static/`` folder to every page, so they are not there.)

The script replaces the block's content by the explorer; tests/browser/test_explorer.py
checks it in Chromium, and tests/browser/explorer_checks.py holds its arithmetic to NumPy
and Keras.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

ASSETS = Path(__file__).resolve().parent.parent / "explorer"
SCRIPT, STYLE = "upsampling-explorer.js", "upsampling-explorer.css"
PRESETS_FILE = ASSETS / "presets.json"
#: The opening tag a chapter writes; the closing ``</div>`` is a raw block of its own.
OPENING = re.compile(r'^\s*<div class="upsampling-explorer" data-preset="([a-z0-9-]+)">\s*$')
#: What the rewritten opening tag carries; the browser tests look for it too.
EMBED_CLASS = "upsampling-explorer"

logger = logging.getLogger(__name__)


def load_presets(path: Path = PRESETS_FILE) -> dict:
    """``{name: {"description", "state", "open"}}`` from explorer/presets.json."""
    return json.loads(path.read_text("utf8"))


def anchor(preset: str) -> str:
    return f"explorer-{preset}"


def page_link(baseurl: str, docname: str, preset: str) -> str:
    """Where a notebook reader finds the explorer: the chapter's page on the published book."""
    return f"{baseurl.rstrip('/')}/{docname}.html#{anchor(preset)}"


def _links_until_closing(node: nodes.Node) -> list[str]:
    """The link targets in the siblings that follow ``node``, up to the closing ``</div>``."""
    links = []
    sibling = node.next_node(siblings=True, descend=False, ascend=False)
    while sibling is not None:
        if isinstance(sibling, nodes.raw) and sibling.astext().strip() == "</div>":
            break
        links += [ref.get("refuri", "") for ref in sibling.findall(nodes.reference)]
        sibling = sibling.next_node(siblings=True, descend=False, ascend=False)
    return links


def embed_explorers(app, doctree: nodes.document) -> None:
    """Check every embed of the document and write its preset into it."""
    presets = load_presets()
    docname = app.env.docname
    for node in list(doctree.findall(nodes.raw)):
        match = OPENING.match(node.astext())
        if "html" not in node.get("format", "").split() or not match:
            continue
        name = match.group(1)
        app.env.note_dependency(str(PRESETS_FILE))  # a changed preset re-reads this page
        if name not in presets:
            logger.warning(f"unknown explorer preset {name!r}; explorer/presets.json has {sorted(presets)}",
                           location=node)
            continue
        expected = page_link(app.config.html_baseurl, docname, name)
        if not app.config.html_baseurl:
            logger.warning("the explorer's notebook link needs the book's address: set html.baseurl in _config.yml",
                           location=node)
        elif expected not in _links_until_closing(node):
            logger.warning(f"the explorer block must link to its page for notebook readers: {expected}",
                           location=node)
        payload = {"state": presets[name]["state"], "open": presets[name].get("open", [])}
        tag = (f'<div class="{EMBED_CLASS}" id="{anchor(name)}" data-preset="{name}" '
               f'data-state="{html.escape(json.dumps(payload, separators=(",", ":")), quote=True)}">\n')
        node.replace_self(nodes.raw("", tag, format="html"))


def _page_embeds_explorer(doctree) -> bool:
    return doctree is not None and any(
        f'class="{EMBED_CLASS}"' in node.astext() for node in doctree.findall(nodes.raw))


def add_assets(app, pagename, templatename, context, doctree) -> None:
    """The explorer's script and style, on the pages that embed it only."""
    if _page_embeds_explorer(doctree):
        app.add_css_file(STYLE)
        app.add_js_file(SCRIPT, loading_method="defer")


def ship_assets(app, config) -> None:
    config.html_static_path.extend(str(ASSETS / name) for name in (SCRIPT, STYLE))


def setup(app):
    app.connect("config-inited", ship_assets)
    app.connect("doctree-read", embed_explorers)
    app.connect("html-page-context", add_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
