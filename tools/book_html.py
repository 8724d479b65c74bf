"""Sphinx extension: the book's HTML reads offline, passes accessibility checks, and every
notebook can be run where the reader is (Binder, Colab, a download).

Registered in ``_config.yml`` (``sphinx: local_extensions``); tests/browser checks the result
in Chromium (requests, console, axe-core).

Offline reading. MathJax comes from the npm package pinned in package.json (``npm ci``
first) and is copied into the build as ``_static/es5/`` (``mathjax_path`` in ``_config.yml``
points there), instead of being loaded from a CDN. The folder is added to the static paths
here, not in ``_config.yml``: Jupyter Book adds every ``.js`` file of the configured static
paths to every page as a script, which would load all of MathJax's components at once.

Accessibility. After the HTML build a few fixed snippets are rewritten in every page; each
rewrite names the axe-core rule (or console error) it fixes:

* ``label-content-name-mismatch`` (WCAG 2.5.3): the search buttons are labelled "Search" but
  show "Search Ctrl+K"; the colour-mode button's icons carry titles ("Light") that are not in
  its label; myst-nb's "Show code cell source" toggles are labelled "Toggle hidden content".
  Speech-input users say what they see, so the accessible name must contain the visible text:
  the redundant labels go (the name then comes from the visible text) and the icons are
  hidden from assistive technology.
* ``aria-required-children``: docutils puts ``role="doc-biblioentry"`` (a deprecated role)
  entries in a ``role="list"``, which must hold list items.
* A console error "Identifier 'THEBE_JS_URL' has already been declared": sphinx-thebe's
  configuration script is emitted twice in each page's head; the second copy goes.

Figures on phones. A grid figure too wide for a phone comes with its phone layout (see
``upsampling_course.figures``): two images, ``phone-layout`` then ``wide-layout``. They become
one ``<picture>`` whose ``<source>`` the browser takes on a narrow screen, so a page has one
image per figure, with its alt text, and a reader downloads one of the two files.

Running the notebooks (addresses from the one setting, see tools/publishing.py). When the HTML
build finishes, the runnable notebooks are written beside it, and the executed chapters that
the download menu offers get their outputs (tools/runnable_notebooks.py).
The theme's Colab button would open the chapter's MyST source, which Colab cannot read; it is
pointed at the chapter's built notebook on the publish branch instead. Each graded exercise is
linked with ``{{ exercise_<name> }}`` (a substitution per assignment, made here), which renders
the ``{exercise}`` role: the assignment's name with links to its student copy in Binder, in
Colab, and for download.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError

from autograder.sources import list_assignments
from tools.publishing import (
    BookSite,
    binder_student_copy_path,
    chapter_notebook_path,
    exercise_notebook_path,
    relative_to_page,
)

#: The MathJax 3 distribution installed by ``npm ci`` (package.json pins the version).
MATHJAX = Path(__file__).resolve().parent.parent / "node_modules" / "mathjax"

REWRITES: list[tuple[re.Pattern, str]] = [
    (
        re.compile(
            r'(<button class="btn search-button-field search-button__button[^"]*"'
            r' title="[^"]*") aria-label="[^"]*"'
        ),
        r"\1",
    ),
    (
        re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"'),
        r'\1 aria-hidden="true"',
    ),
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    (
        re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry"'),
        r'\1 role="listitem"',
    ),
]
_INLINE_SCRIPT = re.compile(r"<script>[^<]*</script>\n?")

#: Screens up to this width get a figure's phone layout. The wide layout is at most 6.9 in
#: (662 px) wide and is shown unscaled from about 700 px; the phone layout is 3.5 in wide.
PHONE_MEDIA = "(max-width: 640px)"
_PHONE_PAIR = re.compile(
    r'<img [^>]*?\bclass="[^"]*\bphone-layout\b[^"]*"[^>]*?\bsrc="(?P<phone>[^"]+)"[^>]*/>\s*'
    r'(?P<wide><img [^>]*?\bclass="[^"]*\bwide-layout\b[^"]*"[^>]*/>)'
)


def _picture(match: re.Match) -> str:
    return (
        f'<picture><source media="{PHONE_MEDIA}" srcset="{match["phone"]}" '
        f'type="image/svg+xml" />{match["wide"]}</picture>'
    )


def _drop_repeated_scripts(html: str) -> str:
    """Keep the first of identical inline scripts in the page's head."""
    head_end = html.find("</head>")
    seen: set[str] = set()

    def keep_first(match: re.Match) -> str:
        if match.start() > head_end or match.group(0) not in seen:
            seen.add(match.group(0))
            return match.group(0)
        return ""

    return _INLINE_SCRIPT.sub(keep_first, html)


