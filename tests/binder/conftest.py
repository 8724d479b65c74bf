"""Fixtures of the Binder test: the environment built as Binder builds it, JupyterLab, Chromium."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.binder.binder_env import BinderEnv, JupyterLab, build_binder_env
from tests.browser.browser_helpers import ARTIFACTS, chromium_browser, open_context

#: Figures of the run, for the README (written at the end of the session).
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory) -> BinderEnv:
    """A fresh venv from requirements.txt alone, then postBuild (about 2 GB, in a temp folder).

    For quick iterations on the tests only, ``BINDER_ENV=<folder>`` reuses the ``repo``,
    ``venv`` and ``home`` folders of an earlier run; CI always builds afresh.
    """
    if os.environ.get("BINDER_ENV"):
        root = Path(os.environ["BINDER_ENV"])
        return BinderEnv(root / "repo", root / "venv", root / "home", 0.0, 0.0)
    root = tmp_path_factory.mktemp("binder")
    env = build_binder_env(root)
    TIMINGS.update(pip_install_seconds=env.install_seconds, postbuild_seconds=env.postbuild_seconds)
    return env


@pytest.fixture(scope="session")
def binder_artifacts() -> Path:
    folder = ARTIFACTS / "binder"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    yield folder
    (folder / "timings.json").write_text(json.dumps(TIMINGS, indent=2))


@pytest.fixture(scope="session")
def binder_timings() -> dict[str, float]:
    """Figures for the README; written to test-artifacts/binder/timings.json."""
    return TIMINGS


@pytest.fixture(scope="session")
def jupyterlab(binder_env, binder_artifacts):
    with JupyterLab(binder_env, binder_artifacts / "jupyterlab.log") as lab:
        yield lab


@pytest.fixture(scope="session")
def lab_browser():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def lab_page(lab_browser):
    """A fresh page (JupyterLab needs room: 1280x900) that may reach this machine only."""
    context, page, log = open_context(lab_browser, {"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    yield page
    context.close()
    assert log.foreign == [], "JupyterLab asked hosts other than this machine"


@pytest.fixture(scope="session")
def submission_service(tmp_path_factory):
    """A released assignment served by ``autograder serve`` (the test run's own environment,
    with the service's packages), and one student's sign-in link."""
    from autograder.course import Course
    from autograder.release import release
    from tests.autograder.service_helpers import Service, make_class

    folder = tmp_path_factory.mktemp("submission-service")
    course = Course(folder / "course")
    release(course, "upsampling-by-hand", seed=20261203)
    service = Service(course, folder / "serve.log", workers=1)
    tokens = make_class(course, [("lena", "Lena Lab", "lena@example.org")],
                        folder / "links.csv", service.base)
    service.start()
    yield service, service.url(f"/s/{tokens['lena']}")
    service.stop()
