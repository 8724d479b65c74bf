"""Grading: run every submission in its own sandboxed process and score it outside.

``Grader.grade()`` is what ``autograder grade`` runs. The answer key it compares against is
built by ``build_key()`` (at release) from a run of the instructor's own solution.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from upsampling_course.checks import SEED_ENV

from .course import Course
from .notebook import Assembled, InvalidNotebook, assemble, load_submission, parse_cells
from .sandbox.isolation import Isolation, Limits, detect
from .sandbox.pool import JobOutcome, Worker, WorkerPool, read_untrusted
from .scoring import RunLog, parse_log, score_cell

#: Files beside a notebook that are copied into its job folder (data a student's code reads).
MAX_EXTRA_FILE_BYTES = 50 * 1024**2
MAX_EXTRA_TOTAL_BYTES = 100 * 1024**2
_CONTROL_FILES = {"cells.json", "records.jsonl", "stdout.txt"}

STATUS_WORDS = {
    "graded": "graded",
    "repaired": "graded; the notebook was repaired first",
    "timeout": "timed out",
    "crashed": "the notebook's process died",
    "workers-lost": "took down two grading workers",
    "memory": "hit the memory limit",
    "output-limit": "hit the output or file size limit",
    "invalid": "invalid notebook",
    "missing": "missing notebook",
    "error": "grader error",
}
# When a student's notebooks end differently, the worst one names the student's status.
_SEVERITY = ["graded", "repaired", "memory", "output-limit", "timeout", "crashed",
             "workers-lost", "invalid", "missing", "error"]


class KeyError_(RuntimeError):
    """The instructor's solution does not give a usable answer key."""


