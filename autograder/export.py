"""``autograder export``: a CSV of marks and an HTML summary per assignment.

Scores come from nbgrader's gradebook (so manual marks given later with ``autograder mark`` or
formgrader count); statuses come from the ``autograder_status`` table. A student whose notebook
could not be graded gets a row with that status and an empty score, never a silent 0.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course
from .grade import STATUS_WORDS
from .gradebook import read_statuses
from .notebook import parse_cells

#: Status of a student the gradebook knows (from another assignment) who has no stored result here.
NOT_SUBMITTED = "not submitted"

CSV_FIXED_COLUMNS = ["student", "assignment", "status", "reason", "score", "max_score",
                     "needs_manual_grading"]


# --- scores from the gradebook ------------------------------------------------------------------

@dataclass
class QuestionScore:
    grade_id: str
    max_score: float
    manual: bool  # a question graded by hand
    score: float | None  # None: not marked yet
    comment: str | None = None  # the grader's comment (formgrader or later tools)


@dataclass
class NotebookScores:
    questions: dict[str, QuestionScore] = field(default_factory=dict)
    needs_manual_grade: bool = False

    @property
    def score(self) -> float:
        """Points given so far (questions not yet marked count nothing)."""
        return sum(q.score for q in self.questions.values() if q.score is not None)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions.values())

    @property
    def pending(self) -> float:
        """Points of questions still waiting for a mark."""
        return sum(q.max_score for q in self.questions.values() if q.score is None)


def question_order(course: Course, assignment: str) -> list[tuple[str, str]]:
    """(notebook, grade_id) of every graded cell, in notebook order, from the release."""
    order = []
    for path in sorted(course.release_dir(assignment).glob("*.ipynb")):
        for cell in parse_cells(json.loads(path.read_text()), "the release"):
            if cell.grade_id and cell.nbgrader.get("grade"):
                order.append((path.stem, cell.grade_id))
    return order


def manual_ids(course: Course, assignment: str) -> dict[str, set[str]]:
    """Notebook -> grade ids of its questions graded by hand (from the answer key)."""
    key = json.loads(course.key_path(assignment).read_text())
    return {name: set(nb["manual"]) for name, nb in key["notebooks"].items()}


def read_scores(course: Course, assignment: str) -> dict[str, dict[str, NotebookScores]]:
    """Student -> notebook -> scores of every student with a graded submission in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    manual = manual_ids(course, assignment)
    scores: dict[str, dict[str, NotebookScores]] = {}
    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        try:
            submissions = gb.assignment_submissions(assignment)
        except MissingEntry:
            return {}
        for submission in submissions:
            per_notebook = scores.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                comments = {c.name: c.manual_comment for c in notebook.comments}
                nb_scores = NotebookScores()
                for grade in notebook.grades:
                    extra = grade.extra_credit or 0.0
                    if grade.manual_score is not None:
                        score = grade.manual_score + extra
                    elif grade.auto_score is not None:
                        score = grade.auto_score + extra
                    else:
                        score = None
                    nb_scores.questions[grade.name] = QuestionScore(
                        grade.name, float(grade.max_score),
                        grade.name in manual.get(notebook.name, set()), score,
                        comments.get(grade.name))
                    nb_scores.needs_manual_grade |= bool(grade.needs_manual_grade)
                per_notebook[notebook.name] = nb_scores
    return scores


def gradebook_students(course: Course) -> list[str]:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        return sorted(s.id for s in gb.students)


# --- marks --------------------------------------------------------------------------------------

