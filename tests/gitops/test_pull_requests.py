"""`citycloud validate --changed-since REF`: what a pull request changes, on real git history.

Each test opens a pull request the way a department does — a branch off main
with a commit — and runs the real CLI on it, as CI would.
"""

from __future__ import annotations

import pathlib
from typing import Any

import gitrepos
import jsonout
import pytest
import registries
from gitrepos import GONGAN_AUTHOR, HIS_FILE, VIDEO_FILE


def review(citycloud: Any, repo: gitrepos.Repo, *extra: str, code: int = 0) -> dict[str, Any]:
    result = citycloud("-r", repo.registry, "validate", "--changed-since", "main", "-o", "json",
                       *extra)
    assert result.exit_code == code, result.output
    document = jsonout.envelope(result.stdout)
    assert document["ok"] is (code == 0), document["error"]
    data: dict[str, Any] = document["data"]
    return data


def pool(data: dict[str, Any], name: str, resource: str) -> tuple[float | None, float | None]:
    row = next(p for p in data["pools"] if (p["pool"], p["resource"]) == (name, resource))
    return ((row["before"] or {}).get("ratio"), (row["after"] or {}).get("ratio"))


def test_new_tenant(citycloud: Any, repo: gitrepos.Repo) -> None:
    repo.branch("gongan-traffic")
    repo.write("tenants/wh-gongan/wh-gongan-traffic.yaml",
               registries.tenant("wh-gongan-traffic", cpu=20, memory="40Gi", storage="1Ti"))
    repo.commit("wh-gongan: request a traffic tenant", author=GONGAN_AUTHOR)

    data = review(citycloud, repo, "--author-department", "wh-gongan")

    assert data["diagnostics"] == []
    assert data["files"] == [{"status": "added", "path": "tenants/wh-gongan/wh-gongan-traffic.yaml",
                              "oldPath": None, "kind": "tenant"}]
    [effect] = data["tenants"]
    assert (effect["change"], effect["tenant"], effect["pool"]) == ("new", "wh-gongan-traffic",
                                                                     "gov")
    assert "cpu 20, memory 40Gi, storage 1Ti" in effect["details"]
    assert pool(data, "gov", "cpu") == (0.08, 0.28)  # 8 of 100 cores, then 28
    assert {p["pool"] for p in data["pools"]} == {"gov"}  # xinchuang is untouched
    # The review's figures are `capacity -o json`'s, exact integers alike (bytes as ints).
    after = {row["resource"]: row["after"] for row in data["pools"]}
    capacity = jsonout.data(citycloud("-r", repo.registry, "capacity", "-o", "json").stdout)
    [gov] = [p for p in capacity if p["pool"] == "gov"]
    for resource, figures in after.items():
        for key in ("allocated", "allocatable", "headroom"):
            assert figures[key] == gov["resources"][resource][key], (resource, key)
            assert type(figures[key]) is type(gov["resources"][resource][key]), (resource, key)


def test_resize(citycloud: Any, repo: gitrepos.Repo) -> None:
    repo.branch("gongan-resize")
    repo.write(VIDEO_FILE, registries.tenant("wh-gongan-video", cpu=16, memory="32Gi",
                                             storage="1Ti"))
    repo.commit("wh-gongan: video needs 16 cores", author=GONGAN_AUTHOR)

    data = review(citycloud, repo)

    [effect] = data["tenants"]
    assert effect["change"] == "resized"
    assert effect["details"] == ["cpu 8 -> 16"]
    assert pool(data, "gov", "cpu") == (0.08, 0.16)
    assert [p["resource"] for p in data["pools"]] == ["cpu"]  # memory and storage unchanged


def test_deletion(citycloud: Any, repo: gitrepos.Repo) -> None:
    repo.branch("weijian-retire")
    (repo.registry / HIS_FILE).unlink()
    repo.commit("wh-weijian: retire the HIS tenant")

    data = review(citycloud, repo)

    assert data["files"][0]["status"] == "deleted"
    [effect] = data["tenants"]
    assert (effect["change"], effect["tenant"], effect["file"]) == (
        "removed", "wh-weijian-his", HIS_FILE)
    assert pool(data, "xinchuang", "cpu") == (0.08, 0.0)


