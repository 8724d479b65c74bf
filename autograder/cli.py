"""``autograder``: release, collect, grade, give feedback and export marks; ``serve`` runs the
course's submission service (its commands, with ``roster`` and ``instructor``: ``service/cli.py``).

Every command takes ``--course DIR`` (default ``$AUTOGRADER_COURSE`` or ``./course``) and
``--db-url URL`` (default: SQLite in the course folder; a PostgreSQL URL for several graders).
Run ``autograder COMMAND --help`` for each command's options.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .cluster import Cluster
from .course import Course
from .display import printable
from .locations import EXERCISES_ENV, find_exercises
from .results import StudentResult

if TYPE_CHECKING:
    from .answer_key import AnswerKey

#: What ``autograder --help`` says first (plain text: the terminal shows no reST).
DESCRIPTION = """\
Release exercises, collect submissions, grade them in a sandbox, write feedback and export marks.

Every command takes --course DIR (default $AUTOGRADER_COURSE or ./course) and --db-url URL
(default: SQLite in the course folder; a PostgreSQL URL for several graders at once).
Run "autograder COMMAND --help" for a command's arguments and options.

A first class:  autograder release ; autograder collect NAME ZIP ; autograder grade NAME ;
                autograder feedback NAME ; autograder export
"""
#: Help of the arguments several commands share.
ASSIGNMENT_HELP = "the assignment's name (an exercise folder's name, e.g. upsampling-by-hand)"


def course_of(args: argparse.Namespace) -> Course:
    """The course the common options (``--course``, ``--exercises``, ``--db-url``) name."""
    return Course(
        Path(args.course),
        db_url=args.db_url or "",
        exercises_dir=find_exercises(args.exercises) if args.exercises else None,
    )


def cluster_of(args: argparse.Namespace) -> Cluster | None:
    """The Dask cluster ``--scheduler`` names (None: the local pool)."""
    if not args.scheduler:
        return None
    if not args.tls_dir:
        raise ValueError(
            "--scheduler needs --tls-dir (or $AUTOGRADER_CLUSTER_TLS): the folder with ca.pem, "
            "client.pem and client-key.pem (`autograder cluster-certs DIR` makes a test set)"
        )
    return Cluster(args.scheduler, Path(args.tls_dir))


def cmd_release(args: argparse.Namespace) -> int:
    from .release import release

    course = course_of(args)
    for assignment in args.assignments or sorted(course.exercise_sources()):
        key = release(course, assignment, seed=args.seed, require_sandbox=args.require_sandbox)
        print(
            f"released {assignment}: {course.release_dir(assignment)} "
            f"({key.check_count()} checks in the answer key)"
        )
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from .collect import collect

    course = course_of(args)
    notebooks = course.notebooks(args.assignment)
    if not notebooks:
        print(f"error: {args.assignment!r} is not released in {course.root}", file=sys.stderr)
        return 2
    report = collect(Path(args.source), course.root, args.assignment, notebook_names=notebooks)
    print(report)
    return 0


def result_line(result: StudentResult, width: int) -> str:
    """A student's line in the terminal; names and reasons escaped (``display.printable``)."""
    score = f"{result.score:g}/{result.max_score:g}" if result.scored else "-"
    student = printable(result.student)
    return f"{student:<{width}}  {score:>9}  {result.status.words}: {printable(result.reason)}"


def time_limit_line(timeout: float | None, key: AnswerKey, wall_seconds: float) -> str:
    """Which time limit a grading run used, and where it came from."""
    from .keybuild import TIME_LIMIT_FACTOR, TIME_LIMIT_FLOOR

    if timeout is not None:
        origin = "--timeout"
    elif key.time_limit is not None and key.solution_seconds is not None:
        origin = (
            f"the answer key's: {TIME_LIMIT_FACTOR:g} x the {key.solution_seconds:.2f} s of "
            f"CPU time of the solution's run, at least {TIME_LIMIT_FLOOR:g} s"
        )
    else:
        origin = "the default: the answer key predates stored limits; release again"
    return f"time limit: {wall_seconds:g} s per notebook ({origin})"