def job_env(seed: int, workers: int) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           SEED_ENV: str(seed), "MPLBACKEND": "Agg",
           "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    if workers > 1:  # one core each: several TensorFlow thread pools would fight over them
        env.update({"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                    "OMP_NUM_THREADS": "1"})
    return env


def _describe_cell(cell_index: int | None, assembled: Assembled) -> str:
    if cell_index is None or cell_index >= len(assembled.cells):
        return "before the first cell"
    cell = assembled.cells[cell_index]
    if cell.grade_id:
        return f"in cell {cell.grade_id!r}"
    return f"in a cell you added (cell {cell_index + 1})"


def outcome_status(outcome: JobOutcome, log: RunLog, assembled: Assembled,
                   limits: Limits) -> tuple[str, str]:
    """The status of one run and its reason in plain words."""
    where = _describe_cell(log.last_started, assembled)
    if outcome.worker_error:
        return "error", outcome.worker_error
    if outcome.timed_out:
        return "timeout", f"stopped after {limits.wall_seconds:g} s {where}"
    if outcome.signal == signal.SIGXCPU:
        return "timeout", f"used its {limits.cpu_seconds} s of CPU time {where}"
    if outcome.signal == signal.SIGXFSZ:
        return "output-limit", (f"wrote more than {limits.file_bytes // 1024**2} MB to one file "
                                f"(printed output counts) {where}")
    memory_cells = [i for i, end in log.ends.items() if end["ename"] == "MemoryError"]
    if outcome.signal is not None:
        name = signal.Signals(outcome.signal).name
        return "crashed", f"the process was killed by {name} {where}"
    if outcome.exit_code == 70 and not log.started:
        detail = outcome.stdout[-600:].decode("utf-8", "replace").strip().splitlines()
        return "error", ("the submission's process could not start"
                         + (f": {detail[-1]}" if detail else ""))
    if outcome.exit_code != 0 or not log.done:
        if memory_cells or outcome.exit_code in (134, -6):
            return "memory", f"ran out of memory {where}"
        return "crashed", (f"the notebook ended its own process (exit code {outcome.exit_code}) "
                           f"{where}")
    too_large = [i for i, end in log.ends.items() if "File too large" in end["evalue"]]
    if too_large:
        return "output-limit", (f"wrote more than {limits.file_bytes // 1024**2} MB to one file "
                                f"(printed output counts) {_describe_cell(too_large[0], assembled)}")
    if memory_cells:
        return "memory", (f"hit the {limits.memory_bytes // 1024**3} GB memory limit "
                          f"{_describe_cell(memory_cells[0], assembled)}")
    if assembled.repaired:
        return "repaired", "; ".join(n for n in assembled.notes if not n.startswith("answer"))
    return "graded", "all cells ran" if all(e["ok"] for e in log.ends.values()) else \
        "all cells ran; some raised errors (see feedback)"


@dataclass
class Grader:
    course: Course
    assignment: str
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: Limits = field(default_factory=Limits)
    require_sandbox: bool = False

    def __post_init__(self) -> None:
        self.key = json.loads(self.course.key_path(self.assignment).read_text())
        self.notebooks = sorted(self.key["notebooks"])
        self.source = {}
        self.release = {}
        for name in self.notebooks:
            self.source[name] = parse_cells(
                json.loads((self.course.source_dir(self.assignment) / f"{name}.ipynb").read_text()),
                "the instructor's source")
            self.release[name] = parse_cells(
                json.loads((self.course.release_dir(self.assignment) / f"{name}.ipynb").read_text()),
                "the release")

    # --- one notebook ------------------------------------------------------------------
    def grade_notebook(self, worker: Worker, student: str, name: str) -> dict:
        folder = self.course.submitted_dir(student, self.assignment)
        path = folder / f"{name}.ipynb"
        result = {"name": name, "status": "graded", "reason": "", "notes": [], "cells": {},
                  "score": 0.0, "max_score": self.max_score(name), "scored": False,
                  "outputs": {}, "wall_seconds": None}
        if path.is_symlink() or not path.is_file():
            others = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
            result["status"] = "missing"
            result["reason"] = f"no {name}.ipynb was submitted" + (
                f" (found: {', '.join(others)})" if others else "")
            return result
        try:
            submitted = parse_cells(load_submission(read_untrusted(path, 17 * 1024**2)))
        except InvalidNotebook as exc:
            result["status"], result["reason"] = "invalid", str(exc)
            return result
        assembled = assemble(self.source[name], self.release[name], submitted)
        files = {"cells.json": json.dumps({"cells": assembled.code_cells()}).encode()}
        files.update(self._extra_files(folder, name, result["notes"]))
        outcome = worker.run(files, job_env(self.key["seed"], self.workers), self.limits,
                             private_network=not worker.isolation.bubblewrap)
        log = parse_log(outcome.records)
        status, reason = outcome_status(outcome, log, assembled, self.limits)
        result.update(status=status, reason=reason, scored=status != "error",
                      wall_seconds=outcome.wall_seconds)
        result["notes"] += assembled.notes
        if log.malformed:
            result["notes"].append(f"{log.malformed} unreadable lines in the run's log were ignored")
        self._score(name, assembled, log, result)
        result["outputs"] = {str(i): e for i, e in log.ends.items()}
        result["cells_run"] = [
            {"index": c.index, "cell_type": c.cell_type, "source": c.source, "origin": c.origin,
             "grade_id": c.grade_id, "nbgrader": c.nbgrader} for c in assembled.cells]
        return result

    def _extra_files(self, folder: Path, name: str, notes: list[str]) -> dict[str, bytes]:
        files, total = {}, 0
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name == f"{name}.ipynb" or entry.name.endswith(".ipynb") \
                    or entry.name == "timestamp.txt":
                continue
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                notes.append(f"{entry.name} was not copied: only plain files are")
                continue
            size = entry.stat(follow_symlinks=False).st_size
            if entry.name in _CONTROL_FILES:
                notes.append(f"{entry.name} was not copied: the grader uses that name")
            elif size > MAX_EXTRA_FILE_BYTES or total + size > MAX_EXTRA_TOTAL_BYTES:
                notes.append(f"{entry.name} ({size / 1024**2:.0f} MB) was not copied: files beside "
                             f"the notebook are limited to {MAX_EXTRA_FILE_BYTES // 1024**2} MB each")
            else:
                files[entry.name] = read_untrusted(Path(entry.path), MAX_EXTRA_FILE_BYTES)
                total += size
                notes.append(f"{entry.name} ({size:,} bytes) was copied beside the notebook")
        return files

    def max_score(self, name: str) -> float:
        total = sum(float(c["points"]) for c in self.key["notebooks"][name]["cells"].values())
        return total + sum(float(c["points"]) for c in self.key["notebooks"][name]["manual"].values())

    def _score(self, name: str, assembled: Assembled, log: RunLog, result: dict) -> None:
        key = self.key["notebooks"][name]
        by_id = {c.grade_id: c for c in assembled.cells if c.grade_id}
        release = {c.grade_id: c for c in self.release[name] if c.grade_id}
        for grade_id, expected in key["cells"].items():
            passed, checks = score_cell(expected, log)
            cell = by_id.get(grade_id)
            end = log.ends.get(cell.index) if cell else None
            points = float(expected["points"]) if passed else 0.0
            result["cells"][grade_id] = {
                "kind": "auto", "auto_score": points, "max_score": float(expected["points"]),
                "passed": passed, "checks": [c.as_dict() for c in checks],
                "error": (f"{end['ename']}: {end['evalue']}" if end and not end["ok"] else None),
                "ran": end is not None,
            }
            result["score"] += points
        for grade_id, manual in key["manual"].items():
            cell = by_id.get(grade_id)
            unanswered = cell is None or (
                grade_id in release and cell.source.strip() == release[grade_id].source.strip())
            result["cells"][grade_id] = {
                "kind": "manual", "auto_score": 0.0 if unanswered else None,
                "max_score": float(manual["points"]), "passed": None, "checks": [],
                "error": None, "ran": True, "answer": cell.source if cell else "",
            }

    # --- everyone ------------------------------------------------------------------------
    def grade(self, students: list[str] | None = None, *, progress: bool = True,
              on_result=None) -> list[dict]:
        """Grade ``students`` (default: everyone who submitted); return their results."""
        from tqdm import tqdm

        from .gradebook import GradebookWriter

        students = students if students is not None else \
            self.course.students_submitted(self.assignment)
        isolation = detect(self.require_sandbox)
        jobs = [(s, n) for s in students for n in self.notebooks]
        per_student: dict[str, list[dict]] = {s: [] for s in students}
        results = []
        started = time.monotonic()
        bar = tqdm(total=len(students), desc=f"grading {self.assignment}", unit="student",
                   disable=not progress, file=sys.stderr)
        with GradebookWriter(self.course.db_url, self.course.course_id) as writer, \
                WorkerPool(isolation, min(self.workers, max(1, len(jobs)))) as pool:
            for (student, name), nb_result, exc in pool.map(
                    jobs, lambda w, job: self.grade_notebook(w, *job)):
                if exc is not None:
                    nb_result = {"name": name, "status": "error", "scored": False,
                                 "reason": f"grader error: {type(exc).__name__}: {exc}",
                                 "notes": [], "cells": {}, "score": 0.0,
                                 "max_score": self.max_score(name), "outputs": {}}
                per_student[student].append(nb_result)
                if len(per_student[student]) == len(self.notebooks):
                    result = self._student_result(student, per_student[student], isolation)
                    writer.save(result)
                    self._write_autograded(result)
                    results.append(result)
                    if on_result:
                        on_result(result)
                    bar.update(1)
        bar.close()
        self.elapsed = time.monotonic() - started
        self.isolation = isolation
        return sorted(results, key=lambda r: r["student"])

    def _student_result(self, student: str, notebooks: list[dict], isolation: Isolation) -> dict:
        notebooks = sorted(notebooks, key=lambda n: n["name"])
        worst = max(notebooks, key=lambda n: _SEVERITY.index(n["status"]))
        timestamp = None
        stamp = self.course.submitted_dir(student, self.assignment) / "timestamp.txt"
        if stamp.is_file() and not stamp.is_symlink():
            text = read_untrusted(stamp, 200).decode("utf-8", "replace").strip()
            try:
                timestamp = dt.datetime.fromisoformat(text).isoformat()
            except ValueError:
                timestamp = None
        return {
            "assignment": self.assignment, "student": student,
            "status": worst["status"], "status_words": STATUS_WORDS[worst["status"]],
            "reason": "; ".join(f"{n['name']}: {n['reason']}" for n in notebooks if n["reason"]),
            "scored": any(n["scored"] for n in notebooks),
            "score": sum(n["score"] for n in notebooks),
            "max_score": sum(n["max_score"] for n in notebooks),
            "notebooks": notebooks, "isolation": isolation.describe(), "timestamp": timestamp,
        }

    def _write_autograded(self, result: dict) -> None:
        """The executed notebook, with outputs, where nbgrader's formgrader looks for it."""
        folder = self.course.autograded_dir(result["student"], self.assignment)
        folder.mkdir(parents=True, exist_ok=True)
        for notebook in result["notebooks"]:
            if "cells_run" not in notebook:
                continue
            nb = nbformat.v4.new_notebook()
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                         "language": "python"}
            for cell in notebook["cells_run"]:
                if cell["cell_type"] == "code":
                    new = nbformat.v4.new_code_cell(cell["source"])
                    end = notebook["outputs"].get(str(cell["index"]))
                    graded = notebook["cells"].get(cell["grade_id"] or "")
                    if graded and graded["kind"] == "auto":
                        # A test cell's own output can quote its hidden lines (tracebacks):
                        # keep the trusted verdicts instead, so feedback made from this
                        # notebook by stock nbgrader cannot leak them either.
                        text = "\n".join(
                            f"{'passed' if c['passed'] else 'failed'}: "
                            + ("a hidden check" if c["hidden"] else f"{c['name']}: {c['message']}")
                            for c in graded["checks"]) + "\n"
                        new.outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                                  text=text))
                    elif end and end["out"]:
                        new.outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                                  text=end["out"]))
                elif cell["cell_type"] == "markdown":
                    new = nbformat.v4.new_markdown_cell(cell["source"])
                else:
                    new = nbformat.v4.new_raw_cell(cell["source"])
                if cell["nbgrader"]:
                    new.metadata["nbgrader"] = cell["nbgrader"]
                nb.cells.append(new)
            nbformat.write(nb, folder / f"{notebook['name']}.ipynb")


