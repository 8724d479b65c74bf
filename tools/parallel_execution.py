"""Execute the book's chapters in parallel into jupyter-cache (used by ``tools.build_book``).

jupyter-cache's own ``local-parallel`` executor, scheduled for many short chapters:

* The stock executor maps the chapters onto one process per core in chunks of two, so near
  the end one core can sit idle while the other still has two chapters to run. Here each
  chapter is its own task, handed to the next free process, and there is one process more
  than there are cores (``BOOK_WORKERS`` overrides it): part of a chapter's time is spent
  waiting on its kernel's start-up, which the extra kernel fills.
* Once a chapter's last cell has run and its outputs are collected, its kernel is stopped
  at once instead of being asked to exit: a polite exit with TensorFlow loaded spends about
  1.5 s of CPU tearing the interpreter down, for nothing the book keeps.
* The kernels report an error as its one line, type and message (IPython's ``xmode
  Minimal``): a chapter's deliberate errors (cells tagged ``raises-exception``) show what a
  learner needs, not a long traceback through Keras with the build machine's paths in it.
* What a cell printed is cached as one text per stream (:func:`join_stream_pieces`).

Outputs are those of an ordinary Jupyter kernel started in the chapter's folder, as Jupyter
Book's own execution would produce them, except for the errors' short form above (``make
book-sequential``, Jupyter Book's own execution, shows full tracebacks). By default that kernel
is the notebook's own (``python3``); ``kernel_name`` picks another, e.g. one of the second test
environment (tools/compat_env.py).
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from jupyter_cache.executors.base import ExecutorRunResult
from jupyter_cache.executors.basic import (
    ExecutionWorkerLocalMProc,
    JupyterExecutorLocalMproc,
    ProcessData,
)
from jupyter_cache.executors.utils import single_nb_execution
from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from nbformat import NotebookNode

#: Command-line options of every chapter's kernel.
KERNEL_ARGUMENTS = ["--InteractiveShell.xmode=Minimal"]
#: How many times a chapter's kernel is started before the chapter counts as failed. A kernel
#: binds ports its manager chose as free a moment before; on a busy machine another process can
#: take one in between ("Address already in use", then "Kernel died before replying to
#: kernel_info"), which says nothing about the chapter.
KERNEL_STARTS = 3


def parallel_workers() -> int:
    return int(os.environ.get("BOOK_WORKERS", (os.cpu_count() or 1) + 1))


def join_stream_pieces(nb: NotebookNode) -> None:
    """Join each cell's consecutive outputs of one stream into one output, text as printed.

    A kernel sends what a cell prints in pieces, on a timer, and on a busy machine a piece
    can end in the middle of a line. myst-nb merges a cell's pieces with a line break after
    each, so ``print("output shape:", shape)`` could come out on two lines, depending on load.
    nbconvert's CoalesceStreamsPreprocessor does the joining.
    """
    CoalesceStreamsPreprocessor().preprocess(nb, {})


class ChapterWorker(ExecutionWorkerLocalMProc):
    """Executes one chapter in its own folder; stops the kernel as soon as it is done."""

    def __init__(self, kernel_name: str | None = None):
        self.kernel_name = kernel_name

    def execute(self, project_nb, data: ProcessData):
        kernel = {"kernel_name": self.kernel_name} if self.kernel_name else {}
        for start in range(1, KERNEL_STARTS + 1):
            try:
                result = single_nb_execution(
                    project_nb.nb,
                    cwd=str(Path(project_nb.uri).parent),
                    timeout=data.timeout,
                    allow_errors=data.allow_errors,
                    shutdown_kernel="immediate",
                    extra_arguments=KERNEL_ARGUMENTS,
                    **kernel,
                )
                break
            except RuntimeError as error:
                # No cell has run: the chapter is untouched and can start again.
                if not kernel_failed_to_start(error) or start == KERNEL_STARTS:
                    raise
        join_stream_pieces(project_nb.nb)
        return result


def kernel_failed_to_start(error: BaseException) -> bool:
    """True for jupyter_client's error when a kernel died before its first reply."""
    return "Kernel died before replying to kernel_info" in str(error)


class BalancedExecutor(JupyterExecutorLocalMproc):
    def __init__(self, cache, logger=None, kernel_name: str | None = None):
        super().__init__(cache, logger)
        self.kernel_name = kernel_name

    def run_and_cache(
        self, *, filter_uris=None, filter_pks=None, timeout=30, allow_errors=False, force=False
    ) -> ExecutorRunResult:
        records = self.get_records(filter_uris, filter_pks, clear_tracebacks=True, force=force)
        tasks = [ProcessData(r.pk, r.uri, self.cache, timeout, allow_errors) for r in records]
        if not tasks:
            return ExecutorRunResult()
        with multiprocessing.Pool(min(parallel_workers(), len(tasks))) as pool:
            results = list(pool.imap_unordered(ChapterWorker(self.kernel_name), tasks, chunksize=1))
        return ExecutorRunResult(
            succeeded=[uri for status, uri in results if status == 0],
            excepted=[uri for status, uri in results if status == 1],
            errored=[uri for status, uri in results if status == 2],
        )
