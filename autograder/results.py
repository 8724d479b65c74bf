"""What grading found, as types: statuses, notes, check results and each student's result.

Everything that crosses the grader's modules (scoring -> gradebook -> feedback, summary, CSV)
is one of these, and :class:`StudentResult` is what the gradebook stores as JSON
(``to_json``/``from_json``). Scores are kept in nbgrader's own tables; the stored JSON holds
everything else, and :mod:`autograder.gradebook` puts the scores back when it reads a result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum
from typing import Any, NamedTuple


class _StatusInfo(NamedTuple):
    words: str
    advice: str | None  # what a student can do about it (statuses without scores only)


class Status(StrEnum):
    """How a submitted notebook's grading ended. Declared from best to worst: when a student's
    notebooks end differently, the worst names the student's status."""

    GRADED = "graded"
    REPAIRED = "repaired"
    MEMORY = "memory"
    OUTPUT_LIMIT = "output-limit"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    TAMPERED = "tampered"
    WORKERS_LOST = "workers-lost"
    INVALID = "invalid"
    MISSING = "missing"
    ERROR = "error"

    @property
    def words(self) -> str:
        return _STATUS_INFO[self].words

    @property
    def advice(self) -> str | None:
        return _STATUS_INFO[self].advice

    @property
    def severity(self) -> int:
        return list(Status).index(self)

    @property
    def scored(self) -> bool:
        """Whether the notebook ran, so its checks earn what they proved (possibly 0)."""
        return self not in (Status.INVALID, Status.MISSING, Status.ERROR)

    @property
    def normal(self) -> bool:
        return self in (Status.GRADED, Status.REPAIRED)

    @classmethod
    def worst(cls, statuses: list[Status]) -> Status:
        return max(statuses, key=lambda s: s.severity)


_STATUS_INFO = {
    Status.GRADED: _StatusInfo("graded", None),
    Status.REPAIRED: _StatusInfo("graded; the notebook was repaired first", None),
    Status.MEMORY: _StatusInfo(
        "hit the memory limit",
        "Your notebook used too much memory. Look for arrays or models far larger than the "
        "question needs.",
    ),
    Status.OUTPUT_LIMIT: _StatusInfo(
        "hit the output or file size limit",
        "Your notebook printed or wrote too much. Remove large prints and files.",
    ),
    Status.TIMEOUT: _StatusInfo(
        "timed out",
        "Your notebook took too long. Look for a loop that never ends or work that is much "
        "larger than the question needs, then run the whole notebook yourself (Restart & Run "
        "All) before submitting.",
    ),
    Status.CRASHED: _StatusInfo(
        "the notebook's process died",
        "Your notebook stopped its own process (for example with sys.exit() or os._exit()). "
        "Remove such calls.",
    ),
    Status.TAMPERED: _StatusInfo(
        "the notebook's record of its run was unreadable or tampered with",
        "Your notebook wrote to, cut or removed the grader's record of its run (the files the "
        "grader keeps beside your notebook while it runs), so nothing in that record counts. "
        "Do not touch files you did not create yourself.",
    ),
    Status.WORKERS_LOST: _StatusInfo(
        "took down two grading workers",
        "The grading machine running your notebook failed twice, so your notebook was not run "
        "again. Run it yourself (Restart & Run All) and look for code that ends processes.",
    ),
    Status.INVALID: _StatusInfo(
        "invalid notebook",
        "The file could not be read as a Jupyter notebook. Check that it still opens in "
        "Jupyter, save it there, and submit that file.",
    ),
    Status.MISSING: _StatusInfo(
        "missing notebook",
        "Submit your notebook under the name the assignment gave it (see above); a renamed "
        "copy cannot be matched to the assignment.",
    ),
    Status.ERROR: _StatusInfo(
        "grader error",
        "The grader itself failed on your notebook. This is not your fault: your instructor "
        "has been told.",
    ),
}


class NoteKind(Enum):
    """What a note from the grader is about; repairs are what make a notebook "repaired"."""

    ANSWER_MISSING = "answer-missing"
    ANSWER_RETYPED = "answer-retyped"
    UNKNOWN_ID = "unknown-id"
    DUPLICATED = "duplicated"
    LOCKED_DELETED = "locked-deleted"
    LOCKED_RETYPED = "locked-retyped"
    LOCKED_EDITED = "locked-edited"
    METADATA_CHANGED = "metadata-changed"
    METADATA_LOST = "metadata-lost"  # no cell had its nbgrader metadata: matched by content
    FILE_COPIED = "file-copied"
    FILE_NOT_COPIED = "file-not-copied"
    LOG_UNREADABLE = "log-unreadable"

    @property
    def is_repair(self) -> bool:
        return self in _REPAIRS


_REPAIRS = {
    NoteKind.UNKNOWN_ID,
    NoteKind.DUPLICATED,
    NoteKind.LOCKED_DELETED,
    NoteKind.LOCKED_RETYPED,
    NoteKind.LOCKED_EDITED,
    NoteKind.METADATA_CHANGED,
    NoteKind.METADATA_LOST,
}


@dataclass(frozen=True)
class Note:
    kind: NoteKind
    text: str


class Verdict(Enum):
    """What became of one check."""

    PASSED = "passed"
    NOT_RUN = "not-run"  # no value was reported
    REPEATED = "repeated"  # reported more than once: counts for nothing
    UNPROVED = "unproved"  # the run's record was tampered with: nothing in it counts
    WRONG = "wrong"


