"""The answer key: every value the instructor's solution checked, with its tolerance.

Built at release by :mod:`autograder.keybuild` (a sandboxed run of the solution with the
secret seed), stored as ``<course>/autograder/key/<assignment>.json`` (instructor only), and
read here and nowhere else. It never enters a submission's process.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExpectedValue:
    value: Any  # plain JSON data, as the solution's check reported it
    atol: float
    rtol: float
    hidden: bool


@dataclass(frozen=True)
class CellKey:
    """A test cell: its points, and the values it must report (all of them, once each)."""

    points: float
    values: dict[str, ExpectedValue]


@dataclass(frozen=True)
class NotebookKey:
    cells: dict[str, CellKey]  # grade id -> test cell
    manual: dict[str, float]  # grade id -> points of an answer marked by hand

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells.values()) + sum(self.manual.values())

    @property
    def auto_score(self) -> float:
        return sum(c.points for c in self.cells.values())


@dataclass(frozen=True)
class AnswerKey:
    assignment: str
    seed: int  # of the hidden inputs; secret until grading
    notebooks: dict[str, NotebookKey]
    built_at: str
    #: Default wall-clock limit per notebook, in seconds, derived at release from the
    #: solution's own sandboxed run (``keybuild.time_limit_for``); None in older keys.
    time_limit: float | None = None
    #: That run's CPU time (the slowest notebook's), in seconds.
    solution_seconds: float | None = None

    @property
    def notebook_names(self) -> list[str]:
        return sorted(self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks.values())

    def manual_ids(self, notebook: str) -> set[str]:
        return set(self.notebooks[notebook].manual)

    def check_count(self) -> int:
        return sum(len(c.values) for nb in self.notebooks.values() for c in nb.cells.values())

    def hidden_names(self) -> set[str]:
        return {
            name
            for nb in self.notebooks.values()
            for cell in nb.cells.values()
            for name, value in cell.values.items()
            if value.hidden
        }

    def lookup(self, name: str) -> ExpectedValue:
        """The expected value of the check called ``name``, in whichever notebook it is."""
        for notebook in self.notebooks.values():
            for cell in notebook.cells.values():
                if name in cell.values:
                    return cell.values[name]
        raise KeyError(name)

    # --- storage --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "seed": self.seed,
            "built_at": self.built_at,
            "time_limit": self.time_limit,
            "solution_seconds": self.solution_seconds,
            "notebooks": {
                name: {
                    "cells": {
                        gid: {
                            "points": cell.points,
                            "values": {n: vars(v) for n, v in cell.values.items()},
                        }
                        for gid, cell in nb.cells.items()
                    },
                    "manual": {gid: {"points": points} for gid, points in nb.manual.items()},
                }
                for name, nb in self.notebooks.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerKey:
        notebooks = {
            name: NotebookKey(
                cells={
                    gid: CellKey(
                        float(cell["points"]),
                        {n: ExpectedValue(**v) for n, v in cell["values"].items()},
                    )
                    for gid, cell in nb["cells"].items()
                },
                manual={gid: float(m["points"]) for gid, m in nb["manual"].items()},
            )
            for name, nb in data["notebooks"].items()
        }
        return cls(
            assignment=data["assignment"],
            seed=int(data["seed"]),
            notebooks=notebooks,
            built_at=data["built_at"],
            time_limit=data.get("time_limit"),
            solution_seconds=data.get("solution_seconds"),
        )

    @classmethod
    def load(cls, path: Path) -> AnswerKey:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json()), encoding="utf-8")
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
