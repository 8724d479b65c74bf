"""Every book test reads two builds of the book: the pinned one and the second environment's.

The chapters must run, their asserts hold and the values the prose relies on hold with the
oldest supported TensorFlow too (``compat_book``: TensorFlow 2.19 with the Keras and NumPy pip
resolves for it, see requirements-compat.txt). Deselect that half with ``-m "not compat"``.
"""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session", params=["pinned", pytest.param("compat", marks=pytest.mark.compat)])
def built_book(request):
    return request.getfixturevalue(f"{request.param}_book")
