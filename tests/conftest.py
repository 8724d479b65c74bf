"""Fixtures shared by several test folders.

``built_book``: the book built once per session by the strict build tool (see
tests/book/book_helpers.py); the book tests and the browser tests both use it. ``compat_book``:
the same book with its chapters run in the second environment (TensorFlow 2.19).
"""
from tests.book.book_helpers import built_book, compat_book, pinned_book  # noqa: F401  (fixtures)
