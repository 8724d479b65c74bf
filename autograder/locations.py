"""Where the exercises' sources are, and where nbgrader's tools are: the one place that decides.

``--exercises DIR`` (commands that read the sources), else ``$AUTOGRADER_EXERCISES``, else the
``exercises/`` folder of the repository the current folder is in (the nearest folder, from the
current one upwards, that holds ``exercises/source/``). The folder holds
``source/<assignment>/<assignment>.md``; student copies go to its ``student/`` by default.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

EXERCISES_ENV = "AUTOGRADER_EXERCISES"


def find_exercises(given: str | os.PathLike[str] | None = None) -> Path:
    """The exercises folder (see the module's docstring); FileNotFoundError saying what to do."""
    if given is not None:
        chosen = Path(given)
    elif os.environ.get(EXERCISES_ENV):
        chosen = Path(os.environ[EXERCISES_ENV])
    else:
        here = Path.cwd().resolve()
        found = next(
            (
                d / "exercises"
                for d in (here, *here.parents)
                if (d / "exercises" / "source").is_dir()
            ),
            None,
        )
        if found is None:
            raise FileNotFoundError(
                f"no exercises/source folder in {here} or above it: run from the course's "
                f"repository, give --exercises DIR, or set ${EXERCISES_ENV}"
            )
        chosen = found
    if not (chosen / "source").is_dir():
        raise FileNotFoundError(f"{chosen} has no source/ folder of exercises")
    return chosen.resolve()


#: A tool nbgrader starts as a subprocess, found on ``PATH`` only.
NBGRADER_TOOL = "alembic"


def put_scripts_on_path() -> None:
    """Put the running environment's scripts folder (``alembic``, ``nbgrader``) first on
    ``PATH``, as activating it would: nbgrader starts ``alembic`` by name, so a virtual
    environment run without activating it (``.venv/bin/autograder``, a Jupyter kernel) would
    fail inside nbgrader. RuntimeError saying what to do when the tool is not there either."""
    scripts = sysconfig.get_path("scripts")
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([scripts, path]) if path else scripts
    if shutil.which(NBGRADER_TOOL) is None:
        raise RuntimeError(
            f"nbgrader needs the program {NBGRADER_TOOL!r}, which is not in {scripts} nor on "
            f"PATH: install the course's requirements into this Python ({sys.executable} -m "
            "pip install -r requirements.txt), or activate the environment that has them"
        )
