"""Build the course book: execute the chapters in parallel, then run a strict Sphinx build.

    python -m tools.build_book                      # build into ./_build (the cache is reused)
    python -m tools.build_book --path-output /tmp/b # build somewhere else (fresh if empty)
    python -m tools.build_book --kernel-python .venv-compat/bin/python --path-output /tmp/c
                                  # chapters run by another environment (tools/compat_env.py)

Jupyter Book 1 executes notebooks one after the other inside Sphinx. A cold build is then
dominated by TensorFlow start-ups in sequence, one per chapter, while the second core idles.
So this tool first executes every chapter listed in ``_toc.yml`` in parallel (jupyter-cache's
``local-parallel`` executor, scheduled as ``tools/parallel_execution.py`` explains), into the
very cache folder Jupyter Book reads
(``<output>/_build/.jupyter_cache``, because ``_config.yml`` sets ``execute.cache: ""``).
Unchanged chapters are already cached and are not executed again. The Sphinx build that
follows finds every chapter in the cache and executes nothing; the tool checks that.

The Sphinx build is strict (``-W -n --keep-going``); the tool exits non-zero if the build
fails, logs any warning, or had to execute a notebook itself. The full log is written to
``<output>/_build/build.log``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tools.toc import BOOK_ROOT, toc_files
# The reader myst-nb registers with jupyter-cache for MyST-Markdown notebooks. Reading the
# chapters with it gives the same cell sources and metadata (hence the same cache hash)
# as myst-nb sees during the Sphinx build.
MYST_READER = {"type": "plugin", "name": "myst_nb_md"}
STRICT_FLAGS = ["-W", "-n", "--keep-going"]
# In the cache folder: the hashes of the chapters the last successful pre-execution saw.
FINGERPRINT_FILE = "preexecuted-chapters.json"
# In the cache folder: which environment executed the cached chapters.
KERNEL_FILE = "executed-by.txt"
# myst-nb logs this once per notebook it executes itself (cache miss).
SPHINX_EXECUTION_LINE = re.compile(r"Executing notebook using")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# Sphinx's own format ("file:line: WARNING: ..."); kernels' "[IPKernelApp] WARNING | ..."
# lines on stderr are not build warnings.
WARNING_LINE = re.compile(r"\b(WARNING|ERROR|CRITICAL|SEVERE):")


@dataclass
class BuildResult:
    returncode: int
    log_path: Path
    html_dir: Path
    cache_dir: Path
    preexecuted: list[str] = field(default_factory=list)
    preexecute_seconds: float = 0.0
    #: Seconds each chapter's execution took (``uri`` -> seconds), from jupyter-cache's records.
    chapter_seconds: dict[str, float] = field(default_factory=dict)
    sphinx_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    sphinx_executed: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.returncode == 0
            and not self.warnings
            and self.sphinx_executed == 0
            and (self.html_dir / "index.html").exists()
        )


def is_notebook(path: Path) -> bool:
    """An .ipynb file, or a Markdown file whose front matter makes it a MyST notebook.

    The same test as ``myst_nb.core.read.is_myst_markdown_notebook``, without importing
    Sphinx and myst-nb (seconds), which a no-change rebuild should not pay for.
    """
    if path.suffix == ".ipynb":
        return True
    text = path.read_text("utf8")
    if not text.startswith("---"):
        return False
    front_matter = yaml.safe_load(text.split("---", 2)[1]) or {}
    jupytext = front_matter.get("jupytext", {}).get("text_representation", {})
    return front_matter.get("file_format") == "mystnb" or jupytext.get("format_name") == "myst"


def notebook_files(book_root: Path = BOOK_ROOT) -> list[Path]:
    """The pages of the table of contents that are notebooks (and so are executed)."""
    return [path for path in toc_files(book_root) if is_notebook(path)]


def execution_config(book_root: Path = BOOK_ROOT) -> dict:
    config = yaml.safe_load((book_root / "_config.yml").read_text())
    return config.get("execute", {})


def _fingerprint(paths: list[Path]) -> dict[str, str]:
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def preexecute(cache_dir: Path, book_root: Path = BOOK_ROOT, kernel_name: str | None = None,
               kernel_label: str = "python3") -> list[str]:
    """Execute the chapters that have no up-to-date cache entry, in parallel.

    Returns the paths of the notebooks that were executed. Raises ``RuntimeError`` when a
    notebook fails (its traceback is printed): the strict build would fail on it anyway,
    and the traceback is clearer here.

    When no chapter file changed since the last successful pre-execution into this cache
    (a fingerprint file in the cache folder records their hashes), nothing is imported or
    read: the cache already matches, and Sphinx will confirm it (the caller checks that
    Sphinx executed nothing).

    ``kernel_name`` runs the chapters in another kernel than the notebooks' own;
    ``kernel_label`` names its environment (e.g. its interpreter's path). A cache filled by
    another environment is executed anew (its outputs are not this environment's).
    """
    notebooks = notebook_files(book_root)
    fingerprint = _fingerprint(notebooks)
    stamp = cache_dir / FINGERPRINT_FILE
    stamped = {"kernel": kernel_label, "chapters": fingerprint}
    if stamp.exists() and json.loads(stamp.read_text()) == stamped:
        return []

    from jupyter_cache import get_cache

    settings = execution_config(book_root)
    cache = get_cache(str(cache_dir))
    wanted = set(fingerprint)
    for record in cache.list_project_records():
        if record.uri not in wanted:  # e.g. a chapter that was removed or renamed
            cache.remove_nb_from_project(record.uri)
    for uri in sorted(wanted):
        cache.add_nb_to_project(uri, read_data=MYST_READER)

    logger = logging.getLogger("tools.build_book")
    from tools.parallel_execution import BalancedExecutor

    kernel_file = cache_dir / KERNEL_FILE
    other_environment = not kernel_file.is_file() or kernel_file.read_text() != kernel_label
    kernel_file.write_text(kernel_label)
    executor = BalancedExecutor(cache=cache, logger=logger, kernel_name=kernel_name)
    result = executor.run_and_cache(
        timeout=settings.get("timeout", 300), allow_errors=settings.get("allow_errors", False),
        force=other_environment,
    )
    failed = result.excepted + result.errored
    if failed:
        stamp.unlink(missing_ok=True)
        for uri in failed:
            record = cache.get_project_record(uri)
            print(f"--- {uri} failed:\n{record.traceback}", file=sys.stderr)
        raise RuntimeError(f"{len(failed)} notebook(s) failed to execute: {', '.join(failed)}")
    stamp.write_text(json.dumps(stamped, indent=1))
    return result.succeeded


def jupyter_book_command() -> str:
    """The ``jupyter-book`` script of this Python environment (it has no ``python -m`` entry)."""
    beside_python = Path(sys.executable).with_name("jupyter-book")
    found = str(beside_python) if beside_python.exists() else shutil.which("jupyter-book")
    if found is None:
        raise FileNotFoundError("jupyter-book is not installed: pip install -r requirements.txt")
    return found


def sphinx_build(path_output: Path, log_path: Path, book_root: Path = BOOK_ROOT, extra_args=()) -> tuple[int, str]:
    """Run the strict ``jupyter-book build`` and return (exit code, full log)."""
    command = [
        jupyter_book_command(), "build", str(book_root),
        "--path-output", str(path_output), *STRICT_FLAGS, *extra_args,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=book_root)
    log = ANSI_ESCAPE.sub("", completed.stdout + completed.stderr)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(log)
    return completed.returncode, log


def chapter_seconds(cache_dir: Path) -> dict[str, float]:
    """How long each cached chapter took to execute (jupyter-cache records it)."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_dir))
    seconds = {}
    for record in cache.list_project_records():
        cached = cache.get_cached_project_nb(record.uri)
        if cached is not None and "execution_seconds" in cached.data:
            seconds[record.uri] = cached.data["execution_seconds"]
    return seconds


def build(path_output: Path | None = None, *, parallel: bool = True, extra_args=(), quiet: bool = False,
          kernel_python: Path | None = None) -> BuildResult:
    """Pre-execute (when ``parallel``) and build the book into ``path_output/_build``.

    ``kernel_python``: execute the chapters with a kernel of that interpreter (another
    environment, see tools/compat_env.py) instead of the notebooks' own ``python3``.
    """
    path_output = Path(path_output or BOOK_ROOT).resolve()
    build_dir = path_output / "_build"
    cache_dir = build_dir / ".jupyter_cache"
    result = BuildResult(1, build_dir / "build.log", build_dir / "html", cache_dir)
    started = time.perf_counter()
    if parallel and kernel_python:
        from tools.compat_env import PACKAGE_SOURCES, kernel_of

        with kernel_of(Path(kernel_python), "book-kernel", [PACKAGE_SOURCES]) as kernel_name:
            result.preexecuted = preexecute(cache_dir, kernel_name=kernel_name,
                                            kernel_label=os.path.abspath(kernel_python))
    elif parallel:
        result.preexecuted = preexecute(cache_dir)
    result.preexecute_seconds = time.perf_counter() - started
    if parallel:
        result.chapter_seconds = chapter_seconds(cache_dir)
    started = time.perf_counter()
    result.returncode, log = sphinx_build(path_output, result.log_path, extra_args=extra_args)
    result.sphinx_seconds = time.perf_counter() - started
    result.warnings = [line for line in log.splitlines() if WARNING_LINE.search(line)]
    result.sphinx_executed = len(SPHINX_EXECUTION_LINE.findall(log))
    if not quiet:
        print(
            f"pre-executed {len(result.preexecuted)} notebook(s) in {result.preexecute_seconds:.1f} s; "
            f"Sphinx build {result.sphinx_seconds:.1f} s (exit {result.returncode}), "
            f"{len(result.warnings)} warning(s), {result.sphinx_executed} notebook(s) executed by Sphinx"
        )
        for line in result.warnings:
            print(line, file=sys.stderr)
        print(f"HTML: {result.html_dir / 'index.html'}   log: {result.log_path}")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path-output", type=Path, default=None,
                        help="folder that receives _build/ (default: the book folder)")
    parser.add_argument("--sequential", action="store_true",
                        help="skip the parallel pre-execution (Sphinx then executes the chapters one by one)")
    parser.add_argument("--kernel-python", type=Path, default=None,
                        help="execute the chapters with this interpreter's kernel "
                             "(e.g. .venv-compat/bin/python, the second test environment)")
    args = parser.parse_args(argv)
    if args.sequential and args.kernel_python:
        parser.error("--kernel-python needs the parallel pre-execution")
    try:
        result = build(args.path_output, parallel=not args.sequential, kernel_python=args.kernel_python)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    if args.sequential:
        # Sphinx had to execute the chapters; that is expected here.
        return 0 if result.returncode == 0 and not result.warnings else 1
    if result.sphinx_executed:
        print("error: the Sphinx build executed notebooks the pre-execution should have cached", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
