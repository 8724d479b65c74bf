"""Reading a submitted notebook as untrusted input, and building what is actually run.

The notebook that runs is assembled here, outside the sandbox, from the instructor's source:
every locked cell (setup, tests, hidden tests) is the instructor's own, whatever the submission
did to it (edited, deleted, duplicated, retyped, metadata changed); only the answer cells and
cells the student added come from the submission. Every repair is written down as a note, and
every run cell keeps its link to the instructor's cell it stands for.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import protocol
from .jobs import CodeCell
from .results import Note, NoteKind, Origin, RunCell

MAX_NOTEBOOK_BYTES = 16 * 1024**2


class InvalidNotebook(ValueError):
    """The submission cannot be read as a notebook; the message says why, in plain words."""


@dataclass(frozen=True)
class Cell:
    cell_type: str
    source: str
    grade_id: str | None = None
    nbgrader: dict[str, Any] = field(default_factory=dict)

    @property
    def is_solution(self) -> bool:
        return bool(self.nbgrader.get("solution"))

    @property
    def is_graded(self) -> bool:
        return bool(self.grade_id and self.nbgrader.get("grade"))

    @property
    def is_test(self) -> bool:
        return bool(self.nbgrader.get("grade")) and not self.is_solution

    @property
    def is_locked(self) -> bool:
        return bool(self.nbgrader.get("locked")) or self.is_test

    @property
    def is_answer(self) -> bool:
        return bool(self.grade_id) and self.is_solution and not self.is_locked


@dataclass(frozen=True)
class InstructorCell:
    source: Cell  # the instructor's own, with solutions and hidden tests
    release: Cell | None  # the same cell as students were given it


@dataclass(frozen=True)
class InstructorNotebook:
    """An assignment notebook: each source cell beside its released counterpart."""

    name: str
    cells: tuple[InstructorCell, ...]

    @classmethod
    def pair(cls, name: str, source: list[Cell], release: list[Cell]) -> InstructorNotebook:
        """Pair cells by grade id; cells without one by position (nbgrader keeps the order and
        the number of cells, so a notebook whose counts differ pairs only by grade id)."""
        released = {c.grade_id: c for c in release if c.grade_id}
        aligned = len(source) == len(release)
        cells = []
        for position, cell in enumerate(source):
            if cell.grade_id:
                counterpart = released.get(cell.grade_id)
            else:
                by_position = release[position] if aligned else None
                counterpart = by_position if by_position and not by_position.grade_id else None
            cells.append(InstructorCell(cell, counterpart))
        return cls(name, tuple(cells))

    @classmethod
    def load(cls, name: str, source: Path, release: Path) -> InstructorNotebook:
        """From the course's trusted ``.ipynb`` files."""
        return cls.pair(name, read_cells(source, "the source"), read_cells(release, "the release"))

    @property
    def release_cells(self) -> list[Cell]:
        return [c.release for c in self.cells if c.release is not None]

    def graded_cells(self) -> list[Cell]:
        """The graded cells (tests, and answers marked by hand), in order."""
        return [c.source for c in self.cells if c.source.is_graded]

    def source_of(self, grade_id: str) -> Cell | None:
        return next((c.source for c in self.cells if c.source.grade_id == grade_id), None)


@dataclass(frozen=True)
class Assembled:
    cells: list[RunCell]
    notes: list[Note]
    unanswered: frozenset[str]  # answer cells left as released (or missing)

    @property
    def repaired(self) -> bool:
        return any(note.kind.is_repair for note in self.notes)

    def cell(self, grade_id: str) -> RunCell | None:
        return next((c for c in self.cells if c.grade_id == grade_id), None)

    def code_cells(self) -> tuple[CodeCell, ...]:
        """What a job runs."""
        return tuple(CodeCell(c.index, c.source) for c in self.cells if c.cell_type == "code")


def _source_text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    raise InvalidNotebook(f"{where} has a source that is not text")


def _parse_cell(raw: Any, where: str) -> Cell:
    if not isinstance(raw, dict) or not isinstance(raw.get("cell_type"), str):
        raise InvalidNotebook(f"{where} is not a notebook cell")
    metadata = raw.get("metadata", {})
    nbgrader = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    nbgrader = nbgrader if isinstance(nbgrader, dict) else {}
    grade_id = nbgrader.get("grade_id")
    return Cell(
        cell_type=raw["cell_type"],
        source=_source_text(raw.get("source", ""), where),
        grade_id=grade_id if isinstance(grade_id, str) else None,
        nbgrader=nbgrader,
    )


def parse_cells(nb: dict[str, Any], where: str = "the notebook") -> list[Cell]:
    """Cells of an nbformat 4 notebook given as plain JSON data (trusted or not)."""
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise InvalidNotebook(f"{where} has no list of cells")
    return [_parse_cell(raw, f"cell {n} of {where}") for n, raw in enumerate(cells, start=1)]


