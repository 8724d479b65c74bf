"""Chapter notebooks for Colab and download read as plain Markdown (tools/notebook_markdown.py)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from tools.build_book import BOOK_ROOT, notebook_files
from tools.notebook_markdown import Chapter, Converter, UnknownMarkup, citation_labels
from tools.publishing import BookSite
from tools.runnable_notebooks import chapter_notebook
from upsampling_course import artifacts

SITE = BookSite.from_config()
CHAPTERS = [path for path in notebook_files() if path.parent.name == "chapters"]
# What only MyST renders: a role, a directive, a substitution, a label.
MYST_ONLY = re.compile(r"\{[\w:-]+\}`|^\s*(`{3,}|:{3,})\{|\{\{|^\([\w-]+\)=", re.M)


def convert(text: str, source: Path | None = None) -> str:
    chapter = Chapter(
        source or BOOK_ROOT / "chapters" / "checkerboard-artifacts.md",
        BOOK_ROOT,
        SITE,
        SITE.book_url,
    )
    return Converter(chapter, citation_labels(BOOK_ROOT / "references.bib")).markdown(text)


def markdown_of(nb) -> str:
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda path: path.stem)
def test_no_myst_only_markup_reaches_a_learner(source):
    markdown = markdown_of(chapter_notebook(source))
    assert not MYST_ONLY.findall(markdown)
    # Every code block the page shows by inclusion is in the notebook too.
    includes = source.read_text(encoding="utf8").count("{literalinclude}")
    assert markdown.count("```python") >= includes


def test_an_included_function_is_its_source():
    text = convert(
        "```{literalinclude} ../src/upsampling_course/artifacts.py\n:pyobject: polyphase_sums\n```"
    )
    code = text.strip().removeprefix("```python\n").removesuffix("\n```")
    assert code == inspect.getsource(artifacts.polyphase_sums).rstrip()


def test_an_include_keeps_its_caption():
    text = convert(
        "```{literalinclude} ../src/upsampling_course/artifacts.py\n"
        ":pyobject: polyphase_sums\n:caption: Package source (excerpt)\n```"
    )
    assert text.startswith("*Package source (excerpt)*\n\n```python\ndef polyphase_sums(")


def test_an_included_method_is_found_inside_its_class():
    text = convert(
        "```{literalinclude} ../src/upsampling_course/layers.py\n:pyobject: _MaxUnpooling.call\n```"
    )
    lines = text.splitlines()
    assert lines[0] == "```python" and lines[1].startswith("def call(") and lines[-1] == "```"
    # Dedented out of the class, the method's body is all there, up to the next definition.
    source = (BOOK_ROOT / "src/upsampling_course/layers.py").read_text()
    body = source[source.index("class _MaxUnpooling") :].split("\n    def call(", 1)[1]
    assert lines[2] == body.splitlines()[1].removeprefix("    ")


def test_citations_name_authors_and_year_and_link_the_bibliography():
    bibliography = f"{SITE.book_url}bibliography.html"
    assert convert("as {cite:t}`odena2016deconvolution` showed") == (
        f"as Odena et al. ([2016]({bibliography})) showed"
    )
    assert convert("artifacts {cite}`odena2016deconvolution`") == (
        f"artifacts ([Odena et al., 2016]({bibliography}))"
    )
    with pytest.raises(UnknownMarkup, match="no bibliography entry 'nobody2099'"):
        convert("{cite}`nobody2099`")


def test_links_to_pages_use_their_title_and_published_address():
    assert convert("see {doc}`unpooling`") == (
        f"see [Unpooling]({SITE.book_url}chapters/unpooling.html)"
    )
    assert convert("see {doc}`the intro </intro>`") == f"see [the intro]({SITE.book_url}intro.html)"
    assert convert("{ref}`below <equivalent-convolution>`") == "below"


def test_folds_notes_and_exercise_links():
    text = convert(
        "```{dropdown} Answers\n1. four\n```\n\n```{note}\nA {doc}`unpooling` note.\n```"
    )
    assert text.startswith("<details>\n<summary>Answers</summary>\n\n1. four\n\n</details>")
    assert "> **Note**\n>\n> A [Unpooling](" in text
    exercise = convert("Graded: {{ exercise_unpooling }}")
    assert exercise.startswith("Graded: `unpooling` ([Binder](https://mybinder.org/v2/gh/")
    assert f"[download]({SITE.book_url}notebooks/exercises/unpooling/unpooling.ipynb)" in exercise


def test_code_spans_are_left_as_code_and_labels_go():
    assert convert("(equivalent-convolution)=\n## Title\n\nthe cell prints `{m}` here") == (
        "## Title\n\nthe cell prints `{m}` here"
    )


@pytest.mark.parametrize("markup", ["```{figure} a.png\n```", "{eq}`label`", "{{ title }}"])
def test_markup_without_a_plain_form_is_refused_by_name(markup):
    with pytest.raises(UnknownMarkup, match=r"figure|eq|title"):
        convert(markup)
