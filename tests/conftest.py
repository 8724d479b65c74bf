"""Fixtures shared by several test folders, and the hypothesis profiles.

``built_book``: the book built once per session by the strict build tool (see
tests/book/book_helpers.py); the book tests and the browser tests both use it. ``compat_book``:
the same book with its chapters run in the second environment (TensorFlow 2.19). The
hypothesis profiles (``full``, ``fast``) are in tests/hypothesis_profiles.py.
"""

import tests.hypothesis_profiles  # noqa: F401  (registers the profiles)
from tests.book.book_helpers import built_book, compat_book, pinned_book  # noqa: F401  (fixtures)