def read_cells(path: Path, where: str) -> list[Cell]:
    """Cells of one of the course's own (trusted) notebooks."""
    return parse_cells(json.loads(path.read_text(encoding="utf-8")), where)


def load_submission(data: bytes) -> list[Cell]:
    """The cells of a submitted file, or InvalidNotebook saying why it is not a notebook."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(
            f"the notebook is {len(data) / 1024**2:.0f} MB, over the "
            f"{MAX_NOTEBOOK_BYTES // 1024**2} MB limit"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNotebook(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start})"
        ) from None
    try:
        nb = protocol.loads(text)
    except ValueError as exc:
        raise InvalidNotebook(f"the file is not a notebook: it is not valid JSON ({exc})") from None
    if not isinstance(nb, dict):
        raise InvalidNotebook("the file is JSON but not a notebook (no top-level object)")
    if nb.get("nbformat") != 4:
        raise InvalidNotebook(
            f"the notebook has format version {nb.get('nbformat')!r}; "
            "version 4 (Jupyter's current format) is needed"
        )
    return parse_cells(nb)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@dataclass
class _Builder:
    """Collects the run cells and the notes while :func:`assemble` walks the source."""

    cells: list[RunCell] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    unanswered: set[str] = field(default_factory=set)

    def note(self, kind: NoteKind, text: str) -> None:
        self.notes.append(Note(kind, text))

    def add(
        self,
        text: str,
        origin: Origin,
        at: int | None = None,
        cell: Cell | None = None,
        cell_type: str = "code",
    ) -> None:
        self.cells.append(
            RunCell(
                index=len(self.cells),
                cell_type=cell.cell_type if cell else cell_type,
                source=text,
                origin=origin,
                grade_id=cell.grade_id if cell else None,
                nbgrader=dict(cell.nbgrader) if cell else {},
                instructor_index=at,
            )
        )


def _group_submitted(
    submitted: list[Cell], known: set[str], build: _Builder
) -> tuple[dict[str, list[Cell]], dict[str | None, list[Cell]]]:
    """The submission's copies of each known cell, and its own code cells by the known cell
    they follow (``None``: before the first)."""
    by_id: dict[str, list[Cell]] = {}
    added_after: dict[str | None, list[Cell]] = {}
    anchor: str | None = None
    for cell in submitted:
        if cell.grade_id in known:
            by_id.setdefault(cell.grade_id, []).append(cell)
            anchor = cell.grade_id
            continue
        if cell.grade_id:
            build.note(
                NoteKind.UNKNOWN_ID,
                f"a cell carries the unknown id {cell.grade_id!r}: it was run as an ordinary "
                "cell of yours",
            )
        if cell.cell_type == "code":
            added_after.setdefault(anchor, []).append(cell)
    return by_id, added_after


def _answer(at: int, pair: InstructorCell, copies: list[Cell], build: _Builder) -> None:
    original, gid = pair.source, pair.source.grade_id
    released = pair.release.source if pair.release else ""
    mine = copies[0] if copies else None
    if mine is None:
        build.note(
            NoteKind.ANSWER_MISSING, f"answer cell {gid!r} is missing: it was graded as unanswered"
        )
        text = released
    elif mine.cell_type != original.cell_type:
        build.note(
            NoteKind.ANSWER_RETYPED,
            f"answer cell {gid!r} was changed from "
            f"{original.cell_type} to {mine.cell_type}: it was graded as unanswered",
        )
        text = released
    else:
        text = mine.source
    if gid and text.strip() == released.strip():
        build.unanswered.add(gid)
    build.add(text, Origin.ANSWER, at, original)


def _locked(pair: InstructorCell, copies: list[Cell], build: _Builder) -> None:
    original, gid = pair.source, pair.source.grade_id
    if not copies:
        build.note(
            NoteKind.LOCKED_DELETED,
            f"locked cell {gid!r} was deleted; the instructor's copy was run",
        )
        return
    mine, reference = copies[0], pair.release or original
    if mine.cell_type != original.cell_type:
        build.note(
            NoteKind.LOCKED_RETYPED,
            f"locked cell {gid!r} was changed to {mine.cell_type}; the instructor's copy was run",
        )
    elif _normal(mine.source) not in (_normal(reference.source), _normal(original.source)):
        build.note(
            NoteKind.LOCKED_EDITED, f"locked cell {gid!r} was edited; the instructor's copy was run"
        )


def _metadata(original: Cell, copies: list[Cell], build: _Builder) -> None:
    for key in ("points", "grade", "solution", "locked"):
        if copies and copies[0].nbgrader.get(key) != original.nbgrader.get(key):
            build.note(
                NoteKind.METADATA_CHANGED,
                f"the nbgrader metadata of cell "
                f"{original.grade_id!r} was changed ({key}); the instructor's settings "
                "were used",
            )
            return


_DEF = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def defined_functions(source: str) -> frozenset[str]:
    """The functions a cell defines at its top level (by regular expression where the cell is
    not plain Python, e.g. it holds an IPython magic)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset(_DEF.findall(source))
    return frozenset(
        n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    )


