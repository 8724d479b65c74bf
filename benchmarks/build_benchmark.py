"""How long the book takes to build, measured in one run on this machine.

    python -m benchmarks.build_benchmark                 # from the repository root
    python -m benchmarks.build_benchmark --json benchmarks/results/build.json

It measures, one after the other:

1. a bare ``import tensorflow`` in a fresh Python (three times, the median counts);
2. the cold build as ``make book`` runs it: parallel pre-execution + strict Sphinx build,
   into a fresh folder;
3. the no-change rebuild in that folder (nothing edited);
4. Jupyter Book's stock sequential build into another fresh folder, with
   ``execute_notebooks: force`` set by a config override, so Sphinx executes every
   chapter itself, one after the other; its log gives each chapter's execution time,
   measured with nothing else of the book running.

Targets (issue 2): no-change rebuild <= 15% of the cold build; every chapter <= 2 x the bare
TensorFlow import; cold parallel build <= 0.6 x the stock sequential build. Timings depend on
the machine and its load; the ratios are what the targets are about, which is why all the
figures come from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tools.build_book import BOOK_ROOT, BuildResult, build, sphinx_build

EXECUTED = re.compile(
    r"^(?P<path>\S+\.(?:md|ipynb)): Executed notebook in (?P<seconds>[\d.]+) seconds", re.M
)
TARGET_REBUILD = 0.15
TARGET_CHAPTER = 2.0
TARGET_PARALLEL = 0.6


def bare_tensorflow_import() -> float:
    """Seconds for ``python -c 'import tensorflow'``, with the course's quiet TF settings."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import tensorflow"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def timed_build(path_output: Path, parallel: bool = True) -> tuple[float, BuildResult]:
    started = time.perf_counter()
    result = build(path_output, parallel=parallel, quiet=True)
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"build in {path_output} failed or warned; see {result.log_path}")
    return elapsed, result


def stock_sequential_build(path_output: Path) -> tuple[float, dict[str, float]]:
    """Jupyter Book executing every chapter itself (``execute_notebooks: force``)."""
    config = yaml.safe_load((BOOK_ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "force"
    # Relative paths in _config.yml are relative to its folder; the override lives elsewhere.
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in extensions.items():
        extensions[name] = str(BOOK_ROOT / folder)
    config["bibtex_bibfiles"] = [str(BOOK_ROOT / bib) for bib in config.get("bibtex_bibfiles", [])]
    override = path_output / "_config_force.yml"
    override.write_text(yaml.safe_dump(config))
    started = time.perf_counter()
    returncode, log = sphinx_build(
        path_output, path_output / "_build" / "build.log", extra_args=["--config", str(override)]
    )
    elapsed = time.perf_counter() - started
    if returncode != 0:
        tail = "\n".join(log.splitlines()[-40:])
        raise SystemExit(f"stock sequential build failed:\n{tail}")
    chapters = {Path(m["path"]).stem: float(m["seconds"]) for m in EXECUTED.finditer(log)}
    return elapsed, chapters


def progress(message: str) -> None:
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    imports = [bare_tensorflow_import()]
    with tempfile.TemporaryDirectory(prefix="book-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        cold, cold_result = timed_build(scratch / "parallel")
        progress(f"cold parallel build {cold:.1f} s")
        rebuild, _ = timed_build(scratch / "parallel")
        progress(f"no-change rebuild {rebuild:.1f} s")
        imports.append(bare_tensorflow_import())
        (scratch / "sequential").mkdir()
        sequential, chapters = stock_sequential_build(scratch / "sequential")
        progress(f"stock sequential build {sequential:.1f} s")
        imports.append(bare_tensorflow_import())
    tf_import = statistics.median(imports)

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(
        f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} cores"
    )
    print(
        f"bare `import tensorflow`: median {tf_import:.2f} s of "
        f"{', '.join(f'{x:.2f}' for x in imports)}"
    )
    print()
    print(f"{'measure':<44} {'seconds':>8} {'ratio':>7} {'target':>8}  verdict")
    print(f"{'cold build, parallel (make book)':<44} {cold:8.1f}")
    print(f"{'  of which parallel pre-execution':<44} {cold_result.preexecute_seconds:8.1f}")
    print(f"{'  of which Sphinx (executes nothing)':<44} {cold_result.sphinx_seconds:8.1f}")
    print(f"{'cold build, stock sequential (force)':<44} {sequential:8.1f}")
    parallel_target, rebuild_target = f"<= {TARGET_PARALLEL}", f"<= {TARGET_REBUILD}"
    print(
        f"{'  parallel / sequential':<44} {'':>8} {cold / sequential:7.2f} {parallel_target:>8}"
        f"  {verdict(cold / sequential <= TARGET_PARALLEL)}"
    )
    print(
        f"{'no-change rebuild':<44} {rebuild:8.1f} {rebuild / cold:7.2f} {rebuild_target:>8}"
        f"  {verdict(rebuild / cold <= TARGET_REBUILD)}"
    )
    print()
    heading = "chapter execution (sequential build)"
    print(f"{heading:<44} {'seconds':>8} {'x TF':>7} {'target':>8}  verdict")
    for chapter, seconds in sorted(chapters.items(), key=lambda item: -item[1]):
        ratio = seconds / tf_import
        print(
            f"{'  ' + chapter:<44} {seconds:8.1f} {ratio:7.2f} {'<= ' + str(TARGET_CHAPTER):>8}"
            f"  {verdict(ratio <= TARGET_CHAPTER)}"
        )

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "tensorflow_import_seconds": imports,
                    "cold_parallel_seconds": cold,
                    "preexecute_seconds": cold_result.preexecute_seconds,
                    "sphinx_seconds": cold_result.sphinx_seconds,
                    "stock_sequential_seconds": sequential,
                    "no_change_rebuild_seconds": rebuild,
                    "chapter_seconds": chapters,
                    "load_average": os.getloadavg(),
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