def repair(html: str) -> str:
    for pattern, replacement in REWRITES:
        html = pattern.sub(replacement, html)
    html = _PHONE_PAIR.sub(_picture, html)
    return _drop_repeated_scripts(html)


def repair_pages(outdir: str | Path) -> int:
    """Rewrite every HTML page under ``outdir``; return how many changed."""
    changed = 0
    for path in Path(outdir).rglob("*.html"):
        text = path.read_text("utf8")
        repaired = repair(text)
        if repaired != text:
            path.write_text(repaired, "utf8")
            changed += 1
    return changed


def _on_build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        repair_pages(app.outdir)


def _ship_mathjax(app, config) -> None:
    if not (MATHJAX / "es5" / "tex-chtml.js").is_file():
        raise ExtensionError(
            f"MathJax is missing ({MATHJAX}): run `npm ci` in {MATHJAX.parent.parent}"
        )
    config.html_static_path.append(str(MATHJAX))


# Running the notebooks ----------------------------------------------------------------------


class notebook_download(nodes.reference):
    """A link that the browser saves instead of opening (``download`` attribute)."""


def _visit_notebook_download(translator, node) -> None:
    translator.body.append(
        translator.starttag(
            node, "a", "", href=node["refuri"], CLASS="reference download", download=""
        )
    )


def _depart_notebook_download(translator, node) -> None:
    translator.body.append("</a>")


def exercise_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{exercise}`<assignment>```: the name, then Binder, Colab and download links."""
    env = inliner.document.settings.env
    assignment = text.strip()
    exercises_dir = Path(env.srcdir) / "exercises"
    if assignment not in list_assignments(exercises_dir):
        message = inliner.reporter.error(
            f"no exercise {assignment!r} in {exercises_dir}/source", line=lineno
        )
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    site = BookSite.from_config(Path(env.srcdir))
    notebook = exercise_notebook_path(assignment)
    links = [
        nodes.reference("", "Binder", refuri=site.binder_url(binder_student_copy_path(assignment))),
        nodes.reference("", "Colab", refuri=site.colab_url(notebook)),
        notebook_download("", "download", refuri=relative_to_page(env.docname, notebook)),
    ]
    parts: list[nodes.Node] = [nodes.literal(assignment, assignment), nodes.Text(" (")]
    for index, link in enumerate(links):
        parts += [nodes.Text(" · ")] if index else []
        parts.append(link)
    return [*parts, nodes.Text(")")], []


def _exercise_substitutions(app, config) -> None:
    substitutions = dict(config.myst_substitutions or {})
    for assignment in list_assignments(Path(app.srcdir) / "exercises"):
        key = "exercise_" + assignment.replace("-", "_")
        substitutions.setdefault(key, f"{{exercise}}`{assignment}`")
    config.myst_substitutions = substitutions


def _colab_opens_the_built_notebook(app, pagename, templatename, context, doctree) -> None:
    """Runs after the theme made its launch buttons (priority 501)."""
    site = BookSite.from_config(Path(app.srcdir))
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group["buttons"]:
            if button.get("text") == "Colab":
                button["url"] = site.colab_url(chapter_notebook_path(pagename))


def _write_runnable_notebooks(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from tools.build_book import notebook_files
    from tools.runnable_notebooks import (
        MissingInstallCell,
        write_executed_copies,
        write_runnable_notebooks,
    )

    srcdir, outdir = Path(app.srcdir), Path(app.outdir)
    chapters = [path for path in notebook_files(srcdir) if path.suffix == ".md"]
    try:
        write_runnable_notebooks(outdir, chapters, BookSite.from_config(srcdir), srcdir)
        write_executed_copies(
            outdir,
            outdir.parent / "jupyter_execute",
            Path(app.env.mystnb_config.execution_cache_path),
            [path.relative_to(srcdir).with_suffix("").as_posix() for path in chapters],
        )
    except MissingInstallCell as error:
        raise ExtensionError(str(error)) from None
    except KeyError as error:
        raise ExtensionError(f"a chapter has no executed copy in the cache: {error}") from None


def setup(app):
    app.connect("config-inited", _ship_mathjax)
    app.connect("config-inited", _exercise_substitutions)
    app.add_role("exercise", exercise_role)
    app.add_node(notebook_download, html=(_visit_notebook_download, _depart_notebook_download))
    app.connect("html-page-context", _colab_opens_the_built_notebook, priority=502)
    app.connect("build-finished", _on_build_finished)
    app.connect("build-finished", _write_runnable_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
