"""``autograder``: release, collect, grade, give feedback and export marks.

Every command takes ``--course DIR`` (default ``$AUTOGRADER_COURSE`` or ``./course``) and
``--db-url URL`` (default: SQLite in the course folder; a PostgreSQL URL for several graders).
Run ``autograder COMMAND --help`` for each command's options.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .course import Course


def _course(args) -> Course:
    return Course(Path(args.course), db_url=args.db_url)


def cmd_release(args) -> int:
    from .release import release

    course = _course(args)
    for assignment in args.assignments or sorted(course.exercise_sources()):
        key = release(course, assignment, seed=args.seed, require_sandbox=args.require_sandbox)
        checks = sum(len(c["values"]) for nb in key["notebooks"].values()
                     for c in nb["cells"].values())
        print(f"released {assignment}: {course.release_dir(assignment)} "
              f"({checks} checks in the answer key)")
    return 0


def cmd_collect(args) -> int:
    from .collect import collect

    course = _course(args)
    notebooks = course.notebooks(args.assignment)
    if not notebooks:
        print(f"error: {args.assignment!r} is not released in {course.root}", file=sys.stderr)
        return 2
    report = collect(Path(args.source), course.root, args.assignment, notebook_names=notebooks)
    print(report)
    return 0


def cmd_grade(args) -> int:
    from .grade import STATUS_WORDS, Grader
    from .sandbox.isolation import Limits

    course = _course(args)
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=int(args.timeout * 2),
                    memory_bytes=args.memory_mb * 1024**2)
    grader = Grader(course, args.assignment, workers=args.workers, limits=limits,
                    require_sandbox=args.require_sandbox)
    results = grader.grade(args.students or None, progress=not args.no_progress)
    print(grader.isolation.describe())
    width = max([len(r["student"]) for r in results] + [7])
    for r in results:
        score = f"{r['score']:g}/{r['max_score']:g}" if r["scored"] else "-"
        print(f"{r['student']:<{width}}  {score:>9}  {STATUS_WORDS[r['status']]}: {r['reason']}")
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print(f"{len(results)} submissions in {grader.elapsed:.1f} s: "
          + ", ".join(f"{n} {STATUS_WORDS[s]}" for s, n in sorted(counts.items())))
    course.reports_dir.mkdir(parents=True, exist_ok=True)
    report = course.reports_dir / f"grading-{args.assignment}.json"
    report.write_text(json.dumps({"isolation": grader.isolation.describe(),
                                  "elapsed_seconds": grader.elapsed, "results": results}))
    print(f"report: {report}")
    return 0


def cmd_feedback(args) -> int:
    from .feedback import write_feedback

    course = _course(args)
    for path in write_feedback(course, args.assignment, args.students or None):
        print(path)
    return 0


def cmd_export(args) -> int:
    from .export import export_marks, write_summary

    course = _course(args)
    csv_path = export_marks(course, args.assignments or None,
                            Path(args.output) if args.output else None)
    print(f"marks: {csv_path}")
    for assignment in args.assignments or course.released_assignments():
        print(f"summary: {write_summary(course, assignment)}")
    return 0


def cmd_mark(args) -> int:
    """Set the manual score of one answer (the command-line alternative to formgrader)."""
    from nbgrader.api import Gradebook, MissingEntry

    course = _course(args)
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            grade = gb.find_grade(args.grade_id, args.notebook or args.assignment,
                                  args.assignment, args.student)
        except MissingEntry:
            print(f"error: no graded submission of {args.assignment!r} by {args.student!r} "
                  f"with a cell {args.grade_id!r}", file=sys.stderr)
            return 2
        if not 0 <= args.score <= grade.max_score:
            print(f"error: the score must be between 0 and {grade.max_score:g}", file=sys.stderr)
            return 2
        grade.manual_score = args.score
        grade.needs_manual_grade = False
        gb.db.commit()
    print(f"{args.student} {args.assignment} {args.grade_id}: {args.score:g}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", default=os.environ.get("AUTOGRADER_COURSE", "course"),
                        help="the course folder (default: $AUTOGRADER_COURSE or ./course)")
    common.add_argument("--db-url", default=None,
                        help="gradebook database URL (default: SQLite in the course folder; "
                             "postgresql://... for several graders at once)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("release", parents=[common], help="generate the student version and "
                       "the answer key", description="Generate the student version of each "
                       "assignment (no solutions, no hidden tests) and its secret answer key.")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all exercises)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the hidden inputs (default: a fresh random secret)")
    p.add_argument("--require-sandbox", action="store_true",
                   help="fail rather than run without bubblewrap")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("collect", parents=[common], help="bring submissions into the course",
                       description="Copy submissions from a folder or an LMS bulk-download zip "
                       "into <course>/submitted, reporting every file it could not place.")
    p.add_argument("assignment")
    p.add_argument("source", help="a folder (one subfolder per student) or a .zip")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("grade", parents=[common], help="autograde submissions",
                       description="Run every submission in its own sandboxed process and score "
                       "it against the answer key. Prints each student's status.")
    p.add_argument("assignment")
    p.add_argument("--student", dest="students", action="append",
                   help="grade only this student (repeatable)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: the number of cores)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="wall-clock seconds a notebook may run (default 120)")
    p.add_argument("--memory-mb", type=int, default=6144,
                   help="address-space limit of a submission's process in MB (default 6144)")
    p.add_argument("--require-sandbox", action="store_true",
                   help="fail rather than grade without bubblewrap")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", parents=[common], help="write feedback pages",
                       description="Write one HTML page per student with scores and the visible "
                       "tests' results (never a hidden test's code or inputs).")
    p.add_argument("assignment")
    p.add_argument("--student", dest="students", action="append")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", parents=[common], help="export marks and a summary",
                       description="Write a CSV of marks (with each submission's status) and an "
                       "HTML summary per assignment (pass rate per question, score histogram).")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--output", help="CSV path (default: <course>/autograder/reports/marks.csv)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("mark", parents=[common], help="set a manual score",
                       description="Set the score of a manually graded answer.")
    p.add_argument("assignment")
    p.add_argument("student")
    p.add_argument("grade_id")
    p.add_argument("score", type=float)
    p.add_argument("--notebook", help="notebook name (default: the assignment name)")
    p.set_defaults(func=cmd_mark)

    from .service.cli import add_commands

    add_commands(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RuntimeError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
