"""Hand in the notebook you are working in, from the notebook itself.

In JupyterLab (in Binder or on your computer), save the notebook, then run a cell with::

    import upsampling_course as uc
    uc.submit()

It asks for your personal link (the one your instructor sent you, ``https://.../s/...``), sends
the notebook as it is saved on disk to the course's submission service, prints where to see the
result, and waits a little for the score. The link is your password: paste it when asked rather
than writing it into the notebook (or set ``UPSAMPLING_SUBMIT_LINK`` in the environment).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LINK_ENV = "UPSAMPLING_SUBMIT_LINK"
UPLOAD_TIMEOUT = 60.0


@dataclass(frozen=True)
class Receipt:
    """What the service answered: the submission's id, its page and its state."""

    id: str
    assignment: str
    page_url: str
    state: str
    score: float | None = None
    max_score: float | None = None


class SubmitError(RuntimeError):
    """The notebook could not be handed in; the message says why, in plain words."""


def _split_link(link: str) -> tuple[str, str]:
    """(service address, token) of a personal link ``https://host/.../s/<token>``."""
    link = link.strip()
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or "/s/" not in parts.path:
        raise SubmitError(
            "that is not a submission link: it looks like "
            "https://<service>/s/<your token>; copy the whole link your "
            "instructor sent you"
        )
    base, token = link.rsplit("/s/", 1)
    return base.rstrip("/"), token.strip("/")


def _notebook_path() -> Path:
    """The notebook this kernel runs, as JupyterLab (or VS Code) tells its kernel."""
    candidates = [os.environ.get("JPY_SESSION_NAME")]
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            candidates.append(shell.user_ns.get("__vsc_ipynb_file__"))
    except ImportError:
        pass
    for candidate in candidates:
        if candidate and candidate.endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate)
    raise SubmitError(
        "could not tell which notebook this is; pass its file name, "
        "e.g. submit(notebook='upsampling-by-hand.ipynb')"
    )


def submit(
    link: str | None = None,
    *,
    notebook: str | os.PathLike | None = None,
    assignment: str | None = None,
    wait: float = 60.0,
) -> Receipt | None:
    """Upload the saved notebook; print where to see the result, and the score if it comes
    within ``wait`` seconds. Returns the receipt, or None if the service refused it (the
    reason is printed)."""
    import requests

    link = (
        link
        or os.environ.get(LINK_ENV)
        or getpass.getpass("Paste your personal submission link (it is not shown): ")
    )
    base, token = _split_link(link)
    path = Path(notebook) if notebook else _notebook_path()
    saved = dt.datetime.fromtimestamp(path.stat().st_mtime)
    ago = max(0, round(time.time() - path.stat().st_mtime))
    headers = {"Authorization": f"Bearer {token}"}
    data = {"assignment": assignment} if assignment else {}
    try:
        with path.open("rb") as f:
            response = requests.post(
                f"{base}/api/submissions",
                headers=headers,
                data=data,
                files={"notebook": (path.name, f, "application/x-ipynb+json")},
                timeout=UPLOAD_TIMEOUT,
            )
    except requests.RequestException as exc:
        raise SubmitError(
            f"the submission service at {base} could not be reached ({exc})"
        ) from None
    if response.status_code in (401, 403) and "token" in response.text.lower():
        print(
            "Not submitted: the service does not accept this link. Check that you pasted "
            "the whole link, or ask your instructor for a new one."
        )
        return None
    if response.status_code != 201:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text[:300]
        print(f"Not submitted: {detail}")
        return None
    body = response.json()
    receipt = Receipt(body["id"], body["assignment"], body["page_url"], body["state"])
    print(
        f"Submitted {path.name} to {receipt.assignment}, as saved at {saved:%H:%M:%S} "
        f"({ago} s ago; if you changed it since, save it and submit again)."
    )
    print(f"Result: {receipt.page_url}  (open your personal link first in a new browser)")
    return _wait_for_score(receipt, body["status_url"], headers, wait)


def _wait_for_score(receipt: Receipt, status_url: str, headers: dict, wait: float) -> Receipt:
    import requests

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            body = requests.get(status_url, headers=headers, timeout=10).json()
        except (requests.RequestException, ValueError):
            break
        if body.get("state") == "graded" and body.get("result"):
            result = body["result"]
            if result["scored"]:
                print(
                    f"Graded: {result['score']:g} / {result['max_score']:g} points "
                    f"({result['status_words']})."
                )
            else:
                print(f"Not graded: {result['status_words']}. {result['reason']}")
            return Receipt(
                receipt.id,
                receipt.assignment,
                receipt.page_url,
                "graded",
                result["score"],
                result["max_score"],
            )
        time.sleep(1.0)
    print("Still grading: see the result page above in a little while.")
    return receipt
