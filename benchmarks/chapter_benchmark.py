"""How long each chapter takes to execute, next to a bare ``import tensorflow``, and why.

    python -m benchmarks.chapter_benchmark                       # every chapter of _toc.yml
    python -m benchmarks.chapter_benchmark chapters/conv2d-transpose.md --slowest 10
    python -m benchmarks.chapter_benchmark --repeat 3 --json benchmarks/results/chapters.json

A quicker companion of ``build_benchmark`` (which times chapters inside a whole stock
build): each chapter is executed the way Jupyter Book executes it (jupyter-cache's
``single_nb_execution``: a fresh kernel in the chapter's folder, every cell, shutdown),
and the bare import is timed in the same run, between the chapters, so both see the same
machine load. It prints each chapter's median time, its ratio to the import (target:
at most 2, issue 2) and, with ``--slowest N``, its N slowest cells: what to look at when
a chapter misses the target.

A kernel's own start and shutdown with TensorFlow loaded cost about 1.4 x the bare
import before any cell of a chapter runs, so a chapter has roughly half an import's
time for its own work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from datetime import datetime
from pathlib import Path

import jupytext
from jupyter_cache.executors.utils import single_nb_execution

from benchmarks.build_benchmark import TARGET_CHAPTER, bare_tensorflow_import
from tools.toc import toc_chapters


def _seconds(cell) -> float | None:
    timing = cell.metadata.get("execution", {})
    started, finished = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (started and finished):
        return None
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(finished) - parse(started)).total_seconds()


def run_chapter(path: Path):
    """Execute one chapter; return its wall time and ``(seconds, first line)`` per code cell."""
    notebook = jupytext.read(path)
    result = single_nb_execution(
        notebook, cwd=str(path.parent), timeout=600, allow_errors=False, record_timing=True
    )
    if result.err is not None:
        raise SystemExit(f"{path.name} failed:\n{result.exc_string}")
    cells = [
        (_seconds(cell), cell.source.strip().splitlines()[0] if cell.source.strip() else "")
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    return result.time, [(s, line) for s, line in cells if s is not None]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="default: every chapter of _toc.yml")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per chapter (the median counts)"
    )
    parser.add_argument(
        "--slowest", type=int, default=0, help="also list each chapter's N slowest cells"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    chapters = [path.resolve() for path in args.chapters] or toc_chapters()

    imports = [bare_tensorflow_import()]
    figures = {}
    for path in chapters:
        runs = []
        for _ in range(args.repeat):
            seconds, cells = run_chapter(path)
            runs.append(seconds)
            imports.append(bare_tensorflow_import())
        figures[path.stem] = {"seconds": runs, "cells": cells}
        print(
            f"[benchmark] {path.stem}: {', '.join(f'{s:.1f}' for s in runs)} s",
            file=sys.stderr,
            flush=True,
        )
    tf_import = statistics.median(imports)

    print(
        f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} cores"
    )
    print(f"bare `import tensorflow`: median {tf_import:.2f} s of {len(imports)} runs")
    print(f"{'chapter':<28} {'seconds':>8} {'in cells':>9} {'x TF':>6} {'target':>7}  verdict")
    missed = 0
    for name, figure in figures.items():
        seconds = statistics.median(figure["seconds"])
        in_cells = sum(s for s, _ in figure["cells"])
        ratio = seconds / tf_import
        missed += ratio > TARGET_CHAPTER
        target = f"<= {TARGET_CHAPTER}"
        print(
            f"{name:<28} {seconds:8.1f} {in_cells:9.1f} {ratio:6.2f} {target:>7}  "
            f"{'ok' if ratio <= TARGET_CHAPTER else 'MISSED'}"
        )
        for cell_seconds, line in sorted(figure["cells"], reverse=True)[: args.slowest]:
            print(f"    {cell_seconds:6.2f} s  {line[:70]}")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "tensorflow_import_seconds": imports,
                    "chapters": figures,
                    "load_average": os.getloadavg(),
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
