"""One worker, a hostile job, then honest ones: what a job leaves never changes the next
student's outcome, and what a job writes cannot change how its own end is named (issue 15).

All jobs run on ONE worker of a real pool (bubblewrap where available), in order.
"""

from __future__ import annotations

import pytest

from autograder.jobs import CodeCell, Job, Limits
from autograder.sandbox.isolation import detect
from autograder.sandbox.pool import LocalPool
from autograder.scoring import COULD_NOT_START, parse_log

pytestmark = pytest.mark.grading

LIMITS = Limits(wall_seconds=60, cpu_seconds=120)
HONEST = "print(6 * 7)"

#: A notebook that empties the log, prints a traceback and leaves with the exit code of a
#: process that could not start: it must not pass for one.
FORGED_COULD_NOT_START = (
    "import os\nopen('records.jsonl', 'w').close()\n"
    "print('Traceback (most recent call last):\\nOSError: the grader broke')\n"
    f"os._exit({COULD_NOT_START})\n"
)


#: What a job leaves in its folder and its temporary folders: a tree deeper than Python's
#: recursion limit, thousands of files, locked folders, links out, a FIFO, the grader's names.
LEAVE_A_MESS = """\
import os
base = os.getcwd()
for root in {base, os.environ['TMPDIR'], '/tmp', '/dev/shm'}:
    if not os.access(root, os.W_OK):
        continue
    os.chdir(root)
    for _ in range(3000):
        os.mkdir('d')
        os.chdir('d')
    os.chdir(root)
    os.makedirs('many', exist_ok=True)
    for n in range(3000):
        open(f'many/{n}', 'w').close()
    os.makedirs('locked/inner', exist_ok=True)
    os.chmod('locked/inner', 0)
    os.chmod('locked', 0)
    os.symlink('/', 'root-link')
    os.mkfifo('fifo')
    os.makedirs('.autograder-clean-1/x', exist_ok=True)
os.chdir(base)
os.mkdir('cells.json')
os.chmod(base, 0)
print('left a mess')
"""
#: An honest job that also looks for anything an earlier job left.
LOOK_AROUND = """\
import os
left = [p for p in ('d', 'many', 'locked', 'fifo', 'cells.json') if os.path.lexists(p)]
left += [p for p in ('d', 'many') if os.path.lexists(os.path.join('/tmp', p))]
print('left behind:', left)
"""


def job(label: str, source: str, files: dict[str, bytes] | None = None) -> Job:
    return Job(label, (CodeCell(0, source),), seed=1, limits=LIMITS, files=files or {})


@pytest.fixture(scope="module")
def pool():
    with LocalPool(detect(), 1) as pool:
        yield pool


def run(pool: LocalPool, label: str, source: str, files: dict[str, bytes] | None = None):
    return pool.submit(job(label, source, files)).result(timeout=900)


def honest_after(pool: LocalPool) -> None:
    for n in range(2):
        outcome = run(pool, f"honest-{n}", HONEST + "\n" + LOOK_AROUND)
        assert outcome.failure is None and outcome.exit_code == 0, outcome
        assert parse_log(outcome.records).done and b"42" in outcome.records
        assert b"left behind: []" in outcome.records


def test_a_job_cannot_forge_a_process_that_could_not_start(pool):
    outcome = run(pool, "forged-could-not-start", FORGED_COULD_NOT_START)
    assert outcome.exit_code == COULD_NOT_START and outcome.reached_cells
    honest_after(pool)


def test_whatever_a_job_leaves_the_next_students_are_graded_normally(pool):
    outcome = run(pool, "mess", LEAVE_A_MESS)
    assert outcome.failure is None and b"left a mess" in outcome.records, outcome
    honest_after(pool)


def test_a_module_handed_in_beside_the_notebook_can_be_imported(pool):
    """As in Jupyter, the notebook's folder is on sys.path (the module runs in the sandbox)."""
    helper = {"helpers.py": b"def twice(x):\n    return 2 * x\n"}
    outcome = run(pool, "helper", "from helpers import twice\nprint(twice(21))", helper)
    assert outcome.exit_code == 0 and b"42" in outcome.records, outcome.records


#: Files under the per-file limit, until the temporary folder is full.
FILL_TMP = """\\
import errno
for folder, count in (('/tmp', 20), ('/dev/shm', 4)):
    try:
        for n in range(count):
            with open(f'{folder}/fill-{n}', 'wb') as f:
                f.write(b'x' * 32 * 1024**2)
        print(folder, 'not full')
    except OSError as exc:
        print(folder, 'full' if exc.errno == errno.ENOSPC else exc)
"""


@pytest.mark.skipif(detect().bubblewrap is None, reason="the caps are bubblewrap's tmpfs sizes")
def test_a_job_fills_no_more_than_its_temporary_space(pool):
    outcome = run(pool, "fill-tmp", FILL_TMP)
    assert b"/tmp full" in outcome.records and b"/dev/shm full" in outcome.records
    assert "temporary space capped" in outcome.isolation.describe()
    honest_after(pool)


#: Every kind of IPC object a job can create and leave behind.
LEAVE_IPC = """\\
import ctypes, os
from multiprocessing import shared_memory
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
made = [
    libc.shmget(0x5EED, 1 << 20, IPC_CREAT | 0o666),
    libc.semget(0x5EED, 1, IPC_CREAT | 0o666),
    libc.msgget(0x5EED, IPC_CREAT | 0o666),
    libc.mq_open(b'/left-queue', os.O_CREAT | os.O_RDWR, 0o666, None),
]
kept = shared_memory.SharedMemory('left-shm', create=True, size=1 << 20)
print('made', made)
"""
#: What a later job can see of them.
SEE_IPC = """\\
import os
seen = []
for kind in ('shm', 'sem', 'msg'):
    seen += open(f'/proc/sysvipc/{kind}').read().splitlines()[1:]
for folder in ('/dev/mqueue', '/dev/shm'):
    seen += os.listdir(folder) if os.path.isdir(folder) else []
print('ipc seen:', seen)
"""


@pytest.mark.skipif(detect().bubblewrap is None, reason="a worker's IPC namespace is bubblewrap's")
def test_no_ipc_object_outlives_its_job(pool):
    made = run(pool, "leave-ipc", LEAVE_IPC)
    assert b"made [" in made.records and b"-1" not in made.records.split(b"made")[1][:40]
    for n in range(2):
        seen = run(pool, f"see-ipc-{n}", SEE_IPC)
        assert b"ipc seen: []" in seen.records, seen.records
