"""Put students' submissions into an nbgrader course:
``<course>/submitted/<student>/<assignment>/``.

Submissions come from a folder or from the zip an LMS gives for bulk download. Everything in
them is untrusted: names may try to climb out of the target (``../``, absolute paths), entries
may be symbolic links or devices, an archive may be a zip bomb, a file may be huge. Nothing is
ever written outside ``<course>/submitted``, and every file that is not placed is reported with
the reason, in plain words.

How a file is matched to a student (first rule that applies):

1. **Moodle**: a top folder named ``<Full Name>_<id>_assignsubmission_<kind>_`` holds that
   student's files. The student id is the full name in lowercase ASCII with dashes
   (``José Núñez`` -> ``jose-nunez``); two different Moodle ids with the same name get their
   id appended (``jose-nunez-123``).
2. **Canvas**: a file at the top named ``<student>_<user id>_<submission id>_<original name>``,
   optionally ``<student>_late_<ids>_...`` or ``LATE_<student>_...`` (the LMS's mark for a late
   submission; it is recorded). The student id is ``<student>``.
3. **Plain folders**: ``<student>/<file>``, or ``<student>/<assignment>/<file>`` (nbgrader's own
   layout); the student id is the folder name and must be usable as one (letters, digits,
   ``.``, ``_``, ``-``, ``@``, ``+``).

Any other file at the top is not placed ("cannot tell which student it belongs to").

Notebooks: ``<name>.ipynb`` for each expected notebook name is placed at the top of the
student's assignment folder. A notebook under another name (``upsampling-by-hand (1).ipynb``,
``upsampling-by-hand-2.ipynb``, or the only ``.ipynb`` the student handed in when the
assignment has one notebook) is renamed, and the report says so. A student without one of the
expected notebooks is reported as missing it. Other files are copied beside the notebook,
keeping their relative paths. Operating-system clutter (``__MACOSX``, ``.DS_Store``,
checkpoints) and ``timestamp.txt`` (nbgrader's record of the submission time, which a student
must not set) are left out.

Safety: see :class:`Limits`. A file already in ``submitted`` is never replaced silently: an
identical one is left as it is; an older one is replaced and the report says so; a newer or
equally old one is kept and the incoming copy is not placed. Placed files keep the source's
modification time, so collecting again gives the same answers.
"""

from __future__ import annotations

import filecmp
import functools
import json
import os
import re
import stat
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from .display import printable
from .untrusted import open_no_follow

__all__ = ["Limits", "Placed", "NotPlaced", "Missing", "CollectReport", "collect"]

