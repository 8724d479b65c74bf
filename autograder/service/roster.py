"""Reading a class roster: a plain CSV, or an LMS's export as it comes.

Accepted, recognised by their header:

* a plain CSV naming at least a student id, a name and an email (``student_id``/``id``,
  ``name``/``first name`` + ``last name``, ``email``, in any case and order);
* Canvas's gradebook export (``Student, ID, SIS User ID, SIS Login ID, Section, ...``, with
  its "Points Possible" row) and its provisioning report (``canvas_user_id, user_id,
  login_id, full_name, email, ...``); Canvas's own ids are kept for its gradebook import;
* Moodle's participants or grades export (``First name, Last name / Surname, ID number,
  Email address, Username, Roles, ...``), where only the rows whose role is a student are kept
  when roles are listed.

Both may start with a byte-order mark and use ``,`` ``;`` or tab. A row that cannot be used is
reported by line number and reason; it never stops the others.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

MAX_ROSTER_BYTES = 5 * 1024**2
#: A student id names folders in the course (``submitted/<id>/``): keep it to safe characters.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")


@dataclass(frozen=True)
class RosterEntry:
    student_id: str
    name: str
    email: str
    lms_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


@dataclass
class Roster:
    format: str  # which export it was read as
    entries: list[RosterEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line N: why"


class RosterError(ValueError):
    """The file cannot be read as a roster at all; the message says why."""


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", header.lower()).strip()


def _column(fields: dict[str, str], *names: str) -> str | None:
    for name in names:
        if name in fields:
            return fields[name]
    return None


def _detect(headers: set[str]) -> str:
    if {"student", "id", "sis user id"} <= headers or {"student", "id", "sis login id"} <= headers:
        return "Canvas gradebook export"
    if "canvas user id" in headers:
        return "Canvas provisioning report"
    if "email address" in headers and ("first name" in headers or "id number" in headers):
        return "Moodle export"
    return "CSV"


def _name(row: dict[str, str], fields: dict[str, str]) -> str:
    full = _column(fields, "name", "full name", "student name", "student")
    if full and row.get(full, "").strip():
        name = row[full].strip()
        # Canvas writes "Last, First".
        if "," in name and full == fields.get("student"):
            last, first = (part.strip() for part in name.split(",", 1))
            name = f"{first} {last}".strip()
        return name
    given = _column(fields, "first name", "given name", "firstname")
    family = _column(fields, "last name", "surname", "family name", "lastname")
    return " ".join(row.get(c, "").strip() for c in (given, family) if c).strip()


_ID_COLUMNS = {
    "Canvas gradebook export": ("sis user id", "sis login id", "id"),
    "Canvas provisioning report": ("user id", "login id", "canvas user id"),
    "Moodle export": ("id number", "username", "email address"),
    "CSV": ("student id", "student number", "id", "user id", "username", "login"),
}


def _student_id(row: dict[str, str], fields: dict[str, str], fmt: str) -> str:
    for name in _ID_COLUMNS[fmt]:
        value = row.get(fields.get(name, ""), "").strip()
        if value:
            return value
    return ""


def _is_student(row: dict[str, str], fields: dict[str, str]) -> bool:
    roles = _column(fields, "roles", "role")
    if roles is None:
        return True
    text = row.get(roles, "").lower()
    return "student" in text or "learner" in text


def _reader(data: bytes) -> csv.DictReader[str]:
    """The rows of a CSV as an LMS or a spreadsheet writes it (a byte-order mark, Windows
    encoding, ``;`` or tab separators)."""
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError(
            f"the roster is {len(data) / 1024**2:.1f} MB; at most "
            f"{MAX_ROSTER_BYTES // 1024**2} MB is read"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's habit on Windows
    dialect: type[csv.Dialect] | csv.Dialect
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.DictReader(io.StringIO(text), dialect=dialect)


def parse_roster(data: bytes) -> Roster:
    """The students of a roster file (see the module's docstring for the formats)."""
    reader = _reader(data)
    if not reader.fieldnames:
        raise RosterError("the file is empty")
    fields = {_key(h): h for h in reader.fieldnames if h}
    fmt = _detect(set(fields))
    if not any(row in fields for row in _ID_COLUMNS[fmt]):
        raise RosterError(
            "no column names a student id (looked for: "
            + ", ".join(_ID_COLUMNS[fmt])
            + "); the columns are: "
            + ", ".join(reader.fieldnames)
        )
    roster = Roster(fmt)
    seen: set[str] = set()
    email = _column(fields, "email", "email address", "e mail")
    for line, row in enumerate(reader, start=2):
        row = {k: (v or "") for k, v in row.items() if k}
        name = _name(row, fields)
        if fmt == "Canvas gradebook export" and "points possible" in name.lower():
            continue
        if not any(v.strip() for v in row.values()):
            continue
        if not _is_student(row, fields):
            roster.problems.append(
                f"line {line}: skipped, not a student "
                f"({row.get(_column(fields, 'roles', 'role') or '', '')})"
            )
            continue
        student_id = _student_id(row, fields, fmt)
        if not STUDENT_ID.fullmatch(student_id):
            roster.problems.append(
                f"line {line}: skipped, the student id {student_id!r} is empty "
                "or has characters other than letters, digits and . _ @ + -"
            )
            continue
        if student_id in seen:
            roster.problems.append(f"line {line}: skipped, student id {student_id!r} appears twice")
            continue
        seen.add(student_id)
        roster.entries.append(
            RosterEntry(
                student_id=student_id,
                name=name or student_id,
                email=row.get(email, "").strip() if email else "",
                lms_id=row.get(fields.get("id", fields.get("canvas user id", "")), "").strip()
                if fmt.startswith("Canvas")
                else "",
                sis_user_id=row.get(
                    fields.get("sis user id", fields.get("user id", "")), ""
                ).strip(),
                sis_login_id=row.get(
                    fields.get("sis login id", fields.get("login id", "")), ""
                ).strip(),
                section=row.get(fields.get("section", ""), "").strip(),
            )
        )
    if not roster.entries:
        raise RosterError(
            "no student could be read from the roster"
            + (": " + "; ".join(roster.problems[:5]) if roster.problems else "")
        )
    return roster
