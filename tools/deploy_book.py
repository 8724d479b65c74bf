"""Publish the built book, HTML and runnable notebooks together, to the publish branch.

    python -m tools.build_book && python -m tools.deploy_book          # commit and push to origin
    python -m tools.deploy_book --no-push                              # commit only
    python -m tools.deploy_book --html DIR --remote NAME --repo CHECKOUT

The built HTML folder becomes the whole content of ``repository.publish_branch`` (``_config.yml``;
with a ``.nojekyll`` file, so GitHub Pages serves the folders that start with ``_``). Colab's
links point at the notebooks on that branch (tools/publishing.py), so they resolve once it is
pushed. Each deployment is one new commit on the branch, named after the source commit; the
commit is made with ghp-import, in the repository ``--repo`` (default: this checkout), without
touching its work tree.
"""
from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from pathlib import Path

from ghp_import import GhpError, ghp_import

from tools.publishing import BOOK_ROOT, NOTEBOOKS_DIR, BookSite

DEFAULT_HTML = BOOK_ROOT / "_build" / "html"


class NotABuiltBook(ValueError):
    """The folder lacks the HTML or the runnable notebooks the pages link to."""


def source_commit(repo: Path) -> str:
    """The checked-out commit, with ``+changes`` when the work tree differs from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip()
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no").strip() else "")


def deploy(html_dir: Path = DEFAULT_HTML, *, repo: Path = BOOK_ROOT, remote: str = "origin",
           push: bool = True, site: BookSite | None = None) -> str:
    """Commit ``html_dir`` as the publish branch of ``repo`` (and push it); return the branch."""
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        raise NotABuiltBook(f"{html_dir} holds no built book: run `python -m tools.build_book` first")
    if not any((html_dir / NOTEBOOKS_DIR).rglob("*.ipynb")):
        raise NotABuiltBook(f"{html_dir / NOTEBOOKS_DIR} holds no notebooks: the build did not finish")
    site = site or BookSite.from_config()
    message = f"Book built from {source_commit(repo)}"
    with contextlib.chdir(repo):
        ghp_import(str(html_dir), remote=remote, branch=site.publish_branch, mesg=message,
                   push=push, nojekyll=True)
    return site.publish_branch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=DEFAULT_HTML, help=f"the built book (default: {DEFAULT_HTML})")
    parser.add_argument("--repo", type=Path, default=BOOK_ROOT, help="the git checkout to commit in")
    parser.add_argument("--remote", default="origin", help="the remote to push to (default: origin)")
    parser.add_argument("--no-push", action="store_true", help="commit the branch, do not push it")
    args = parser.parse_args(argv)
    try:
        branch = deploy(args.html, repo=args.repo, remote=args.remote, push=not args.no_push)
    except (NotABuiltBook, GhpError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.html} is branch {branch}" + ("" if args.no_push else f", pushed to {args.remote}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
