"""A released assignment as the grader and its views read it: the answer key and, for each
notebook, the instructor's cells beside the released ones."""

from __future__ import annotations

from dataclasses import dataclass

from .answer_key import AnswerKey
from .course import Course
from .notebook import InstructorNotebook


class NotReleased(ValueError):
    """The assignment has no answer key in the course folder."""


@dataclass(frozen=True)
class Assignment:
    name: str
    key: AnswerKey
    notebooks: dict[str, InstructorNotebook]

    @classmethod
    def load(cls, course: Course, name: str) -> Assignment:
        if not course.key_path(name).is_file():
            raise NotReleased(f"{name!r} has not been released in {course.root}")
        key = AnswerKey.load(course.key_path(name))
        notebooks = {
            nb: InstructorNotebook.load(
                nb,
                course.source_dir(name) / f"{nb}.ipynb",
                course.release_dir(name) / f"{nb}.ipynb",
            )
            for nb in key.notebook_names
        }
        return cls(name, key, notebooks)

    def questions(self) -> list[tuple[str, str]]:
        """(notebook, grade id) of every graded cell, in notebook order."""
        return [
            (name, cell.grade_id)
            for name, nb in sorted(self.notebooks.items())
            for cell in nb.graded_cells()
            if cell.grade_id
        ]

    def is_manual(self, notebook: str, grade_id: str) -> bool:
        return grade_id in self.key.manual_ids(notebook)
