"""Fixtures shared by several test folders.

``built_book``: the book built once per session by the strict build tool (see
tests/book/book_helpers.py); the book tests and the browser tests both use it.
"""
from tests.book.book_helpers import built_book  # noqa: F401  (a fixture, re-exported)
