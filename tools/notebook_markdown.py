"""The chapters' MyST markup as plain Markdown, for the notebooks learners open in Colab or Jupyter.

A chapter's Markdown cells use MyST directives and roles that only the book build understands:
in Colab a ``{literalinclude}`` would show as a raw directive instead of the code it names, a
``{cite}`` as a bare key. :func:`plain_markdown` rewrites each construct the chapters use into
Markdown that any notebook front end renders:

* ``{literalinclude}`` with ``:pyobject:`` -> a ``python`` code block with that function or
  class, read from the package's source file as the build reads it (its ``:caption:`` above);
* ``{admonition}``, ``{note}`` (and the other admonitions) -> a block quote with a bold title;
  ``{dropdown}`` -> an HTML ``<details>`` fold (Colab and JupyterLab render it);
* ``{cite}`` -> "Author et al. (year)" linked to the book's bibliography page; ``{doc}`` -> a link
  to the book's page; ``{ref}`` -> its text; ``{{ exercise_<name> }}`` -> the assignment's name
  with its Binder, Colab and download links;
* MyST labels (``(name)=``) and comments (``% ...``) go.

Anything else MyST-only raises :class:`UnknownMarkup` naming it, so a new construct in a chapter
fails the build instead of reaching a learner raw (tools/runnable_notebooks.py calls this).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pybtex.database import parse_file

from tools.publishing import BookSite, binder_student_copy_path, exercise_notebook_path

ADMONITIONS = {"note", "tip", "warning", "important", "hint", "caution", "attention", "seealso"}
DIRECTIVE_START = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}\s*(?P<argument>.*)$")
INLINE = re.compile(
    r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`"  # {cite}`key`
    r"|(?P<code>`[^`\n]*`)"  # `code`
    r"|\{\{\s*(?P<substitution>\w+)\s*\}\}"  # {{ exercise_unpooling }}
)
LABEL = re.compile(r"^\([\w-]+\)=\s*$")
TITLED_TARGET = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class UnknownMarkup(ValueError):
    """A chapter uses MyST markup this module cannot turn into plain Markdown."""


@dataclass(frozen=True)
class Chapter:
    """Where a chapter's source lives and what its links resolve against."""

    source: Path  # the chapter's .md file
    book_root: Path
    site: BookSite
    book_url: str  # the published HTML, ending with "/"

    def page_url(self, target: str) -> str:
        """The published page of a ``{doc}`` target (relative to the chapter, or /-rooted)."""
        if target.startswith("/"):
            path = Path(target.lstrip("/"))
        else:
            path = (self.source.parent / target).resolve().relative_to(self.book_root.resolve())
        return f"{self.book_url}{path.with_suffix('').as_posix()}.html"

    def page_title(self, target: str) -> str:
        """The first ``#`` heading of a ``{doc}`` target's source."""
        relative = target.lstrip("/") if target.startswith("/") else None
        base = self.book_root if relative is not None else self.source.parent
        source = (base / (relative or target)).with_suffix(".md")
        for line in source.read_text(encoding="utf8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
        raise UnknownMarkup(f"{self.source.name}: {{doc}} target {target!r} has no title")


def python_object(path: Path, name: str) -> str:
    """The source of function or class ``name`` in ``path``, decorators included; a dotted
    name (``Class.method``) looks inside the class, as Sphinx's ``:pyobject:`` does."""
    text = path.read_text(encoding="utf8")
    body: list[ast.stmt] = ast.parse(text).body
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None = None
    for part in name.split("."):
        node = next((n for n in body if isinstance(n, DEFINITIONS) and n.name == part), None)
        if node is None:
            raise UnknownMarkup(f"{path.name} has no function or class {name!r}")
        body = node.body
    assert node is not None and node.end_lineno is not None
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return textwrap.dedent("\n".join(text.splitlines()[first - 1 : node.end_lineno]))


def citation_labels(bib_file: Path) -> dict[str, tuple[str, str]]:
    """Each bibliography key -> (authors, year): "Author", "Author and Other" or "Author et al."."""
    labels = {}
    for key, entry in parse_file(str(bib_file)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(person.last_names) for person in people]
        if len(names) > 2:
            who = f"{names[0]} et al."
        else:
            who = " and ".join(names) or entry.fields.get("title", key)
        labels[key] = (who, entry.fields.get("year", "n.d."))
    return labels


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    """A directive's ``:key: value`` lines (or a ``---`` YAML block of them) and its content."""
    options: dict[str, str] = {}
    rest = body
    if rest and rest[0].strip() == "---":
        end = rest.index("---", 1)
        for line in rest[1:end]:
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
        rest = rest[end + 1 :]
    while rest and (match := re.match(r"^:([\w-]+):\s*(.*)$", rest[0])):
        options[match[1]] = match[2].strip()
        rest = rest[1:]
    return options, rest


def _trimmed(lines: list[str]) -> list[str]:
    """``lines`` without blank lines at either end."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _quote(lines: list[str]) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in lines]


class Converter:
    """Rewrites one chapter's Markdown cells (see the module's docstring)."""

    def __init__(self, chapter: Chapter, citations: dict[str, tuple[str, str]]):
        self.chapter = chapter
        self.citations = citations
        self.roles: dict[str, Callable[[str], str]] = {
            "cite": self._cite,
            "cite:p": self._cite,
            "cite:t": self._cite_textual,
            "doc": self._doc,
            "ref": self._ref,
        }

    def markdown(self, text: str) -> str:
        lines = self._blocks(text.splitlines())
        kept = [line for line in lines if not LABEL.match(line) and not line.startswith("% ")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(_trimmed(kept)))
        return self._inline(text)

    # Block-level constructs ------------------------------------------------------------------

    def _blocks(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        index = 0
        while index < len(lines):
            match = DIRECTIVE_START.match(lines[index])
            if not match:
                out.append(lines[index])
                index += 1
                continue
            fence = match["fence"]
            end = next((j for j in range(index + 1, len(lines)) if lines[j].strip() == fence), None)
            if end is None:
                raise UnknownMarkup(f"{self.chapter.source.name}: unclosed {{{match['name']}}}")
            options, body = _split_options(lines[index + 1 : end])
            out += [
                "",
                *self._directive(match["name"], match["argument"].strip(), options, body),
                "",
            ]
            index = end + 1
        return out

    def _directive(
        self, name: str, argument: str, options: dict[str, str], body: list[str]
    ) -> list[str]:
        where = self.chapter.source.name
        if name == "literalinclude":
            if set(options) - {"pyobject", "language", "caption"} or "pyobject" not in options:
                raise UnknownMarkup(
                    f"{where}: literalinclude options {sorted(options)} not supported"
                )
            code = python_object(self.chapter.source.parent / argument, options["pyobject"])
            caption = [f"*{options['caption']}*", ""] if options.get("caption") else []
            return [*caption, "```python", *code.splitlines(), "```"]
        content = _trimmed(self._blocks(body))
        if name == "admonition" or name in ADMONITIONS:
            title = (
                argument
                if name == "admonition"
                else name.capitalize() + (f": {argument}" if argument else "")
            )
            return _quote([f"**{title}**", "", *content])
        if name == "dropdown":
            return [
                "<details>",
                f"<summary>{argument or 'More'}</summary>",
                "",
                *content,
                "",
                "</details>",
            ]
        if name == "math":
            return ["$$", *content, "$$"]
        raise UnknownMarkup(f"{where}: directive {{{name}}} has no plain-Markdown form")

    # Inline constructs -------------------------------------------------------------------------

    def _inline(self, text: str) -> str:
        # One scan, left to right: a role's text is a code span preceded by {name}; a code span
        # on its own is code (left as it is, whatever it contains).
        return INLINE.sub(self._inline_match, text)

    def _inline_match(self, match: re.Match[str]) -> str:
        if match["code"] is not None:
            return match["code"]
        if match["substitution"] is not None:
            return self._substitution(match["substitution"])
        handler = self.roles.get(match["role"])
        if handler is None:
            raise UnknownMarkup(
                f"{self.chapter.source.name}: role {{{match['role']}}} has no plain-Markdown form"
            )
        return handler(match["text"])

    def _cited(self, keys: str) -> list[tuple[str, str, str]]:
        """(authors, year, link) of each key of a citation."""
        bibliography = f"{self.chapter.book_url}bibliography.html"
        cited = []
        for key in (k.strip() for k in keys.split(",")):
            if key not in self.citations:
                raise UnknownMarkup(f"{self.chapter.source.name}: no bibliography entry {key!r}")
            cited.append((*self.citations[key], bibliography))
        return cited

    def _cite(self, keys: str) -> str:
        """Parenthetical: ([Odena et al., 2016](...))."""
        return (
            "(" + "; ".join(f"[{who}, {year}]({url})" for who, year, url in self._cited(keys)) + ")"
        )

    def _cite_textual(self, keys: str) -> str:
        """Textual: Odena et al. ([2016](...))."""
        return "; ".join(f"{who} ([{year}]({url}))" for who, year, url in self._cited(keys))

    def _doc(self, text: str) -> str:
        titled = TITLED_TARGET.match(text)
        title, target = (titled["title"], titled["target"]) if titled else (None, text.strip())
        return f"[{title or self.chapter.page_title(target)}]({self.chapter.page_url(target)})"

    @staticmethod
    def _ref(text: str) -> str:
        titled = TITLED_TARGET.match(text)
        return titled["title"] if titled else text

    def _substitution(self, name: str) -> str:
        if not name.startswith("exercise_"):
            raise UnknownMarkup(f"{self.chapter.source.name}: substitution {name!r} unknown")
        assignment = name.removeprefix("exercise_").replace("_", "-")
        site = self.chapter.site
        notebook = exercise_notebook_path(assignment)
        return (
            f"`{assignment}` ([Binder]({site.binder_url(binder_student_copy_path(assignment))})"
            f" · [Colab]({site.colab_url(notebook)})"
            f" · [download]({self.chapter.book_url}{notebook}))"
        )


def plain_markdown_cells(nb, chapter: Chapter, bib_file: Path) -> None:
    """Rewrite every Markdown cell of ``nb`` (a chapter read by jupytext) in place."""
    converter = Converter(chapter, citation_labels(bib_file))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = converter.markdown(cell.source)