def cmd_grade(args: argparse.Namespace) -> int:
    from .grader import Grader

    course = course_of(args)
    grader = Grader(
        course,
        args.assignment,
        workers=args.workers,
        timeout=args.timeout,
        memory_bytes=args.memory_mb * 1024**2,
        require_sandbox=args.require_sandbox,
        cluster=cluster_of(args),
    )
    results = grader.grade(args.students or None, progress=not args.no_progress)
    assert grader.isolation is not None
    print(grader.isolation.describe())
    limit = time_limit_line(args.timeout, grader.assignment.key, grader.limits.wall_seconds)
    print(limit)
    if grader.cluster is not None:
        for worker, isolation in sorted(grader.worker_isolation.items()):
            print(f"worker {printable(worker)}: {isolation.describe()}".replace("\n", "\n  "))
    for rerun in grader.reruns:
        print(
            f"{printable(rerun.label)} lost {rerun.lost} worker(s): {printable(rerun.detail)}"
            + (f"; it ran again on {printable(rerun.worker)}" if rerun.worker else "")
        )
    width = max([len(printable(r.student)) for r in results] + [7])
    for r in results:
        print(result_line(r, width))
    counts = Counter(r.status for r in results)
    print(
        f"{len(results)} submissions in {grader.elapsed:.1f} s: "
        + ", ".join(
            f"{n} {s.words}" for s, n in sorted(counts.items(), key=lambda i: i[0].severity)
        )
    )
    course.reports_dir.mkdir(parents=True, exist_ok=True)
    report = course.reports_dir / f"grading-{args.assignment}.json"
    report.write_text(
        json.dumps(
            {
                "isolation": grader.isolation.describe(),
                "time_limit": limit,
                "time_limit_seconds": grader.limits.wall_seconds,
                "workers": {w: i.describe() for w, i in grader.worker_isolation.items()},
                "reruns": [dataclasses.asdict(r) for r in grader.reruns],
                "elapsed_seconds": grader.elapsed,
                "first_job_started_at": grader.first_job_started_at,
                "results": [r.to_json() for r in results],
            }
        )
    )
    print(f"report: {report}")
    return 0


def cmd_cluster_certs(args: argparse.Namespace) -> int:
    from .cluster.certs import make_certificates, start_commands

    folder = Path(args.folder)
    hosts = args.hosts or ["localhost", "127.0.0.1"]
    files = make_certificates(folder, hosts, days=args.days)
    print(f"a new CA and certificates for {', '.join(files)} in {folder} (hosts: {hosts})")
    print("start the scheduler, then each worker (each machine needs ca.pem and its pair):")
    for command in start_commands(folder, hosts[0]):
        print(f"  {command}")
    print(f"then: autograder grade NAME --scheduler tls://{hosts[0]}:8786 --tls-dir {folder}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from .feedback import write_feedback

    for path in write_feedback(course_of(args), args.assignment, args.students or None):
        print(printable(path))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .marks import export_marks
    from .summary import write_summary

    course = course_of(args)
    csv_path = export_marks(
        course, args.assignments or None, Path(args.output) if args.output else None
    )
    print(f"marks: {csv_path}")
    for assignment in args.assignments or course.released_assignments():
        print(f"summary: {write_summary(course, assignment)}")
    return 0


def cmd_mark(args: argparse.Namespace) -> int:
    """Set the manual score of one answer (the command-line alternative to formgrader)."""
    from .gradebook import CourseGradebook, NoSuchGrade

    with CourseGradebook(course_of(args)) as gradebook:
        try:
            gradebook.mark(
                args.assignment,
                args.notebook or args.assignment,
                args.student,
                args.grade_id,
                args.score,
            )
        except (NoSuchGrade, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(f"{args.student} {args.assignment} {args.grade_id}: {args.score:g}")
    return 0


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--course",
        default=os.environ.get("AUTOGRADER_COURSE", "course"),
        metavar="DIR",
        help="the course folder (default: $AUTOGRADER_COURSE or ./course)",
    )
    common.add_argument(
        "--exercises",
        default=None,
        metavar="DIR",
        help=f"the exercises folder, with source/<assignment>/ (default: "
        f"${EXERCISES_ENV}, else exercises/ of the repository the current "
        "folder is in)",
    )
    common.add_argument(
        "--db-url",
        default=None,
        metavar="URL",
        help="gradebook database URL (default: SQLite in the course folder; "
        "postgresql://... for several graders at once)",
    )
    return common


#: name -> (the command, one line of help, its description).
COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str, str]] = {
    "release": (
        cmd_release,
        "generate the student version and the answer key",
        "Generate the student version of each assignment (no solutions, no hidden "
        "tests) and its secret answer key.",
    ),
    "collect": (
        cmd_collect,
        "bring submissions into the course",
        "Copy submissions from a folder or an LMS bulk-download zip into "
        "<course>/submitted, reporting every file it could not place.",
    ),
    "grade": (
        cmd_grade,
        "autograde submissions",
        "Run every submission in its own sandboxed process and score it against the "
        "answer key. Prints each student's status.",
    ),
    "cluster-certs": (
        cmd_cluster_certs,
        "make a test CA and TLS certificates for a grading cluster",
        "Make a certificate authority and the certificates of a Dask scheduler, its workers "
        "and the grading coordinator (mutual TLS), and print how to start the cluster.",
    ),
    "feedback": (
        cmd_feedback,
        "write feedback pages",
        "Write one HTML page per student with scores and the visible tests' results "
        "(never a hidden test's code or inputs).",
    ),
    "export": (
        cmd_export,
        "export marks and a summary",
        "Write a CSV of marks (with each submission's status) and an HTML summary per "
        "assignment (pass rate per question, score histogram).",
    ),
    "mark": (cmd_mark, "set a manual score", "Set the score of a manually graded answer."),
}


