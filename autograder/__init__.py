"""The instructor's autograder for the course's nbgrader exercises.

Commands (``autograder --help``): release, collect, grade, feedback, export.

Trust model in one paragraph (README, "Threat model", has the rest): student code runs in a
fresh process forked from a pristine worker, inside a sandbox that sees none of the course's
files. Test cells hand plain data out of the kernel; this process compares it, outside the
sandbox, with the values the instructor's solution produced. Nothing a notebook does inside its
own process can award a point.
"""

import sys

# jsonschema (which nbformat and nbgrader import) compiles 38 grammars at import time when the
# optional rfc3987-syntax package is installed (jupyter-events pulls it in): 2.5 s of CPU time
# in every command that touches a notebook or the gradebook, paid by `grade` while its first
# jobs run. The package only checks the "iri" string format, which neither nbformat nor nbgrader
# validates; ``None`` in ``sys.modules`` makes jsonschema's optional import fail as if it were
# not installed. A process that imported it already keeps it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
