"""The first cell of every chapter and exercise: it makes the notebook run anywhere.

Where the course package is missing (Colab, a bare Jupyter) it installs it from the
repository, quietly and once; where the package is present (Binder, a local copy, the book's
build, the grading sandbox) it runs no pip and touches no network. Tested in a fresh
environment that lacks the package, with the repository URL pointed at a local checkout.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from autograder.sources import list_assignments, read_source_notebook
from autograder.student_copies import student_notebook
from tools.build_book import BOOK_ROOT, notebook_files
from tools.compat_env import compat_python, kernel_of
from tools.runnable_notebooks import chapter_notebook, install_cell_problem
from tools.publishing import BookSite

SITE = BookSite.from_config()
EXERCISE_SOURCES = [BOOK_ROOT / "exercises" / "source" / a / f"{a}.md"
                    for a in list_assignments(BOOK_ROOT / "exercises")]
NOTEBOOKS = [path for path in notebook_files() if path.suffix == ".md"] + EXERCISE_SOURCES
#: The chapter and the exercise run in the fresh environment.
CHAPTER = BOOK_ROOT / "chapters" / "why-upsample.md"
EXERCISE = BOOK_ROOT / "exercises" / "source" / "upsampling-by-hand" / "upsampling-by-hand.md"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_every_chapter_and_exercise_starts_with_the_install_cell(source):
    nb = jupytext.read(source, fmt="md:myst")
    assert install_cell_problem(nb, SITE) is None, source
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    if source in EXERCISE_SOURCES:  # locked: the grader runs the instructor's copy
        assert first.metadata["nbgrader"]["locked"] and not first.metadata["nbgrader"]["solution"]
    else:  # the book shows its output (the versions), not its code
        assert first.metadata.get("tags") == ["hide-input"]


def test_the_install_cell_reads_the_setting():
    cell = SITE.install_cell()
    assert f'"upsampling-course @ git+{SITE.repository_url}@{SITE.branch}"' in cell
    assert len(cell.splitlines()) <= 10 and max(len(line) for line in cell.splitlines()) <= 100


def test_where_the_package_is_present_it_runs_no_pip_and_no_network(tmp_path):
    """Pointed at a repository that does not exist, in a process without a network: any pip
    run would fail. Only the versions line is printed."""
    cell = dataclasses.replace(SITE, repository_url=f"file://{tmp_path}/no-such-repository").install_cell()
    done = subprocess.run(["bwrap", "--dev-bind", "/", "/", "--unshare-net", sys.executable, "-c", cell],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    import keras
    import tensorflow as tf
    assert done.stdout.splitlines()[0].startswith(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, ")
    assert "pip" not in done.stdout + done.stderr


# A fresh environment that lacks the package ---------------------------------------------------

def _working_tree_checkout(dest: Path) -> str:
    """A git repository holding this working tree's files (committed or not); returns its commit."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=BOOK_ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (BOOK_ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(BOOK_ROOT / name, dest / name)
    git = ["git", "-C", str(dest), "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "snapshot"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the working tree"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


@dataclasses.dataclass
class FreshEnvironment:
    python: Path
    site_packages: Path
    checkout: Path
    site: BookSite  # the setting, with the repository pointed at the local checkout


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory) -> FreshEnvironment:
    """A new venv that sees the second environment's packages (TensorFlow, Keras, NumPy,
    ipykernel: a Colab-like stack) but not the course package, which it must install."""
    compat = compat_python()
    root = tmp_path_factory.mktemp("fresh")
    subprocess.run([str(compat), "-m", "venv", str(root / "venv")], check=True, timeout=300)  # ensurepip: offline
    python = root / "venv" / "bin" / "python"
    purelib = lambda py: Path(subprocess.run(  # noqa: E731
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    site_packages = purelib(python)
    (site_packages / "colab-like-stack.pth").write_text(f"{purelib(compat)}\n")
    missing = subprocess.run([str(python), "-c", "import upsampling_course"], capture_output=True)
    assert missing.returncode != 0, "the fresh environment must lack the course package"
    checkout = root / "checkout"
    checkout.mkdir()
    commit = _working_tree_checkout(checkout)
    # localhost: older pips (Python 3.11's ensurepip) reject a git+file URL with no host.
    site = dataclasses.replace(SITE, repository_url=f"file://localhost{checkout}", branch=commit)
    return FreshEnvironment(python, site_packages, checkout, site)


def _pointed_at_the_checkout(nb: nbformat.NotebookNode, env: FreshEnvironment) -> nbformat.NotebookNode:
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert first.source.strip() == SITE.install_cell()
    first.source = env.site.install_cell()
    return nb


def _run(nb: nbformat.NotebookNode, env: FreshEnvironment, workdir: Path, allow_errors=False):
    # No index: nothing may come from the network. The package builds with the environment's
    # own setuptools (build isolation would fetch one from the index).
    kernel_env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
                  "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    kernel_env.pop("PYTHONPATH", None)
    with kernel_of(env.python, "fresh-env") as kernel_name:
        client = NotebookClient(nb, timeout=600, kernel_name=kernel_name, allow_errors=allow_errors,
                                resources={"metadata": {"path": str(workdir)}})
        client.execute(env=kernel_env)
    return nb


@pytest.mark.compat
def test_a_chapter_installs_the_package_quietly_then_runs(fresh_env, tmp_path):
    nb = _run(_pointed_at_the_checkout(chapter_notebook(CHAPTER), fresh_env), fresh_env, tmp_path)
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    printed = "".join(output.get("text", "") for output in first.outputs)
    # Quiet: pip printed nothing; only the versions line (Keras/TensorFlow of this environment).
    assert [output.output_type for output in first.outputs] == ["stream"], first.outputs
    assert printed.startswith("TensorFlow 2.19."), printed
    assert len(printed.splitlines()) <= 2, printed
    # Installed into the fresh environment, from the checkout at the named commit.
    (dist_info,) = fresh_env.site_packages.glob("upsampling_course-*.dist-info")
    origin = json.loads((dist_info / "direct_url.json").read_text())
    assert origin["url"] == fresh_env.site.repository_url
    assert origin["vcs_info"]["commit_id"] == fresh_env.site.branch
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert errors == []


@pytest.mark.compat
def test_then_an_exercise_runs_without_installing_again(fresh_env, tmp_path):
    """Once installed, the cell runs no pip: with the checkout gone, pip would fail."""
    if not list(fresh_env.site_packages.glob("upsampling_course-*.dist-info")):
        pytest.fail("runs after test_a_chapter_installs_the_package_quietly_then_runs")
    shutil.rmtree(fresh_env.checkout)
    nb = _pointed_at_the_checkout(student_notebook(EXERCISE), fresh_env)
    nb = _run(nb, fresh_env, tmp_path, allow_errors=True)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = {cell.metadata["nbgrader"]["grade_id"]: o.ename for cell in code for o in cell.outputs
              if o.output_type == "error"}
    # Unanswered, every test cell stops at the missing answer; everything else runs.
    graded = {cell.metadata["nbgrader"]["grade_id"] for cell in code if cell.metadata["nbgrader"]["grade"]}
    assert errors == {grade_id: "NotImplementedError" for grade_id in graded}
    assert read_source_notebook(EXERCISE)  # the source itself is untouched
