"""The exercise sources: MyST that jupytext reads, nbgrader metadata that is valid and complete.

These tests read the text only (no kernel); see test_exercise_runs.py for execution.
"""
from __future__ import annotations

import ast
import re

import jupytext
import nbformat
import pytest
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from autograder.sources import list_assignments, read_source_notebook, write_source_notebooks
from tools.publishing import BookSite
from tools.runnable_notebooks import install_cell_problem

from .exercise_notebooks import ASSIGNMENTS, EXERCISES, check_names, is_test_cell, nbgrader_meta

KEYS = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}
GRADE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

#: The assignments the course promises (issues 4 and 11); more may be added.
PROMISED = {"upsampling-by-hand", "shapes-and-generators", "unpooling", "transposed-convolution",
            "checkerboard"}


def regions(source: str, begin: str, end: str) -> list[str]:
    """The text between balanced ``begin``/``end`` marker lines; fails on unbalanced markers."""
    found, current = [], None
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            assert current is None, f"nested {begin!r}"
            current = []
        elif stripped == end:
            assert current is not None, f"{end!r} without {begin!r}"
            found.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    assert current is None, f"{begin!r} without {end!r}"
    return found


def without_hidden(source: str) -> str:
    return re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", source, flags=re.S)


def test_the_promised_assignments_exist():
    assert PROMISED <= set(ASSIGNMENTS)
    assert ASSIGNMENTS == list_assignments(EXERCISES)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_is_a_myst_notebook_with_a_python_kernel(name):
    text = (EXERCISES / "source" / name / f"{name}.md").read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="md:myst")
    header = jupytext.formats.read_format_from_metadata(text, ".md")
    assert header == "myst"
    assert nb.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3",
                                         "language": "python"}
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    nbformat.validate(read_source_notebook(EXERCISES / "source" / name / f"{name}.md"))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_metadata_is_valid_and_complete(name, source_notebooks):
    nb = source_notebooks[name]
    MetadataValidatorV3().validate_nb(nb)  # nbgrader's own rules (also: unique grade ids)
    graded = [c for c in nb.cells if nbgrader_meta(c)]
    ids = [nbgrader_meta(c)["grade_id"] for c in graded]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    for cell in graded:
        meta = nbgrader_meta(cell)
        assert KEYS <= set(meta), (meta, "missing keys")
        assert meta["schema_version"] == 3
        assert GRADE_ID.match(meta["grade_id"]), meta["grade_id"]
        assert meta["task"] is False
        if meta["grade"]:
            assert isinstance(meta["points"], int) and meta["points"] > 0, meta
        else:
            assert "points" not in meta
        if meta["solution"]:
            assert meta["locked"] is False, "students must be able to edit their answers"
        else:
            assert meta["locked"] is True, "read-only and test cells are locked"
    # Every code cell is one of setup / solution / test: nothing unlabelled for nbgrader.
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert nbgrader_meta(cell), cell.source[:80]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_first_code_cells_are_the_read_only_install_and_setup(name, source_notebooks):
    """The install cell (so the notebook runs on Colab), then the setup; both locked, so the
    grader runs the instructor's copies whatever a submission did to them."""
    install, setup = [c for c in source_notebooks[name].cells if c.cell_type == "code"][:2]
    for cell in (install, setup):
        meta = nbgrader_meta(cell)
        assert meta["locked"] and not meta["grade"] and not meta["solution"]
    assert install_cell_problem(source_notebooks[name], BookSite.from_config()) is None
    assert "from upsampling_course.checks import check, check_hidden" in setup.source
    assert "uc.setup_keras(seed=0)" in setup.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_cells_define_functions_around_marked_regions(name, source_notebooks):
    solutions = [c for c in source_notebooks[name].cells
                 if c.cell_type == "code" and nbgrader_meta(c)["solution"]]
    assert solutions
    for cell in solutions:
        meta = nbgrader_meta(cell)
        assert not meta["grade"], "answers are graded by their own test cell"
        found = regions(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
        assert len(found) == 1 and found[0].strip()
        # The signature and docstring stay outside the region, so students see them.
        before = cell.source.split("### BEGIN SOLUTION")[0]
        assert re.search(r"^def \w+\(.*\):", before, flags=re.M), before
        assert '"""' in before
        assert "HIDDEN TESTS" not in cell.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_test_cells_call_visible_and_hidden_checks(name, source_notebooks):
    nb = source_notebooks[name]
    tests = [c for c in nb.cells if is_test_cell(c)]
    assert len(tests) >= 3, "points per question: several graded questions"
    names = []
    for cell in tests:
        assert cell.cell_type == "code"
        hidden = regions(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        assert len(hidden) == 1, "one hidden section per test cell"
        assert "check_hidden(" in hidden[0] and "hidden_" in hidden[0].replace("check_hidden", "")
        visible = without_hidden(cell.source)
        assert re.search(r"\bcheck\(", visible), "students need visible checks to run"
        assert "check_hidden(" not in visible, "hidden checks belong in the hidden section"
        assert "SOLUTION" not in cell.source
        names += check_names(cell.source)
    assert len(names) == len(set(names)), "check names must be unique within a notebook"
    # No check outside the graded test cells: its value would not belong to a question.
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            assert not check_names(cell.source), cell.source[:80]


def test_some_question_is_graded_by_hand(source_notebooks):
    manual = [(name, c) for name, nb in source_notebooks.items() for c in nb.cells
              if c.cell_type == "markdown" and nbgrader_meta(c)
              and nbgrader_meta(c)["grade"] and nbgrader_meta(c)["solution"]]
    assert manual
    for name, cell in manual:
        # The model answer (replaced in the release) is a real answer, not a stub.
        assert len(cell.source.split()) > 60, (name, cell.source[:80])


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_points_total_matches_the_question_headings(name, source_notebooks):
    """Each '## Question n: ... (p points)' heading announces the points its cell awards."""
    nb = source_notebooks[name]
    announced, awarded = [], []
    current = None
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown":
            match = re.search(r"^## Question \d+: .*\((\d+) points?", cell.source, flags=re.M)
            if match:
                current = int(match.group(1))
                announced.append(current)
        if meta and meta["grade"]:
            awarded.append(meta["points"])
    assert announced == awarded


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_round_trip_through_ipynb_keeps_cells_and_metadata(name, source_notebooks, tmp_path):
    (path,) = write_source_notebooks(EXERCISES, tmp_path, [name])
    assert path == tmp_path / "source" / name / f"{name}.ipynb"
    as_ipynb = nbformat.read(path, as_version=4)
    back_to_md = jupytext.writes(as_ipynb, fmt="md:myst")
    again = jupytext.reads(back_to_md, fmt="md:myst")
    original = source_notebooks[name]
    for nb in (as_ipynb, again):
        assert nb.metadata["kernelspec"] == original.metadata["kernelspec"]
        assert [c.cell_type for c in nb.cells] == [c.cell_type for c in original.cells]
        assert [c.source for c in nb.cells] == [c.source for c in original.cells]
        assert [nbgrader_meta(c) for c in nb.cells] == [nbgrader_meta(c) for c in original.cells]


def test_write_source_notebooks_copies_data_files_and_rejects_unknown_names(tmp_path):
    exercises = tmp_path / "exercises"
    folder = exercises / "source" / "demo-assignment"
    (folder / "data").mkdir(parents=True)
    (folder / "demo-assignment.md").write_text(
        "---\njupytext:\n  text_representation:\n    format_name: myst\n"
        "kernelspec:\n  name: python3\n  display_name: Python 3\n  language: python\n---\n\n"
        "# Demo\n\n```{code-cell}\nx = 1\n```\n", encoding="utf-8")
    (folder / "data" / "values.csv").write_text("1,2\n", encoding="utf-8")
    (folder / "stale.ipynb").write_text("{}", encoding="utf-8")  # generated files are not copied
    (exercises / "source" / "not-an-assignment").mkdir()  # no <name>.md inside
    assert list_assignments(exercises) == ["demo-assignment"]
    course = tmp_path / "course"
    written = write_source_notebooks(exercises, course)
    assert written == [course / "source" / "demo-assignment" / "demo-assignment.ipynb"]
    nb = nbformat.read(written[0], as_version=4)
    assert "jupytext" not in nb.metadata and nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[1].source == "x = 1"
    assert (course / "source" / "demo-assignment" / "data" / "values.csv").read_text() == "1,2\n"
    assert not (course / "source" / "demo-assignment" / "stale.ipynb").exists()
    with pytest.raises(FileNotFoundError, match="no exercise source"):
        write_source_notebooks(exercises, course, ["missing-assignment"])


def test_readme_table_gives_each_assignments_points(source_notebooks):
    """exercises/README.md lists every assignment with its question points and total."""
    text = (EXERCISES / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (.+) \|$", text, flags=re.M))
    assert set(rows) == set(ASSIGNMENTS)
    for name, nb in source_notebooks.items():
        points = [nbgrader_meta(c)["points"] for c in nb.cells
                  if nbgrader_meta(c) and nbgrader_meta(c)["grade"]]
        questions, total = rows[name].rsplit(" | ", 1)
        assert [int(p) for p in re.findall(r"\((\d+)(?:, by hand)?\)", questions)] == points
        assert int(total) == sum(points)


def _top_level_names(source: str) -> set[str]:
    """Names a cell defines at top level (functions, classes, assignments)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _used_names(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_each_question_is_graded_on_its_own_answer(name, source_notebooks):
    """Partial credit is exact: a test cell (and an answer) uses no other question's answer.

    A student who answers some questions then earns exactly their points: the answered
    questions' cells run as in the solution, the others fail as in the blank release.
    """
    nb = source_notebooks[name]
    answers = {nbgrader_meta(c)["grade_id"]: _top_level_names(c.source) for c in nb.cells
               if c.cell_type == "code" and nbgrader_meta(c)["solution"]}
    assert answers
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_meta(cell)
        if meta["solution"]:
            own = meta["grade_id"]
        elif is_test_cell(cell):
            own = meta["grade_id"].removesuffix("-tests")
            assert own in answers, f"{meta['grade_id']} is not named after its answer cell"
        else:
            own = None
        others = set().union(*(names for gid, names in answers.items() if gid != own))
        assert not _used_names(cell.source) & others, (meta["grade_id"], _used_names(cell.source) & others)