def test_rename(citycloud: Any, repo: gitrepos.Repo) -> None:
    repo.branch("gongan-rename")
    new_file = "tenants/wh-gongan/wh-gongan-cctv.yaml"
    repo.git("mv", VIDEO_FILE, new_file)
    repo.write(new_file, registries.tenant("wh-gongan-cctv", cpu=8, memory="32Gi", storage="1Ti"))
    repo.commit("wh-gongan: video is called cctv now", author=GONGAN_AUTHOR)

    data = review(citycloud, repo, "--author-department", "wh-gongan")

    assert data["files"] == [{"status": "renamed", "path": new_file, "oldPath": VIDEO_FILE,
                              "kind": "tenant"}]
    [effect] = data["tenants"]
    assert (effect["change"], effect["tenant"], effect["oldName"], effect["oldFile"]) == (
        "renamed", "wh-gongan-cctv", "wh-gongan-video", VIDEO_FILE)
    assert data["pools"] == []  # same quota under a new name: no pool moves


@pytest.mark.parametrize(("path", "code"), [
    pytest.param(HIS_FILE, "cross_department_change", id="another-departments-tenant"),
    pytest.param("platform.yaml", "platform_file_change", id="platform-yaml"),
])
def test_change_outside_own_folder_is_refused(citycloud: Any, repo: gitrepos.Repo,
                                              path: str, code: str) -> None:
    repo.branch("gongan-overreach")
    text = (repo.registry / path).read_text(encoding="utf-8")
    repo.write(path, text.replace("storage: 500Gi", "storage: 400Gi")
               .replace("cpu: 100,", "cpu: 120,"))
    repo.commit("wh-gongan touches what it does not own", author=GONGAN_AUTHOR)

    data = review(citycloud, repo, "--author-department", "wh-gongan", code=1)

    [finding] = data["diagnostics"]
    assert (finding["file"], finding["code"], finding["severity"]) == (path, code, "error")
    assert "may only change tenants/wh-gongan/" in finding["message"]
    # The same change is fine when the platform team (no --author-department) makes it.
    review(citycloud, repo)  # exit 0, ok


def test_refusal_names_each_file_in_every_format(citycloud: Any, repo: gitrepos.Repo) -> None:
    repo.branch("gongan-overreach")
    repo.write(HIS_FILE, registries.tenant("wh-weijian-his", pool="xinchuang", cpu=1,
                                           memory="16Gi", storage="500Gi"))
    repo.write("tenants/wh-weijian/wh-weijian-lab.yaml",
               registries.tenant("wh-weijian-lab", cpu=8, memory="32Gi", storage="1Ti"))
    repo.commit("wh-gongan edits wh-weijian's tenants", author=GONGAN_AUTHOR)
    args = ("-r", repo.registry, "validate", "--changed-since", "main",
            "--author-department", "wh-gongan")

    table = citycloud(*args)
    github = citycloud(*args, "-o", "github")

    assert table.exit_code == github.exit_code == 1
    for file in (HIS_FILE, "tenants/wh-weijian/wh-weijian-lab.yaml"):
        assert f"{file}: is in the folder of department 'wh-weijian'" in table.output
        assert f"::error file={file},title=cross_department_change::" in github.stdout


def test_platform_change_affects_every_pool_figure(citycloud: Any, repo: gitrepos.Repo) -> None:
    repo.branch("shrink-gov")
    text = (repo.registry / "platform.yaml").read_text(encoding="utf-8")
    repo.write("platform.yaml", text.replace("capacity: {cpu: 100,", "capacity: {cpu: 50,"))
    repo.commit("gov pool: half the servers go to the new data centre")

    data = review(citycloud, repo)

    assert data["files"][0]["kind"] == "platform"
    assert data["tenants"] == []
    assert data["platform"] == ["platform.yaml changed: affects all 2 tenants",
                                "~pool gov: capacity"]
    assert pool(data, "gov", "cpu") == (0.08, 0.16)  # same quota, half the cores


def test_broken_yaml_names_file_and_line(citycloud: Any, repo: gitrepos.Repo) -> None:
    repo.branch("gongan-broken")
    radio = registries.tenant("wh-gongan-radio", cpu=8, memory="32Gi", storage="1Ti")
    broken = registries.text(radio).replace("  pool: gov\n", "  pool: gov\n pool")
    repo.write("tenants/wh-gongan/wh-gongan-radio.yaml", broken)
    repo.commit("wh-gongan: radio tenant (typo)", author=GONGAN_AUTHOR)

    result = citycloud("-r", repo.registry, "validate", "--changed-since", "main")

    assert result.exit_code == 2, result.output
    assert "tenants/wh-gongan/wh-gongan-radio.yaml:9: is not valid YAML" in result.output
    assert "[yaml_syntax]" in result.output