def _student_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--student", dest="students", action="append", metavar="ID", help=help)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """How submissions run: ``grade`` and ``serve`` (``jobs.Limits.for_timeout``)."""
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="submissions graded at once (default: the number of cores)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="wall-clock seconds a notebook may run (default: the assignment's, set at "
        "release from its solution's run time)",
    )
    p.add_argument(
        "--memory-mb",
        type=int,
        default=6144,
        help="address-space limit of a submission's process in MB (default 6144)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="grade on the Dask cluster of this scheduler (tls://host:8786) instead of this "
        "machine's pool; --workers is then ignored by grade",
    )
    p.add_argument(
        "--tls-dir",
        metavar="DIR",
        default=os.environ.get("AUTOGRADER_CLUSTER_TLS"),
        help="with --scheduler: the folder with ca.pem, client.pem, client-key.pem "
        "(default: $AUTOGRADER_CLUSTER_TLS)",
    )


def _add_options(name: str, p: argparse.ArgumentParser) -> None:
    """Each command's own arguments."""
    sandbox = "fail rather than run without bubblewrap"
    if name == "release":
        p.add_argument("assignments", nargs="*", help="assignment names (default: all exercises)")
        p.add_argument(
            "--seed",
            type=int,
            default=None,
            help="seed of the hidden inputs (default: a fresh random secret)",
        )
        p.add_argument("--require-sandbox", action="store_true", help=sandbox)
    elif name == "collect":
        p.add_argument("assignment", help=ASSIGNMENT_HELP)
        p.add_argument("source", help="a folder (one subfolder per student) or a .zip")
    elif name == "grade":
        p.add_argument("assignment", help=ASSIGNMENT_HELP)
        _student_option(p, "grade only this student (repeatable)")
        add_run_options(p)
        p.add_argument("--require-sandbox", action="store_true", help=sandbox)
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
    elif name == "cluster-certs":
        p.add_argument("folder", help="where to write the CA and the certificates")
        p.add_argument(
            "--host",
            dest="hosts",
            action="append",
            metavar="NAME",
            help="a host name or address of the scheduler or a worker (repeatable; the first "
            "is the scheduler's; default: localhost and 127.0.0.1)",
        )
        p.add_argument("--days", type=int, default=365, help="validity (default 365 days)")
    elif name == "feedback":
        p.add_argument("assignment", help=ASSIGNMENT_HELP)
        _student_option(
            p, "write only this student's page (repeatable; default: every graded student)"
        )
    elif name == "export":
        p.add_argument(
            "assignments", nargs="*", help="assignment names (default: every released one)"
        )
        p.add_argument("--output", help="CSV path (default: <course>/autograder/reports/marks.csv)")
    elif name == "mark":
        p.add_argument("assignment", help=ASSIGNMENT_HELP)
        p.add_argument("student", help="the student's id, as in the gradebook")
        p.add_argument("grade_id", help="the answer cell's grade id (a column of the CSV)")
        p.add_argument("score", type=float, help="the points given")
        p.add_argument("--notebook", help="notebook name (default: the assignment name)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograder",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = _common_options()
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (func, summary, description) in COMMANDS.items():
        p = sub.add_parser(name, parents=[common], help=summary, description=description)
        _add_options(name, p)
        p.set_defaults(func=func)
    # The submission service's commands (serve, roster, instructor): thin like these.
    from .service.cli import add_commands

    add_commands(sub, common)
    return parser


#: Commands that read a course folder made by ``release``.
NEED_A_COURSE = ("grade", "feedback", "export", "mark")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in NEED_A_COURSE and not Path(args.course).is_dir():
        print(
            f"error: no course folder at {Path(args.course).resolve()}: give --course DIR, "
            "or run 'autograder release' there first",
            file=sys.stderr,
        )
        return 2
    try:
        code: int = args.func(args)
        return code
    except (RuntimeError, OSError, ValueError) as exc:  # OSError: a scheduler unreachable
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
