"""The repository as Binder builds it: a chapter and an exercise worked on in a real JupyterLab.

The environment comes from ``requirements.txt``, ``runtime.txt`` and ``postBuild`` alone (see
binder_env.py). A learner who presses a chapter's Binder button lands on
``lab/tree/chapters/<chapter>.md`` (the browser tests check that the button says so); here
that URL must show a notebook, not text, whose cells all run without an error.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import jupytext
import pytest

from autograder.sources import list_assignments, read_source_notebook
from tests.binder import lab_ui
from tests.binder.binder_env import REPO

pytestmark = pytest.mark.browser

#: The chapter whose cells the test runs (every chapter also runs in the book build).
CHAPTER = "chapters/upsampling2d.md"
ASSIGNMENT = "upsampling-by-hand"
STUDENT_COPY = f"exercises/student/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
QUESTION = "upsample-nearest"  # the solution cell of question 1; its tests follow it


def test_binder_configuration_files():
    """What repo2docker reads: pinned requirements, the Python version, an executable postBuild."""
    assert not (REPO / "binder").exists() and not (REPO / ".binder").exists(), (
        "a binder/ folder makes repo2docker ignore the top-level requirements.txt and runtime.txt")
    assert re.fullmatch(r"python-3\.\d+", (REPO / "runtime.txt").read_text().strip())
    for name in ("requirements.txt", "constraints.txt"):
        for line in (REPO / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            assert (not line or line in ("-e .", "-c constraints.txt")
                    or re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line)), (
                f"{name}: not pinned: {line!r}")
    postbuild = REPO / "postBuild"
    assert postbuild.stat().st_mode & 0o111, "postBuild must be executable"
    assert postbuild.read_text().startswith("#!")


def test_markdown_opens_with_jupytext_by_default(jupyterlab):
    """The settings JupyterLab itself reports (after postBuild) name Jupytext for .md files."""
    settings = jupyterlab.get_json("lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    # Overrides become the schema's default; a learner's own settings would come on top.
    default = settings["schema"]["properties"]["defaultViewers"]["default"]
    viewers = settings["settings"].get("defaultViewers", default)
    assert viewers.get("markdown") == "Jupytext Notebook"
    assert viewers.get("myst") == "Jupytext Notebook"


def _text_notebooks() -> list[str]:
    chapters = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "chapters").glob("*.md"))
    return chapters + [f"exercises/source/{a}/{a}.md" for a in list_assignments(REPO / "exercises")]


@pytest.mark.parametrize("path", _text_notebooks())
def test_server_serves_text_notebooks_as_notebooks(jupyterlab, binder_env, path):
    """Jupytext's contents manager turns each MyST file into the notebook JupyterLab shows."""
    model = jupyterlab.get_json(f"api/contents/{path}?type=notebook&content=1")
    assert model["type"] == "notebook"
    expected = jupytext.read(binder_env.repo / path, fmt="md:myst")
    assert [c["source"] for c in model["content"]["cells"]] == [c.source for c in expected.cells]
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"


def test_chapter_opens_as_notebook_and_runs_without_errors(jupyterlab, binder_env, lab_page,
                                                           binder_artifacts, binder_timings):
    page = lab_page
    opened = time.perf_counter()
    doc = lab_ui.open_document(page, jupyterlab.url(f"lab/tree/{CHAPTER}"), CHAPTER)
    open_seconds = time.perf_counter() - opened
    assert doc["isNotebook"], f"{CHAPTER} opened as text, not as a notebook"
    assert doc["path"] == CHAPTER and doc["kernelName"] == "python3"
    expected = jupytext.read(binder_env.repo / CHAPTER, fmt="md:myst")
    assert [c["source"] for c in doc["cells"]] == [c.source for c in expected.cells]

    run_seconds = lab_ui.run_all_cells(page)
    doc = lab_ui.document(page)
    page.screenshot(path=binder_artifacts / "chapter-after-run-all.png")
    code = [c for c in doc["cells"] if c["type"] == "code"]
    assert code and all(c["count"] for c in code), "some code cells did not run"
    assert lab_ui.problem_outputs(doc["cells"]) == []
    assert any(o["output_type"] == "display_data" for c in code for o in c["outputs"]), "no plots"
    binder_timings.update({"chapter": CHAPTER, "open_chapter_seconds": round(open_seconds, 1),
                    "run_all_cells_seconds": round(run_seconds, 1),
                    "open_and_run_all_seconds": round(open_seconds + run_seconds, 1)})