MB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one collection accepts; anything beyond is refused with the reason."""

    #: Largest single file (bytes after unpacking).
    max_file_bytes: int = 100 * MB
    #: Largest total of everything unpacked from one source.
    max_total_bytes: int = 2 * 1024 * MB
    #: Most files (archive entries, or files in a folder) in one source.
    max_files: int = 10_000
    #: Highest compression ratio of one zip entry larger than ``ratio_floor_bytes``.
    max_ratio: float = 200.0
    #: Small entries may compress very well for honest reasons (a notebook of zeros).
    ratio_floor_bytes: int = 1 * MB


@dataclass(frozen=True)
class Placed:
    """A file written into (or found unchanged in) ``submitted``."""

    student: str
    source: str  # the name inside the zip or folder
    destination: Path
    path: str  # where it is inside the student's assignment folder, e.g. "data/values.csv"
    notebook: bool
    renamed_from: str | None = None  # the submitted name, when it differs
    replaced_older: bool = False
    unchanged: bool = False  # an identical copy was already there
    late: bool = False  # the LMS marked the submission late
    warning: str | None = None

    def describe(self) -> str:
        notes = []
        if self.renamed_from:
            notes.append(f"renamed from {self.renamed_from!r}")
        if self.unchanged:
            notes.append("an identical copy was already there")
        if self.replaced_older:
            notes.append("replaced an older copy")
        if self.late:
            notes.append("the LMS marked it late")
        if self.warning:
            notes.append(self.warning)
        tail = f" ({'; '.join(notes)})" if notes else ""
        return f"{self.student}: {self.path} <- {self.source}{tail}"


@dataclass(frozen=True)
class NotPlaced:
    """A file (or a whole source) left out, and why."""

    source: str
    reason: str
    student: str | None = None

    def describe(self) -> str:
        who = f" (student {self.student})" if self.student else ""
        return f"{self.source}{who}: {self.reason}"


@dataclass(frozen=True)
class Missing:
    """An expected notebook that a student did not hand in."""

    student: str
    notebook: str
    found: tuple[str, ...] = ()

    def describe(self) -> str:
        other = f"; handed in: {', '.join(self.found)}" if self.found else "; nothing usable"
        return f"{self.student}: no {self.notebook}{other}"


@dataclass
class CollectReport:
    """Everything :func:`collect` did, for the instructor to read (``str(report)``)."""

    source: str
    assignment: str
    placed: list[Placed] = field(default_factory=list)
    not_placed: list[NotPlaced] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)

    @property
    def students(self) -> list[str]:
        """Students with at least one file placed or a notebook missing."""
        return sorted({p.student for p in self.placed} | {m.student for m in self.missing})

    @property
    def ok(self) -> bool:
        """True when every file was placed and no notebook is missing."""
        return not self.not_placed and not self.missing

    def text(self) -> str:
        lines = [
            f"Collected {self.source} for assignment {self.assignment!r}: "
            f"{_count(len(self.students), 'student')}, "
            f"{_count(len(self.placed), 'file')} placed, {len(self.not_placed)} not placed, "
            f"{_count(len(self.missing), 'notebook')} missing."
        ]
        for title, items in (
            ("Placed", self.placed),
            ("Not placed", self.not_placed),
            ("Missing notebooks", self.missing),
        ):
            if items:
                lines.append(f"{title}:")
                lines += [f"  {item.describe()}" for item in items]
        return "\n".join(lines)

    __str__ = text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --- reading the source ----------------------------------------------------------------------

#: Deeper paths are refused (a folder nested thousands of times deep is an attack, not work).
_MAX_DEPTH = 32


class _Refused(Exception):
    """A file that cannot be taken, with the reason in plain words."""


@dataclass
class _Entry:
    name: str  # as shown in the report
    parts: tuple[str, ...]
    size: int
    mtime: float
    open: Callable[[], IO[bytes]]


def _undecodable(name: str) -> bool:
    """True for names holding bytes that are not UTF-8 (Python keeps them as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _safe_parts(name: str) -> tuple[str, ...]:
    """The path components of an untrusted relative name, or :class:`_Refused`."""
    if _undecodable(name):
        raise _Refused("the file name is not valid UTF-8 text; rename the file")
    if any(not ch.isprintable() for ch in name):
        raise _Refused("the file name contains control characters")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or re.match(r"^[A-Za-z]:", unified):
        raise _Refused("the path is absolute; only paths inside the submission are accepted")
    parts = tuple(p for p in unified.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _Refused("the path leads out of the submission with '..'")
    if not parts:
        raise _Refused("the file has an empty name")
    if len(parts) > _MAX_DEPTH:
        raise _Refused(f"the path is nested more than {_MAX_DEPTH} folders deep")
    if any(len(p.encode("utf-8")) > 255 for p in parts):
        raise _Refused("a part of the path is longer than 255 bytes")
    return parts


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as text: UTF-8 if flagged or if the raw bytes are UTF-8, else refused."""
    if info.flag_bits & 0x800:
        return info.orig_filename
    raw = info.orig_filename.encode("cp437")  # zipfile decoded the raw bytes as cp437
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(
            "the file name is not UTF-8 (an old Windows code page?); rename the file "
            "and zip it again"
        ) from None


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


def _scan_zip(
    path: Path, limits: Limits, refuse: Callable[[str, str], None], stack: list
) -> list[_Entry]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError, EOFError) as exc:
        refuse(path.name, f"not a readable zip archive ({exc}); nothing was extracted")
        return []
    stack.append(archive)
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        refuse(
            path.name,
            f"the archive holds {len(infos)} entries, more than the limit of "
            f"{limits.max_files}; nothing was extracted",
        )
        return []
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        refuse(
            path.name,
            f"the archive would unpack to {_mb(declared)}, more than the limit of "
            f"{_mb(limits.max_total_bytes)} (a zip bomb?); nothing was extracted",
        )
        return []
    entries = []
    for info in infos:
        shown = printable(
            info.orig_filename
            if info.flag_bits & 0x800
            else info.orig_filename.encode("cp437").decode("utf-8", "backslashreplace")
        )
        try:
            checked = _zip_entry(info, limits)
        except _Refused as why:
            refuse(shown, str(why))
            continue
        if checked is None:  # a folder
            continue
        name, parts = checked
        try:
            mtime = time.mktime(info.date_time + (0, 0, -1))
        except (OverflowError, ValueError):
            mtime = 0.0
        entries.append(
            _Entry(name, parts, info.file_size, mtime, functools.partial(archive.open, info))
        )
    return entries


def _zip_entry(info: zipfile.ZipInfo, limits: Limits) -> tuple[str, tuple[str, ...]] | None:
    """The name and path parts of an archive's file, None for a folder, or :class:`_Refused`."""
    name = _zip_name(info)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _Refused("it is a symbolic link; links are never followed or created")
    if info.is_dir() or stat.S_ISDIR(mode):
        return None
    # Many tools store permission bits only (no file type): that is a regular file.
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        raise _Refused("it is a special file (device, pipe or socket), not a regular file")
    parts = _safe_parts(name)
    if info.flag_bits & 0x1:
        raise _Refused("it is encrypted")
    _check_size(info.file_size, limits)
    if info.file_size > limits.ratio_floor_bytes and (
        info.compress_size == 0 or info.file_size / info.compress_size > limits.max_ratio
    ):
        ratio = info.file_size / max(info.compress_size, 1)
        raise _Refused(
            f"it is compressed {ratio:.0f} times (it would unpack to "
            f"{_mb(info.file_size)}), more than the limit of "
            f"{limits.max_ratio:.0f} times: a zip bomb?"
        )
    return name, parts


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise _Refused(
            f"it is {_mb(size)}, more than the limit of {_mb(limits.max_file_bytes)} per file"
        )


def _scan_folder(root: Path, limits: Limits, refuse: Callable[[str, str], None]) -> list[_Entry]:
    entries: list[_Entry] = []

    def walk(folder: Path, prefix: tuple[str, ...]) -> None:
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            refuse("/".join(prefix) or str(folder), f"the folder cannot be read ({exc.strerror})")
            return
        for child in children:
            rel = prefix + (child.name,)
            shown = printable("/".join(rel))
            try:
                parts = _safe_parts("/".join(rel))
                if child.is_symlink():
                    raise _Refused("it is a symbolic link; links are never followed")
                if child.is_dir(follow_symlinks=False):
                    walk(Path(child.path), rel)
                    continue
                if not child.is_file(follow_symlinks=False):
                    raise _Refused(
                        "it is a special file (device, pipe or socket), not a regular file"
                    )
                if len(entries) >= limits.max_files:
                    raise _Refused(
                        f"the folder holds more than {limits.max_files} files; "
                        "the rest was not read"
                    )
                info = child.stat(follow_symlinks=False)
                _check_size(info.st_size, limits)
            except _Refused as why:
                refuse(shown, str(why))
                continue
            entries.append(
                _Entry(
                    "/".join(rel),
                    parts,
                    info.st_size,
                    info.st_mtime,
                    functools.partial(open_no_follow, child.path),
                )
            )

    walk(root, ())
    return entries


# --- matching files to students ------------------------------------------------------------

_MOODLE = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<kind>[a-z]+)_$")
_CANVAS = re.compile(
    r"^(?P<late1>LATE_)?(?P<student>[A-Za-z0-9-]+)_(?P<late2>late_|LATE_)?"
    r"(?P<uid>\d+)_(?P<sid>\d+)_(?P<name>.+)$"
)
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
_CLUTTER = {
    "__MACOSX",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    ".ipynb_checkpoints",
    "__pycache__",
    ".git",
}
_COPY_SUFFIX = re.compile(r"(?: ?\(\d+\)|-\d+)$")


def _slug(full_name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", full_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


@dataclass
class _Item:
    entry: _Entry
    student: str
    rel: tuple[str, ...]  # path inside the student's assignment folder
    late: bool


def _owner(
    entry: _Entry, assignment: str, moodle_ids: dict[str, set[str]]
) -> tuple[str, tuple[str, ...], bool] | None:
    """(student, path inside the student's assignment folder, marked late) of an entry, by the
    rules of the module's docstring; None when no rule applies."""
    first = entry.parts[0]
    moodle = _MOODLE.match(first) if len(entry.parts) > 1 else None
    canvas = _CANVAS.match(first) if len(entry.parts) == 1 else None
    if moodle:
        slug = _slug(moodle["name"]) or "student"
        unique = len(moodle_ids[_slug(moodle["name"])]) == 1 and slug != "student"
        return (slug if unique else f"{slug}-{moodle['id']}"), entry.parts[1:], False
    if canvas:
        return canvas["student"], (canvas["name"],), bool(canvas["late1"] or canvas["late2"])
    if len(entry.parts) > 1:
        rel = entry.parts[1:]
        if rel[0] == assignment and len(rel) > 1:
            rel = rel[1:]
        return first, rel, False
    return None


def _match(
    entries: list[_Entry], assignment: str, refuse: Callable[[str, str, str | None], None]
) -> list[_Item]:
    # Moodle names first, so that two students with one name get distinct ids.
    moodle_ids: dict[str, set[str]] = {}
    for entry in entries:
        m = _MOODLE.match(entry.parts[0])
        if m and len(entry.parts) > 1:
            moodle_ids.setdefault(_slug(m["name"]), set()).add(m["id"])

    items = []
    for entry in entries:
        owner = _owner(entry, assignment, moodle_ids)
        if owner is None:
            refuse(
                entry.name,
                "cannot tell which student this file belongs to (expected "
                "<student>/<file>, or an LMS name such as <student>_<id>_<id>_<file>)",
                None,
            )
            continue
        student, rel, late = owner
        if not _STUDENT_ID.match(student):
            refuse(
                entry.name,
                f"{student!r} cannot be used as an nbgrader student id (use "
                "letters, digits, '.', '_', '-', '@' or '+'); rename the folder",
                None,
            )
            continue
        if any(p in _CLUTTER or p.startswith("._") for p in rel):
            refuse(entry.name, "operating-system or editor clutter, not part of the work", student)
            continue
        if rel == ("timestamp.txt",):
            refuse(
                entry.name,
                "timestamp.txt is where nbgrader records the submission time; "
                "a submitted one is never taken",
                student,
            )
            continue
        items.append(_Item(entry, student, rel, late))
    return items


def _notebook_key(filename: str) -> str:
    """A notebook's name without the copy marks that LMSs and browsers add, in lowercase."""
    stem = filename[: -len(".ipynb")] if filename.lower().endswith(".ipynb") else filename
    return _COPY_SUFFIX.sub("", stem).strip().lower()


def _choose_notebooks(items: list[_Item], expected: list[str]) -> dict[int, str]:
    """Which items (by position) become which expected notebook file name.

    Every copy of a notebook (``name.ipynb``, ``name (1).ipynb``, ``Name-2.ipynb``) claims it;
    copies at the top of the submission come before copies in subfolders. Of several claims
    the newest wins later on. The only ``.ipynb`` of a one-notebook assignment is taken
    whatever its name.
    """
    chosen: dict[int, str] = {}
    notebooks = [i for i, it in enumerate(items) if it.rel[-1].lower().endswith(".ipynb")]
    for name in expected:
        for at_top in (True, False):
            hits = [
                i
                for i in notebooks
                if i not in chosen
                and (len(items[i].rel) == 1) == at_top
                and _notebook_key(items[i].rel[-1]) == _notebook_key(name)
            ]
            for i in hits:
                chosen[i] = name
            if hits:
                break
    missing = [n for n in expected if n not in chosen.values()]
    if len(expected) == 1 and missing and len(notebooks) == 1:
        chosen[notebooks[0]] = missing[0]
    return chosen


# --- writing -------------------------------------------------------------------------------


def _inside(root: Path, dest: Path) -> None:
    """Refuse a destination that is not under ``root`` or passes through a symbolic link."""
    rel = dest.relative_to(root)  # dest is built from checked parts: no '..'
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            raise _Refused(f"{current} is a symbolic link in the course folder; not followed")
    if root.is_symlink() or not dest.resolve().is_relative_to(root.resolve()):
        raise _Refused("the destination would be outside the course's submitted folder")


def _copy_bounded(item: _Item, dest: Path, limits: Limits, budget: list[int]) -> Path:
    """Copy into a temporary file beside ``dest``; return its path (or :class:`_Refused`)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".collect-", suffix=".part")
    tmp_path = Path(tmp)
    cap = min(limits.max_file_bytes, item.entry.size)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out, item.entry.open() as src:
            while chunk := src.read(MB):
                written += len(chunk)
                if written > cap:
                    raise _Refused(
                        "it unpacks to more than its recorded size or the size limit "
                        "(a damaged or crafted archive)"
                    )
                if budget[0] + written > limits.max_total_bytes:
                    raise _Refused(
                        f"the total limit of {_mb(limits.max_total_bytes)} for this "
                        "collection was reached"
                    )
                out.write(chunk)
        budget[0] += written
        os.utime(tmp_path, (item.entry.mtime, item.entry.mtime))
        return tmp_path
    except _Refused:
        tmp_path.unlink(missing_ok=True)
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        tmp_path.unlink(missing_ok=True)
        raise _Refused(f"it could not be read ({exc})") from None


def _notebook_warning(path: Path) -> str | None:
    try:
        json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return "warning: it is not UTF-8 text, so grading will report an invalid notebook"
    except ValueError:
        return "warning: it is not valid JSON, so grading will report an invalid notebook"
    return None


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _scan(
    source: Path, limits: Limits, refuse: Callable[[str, str], None], open_archives: list
) -> list[_Entry]:
    """The files of a source folder or zip archive (open archives are added to the list)."""
    if source.is_symlink():
        refuse(str(source), "the source is a symbolic link; give the real path")
        return []
    if source.is_dir():
        return _scan_folder(source, limits, refuse)
    if source.is_file() and zipfile.is_zipfile(source):
        return _scan_zip(source, limits, refuse, open_archives)
    if source.exists():
        refuse(str(source), "neither a folder nor a zip archive")
        return []
    raise FileNotFoundError(f"no such folder or zip archive: {source}")


def collect(
    source: str | Path,
    course_dir: str | Path,
    assignment: str,
    *,
    notebook_names: Iterable[str],
    students: Iterable[str] | None = None,
    limits: Limits = Limits(),
) -> CollectReport:
    """Copy submissions from ``source`` (a folder or a ``.zip``) into ``course_dir/submitted``.

    ``notebook_names`` are the assignment's notebooks (``"upsampling-by-hand"`` or
    ``"upsampling-by-hand.ipynb"``). ``students``, if given, is the class list: each of them
    who handed in nothing is reported missing every notebook. See the module's docstring for
    how files are matched to students; nothing is written outside ``course_dir/submitted``.
    """
    source = Path(source)
    report = CollectReport(str(source), assignment)
    expected = [n if n.endswith(".ipynb") else f"{n}.ipynb" for n in notebook_names]
    for part in (assignment, *expected):
        if not _STUDENT_ID.match(part) or part in (".", ".."):
            raise ValueError(f"{part!r} is not a usable assignment or notebook name")

    def refuse(name: str, reason: str, student: str | None = None) -> None:
        report.not_placed.append(NotPlaced(name, reason, student))

    open_archives: list[zipfile.ZipFile] = []
    try:
        items = _match(_scan(source, limits, refuse, open_archives), assignment, refuse)
        _place(items, Path(course_dir), expected, limits, report)
    finally:
        for archive in open_archives:
            archive.close()

    handed_in = {it.student for it in items}
    for student in sorted(set(students or ()) - handed_in):
        for name in expected:
            report.missing.append(Missing(student, name))
    report.missing.sort(key=lambda m: (m.student, m.notebook))
    return report


def _place(
    items: list[_Item], course_dir: Path, expected: list[str], limits: Limits, report: CollectReport
) -> None:
    root = course_dir / "submitted"
    budget = [0]
    by_student: dict[str, list[_Item]] = {}
    for item in items:
        by_student.setdefault(item.student, []).append(item)

    for student in sorted(by_student):
        own = by_student[student]
        chosen = _choose_notebooks(own, expected)
        # Group by destination: several files may claim one (resubmissions, duplicates).
        targets: dict[tuple[str, ...], list[int]] = {}
        for i, item in enumerate(own):
            rel = (chosen[i],) if i in chosen else item.rel
            targets.setdefault(rel, []).append(i)
        for rel, claimants in targets.items():
            # The newest copy wins; ties go to the one listed last (the LMS's latest id).
            ordered = sorted(claimants, key=lambda i: (own[i].entry.mtime, i))
            winner = own[ordered[-1]]
            for i in ordered[:-1]:
                report.not_placed.append(
                    NotPlaced(
                        own[i].entry.name,
                        f"an older copy of {'/'.join(rel)}; the newer "
                        f"{winner.entry.name} was taken instead",
                        student,
                    )
                )
            _place_one(
                winner, root, rel, rel in {(n,) for n in chosen.values()}, limits, budget, report
            )
        # Missing means: not in submitted after this collection (a refused copy counts too).
        found = tuple(sorted("/".join(it.rel) for it in own))
        for name in expected:
            if not (root / student / report.assignment / name).is_file():
                report.missing.append(Missing(student, name, found))


def _place_one(
    item: _Item,
    root: Path,
    rel: tuple[str, ...],
    is_notebook: bool,
    limits: Limits,
    budget: list[int],
    report: CollectReport,
) -> None:
    dest = root / item.student / report.assignment / Path(*rel)
    shown = "/".join(rel)
    renamed = "/".join(item.rel) if is_notebook and item.rel != (dest.name,) else None
    tmp = None
    try:
        _inside(root, dest)
        tmp = _copy_bounded(item, dest, limits, budget)
        _inside(root, dest)  # again: nothing may have turned into a link meanwhile
        replaced = unchanged = False
        if dest.is_symlink() or (dest.exists() and not dest.is_file()):
            raise _Refused(f"{dest} exists and is not a regular file; left as it is")
        if dest.exists():
            existing = dest.stat().st_mtime
            if filecmp.cmp(tmp, dest, shallow=False):
                unchanged = True
            elif existing >= item.entry.mtime:
                raise _Refused(
                    f"a different copy dated {_when(existing)} is already in {dest.parent}, "
                    f"and this one ({_when(item.entry.mtime)}) is not newer; kept the one there"
                )
            else:
                replaced = True
        if unchanged:
            tmp.unlink()
        else:
            os.replace(tmp, dest)
        tmp = None
        warning = _notebook_warning(dest) if is_notebook else None
        if not is_notebook and item.rel[-1].lower().endswith(".ipynb"):
            warning = "not one of the assignment's notebooks: copied, but not graded"
        report.placed.append(
            Placed(
                item.student,
                item.entry.name,
                dest,
                shown,
                is_notebook,
                renamed,
                replaced,
                unchanged,
                item.late,
                warning,
            )
        )
    except _Refused as why:
        report.not_placed.append(NotPlaced(item.entry.name, str(why), item.student))
    except OSError as exc:  # e.g. a file and a folder of the same name in one submission
        report.not_placed.append(
            NotPlaced(
                item.entry.name, f"it could not be written ({exc.strerror or exc})", item.student
            )
        )
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
