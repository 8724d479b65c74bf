"""The FastAPI application: the students' and instructors' pages, and the JSON API.

Pages are Jinja2 templates (``templates/``, autoescape on). Around the application: security
headers and a request log that never writes a sign-in token, a cap on the size of a request
body, and the signed session cookie (Starlette's ``SessionMiddleware``: HttpOnly, SameSite=Lax,
Secure behind TLS). Every request that changes something passes the CSRF check (an app-wide
dependency): the ``csrftoken`` field of its form, or an ``X-CSRFToken`` header, must be a
token that Starlette-WTF signed for this session (Flask-WTF's scheme: a secret in the session,
time-limited signed tokens in the pages). The JSON API (``/api/...``, schema at
``/api/openapi.json``) takes a student's token as ``Authorization: Bearer``, which is what
``upsampling_course.submit()`` sends; such a request carries no cookie and needs no CSRF token.

A submission, its result page and its notebook are found only by their owner and instructors:
anyone else gets the same 404 as for an id that does not exist.
"""

import asyncio
import datetime as dt
import json
import logging
import math
import re
import statistics
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_wtf.util import generate_csrf, validate_csrf
from wtforms import ValidationError

from . import auth, db
from .exports import canvas_csv, marks_csv_with_penalties
from .grading import (
    AssignmentInfo,
    GradingCore,
    Question,
    ResultView,
    is_normal,
    status_words,
)
from .policy import Counts, Late, Policy
from .queue import Queue
from .roster import RosterError, parse_roster
from .runner import Runner
from .store import Person, Store, Submission

log = logging.getLogger("autograder.service")
HERE = Path(__file__).parent
#: The largest request body read at all (the largest notebook, plus a form's overhead).
MAX_BODY_BYTES = 17 * 1024**2
SESSION_MAX_AGE = 14 * 24 * 3600
EVENTS_SECONDS = 600  # one live-status stream at most; the browser reconnects


@dataclass
class Settings:
    db_url: str
    public_url: str  # where students reach the service (sign-in links start with it)
    site_name: str = "Upsampling course: submissions"
    secure_cookies: bool = False  # behind TLS (public_url is https)


# --- plumbing around the app -----------------------------------------------------------------

_TOKEN_PATH = re.compile(r"^/s/[^/]+")


