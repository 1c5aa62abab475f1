"""Fixtures of the pull-request tests: a git repository per test, no user git config.

The repositories themselves are built by gitrepos.py (importable by name, as
pytest puts this folder on sys.path).
"""

from __future__ import annotations

import pathlib

import gitrepos
import pytest


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path_factory.mktemp("gitconfig") / "config"
    config.write_text("[user]\n\tname = Platform Engineer\n\temail = pe@wuhan.gov.cn\n"
                      "[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("CITYCLOUD_STATE_DIR", raising=False)
    monkeypatch.delenv("CITYCLOUD_REGISTRY", raising=False)


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> gitrepos.Repo:
    """The registry at the root of a repository, committed on main."""
    return gitrepos.make_repo(tmp_path / "city-registry")
