"""Hostile and broken submissions (issue 5): each gets an exact status and score, nothing
leaks, nothing is lost, and the honest students graded in the same run are unaffected.

All cases are graded in ONE run (so the workers start once); each test then checks one case.
Points of upsampling-by-hand: Q1 upsample-nearest 2, Q2 upsample-by 2, Q3 bilinear 2,
Q4 zero-insertion 3, Q5 tiling 3, Q6 tile-by-hand 2 (14 automatic) + 3 by hand.
"""

from __future__ import annotations

import copy
import hashlib
import socket
import sqlite3
import threading

import pytest

from autograder import simulate
from autograder.grader import Grader
from autograder.results import Status

from .conftest import ASSIGNMENT, TEST_LIMITS, fresh_course

pytestmark = pytest.mark.grading

NB = ASSIGNMENT
FULL = 14.0
Q1 = 2.0  # the question before the one a case sabotages (Q2 answers are the hostile cells)
WRONG_Q1 = "def upsample_nearest(x):\n    return np.zeros((1, 4, 4, 1), 'float32')\n"

# What the hostile answer cells run.
LOOP = "while True:\n    pass\n"
LOOP_IGNORING_SIGNALS = (
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + LOOP
)
MEMORY_BOMB = "hog = []\nwhile True:\n    hog.append(bytearray(512 * 1024**2))\n"
FORK_BOMB = (
    "import os, time\nwhile True:\n    try:\n        os.fork()\n"
    "    except OSError:\n        time.sleep(1000)\n"
)
SPAWN_UNTIL_REFUSED = (
    "import subprocess\nprocs = []\nwhile True:\n"
    "    procs.append(subprocess.Popen(['sleep', '1000']))\n"
)
KILL_SELF = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
KILL_EVERYTHING = "import os, signal\nos.kill(-1, signal.SIGKILL)\n"
KILL_WORKER = (
    "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    "except OSError as e:\n    print('refused', e)\n"
)
PRINT_GIGABYTES = "for _ in range(2000):\n    print('x' * 1_000_000)\n"
FD_FLOOD = "import os\nfor _ in range(200):\n    os.write(1, b'x' * 1_000_000)\n"
#: Files under the per-file limit into the notebook's own folder until it is full (the job
#: folder's cap), then gone before the cell's end is recorded.
FILL_FOLDER = (
    "import os\ntry:\n    for n in range(40):\n"
    "        with open(f'fill-{n}', 'wb') as f:\n            f.write(b'x' * 32 * 1024**2)\n"
    "finally:\n    os._exit(0)\n"
)
PATCH_NUMPY = (
    "np.testing.assert_array_equal = lambda *a, **k: None\n"
    "np.testing.assert_allclose = lambda *a, **k: None\n"
    "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
    "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
)
PATCH_CHECKS = (
    "import upsampling_course.checks as c\n"
    "def fake(name, actual, expected=None, **kw):\n"
    "    c._report('visible', name, c.to_plain(expected if expected is not None "
    "else actual), 1e-5, 1e-6)\n"
    "c.check = fake\nc.check_hidden = fake\ncheck = fake\ncheck_hidden = fake\n"
    "c.mismatch = lambda *a, **k: None\n"
)
IPYTHON_HOOKS = (
    "ip = get_ipython()\n"
    "ip.input_transformers_cleanup.append(lambda lines: ['print(\"passed\")\\n'])\n"
)
IPYTHON_EVENTS = (
    "import upsampling_course.checks as c\n"
    "def forge(*args):\n"
    "    c.reporter({'kind': 'visible', 'name': 'nearest-on-X', 'value': "
    "c.to_plain(np.array([[1,1,2,2],[1,1,2,2],[3,3,4,4],[3,3,4,4]], 'float32')),"
    " 'atol': 1.0, 'rtol': 1.0})\n"
    "get_ipython().events.register('pre_run_cell', forge)\n"
)
TRACE_HOOKS = "import sys\nsys.settrace(lambda *a: None)\nsys.setprofile(lambda *a: None)\n"
FORGED_RECORDS = (
    "import json\nwith open('records.jsonl', 'a') as f:\n"
    "    for name in ['nearest-on-X', 'nearest-shape', 'nearest-hidden']:\n"
    "        f.write(json.dumps({'e': 'value', 'i': 3, 'kind': 'visible', "
    "'name': name, 'value': 0, 'atol': 1e9, 'rtol': 1e9}) + '\\n')\n"
    "print('passed: nearest-on-X')\n"
)
EQUAL_TO_ANYTHING = (
    "class Anything(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
    "def upsample_nearest(x):\n    return np.zeros((1, 4, 4, 1)).view(Anything)\n"
)
HONEST_NUMPY_STYLE = {
    "upsample-nearest": "def upsample_nearest(x):\n"
    "    return np.asarray(x).repeat(2, axis=1).repeat(2, axis=2)\n",
    "upsample-by": "def upsample_by(x, rows, cols):\n"
    "    return keras.layers.UpSampling2D(size=(rows, cols))(x)\n",
}


