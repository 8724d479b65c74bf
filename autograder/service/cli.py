"""The service's commands: ``autograder serve``, ``roster`` and ``instructor``.

``serve`` runs the service with uvicorn on one port (default 127.0.0.1:8000), with the
course's gradebook database (or ``--db-url``) and the local sandboxed pool. ``roster import``
and ``instructor`` work on the same database, with or without a running service.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import logging
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..course import Course

if TYPE_CHECKING:
    from .store import Store


def _course(args: argparse.Namespace) -> Course:
    from ..cli import course_of

    return course_of(args)


def _store(args: argparse.Namespace) -> Store:
    from . import db
    from .store import Store

    course = _course(args)
    course.root.mkdir(parents=True, exist_ok=True)
    return Store(db.connect(course.db_url))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..cli import cluster_of
    from .app import Settings, create_app
    from .grading import GradingCore, SandboxMissing

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    course = _course(args)
    if not course.released_assignments():
        print(
            f"error: nothing is released in {course.root}; run `autograder release` first "
            "(or release from the service's pages once it runs)",
            file=sys.stderr,
        )
    try:
        core = GradingCore(
            course,
            workers=args.workers,
            timeout=args.timeout,
            memory_bytes=args.memory_mb * 1024**2,
            allow_unsandboxed=args.allow_unsandboxed,
            cluster=cluster_of(args),
        )
    except (SandboxMissing, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    public_url = args.public_url or f"http://{args.host}:{args.port}"
    settings = Settings(
        db_url=course.db_url,
        public_url=public_url,
        secure_cookies=public_url.startswith("https://"),
    )
    app = create_app(settings, core)
    if not app.fastapi.state.store.has_instructors():
        print(
            "note: no instructor can sign in yet: run `autograder instructor NAME`", file=sys.stderr
        )
    print(
        f"serving {course.root} at {public_url} ({core.isolation_text.splitlines()[0]})",
        file=sys.stderr,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_graceful_shutdown=10,
    )
    return 0


def cmd_roster_import(args: argparse.Namespace) -> int:
    from .roster import RosterError, parse_roster

    try:
        roster = parse_roster(Path(args.file).read_bytes())
    except RosterError as exc:
        print(f"error: the roster could not be read: {exc}", file=sys.stderr)
        return 2
    report = _store(args).import_roster(roster)
    print(
        f"read as {report.format}: {len(report.added)} new students, {report.updated} "
        f"updated, {len(report.problems)} rows skipped"
    )
    for problem in report.problems:
        print(f"  {problem}")
    if report.added:
        _write_links(
            Path(args.links),
            args.public_url,
            [(e.student_id, e.name, e.email, t) for e, t in report.added],
        )
    return 0


def _write_links(path: Path, public_url: str, rows: list[tuple[str, str, str, str]]) -> None:
    """The sign-in links, for a mail merge: readable by the instructor only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "name", "email", "link"])
        for student_id, name, email, token in rows:
            writer.writerow([student_id, name, email, f"{public_url.rstrip('/')}/s/{token}"])
    print(
        f"sign-in links of the new students: {path} (shown only this once: send each "
        "student their own, then delete the file)"
    )


def cmd_roster_link(args: argparse.Namespace) -> int:
    store = _store(args)
    person = store.person_by_student_id(args.student)
    if person is None:
        print(f"error: no student {args.student!r} on the roster", file=sys.stderr)
        return 2
    token = store.issue_token(person.id)
    _write_links(
        Path(args.links), args.public_url, [(person.student_id, person.name, person.email, token)]
    )
    return 0


def cmd_instructor(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if password != getpass.getpass("again: "):
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    try:
        _store(args).add_instructor(args.username, password)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"instructor {args.username} can sign in")
    return 0


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    from ..cli import add_run_options

    p = sub.add_parser(
        "serve",
        parents=[common],
        help="run the submission service",
        description="Serve the course's submission pages and API: students "
        "upload notebooks and see them graded in the sandbox within seconds.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    add_run_options(p)
    p.add_argument(
        "--public-url",
        default=None,
        help="the address students use, e.g. https://grader.example.edu (sign-in "
        "links start with it; https makes cookies Secure)",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="reverse proxies whose X-Forwarded-* headers are trusted (default 127.0.0.1)",
    )
    p.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="grade without the sandbox, for a local trial (every page says so)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "roster",
        help="import students, make sign-in links",
        description="Import a class roster (CSV, or Canvas's or Moodle's export) "
        "into the submission service's database, or make a new sign-in link.",
    )
    roster = p.add_subparsers(
        dest="roster_command", required=True, metavar="ACTION", help="import or link"
    )
    links_help = "where to write the new sign-in links (CSV, instructor-only)"
    url_help = "the service's public address, which the links start with"
    q = roster.add_parser("import", parents=[common], help="import a roster CSV")
    q.add_argument("file", help="the roster (CSV)")
    q.add_argument("--links", default="sign-in-links.csv", help=links_help)
    q.add_argument("--public-url", default="http://127.0.0.1:8000", help=url_help)
    q.set_defaults(func=cmd_roster_import)
    q = roster.add_parser("link", parents=[common], help="a new sign-in link for one student")
    q.add_argument("student", help="the student's id")
    q.add_argument("--links", default="sign-in-links.csv", help=links_help)
    q.add_argument("--public-url", default="http://127.0.0.1:8000", help=url_help)
    q.set_defaults(func=cmd_roster_link)

    p = sub.add_parser(
        "instructor",
        parents=[common],
        help="add an instructor or set a password",
        description="Add an instructor who signs in to the service with a "
        "password (stored as an argon2 hash), or change their password.",
    )
    p.add_argument("username", help="the instructor's user name (sign-in)")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of asking",
    )
    p.set_defaults(func=cmd_instructor)
