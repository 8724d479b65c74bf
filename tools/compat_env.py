"""Kernels of another Python environment: the second test environment, or a fresh one.

CI runs the chapters and the exercises' solutions a second time in an older stack, like the
one Colab ships (``make compat-env``: TensorFlow 2.19, see requirements-compat.txt). That
environment holds only what a notebook kernel needs and lacks the course package on purpose (it
is what Colab looks like before the install cell); its kernels get the package's sources on
their path instead. The book is still built by the main environment, from the cache these
kernels fill (``python -m tools.build_book --kernel-python .venv-compat/bin/python``).
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

BOOK_ROOT = Path(__file__).resolve().parent.parent
#: ``make compat-env`` creates it; ``COMPAT_PYTHON`` names another interpreter.
COMPAT_VENV = BOOK_ROOT / ".venv-compat"
PACKAGE_SOURCES = BOOK_ROOT / "src"


def compat_python() -> Path:
    """The second environment's interpreter; raises FileNotFoundError saying how to make it."""
    python = Path(os.environ.get("COMPAT_PYTHON", COMPAT_VENV / "bin" / "python"))
    if not python.is_file():
        raise FileNotFoundError(f"the second test environment is missing ({python}): "
                                "run `make compat-env` (or deselect its tests: -m 'not compat')")
    return python


@contextlib.contextmanager
def kernel_of(python: Path, name: str, path: list[Path] = ()):
    """A Jupyter kernel named ``name`` that runs ``python``, for the duration of the block.

    Its kernel spec lives in a temporary folder put first on ``JUPYTER_PATH`` (so processes
    started inside the block find it too); ``path`` goes on the kernel's ``PYTHONPATH``.
    """
    with tempfile.TemporaryDirectory(prefix="kernelspec-") as root:
        spec_dir = Path(root) / "kernels" / name
        spec_dir.mkdir(parents=True)
        # Absolute, not resolved: a venv's python is a link to the base interpreter.
        spec = {"argv": [os.path.abspath(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Python ({name})", "language": "python"}
        if path:
            spec["env"] = {"PYTHONPATH": os.pathsep.join(str(p) for p in path)}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        before = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [root, before]))
        try:
            yield name
        finally:
            if before is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = before


def compat_kernel():
    """The second environment's kernel, with the course package's sources on its path."""
    return kernel_of(compat_python(), "upsampling-compat", [PACKAGE_SOURCES])
