"""Apply on merge, the git side: exactly the merged commit, in order, never backwards.

`tenants.gitops.git` resolves the ref, exports that commit's registry, records the
deployed commit and refuses one that does not descend from it; the apply
command (stacks) calls these around its Pulumi run.
"""

from __future__ import annotations

import pathlib
from typing import Any

import gitrepos
import jsonout
import pytest
import realparts
import registries
from gitrepos import GONGAN_AUTHOR, VIDEO_FILE

from citycloud import tenants
from citycloud.stacks import binaries
from citycloud.stacks import errors as stack_errors
from citycloud.tenants.gitops import git


def merged_pull_requests(repo: gitrepos.Repo) -> tuple[str, str, str]:
    """main: base -> merge of PR 1 (video 16 cores) -> merge of PR 2 (video 32 cores)."""
    base = repo.git("rev-parse", "HEAD")
    repo.branch("pr-1")
    repo.write(VIDEO_FILE, registries.tenant("wh-gongan-video", cpu=16, memory="32Gi",
                                             storage="1Ti"))
    repo.commit("video 16", author=GONGAN_AUTHOR)
    first = repo.merge("pr-1")
    repo.branch("pr-2")
    repo.write(VIDEO_FILE, registries.tenant("wh-gongan-video", cpu=32, memory="32Gi",
                                             storage="1Ti"))
    repo.commit("video 32", author=GONGAN_AUTHOR)
    second = repo.merge("pr-2")
    return base, first, second


def test_merges_apply_in_order_and_an_older_one_is_refused(repo: gitrepos.Repo,
                                                          tmp_path: pathlib.Path) -> None:
    _, first, second = merged_pull_requests(repo)
    state = tmp_path / "state"

    for commit in (first, second):  # CI applies each merge as it lands
        git.check_order(repo.registry, commit=commit, deployed=git.read_deployed(state))
        git.write_deployed(state, commit=commit, ref=commit)

    deployed = git.read_deployed(state)
    assert deployed is not None and deployed.commit == second
    # The slow job of the first merge finishing last must not roll the second back.
    with pytest.raises(git.OutOfOrderError, match=f"refusing to apply {first[:12]}"):
        git.check_order(repo.registry, commit=first, deployed=deployed)
    # The same commit again is fine: that is how an interrupted apply is finished.
    git.check_order(repo.registry, commit=second, deployed=deployed)


def test_a_diverged_commit_is_refused(repo: gitrepos.Repo, tmp_path: pathlib.Path) -> None:
    base, first, _ = merged_pull_requests(repo)
    repo.checkout(base)
    repo.branch("hotfix")
    repo.write(VIDEO_FILE, registries.tenant("wh-gongan-video", cpu=4, memory="32Gi",
                                             storage="1Ti"))
    hotfix = repo.commit("hotfix off an old main")
    deployed = git.write_deployed(tmp_path / "state", commit=first, ref="main")

    with pytest.raises(git.OutOfOrderError, match="does not contain the deployed commit"):
        git.check_order(repo.registry, commit=hotfix, deployed=deployed)


def test_checkout_is_exactly_the_commit(repo: gitrepos.Repo) -> None:
    _, first, second = merged_pull_requests(repo)
    # Uncommitted edits in the CI workspace must not leak into what is applied.
    repo.write(VIDEO_FILE, registries.tenant("wh-gongan-video", cpu=99, memory="32Gi",
                                             storage="1Ti"))

    with git.checkout(repo.registry, ref=first) as target:
        platform = tenants.load(target.root)
        assert target.commit == first
    assert platform.tenants["wh-gongan-video"].spec.quota.cpu.value == 16
    with git.checkout(repo.registry, ref="main") as target:
        assert target.commit == second
        assert tenants.load(target.root).tenants["wh-gongan-video"].spec.quota.cpu.value == 32
    assert not target.root.exists()  # the temporary copy is gone


def test_deployed_commit_missing_from_a_shallow_clone(repo: gitrepos.Repo,
                                                      tmp_path: pathlib.Path) -> None:
    deployed = git.Deployed("0" * 39 + "1", "main", "2026-01-01T00:00:00Z")
    with pytest.raises(git.GitError, match="fetch-depth: 0"):
        git.check_order(repo.registry, commit=repo.git("rev-parse", "HEAD"),
                            deployed=deployed)


def test_unreadable_deployed_record(tmp_path: pathlib.Path) -> None:
    (tmp_path / git.DEPLOYED_FILE).write_text("{not json")
    with pytest.raises(git.GitError, match="records the deployed commit"):
        git.read_deployed(tmp_path)


def test_commit_author_for_the_audit_trail(repo: gitrepos.Repo) -> None:
    _, _, second = merged_pull_requests(repo)
    head_of_pr = repo.git("rev-parse", "pr-2")
    assert git.author(repo.registry, commit=head_of_pr) == "Li Gongan <li@gongan.wuhan.gov.cn>"
    assert git.author(repo.registry) == "Platform Engineer <pe@wuhan.gov.cn>"
    assert git.head_commit(repo.registry) == second


# ---- through the CLI ------------------------------------------------------------------


def audit_records(citycloud: Any, state: pathlib.Path) -> list[dict[str, Any]]:
    result = citycloud("--state-dir", state, "audit", "log", "-o", "json")
    records: list[dict[str, Any]] = jsonout.data(result.stdout)
    return records


def test_cli_refuses_an_out_of_order_apply_and_records_the_refusal(
        citycloud: Any, repo: gitrepos.Repo, tmp_path: pathlib.Path) -> None:
    """No engine is needed to refuse: the order is checked before anything starts."""
    _, first, second = merged_pull_requests(repo)
    state = tmp_path / "state"
    git.write_deployed(state, commit=second, ref="main")

    result = citycloud("-r", repo.registry, "--state-dir", state, "apply", "--from-git", first,
                       "--yes")

    assert result.exit_code == 2, result.output
    assert f"refusing to apply {first[:12]}" in " ".join(result.output.split())
    deployed = git.read_deployed(state)
    assert deployed is not None and deployed.commit == second  # unchanged
    [record] = audit_records(citycloud, state)
    assert (record["action"], record["target"], record["commit"]) == ("apply", first, first)
    assert record["result"].startswith("failed: OutOfOrderError: refusing to apply")


def test_cli_applies_merges_in_order(citycloud: Any, repo: gitrepos.Repo,
                                     tmp_path: pathlib.Path) -> None:
    """The real engine (skipped where `make controlplane` has not built it), writing YAML
    instead of talking to a cluster (--render-yaml-to)."""
    try:
        binaries.find()
    except stack_errors.PulumiMissing as err:
        realparts.unavailable(f"real Pulumi engine not available: {str(err)[:120]}",
                              how="run `make controlplane` to build it")
    _, first, second = merged_pull_requests(repo)
    state, out = tmp_path / "state", tmp_path / "yaml"

    def apply(commit: str) -> Any:
        return citycloud("-r", repo.registry, "--state-dir", state, "apply", "--from-git",
                         commit, "--yes", "--render-yaml-to", out)

    for commit in (first, second):
        result = apply(commit)
        assert result.exit_code == 0, result.output
        deployed = git.read_deployed(state)
        assert deployed is not None and deployed.commit == commit
    assert apply(first).exit_code == 2
    assert [(r["action"], r["commit"], r["result"][:6]) for r in audit_records(
        citycloud, state)] == [("apply", first, "ok"), ("apply", second, "ok"),
                               ("apply", first, "failed")]
