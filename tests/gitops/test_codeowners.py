"""CODEOWNERS from departments.yaml, read back the way GitHub and GitLab read it."""

from __future__ import annotations

import fnmatch
import pathlib
from typing import Any

import gitrepos
import pytest

from citycloud.tenants.gitops import codeowners, git


def owners_of(codeowners: str, path: str) -> list[str]:
    """The owners of PATH: the last matching line wins (GitHub and GitLab agree on this).
    Enough of the syntax for what `citycloud codeowners` writes: `*`, /file, /folder/."""
    found: list[str] = []
    for line in codeowners.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pattern, *owners = line.split()
        if pattern == "*" or (pattern.endswith("/") and f"/{path}".startswith(pattern)) or \
                fnmatch.fnmatchcase(f"/{path}", pattern):
            found = owners
    return found


@pytest.mark.parametrize(("path", "owners"), [
    pytest.param("tenants/wh-gongan/wh-gongan-video.yaml", ["@wh-gongan-admins", "@wh-gongan-ops"],
                 id="department-tenant"),
    pytest.param("tenants/wh-weijian/new.yaml", ["@wh-weijian-admins"], id="other-department"),
    pytest.param("platform.yaml", ["@platform-team"], id="platform"),
    pytest.param("departments.yaml", ["@platform-team"], id="departments"),
    pytest.param("waivers.yaml", ["@platform-team"], id="waivers"),
    pytest.param("policies/extra.yaml", ["@platform-team"], id="policies"),
    pytest.param(".github/workflows/citycloud.yml", ["@platform-team"], id="ci-workflow"),
    pytest.param("CODEOWNERS", ["@platform-team"], id="codeowners-itself"),
    pytest.param("tenants/wh-unknown/x.yaml", ["@platform-team"], id="folder-of-no-department"),
])
def test_each_path_has_the_owner_it_should(citycloud: Any, repo: gitrepos.Repo, path: str,
                                           owners: list[str]) -> None:
    result = citycloud("-r", repo.registry, "codeowners")
    assert result.exit_code == 0, result.output
    assert owners_of(result.stdout, path) == owners


def test_write_with_org_and_platform_team(citycloud: Any, repo: gitrepos.Repo) -> None:
    result = citycloud("-r", repo.registry, "codeowners", "--write", "--org", "wuhan-gov",
                       "--platform-team", "cloud-platform")
    assert result.exit_code == 0, result.output
    text = (repo.registry / "CODEOWNERS").read_text(encoding="utf-8")
    assert "/tenants/wh-gongan/ @wuhan-gov/wh-gongan-admins @wuhan-gov/wh-gongan-ops" in text
    assert owners_of(text, "platform.yaml") == ["@wuhan-gov/cloud-platform"]
    # CODEOWNERS is not a registry file: the registry still loads and validates.
    assert citycloud("-r", repo.registry, "validate").exit_code == 0


def test_paths_are_from_the_repository_root(citycloud: Any, tmp_path: pathlib.Path) -> None:
    repo = gitrepos.make_repo(tmp_path / "infra", folder="cities/wuhan")
    text = citycloud("-r", repo.registry, "codeowners").stdout
    assert owners_of(text, "cities/wuhan/tenants/wh-gongan/a.yaml")[0] == "@wh-gongan-admins"
    assert owners_of(text, "cities/wuhan/platform.yaml") == ["@platform-team"]


@pytest.mark.parametrize(("change", "flagged"), [
    pytest.param(git.FileChange(git.Status.DELETED, "tenants/wh-weijian/his.yaml"),
                 ["tenants/wh-weijian/his.yaml"], id="deleting-anothers-tenant"),
    pytest.param(git.FileChange(git.Status.RENAMED, "tenants/wh-gongan/his.yaml",
                                    "tenants/wh-weijian/his.yaml"),
                 ["tenants/wh-weijian/his.yaml"], id="taking-anothers-tenant"),
    pytest.param(git.FileChange(git.Status.RENAMED, "tenants/wh-weijian/v.yaml",
                                    "tenants/wh-gongan/v.yaml"),
                 ["tenants/wh-weijian/v.yaml"], id="giving-a-tenant-away"),
    pytest.param(git.FileChange(git.Status.MODIFIED, "tenants/wh-gongan/v.yaml"),
                 [], id="own-folder"),
    pytest.param(git.FileChange(git.Status.ADDED, ".github/workflows/citycloud.yml"),
                 [".github/workflows/citycloud.yml"], id="ci-workflow"),
])
def test_trespasses_look_at_both_ends_of_a_rename(change: git.FileChange,
                                                  flagged: list[str]) -> None:
    found = codeowners.trespasses([change], department="wh-gongan")
    assert [d.file for d in found] == flagged
