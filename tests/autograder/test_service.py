"""The submission service (issue 17) as students and instructors use it: a real ``autograder
serve`` process on the course's SQLite gradebook, real Chromium, real requests.

Every response any test here receives is kept; the last test scans them all for the hidden
tests' source, the seed and the answer key's hidden values.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets as random_secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from autograder import simulate
from tests.browser.browser_helpers import (
    ARTIFACTS,
    AXE_JS,
    AXE_RUN,
    DESKTOP,
    PHONE,
    chromium_browser,
    open_context,
)

from .conftest import ASSIGNMENT, fresh_course, partial_answers
from .service_helpers import (
    PASSWORD,
    Responses,
    Service,
    make_class,
    secret_strings,
    upload,
    wait_graded,
)

pytestmark = [pytest.mark.grading, pytest.mark.browser]

NB = ASSIGNMENT
SCRIPT = "<script>alert('x')</script>"
IMG = "<img src=x onerror=alert(2)>"
STUDENTS = [
    ("ada", "Ada Lovelace", "ada@example.org"),
    ("blaise", "Blaise Pascal", "blaise@example.org"),
    ("mallory", f"Mallory {SCRIPT}", "mallory@example.org"),
    ("hugo", "Hugo Wrongshape", "hugo@example.org"),
    ("rita", "Rita Ratelimit", "rita@example.org"),
]
SHOTS = ARTIFACTS / "service"


@pytest.fixture(scope="module")
def responses() -> Responses:
    return Responses()


class Class:
    def __init__(self, course, service: Service, tokens: dict[str, str]) -> None:
        self.course = course
        self.service = service
        self.tokens = tokens
        key = json.loads(course.key_path(ASSIGNMENT).read_text())["notebooks"][NB]
        self.auto_total = sum(c["points"] for c in key["cells"].values())
        self.max_score = self.auto_total + sum(c["points"] for c in key["manual"].values())
        self.full = simulate.to_bytes(simulate.answered(course, ASSIGNMENT, NB, None))
        chosen, self.partial_points = partial_answers(course)
        self.partial = simulate.to_bytes(simulate.answered(course, ASSIGNMENT, NB, chosen))


@pytest.fixture(scope="module")
def svc(released_course, tmp_path_factory) -> Iterator[Class]:
    folder = tmp_path_factory.mktemp("service")
    course = fresh_course(released_course, folder)
    service = Service(course, folder / "serve.log", workers=2)
    tokens = make_class(course, STUDENTS, folder / "links.csv", service.base)
    service.start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield Class(course, service, tokens)
    service.stop()
    (SHOTS / "serve.log").write_text(service.tail())


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as chromium:
        yield chromium


def audit(page, name: str, responses: Responses, viewport: dict = DESKTOP) -> None:
    """Screenshot the page, keep its HTML for the scan, and run axe-core on it (the CSP forbids
    inline scripts, so axe is evaluated, not injected as a tag)."""
    page.set_viewport_size(viewport)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    responses.add(page.url, page.content().encode())
    page.evaluate(AXE_JS.read_text())
    violations = page.evaluate(AXE_RUN)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], (name, serious)


def sign_in(browser, responses: Responses, svc: Class, student: str):
    context, page, log = open_context(browser, DESKTOP)
    page.on("response", lambda r: _keep(responses, r))
    page.goto(svc.service.url(f"/s/{svc.tokens[student]}"))
    return context, page, log


def _keep(responses: Responses, response) -> None:
    if "/events" in response.url:
        return  # a stream; its messages are read by the page
    try:
        responses.add(response.url, response.body())
    except Exception:  # noqa: BLE001 - a redirect or a download has no body to keep
        pass


# --- students -----------------------------------------------------------------------------------


def test_student_uploads_and_sees_the_status_change_live(browser, svc, responses):
    context, page, log = sign_in(browser, responses, svc, "ada")
    assert page.url == svc.service.url("/")
    assert "Ada Lovelace" in page.text_content("header")
    audit(page, "student-home", responses)
    page.click(f"text={ASSIGNMENT}")
    audit(page, "assignment", responses)
    audit(page, "assignment-phone", responses, PHONE)
    page.set_viewport_size(DESKTOP)
    page.set_input_files(
        "#notebook", {"name": f"{NB}.ipynb", "mimeType": "application/json", "buffer": svc.full}
    )
    page.click("text=Submit for grading")
    page.wait_for_url(re.compile(r"/submissions/[0-9a-f]{32}$"))
    landed = page.url
    navigations = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    states = [page.text_content("#state").strip()]
    deadline = time.monotonic() + 600
    while not states[-1].startswith("Graded") and time.monotonic() < deadline:
        text = page.text_content("#state").strip()
        if text != states[-1]:
            states.append(text)
        time.sleep(0.05)
    assert states[-1] == "Graded: graded", states
    assert len(states) >= 2 and states[0].startswith(("Queued", "Grading")), states
    assert navigations == [] and page.url == landed, "the page reloaded"
    total = page.text_content(".total")
    assert f"Score: {svc.auto_total:g} / {svc.max_score:g} points" in total
    table = page.text_content("table.questions")
    assert "hidden check 1" in table and "✓ passed" in table and "not marked yet" in table
    audit(page, "result", responses)
    audit(page, "result-phone", responses, PHONE)
    assert log.console_errors == [] and log.foreign == []
    context.close()


def test_hidden_checks_tell_the_kind_of_difference(svc, responses):
    """hugo's answers are right on the visible inputs only: one returns the input unchanged
    for the hidden one (wrong shape), one is off by one there (values differ)."""
    solution = simulate.answered(svc.course, ASSIGNMENT, NB, None)
    wrong = simulate.answered(
        svc.course,
        ASSIGNMENT,
        NB,
        None,
        wrong={
            "upsample-nearest": "def upsample_nearest(x):\n"
            "    if x.shape[-1] == 2:\n        return x\n"
            "    return keras.layers.UpSampling2D()(x).numpy()\n",
            "upsample-by": "def upsample_by(x, rows, cols):\n"
            "    y = np.repeat(np.repeat(x, rows, axis=1), cols, axis=2)\n"
            "    return y + 1 if x.shape[-1] == 2 else y\n",
        },
    )
    assert wrong != solution
    session = responses.session()
    sent = upload(session, svc.service, svc.tokens["hugo"], simulate.to_bytes(wrong))
    assert sent.status_code == 201, sent.text
    result = wait_graded(session, svc.service, svc.tokens["hugo"], sent.json()["id"])["result"]
    checks = {q["grade_id"]: q["checks"] for q in result["questions"]}
    hidden = {gid: [c for c in cs if c["name"] is None][0] for gid, cs in checks.items() if cs}
    assert not hidden["upsample-nearest-tests"]["passed"]
    assert re.fullmatch(
        r"expected shape \(2, 6, 8, 2\), got shape \(2, 3, 4, 2\)",
        hidden["upsample-nearest-tests"]["message"],
    )
    assert re.fullmatch(r"\d+ of \d+ values differ", hidden["upsample-by-tests"]["message"])
    assert all(c["passed"] for c in checks["upsample-nearest-tests"] if c["name"] is not None)
    assert hidden["upsample-bilinear-tests"]["passed"]


def test_another_student_finds_nothing_by_guessing_urls(browser, svc, responses):
    session = responses.session()
    ada = svc.tokens["ada"]
    mine = session.get(
        svc.service.url("/api/assignments"), headers={"Authorization": f"Bearer {ada}"}
    )
    assert mine.status_code == 200
    first = upload(session, svc.service, ada, svc.partial)
    assert first.status_code == 201
    ada_id = first.json()["id"]
    context, page, _ = sign_in(browser, responses, svc, "blaise")
    unknown = random_secrets.token_hex(16)
    for public_id in (ada_id, unknown):
        for path in (
            f"/submissions/{public_id}",
            f"/submissions/{public_id}/result",
            f"/submissions/{public_id}/notebook.ipynb",
        ):
            response = page.goto(svc.service.url(path))
            assert response.status == 404, path
            assert "not yours to see" in page.text_content("main")
        for path in (f"/api/submissions/{public_id}", f"/api/submissions/{public_id}/events"):
            response = session.get(
                svc.service.url(path), headers={"Authorization": f"Bearer {svc.tokens['blaise']}"}
            )
            assert response.status_code == 404 and response.json() == {
                "detail": "no such submission"
            }, path
    page.goto(svc.service.url(f"/submissions/{ada_id}"))
    audit(page, "not-found", responses)
    context.close()


def test_instructor_dashboard_regrade_and_exports(browser, svc, responses):
    session = responses.session()
    sent = upload(session, svc.service, svc.tokens["blaise"], svc.partial)
    blaise_id = sent.json()["id"]
    wait_graded(session, svc.service, svc.tokens["blaise"], blaise_id)
    context, page, log = open_context(browser, DESKTOP)
    page.on("response", lambda r: _keep(responses, r))
    page.goto(svc.service.url("/login"))
    audit(page, "login", responses)
    page.fill("#username", "prof")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(svc.service.url("/instructor"))
    audit(page, "instructor-home", responses)
    page.click(f"text={ASSIGNMENT}")
    rows = {
        r.query_selector("td").text_content(): r.text_content()
        for r in page.query_selector_all("table:has(caption:text('Every student')) tbody tr")
    }
    assert "graded" in rows["Ada Lovelace"] and "graded" in rows["Blaise Pascal"]
    assert f"{svc.partial_points:g}" in rows["Blaise Pascal"]
    assert "no submission" in rows["Rita Ratelimit"]
    assert "pass rate" in page.text_content("main")
    assert page.query_selector("svg.histogram rect") is not None
    audit(page, "dashboard", responses)
    audit(page, "dashboard-phone", responses, PHONE)
    page.set_viewport_size(DESKTOP)

    # A regrade of blaise's submission: the same score, graded once more.
    page.goto(svc.service.url(f"/submissions/{blaise_id}"))
    assert "Blaise Pascal" in page.text_content("main")
    audit(page, "submission-detail", responses)
    page.click("text=Regrade this submission")
    deadline = time.monotonic() + 600  # (wait_for_function would need eval, which the CSP forbids)
    while page.get_attribute("#result", "data-state") != "graded":
        assert time.monotonic() < deadline, "the regrade did not finish"
        time.sleep(0.1)
    again = wait_graded(session, svc.service, svc.tokens["blaise"], blaise_id)
    assert again["result"]["score"] == svc.partial_points

    # A mark by hand on the counting submission shows in the exports.
    page.fill("#mark-overlap-explanation", "2")
    page.click("text=Save marks")
    page.goto(svc.service.url(f"/instructor/assignments/{ASSIGNMENT}"))
    with page.expect_download() as download:
        page.click("text=marks CSV")
    marks = {
        r["student"]: r
        for r in csv.DictReader(io.StringIO(Path(download.value.path()).read_text()))
    }
    assert float(marks["blaise"]["score"]) == svc.partial_points + 2
    assert marks["blaise"]["overlap-explanation"] == "2"
    with page.expect_download() as download:
        page.click("text=Canvas gradebook import CSV")
    canvas = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) == svc.max_score
    by_sis = {row[2]: row for row in canvas[2:]}
    assert float(by_sis["blaise"][5]) == svc.partial_points + 2
    assert by_sis["rita"][5] == ""

    page.goto(svc.service.url("/instructor/people"))
    assert SCRIPT in page.text_content("main")  # shown as text
    audit(page, "people", responses)
    assert log.console_errors == [] and log.foreign == []
    context.close()


# --- abuse --------------------------------------------------------------------------------------


def _signed_in(responses: Responses, svc: Class, student: str):
    session = responses.session()
    assert session.get(svc.service.url(f"/s/{svc.tokens[student]}")).status_code == 200
    return session


def _csrf(session, svc: Class, path: str) -> str:
    html = session.get(svc.service.url(path)).text
    found = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def test_forms_without_the_right_csrf_token_are_refused(svc, responses):
    session = _signed_in(responses, svc, "blaise")
    token = _csrf(session, svc, f"/assignments/{ASSIGNMENT}")
    target = svc.service.url(f"/assignments/{ASSIGNMENT}/submissions")
    files = {"notebook": (f"{NB}.ipynb", svc.partial)}
    before = session.get(svc.service.url(f"/assignments/{ASSIGNMENT}")).text.count("/submissions/")
    for data in ({}, {"csrftoken": "wrong" + token[5:]}):
        refused = session.post(target, data=data, files=files, allow_redirects=False)
        assert refused.status_code == 403 and "security token" in refused.text
    # A form from another site carries no token: refused too, even for signing in.
    bare = responses.session()
    refused = bare.post(svc.service.url("/login"), data={"username": "prof", "password": PASSWORD})
    assert refused.status_code == 403
    after = session.get(svc.service.url(f"/assignments/{ASSIGNMENT}")).text.count("/submissions/")
    assert after == before, "a refused form was acted on"
    accepted = session.post(target, data={"csrftoken": token}, files=files, allow_redirects=False)
    assert accepted.status_code == 303


def test_unknown_and_wrong_tokens_are_indistinguishable(svc, responses):
    session = responses.session()
    real = svc.tokens["ada"]
    candidates = [
        random_secrets.token_urlsafe(32),
        real[:-1] + ("A" if real[-1] != "A" else "B"),
        "x",
        real.upper() if real.upper() != real else real.lower(),
    ]
    pages = [session.get(svc.service.url(f"/s/{t}")) for t in candidates]
    assert {p.status_code for p in pages} == {403}
    assert len({p.text for p in pages}) == 1 and "not valid" in pages[0].text
    apis = [
        session.get(svc.service.url("/api/assignments"), headers={"Authorization": f"Bearer {t}"})
        for t in candidates
    ]
    assert {a.status_code for a in apis} == {401} and len({a.text for a in apis}) == 1


def test_oversize_and_non_notebook_uploads_are_refused_clearly(svc, responses):
    session = responses.session()
    token = svc.tokens["mallory"]
    big = b'{"cells": [], "pad": "' + b"x" * (9 * 1024**2) + b'"}'
    refused = upload(session, svc.service, token, big)
    assert refused.status_code == 413
    assert "at most 8.0 MB" in refused.json()["detail"]
    huge = upload(session, svc.service, token, b"x" * (18 * 1024**2))
    assert huge.status_code == 413 and "larger than this service accepts" in huge.text
    text = upload(session, svc.service, token, b"my answers", filename="answers.txt")
    assert text.status_code == 404  # no assignment has a notebook of that name
    named = session.post(
        svc.service.url("/api/submissions"),
        headers={"Authorization": f"Bearer {token}"},
        data={"assignment": ASSIGNMENT},
        files={"notebook": ("answers.txt", b"my answers")},
    )
    assert named.status_code == 415 and "is not a notebook" in named.json()["detail"]
    broken = upload(session, svc.service, token, b"{ not json")
    assert broken.status_code == 415
    assert "cannot be graded" in broken.json()["detail"]
    assert "not valid JSON" in broken.json()["detail"]


def test_names_and_notebook_content_are_escaped(browser, svc, responses):
    nb = simulate.answered(
        svc.course,
        ASSIGNMENT,
        NB,
        None,
        wrong={
            "upsample-nearest": f"print({SCRIPT!r})\ndef upsample_nearest(x):\n    return {IMG!r}\n"
        },
    )
    session = responses.session()
    sent = upload(
        session,
        svc.service,
        svc.tokens["mallory"],
        simulate.to_bytes(nb),
        filename=f"{IMG}{NB}.ipynb",
        assignment=ASSIGNMENT,
    )
    assert sent.status_code == 201, sent.text
    result = wait_graded(session, svc.service, svc.tokens["mallory"], sent.json()["id"])
    assert not result["result"]["questions"][0]["checks"][0]["passed"]
    context, page, _ = sign_in(browser, responses, svc, "mallory")
    pages = [f"/submissions/{sent.json()['id']}", f"/assignments/{ASSIGNMENT}", "/"]
    for path in pages:
        page.goto(svc.service.url(path))
        soup = BeautifulSoup(page.content(), "html.parser")
        scripts = [s.get("src") for s in soup.find_all("script")]
        assert all(src and src.startswith("/static/") for src in scripts), path
        assert soup.find_all(["img", "iframe"]) == [], path
        assert not [t for t in soup.find_all(True) if any(a.startswith("on") for a in t.attrs)]
    assert SCRIPT in page.text_content("header")  # the name, as text
    page.goto(svc.service.url(pages[0]))
    assert IMG in page.text_content("main")  # the file name, as text
    audit(page, "escaped", responses)
    context.close()


def test_the_rate_limit_holds_under_concurrent_uploads(svc, responses):
    session = _signed_in(responses, svc, "rita")
    instructor = responses.session()
    token = _csrf(instructor, svc, "/login")
    instructor.post(
        svc.service.url("/login"),
        data={"csrftoken": token, "username": "prof", "password": PASSWORD},
    )
    form = _csrf(instructor, svc, f"/instructor/assignments/{ASSIGNMENT}")
    saved = instructor.post(
        svc.service.url(f"/instructor/assignments/{ASSIGNMENT}/policy"),
        data={
            "csrftoken": form,
            "late": "refuse",
            "penalty": "10",
            "per_hour": "3",
            "counts": "best",
            "max_mb": "8",
        },
    )
    assert "The policy was saved" in saved.text
    try:
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(
                    lambda _: upload(
                        responses.session(), svc.service, svc.tokens["rita"], svc.partial
                    ),
                    range(6),
                )
            )
        assert sorted(a.status_code for a in answers) == [201] * 3 + [429] * 3
        refusal = next(a for a in answers if a.status_code == 429).json()["detail"]
        assert re.fullmatch(
            r"You have submitted 3 times in the last hour, the limit for this "
            r"assignment\. You can submit again at \d\d:\d\d UTC \(in \d+ "
            r"minutes?\)\.",
            refusal,
        ), refusal
        page = session.get(svc.service.url(f"/assignments/{ASSIGNMENT}")).text
        assert "Up to 3 submissions per hour; the best graded submission counts." in BeautifulSoup(
            page, "html.parser"
        ).get_text(" ").replace("\n", " ").replace("  ", " ")
    finally:
        form = _csrf(instructor, svc, f"/instructor/assignments/{ASSIGNMENT}")
        instructor.post(
            svc.service.url(f"/instructor/assignments/{ASSIGNMENT}/policy"),
            data={
                "csrftoken": form,
                "late": "refuse",
                "penalty": "10",
                "per_hour": "10",
                "counts": "last",
                "max_mb": "8",
            },
        )


def test_without_the_sandbox_the_service_refuses_or_says_so(svc, tmp_path, responses):
    bin_only = f"{Path(sys.executable).parent}"  # no bwrap on this PATH
    command = [
        sys.executable,
        "-m",
        "autograder",
        "serve",
        "--course",
        str(svc.course.root),
        "--db-url",
        svc.course.db_url,
        "--workers",
        "1",
    ]
    refused = subprocess.run(
        command + ["--port", "1"],
        capture_output=True,
        text=True,
        env={"PATH": bin_only, "HOME": str(tmp_path)},
        timeout=300,
    )
    assert refused.returncode == 2 and "--allow-unsandboxed" in refused.stderr
    trial = Service(svc.course, tmp_path / "trial.log", workers=1, extra=("--allow-unsandboxed",))
    import os

    old = os.environ["PATH"]
    os.environ["PATH"] = bin_only
    try:
        trial.start(wait_grading=False)
    finally:
        os.environ["PATH"] = old
    try:
        session = responses.session()
        for path in ("/", "/login", f"/s/{svc.tokens['ada']}"):
            text = BeautifulSoup(session.get(trial.url(path)).text, "html.parser").get_text(" ")
            assert "graded without the sandbox" in text, path
    finally:
        trial.stop()


def test_no_response_contains_a_secret(svc, responses):
    """Run last: every body received above, pages, fragments, API answers and downloads."""
    assert len(responses.bodies) > 50
    secrets = secret_strings(svc.course, ASSIGNMENT)
    assert len(secrets) > 10
    for url, body in responses.bodies:
        text = body.decode("utf-8", "replace")
        leaked = [s for s in secrets if s in text]
        assert leaked == [], (url, leaked)