# --- the answer key ------------------------------------------------------------------------

def build_key(course: Course, assignment: str, *, seed: int | None = None,
              limits: Limits | None = None, require_sandbox: bool = False) -> dict:
    """Run the instructor's solution in the sandbox and record every checked value.

    Refuses a notebook whose test cells could be fooled: each graded test cell must report at
    least one visible and one hidden value, every check must pass, and names must be unique.
    """
    seed = secrets.randbelow(2**31) if seed is None else seed
    limits = limits or Limits()
    key = {"assignment": assignment, "seed": seed, "notebooks": {},
           "built_at": dt.datetime.now(dt.timezone.utc).isoformat()}
    isolation = detect(require_sandbox)
    with WorkerPool(isolation, 1) as pool:
        for path in sorted(course.source_dir(assignment).glob("*.ipynb")):
            source = parse_cells(json.loads(path.read_text()), "the instructor's source")
            assembled = assemble(source, source, source)
            outcome = pool.workers[0].run(
                {"cells.json": json.dumps({"cells": assembled.code_cells()}).encode()},
                job_env(seed, 1), limits, private_network=not isolation.bubblewrap)
            log = parse_log(outcome.records)
            problems = []
            if not log.done or outcome.exit_code != 0:
                problems.append(f"the solution did not run to the end ({outcome})")
            for index, end in log.ends.items():
                if not end["ok"]:
                    problems.append(f"cell {index + 1} raised {end['ename']}: {end['evalue']}")
            cells, manual = {}, {}
            for cell in assembled.cells:
                if not cell.grade_id or not cell.nbgrader.get("grade"):
                    continue
                points = float(cell.nbgrader.get("points", 0))
                if cell.nbgrader.get("solution"):
                    manual[cell.grade_id] = {"points": points}
                    continue
                values = {}
                for name, records in log.records.items():
                    mine = [r for r in records if r.get("i") == cell.index]
                    if not mine:
                        continue
                    if len(records) != 1:
                        problems.append(f"check {name!r} is reported {len(records)} times")
                        continue
                    record = mine[0]
                    values[name] = {"value": record["value"], "atol": float(record["atol"]),
                                    "rtol": float(record["rtol"]),
                                    "hidden": record["kind"] == "hidden"}
                kinds = {v["hidden"] for v in values.values()}
                if kinds != {True, False}:
                    problems.append(f"test cell {cell.grade_id!r} must make at least one visible "
                                    "check and one hidden check (a hidden check is what a "
                                    "student's code cannot fake)")
                cells[cell.grade_id] = {"points": points, "values": values}
            if problems:
                raise KeyError_(f"{path.name}: " + "; ".join(problems))
            key["notebooks"][path.stem] = {"cells": cells, "manual": manual}
    return key