class Guard:
    """Security headers on every response, a body-size cap, and a log without tokens."""

    HEADERS = [
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; "
            b"object-src 'none'; frame-ancestors 'none'; "
            b"base-uri 'none'; form-action 'self'",
        ),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cache-control", b"no-store"),
    ]

    def __init__(self, app: FastAPI, max_body: int = MAX_BODY_BYTES) -> None:
        self.app: ASGIApp = app
        self.fastapi = app  # for tests and the CLI
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _TOKEN_PATH.sub("/s/[token]", scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _plain(
                send,
                413,
                f"The upload is larger than this service accepts ({self.max_body // 1024**2} MB).",
            )
            log.info("%s %s 413", scope["method"], path)
            return
        seen = 0

        async def counted_receive() -> Message:
            # A body sent without a length is cut off at the cap: the request then fails.
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            return {"type": "http.disconnect"} if seen > self.max_body else message

        status: dict[str, int] = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                existing = {k.lower() for k, _ in message.get("headers", [])}
                message = {
                    **message,
                    "headers": list(message.get("headers", []))
                    + [h for h in self.HEADERS if h[0] not in existing],
                }
            await send(message)

        await self.app(scope, counted_receive, send_with_headers)
        log.info("%s %s %s", scope["method"], path, status.get("code"))


async def _plain(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")] + Guard.HEADERS,
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


class CsrfRefused(Exception):
    """A request that changes something came without this session's CSRF token."""


CSRF_FIELD = "csrftoken"
CSRF_TIME_LIMIT = 12 * 3600  # a page left open all day still submits


class Notifier:
    """Wakes the live-status streams of a submission when a grading thread changes it."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: dict[str, set[asyncio.Event]] = {}

    def notify(self, public_id: str) -> None:  # called from grading threads
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._wake, public_id)

    def _wake(self, public_id: str) -> None:
        for event in self.waiting.get(public_id, ()):
            event.set()

    async def wait(self, public_id: str, timeout: float) -> None:
        event = asyncio.Event()
        self.waiting.setdefault(public_id, set()).add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self.waiting[public_id].discard(event)
            if not self.waiting[public_id]:
                del self.waiting[public_id]


# --- API models ----------------------------------------------------------------------------------


class SubmissionOut(BaseModel):
    id: str
    assignment: str
    state: str  # queued, grading, graded
    uploaded_at: dt.datetime
    late_days: int
    penalty: float
    page_url: str
    status_url: str
    result: ResultView | None = None  # as the result page shows it


class AssignmentOut(BaseModel):
    name: str
    notebooks: list[str]
    max_score: float
    deadline: dt.datetime | None
    late: str
    per_hour: int
    counts: str
    max_upload_bytes: int


class ErrorOut(BaseModel):
    detail: str


# --- the application ----------------------------------------------------------------------


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{float(value):g}" if math.isfinite(float(value)) else str(value)


def _deadline_words(policy: Policy) -> str:
    return f"{policy.deadline:%Y-%m-%d %H:%M} UTC" if policy.deadline else "none"


def _late_words(policy: Policy) -> str:
    if policy.deadline is None:
        return "No deadline."
    if policy.late is Late.REFUSE:
        return "Late submissions are not accepted."
    return (
        f"Late submissions lose {policy.penalty_per_day * 100:g} % of their score per day "
        "(a started day counts)."
    )


# Its routes are closures over one service's state; mccabe counts them all as one function.
def create_app(  # noqa: C901
    settings: Settings, core: GradingCore, *, start_grading: bool = True
) -> Guard:
    """The service for one course (``core``: its grading) and database."""
    engines = db.connect(settings.db_url)
    store = Store(engines)
    queue = Queue(engines)
    notifier = Notifier()
    runner = Runner(store, queue, core, notifier.notify)
    # Every template is escaped (Starlette's default would escape only *.html names).
    templates = Jinja2Templates(
        env=jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    )
    templates.env.filters["number"] = _number
    releases: dict[str, str] = {}  # assignment -> state of a release started from the pages

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        notifier.loop = asyncio.get_running_loop()
        if start_grading:
            await run_in_threadpool(runner.start)
        yield
        if start_grading:
            await run_in_threadpool(runner.stop)
        engines.dispose()

    csrf_secret = store.secret("csrf-secret")

    async def check_csrf(request: Request) -> None:
        """Every request that changes something, except the API's token-bearing ones."""
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            return  # no cookie is involved: nothing for another site to ride on
        token = request.headers.get("x-csrftoken")
        kind = request.headers.get("content-type", "")
        if not token and kind.startswith(
            ("multipart/form-data", "application/x-www-form-urlencoded")
        ):
            value = (await request.form()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        try:
            validate_csrf(request, token, csrf_secret, CSRF_FIELD, CSRF_TIME_LIMIT)
        except ValidationError:
            raise CsrfRefused() from None

    app = FastAPI(
        title="Course submission service",
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(check_csrf)],
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        description="Upload notebooks and read their grading results. Students "
        "authenticate with their sign-in token as a Bearer token.",
    )
    app.state.runner = runner
    app.state.store = store
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # --- who is asking --------------------------------------------------------------------
    def viewer_of(request: Request) -> auth.Viewer | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            person = store.person_by_token(header[7:].strip())
            return _student(person) if person else None
        session = request.session
        if session.get("role") == auth.Role.INSTRUCTOR:
            return store.instructor(int(session.get("id", 0)))
        if session.get("role") == auth.Role.STUDENT:
            person = store.person(int(session.get("id", 0)))
            # A new link for the student ends the sessions of the old one.
            if person and session.get("issued") == person.token_issued:
                return _student(person)
        return None

    def _student(person: Person) -> auth.Viewer:
        return auth.Viewer(auth.Role.STUDENT, person.id, person.name, person.student_id)

    Viewer = Annotated[auth.Viewer | None, Depends(viewer_of)]

    def page(
        request: Request,
        name: str,
        viewer: auth.Viewer | None,
        status: int = 200,
        **context: object,
    ) -> HTMLResponse:
        context.update(
            viewer=viewer,
            site_name=settings.site_name,
            unsandboxed=not core.sandboxed,
            isolation_warning=" ".join(core.isolation.warnings),
            csrftoken=lambda: generate_csrf(request, csrf_secret, CSRF_FIELD),
            url=lambda route, **params: request.app.url_path_for(route, **params),
        )
        return templates.TemplateResponse(request, name, context, status_code=status)

    def message(
        request: Request,
        viewer: auth.Viewer | None,
        status: int,
        heading: str,
        *paragraphs: str,
        link: dict | None = None,
    ) -> HTMLResponse:
        return page(
            request,
            "message.html.j2",
            viewer,
            status,
            heading=heading,
            paragraphs=paragraphs,
            link=link,
        )

    def not_found(request: Request, viewer: auth.Viewer | None) -> HTMLResponse:
        hint = () if viewer else ("If it is yours, open your personal sign-in link first.",)
        return message(
            request,
            viewer,
            404,
            "Not found",
            "There is nothing here, or it is not yours to see.",
            *hint,
        )

    def require_instructor(viewer: auth.Viewer | None) -> auth.Viewer:
        if viewer is None or not viewer.is_instructor:
            raise HTTPException(404)
        return viewer

    def visible_submission(public_id: str, viewer: auth.Viewer | None) -> Submission | None:
        if viewer is None or not re.fullmatch(r"[0-9a-f]{32}", public_id):
            return None
        sub = store.submission(public_id)
        if sub is None or not (viewer.is_instructor or sub.person_id == viewer.id):
            return None
        return sub

    def released(name: str) -> bool:
        return name in core.released()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, exc.status_code)
        viewer = await run_in_threadpool(viewer_of, request)
        if exc.status_code == 404:
            return not_found(request, viewer)
        return message(request, viewer, exc.status_code, "Request refused", str(exc.detail))

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "missing or wrong CSRF token"}, 403)
        viewer = await run_in_threadpool(viewer_of, request)
        return message(
            request,
            viewer,
            403,
            "Form not accepted",
            "This form's security token was missing or did not match. Go back, "
            "reload the page and try again.",
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def database_down(request: Request, _exc: Exception) -> Response:
        text = "The service's database is not reachable at the moment; try again in a minute."
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": text}, 503, headers={"retry-after": "5"})
        return HTMLResponse(
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Unavailable</title></head><body><main><h1>Unavailable</h1>"
            f"<p>{text}</p></main></body></html>",
            503,
            headers={"retry-after": "5"},
        )

    # --- signing in -----------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, name="home", include_in_schema=False)
    def home(request: Request, viewer: Viewer) -> Response:
        if viewer is None:
            return page(request, "landing.html.j2", None)
        if viewer.is_instructor:
            return RedirectResponse(request.url_for("instructor_home"), 303)
        rows = []
        counted = {a: store.counting_ids(a).get(viewer.id) for a in core.released()}
        for name in core.released():
            policy = store.policy(name)
            mine = {s.id: s for s in store.submissions(name, viewer.id)}
            chosen_id = counted[name]
            chosen = mine.get(chosen_id) if chosen_id is not None else None
            rows.append(
                {
                    "name": name,
                    "deadline": _deadline_words(policy),
                    "counts": f"the {policy.counts.value} one",
                    "score": _final_words(chosen)
                    if chosen
                    else ("not graded yet" if mine else "no submission"),
                }
            )
        return page(request, "student_home.html.j2", viewer, assignments=rows)

    @app.get("/s/{token}", name="sign_in", include_in_schema=False)
    def sign_in(request: Request, token: str) -> Response:
        person = store.person_by_token(token) if len(token) < 200 else None
        if person is None:
            return message(
                request,
                None,
                403,
                "This sign-in link is not valid",
                "Check that you opened the whole link. If it still fails, ask your "
                "instructor for a new one.",
            )
        request.session.clear()
        request.session.update(
            role=auth.Role.STUDENT.value, id=person.id, issued=person.token_issued
        )
        return RedirectResponse(request.url_for("home"), 303)

    @app.get("/login", response_class=HTMLResponse, name="login", include_in_schema=False)
    def login_form(request: Request, viewer: Viewer) -> Response:
        return page(request, "login.html.j2", viewer)

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> Response:
        found = store.instructor_login(username[:128], password[:1024])
        if found is None:
            return page(request, "login.html.j2", None, 403, error="Wrong user name or password.")
        request.session.clear()
        request.session.update(role=auth.Role.INSTRUCTOR.value, id=found.id)
        return RedirectResponse(request.url_for("instructor_home"), 303)

    @app.post("/signout", name="sign_out", include_in_schema=False)
    def sign_out(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse(request.url_for("home"), 303)

    # --- students -------------------------------------------------------------------------
    def history_rows(assignment: str, person_id: int) -> list[dict]:
        counted = store.counting_ids(assignment).get(person_id)
        return [
            {
                "public_id": s.public_id,
                "uploaded": f"{s.uploaded_at:%Y-%m-%d %H:%M:%S}",
                "state": s.state if s.state != "graded" else status_words(s.status),
                "score": _final_words(s),
                "counts": s.id == counted,
            }
            for s in store.submissions(assignment, person_id)
        ]

    def assignment_page(
        request: Request,
        viewer: auth.Viewer | None,
        name: str,
        refusal: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        info = core.assignment(name)
        policy = store.policy(name)
        rules = {
            "deadline": _deadline_words(policy),
            "late": _late_words(policy),
            "per_hour": policy.per_hour,
            "counts": policy.counts.value,
            "max_mb": f"{policy.max_upload_bytes / 1024**2:g}",
        }
        assert viewer is not None
        history = [] if viewer.is_instructor else history_rows(name, viewer.id)
        return page(
            request,
            "assignment.html.j2",
            viewer,
            status,
            info=info,
            rules=rules,
            history=history,
            refusal=refusal,
        )

    @app.get(
        "/assignments/{assignment}",
        response_class=HTMLResponse,
        name="assignment",
        include_in_schema=False,
    )
    def assignment(request: Request, assignment: str, viewer: Viewer) -> Response:
        if viewer is None or not released(assignment):
            return not_found(request, viewer)
        return assignment_page(request, viewer, assignment)

    @app.get(
        "/assignments/{assignment}/release/{notebook}.ipynb",
        name="release_notebook",
        include_in_schema=False,
    )
    def release_notebook(
        request: Request, assignment: str, notebook: str, viewer: Viewer
    ) -> Response:
        if (
            viewer is None
            or not released(assignment)
            or notebook not in core.assignment(assignment).notebooks
        ):
            return not_found(request, viewer)
        return Response(
            core.release_notebook(assignment, notebook),
            media_type="application/x-ipynb+json",
            headers={"content-disposition": f'attachment; filename="{notebook}.ipynb"'},
        )

    def accept(
        viewer: auth.Viewer, assignment: str, filename: str, content: bytes, via: str
    ) -> Submission | tuple[int, str]:
        """Store an upload, or (HTTP status, why it was refused)."""
        person = store.person(viewer.id)
        assert person is not None
        if not filename.lower().endswith(".ipynb"):
            return 415, (
                f"“{filename}” is not a notebook: upload the .ipynb file you worked "
                "in (File > Download in JupyterLab)."
            )
        policy = store.policy(assignment)
        if len(content) <= policy.max_upload_bytes:
            problem = core.check_notebook(content)
            if problem:
                return 415, f"“{filename}” cannot be graded: {problem}."
        info = core.assignment(assignment)
        decision = store.accept_upload(
            person, assignment, info.notebooks[0], filename, content, via, info.key_version
        )
        if isinstance(decision, Submission):
            runner.wake.set()
            return decision
        return decision.http_status, decision.reason

    @app.post("/assignments/{assignment}/submissions", name="upload", include_in_schema=False)
    async def upload(
        request: Request, assignment: str, notebook: Annotated[UploadFile, File()], viewer: Viewer
    ) -> Response:
        if viewer is None or viewer.is_instructor or not released(assignment):
            return not_found(request, viewer)
        content = await notebook.read(MAX_BODY_BYTES)
        result = await run_in_threadpool(
            accept, viewer, assignment, Path(notebook.filename or "").name, content, "web"
        )
        if isinstance(result, Submission):
            return RedirectResponse(request.url_for("submission", public_id=result.public_id), 303)
        status, why = result
        return await run_in_threadpool(assignment_page, request, viewer, assignment, why, status)

    # --- a submission ---------------------------------------------------------------------
    def result_context(sub: Submission, viewer: auth.Viewer | None) -> dict[str, Any]:
        counted = store.counting_ids(sub.assignment).get(sub.person_id) == sub.id
        marks = core.manual_marks(sub.assignment, sub.student_id) if counted else None
        view = core.view(sub.assignment, sub.result, sub.status, marks)
        context: dict[str, Any] = {"sub": sub, "view": view, "counts": counted}
        if viewer is not None and viewer.is_instructor:
            info = core.assignment(sub.assignment)
            answers = core.answers(sub.assignment, sub.result) if sub.result else {}
            context.update(
                stale=sub.key_version not in (None, info.key_version),
                worker_losses=_worker_losses(sub.id),
                manual=[
                    {
                        "grade_id": q.grade_id,
                        "points": q.points,
                        "mark": (marks or {}).get(q.grade_id),
                        "answer": answers.get(q.grade_id),
                    }
                    for q in info.questions
                    if q.manual
                ],
            )
        return context

    def _worker_losses(submission_id: int) -> int:
        from sqlalchemy import func, select

        with engines.read.connect() as conn:
            losses = conn.scalar(
                select(func.coalesce(func.sum(db.jobs.c.worker_losses), 0)).where(
                    db.jobs.c.submission_id == submission_id
                )
            )
            return int(losses or 0)

    @app.get(
        "/submissions/{public_id}",
        response_class=HTMLResponse,
        name="submission",
        include_in_schema=False,
    )
    def submission(request: Request, public_id: str, viewer: Viewer) -> Response:
        sub = visible_submission(public_id, viewer)
        if sub is None:
            return not_found(request, viewer)
        return page(request, "submission.html.j2", viewer, **result_context(sub, viewer))

    @app.get(
        "/submissions/{public_id}/result",
        response_class=HTMLResponse,
        name="submission_fragment",
        include_in_schema=False,
    )
    def submission_fragment(request: Request, public_id: str, viewer: Viewer) -> Response:
        sub = visible_submission(public_id, viewer)
        if sub is None:
            return not_found(request, viewer)
        return page(request, "result.html.j2", viewer, **result_context(sub, viewer))

    @app.get(
        "/submissions/{public_id}/notebook.ipynb",
        name="submission_notebook",
        include_in_schema=False,
    )
    def submission_notebook(request: Request, public_id: str, viewer: Viewer) -> Response:
        sub = visible_submission(public_id, viewer)
        if sub is None:
            return not_found(request, viewer)
        return Response(
            store.notebook_bytes(sub.id),
            media_type="application/x-ipynb+json",
            headers={"content-disposition": f'attachment; filename="{sub.notebook}.ipynb"'},
        )

    # --- the JSON API ---------------------------------------------------------------------
    def submission_out(request: Request, sub: Submission) -> SubmissionOut:
        counted = store.counting_ids(sub.assignment).get(sub.person_id) == sub.id
        marks = core.manual_marks(sub.assignment, sub.student_id) if counted else None
        view = core.view(sub.assignment, sub.result, sub.status, marks)
        return SubmissionOut(
            id=sub.public_id,
            assignment=sub.assignment,
            state=sub.state,
            uploaded_at=sub.uploaded_at,
            late_days=sub.late_days,
            penalty=sub.penalty,
            page_url=str(request.url_for("submission", public_id=sub.public_id)),
            status_url=str(request.url_for("api_submission", public_id=sub.public_id)),
            result=view,
        )

    @app.get(
        "/api/assignments", response_model=list[AssignmentOut], responses={401: {"model": ErrorOut}}
    )
    def api_assignments(viewer: Viewer) -> list[AssignmentOut]:
        """The released assignments and their policies."""
        if viewer is None:
            raise HTTPException(401, "sign in, or send your token as a Bearer token")
        out = []
        for name in core.released():
            info, policy = core.assignment(name), store.policy(name)
            out.append(
                AssignmentOut(
                    name=name,
                    notebooks=list(info.notebooks),
                    max_score=info.max_score,
                    deadline=policy.deadline,
                    late=policy.late.value,
                    per_hour=policy.per_hour,
                    counts=policy.counts.value,
                    max_upload_bytes=policy.max_upload_bytes,
                )
            )
        return out

    @app.post(
        "/api/submissions",
        status_code=201,
        response_model=SubmissionOut,
        responses={
            401: {"model": ErrorOut},
            404: {"model": ErrorOut},
            413: {"model": ErrorOut},
            415: {"model": ErrorOut},
            429: {"model": ErrorOut},
            403: {"model": ErrorOut},
        },
    )
    async def api_submit(
        request: Request,
        notebook: Annotated[UploadFile, File()],
        viewer: Viewer,
        assignment: Annotated[str | None, Form()] = None,
    ) -> SubmissionOut:
        """Hand in a notebook (what ``upsampling_course.submit()`` calls). The assignment is
        the one named, or the one whose notebook has the file's name."""
        if viewer is None or viewer.is_instructor:
            raise HTTPException(401, "send your sign-in token as a Bearer token")
        filename = Path(notebook.filename or "").name
        if assignment is None:
            found = await run_in_threadpool(core.notebook_for, filename)
            if found is None:
                raise HTTPException(
                    404,
                    f"no released assignment has a notebook called "
                    f"“{filename}”; pass the assignment's name",
                )
            assignment = found[0]
        elif not released(assignment):
            raise HTTPException(404, f"no released assignment is called “{assignment}”")
        content = await notebook.read(MAX_BODY_BYTES)
        result = await run_in_threadpool(accept, viewer, assignment, filename, content, "api")
        if not isinstance(result, Submission):
            raise HTTPException(*result)
        return await run_in_threadpool(submission_out, request, result)

    @app.get(
        "/api/submissions/{public_id}",
        response_model=SubmissionOut,
        name="api_submission",
        responses={404: {"model": ErrorOut}},
    )
    def api_submission(request: Request, public_id: str, viewer: Viewer) -> SubmissionOut:
        """A submission's state and, once graded, its result (as the result page shows it)."""
        sub = visible_submission(public_id, viewer)
        if sub is None:
            raise HTTPException(404, "no such submission")
        return submission_out(request, sub)

    @app.get(
        "/api/submissions/{public_id}/events",
        name="submission_events",
        responses={404: {"model": ErrorOut}},
    )
    async def submission_events(public_id: str, viewer: Viewer) -> Response:
        """Server-Sent Events: ``{"state": ..., "status": ...}`` whenever the state changes,
        until the submission is graded."""
        sub = await run_in_threadpool(visible_submission, public_id, viewer)
        if sub is None:
            raise HTTPException(404, "no such submission")

        async def stream() -> AsyncIterator[str]:
            last, started = None, asyncio.get_running_loop().time()
            while asyncio.get_running_loop().time() - started < EVENTS_SECONDS:
                try:
                    now = await run_in_threadpool(store.submission, public_id)
                except (OperationalError, DBAPIError):
                    now = None
                if now is not None and (now.state, now.status) != last:
                    last = (now.state, now.status)
                    yield f"data: {json.dumps({'state': now.state, 'status': now.status})}\n\n"
                    if now.state == "graded":
                        return
                else:
                    yield ": waiting\n\n"
                await notifier.wait(public_id, 1.0)

        return StreamingResponse(stream(), media_type="text/event-stream")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, object]:
        return {"ok": True, "grading": runner.ready.is_set(), "queue": queue.counts()}

    # --- instructors ----------------------------------------------------------------------
    @app.get(
        "/instructor", response_class=HTMLResponse, name="instructor_home", include_in_schema=False
    )
    def instructor_home(request: Request, viewer: Viewer, notice: str | None = None) -> Response:
        viewer = require_instructor(viewer)
        names = core.released()
        counts = {"queued": 0, "grading": 0, "done": 0} | queue.counts()
        rows = [
            {
                "name": n,
                "deadline": _deadline_words(store.policy(n)),
                "submissions": len(store.submissions(n)),
                "key_version": core.assignment(n).key_version,
                "release_state": releases.get(n),
            }
            for n in names
        ]
        unreleased = [n for n in core.exercises() if n not in names]
        return page(
            request,
            "instructor_home.html.j2",
            viewer,
            assignments=rows,
            unreleased=unreleased,
            releases=releases,
            queue=counts,
            people_count=len(store.people()),
            isolation=core.isolation_text,
            notice=notice,
        )

    @app.post(
        "/instructor/assignments/{assignment}/release", name="release", include_in_schema=False
    )
    def release(request: Request, assignment: str, viewer: Viewer) -> Response:
        require_instructor(viewer)
        if assignment not in core.exercises():
            raise HTTPException(404)
        if releases.get(assignment, "").startswith("releasing"):
            return RedirectResponse(request.url_for("instructor_home"), 303)
        releases[assignment] = "releasing… (reload to follow)"

        def work() -> None:
            try:
                releases[assignment] = core.release(assignment)
            except Exception as exc:  # noqa: BLE001 - shown to the instructor
                releases[assignment] = f"release failed: {exc}"

        threading.Thread(target=work, daemon=True).start()
        return RedirectResponse(request.url_for("instructor_home"), 303)

    def dashboard_page(
        request: Request,
        viewer: auth.Viewer | None,
        name: str,
        notice: str | None = None,
        policy_error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        info = core.assignment(name)
        policy = store.policy(name)
        subs = store.submissions(name)
        counted = store.counting_ids(name)
        scores = core.scores(name)
        pending = core.pending_marks(name)
        by_person: dict[int, list[Submission]] = {}
        for s in subs:
            by_person.setdefault(s.person_id, []).append(s)
        students, attention, scored = [], [], []
        for person in store.people():
            mine = by_person.get(person.id, [])
            chosen = next((s for s in mine if s.id == counted.get(person.id)), None)
            row = {
                "name": person.name,
                "student_id": person.student_id,
                "count": len(mine),
                "public_id": chosen.public_id if chosen else None,
                "late": "",
                "score": "",
                "status": "no submission" if not mine else "not graded yet",
            }
            if chosen:
                total = scores.get(person.student_id) if chosen.score is not None else None
                row.update(
                    status=status_words(chosen.status),
                    score=_number(None if total is None else total * (1 - chosen.penalty)),
                    late=f"{chosen.late_days} day(s), −{chosen.penalty * 100:g} %"
                    if chosen.late_days
                    else "",
                )
                if total is not None:
                    scored.append((chosen, total))
                if not is_normal(chosen.status):
                    attention.append(
                        {
                            "name": person.name,
                            "public_id": chosen.public_id,
                            "what": status_words(chosen.status),
                        }
                    )
                if person.student_id in pending:
                    attention.append(
                        {
                            "name": person.name,
                            "public_id": chosen.public_id,
                            "what": "to mark by hand: "
                            + ", ".join(q.grade_id for q in pending[person.student_id]),
                        }
                    )
            students.append(row)
        questions = _question_rates(core, info, [s for s, _ in scored], pending)
        totals = {
            "students": len(students),
            "submitted": len(by_person),
            "submissions": len(subs),
            "waiting": sum(1 for s in subs if s.state != "graded"),
        }
        stale = sum(1 for s in subs if s.key_version and s.key_version != info.key_version)
        return page(
            request,
            "dashboard.html.j2",
            viewer,
            status,
            info=info,
            policy=policy,
            students=students,
            attention=attention,
            questions=questions,
            histogram=_histogram([t for _, t in scored], info.max_score),
            totals=totals,
            stale=stale,
            notice=notice,
            policy_error=policy_error,
        )

    @app.get(
        "/instructor/assignments/{assignment}",
        response_class=HTMLResponse,
        name="dashboard",
        include_in_schema=False,
    )
    def dashboard(request: Request, assignment: str, viewer: Viewer) -> Response:
        viewer = require_instructor(viewer)
        if not released(assignment):
            raise HTTPException(404)
        return dashboard_page(request, viewer, assignment)

    @app.post(
        "/instructor/assignments/{assignment}/policy", name="set_policy", include_in_schema=False
    )
    def set_policy(
        request: Request,
        assignment: str,
        viewer: Viewer,
        deadline: Annotated[str, Form()] = "",
        late: Annotated[str, Form()] = "refuse",
        penalty: Annotated[float, Form()] = 10.0,
        per_hour: Annotated[int, Form()] = 10,
        counts: Annotated[str, Form()] = "last",
        max_mb: Annotated[float, Form()] = 8.0,
        canvas_column: Annotated[str, Form()] = "",
    ) -> Response:
        viewer = require_instructor(viewer)
        if not released(assignment):
            raise HTTPException(404)
        try:
            when = (
                dt.datetime.strptime(deadline.strip(), "%Y-%m-%d %H:%M")
                if deadline.strip()
                else None
            )
            policy = Policy(
                assignment,
                when,
                Late(late),
                penalty / 100,
                per_hour,
                Counts(counts),
                int(max_mb * 1024**2),
                canvas_column.strip()[:256],
            )
        except ValueError as exc:
            return dashboard_page(request, viewer, assignment, policy_error=str(exc), status=400)
        store.set_policy(policy)
        runner.reconcile(assignment)  # "best" and "last" may choose another submission
        return dashboard_page(request, viewer, assignment, notice="The policy was saved.")

    @app.post(
        "/instructor/assignments/{assignment}/regrade", name="regrade_all", include_in_schema=False
    )
    def regrade_all(request: Request, assignment: str, viewer: Viewer) -> Response:
        viewer = require_instructor(viewer)
        if not released(assignment):
            raise HTTPException(404)
        queued = queue.regrade_stale(assignment, core.assignment(assignment).key_version)
        runner.wake.set()
        return dashboard_page(
            request,
            viewer,
            assignment,
            notice=(
                f"{queued} submission(s) queued for regrading with the current answer key."
                if queued
                else "Every submission is already graded with the current answer key."
            ),
        )

    @app.post("/submissions/{public_id}/regrade", name="regrade_one", include_in_schema=False)
    def regrade_one(request: Request, public_id: str, viewer: Viewer) -> Response:
        require_instructor(viewer)
        sub = visible_submission(public_id, viewer)
        if sub is None:
            raise HTTPException(404)
        queue.regrade(sub.id, core.assignment(sub.assignment).key_version)
        runner.wake.set()
        return RedirectResponse(request.url_for("submission", public_id=public_id), 303)

    @app.post("/submissions/{public_id}/marks", name="set_marks", include_in_schema=False)
    async def set_marks(request: Request, public_id: str, viewer: Viewer) -> Response:
        require_instructor(viewer)
        sub = await run_in_threadpool(visible_submission, public_id, viewer)
        if sub is None:
            raise HTTPException(404)
        form = await request.form()

        def save() -> None:
            info = core.assignment(sub.assignment)
            for q in info.questions:
                value = str(form.get(f"mark-{q.grade_id}", "")).strip()
                if q.manual and value:
                    try:
                        core.mark(
                            sub.assignment, q.notebook, sub.student_id, q.grade_id, float(value)
                        )
                    except (KeyError, ValueError) as exc:
                        raise HTTPException(400, f"{q.grade_id}: {exc}") from None

        await run_in_threadpool(save)
        return RedirectResponse(request.url_for("submission", public_id=public_id), 303)

    exports = {"marks": marks_csv_with_penalties, "canvas": canvas_csv}

    @app.get(
        "/instructor/assignments/{assignment}/{kind}.csv", name="export", include_in_schema=False
    )
    def export(assignment: str, kind: str, viewer: Viewer) -> Response:
        """The marks CSV of ``autograder export`` (``marks``) or Canvas's import (``canvas``)."""
        require_instructor(viewer)
        if not released(assignment) or kind not in exports:
            raise HTTPException(404)
        return Response(
            exports[kind](core, store, assignment),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{kind}-{assignment}.csv"'},
        )

    # --- people ---------------------------------------------------------------------------
    def people_page(
        request: Request, viewer: auth.Viewer | None, status: int = 200, **context: object
    ) -> HTMLResponse:
        return page(request, "people.html.j2", viewer, status, people=store.people(), **context)

    def link(token: str) -> str:
        return f"{settings.public_url.rstrip('/')}/s/{token}"

    @app.get(
        "/instructor/people", response_class=HTMLResponse, name="people", include_in_schema=False
    )
    def people(request: Request, viewer: Viewer) -> Response:
        return people_page(request, require_instructor(viewer))

    @app.post("/instructor/people/import", name="import_roster", include_in_schema=False)
    async def import_roster(
        request: Request, roster: Annotated[UploadFile, File()], viewer: Viewer
    ) -> Response:
        viewer = require_instructor(viewer)
        data = await roster.read(MAX_BODY_BYTES)
        try:
            parsed = parse_roster(data)
        except RosterError as exc:
            return await run_in_threadpool(
                people_page, request, viewer, 400, error=f"The roster could not be read: {exc}."
            )
        report = await run_in_threadpool(store.import_roster, parsed)
        links = [{"name": e.name, "email": e.email, "link": link(t)} for e, t in report.added]
        return await run_in_threadpool(
            people_page,
            request,
            viewer,
            links=links,
            problems=report.problems,
            report=f"Read as {report.format}: {len(report.added)} new students, "
            f"{report.updated} updated, {len(report.problems)} rows skipped.",
        )

    @app.post("/instructor/people/{person_id}/link", name="new_link", include_in_schema=False)
    def new_link(request: Request, person_id: int, viewer: Viewer) -> Response:
        viewer = require_instructor(viewer)
        person = store.person(person_id)
        if person is None:
            raise HTTPException(404)
        token = store.issue_token(person.id)
        return people_page(
            request,
            viewer,
            links=[{"name": person.name, "email": person.email, "link": link(token)}],
            report=f"A new link for {person.name}; the old one no longer works.",
        )

    # --- the layers around it -------------------------------------------------------------
    secret = store.secret("session-secret")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    return Guard(app)


def _final_words(sub: Submission | None) -> str:
    if sub is None or sub.state != "graded" and sub.status is None:
        return "–"
    if sub.score is None:
        return status_words(sub.status)
    final = sub.score * (1 - sub.penalty)
    return f"{final:g} / {sub.max_score:g}" + (" (late)" if sub.penalty else "")


def _question_rates(
    core: GradingCore,
    info: AssignmentInfo,
    counted: list[Submission],
    pending: dict[str, list[Question]],
) -> list[dict]:
    rows = []
    views = [core.view(s.assignment, s.result, s.status) for s in counted]
    for q in info.questions:
        if q.manual:
            waiting = sum(1 for qs in pending.values() for p in qs if p.grade_id == q.grade_id)
            result = f"marked by hand; {waiting} still to mark" if waiting else "marked by hand"
        else:
            scores = [
                next((x.score for x in v.questions if x.grade_id == q.grade_id), None)
                for v in views
                if v and v.scored
            ]
            passed = sum(1 for s in scores if s is not None and s >= q.points)
            result = (
                f"pass rate {100 * passed / len(scores):.0f}% ({passed} of {len(scores)})"
                if scores
                else "no scored submissions"
            )
        rows.append({"grade_id": q.grade_id, "points": q.points, "result": result})
    return rows


def _histogram(totals: list[float], max_score: float) -> dict:
    """Bars of an SVG histogram of the totals: one bar per point on a small scale."""
    if not totals:
        return {"bars": []}
    top = max(max_score, max(totals))
    bins = int(top) + 1 if top <= 40 else 20
    width_per = (top + 1) / bins if top <= 40 else top / bins
    counts = [0] * bins
    for total in totals:
        counts[min(bins - 1, int(total // width_per if top > 40 else round(total)))] += 1
    height, width = 160, 640
    bar_w = width / bins
    peak = max(counts)
    bars = []
    for i, count in enumerate(counts):
        h = 0 if not peak else count / peak * (height - 20)
        label = f"{i * width_per:g}" if top > 40 else f"{i}"
        bars.append(
            {
                "x": round(i * bar_w + 1, 1),
                "y": round(height - h, 1),
                "w": round(bar_w - 2, 1),
                "h": round(h, 1),
                "count": count,
                "label": label if bins <= 21 or i % 2 == 0 else "",
            }
        )
    caption = (
        f"Histogram of the total scores of {len(totals)} counting submissions, out of "
        f"{max_score:g} points: lowest {min(totals):g}, median "
        f"{statistics.median(totals):g}, highest {max(totals):g}."
    )
    return {"bars": bars, "width": width, "height": height, "caption": caption}
