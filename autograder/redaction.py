"""What must never reach a student: the hidden tests' lines, hidden checks' names, the seed.

Anything shown to a student that came out of a submission's run (output, error messages,
notes, its own answers) goes through a :class:`Redactor` first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .answer_key import AnswerKey
from .notebook import InstructorNotebook

HIDDEN = "[hidden]"
_BEGIN_HIDDEN = re.compile(r"#+\s*BEGIN HIDDEN TESTS")
_END_HIDDEN = re.compile(r"#+\s*END HIDDEN TESTS")
#: Secrets this short would blank ordinary words; a release's own seeds are far larger.
MIN_SECRET_CHARS = 4
MIN_SEED = 10**5


def _split_hidden(text: str) -> tuple[list[str], list[str]]:
    """(lines outside, non-blank lines inside) the ``### BEGIN/END HIDDEN TESTS`` regions."""
    outside: list[str] = []
    inside: list[str] = []
    hidden = False
    for line in text.splitlines():
        if _BEGIN_HIDDEN.search(line):
            hidden = True
        elif _END_HIDDEN.search(line):
            hidden = False
        elif not hidden:
            outside.append(line)
        elif line.strip():
            inside.append(line.strip())
    return outside, inside


def hidden_region_lines(text: str) -> list[str]:
    """Non-blank lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``."""
    return _split_hidden(text)[1]


def visible_text(text: str) -> str:
    """A test cell with any hidden region cut out (a released one has none)."""
    return "\n".join(_split_hidden(text)[0])


def visible_prefix(text: str) -> str:
    """The part of a test cell that runs before its first hidden test."""
    match = _BEGIN_HIDDEN.search(text)
    return text[: match.start()] if match else text


@dataclass(frozen=True)
class Redactor:
    """Replaces hidden-test text and the grading seed in text that came from a submission."""

    secrets: tuple[str, ...]  # longest first, so a line is replaced whole
    seed: str | None = None

    @classmethod
    def for_assignment(cls, notebooks: list[InstructorNotebook], key: AnswerKey) -> Redactor:
        released = {
            line.strip()
            for nb in notebooks
            for c in nb.release_cells
            for line in c.source.splitlines()
        }
        secrets = {
            line
            for nb in notebooks
            for c in nb.cells
            for line in hidden_region_lines(c.source.source)
            if len(line) >= MIN_SECRET_CHARS and line not in released
        }
        secrets |= {name for name in key.hidden_names() if len(name) >= MIN_SECRET_CHARS}
        secrets |= {"BEGIN HIDDEN TESTS", "END HIDDEN TESTS"}
        seed = str(key.seed) if abs(key.seed) >= MIN_SEED else None
        return cls(tuple(sorted(secrets, key=len, reverse=True)), seed)

    def __call__(self, text: str | None) -> str:
        text = "" if text is None else str(text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, HIDDEN)
        if self.seed:
            text = re.sub(rf"(?<!\d){re.escape(self.seed)}(?!\d)", HIDDEN, text)
        return text
