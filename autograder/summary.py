"""``autograder export``, part two: the HTML summary of one assignment's grading
(``<course>/autograder/reports/summary-<a>.html``, from ``templates/summary.html.j2``)."""

from __future__ import annotations

import base64
import io
import statistics
from pathlib import Path
from typing import Any

from .assignment import Assignment
from .course import Course
from .gradebook import CourseGradebook
from .marks import NOT_SUBMITTED, question_columns
from .pages import number, render
from .results import IsolationReport, Status, StudentResult


def _histogram_png(scores: list[float], max_score: float) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = max(max_score, max(scores, default=0.0), 1.0)
    # One bar per point when the scale is small, so each possible total has its own bar.
    small = top <= 40
    ax.hist(
        scores,
        bins=int(top) + 1 if small else 20,
        range=(-0.5, top + 0.5) if small else (0, top),
        color="#2f6fab",
        edgecolor="white",
    )
    ax.set_xlabel(f"total score (out of {max_score:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))
    ax.set_xlim(-0.5, top + 0.5)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}% ({part} of {whole})" if whole else "no graded submissions"


def _question(
    assignment: Assignment, nb: str, gid: str, column: str, graded: list[StudentResult]
) -> dict[str, str]:
    cells = [c for r in graded if (n := r.notebook(nb)) and (c := n.cells.get(gid)) is not None]
    points = cells[0].max_score if cells else None
    if assignment.is_manual(nb, gid):
        marked = [c.score for c in cells if c.score is not None]
        result = (
            f"mean {statistics.fmean(marked):.2f} of {points:g} over {len(marked)} with a "
            "mark (unanswered ones get 0)"
            if marked and points is not None
            else "no marks yet"
        )
        if len(cells) > len(marked):
            result += f"; {len(cells) - len(marked)} still to mark"
        kind = "by hand"
    else:
        passed = sum(1 for c in cells if c.score is not None and c.score >= c.max_score)
        result, kind = f"pass rate {_rate(passed, len(cells))}", "automatically"
    return {"column": column, "graded": kind, "points": number(points), "result": result}


def _histogram(totals: list[float], max_score: float) -> dict[str, Any] | None:
    if not totals:
        return None
    totals = sorted(totals)
    alt = (
        f"Histogram of the total scores of {len(totals)} graded submissions, out of "
        f"{max_score:g} points: lowest {totals[0]:g}, median {statistics.median(totals):g}, "
        f"highest {totals[-1]:g}."
    )
    return {
        "png": base64.b64encode(_histogram_png(totals, max_score)).decode("ascii"),
        "alt": alt,
        "mean": f"{statistics.fmean(totals):.2f}",
        "median": number(statistics.median(totals)),
    }


def write_summary(course: Course, name: str) -> Path:
    """Write the HTML summary of one assignment's grading; return its path."""
    assignment = Assignment.load(course, name)
    with CourseGradebook(course) as gradebook:
        results = gradebook.results(name)
        not_submitted = sorted(set(gradebook.students()) - set(results))
    graded = [r for r in results.values() if r.scored]
    counts = {s: sum(r.status is s for r in results.values()) for s in Status}
    status_counts = [(s.words, n) for s, n in counts.items() if n]
    if not_submitted:
        status_counts.append((NOT_SUBMITTED, len(not_submitted)))
    isolations: dict[IsolationReport, int] = {}
    for result in results.values():
        isolations[result.isolation] = isolations.get(result.isolation, 0) + 1
    page = render(
        "summary.html.j2",
        title=f"Summary: {name}",
        with_result=len(results),
        with_scores=len(graded),
        not_submitted=len(not_submitted),
        status_counts=status_counts,
        attention=[
            (s, r.status.words, r.reason)
            for s, r in sorted(results.items())
            if r.status is not Status.GRADED
        ],
        questions=[
            _question(assignment, nb, gid, column, graded)
            for (nb, gid), column in question_columns(assignment).items()
        ],
        histogram=_histogram([r.score for r in graded], assignment.key.max_score),
        max_score=number(assignment.key.max_score),
        isolations=list(isolations.items()),
    )
    path = course.reports_dir / f"summary-{name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
