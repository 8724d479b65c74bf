"""The instructor's autograder for the course's nbgrader exercises.

Commands (``autograder --help``): release, collect, grade, feedback, export.

Trust model in one paragraph (README, "Threat model", has the rest): student code runs in a
fresh process forked from a pristine worker, inside a sandbox that sees none of the course's
files. Test cells hand plain data out of the kernel; this process compares it, outside the
sandbox, with the values the instructor's solution produced. Nothing a notebook does inside its
own process can award a point.
"""
