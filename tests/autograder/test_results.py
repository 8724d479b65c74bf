"""results.py: statuses carry their words, severity and advice; results survive JSON."""

from __future__ import annotations

import json

from autograder.results import (
    CellKind,
    CellOutput,
    CellResult,
    CheckResult,
    IsolationReport,
    Note,
    NotebookResult,
    NoteKind,
    Origin,
    RunCell,
    Status,
    StudentResult,
    Verdict,
)


def test_statuses_know_their_words_severity_and_advice():
    assert Status.worst([Status.GRADED, Status.TIMEOUT, Status.REPAIRED]) is Status.TIMEOUT
    assert Status.worst([Status.MISSING, Status.ERROR]) is Status.ERROR
    assert Status.OUTPUT_LIMIT.words == "hit the output or file size limit"
    assert all(s.words for s in Status) and len({s.words for s in Status}) == len(Status)
    assert [s for s in Status if not s.scored] == [Status.INVALID, Status.MISSING, Status.ERROR]
    # Every status without a normal grade tells the student what to do.
    assert all(s.advice for s in Status if not s.normal)
    assert "not your fault" in (Status.ERROR.advice or "")


def result() -> StudentResult:
    auto = CellResult(
        "t",
        CellKind.AUTO,
        2.0,
        auto_score=2.0,
        passed=True,
        checks=[
            CheckResult("v", False, Verdict.PASSED, "passed"),
            CheckResult("h", True, Verdict.NOT_RUN, "this check did not run"),
        ],
    )
    essay = CellResult("e", CellKind.MANUAL, 3.0, manual_score=1.5, extra_credit=0.5)
    ran = NotebookResult(
        "nb",
        Status.REPAIRED,
        "cell 't' was edited",
        5.0,
        notes=[Note(NoteKind.LOCKED_EDITED, "cell 't' was edited")],
        cells={"t": auto, "e": essay},
        cells_run=[RunCell(0, "code", "x = 1", Origin.ANSWER, "a", {"solution": True}, 4)],
        outputs={0: CellOutput(False, "ValueError", "bad", "out")},
        wall_seconds=0.5,
    )
    missing = NotebookResult("other", Status.MISSING, "no other.ipynb was submitted", 4.0)
    return StudentResult(
        "a",
        "ada",
        [ran, missing],
        IsolationReport(("bubblewrap",), ("not root",)),
        "2026-12-01T10:00:00",
    )


def test_a_student_result_sums_its_notebooks():
    r = result()
    assert r.status is Status.MISSING and r.scored
    assert r.score == 4.0 and r.max_score == 9.0  # 2 + (1.5 + 0.5); the essay's mark wins
    assert r.reason == "nb: cell 't' was edited; other: no other.ipynb was submitted"
    assert not r.needs_manual_grading
    assert r.isolation.describe() == "isolation in force: bubblewrap\nWARNING: not root"


def test_json_round_trip():
    r = result()
    data = json.loads(json.dumps(r.to_json()))
    assert data["status"] == "missing" and data["score"] == 4.0
    assert StudentResult.from_json(data) == r
