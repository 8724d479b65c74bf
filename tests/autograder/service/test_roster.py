"""service/roster.py: class rosters as instructors have them (a plain CSV, Canvas's and Moodle's
exports as they come), every unusable row reported by line and reason, never a silent skip."""

from __future__ import annotations

import pytest

from autograder.service.roster import MAX_ROSTER_BYTES, RosterError, parse_roster


def test_a_plain_csv_in_any_case_order_and_separator_with_a_byte_order_mark():
    data = (
        "\ufeffE-mail;Name;Student ID\nada@uni.edu;Ada Lovelace;s001\nal@uni.edu;Alan Turing;s002\n"
    )
    roster = parse_roster(data.encode("utf-8"))
    assert roster.format == "CSV" and roster.problems == []
    assert [(e.student_id, e.name, e.email) for e in roster.entries] == [
        ("s001", "Ada Lovelace", "ada@uni.edu"),
        ("s002", "Alan Turing", "al@uni.edu"),
    ]


def test_canvas_gradebook_export_as_it_comes():
    data = (
        "Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (4021),Current Score\n"
        "    Points Possible,,,,,10.00,\n"
        '"Lovelace, Ada",1017,s001,ada@uni.edu,CS 101 A,8.00,80.00\n'
        '"Turing, Alan",1018,,al@uni.edu,CS 101 B,,\n'
    )
    roster = parse_roster(data.encode())
    assert roster.format == "Canvas gradebook export" and roster.problems == []
    ada, alan = roster.entries
    assert (ada.student_id, ada.name, ada.lms_id, ada.section) == (
        "s001",
        "Ada Lovelace",
        "1017",
        "CS 101 A",
    )
    # No SIS user id: the login is the next id Canvas gives; Canvas's own id is kept for its import.
    assert (alan.student_id, alan.lms_id, alan.sis_login_id) == ("al@uni.edu", "1018", "al@uni.edu")


def test_canvas_provisioning_report():
    data = (
        "canvas_user_id,user_id,integration_id,login_id,first_name,last_name,full_name,"
        "sortable_name,short_name,email,status\n"
        '1017,s001,,ada,Ada,Lovelace,Ada Lovelace,"Lovelace, Ada",Ada,ada@uni.edu,active\n'
    )
    (entry,) = parse_roster(data.encode()).entries
    assert (entry.student_id, entry.name, entry.email, entry.lms_id) == (
        "s001",
        "Ada Lovelace",
        "ada@uni.edu",
        "1017",
    )


def test_moodle_participants_keep_students_and_say_who_was_skipped():
    data = (
        "First name,Last name,ID number,Username,Email address,Roles,Groups\n"
        "Ada,Lovelace,s001,ada,ada@uni.edu,Student,A\n"
        "Grace,Hopper,,grace,grace@uni.edu,Student,B\n"
        "Prof,Essor,t001,prof,prof@uni.edu,Teacher,\n"
    )
    roster = parse_roster(data.encode())
    assert roster.format == "Moodle export"
    assert [(e.student_id, e.name) for e in roster.entries] == [
        ("s001", "Ada Lovelace"),
        ("grace", "Grace Hopper"),  # no ID number: the username
    ]
    assert roster.problems == ["line 4: skipped, not a student (Teacher)"]


def test_unusable_rows_are_reported_by_line_and_the_rest_kept():
    data = (
        "student_id,name,email\n"
        "s001,Ada,ada@uni.edu\n"
        "../etc,Mallory,m@uni.edu\n"
        ",Nobody,n@uni.edu\n"
        "s001,Ada again,ada2@uni.edu\n"
        ",,\n"
    )
    roster = parse_roster(data.encode())
    assert [e.student_id for e in roster.entries] == ["s001"]
    assert roster.problems == [
        "line 3: skipped, the student id '../etc' is empty or has characters other than "
        "letters, digits and . _ @ + -",
        "line 4: skipped, the student id '' is empty or has characters other than "
        "letters, digits and . _ @ + -",
        "line 5: skipped, student id 's001' appears twice",
    ]


def test_a_spreadsheet_saved_in_windows_encoding():
    data = "student id,name,email\ns001,Zoë Müller,z@uni.edu\n".encode("cp1252")
    (entry,) = parse_roster(data).entries
    assert entry.name == "Zoë Müller"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"name,email\nAda,ada@uni.edu\n", "no column names a student id"),
        (b"student id,name\n../x,Ada\n", "no student could be read from the roster: line 2"),
        (b"x" * (MAX_ROSTER_BYTES + 1), "at most 5 MB is read"),
    ],
)
def test_a_file_that_is_no_roster_is_refused_with_the_reason(data, message):
    with pytest.raises(RosterError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_roster(data)
