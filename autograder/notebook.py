"""Reading a submitted notebook as untrusted input, and building what is actually run.

The notebook that runs is assembled here, outside the sandbox, from the instructor's source:
every locked cell (setup, tests, hidden tests) is the instructor's own, whatever the submission
did to it (edited, deleted, duplicated, retyped, metadata changed); only the answer cells and
cells the student added come from the submission. Every repair is written down as a note.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

MAX_NOTEBOOK_BYTES = 16 * 1024**2


class InvalidNotebook(ValueError):
    """The submission cannot be read as a notebook; the message says why, in plain words."""


@dataclass
class Cell:
    cell_type: str
    source: str
    grade_id: str | None = None
    nbgrader: dict = field(default_factory=dict)

    @property
    def is_solution(self) -> bool:
        return bool(self.nbgrader.get("solution"))

    @property
    def is_test(self) -> bool:
        return bool(self.nbgrader.get("grade")) and not self.is_solution

    @property
    def is_locked(self) -> bool:
        return bool(self.nbgrader.get("locked")) or self.is_test


@dataclass
class RunCell:
    """A cell of the assembled notebook: what runs, and where it came from."""

    index: int
    cell_type: str
    source: str
    origin: str  # "instructor", "answer" or "student-added"
    grade_id: str | None = None
    nbgrader: dict = field(default_factory=dict)


@dataclass
class Assembled:
    cells: list[RunCell]
    notes: list[str]

    @property
    def repaired(self) -> bool:
        return any(not note.startswith("answer") for note in self.notes)

    def code_cells(self) -> list[dict]:
        return [{"index": c.index, "source": c.source} for c in self.cells if c.cell_type == "code"]


def _source_text(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    raise InvalidNotebook(f"{where} has a source that is not text")


def parse_cells(nb: dict, where: str = "the notebook") -> list[Cell]:
    """Cells of an nbformat 4 notebook given as plain JSON data (trusted or not)."""
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise InvalidNotebook(f"{where} has no list of cells")
    parsed = []
    for number, raw in enumerate(cells, start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("cell_type"), str):
            raise InvalidNotebook(f"cell {number} of {where} is not a notebook cell")
        metadata = raw.get("metadata", {})
        nbgrader = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
        nbgrader = nbgrader if isinstance(nbgrader, dict) else {}
        grade_id = nbgrader.get("grade_id")
        parsed.append(Cell(cell_type=raw["cell_type"],
                           source=_source_text(raw.get("source", ""), f"cell {number} of {where}"),
                           grade_id=grade_id if isinstance(grade_id, str) else None,
                           nbgrader=nbgrader))
    return parsed


def load_submission(data: bytes) -> dict:
    """Decode a submitted file into notebook JSON, or raise InvalidNotebook saying why."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(f"the notebook is {len(data) / 1024**2:.0f} MB, over the "
                              f"{MAX_NOTEBOOK_BYTES // 1024**2} MB limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNotebook(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                              f"position {exc.start})") from None

    def no_constants(name):
        raise ValueError(f"{name} is not allowed")

    try:
        nb = json.loads(text, parse_constant=no_constants)
    except (ValueError, RecursionError) as exc:
        raise InvalidNotebook(f"the file is not a notebook: it is not valid JSON ({exc})") from None
    if not isinstance(nb, dict):
        raise InvalidNotebook("the file is JSON but not a notebook (no top-level object)")
    if nb.get("nbformat") != 4:
        raise InvalidNotebook(f"the notebook has format version {nb.get('nbformat')!r}; "
                              "version 4 (Jupyter's current format) is needed")
    return nb


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def assemble(source: list[Cell], release: list[Cell], submitted: list[Cell]) -> Assembled:
    """The notebook to run: the instructor's cells, the student's answers and added cells."""
    known = {c.grade_id: c for c in source if c.grade_id}
    released = {c.grade_id: c for c in release if c.grade_id}
    notes: list[str] = []

    by_id: dict[str, list[Cell]] = {}
    added_after: dict[str | None, list[Cell]] = {}
    anchor: str | None = None
    for cell in submitted:
        if cell.grade_id in known:
            by_id.setdefault(cell.grade_id, []).append(cell)
            anchor = cell.grade_id
            continue
        if cell.grade_id:
            notes.append(f"a cell carries the unknown id {cell.grade_id!r}: it was run as an "
                         "ordinary cell of yours")
        if cell.cell_type == "code":
            added_after.setdefault(anchor, []).append(cell)

    run: list[RunCell] = []

    def add(cell_type, text, origin, original: Cell | None):
        run.append(RunCell(len(run), cell_type, text, origin,
                           original.grade_id if original else None,
                           dict(original.nbgrader) if original else {}))

    for cell in added_after.get(None, []):
        add("code", cell.source, "student-added", None)
    for original in source:
        gid = original.grade_id
        copies = by_id.get(gid, []) if gid else []
        if gid and len(copies) > 1:
            notes.append(f"cell {gid!r} appears {len(copies)} times; "
                         + ("the first copy was graded" if original.is_solution and not
                            original.is_locked else "the instructor's copy was run once"))
        if gid and original.is_solution and not original.is_locked:
            mine = copies[0] if copies else None
            if mine is None:
                notes.append(f"answer cell {gid!r} is missing: it was graded as unanswered")
                add(original.cell_type, released[gid].source if gid in released else "",
                    "answer", original)
            elif mine.cell_type != original.cell_type:
                notes.append(f"answer cell {gid!r} was changed from {original.cell_type} to "
                             f"{mine.cell_type}: it was graded as unanswered")
                add(original.cell_type, released[gid].source if gid in released else "",
                    "answer", original)
            else:
                add(original.cell_type, mine.source, "answer", original)
            _note_metadata(gid, original, copies, notes)
        else:
            if gid:
                if not copies:
                    notes.append(f"locked cell {gid!r} was deleted; the instructor's copy was run")
                else:
                    mine = copies[0]
                    reference = released.get(gid, original)
                    if mine.cell_type != original.cell_type:
                        notes.append(f"locked cell {gid!r} was changed to {mine.cell_type}; "
                                     "the instructor's copy was run")
                    elif _normal(mine.source) not in (_normal(reference.source),
                                                      _normal(original.source)):
                        notes.append(f"locked cell {gid!r} was edited; the instructor's copy "
                                     "was run")
                    _note_metadata(gid, original, copies, notes)
            add(original.cell_type, original.source, "instructor", original)
        for cell in added_after.get(gid, []) if gid else []:
            add("code", cell.source, "student-added", None)
    return Assembled(run, notes)


def _note_metadata(gid: str, original: Cell, copies: list[Cell], notes: list[str]) -> None:
    for mine in copies[:1]:
        for key in ("points", "grade", "solution", "locked"):
            if mine.nbgrader.get(key) != original.nbgrader.get(key):
                notes.append(f"the nbgrader metadata of cell {gid!r} was changed ({key}); "
                             "the instructor's settings were used")
                return
