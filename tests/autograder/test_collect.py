"""collect(): LMS zips and folders into submitted/, honest layouts and hostile archives.

The archives are built here with zipfile; hostile entries use crafted ZipInfo records (or
bytes patched after writing, for what zipfile refuses to write).
"""

from __future__ import annotations

import json
import os
import stat
import time
import zipfile
from pathlib import Path

import pytest

from autograder.collect import MB, CollectReport, Limits, collect

NB = "upsampling-by-hand"
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def notebook_bytes(marker: str = "") -> bytes:
    nb = json.loads(NOTEBOOK)
    nb["metadata"]["marker"] = marker
    return json.dumps(nb).encode()


def make_zip(path: Path, entries: list, *, compression=zipfile.ZIP_DEFLATED) -> Path:
    """entries: (name or ZipInfo, bytes); names get a fixed date unless a ZipInfo says otherwise."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries:
            info = (
                name
                if isinstance(name, zipfile.ZipInfo)
                else zipfile.ZipInfo(name, date_time=(2026, 11, 20, 12, 0, 0))
            )
            info.compress_type = compression
            zf.writestr(info, data)
    return path


def unix_info(name: str, mode: int, date_time=(2026, 11, 20, 12, 0, 0)) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
    info.external_attr = mode << 16
    return info


def run(source, course, names=(NB,), **kwargs) -> CollectReport:
    report = collect(source, course, NB, notebook_names=list(names), **kwargs)
    assert str(report) == report.text()
    return report


def submitted(course: Path, student: str, *rel: str) -> Path:
    return course / "submitted" / student / NB / Path(*rel)


def files_under(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    }


def reasons(report: CollectReport) -> dict[str, str]:
    return {n.source: n.reason for n in report.not_placed}


@pytest.fixture
def course(tmp_path) -> Path:
    path = tmp_path / "course"
    path.mkdir()
    return path


# --- honest layouts --------------------------------------------------------------------------


def test_plain_folders_one_per_student(tmp_path, course):
    src = tmp_path / "inbox"
    (src / "alice").mkdir(parents=True)
    (src / "alice" / f"{NB}.ipynb").write_bytes(notebook_bytes("alice"))
    (src / "alice" / "data").mkdir()
    (src / "alice" / "data" / "values.csv").write_text("1,2\n")
    (src / "bob" / NB).mkdir(parents=True)  # nbgrader's own <student>/<assignment>/ layout
    (src / "bob" / NB / f"{NB}.ipynb").write_bytes(notebook_bytes("bob"))
    report = run(src, course)
    assert report.ok and report.students == ["alice", "bob"]
    assert json.loads(submitted(course, "alice", f"{NB}.ipynb").read_text())["metadata"] == {
        "marker": "alice"
    }
    assert submitted(course, "alice", "data", "values.csv").read_text() == "1,2\n"
    assert json.loads(submitted(course, "bob", f"{NB}.ipynb").read_text())["metadata"] == {
        "marker": "bob"
    }
    assert {p.student: p.notebook for p in report.placed if p.notebook} == {
        "alice": True,
        "bob": True,
    }
    assert "2 students, 3 files placed, 0 not placed, 0 notebooks missing" in report.text()


def test_canvas_zip_names_late_marks_and_renamed_copies(tmp_path, course):
    archive = make_zip(
        tmp_path / "canvas.zip",
        [
            (f"smithjohn_12345_67890_{NB}.ipynb", notebook_bytes("john")),
            ("smithjohn_12345_67891_notes.txt", b"my notes"),
            (f"doejane_late_11111_22222_{NB}-1.ipynb", notebook_bytes("jane")),
            (f"LATE_leeann_3_4_{NB}.ipynb", notebook_bytes("ann")),
        ],
    )
    report = run(archive, course)
    assert report.ok and report.students == ["doejane", "leeann", "smithjohn"]
    for student, marker in (("smithjohn", "john"), ("doejane", "jane"), ("leeann", "ann")):
        nb = json.loads(submitted(course, student, f"{NB}.ipynb").read_text())
        assert nb["metadata"]["marker"] == marker
    assert submitted(course, "smithjohn", "notes.txt").read_bytes() == b"my notes"
    placed = {(p.student, p.destination.name): p for p in report.placed}
    jane = placed["doejane", f"{NB}.ipynb"]
    assert jane.renamed_from == f"{NB}-1.ipynb" and jane.late
    assert placed["leeann", f"{NB}.ipynb"].late and not placed["leeann", f"{NB}.ipynb"].renamed_from
    assert not placed["smithjohn", f"{NB}.ipynb"].late
    assert f"renamed from '{NB}-1.ipynb'; the LMS marked it late" in report.text()
    # The zip's dates become the files' modification times.
    expected = time.mktime((2026, 11, 20, 12, 0, 0, 0, 0, -1))
    assert submitted(course, "leeann", f"{NB}.ipynb").stat().st_mtime == expected


def test_canvas_names_in_a_folder(tmp_path, course):
    src = tmp_path / "downloaded"
    src.mkdir()
    (src / f"kimlee_7_8_{NB} (2).ipynb").write_bytes(notebook_bytes("kim"))
    report = run(src, course)
    assert report.ok
    assert report.placed[0].renamed_from == f"{NB} (2).ipynb"
    assert json.loads(submitted(course, "kimlee", f"{NB}.ipynb").read_text())["metadata"] == {
        "marker": "kim"
    }


def test_moodle_zip_folders_names_and_namesakes(tmp_path, course):
    archive = make_zip(
        tmp_path / "moodle.zip",
        [
            (f"Ada Lovelace_101_assignsubmission_file_/{NB} (1).ipynb", notebook_bytes("ada")),
            ("Ada Lovelace_101_assignsubmission_file_/figure.png", b"\x89PNG"),
            (f"José Núñez_102_assignsubmission_file_/{NB}.ipynb", notebook_bytes("jose")),
            (f"Sam Lee_103_assignsubmission_file_/{NB}.ipynb", notebook_bytes("sam 103")),
            (f"Sam Lee_104_assignsubmission_file_/{NB}.ipynb", notebook_bytes("sam 104")),
            ("Sam Lee_104_assignsubmission_onlinetext_/onlinetext.html", b"<p>done</p>"),
        ],
    )
    report = run(archive, course)
    assert report.ok
    assert report.students == ["ada-lovelace", "jose-nunez", "sam-lee-103", "sam-lee-104"]
    assert submitted(course, "ada-lovelace", "figure.png").read_bytes() == b"\x89PNG"
    assert submitted(course, "sam-lee-104", "onlinetext.html").exists()
    for student, marker in (("sam-lee-103", "sam 103"), ("sam-lee-104", "sam 104")):
        assert json.loads(submitted(course, student, f"{NB}.ipynb").read_text())["metadata"] == {
            "marker": marker
        }
    ada = next(p for p in report.placed if p.student == "ada-lovelace" and p.notebook)
    assert ada.renamed_from == f"{NB} (1).ipynb"


def test_single_other_notebook_is_renamed_but_two_are_not_guessed(tmp_path, course):
    archive = make_zip(
        tmp_path / "lms.zip",
        [
            ("one/my work.ipynb", notebook_bytes("one")),
            ("two/draft.ipynb", notebook_bytes("draft")),
            ("two/final.ipynb", notebook_bytes("final")),
        ],
    )
    report = run(archive, course)
    assert submitted(course, "one", f"{NB}.ipynb").exists()
    assert next(p for p in report.placed if p.student == "one").renamed_from == "my work.ipynb"
    # Two candidates: no guess. Both are kept beside, marked as not graded; the notebook is missing.
    assert not submitted(course, "two", f"{NB}.ipynb").exists()
    assert submitted(course, "two", "draft.ipynb").exists()
    assert [(m.student, m.notebook, m.found) for m in report.missing] == [
        ("two", f"{NB}.ipynb", ("draft.ipynb", "final.ipynb"))
    ]
    assert all("not graded" in p.warning for p in report.placed if p.student == "two")
    assert not report.ok
    assert f"two: no {NB}.ipynb; handed in: draft.ipynb, final.ipynb" in report.text()


def test_assignment_with_two_notebooks(tmp_path, course):
    archive = make_zip(
        tmp_path / "lms.zip",
        [
            ("ann/part-a.ipynb", notebook_bytes("a")),
            ("ann/Part-B (1).ipynb", notebook_bytes("b")),
            ("ben/part-a.ipynb", notebook_bytes("a")),
        ],
    )
    report = run(archive, course, names=("part-a", "part-b.ipynb"))
    assert submitted(course, "ann", "part-a.ipynb").exists()
    assert submitted(course, "ann", "part-b.ipynb").exists()
    assert [(m.student, m.notebook) for m in report.missing] == [("ben", "part-b.ipynb")]


def test_class_list_reports_students_who_handed_in_nothing(tmp_path, course):
    src = tmp_path / "inbox"
    (src / "alice").mkdir(parents=True)
    (src / "alice" / "notes.txt").write_text("I ran out of time")
    report = run(src, course, students=["alice", "zoe"])
    assert submitted(course, "alice", "notes.txt").exists()
    assert [(m.student, m.found) for m in report.missing] == [
        ("alice", ("notes.txt",)),
        ("zoe", ()),
    ]
    assert f"zoe: no {NB}.ipynb; nothing usable" in report.text()


def test_newest_of_several_copies_wins_and_the_others_are_reported(tmp_path, course):
    archive = make_zip(
        tmp_path / "lms.zip",
        [
            (zipfile.ZipInfo(f"alice/{NB}.ipynb", (2026, 11, 21, 9, 0, 0)), notebook_bytes("new")),
            (
                zipfile.ZipInfo(f"alice/{NB} (1).ipynb", (2026, 11, 20, 9, 0, 0)),
                notebook_bytes("old"),
            ),
        ],
    )
    report = run(archive, course)
    assert json.loads(submitted(course, "alice", f"{NB}.ipynb").read_text())["metadata"] == {
        "marker": "new"
    }
    assert not submitted(course, "alice", f"{NB} (1).ipynb").exists()
    (left_out,) = report.not_placed
    assert left_out.source == f"alice/{NB} (1).ipynb" and "older copy" in left_out.reason


def test_existing_submissions_are_never_overwritten_silently(tmp_path, course):
    def lms(day: int, marker: str) -> Path:
        return make_zip(
            tmp_path / f"day{day}.zip",
            [
                (
                    zipfile.ZipInfo(f"alice/{NB}.ipynb", (2026, 11, day, 9, 0, 0)),
                    notebook_bytes(marker),
                )
            ],
        )

    target = submitted(course, "alice", f"{NB}.ipynb")
    first = run(lms(20, "first"), course)
    assert first.ok and json.loads(target.read_text())["metadata"]["marker"] == "first"
    # The same archive again: nothing changes, and the report says the copy was already there.
    again = run(lms(20, "first"), course)
    assert again.placed[0].unchanged and "identical copy was already there" in again.text()
    # An older, different copy does not replace the newer one.
    older = run(lms(19, "older"), course)
    assert json.loads(target.read_text())["metadata"]["marker"] == "first"
    assert not older.placed and "not newer; kept the one there" in older.not_placed[0].reason
    # A newer copy replaces it, and the report says so.
    newer = run(lms(22, "newer"), course)
    assert json.loads(target.read_text())["metadata"]["marker"] == "newer"
    assert newer.placed[0].replaced_older and "replaced an older copy" in newer.text()
    assert files_under(course / "submitted") == {f"alice/{NB}/{NB}.ipynb"}  # no temporary files


# --- hostile archives ------------------------------------------------------------------------


def test_paths_that_climb_out_are_refused(tmp_path, course):
    archive = make_zip(
        tmp_path / "evil.zip",
        [
            ("../evil.txt", b"x"),
            ("alice/../../evil.txt", b"x"),
            ("..\\..\\evil.txt", b"x"),
            (f"alice/{NB}.ipynb", notebook_bytes()),
        ],
    )
    before = files_under(tmp_path)
    report = run(archive, course)
    found = reasons(report)
    for name in ("../evil.txt", "alice/../../evil.txt", "..\\..\\evil.txt"):
        assert "leads out of the submission" in found[name], name
    assert [p.destination for p in report.placed] == [submitted(course, "alice", f"{NB}.ipynb")]
    assert files_under(tmp_path) == before | {f"course/submitted/alice/{NB}/{NB}.ipynb"}
    assert "evil.txt" in report.text() and "leads out" in report.text()


def test_very_deep_paths_are_refused(tmp_path, course):
    deep = "/".join(["d"] * 40)
    archive = make_zip(
        tmp_path / "deep.zip", [(f"alice/{deep}/x.txt", b"x"), ("alice/a/b/c/ok.txt", b"ok")]
    )
    src = tmp_path / "inbox"
    (src / "bob" / Path(*["d"] * 40)).mkdir(parents=True)
    (src / "bob" / Path(*["d"] * 40) / "x.txt").write_text("x")
    for source, student in ((archive, "alice"), (src, "bob")):
        report = run(source, course)
        (refused,) = report.not_placed
        assert "nested more than 32 folders deep" in refused.reason, student
    assert files_under(course / "submitted") == {f"alice/{NB}/a/b/c/ok.txt"}


def test_absolute_paths_are_refused(tmp_path, course):
    outside = tmp_path / "outside.txt"
    archive = make_zip(
        tmp_path / "evil.zip",
        [
            (str(outside), b"x"),
            ("C:\\Windows\\evil.txt", b"x"),
            ("C:/evil.txt", b"x"),
            ("/alice/" + f"{NB}.ipynb", notebook_bytes()),
        ],
    )
    report = run(archive, course)
    assert not report.placed and not outside.exists()
    assert len(report.not_placed) == 4
    assert all("absolute" in n.reason for n in report.not_placed)


def test_symlinks_and_special_files_in_a_zip_are_refused(tmp_path, course):
    archive = make_zip(
        tmp_path / "links.zip",
        [
            (unix_info(f"alice/{NB}.ipynb", stat.S_IFLNK | 0o777), b"/etc/passwd"),
            (unix_info("alice/data", stat.S_IFLNK | 0o777), b"../../.."),
            (unix_info("alice/tty", stat.S_IFCHR | 0o666), b""),
            (unix_info("alice/fifo", stat.S_IFIFO | 0o666), b""),
            (unix_info("bob/notes.txt", stat.S_IFREG | 0o644), b"honest"),
        ],
    )
    report = run(archive, course)
    found = reasons(report)
    assert "symbolic link" in found[f"alice/{NB}.ipynb"] and "symbolic link" in found["alice/data"]
    assert "special file" in found["alice/tty"] and "special file" in found["alice/fifo"]
    assert files_under(course) == {f"submitted/bob/{NB}/notes.txt"}
    assert not any(p.is_symlink() for p in course.rglob("*"))


def test_symlinks_and_pipes_in_a_folder_are_not_followed(tmp_path, course):
    secret = tmp_path / "secret.txt"
    secret.write_text("answer key")
    src = tmp_path / "inbox"
    (src / "alice").mkdir(parents=True)
    (src / "alice" / f"{NB}.ipynb").symlink_to(secret)
    (src / "alice" / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(src / "alice" / "pipe")
    (src / "bob").symlink_to(tmp_path)
    report = run(src, course)
    found = reasons(report)
    assert "symbolic link" in found[f"alice/{NB}.ipynb"]
    assert "symbolic link" in found["alice/linked-folder"] and "symbolic link" in found["bob"]
    assert "special file" in found["alice/pipe"]
    assert not report.placed and not (course / "submitted").exists()


def test_a_symlink_inside_the_course_folder_is_not_followed(tmp_path, course):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (course / "submitted").mkdir()
    (course / "submitted" / "alice").symlink_to(elsewhere, target_is_directory=True)
    archive = make_zip(tmp_path / "lms.zip", [(f"alice/{NB}.ipynb", notebook_bytes())])
    report = run(archive, course)
    assert not report.placed and "symbolic link in the course folder" in report.not_placed[0].reason
    assert not any(elsewhere.iterdir())


def test_a_high_ratio_zip_bomb_is_refused(tmp_path, course):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        info = zipfile.ZipInfo("alice/bomb.bin", (2026, 11, 20, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w") as out:
            for _ in range(64):
                out.write(bytes(MB))  # 64 MB of zeros, about 64 KB compressed
        zf.writestr(f"alice/{NB}.ipynb", notebook_bytes())
    assert bomb.stat().st_size < MB
    report = run(bomb, course)
    reason = reasons(report)["alice/bomb.bin"]
    assert "zip bomb" in reason and "64.0 MB" in reason
    assert files_under(course / "submitted") == {f"alice/{NB}/{NB}.ipynb"}


def test_archives_over_the_total_size_or_file_count_are_refused_whole(tmp_path, course):
    archive = make_zip(
        tmp_path / "big.zip",
        [(f"s{i}/{NB}.ipynb", bytes(600_000)) for i in range(4)],
        compression=zipfile.ZIP_STORED,
    )
    report = run(archive, course, limits=Limits(max_total_bytes=2 * MB))
    assert not report.placed
    (whole,) = report.not_placed
    assert whole.source == "big.zip" and "would unpack to 2.3 MB" in whole.reason
    assert "nothing was extracted" in whole.reason
    report = run(archive, course, limits=Limits(max_files=3))
    assert (
        not report.placed
        and "holds 4 entries, more than the limit of 3" in report.not_placed[0].reason
    )
    assert not (course / "submitted").exists()


def test_an_entry_that_lies_about_its_size_leaves_no_partial_file(tmp_path, course):
    data = b"y" * 100_000
    path = make_zip(
        tmp_path / "liar.zip", [(f"alice/{NB}.ipynb", data)], compression=zipfile.ZIP_STORED
    )
    raw = bytearray(path.read_bytes())
    # Uncompressed size fields: offset 22 in the local header, 24 in the central directory.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.index(signature) + offset
        raw[at : at + 4] = (1000).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    report = run(path, course)
    assert not report.placed and "could not be read" in report.not_placed[0].reason
    assert [m.student for m in report.missing] == ["alice"]
    assert files_under(course) == set()  # the partial copy was removed


def test_a_200_mb_file_is_refused_with_its_size(tmp_path, course):
    src = tmp_path / "inbox"
    (src / "alice").mkdir(parents=True)
    (src / "alice" / f"{NB}.ipynb").write_bytes(notebook_bytes())
    with open(src / "alice" / "weights.h5", "wb") as f:
        f.truncate(200 * MB)  # sparse: no disk used
    report = run(src, course)
    assert (
        reasons(report)["alice/weights.h5"]
        == "it is 200.0 MB, more than the limit of 100.0 MB per file"
    )
    assert files_under(course / "submitted") == {f"alice/{NB}/{NB}.ipynb"}
    # The same file inside a zip: its size is refused before anything is unpacked.
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        info = zipfile.ZipInfo("bob/weights.h5", (2026, 11, 20, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as out:
            for _ in range(200):
                out.write(bytes(MB))
    assert "200.0 MB, more than the limit" in reasons(run(archive, course))["bob/weights.h5"]
    assert not (course / "submitted" / "bob").exists()


def _patch(path: Path, old: bytes, new: bytes) -> None:
    raw = path.read_bytes()
    assert raw.count(old) == 2  # local header and central directory
    path.write_bytes(raw.replace(old, new))


def test_file_names_that_are_not_utf8_are_refused(tmp_path, course):
    archive = make_zip(
        tmp_path / "names.zip",
        [
            ("alice/QQ.ipynb", notebook_bytes()),  # QQ becomes two bytes that are not UTF-8
            (f"bob/{NB}.ipynb", notebook_bytes()),
            ("carol/caf\u00e9.txt", b"utf-8 flagged name, fine"),
            ("dave/evil\nname.txt", b"x"),
        ],
    )
    _patch(archive, b"QQ", b"\xff\xfe")
    report = run(archive, course)
    found = reasons(report)
    (bad,) = [n for n in found if n.startswith("alice/")]
    assert "not UTF-8" in found[bad] and "\\xff\\xfe" in bad  # shown escaped in the report
    assert "control characters" in found["dave/evil\\nname.txt"]  # escaped in the report
    assert submitted(course, "bob", f"{NB}.ipynb").exists()
    assert submitted(course, "carol", "caf\u00e9.txt").exists()


def test_a_zip_whose_utf8_flagged_names_are_broken_is_reported_whole(tmp_path, course):
    archive = make_zip(tmp_path / "broken.zip", [("alice/caf\u00e9.ipynb", notebook_bytes())])
    _patch(archive, "\u00e9".encode(), b"\xff\xfe")
    report = run(archive, course)
    assert not report.placed and "not a readable zip archive" in report.not_placed[0].reason


def test_folder_names_that_are_not_utf8_are_refused(tmp_path, course):
    src = tmp_path / "inbox"
    (src / "alice").mkdir(parents=True)
    with open(os.path.join(os.fsencode(src / "alice"), b"\xff.ipynb"), "wb") as f:
        f.write(notebook_bytes())
    report = run(src, course, students=["alice"])
    (refused,) = report.not_placed
    assert refused.source == "alice/\\xff.ipynb" and "not valid UTF-8" in refused.reason
    assert [m.student for m in report.missing] == ["alice"]
    assert not (course / "submitted").exists()


def test_a_notebook_with_non_utf8_content_is_placed_with_a_warning(tmp_path, course):
    archive = make_zip(
        tmp_path / "lms.zip",
        [(f"alice/{NB}.ipynb", b'{"cells": "\xff\xfe"}'), (f"bob/{NB}.ipynb", b"not json")],
    )
    report = run(archive, course)
    warnings = {p.student: p.warning for p in report.placed}
    assert "not UTF-8" in warnings["alice"] and "invalid notebook" in warnings["alice"]
    assert "not valid JSON" in warnings["bob"]
    assert submitted(course, "alice", f"{NB}.ipynb").read_bytes() == b'{"cells": "\xff\xfe"}'


def test_unmatched_files_clutter_and_forged_timestamps_are_reported(tmp_path, course):
    archive = make_zip(
        tmp_path / "lms.zip",
        [
            (f"{NB}.ipynb", notebook_bytes()),  # whose?
            ("__MACOSX/alice/._notebook.ipynb", b"resource fork"),
            ("alice/.DS_Store", b"finder"),
            ("alice/.ipynb_checkpoints/x-checkpoint.ipynb", notebook_bytes()),
            ("alice/timestamp.txt", b"2000-01-01 00:00:00"),
            ("bad name!/x.ipynb", notebook_bytes()),
            (f"alice/{NB}.ipynb", notebook_bytes()),
        ],
    )
    report = run(archive, course)
    found = reasons(report)
    assert "cannot tell which student" in found[f"{NB}.ipynb"]
    assert "cannot be used as an nbgrader student id" in found["bad name!/x.ipynb"]
    for clutter in ("alice/.DS_Store", "alice/.ipynb_checkpoints/x-checkpoint.ipynb"):
        assert "clutter" in found[clutter]
    assert "timestamp.txt" in found["alice/timestamp.txt"]
    assert files_under(course / "submitted") == {f"alice/{NB}/{NB}.ipynb"}
    assert len(report.not_placed) == 6 and all(n.source in report.text() for n in report.not_placed)


def test_sources_that_are_not_archives_or_do_not_exist(tmp_path, course):
    fake = tmp_path / "submissions.zip"
    fake.write_bytes(b"this is not a zip")
    report = run(fake, course)
    assert "neither a folder nor a zip archive" in report.not_placed[0].reason
    with pytest.raises(FileNotFoundError):
        run(tmp_path / "nowhere.zip", course)
    with pytest.raises(ValueError, match="not a usable"):
        collect(fake, course, "../up", notebook_names=[NB])
