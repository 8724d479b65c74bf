"""The HTML pages' templates (``autograder/templates``): Jinja2 with autoescape always on.

Every value a template shows is escaped unless it is marked safe here; the only safe values
are HTML made by the grader itself (the assignment's Markdown rendered without raw HTML, the
histogram's base64 PNG). Control characters in any value are escaped as well.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .display import printable

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_shown,
    )


def _shown(value: Any) -> Any:
    """Every value a template prints: control characters escaped (``display.printable``),
    newlines kept; the grader's own HTML stays HTML."""
    if isinstance(value, Markup):
        return Markup(printable(str(value), lines=True))
    if isinstance(value, str):
        return printable(value, lines=True)
    return value


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def number(value: float | None) -> str:
    """A score as the pages and the CSV write it: ``2``, ``2.5``; empty for none."""
    return "" if value is None else f"{value:g}"
