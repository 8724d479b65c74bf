"""Student text made safe to show: in the instructor's terminal, in a spreadsheet, in a page.

Text that came from a submission (names, output, error messages, file names, reasons that quote
them) may hold terminal escape sequences, carriage returns that overwrite a line, bidirectional
overrides that reorder it, or a spreadsheet formula. Every view passes such text through here:
the terminal (``cli``, ``collect``'s report), the CSV (``marks``) and the HTML pages (``pages``,
on top of Jinja2's HTML escaping).
"""

from __future__ import annotations

#: A spreadsheet treats a cell starting with one of these as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_KEPT_IN_LINES = frozenset("\n\t")


def printable(text: object, *, lines: bool = False) -> str:
    """``text`` with every character that is not printable written as its escape (``\\x1b``,
    ``\\u202e``, ``\\r``); undecodable bytes too. ``lines=True`` keeps newlines and tabs (for
    output shown as a block); otherwise the text stays on one line."""
    text = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    keep = _KEPT_IN_LINES if lines else frozenset()
    return "".join(ch if ch.isprintable() or ch in keep else ascii(ch)[1:-1] for ch in text)


def quoted(text: object) -> str:
    """Student text inside a sentence of the grader's: escaped and in quotes."""
    return f"'{printable(text)}'"


def csv_text(text: object) -> str:
    """A text cell of a CSV: escaped, and never read as a formula by a spreadsheet (a leading
    ``'`` before =, +, -, @, as OWASP advises)."""
    shown = printable(text)
    return "'" + shown if shown.startswith(FORMULA_STARTS) else shown