@dataclass(frozen=True)
class CheckResult:
    name: str
    hidden: bool
    verdict: Verdict
    message: str  # shown to the student: never a hidden test's values

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED


class CellKind(Enum):
    AUTO = "auto"  # a test cell, scored from its checks
    MANUAL = "manual"  # an answer marked by hand


@dataclass
class CellResult:
    """One graded cell. Scores come from the gradebook when a result is read back."""

    grade_id: str
    kind: CellKind
    max_score: float
    auto_score: float | None = None
    manual_score: float | None = None
    extra_credit: float = 0.0
    comment: str | None = None  # the grader's comment (formgrader)
    passed: bool | None = None
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None  # "<name>: <message>" of an error the cell raised
    ran: bool = True

    @property
    def score(self) -> float | None:
        """Points given so far: a manual mark wins over the automatic score; None: unmarked."""
        given = self.manual_score if self.manual_score is not None else self.auto_score
        return None if given is None else given + self.extra_credit


class Origin(Enum):
    INSTRUCTOR = "instructor"  # setup and test cells: always the instructor's own
    ANSWER = "answer"  # an answer cell, from the submission
    STUDENT_ADDED = "student-added"


@dataclass(frozen=True)
class RunCell:
    """A cell of the notebook that ran, and the instructor's cell it stands for."""

    index: int
    cell_type: str
    source: str
    origin: Origin
    grade_id: str | None = None
    nbgrader: dict[str, Any] = field(default_factory=dict)
    instructor_index: int | None = None  # position in the instructor's notebook


@dataclass(frozen=True)
class CellOutput:
    """What one run cell printed and how it ended (untrusted: it came out of the sandbox)."""

    ok: bool
    ename: str = ""
    evalue: str = ""
    out: str = ""


@dataclass
class NotebookResult:
    name: str
    status: Status
    reason: str
    max_score: float
    notes: list[Note] = field(default_factory=list)
    cells: dict[str, CellResult] = field(default_factory=dict)
    cells_run: list[RunCell] = field(default_factory=list)
    outputs: dict[int, CellOutput] = field(default_factory=dict)  # run cell index -> output
    wall_seconds: float | None = None
    cpu_seconds: float | None = None  # of the run's process tree (user + system)

    @property
    def scored(self) -> bool:
        return self.status.scored

    @property
    def score(self) -> float:
        """Points given so far (cells not marked yet count nothing)."""
        return sum(c.score or 0.0 for c in self.cells.values())

    @property
    def pending(self) -> float:
        """Points of answers still waiting for a mark by hand."""
        return sum(c.max_score for c in self.cells.values() if c.score is None)


@dataclass(frozen=True)
class IsolationReport:
    """The protections in force where a job ran, and the ones that were not."""

    layers: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        text = "isolation in force: " + ", ".join(self.layers)
        return text + "".join(f"\nWARNING: {warning}" for warning in self.warnings)


@dataclass
class StudentResult:
    assignment: str
    student: str
    notebooks: list[NotebookResult]
    isolation: IsolationReport
    timestamp: str | None = None  # when the LMS or nbgrader says it was submitted

    @property
    def status(self) -> Status:
        return Status.worst([n.status for n in self.notebooks])

    @property
    def reason(self) -> str:
        return "; ".join(f"{n.name}: {n.reason}" for n in self.notebooks if n.reason)

    @property
    def scored(self) -> bool:
        return any(n.scored for n in self.notebooks)

    @property
    def score(self) -> float:
        return sum(n.score for n in self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(n.max_score for n in self.notebooks)

    @property
    def needs_manual_grading(self) -> bool:
        return any(n.pending for n in self.notebooks if n.scored)

    def notebook(self, name: str) -> NotebookResult | None:
        return next((n for n in self.notebooks if n.name == name), None)

    # --- JSON ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return _plain(asdict(self)) | {
            "status": self.status.value,
            "reason": self.reason,
            "score": self.score,
            "max_score": self.max_score,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudentResult:
        return cls(
            assignment=data["assignment"],
            student=data["student"],
            notebooks=[_notebook_from_json(n) for n in data["notebooks"]],
            isolation=IsolationReport(
                tuple(data["isolation"]["layers"]), tuple(data["isolation"]["warnings"])
            ),
            timestamp=data.get("timestamp"),
        )


def _plain(value: Any) -> Any:
    """``asdict`` output made JSON-ready: enums by value, tuple lists, string keys."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _cell_from_json(data: dict[str, Any]) -> CellResult:
    checks = [
        CheckResult(c["name"], c["hidden"], Verdict(c["verdict"]), c["message"])
        for c in data["checks"]
    ]
    return CellResult(**(data | {"kind": CellKind(data["kind"]), "checks": checks}))


def _notebook_from_json(data: dict[str, Any]) -> NotebookResult:
    return NotebookResult(
        name=data["name"],
        status=Status(data["status"]),
        reason=data["reason"],
        max_score=data["max_score"],
        notes=[Note(NoteKind(n["kind"]), n["text"]) for n in data["notes"]],
        cells={gid: _cell_from_json(c) for gid, c in data["cells"].items()},
        cells_run=[RunCell(**(c | {"origin": Origin(c["origin"])})) for c in data["cells_run"]],
        outputs={int(i): CellOutput(**o) for i, o in data["outputs"].items()},
        wall_seconds=data.get("wall_seconds"),
        cpu_seconds=data.get("cpu_seconds"),
    )