METADATA_LOST = (
    "the notebook's nbgrader metadata was lost (Colab and some other editors drop it), so its "
    "cells were matched by content: each answer is the one cell that defines the answer's "
    "function, and the instructor's setup and test cells were run. To keep the metadata, "
    "edit the notebook in Jupyter (JupyterLab, Notebook or VS Code) and submit the file it saved"
)


def _restore_lost_metadata(
    instructor: InstructorNotebook, submitted: list[Cell], build: _Builder
) -> list[Cell]:
    """The submission with the instructor's ids put back where its nbgrader metadata is gone
    (no cell carries a known id): an answer cell is the one code cell that defines the answer's
    function; a cell whose text is a setup or test cell's is that cell; the rest are the
    student's own. An answer that no cell, or several, define stays unanswered."""
    build.note(NoteKind.METADATA_LOST, METADATA_LOST)
    locked: dict[str, Cell] = {}
    answers: dict[str, tuple[Cell, frozenset[str]]] = {}
    for pair in instructor.cells:
        source = pair.source
        if source.grade_id and source.is_answer:
            answers[source.grade_id] = (source, defined_functions(source.source))
        elif source.grade_id:
            for reference in (pair.release, source):
                if reference is not None:
                    locked.setdefault(_normal(reference.source), source)
    matched = _match_answers(answers, submitted, build)
    restored = []
    for n, cell in enumerate(submitted):
        restore = matched.get(n)
        if restore is None and cell.cell_type == "code":
            restore = locked.get(_normal(cell.source))
        if restore is not None:
            cell = replace(cell, grade_id=restore.grade_id, nbgrader=dict(restore.nbgrader))
        restored.append(cell)
    return restored


def _match_answers(
    answers: dict[str, tuple[Cell, frozenset[str]]], submitted: list[Cell], build: _Builder
) -> dict[int, Cell]:
    """Submitted cell position -> the answer it is: the one code cell that defines the
    answer's function (a note for each answer that none, or several, define)."""
    defines = [
        defined_functions(c.source) if c.cell_type == "code" else frozenset() for c in submitted
    ]
    matched: dict[int, Cell] = {}
    for gid, (answer, names) in answers.items():
        found = [n for n, funcs in enumerate(defines) if names and names & funcs]
        if len(found) == 1 and found[0] not in matched:
            matched[found[0]] = answer
        elif not names:
            build.note(
                NoteKind.ANSWER_MISSING,
                f"answer {gid!r} defines no function, so it could not be found without its "
                "metadata: it was graded as unanswered (ask your instructor to mark it by hand)",
            )
        else:
            count = "no cell" if not found else f"{len(found)} cells"
            build.note(
                NoteKind.ANSWER_MISSING,
                f"answer {gid!r}: {count} of yours define {', '.join(sorted(names))}, so it was "
                "graded as unanswered",
            )
    return matched


#: Notes that say nothing new once the metadata is known to be lost.
_IMPLIED_BY_LOST_METADATA = (NoteKind.LOCKED_DELETED, NoteKind.ANSWER_MISSING)


def assemble(instructor: InstructorNotebook, submitted: list[Cell]) -> Assembled:
    """The notebook to run: the instructor's cells, the student's answers and added cells."""
    known = {c.source.grade_id for c in instructor.cells if c.source.grade_id}
    build = _Builder()
    lost = bool(known) and not any(c.grade_id in known for c in submitted)
    if lost:
        submitted = _restore_lost_metadata(instructor, submitted, build)
        said = len(build.notes)
    by_id, added_after = _group_submitted(submitted, known, build)
    for cell in added_after.get(None, []):
        build.add(cell.source, Origin.STUDENT_ADDED)
    for at, pair in enumerate(instructor.cells):
        original, gid = pair.source, pair.source.grade_id
        copies = by_id.get(gid, []) if gid else []
        if len(copies) > 1:
            kept = (
                "the first copy was graded"
                if original.is_answer
                else "the instructor's copy was run once"
            )
            build.note(NoteKind.DUPLICATED, f"cell {gid!r} appears {len(copies)} times; {kept}")
        if original.is_answer:
            _answer(at, pair, copies, build)
        else:
            if gid:
                _locked(pair, copies, build)
            build.add(original.source, Origin.INSTRUCTOR, at, original)
        if gid:
            _metadata(original, copies, build)
            for cell in added_after.get(gid, []):
                build.add(cell.source, Origin.STUDENT_ADDED)
    if lost:  # the notes on the restoration say it all
        build.notes[said:] = [
            n for n in build.notes[said:] if n.kind not in _IMPLIED_BY_LOST_METADATA
        ]
    return Assembled(build.cells, build.notes, frozenset(build.unanswered))
