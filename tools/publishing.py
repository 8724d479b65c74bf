"""Where the book lives and how a learner reaches its notebooks: the one setting, and every address.

The setting is the ``repository:`` block of ``_config.yml``::

    repository:
      url: https://github.com/<owner>/<repo>   # the GitHub repository
      branch: main                             # its sources: Binder, and the install cell's pip
      publish_branch: gh-pages                 # the built book, notebooks included (tools.deploy_book)

Everything that addresses the repository derives from it: the Binder links (sources on
``branch``), the Colab links (built notebooks on ``publish_branch``, through Colab's GitHub
form), the download links (built notebooks, relative to the page), and the first cell of every
chapter and exercise, which installs the course package from ``branch`` where it is missing.

The built HTML folder becomes the root of ``publish_branch``, so a file's path under
``_build/html`` is its path on that branch.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

BOOK_ROOT = Path(__file__).resolve().parent.parent
#: Under the built HTML folder (and so on the publish branch): the runnable notebooks.
NOTEBOOKS_DIR = "notebooks"
#: Where Binder's postBuild writes the exercises' student copies (autograder.student_copies).
BINDER_STUDENT_COPIES = "exercises/student"
#: The package's distribution name, as pip installs it.
DISTRIBUTION = "upsampling-course"
#: The package as Python imports it.
PACKAGE = "upsampling_course"


@dataclass(frozen=True)
class BookSite:
    """The repository, its branches and the launch services, as ``_config.yml`` sets them."""

    repository_url: str
    branch: str
    publish_branch: str
    binderhub: str  # the BinderHub, e.g. https://mybinder.org
    colab: str  # Colab, https://colab.research.google.com
    book_url: str = ""  # the published HTML (``html: baseurl``), ending with "/"

    @classmethod
    def from_config(cls, book_root: Path = BOOK_ROOT) -> BookSite:
        config = yaml.safe_load((book_root / "_config.yml").read_text())
        repository, launch = config["repository"], config["launch_buttons"]
        return cls(repository["url"].rstrip("/"), repository["branch"], repository["publish_branch"],
                   launch["binderhub_url"].rstrip("/"), launch["colab_url"].rstrip("/"),
                   config["html"]["baseurl"].rstrip("/") + "/")

    @property
    def owner_and_name(self) -> str:
        """``<owner>/<repo>`` of a GitHub URL (Binder's and Colab's GitHub forms need it)."""
        path = urlparse(self.repository_url).path.strip("/")
        if path.endswith(".git"):
            path = path[:-4]
        return path

    # Addresses ----------------------------------------------------------------------------------

    def binder_url(self, repo_path: str) -> str:
        """Binder's JupyterLab on ``repo_path`` of the sources (``branch``)."""
        return f"{self.binderhub}/v2/gh/{self.owner_and_name}/{self.branch}?urlpath=lab/tree/{repo_path}"

    def colab_url(self, site_path: str) -> str:
        """Colab on the notebook at ``site_path`` of the built book (``publish_branch``)."""
        return f"{self.colab}/github/{self.owner_and_name}/blob/{self.publish_branch}/{site_path}"

    @property
    def pip_requirement(self) -> str:
        """The course package from the repository's sources, for ``pip install``."""
        return f"{DISTRIBUTION} @ git+{self.repository_url}@{self.branch}"

    def install_cell(self) -> str:
        """The first code cell of every chapter and exercise (a test holds them to this text).

        It installs the package only where it cannot be imported (Colab, a bare Jupyter), so it
        runs pip at most once per environment and touches no network where the package is
        present (Binder, a local copy, the book's build, the grading sandbox). Then it prints
        the versions the notebook runs with.
        """
        return (
            "# Colab or a bare Jupyter: install the course package (once). Elsewhere it is there.\n"
            "import importlib.util, subprocess, sys\n"
            f'if importlib.util.find_spec("{PACKAGE}") is None:\n'
            f'    package = "{self.pip_requirement}"\n'
            '    subprocess.run([sys.executable, "-m", "pip", "install", "-qq", package], check=True)\n'
            "    importlib.invalidate_caches()\n"
            "\n"
            f"import {PACKAGE} as uc\n"
            "uc.show_versions()"
        )


# Where the build writes each runnable notebook (paths under _build/html = on the publish branch).

def chapter_notebook_path(docname: str) -> str:
    """``chapters/upsampling2d`` -> ``notebooks/chapters/upsampling2d.ipynb``."""
    return f"{NOTEBOOKS_DIR}/{docname}.ipynb"


def exercise_notebook_path(assignment: str) -> str:
    """The student copy of an assignment, e.g. ``notebooks/exercises/unpooling/unpooling.ipynb``."""
    return f"{NOTEBOOKS_DIR}/exercises/{assignment}/{assignment}.ipynb"


def binder_student_copy_path(assignment: str) -> str:
    """The student copy Binder's postBuild writes into the repository's folder."""
    return f"{BINDER_STUDENT_COPIES}/{assignment}/{assignment}.ipynb"


def relative_to_page(docname: str, site_path: str) -> str:
    """A link from the HTML page of ``docname`` to ``site_path`` of the built book."""
    return posixpath.relpath(site_path, posixpath.dirname(docname) or ".")