def _cells_with(nb: dict, predicate):
    return [c for c in nb["cells"] if predicate(c.get("metadata", {}).get("nbgrader", {}))]


def is_test(meta):
    return meta.get("grade") and not meta.get("solution")


class Cases:
    """Builders of each case's notebook; a case is (files, expected status, expected score)."""

    def __init__(self, course, paths: dict[str, str]):
        self.course = course
        self.paths = paths

    def full(self, **wrong) -> dict:
        return simulate.answered(self.course, ASSIGNMENT, NB, None, wrong or None)

    def q2(self, code: str) -> dict:
        """Every answer right, but the Q2 answer cell runs ``code`` (and defines nothing)."""
        return self.full(**{"upsample-by": code})

    def wrong_q1_then(self, code: str) -> dict:
        """Every answer right but Q1's, whose cell then runs ``code``."""
        return self.full(**{"upsample-nearest": WRONG_Q1 + code})

    def build(self) -> dict[str, tuple[dict[str, bytes], Status, float]]:
        full, blank = self.full(), simulate.answered(self.course, ASSIGNMENT, NB, set())
        after_q1 = Q1  # what a run that dies in the Q2 answer keeps
        all_but_q2 = FULL - 2.0
        notebooks = {
            # --- tampered cells and metadata ---
            "deleted-tests": (self._without_tests(full), Status.REPAIRED, FULL),
            "duplicated-tests": (self._duplicated_tests(full), Status.REPAIRED, FULL),
            "retyped-tests": (self._retyped_tests(full), Status.REPAIRED, FULL),
            "edited-tests": (self._edited_tests(blank), Status.REPAIRED, 0.0),
            "metadata-points": (
                self._points_edited(self.wrong_q1_then("")),
                Status.REPAIRED,
                FULL - Q1,
            ),
            "metadata-gradeid": (
                self._grade_id_edited(self.wrong_q1_then("")),
                Status.REPAIRED,
                FULL - Q1,
            ),
            # --- processes, time, memory, output ---
            "loop": (self.q2(LOOP), Status.TIMEOUT, after_q1),
            "loop-nosigint": (self.q2(LOOP_IGNORING_SIGNALS), Status.TIMEOUT, after_q1),
            "membomb": (self.q2(MEMORY_BOMB), Status.MEMORY, all_but_q2),
            "forkbomb": (self.q2(FORK_BOMB), Status.TIMEOUT, after_q1),
            "spawn-until-refused": (self.q2(SPAWN_UNTIL_REFUSED), Status.GRADED, all_but_q2),
            "input": (self.q2("name = input('Your name? ')\n"), Status.GRADED, all_but_q2),
            "sys-exit": (self.q2("import sys\nsys.exit(0)\n"), Status.GRADED, all_but_q2),
            "os-exit": (self.q2("import os\nos._exit(0)\n"), Status.CRASHED, after_q1),
            "kill-self": (self.q2(KILL_SELF), Status.CRASHED, after_q1),
            "kill-everything": (self.q2(KILL_EVERYTHING), Status.GRADED, all_but_q2),
            "kill-worker": (self.q2(KILL_WORKER), Status.GRADED, all_but_q2),
            "print-gigabytes": (
                self.full(**{"upsample-by": PRINT_GIGABYTES + self._solution("upsample-by")}),
                Status.GRADED,
                FULL,
            ),
            "fd-flood": (self.q2(FD_FLOOD), Status.OUTPUT_LIMIT, all_but_q2),
            "fill-folder": (self.q2(FILL_FOLDER), Status.OUTPUT_LIMIT, after_q1),
            # --- fooling the checks ---
            "patch-numpy": (self.wrong_q1_then(PATCH_NUMPY), Status.GRADED, FULL - Q1),
            "patch-checks": (self.wrong_q1_then(PATCH_CHECKS), Status.GRADED, FULL - Q1),
            "ipython-hooks": (self.wrong_q1_then(IPYTHON_HOOKS), Status.GRADED, 0.0),
            "ipython-events": (self.wrong_q1_then(IPYTHON_EVENTS), Status.GRADED, FULL - Q1),
            "trace-hooks": (self.wrong_q1_then(TRACE_HOOKS), Status.GRADED, FULL - Q1),
            "forged-records": (self.wrong_q1_then(FORGED_RECORDS), Status.TAMPERED, 0.0),
            "equal-to-anything": (
                self.full(**{"upsample-nearest": EQUAL_TO_ANYTHING}),
                Status.GRADED,
                FULL - Q1,
            ),
            # --- reaching outside ---
            "read-course": (
                self.full(
                    **{"upsample-nearest": self._reach_out() + self._solution("upsample-nearest")}
                ),
                Status.GRADED,
                FULL,
            ),
            "network": (
                self.full(
                    **{"upsample-nearest": self._network() + self._solution("upsample-nearest")}
                ),
                Status.GRADED,
                FULL,
            ),
            # --- honest, in unusual but valid ways ---
            "honest-numpy-style": (self.full(**HONEST_NUMPY_STYLE), Status.GRADED, FULL),
            "zz-honest-after-all": (full, Status.GRADED, FULL),
        }
        cases = {
            name: ({f"{NB}.ipynb": simulate.to_bytes(nb)}, status, score)
            for name, (nb, status, score) in notebooks.items()
        }
        return cases | {
            # --- broken files ---
            "notjson": ({f"{NB}.ipynb": b"\x7b\x22cells\x22: ["}, Status.INVALID, 0.0),
            "nbformat3": (
                {f"{NB}.ipynb": simulate.to_bytes({**full, "nbformat": 3})},
                Status.INVALID,
                0.0,
            ),
            "nonutf8": (
                {f"{NB}.ipynb": b"\xff\xfe" + simulate.to_bytes(full)},
                Status.INVALID,
                0.0,
            ),
            "renamed": ({"Untitled.ipynb": simulate.to_bytes(full)}, Status.MISSING, 0.0),
            "big-file-beside": (
                {f"{NB}.ipynb": simulate.to_bytes(full), "data.bin": b"BIG"},
                Status.GRADED,
                FULL,
            ),
        }

    def _solution(self, grade_id: str) -> str:
        """The instructor's answer to one question, as a student would write it."""
        nb = simulate.answered(self.course, ASSIGNMENT, NB, {grade_id})
        cell = next(
            c
            for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
        )
        return cell["source"] + "\n"

    def _reach_out(self) -> str:
        return (
            "import os\nattempts = {}\n"
            f"for path in {list(self.paths.values())!r}:\n"
            "    try:\n        open(path, 'rb').read(1)\n        attempts[path] = 'READ'\n"
            "    except OSError as e:\n        attempts[path] = type(e).__name__\n"
            "    try:\n        open(path, 'ab').write(b'tampered')\n"
            "        attempts[path] += ' WROTE'\n"
            "    except OSError as e:\n        pass\n"
            "print('ATTEMPTS', attempts)\n"
        )

    def _network(self) -> str:
        return (
            "import socket\ntry:\n"
            f"    s = socket.create_connection(('127.0.0.1', {self.paths['port']}), timeout=3)\n"
            "    s.sendall(b'LEAK')\n    print('CONNECTED')\n"
            "except OSError as e:\n    print('NETWORK', type(e).__name__)\n"
        )

    @staticmethod
    def _without_tests(nb):
        nb = copy.deepcopy(nb)
        nb["cells"] = [
            c for c in nb["cells"] if not is_test(c.get("metadata", {}).get("nbgrader", {}))
        ]
        return nb

    @staticmethod
    def _duplicated_tests(nb):
        nb = copy.deepcopy(nb)
        cells = []
        for c in nb["cells"]:
            cells.append(c)
            if is_test(c.get("metadata", {}).get("nbgrader", {})):
                cells.append(copy.deepcopy(c))
        nb["cells"] = cells
        return nb

    @staticmethod
    def _retyped_tests(nb):
        nb = copy.deepcopy(nb)
        for c in _cells_with(nb, is_test):
            c["cell_type"] = "markdown"
            c.pop("outputs", None)
            c.pop("execution_count", None)
        return nb

    @staticmethod
    def _edited_tests(nb):
        nb = copy.deepcopy(nb)
        for c in _cells_with(nb, is_test):
            c["source"] = "print('passed: everything')\n"
        return nb

    @staticmethod
    def _points_edited(nb):
        nb = copy.deepcopy(nb)
        for c in _cells_with(nb, is_test):
            c["metadata"]["nbgrader"]["points"] = 100
        return nb

    @staticmethod
    def _grade_id_edited(nb):
        nb = copy.deepcopy(nb)
        first = _cells_with(nb, is_test)[0]
        first["metadata"]["nbgrader"]["grade_id"] = "my-own-test"
        first["source"] = "print('passed')\n"
        return nb


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def hostile_run(released_course, tmp_path_factory):
    course = fresh_course(released_course, tmp_path_factory.mktemp("hostile"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received: list[bytes] = []

    def accept():
        listener.settimeout(1.0)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            received.append(conn.recv(100))
            conn.close()

    stop = threading.Event()
    server = threading.Thread(target=accept, daemon=True)
    server.start()
    # An honest student's folder, which others must not reach.
    other = simulate.place(
        course,
        "aa-other-student",
        ASSIGNMENT,
        {f"{NB}.ipynb": simulate.to_bytes(simulate.answered(course, ASSIGNMENT, NB, None))},
    )
    paths = {
        "gradebook": str(course.root / "gradebook.db"),
        "key": str(course.key_path(ASSIGNMENT)),
        "source": str(course.source_dir(ASSIGNMENT) / f"{NB}.ipynb"),
        "other": str(other / f"{NB}.ipynb"),
        "port": listener.getsockname()[1],
    }
    cases = Cases(course, paths).build()
    for student, (files, _, _) in cases.items():
        folder = simulate.place(course, student, ASSIGNMENT, files)
        if student == "big-file-beside":
            with open(folder / "data.bin", "wb") as f:
                f.truncate(200 * 1024**2)
    protected = [
        p
        for p in course.root.rglob("*")
        if p.is_file()
        and (
            "submitted" in p.parts
            or "source" in p.parts
            or "release" in p.parts
            or "key" in p.parts
        )
    ]
    before = _digest(protected)
    grader = Grader(course, ASSIGNMENT, limits=TEST_LIMITS)
    results = {r.student: r for r in grader.grade(progress=False)}
    stop.set()
    server.join()
    listener.close()
    return {
        "course": course,
        "cases": cases,
        "results": results,
        "before": before,
        "after": _digest(protected),
        "received": received,
        "grader": grader,
    }


def _case_names():
    # The case table needs a course to build; its names are static, so read them once here.
    import inspect
    import re

    source = inspect.getsource(Cases.build)
    return re.findall(r'^\s+"([a-z0-9-]+)": \(', source, flags=re.M)


@pytest.mark.parametrize("student", _case_names())
def test_case_gets_its_exact_status_and_score(hostile_run, student):
    _, status, score = hostile_run["cases"][student]
    result = hostile_run["results"][student]
    assert (result.status, result.score) == (status, score), result.reason
    assert result.reason, "every status needs a reason"


def test_honest_student_beside_the_hostile_ones_is_unaffected(hostile_run):
    result = hostile_run["results"]["aa-other-student"]
    assert (result.status, result.score) == (Status.GRADED, FULL)


def test_no_submitted_or_instructor_file_changed(hostile_run):
    assert hostile_run["before"] == hostile_run["after"]


def test_gradebook_is_intact_and_complete(hostile_run):
    course = hostile_run["course"]
    db = sqlite3.connect(course.root / "gradebook.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    statuses = dict(db.execute("SELECT student, status FROM autograder_status"))
    assert set(statuses) == set(hostile_run["results"])
    db.close()


def test_course_files_were_out_of_reach(hostile_run):
    result = hostile_run["results"]["read-course"]
    outputs = " ".join(e.out for e in result.notebooks[0].outputs.values())
    assert "ATTEMPTS" in outputs
    assert "READ" not in outputs and "WROTE" not in outputs


def test_network_was_out_of_reach(hostile_run):
    result = hostile_run["results"]["network"]
    outputs = " ".join(e.out for e in result.notebooks[0].outputs.values())
    assert "NETWORK" in outputs and "CONNECTED" not in outputs
    assert hostile_run["received"] == []


def test_reasons_name_the_problem(hostile_run):
    results = hostile_run["results"]
    assert "not UTF-8" in results["nonutf8"].reason
    assert "format version 3" in results["nbformat3"].reason
    assert "Untitled.ipynb" in results["renamed"].reason
    assert "'upsample-by'" in results["loop"].reason
    assert "filled its folder" in results["fill-folder"].reason
    assert "deleted" in results["deleted-tests"].reason
    assert "edited" in results["edited-tests"].reason
    assert "metadata" in results["metadata-points"].reason
    assert any(
        "data.bin" in n.text and "not copied" in n.text
        for n in results["big-file-beside"].notebooks[0].notes
    )
    isolation = results["zz-honest-after-all"].isolation.describe()
    assert "isolation in force" in isolation


def test_input_and_exit_are_explained(hostile_run):
    results = hostile_run["results"]
    ends = results["input"].notebooks[0].outputs.values()
    assert any(e.ename == "EOFError" for e in ends)
    ends = results["sys-exit"].notebooks[0].outputs.values()
    assert any(e.ename == "SystemExit" for e in ends)
