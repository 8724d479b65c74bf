"""The HTML pages' templates (``autograder/templates``): Jinja2 with autoescape always on.

Every value a template shows is escaped unless it is marked safe here; the only safe values
are HTML made by the grader itself (the assignment's Markdown rendered without raw HTML, the
histogram's base64 PNG).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

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
    )


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def number(value: float | None) -> str:
    """A score as the pages and the CSV write it: ``2``, ``2.5``; empty for none."""
    return "" if value is None else f"{value:g}"