def test_finding_introduced_fails_but_old_one_does_not(citycloud: Any,
                                                       repo: gitrepos.Repo) -> None:
    # main already has a warning (a tenant without a description): not this PR's doing.
    repo.write(HIS_FILE, (repo.registry / HIS_FILE).read_text().replace(
        "  description: 业务系统\n", ""))
    repo.commit("wh-weijian: description dropped")
    repo.branch("gongan-huge")
    repo.write("tenants/wh-gongan/wh-gongan-bigdata.yaml",
               registries.tenant("wh-gongan-bigdata", cpu=500, memory="32Gi", storage="1Ti"))
    repo.commit("wh-gongan: 500 cores please", author=GONGAN_AUTHOR)

    data = review(citycloud, repo, code=1)

    assert [d["code"] for d in data["preexisting"]] == ["standards.description"]
    introduced = {d["code"] for d in data["diagnostics"]}
    assert "standards.description" not in introduced
    assert any(c.startswith("capacity.") for c in introduced), introduced
    assert pool(data, "gov", "cpu") == (0.08, 5.08)


def test_uncommitted_edits_count(citycloud: Any, repo: gitrepos.Repo) -> None:
    repo.branch("local-work")
    repo.write("tenants/wh-gongan/wh-gongan-draft.yaml",
               registries.tenant("wh-gongan-draft", cpu=8, memory="32Gi", storage="1Ti"))

    data = review(citycloud, repo)

    assert data["dirty"] is True
    assert [(t["change"], t["tenant"]) for t in data["tenants"]] == [("new", "wh-gongan-draft")]


def test_markdown_and_step_summary(citycloud: Any, repo: gitrepos.Repo, tmp_path: pathlib.Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    repo.branch("gongan-resize")
    repo.write(VIDEO_FILE, registries.tenant("wh-gongan-video", cpu=16, memory="32Gi",
                                             storage="1Ti"))
    repo.commit("wh-gongan: video needs 16 cores", author=GONGAN_AUTHOR)
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    args = ("-r", repo.registry, "validate", "--changed-since", "main")

    markdown = citycloud(*args, "-o", "markdown")
    github = citycloud(*args, "-o", "github")

    assert markdown.exit_code == github.exit_code == 0
    assert markdown.stdout.startswith("## citycloud: pull request check passed")
    assert "| resized | wh-gongan-video | wh-gongan | gov | cpu 8 -> 16 |" in markdown.stdout
    assert "| gov | cpu | 8.0% | 16.0% | 84 cores |" in markdown.stdout
    assert (f"::notice file={VIDEO_FILE},title=resized tenant wh-gongan-video::cpu 8 -> 16"
            in github.stdout)
    assert summary.read_text(encoding="utf-8") == markdown.stdout


def test_registry_in_a_folder_of_the_repository(citycloud: Any, tmp_path: pathlib.Path) -> None:
    repo = gitrepos.make_repo(tmp_path / "infra", folder="registry")
    repo.branch("overreach")
    (repo.top / "README.md").write_text("not part of the registry\n")
    repo.write(HIS_FILE, registries.tenant("wh-weijian-his", pool="xinchuang", cpu=2,
                                           memory="32Gi", storage="1Ti"))
    repo.commit("edit", author=GONGAN_AUTHOR)

    data = review(citycloud, repo, "--author-department", "wh-gongan", code=1)
    github = citycloud("-r", repo.registry, "validate", "--changed-since", "main",
                       "--author-department", "wh-gongan", "-o", "github")

    assert [f["path"] for f in data["files"]] == [HIS_FILE]  # README.md is outside
    # Annotations name the file from the repository root, where GitHub looks for it.
    assert f"::error file=registry/{HIS_FILE},title=cross_department_change" in github.stdout


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--changed-since", "no-such-branch"], "'no-such-branch' is not a commit",
                 id="unknown-ref"),
    pytest.param(["--changed-since", "main", "--author-department", "wh-nobody"],
                 "'wh-nobody' is not in departments.yaml", id="unknown-department"),
    pytest.param(["--author-department", "wh-gongan"], "needs --changed-since",
                 id="department-without-ref"),
])
def test_usage_errors_exit_2(citycloud: Any, repo: gitrepos.Repo, args: list[str],
                             message: str) -> None:
    result = citycloud("-r", repo.registry, "validate", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())  # unwrap typer's box


def test_not_a_git_repository(citycloud: Any, tmp_path: pathlib.Path) -> None:
    registry = gitrepos.base_registry(tmp_path / "plain")
    result = citycloud("-r", registry, "validate", "--changed-since", "main")
    assert result.exit_code == 2
    assert "is not inside a git repository" in result.output
