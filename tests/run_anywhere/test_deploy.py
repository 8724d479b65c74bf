"""Publishing: the built book, notebooks included, becomes the publish branch, where the links expect it.

The deployment is run for real (tools/deploy_book.py, ghp-import) from a clone of this
repository into a local bare repository standing in for GitHub.
"""
from __future__ import annotations

import posixpath
import subprocess

import pytest

from tests.book.test_launch_links import links_of_the_book
from tools.build_book import BOOK_ROOT
from tools.deploy_book import NotABuiltBook, deploy
from tools.publishing import BookSite

pytestmark = pytest.mark.book

SITE = BookSite.from_config()


def git(*args, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_deploy_publishes_every_linked_notebook_at_its_linked_path(built_book, tmp_path):
    remote = tmp_path / "github.git"
    git("init", "-q", "--bare", str(remote))
    clone = tmp_path / "clone"
    git("clone", "-q", "--no-checkout", str(BOOK_ROOT), str(clone))
    git("remote", "add", "publish", str(remote), cwd=clone)
    checked_out = git("rev-parse", "HEAD", cwd=clone)

    for _ in range(2):  # a second deployment is a second commit on the branch
        assert deploy(built_book.html_dir, repo=clone, remote="publish") == SITE.publish_branch
    branch = SITE.publish_branch
    on_branch = set(git("--git-dir", str(remote), "ls-tree", "-r", "--name-only", branch).splitlines())
    assert ".nojekyll" in on_branch and "index.html" in on_branch
    history = git("--git-dir", str(remote), "log", "--format=%s", branch).splitlines()
    head = git("rev-parse", "--short", "HEAD", cwd=BOOK_ROOT).strip()
    assert len(history) == 2 and all(line.startswith(f"Book built from {head}") for line in history)

    prefix = f"{SITE.colab}/github/{SITE.owner_and_name}/blob/{branch}/"
    links = links_of_the_book(built_book.html_dir)
    colab = {link.href.removeprefix(prefix) for link in links if link.kind == "colab"}
    downloads = {posixpath.normpath(posixpath.join(posixpath.dirname(link.page), link.href))
                 for link in links if link.kind == "download"}
    assert colab and downloads
    assert colab <= on_branch, sorted(colab - on_branch)
    assert downloads <= on_branch, sorted(downloads - on_branch)
    # The checked-out sources are untouched.
    assert git("rev-parse", "HEAD", cwd=clone) == checked_out


def test_deploy_refuses_a_folder_that_is_not_a_built_book(tmp_path):
    (tmp_path / "index.html").write_text("<html></html>")
    with pytest.raises(NotABuiltBook, match="holds no notebooks"):
        deploy(tmp_path, repo=tmp_path, push=False)
    with pytest.raises(NotABuiltBook, match="holds no built book"):
        deploy(tmp_path / "missing", repo=tmp_path, push=False)
