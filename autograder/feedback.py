"""``autograder feedback``: one self-contained HTML page per student and notebook.

The page is built from the student's result as the gradebook holds it (scores included, so
marks given by hand later show up), and rendered from ``templates/feedback.html.j2`` with
autoescape on. What a student may see, and what never:

* test cells are shown as released, never as they ran: the source notebook's hidden tests are
  not read for display, only to blank them out of anything else;
* a test cell's own output is never shown (its traceback quotes the hidden lines); its checks
  are: visible ones with their message, hidden ones without names, as passed or failed and,
  when failed, the kind of difference (the two shapes, N of M values differ: see
  ``checks.difference_kind``), never an expected value;
* an error that a test cell raised after its visible checks had all run may come from the hidden
  tests, so only its type is shown;
* everything that came out of the submission's run or the submission itself (answers, output,
  error messages, notes, file names) is escaped, and any line of a hidden test, a hidden check's
  name or the grading seed in it is replaced by ``[hidden]`` (``redaction.Redactor``).

What the student's own code prints is shown. No filter can stop code that sets out to smuggle
the hidden inputs out through its own output in some encoding: release again (a fresh seed, so
fresh hidden inputs) before grading resubmissions made after feedback was given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin

from .assignment import Assignment
from .course import Course
from .gradebook import CourseGradebook
from .notebook import Cell, InstructorNotebook
from .pages import number, render
from .redaction import Redactor, visible_prefix, visible_text
from .results import (
    CellKind,
    CellOutput,
    CellResult,
    CheckResult,
    NotebookResult,
    Origin,
    RunCell,
    Status,
    StudentResult,
    Verdict,
)


class Shown(StrEnum):
    """How a run cell appears on the page."""

    ADDED = "added"
    PROSE = "prose"
    GIVEN = "given"
    ANSWER = "answer"
    TEST = "test"


@dataclass(frozen=True)
class ScoreView:
    words: str
    css: str = ""


@dataclass(frozen=True)
class ErrorView:
    name: str
    message: str | None  # None: raised while the hidden tests ran, so not shown
    not_implemented: bool


@dataclass(frozen=True)
class CheckView:
    name: str | None  # None for a hidden check
    number: int  # hidden checks are numbered
    passed: bool
    message: str  # why it failed (a hidden check: only the kind of difference)


@dataclass
class CellView:
    kind: Shown
    source: str = ""
    html: Markup | None = None
    grade_id: str = ""
    ran: bool = True
    out: str = ""
    error: ErrorView | None = None
    score: ScoreView | None = None
    unanswered: bool = False
    code: bool = True
    comment: str | None = None
    checks: list[CheckView] = field(default_factory=list)
    hidden_checks: int = 0


#: A line a check prints when it passes in the notebook (``upsampling_course.checks.check``).
_PASSED_LINE = re.compile(r"^passed: (.*)$", re.MULTILINE)
NOT_PROVED = "printed by the notebook; the grader did not count this check as passed"


def exception_name(ename: str) -> str:
    """A plain exception name, or a neutral word if the name is odd (names are student-made)."""
    ename = (ename or "").strip()
    return ename if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", ename) else "an error"


def check_views(checks: list[CheckResult], redact: Redactor) -> list[CheckView]:
    """What a student sees of a test cell's checks (feedback pages and the submission service):
    hidden ones numbered, without names; a failed one's message (for a hidden check only the
    kind of difference, see ``scoring.score_cell``) redacted."""
    views, hidden = [], 0
    for check in checks:
        hidden += check.hidden
        message = "" if check.passed else redact(check.message)
        views.append(CheckView(None if check.hidden else check.name, hidden, check.passed, message))
    return views


def _score(cell: CellResult | None) -> ScoreView:
    if cell is None:
        return ScoreView("no score")
    score = cell.score
    if score is None:
        return ScoreView(f"not marked yet (out of {cell.max_score:g})")
    css = "pass" if score >= cell.max_score else "fail" if score <= 0 else "part"
    return ScoreView(f"{score:g} / {cell.max_score:g}", css)


@dataclass
class _NotebookPage:
    """Builds the view of one notebook's result; every student string is redacted here."""

    instructor: InstructorNotebook
    result: NotebookResult
    redact: Redactor
    markdown: MarkdownIt

    def error(self, end: CellOutput | None, details: bool = True) -> ErrorView | None:
        if end is None or end.ok:
            return None
        name = exception_name(end.ename)
        message = None
        if details:
            message = self.redact(f"{end.ename}: {end.evalue}" if end.evalue else end.ename)
        return ErrorView(self.redact(name), message, name == "NotImplementedError")

    def ran(self, run: RunCell, kind: Shown, source: str) -> CellView:
        end = self.result.outputs.get(run.index)
        return CellView(
            kind,
            source=source,
            ran=end is not None,
            out=self.redact(self.unproved_passes(end.out)) if end else "",
            error=self.error(end),
        )

    def unproved_passes(self, out: str) -> str:
        """What a cell printed, with each "passed: <check>" line that the grader's own record
        of that check does not prove marked as such (a copy of a test cell, or a notebook's
        own print, can claim anything)."""
        proved = {
            check.name
            for cell in self.result.cells.values()
            for check in cell.checks
            if check.passed and not check.hidden
        }

        def mark(match: re.Match[str]) -> str:
            if match.group(1).strip() in proved:
                return match.group(0)
            return f"{match.group(0)}  [{NOT_PROVED}]"

        return _PASSED_LINE.sub(mark, out)

    def cell(self, run: RunCell) -> CellView | None:
        if run.origin is Origin.STUDENT_ADDED:
            return self.ran(run, Shown.ADDED, self.redact(run.source))
        index = run.instructor_index
        released = self.instructor.cells[index].release if index is not None else None
        if released is None:
            return None  # nothing the student may see stands for this cell
        if run.origin is Origin.ANSWER:
            return self.answer(run, released)
        if released.is_test:
            return self.test(run, released)
        if released.cell_type == "markdown":
            return CellView(Shown.PROSE, html=_render_prose(self.markdown, released.source))
        if released.cell_type == "code":
            return self.ran(run, Shown.GIVEN, released.source)
        return None

    def answer(self, run: RunCell, released: Cell) -> CellView:
        code = run.cell_type == "code"
        view = (
            self.ran(run, Shown.ANSWER, self.redact(run.source))
            if code
            else CellView(Shown.ANSWER, source=self.redact(run.source), code=False)
        )
        view.grade_id = run.grade_id or ""
        view.unanswered = run.source.strip() == released.source.strip()
        stored = self.result.cells.get(view.grade_id)
        if released.nbgrader.get("grade"):
            view.score = _score(stored)
        view.comment = stored.comment if stored else None
        return view

    def test(self, run: RunCell, released: Cell) -> CellView:
        gid = run.grade_id or ""
        stored = self.result.cells.get(gid)
        end = self.result.outputs.get(run.index)
        checks = check_views(stored.checks if stored else [], self.redact)
        return CellView(
            Shown.TEST,
            source=visible_text(released.source),
            grade_id=gid,
            ran=end is not None,
            error=self.error(end, details=self._error_before_hidden(gid, stored)),
            score=_score(stored),
            checks=checks,
            hidden_checks=sum(c.name is None for c in checks),
        )

    def _error_before_hidden(self, gid: str, stored: CellResult | None) -> bool:
        """Whether a test cell's error came from its visible part: a visible check written
        before the hidden tests never reported a value."""
        source = self.instructor.source_of(gid)
        if source is None or stored is None:
            return False
        prefix = visible_prefix(source.source)
        return any(
            not c.hidden
            and c.verdict is Verdict.NOT_RUN
            and (f'"{c.name}"' in prefix or f"'{c.name}'" in prefix)
            for c in stored.checks
        )

    def questions(self) -> list[dict[str, object]]:
        return [
            {
                "grade_id": c.grade_id,
                "score": _score(self.result.cells.get(c.grade_id or "")),
                "graded": "by hand" if c.is_solution else "automatic",
            }
            for c in self.instructor.graded_cells()
        ]

    def render(self, student: StudentResult) -> str:
        name, result = self.result.name, self.result
        # Test cells always have an automatic score in the gradebook once it stored one.
        graded = result.scored and all(
            c.auto_score is not None for c in result.cells.values() if c.kind is CellKind.AUTO
        )
        title = f"Feedback: {student.assignment}" + (
            f" / {name}" if name != student.assignment else ""
        )
        cells = [view for run in result.cells_run if (view := self.cell(run)) is not None]
        return render(
            "feedback.html.j2",
            title=title,
            student=student.student,
            timestamp=student.timestamp,
            status=result.status,
            reason=self.redact(result.reason),
            graded=graded,
            total=number(result.score),
            max_score=number(result.max_score),
            pending=number(result.pending) if result.pending else "",
            notes=[self.redact(n.text) for n in result.notes],
            record_lost=result.status is Status.TAMPERED,
            questions=self.questions(),
            cells=cells,
        )