def _solution(grade_id: str) -> str:
    """The instructor's answer to one solution cell, as a learner would type it."""
    nb = read_source_notebook(REPO / "exercises" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.md")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return "\n".join(line for line in cell.source.splitlines()
                             if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    raise KeyError(grade_id)


#: A plausible mistake: bilinear interpolation where nearest-neighbour repetition was asked for.
WRONG_ANSWER = '''def upsample_nearest(x):
    return keras.layers.UpSampling2D(interpolation="bilinear")(x).numpy()'''


def test_exercise_visible_tests_pass_and_fail_readably(jupyterlab, lab_page, binder_artifacts):
    page = lab_page
    doc = lab_ui.open_document(page, jupyterlab.url(f"lab/tree/{STUDENT_COPY}"), STUDENT_COPY)
    assert doc["isNotebook"]
    sources = "\n".join(c["source"] for c in doc["cells"])
    assert "BEGIN SOLUTION" not in sources and "BEGIN HIDDEN TESTS" not in sources
    assert "check_hidden(" not in sources.replace("import check, check_hidden", "")
    setup = lab_ui.cell_index(doc, "setup")
    answer = lab_ui.cell_index(doc, QUESTION)
    tests = lab_ui.cell_index(doc, f"{QUESTION}-tests")
    assert "raise NotImplementedError()" in doc["cells"][answer]["source"]

    # As released: the visible tests stop on the missing answer.
    lab_ui.run_cells(page, [setup, answer, tests])
    errors = _errors(lab_ui.document(page), tests)
    assert [e["ename"] for e in errors] == ["NotImplementedError"]

    # A correct answer: every visible check passes.
    lab_ui.replace_cell_source(page, answer, _solution(QUESTION))
    lab_ui.run_cells(page, [answer, tests])
    doc = lab_ui.document(page)
    assert _errors(doc, tests) == []
    assert "passed: nearest-on-X" in lab_ui.output_text(page, tests)
    assert "passed: nearest-shape" in lab_ui.output_text(page, tests)
    page.screenshot(path=binder_artifacts / "exercise-correct-answer.png")

    # A wrong answer: the checks fail and say what differs, where the learner looks.
    lab_ui.replace_cell_source(page, answer, WRONG_ANSWER)
    lab_ui.run_cells(page, [answer, tests])
    errors = _errors(lab_ui.document(page), tests)
    assert [e["ename"] for e in errors] == ["AssertionError"]
    message = errors[0]["evalue"]
    assert re.fullmatch(r"nearest-on-X: \d+ of 16 values differ; first at index \(\d+, \d+\): "
                        r"expected [\d.]+, got [\d.]+", message), message
    assert message in lab_ui.output_text(page, tests)
    page.screenshot(path=binder_artifacts / "exercise-wrong-answer.png")
    (binder_artifacts / "wrong-answer-message.txt").write_text(message + "\n")


def _errors(doc: dict, index: int) -> list[dict]:
    return [o for o in doc["cells"][index]["outputs"] if o["output_type"] == "error"]


def test_jupyterlab_kernel_is_the_binder_environment(jupyterlab, binder_env):
    """The kernel JupyterLab starts is the venv's (HOME is fresh, so no kernel of this machine)."""
    specs = jupyterlab.get_json("api/kernelspecs")
    assert set(specs["kernelspecs"]) == {"python3"}
    assert (binder_env.venv / "share" / "jupyter" / "kernels" / "python3" / "kernel.json").is_file()
    assert not any(Path(binder_env.home).glob(".local/share/jupyter/kernels/*"))


SUBMIT_CELL = 'import upsampling_course as uc\nuc.submit("{link}", wait=600)'


def test_submit_from_jupyterlab(jupyterlab, lab_page, binder_artifacts, submission_service):
    """A learner saves the exercise and runs ``uc.submit(link)`` in it: the saved notebook goes
    to the course's submission service, which says where the result is and gives the score."""
    service, link = submission_service
    page = lab_page
    doc = lab_ui.open_document(page, jupyterlab.url(f"lab/tree/{STUDENT_COPY}"), STUDENT_COPY)
    page.keyboard.press("Control+s")  # as released: every answer left blank
    last = len(doc["cells"]) - 1
    lab_ui.cell(page, last).click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below the last one
    lab_ui.replace_cell_source(page, last + 1, SUBMIT_CELL.format(link=link))
    lab_ui.run_cells(page, [last + 1])
    text = lab_ui.output_text(page, last + 1)
    page.screenshot(path=binder_artifacts / "submit-from-notebook.png")
    assert f"Submitted {ASSIGNMENT}.ipynb to {ASSIGNMENT}, as saved at" in text, text
    result = re.search(r"Result: (http://127\.0\.0\.1:\d+/submissions/[0-9a-f]{32})", text)
    assert result and result.group(1).startswith(service.base), text
    assert re.search(r"Graded: 0 / 17 points \(graded\)\.", text), text
    assert lab_ui.problem_outputs(lab_ui.document(page)["cells"][last + 1:]) == []