def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _column_names(order: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    several = len({nb for nb, _ in order}) > 1
    return {(nb, gid): f"{nb}/{gid}" if several else gid for nb, gid in order}


def _max_score(course: Course, assignment: str) -> float:
    key = json.loads(course.key_path(assignment).read_text())
    return sum(c["points"] for nb in key["notebooks"].values()
               for part in ("cells", "manual") for c in nb[part].values())


def marks_rows(course: Course, assignment: str,
               students: list[str]) -> tuple[list[dict], list[str]]:
    """One row per student (the CSV's columns), and the names of the question columns."""
    statuses = read_statuses(course.db_url, course.course_id, assignment)
    scores = read_scores(course, assignment)
    columns = _column_names(question_order(course, assignment))
    max_score = _max_score(course, assignment)
    rows = []
    for student in sorted(set(students) | set(statuses)):
        result = statuses.get(student)
        row = {"student": student, "assignment": assignment, "max_score": _fmt(max_score),
               "score": "", "needs_manual_grading": ""}
        if result is None:
            row.update(status=NOT_SUBMITTED, reason="no submission was graded")
        else:
            row.update(status=STATUS_WORDS.get(result["status"], result["status"]),
                       reason=result["reason"])
        graded = scores.get(student) if result is not None and result["scored"] else None
        for (nb, gid), column in columns.items():
            question = graded.get(nb, NotebookScores()).questions.get(gid) if graded else None
            row[column] = _fmt(question.score) if question else ""
        if graded:
            row["score"] = _fmt(sum(nb.score for nb in graded.values()))
            row["needs_manual_grading"] = str(any(nb.needs_manual_grade or nb.pending
                                                  for nb in graded.values()))
        rows.append(row)
    return rows, list(columns.values())


def export_marks(course: Course, assignments: list[str] | None = None,
                 output: Path | None = None) -> Path:
    """Write the marks of ``assignments`` (default: every released one) as CSV; return its path."""
    assignments = assignments or course.released_assignments()
    students = gradebook_students(course)
    rows, question_columns = [], []
    for assignment in assignments:
        if not course.key_path(assignment).is_file():
            raise ValueError(f"{assignment!r} has not been released in {course.root}")
        assignment_rows, columns = marks_rows(course, assignment, students)
        rows += assignment_rows
        question_columns += [c for c in columns if c not in question_columns]
    output = Path(output) if output else course.reports_dir / "marks.csv"
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIXED_COLUMNS + question_columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return output


# --- summary ------------------------------------------------------------------------------------

SUMMARY_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5;
       color: #1b1b1b; background: #fff; max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #c8c8c8; padding: 0.3rem 0.7rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.6rem; white-space: pre-wrap; }
.warning { border-left: 4px solid #a15c00; background: #fff4e0; padding: 0.5rem 0.8rem; }
img { max-width: 100%; height: auto; }
"""


def _histogram_png(scores: list[float], max_score: float) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = max(max_score, max(scores, default=0.0), 1.0)
    # One bar per point when the scale is small, so each possible total has its own bar.
    bins = int(top) + 1 if top <= 40 else 20
    ax.hist(scores, bins=bins, range=(-0.5, top + 0.5) if top <= 40 else (0, top),
            color="#2f6fab", edgecolor="white")
    ax.set_xlabel(f"total score (out of {max_score:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(-0.5, top + 0.5)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}% ({part} of {whole})" if whole else "no graded submissions"


def write_summary(course: Course, assignment: str) -> Path:
    """Write the HTML summary of one assignment's grading; return its path."""
    if not course.key_path(assignment).is_file():
        raise ValueError(f"{assignment!r} has not been released in {course.root}")
    esc = html.escape
    statuses = read_statuses(course.db_url, course.course_id, assignment)
    scores = read_scores(course, assignment)
    order = question_order(course, assignment)
    columns = _column_names(order)
    manual = manual_ids(course, assignment)
    max_score = _max_score(course, assignment)
    graded = {s: scores[s] for s, r in statuses.items() if r["scored"] and s in scores}
    not_submitted = sorted(set(gradebook_students(course)) - set(statuses))

    counts: dict[str, int] = {}
    for result in statuses.values():
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    absent = f" {len(not_submitted)} students in the gradebook have none." if not_submitted else ""
    parts = [f"<h1>Summary: {esc(assignment)}</h1>",
             f"<p>{len(statuses)} submissions with a grading result; {len(graded)} have "
             f"scores.{absent}</p>",
             "<h2>Status of the submissions</h2>",
             "<table><caption>Submissions per status</caption>"
             "<tr><th scope='col'>status</th><th scope='col'>submissions</th></tr>"]
    for status in sorted(counts, key=lambda s: list(STATUS_WORDS).index(s)
                         if s in STATUS_WORDS else len(STATUS_WORDS)):
        parts.append(f"<tr><td>{esc(STATUS_WORDS.get(status, status))}</td>"
                     f"<td class='num'>{counts[status]}</td></tr>")
    if not_submitted:
        parts.append(f"<tr><td>{NOT_SUBMITTED}</td><td class='num'>{len(not_submitted)}</td></tr>")
    parts.append("</table>")
    attention = sorted((s, r) for s, r in statuses.items() if r["status"] != "graded")
    if attention:
        parts.append("<table><caption>Submissions that were not graded normally</caption>"
                     "<tr><th scope='col'>student</th><th scope='col'>status</th>"
                     "<th scope='col'>reason</th></tr>")
        for student, result in attention:
            parts.append(f"<tr><td>{esc(student)}</td>"
                         f"<td>{esc(STATUS_WORDS.get(result['status'], result['status']))}</td>"
                         f"<td>{esc(result['reason'])}</td></tr>")
        parts.append("</table>")

    parts += ["<h2>Questions</h2>",
              "<p>For a question graded automatically: the share of graded submissions that "
              "earned its points. For a question graded by hand: the mean of the marks given so "
              "far.</p>",
              "<table><caption>Pass rate or mean mark per question</caption>"
              "<tr><th scope='col'>question</th><th scope='col'>graded</th>"
              "<th scope='col'>points</th><th scope='col'>result</th></tr>"]
    for nb, gid in order:
        questions = [g[nb].questions[gid] for g in graded.values()
                     if nb in g and gid in g[nb].questions]
        points = questions[0].max_score if questions else None
        if gid in manual.get(nb, set()):
            marked = [q.score for q in questions if q.score is not None]
            waiting = len(questions) - len(marked)
            result = (f"mean {statistics.fmean(marked):.2f} of {points:g} over {len(marked)} "
                      f"with a mark (unanswered ones get 0)" if marked else "no marks yet")
            if waiting:
                result += f"; {waiting} still to mark"
            kind = "by hand"
        else:
            passed = sum(1 for q in questions if q.score is not None and q.score >= q.max_score)
            result = f"pass rate {_rate(passed, len(questions))}"
            kind = "automatically"
        parts.append(f"<tr><td>{esc(columns[(nb, gid)])}</td><td>{kind}</td>"
                     f"<td class='num'>{_fmt(points)}</td><td>{esc(result)}</td></tr>")
    parts.append("</table>")

    totals = sorted(sum(nb.score for nb in g.values()) for g in graded.values())
    parts.append("<h2>Total scores</h2>")
    if totals:
        png = base64.b64encode(_histogram_png(totals, max_score)).decode("ascii")
        alt = (f"Histogram of the total scores of {len(totals)} graded submissions, out of "
               f"{max_score:g} points: lowest {totals[0]:g}, median "
               f"{statistics.median(totals):g}, highest {totals[-1]:g}.")
        parts.append(f"<figure><img src='data:image/png;base64,{png}' alt='{esc(alt)}'>"
                     f"<figcaption>{esc(alt)}</figcaption></figure>")
        parts.append(f"<p>Mean {statistics.fmean(totals):.2f}, median "
                     f"{statistics.median(totals):g}, out of {max_score:g}. Questions still "
                     "waiting for a mark by hand count 0 here.</p>")
    else:
        parts.append("<p>No graded submissions yet.</p>")

    parts.append("<h2>Isolation in force</h2>")
    isolations: dict[str, list[str]] = {}
    for student, result in sorted(statuses.items()):
        isolations.setdefault(result.get("isolation") or "not recorded", []).append(student)
    for text, students in isolations.items():
        css = " class='warning'" if "WARNING" in text else ""
        parts.append(f"<p>When grading {len(students)} of the submissions:</p>"
                     f"<pre{css}>{esc(text)}</pre>")
    if not isolations:
        parts.append("<p>Nothing has been graded yet.</p>")

    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Summary: {esc(assignment)}</title><style>{SUMMARY_CSS}</style></head>"
            "<body><main>" + "\n".join(parts) + "</main></body></html>\n")
    path = course.reports_dir / f"summary-{assignment}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
