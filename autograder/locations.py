"""Where the exercises' sources are: the one place that decides it.

``--exercises DIR`` (commands that read the sources), else ``$AUTOGRADER_EXERCISES``, else the
``exercises/`` folder of the repository the current folder is in (the nearest folder, from the
current one upwards, that holds ``exercises/source/``). The folder holds
``source/<assignment>/<assignment>.md``; student copies go to its ``student/`` by default.
"""

from __future__ import annotations

import os
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