def _render_prose(markdown: MarkdownIt, text: str) -> Markup:
    """The assignment's Markdown, its headings one level down (the page's title is the h1).
    Raw HTML in it is shown as text (``html`` off), so the result is safe to insert."""
    tokens = markdown.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"
    return Markup(markdown.renderer.render(tokens, markdown.options, {}))


class FeedbackRenderer:
    """Renders the feedback pages of one assignment (its redactor and Markdown made once)."""

    def __init__(self, released: Assignment) -> None:
        self.released = released
        self.redact = Redactor.for_assignment(list(released.notebooks.values()), released.key)
        # Math is kept verbatim (LaTeX) rather than mangled by Markdown's backslash escapes.
        self.markdown = MarkdownIt("commonmark", {"html": False}).use(dollarmath_plugin)

    def pages(self, result: StudentResult) -> dict[str, str]:
        """One student's pages: notebook name -> HTML, for the notebooks the assignment has."""
        pages = {}
        for notebook in result.notebooks:
            instructor = self.released.notebooks.get(notebook.name)
            if instructor is not None:
                page = _NotebookPage(instructor, notebook, self.redact, self.markdown)
                pages[notebook.name] = page.render(result)
        return pages


def write_feedback(
    course: Course, assignment: str, students: list[str] | None = None
) -> list[Path]:
    """Write the feedback pages of ``students`` (default: everyone with a grading result)."""
    released = Assignment.load(course, assignment)
    with CourseGradebook(course) as gradebook:
        results = gradebook.results(assignment)
    if students is None:
        students = sorted(results)
    unknown = [s for s in students if s not in results]
    if unknown:
        raise ValueError(
            f"no grading result of {assignment!r} for: {', '.join(unknown)} "
            "(run `autograder grade` first)"
        )
    renderer = FeedbackRenderer(released)
    written = []
    for student in students:
        folder = course.feedback_dir(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        for name, page in renderer.pages(results[student]).items():
            path = folder / f"{name}.html"
            path.write_text(page, encoding="utf-8")
            written.append(path)
    return written
