"""One worker, a hostile job, then honest ones: what a job leaves never changes the next
student's outcome, and what a job writes cannot change how its own end is named (issue 15).

All jobs run on ONE worker of a real pool (bubblewrap where available), in order.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
from pathlib import Path

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


#: Past the job folder's cap (its temporary folder inside it counts too): big files under the
#: per-file limit, or more files and folders than it may hold. The job goes on after the first
#: refusal (its records may be cut): the worker tells the cap, not the job.
FILL_FOLDER_BIG = """\\
import os
os.makedirs('tmp', exist_ok=True)
for n in range(16):
    folder = ('.', 'tmp')[n % 2]
    try:
        with open(f'{folder}/fill-{n}', 'wb') as f:
            f.write(b'x' * 32 * 1024**2)
    except OSError:
        pass
print('filled')
"""
FILL_FOLDER_MANY = """\\
import os
os.makedirs('many', exist_ok=True)
for n in range(60_000):
    try:
        open(f'many/{n}', 'w').close()
    except OSError:
        break
print('filled')
"""


@pytest.mark.parametrize("source", [FILL_FOLDER_BIG, FILL_FOLDER_MANY], ids=["big", "many"])
def test_a_job_fills_no_more_than_its_folder(pool, source):
    outcome = run(pool, "fill-folder", source)
    assert outcome.folder_full and outcome.failure is None, outcome
    if "job folder's total capped" in pool.isolation.describe():
        assert outcome.signal is None  # a filesystem of its own refused the writes
    honest_after(pool)


@pytest.fixture
def watched(pool):
    """The pool's worker as it runs without root: the worker measures the job folder while a
    job runs (its filesystem stays, with more room than the watched jobs' cap)."""
    worker = pool.workers[0]
    own = worker.isolation
    worker.isolation = dataclasses.replace(own, folder_filesystems=False)
    yield pool
    worker.isolation = own


def test_without_a_filesystem_of_its_own_the_worker_stops_a_job_at_the_folder_cap(watched):
    endless = FILL_FOLDER_BIG.replace("range(16)", "range(10**6)")
    limits = dataclasses.replace(LIMITS, folder_bytes=48 * 1024**2)
    outcome = watched.submit(
        Job("fill-watched", (CodeCell(0, endless),), seed=1, limits=limits, files={})
    ).result(timeout=900)
    assert outcome.folder_full and outcome.signal == signal.SIGKILL, outcome
    assert not outcome.timed_out and outcome.wall_seconds < LIMITS.wall_seconds / 2
    honest_after(watched)


#: System V shared memory is memory no address-space limit counts (a segment filled while
#: attached stays after it is detached): a job cannot create any. Semaphore sets and message
#: queues are few.
HOARD_IPC = """\\
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, IPC_PRIVATE = 0o1000, 0
shm = libc.shmget(IPC_PRIVATE, 1 << 30, IPC_CREAT | 0o600)
print('shm', shm, ctypes.get_errno())
shm = libc.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
print('small shm', shm, ctypes.get_errno())
sems = queues = 0
while sems < 10_000 and libc.semget(IPC_PRIVATE, 32, IPC_CREAT | 0o600) >= 0:
    sems += 1
while queues < 10_000 and libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600) >= 0:
    queues += 1
print('sets', sems, 'queues', queues)
"""


@pytest.mark.skipif(not detect().ipc_limited, reason="the worker's IPC limits need root")
def test_a_job_can_create_no_system_v_shared_memory_and_few_ipc_objects(pool):
    outcome = run(pool, "hoard-ipc", HOARD_IPC)
    assert b"shm -1 22" in outcome.records and b"small shm -1 22" in outcome.records
    assert b"sets 128 queues 16" in outcome.records, outcome.records
    assert "no System V shared memory" in outcome.isolation.describe()
    honest_after(pool)


#: A job that reaches for the worker's clean-up helper (a root process beside the worker, which
#: acts as the job's user after each job): through a pipe it inherited, or at each process it
#: can see: a signal, its open files, ptrace, a copy of one of its file descriptors.
REACH_FOR_THE_HELPER = """\\
import ctypes, errno, os, signal, stat
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_SEIZE, SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 0x4206, 434, 438
pipes = [fd for fd in map(int, os.listdir('/proc/self/fd'))
         if fd > 2 and os.path.exists(f'/proc/self/fd/{fd}')
         and stat.S_ISFIFO(os.fstat(fd).st_mode)]
for fd in pipes:
    for line in (b'kill 0\\n', b'ipc 0\\n', b'garbage'):
        os.write(fd, line)
others = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]
refused = []
for pid in others:
    ways = 0
    try:
        os.kill(pid, signal.SIGSTOP)
    except PermissionError:
        ways += 1
    try:
        os.listdir(f'/proc/{pid}/fd')
    except PermissionError:
        ways += 1
    if libc.ptrace(PTRACE_SEIZE, pid, 0, 0) != 0 and ctypes.get_errno() == errno.EPERM:
        ways += 1
    pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
    if pidfd >= 0:
        if libc.syscall(SYS_PIDFD_GETFD, pidfd, 3, 0) < 0 and ctypes.get_errno() == errno.EPERM:
            ways += 1
        os.close(pidfd)
    refused.append(ways)
print('pipes', pipes, 'processes', len(others), 'refused', refused)
"""
#: A process left behind, out of the job's session and process group.
LEAVE_A_SLEEPER = (
    "import subprocess\nsubprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
    "print('left a sleeper')\n"
)
#: An honest job that also counts the processes of its own user besides itself.
COUNT_MY_USER = """\\
import os
mine = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()
        and os.stat('/proc/' + p).st_uid == os.getuid()]
print('others of my user:', len(mine))
"""
ZYGOTE_ARGS = [b"-I", b"-m", b"autograder.sandbox.zygote"]


def _helper_pid(worker) -> int | None:
    """The worker's clean-up helper, seen from outside the sandbox: the one zygote process
    (``python -I -m autograder.sandbox.zygote``) whose parent is the zygote."""
    parents, zygotes = {}, set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
                parents[int(entry)] = int(stat.rsplit(b")", 1)[1].split()[1])
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if argv[1:4] == ZYGOTE_ARGS:
                zygotes.add(int(entry))
    under, grown = {worker.process.pid}, True
    while grown:  # the worker's descendants, whatever the order of their pids
        more = {pid for pid, parent in parents.items() if parent in under} - under
        under |= more
        grown = bool(more)
    found = [pid for pid in under & zygotes if parents[pid] in zygotes]
    assert len(found) <= 1, found
    return found[0] if found else None


needs_root = pytest.mark.skipif(
    not detect().root, reason="without root there is no helper: jobs run as the worker's user"
)


@needs_root
def test_a_job_cannot_reach_the_clean_up_helper(pool):
    worker = pool.workers[0]
    process, uid, helper = worker.process, worker.uid, _helper_pid(worker)
    assert helper is not None
    outcome = run(pool, "reach-for-the-helper", REACH_FOR_THE_HELPER)
    assert b"pipes []" in outcome.records, outcome.records
    seen = re.search(rb"processes (\d+) refused \[([\d, ]*)\]", outcome.records)
    assert seen and int(seen.group(1)) >= 3, outcome.records  # the sandbox, worker, helper
    assert set(seen.group(2).split(b", ")) == {b"4"}, outcome.records  # each way refused
    honest_after(pool)
    assert (worker.process, worker.uid, _helper_pid(worker)) == (process, uid, helper)


@needs_root
def test_without_its_helper_the_worker_still_cleans_up_after_a_job(pool):
    worker = pool.workers[0]
    process, uid, helper = worker.process, worker.uid, _helper_pid(worker)
    assert helper is not None
    os.kill(helper, signal.SIGKILL)
    outcome = run(pool, "leave-a-sleeper", LEAVE_A_SLEEPER)
    assert outcome.failure is None and outcome.lost_workers == 0, outcome
    assert b"left a sleeper" in outcome.records
    after = run(pool, "count-my-user", COUNT_MY_USER)
    assert b"others of my user: 0" in after.records, after.records
    honest_after(pool)
    # The same worker and user throughout (a worker found unclean gets a new user), and no
    # helper any more: the worker forked its own clean-up steps.
    assert (worker.process, worker.uid, _helper_pid(worker)) == (process, uid, None)
