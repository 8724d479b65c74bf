"""``autograder feedback``: one self-contained HTML page per student and notebook.

The page is built from the stored grading result (``autograder_status``) and the gradebook's
current scores, so marks given by hand later show up. What a student may see, and what never:

* test cells are shown as released (``course.release_dir``), never as they ran: the source
  notebook's hidden tests are not read for display, only to blank them out of anything else;
* a test cell's own output is never shown (its traceback quotes the hidden lines); its checks
  are: visible ones with their message, hidden ones only as passed or failed, without names,
  a failed one with the kind of difference (the two shapes, or N of M values differ);
* an error that a test cell raised after its visible checks had all run may come from the hidden
  tests, so only its type is shown;
* everything that came out of the submission's run or the submission itself (answers, output,
  error messages, notes, file names) is HTML-escaped, and any line of a hidden test, a hidden
  check's name or the grading seed in it is replaced by ``[hidden]``.

What the student's own code prints is shown. No filter can stop code that sets out to smuggle
the hidden inputs out through its own output in some encoding: release again (a fresh seed, so
fresh hidden inputs) before grading resubmissions made after feedback was given.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from .course import Course
from .export import NotebookScores, QuestionScore, read_scores
from .grade import STATUS_WORDS
from .gradebook import read_statuses
from .notebook import Cell, parse_cells

HIDDEN = "[hidden]"
_BEGIN_HIDDEN = re.compile(r"#+\s*BEGIN HIDDEN TESTS")
_END_HIDDEN = re.compile(r"#+\s*END HIDDEN TESTS")
_NOT_RUN = "this check did not run"  # scoring.score_cell's message for a check with no value

#: What a student can do about a notebook that could not be graded.
ADVICE = {
    "missing": "Submit your notebook under the name the assignment gave it (see above); a "
               "renamed copy cannot be matched to the assignment.",
    "invalid": "The file could not be read as a Jupyter notebook. Check that it still opens in "
               "Jupyter, save it there, and submit that file.",
    "timeout": "Your notebook took too long. Look for a loop that never ends or work that is "
               "much larger than the question needs, then run the whole notebook yourself "
               "(Restart & Run All) before submitting.",
    "memory": "Your notebook used too much memory. Look for arrays or models far larger than the "
              "question needs.",
    "output-limit": "Your notebook printed or wrote too much. Remove large prints and files.",
    "crashed": "Your notebook stopped its own process (for example with sys.exit() or os._exit()). "
               "Remove such calls.",
    "workers-lost": "The grading machine running your notebook failed twice, so your notebook "
                    "was not run again. Run it yourself (Restart & Run All) and look for code "
                    "that ends processes.",
    "error": "The grader itself failed on your notebook. This is not your fault: your instructor "
             "has been told.",
}

CSS = """
:root { --ok: #1a6b2e; --bad: #a12622; --muted: #555; --line: #d0d0d0; --code: #f5f5f5; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.55;
       color: #1b1b1b; background: #fff; max-width: 52rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.3rem; } h2 { font-size: 1.3rem; margin-top: 2.2rem; }
h3 { font-size: 1.15rem; margin-top: 1.8rem; } h4 { font-size: 1.05rem; margin: 0 0 0.4rem; }
.meta { color: var(--muted); margin: 0; }
.summary { border: 1px solid var(--line); border-left: 6px solid var(--muted); padding: 0.8rem 1rem;
           margin: 1rem 0; border-radius: 4px; }
.summary.ok { border-left-color: var(--ok); } .summary.bad { border-left-color: var(--bad); }
.summary p { margin: 0.25rem 0; } .total { font-size: 1.25rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid var(--line); padding: 0.3rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 4px; padding: 0.6rem;
      overflow-x: auto; white-space: pre-wrap; word-break: break-word; font-size: 0.9rem; }
.cell { margin: 1rem 0; } .question { border: 1px solid var(--line); border-radius: 4px;
                                       padding: 0.8rem 1rem; margin: 1rem 0; }
.label { font-size: 0.85rem; color: var(--muted); margin: 0.6rem 0 0.2rem; font-weight: 600; }
.pass { color: var(--ok); font-weight: 600; } .fail { color: var(--bad); font-weight: 600; }
.part { color: #7a4a00; font-weight: 600; }
.error { border-left: 4px solid var(--bad); background: #fdf1f0; padding: 0.4rem 0.8rem; }
.prose { color: #333; } .math { font-family: ui-monospace, monospace; }
details summary { cursor: pointer; color: var(--muted); }
ul.checks { padding-left: 1.2rem; } ul.checks li { margin: 0.2rem 0; }
a:focus, summary:focus { outline: 3px solid #2f6fab; outline-offset: 2px; }
"""


# --- what must never reach a student ------------------------------------------------------------

def hidden_region_lines(text: str) -> list[str]:
    """Non-blank lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``."""
    lines, inside = [], False
    for line in text.splitlines():
        if _BEGIN_HIDDEN.search(line):
            inside = True
        elif _END_HIDDEN.search(line):
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def _visible_prefix(text: str) -> str:
    """The part of a test cell that runs before its first hidden test."""
    match = _BEGIN_HIDDEN.search(text)
    return text[:match.start()] if match else text


@dataclass
class Redactor:
    """Replaces hidden-test text and the grading seed in text that came from a submission."""

    secrets: list[str]
    seed: str | None = None

    @classmethod
    def for_assignment(cls, source: dict[str, list[Cell]], release: dict[str, list[Cell]],
                       key: dict) -> Redactor:
        released = {line.strip() for cells in release.values() for c in cells
                    for line in c.source.splitlines()}
        secrets = {line for cells in source.values() for c in cells
                   for line in hidden_region_lines(c.source)
                   if len(line) > 3 and line not in released}
        secrets |= {name for nb in key["notebooks"].values() for cell in nb["cells"].values()
                    for name, value in cell["values"].items() if value["hidden"] and len(name) > 3}
        secrets |= {"BEGIN HIDDEN TESTS", "END HIDDEN TESTS"}
        # A short seed would match ordinary numbers; a release's own seeds are large.
        seed = str(key["seed"]) if abs(int(key["seed"])) >= 10**5 else None
        # Longest first, so a line is replaced whole rather than around a name inside it.
        return cls(sorted(secrets, key=len, reverse=True), seed)

    def __call__(self, text: str | None) -> str:
        text = "" if text is None else str(text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, HIDDEN)
        if self.seed:
            text = re.sub(rf"(?<!\d){re.escape(self.seed)}(?!\d)", HIDDEN, text)
        return text


# --- page pieces --------------------------------------------------------------------------------

def esc(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _exception_name(ename: str) -> str:
    """A plain exception name, or a neutral word if the name is odd (names are student-made)."""
    ename = (ename or "").strip()
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", ename):
        return ename
    return "an error"


def _error_html(redact: Redactor, ename: str, evalue: str, details: bool = True) -> str:
    name = _exception_name(ename)
    if details:
        message = f"{esc(redact(ename))}: {esc(redact(evalue))}" if evalue else esc(redact(ename))
        text = f"<p>The cell raised an error:</p><pre>{message}</pre>"
    else:
        text = (f"<p>The cell raised <code>{esc(redact(name))}</code> while the hidden tests "
                "ran. Its message is not shown, because it could reveal the hidden inputs. "
                "Call your function on inputs of other shapes and values to find the "
                "problem.</p>")
    if name == "NotImplementedError":
        text += ("<p>Your answer still raises <code>NotImplementedError</code>: replace "
                 "<code>raise NotImplementedError()</code> with your code.</p>")
    return f"<div class='error' role='note'>{text}</div>"


def _output_html(redact: Redactor, end: dict | None) -> str:
    if not end:
        return "<p class='label'>This cell did not run.</p>"
    parts = []
    if end.get("out"):
        parts.append(f"<p class='label'>Output</p><pre>{esc(redact(end['out']))}</pre>")
    if not end.get("ok"):
        parts.append(_error_html(redact, end.get("ename", ""), end.get("evalue", "")))
    return "".join(parts)


def _score_words(question: QuestionScore | None, fallback: dict | None) -> tuple[str, str]:
    """(score text, css class) for a question, from the gradebook, else the stored result."""
    if question is not None:
        score, max_score = question.score, question.max_score
    elif fallback is not None:
        score, max_score = fallback.get("auto_score"), fallback.get("max_score", 0.0)
    else:
        return "no score", ""
    if score is None:
        return f"not marked yet (out of {max_score:g})", ""
    css = "pass" if score >= max_score else "fail" if score <= 0 else "part"
    return f"{score:g} / {max_score:g}", css


@dataclass
class _NotebookPage:
    course: Course
    assignment: str
    student: str
    result: dict  # the student's stored result
    notebook: dict  # its entry for this notebook
    release: list[Cell]
    source: list[Cell]
    scores: NotebookScores | None
    redact: Redactor
    markdown: MarkdownIt
    parts: list[str] = field(default_factory=list)

    def question(self, grade_id: str) -> QuestionScore | None:
        return self.scores.questions.get(grade_id) if self.scores else None

    def render(self) -> str:
        nb, name = self.notebook, self.notebook["name"]
        graded = bool(nb.get("scored")) and self.scores is not None
        title = f"Feedback: {self.assignment}" + (f" / {name}" if name != self.assignment else "")
        self.parts.append(f"<header><h1>{esc(title)}</h1>"
                          f"<p class='meta'>Student: {esc(self.student)}"
                          + (f" &middot; submitted {esc(self.result['timestamp'])}"
                             if self.result.get("timestamp") else "") + "</p></header>")
        self.summary(graded)
        if graded and nb.get("cells_run"):
            self.questions_table()
            self.parts.append("<h2>Your notebook, cell by cell</h2>")
            self.cells()
        return self.page(title)

    def summary(self, graded: bool) -> None:
        nb = self.notebook
        status = nb["status"]
        css = "ok" if status in ("graded", "repaired") else "bad"
        lines = [f"<p><strong>Status:</strong> {esc(STATUS_WORDS.get(status, status))}</p>"]
        if nb.get("reason"):
            lines.append(f"<p><strong>Why:</strong> {esc(self.redact(nb['reason']))}</p>")
        if graded:
            total = f"{self.scores.score:g} / {self.scores.max_score:g} points"
            lines.append(f"<p class='total'>Score: {total}</p>")
            if self.scores.pending:
                lines.append(f"<p>{self.scores.pending:g} of these points are for answers that "
                             "are marked by hand and have not been marked yet.</p>")
        elif nb.get("scored"):
            lines.append("<p class='total'>Score: not available yet</p><p>Your notebook ran, "
                         "but its scores are not in the gradebook; ask your instructor.</p>")
        else:
            lines.append("<p class='total'>Score: none, because the notebook could not be "
                         "graded (this is not a mark of 0).</p>")
            if status in ADVICE:
                lines.append(f"<p>{esc(ADVICE[status])}</p>")
        if nb.get("notes"):
            lines.append("<p><strong>Notes from the grader:</strong></p><ul>"
                         + "".join(f"<li>{esc(self.redact(n))}</li>" for n in nb["notes"])
                         + "</ul>")
        self.parts.append(f"<section class='summary {css}' aria-label='summary'>"
                          + "".join(lines) + "</section>")

    def questions_table(self) -> None:
        rows = []
        for cell in self.release:
            if not (cell.grade_id and cell.nbgrader.get("grade")):
                continue
            words, css = _score_words(self.question(cell.grade_id),
                                      self.notebook["cells"].get(cell.grade_id))
            kind = "by hand" if cell.nbgrader.get("solution") else "automatic"
            rows.append(f"<tr><td><a href='#{esc(cell.grade_id)}'>{esc(cell.grade_id)}</a></td>"
                        f"<td>{kind}</td><td class='num {css}'>{esc(words)}</td></tr>")
        self.parts.append("<table><caption>Scores per question</caption><tr>"
                          "<th scope='col'>question</th><th scope='col'>graded</th>"
                          "<th scope='col'>score</th></tr>" + "".join(rows) + "</table>")

    def cells(self) -> None:
        release_by_id = {c.grade_id: c for c in self.release if c.grade_id}
        # Instructor and answer cells run in the source's order, which is the release's order.
        aligned = len(self.release) == len(self.source)
        position = 0
        outputs = self.notebook.get("outputs", {})
        for run in self.notebook["cells_run"]:
            end = outputs.get(str(run["index"]))
            if run["origin"] == "student-added":
                self.parts.append("<section class='cell'><h4>A cell you added</h4>"
                                  f"<pre><code>{esc(self.redact(run['source']))}</code></pre>"
                                  f"{_output_html(self.redact, end)}</section>")
                continue
            released = release_by_id.get(run["grade_id"]) if run["grade_id"] else (
                self.release[position] if aligned and position < len(self.release)
                and not self.release[position].grade_id else None)
            position += 1
            if released is None:
                continue  # nothing the student may see stands for this cell
            if run["origin"] == "answer":
                self.answer(run, released, end)
            elif released.is_test:
                self.test(run, released, end)
            elif released.cell_type == "markdown":
                self.parts.append(f"<div class='cell prose'>"
                                  f"{_render_prose(self.markdown, released.source)}</div>")
            elif released.cell_type == "code":
                self.parts.append("<section class='cell'><p class='label'>Code given in the "
                                  f"assignment</p><pre><code>{esc(released.source)}</code></pre>"
                                  f"{_output_html(self.redact, end)}</section>")

    def answer(self, run: dict, released: Cell, end: dict | None) -> None:
        gid = run["grade_id"]
        stored = self.notebook["cells"].get(gid)
        unanswered = run["source"].strip() == released.source.strip()
        body = [f"<section class='cell question' id='{esc(gid)}'>"]
        manual = bool(released.nbgrader.get("grade"))
        heading = f"Your answer: {gid}"
        if manual:
            words, css = _score_words(self.question(gid), stored)
            heading += " (marked by hand)"
            body.append(f"<h4>{esc(heading)}</h4><p>Score: <span class='{css}'>{esc(words)}"
                        "</span></p>")
        else:
            body.append(f"<h4>{esc(heading)}</h4>")
        if unanswered:
            body.append("<p>You left this answer as it was released.</p>")
        body.append(f"<pre>{esc(self.redact(run['source']))}</pre>" if run["cell_type"] != "code"
                    else f"<pre><code>{esc(self.redact(run['source']))}</code></pre>")
        if run["cell_type"] == "code":
            body.append(_output_html(self.redact, end))
        question = self.question(gid)
        if question is not None and question.comment:
            body.append(f"<p class='label'>Comment from your grader</p>"
                        f"<pre>{esc(question.comment)}</pre>")
        body.append("</section>")
        self.parts.append("".join(body))

    def test(self, run: dict, released: Cell, end: dict | None) -> None:
        gid = run["grade_id"]
        stored = self.notebook["cells"].get(gid, {})
        words, css = _score_words(self.question(gid), stored or None)
        body = [f"<section class='cell question' id='{esc(gid)}'>",
                f"<h4>Tests: {esc(gid)}</h4>",
                f"<p>Score: <span class='{css}'>{esc(words)}</span></p>",
                "<details><summary>The visible test code</summary>"
                f"<pre><code>{esc(_visible_text(released.source))}</code></pre></details>",
                "<ul class='checks'>"]
        hidden_count = 0
        for check in stored.get("checks", []):
            mark = ("<span class='pass'>&#10003; passed</span>" if check["passed"]
                    else "<span class='fail'>&#10007; failed</span>")
            if check["hidden"]:
                hidden_count += 1
                # Its message tells the kind of difference only (scoring.score_cell).
                kind = "" if check["passed"] else f": {esc(self.redact(check['message']))}"
                body.append(f"<li>hidden check {hidden_count}: {mark}{kind}</li>")
            else:
                message = "" if check["passed"] else f": {esc(self.redact(check['message']))}"
                body.append(f"<li><code>{esc(check['name'])}</code>: {mark}{message}</li>")
        body.append("</ul>")
        if hidden_count:
            body.append("<p class='label'>Hidden checks run your code on inputs you have not "
                        "seen; only whether they passed is shown, and for a failed one the kind "
                        "of difference (the two shapes, or how many values differ).</p>")
        if end and not end.get("ok"):
            body.append(_error_html(self.redact, end.get("ename", ""), end.get("evalue", ""),
                                    details=self._error_before_hidden(gid, stored)))
        elif not end:
            body.append("<p>This test cell did not run (the notebook stopped before it).</p>")
        body.append("</section>")
        self.parts.append("".join(body))

    def _error_before_hidden(self, gid: str, stored: dict) -> bool:
        """Whether a test cell's error came from its visible part: a visible check written
        before the hidden tests never reported a value."""
        source = next((c for c in self.source if c.grade_id == gid), None)
        if source is None:
            return False
        prefix = _visible_prefix(source.source)
        return any(not c["hidden"] and c["message"] == _NOT_RUN
                   and (f'"{c["name"]}"' in prefix or f"'{c['name']}'" in prefix)
                   for c in stored.get("checks", []))

    def page(self, title: str) -> str:
        return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
                + "\n".join(self.parts) + "</main></body></html>\n")


def _render_prose(markdown: MarkdownIt, text: str) -> str:
    """The assignment's Markdown, its headings one level down (the page's title is the h1)."""
    tokens = markdown.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"
    return markdown.renderer.render(tokens, markdown.options, {})


def _visible_text(text: str) -> str:
    """A released test cell, with any hidden region cut out (the release has none)."""
    kept, inside = [], False
    for line in text.splitlines():
        if _BEGIN_HIDDEN.search(line):
            inside = True
        elif _END_HIDDEN.search(line):
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _load_cells(path: Path, where: str) -> list[Cell]:
    return parse_cells(json.loads(path.read_text()), where)


def write_feedback(course: Course, assignment: str,
                   students: list[str] | None = None) -> list[Path]:
    """Write the feedback pages of ``students`` (default: everyone with a grading result)."""
    results = read_statuses(course.db_url, course.course_id, assignment)
    if students is None:
        students = sorted(results)
    unknown = [s for s in students if s not in results]
    if unknown:
        raise ValueError(f"no grading result of {assignment!r} for: {', '.join(unknown)} "
                         "(run `autograder grade` first)")
    key = json.loads(course.key_path(assignment).read_text())
    names = sorted(key["notebooks"])
    release = {n: _load_cells(course.release_dir(assignment) / f"{n}.ipynb", "the release")
               for n in names}
    source = {n: _load_cells(course.source_dir(assignment) / f"{n}.ipynb", "the source")
              for n in names}
    redact = Redactor.for_assignment(source, release, key)
    # The release's prose is the instructor's; raw HTML in it is still shown as text. Math is
    # kept verbatim (LaTeX) rather than mangled by Markdown's backslash escapes.
    markdown = MarkdownIt("commonmark", {"html": False}).use(dollarmath_plugin)
    scores = read_scores(course, assignment)
    written = []
    for student in students:
        result = results[student]
        folder = course.feedback_dir(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        for notebook in result["notebooks"]:
            name = notebook["name"]
            if name not in release:
                continue
            page = _NotebookPage(course, assignment, student, result, notebook, release[name],
                                 source[name], scores.get(student, {}).get(name), redact,
                                 markdown)
            path = folder / f"{name}.html"
            path.write_text(page.render(), encoding="utf-8")
            written.append(path)
    return written
