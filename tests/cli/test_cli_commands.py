"""Every registry command against the Wuhan example, in each output format.

The example registry is itself under test: what `make run` shows a platform
engineer must work, exit 0, and agree with the library underneath.
"""

from __future__ import annotations

import json
import pathlib

import jsonout
import pytest
import yaml

from citycloud import tenants
from citycloud.tenants import allocation, manifests, render, units

FORMATS = ["table", "json", "markdown", "github"]


@pytest.fixture(scope="module")
def platform(wuhan: pathlib.Path) -> tenants.Platform:
    return tenants.load(wuhan)


@pytest.mark.parametrize("fmt", FORMATS)
def test_validate(wuhan: pathlib.Path, citycloud, fmt: str) -> None:
    result = citycloud("-r", wuhan, "validate", "-o", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        document = jsonout.envelope(result.stdout)
        report = document["data"]
        assert (document["ok"], report["errors"], report["tenants"], report["departments"]) == (
            True, 0, 85, 48)
    elif fmt == "table":
        assert "85 tenants" in result.stdout


def test_validate_from_the_environment_variable(wuhan: pathlib.Path, citycloud,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYCLOUD_REGISTRY", str(wuhan))
    assert citycloud("validate").exit_code == 0


def test_validate_a_missing_registry(tmp_path: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", tmp_path / "nowhere", "validate", "-o", "json")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_pools(wuhan: pathlib.Path, citycloud, platform: tenants.Platform, fmt: str) -> None:
    result = citycloud("-r", wuhan, "pools", "-o", fmt)
    assert result.exit_code == 0, result.output
    for pool in platform.pools:
        assert pool in result.stdout
    if fmt == "json":
        rows = jsonout.data(result.stdout)
        assert [r["pool"] for r in rows] == ["gov", "industry", "xinchuang"]
        assert sum(r["tenants"] for r in rows) == 85
        assert rows[2]["architectures"] == ["arm64", "amd64", "loong64"]
        assert rows[0]["capacity"] == {"cpu": "27000", "memory": "90400Gi", "storage": "6054Ti"}
        assert rows[1]["overcommit"] == {"cpu": 3.0, "memory": 1.5, "storage": 1.0}


@pytest.mark.parametrize("fmt", FORMATS)
def test_capacity(wuhan: pathlib.Path, citycloud, platform: tenants.Platform, fmt: str) -> None:
    result = citycloud("-r", wuhan, "capacity", "-o", fmt)
    assert result.exit_code == 0, result.output
    if fmt != "json":
        assert "xinchuang" in result.stdout
        return
    rows = {row["pool"]: row for row in jsonout.data(result.stdout)}
    for pool in allocation.report(platform):
        cpu = rows[pool.pool.name]["resources"]["cpu"]
        assert cpu["physical"] == float(pool.usage["cpu"].physical)
        assert cpu["allocated"] == float(pool.usage["cpu"].allocated)
        # Bytes are exact integers: floats drop units beyond 2**53 (8 PiB of storage).
        storage = rows[pool.pool.name]["resources"]["storage"]
        assert storage["physical"] == pool.usage["storage"].physical
        assert isinstance(storage["physical"], int)
    total = sum(row["resources"]["cpu"]["physical"] for row in rows.values())
    assert total == 67_500  # Wuhan Cloud's published total


def test_capacity_sums_every_tenant(platform: tenants.Platform) -> None:
    """A disaster-recovery tenant holds its quota on each of its two clusters."""
    allocated = sum(pool.usage["cpu"].allocated for pool in allocation.report(platform))
    assert allocated == sum(t.spec.quota.cpu.value * len(platform.placements(t))
                            for t in platform.tenants.values())


def test_render_writes_every_object(wuhan: pathlib.Path, tmp_path: pathlib.Path, citycloud,
                                    platform: tenants.Platform) -> None:
    out = tmp_path / "manifests"
    result = citycloud("-r", wuhan, "render", out)
    assert result.exit_code == 0, result.output
    expected = units.render_all(platform)
    assert f"wrote {len(expected)} manifests" in result.stdout
    assert sorted(map(render.key, manifests.read(out))) == sorted(map(render.key, expected))
    folders = [unit.folder for unit in units.render_units(platform)]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted([*folders, "clusters"])
    # Each cluster's kustomization lists its pool first: its namespaces and guardrails come
    # before any tenant's objects. The top lists no folder of a declared cluster.
    assert yaml.safe_load((out / "kustomization.yaml").read_text())["resources"] == []
    listed = []
    for cluster in platform.clusters:
        resources = yaml.safe_load((out / "clusters" / cluster / "kustomization.yaml").read_text(
            ))["resources"]
        assert resources[0] == f"../../pool.{platform.clusters[cluster].pool}.{cluster}"
        assert all(r.endswith(f".{cluster}") for r in resources)
        listed += [r.removeprefix("../../") for r in resources]
    assert sorted(listed) == sorted(folders)
    video = out / "wh-gongan-video.wh-gov-guanggu"
    assert sorted(yaml.safe_load((video / "kustomization.yaml").read_text())["resources"]) == (
        sorted(p.name for p in video.glob("*.yaml") if p.name != "kustomization.yaml"))
    # Rendering again replaces the directory whole, and the output is identical.
    before = {p: p.read_bytes() for p in out.rglob("*.yaml")}
    assert citycloud("-r", wuhan, "render", out).exit_code == 0
    assert {p: p.read_bytes() for p in out.rglob("*.yaml")} == before


def test_render_refuses_a_directory_it_did_not_write(wuhan: pathlib.Path, tmp_path: pathlib.Path,
                                                      citycloud) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = citycloud("-r", wuhan, "render", tmp_path / "mine")
    assert result.exit_code == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("foreign", [
    "overlay.yaml", ".git/", "extra/", "wh-gongan-video/notes.txt",
    "wh-gongan-video/hand-written-ingress.yaml", "kustomize/kustomization.yaml"])
def test_render_again_keeps_what_it_did_not_write(wuhan: pathlib.Path, tmp_path: pathlib.Path,
                                                  citycloud, foreign: str) -> None:
    out = tmp_path / "manifests"
    assert citycloud("-r", wuhan, "render", out).exit_code == 0
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)  # not a private staging mode
    path = out / foreign
    path.parent.mkdir(exist_ok=True)
    path.mkdir() if foreign.endswith("/") else path.write_text("keep me")
    result = citycloud("-r", wuhan, "render", out)
    assert result.exit_code == 2
    assert f"did not write ({foreign.split('/')[0]}" in result.output
    assert path.exists()


def test_render_again_replaces_a_removed_tenants_folder(
        wuhan_copy: pathlib.Path, tmp_path: pathlib.Path, citycloud) -> None:
    out = tmp_path / "manifests"
    assert citycloud("-r", wuhan_copy, "render", out).exit_code == 0
    (wuhan_copy / "tenants" / "wh-gongan" / "wh-gongan-jiaoguan.yaml").unlink()
    assert citycloud("-r", wuhan_copy, "render", out).exit_code == 0
    assert not (out / "wh-gongan-jiaoguan.wh-gov-guanggu").exists()
    assert (out / "wh-weijian-hie.wh-gov-guanggu").is_dir()


def test_plan_names_the_line_of_a_broken_deployed_manifest(
        wuhan: pathlib.Path, tmp_path: pathlib.Path, citycloud) -> None:
    out = tmp_path / "deployed"
    assert citycloud("-r", wuhan, "render", out).exit_code == 0
    broken = sorted((out / "wh-gongan-video.wh-gov-guanggu").glob("namespace-*.yaml"))[0]
    broken.write_text("kind: Namespace\n  metadata: indented wrong\n")
    result = citycloud("-r", wuhan, "plan", "--deployed", out)
    assert result.exit_code == 2
    assert f"{broken}:2: not valid YAML" in result.output


def test_a_path_that_cannot_be_written_is_bad_input(wuhan: pathlib.Path, tmp_path: pathlib.Path,
                                                   citycloud) -> None:
    (tmp_path / "file").write_text("")
    result = citycloud("-r", wuhan, "render", tmp_path / "file" / "out")
    assert result.exit_code == 2
    assert result.output == f"error: {tmp_path / 'file'} is a file, not a folder\n"


def test_registry_text_is_never_read_as_markup(wuhan_copy: pathlib.Path, citycloud) -> None:
    platform_file = wuhan_copy / "platform.yaml"
    platform_file.write_text(platform_file.read_text(encoding="utf-8").replace(
        "displayName: 政务域资源池", 'displayName: "[/bold] [red]gov"'), encoding="utf-8")
    result = citycloud("-r", wuhan_copy, "pools")
    assert result.exit_code == 0, result.output
    assert "[/bold] [red]gov" in result.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_plan_of_a_new_cluster_creates_everything(wuhan: pathlib.Path, tmp_path: pathlib.Path,
                                                  citycloud, platform: tenants.Platform,
                                                  fmt: str) -> None:
    result = citycloud("-r", wuhan, "--state-dir", tmp_path / "state", "plan", "-o", fmt)
    assert result.exit_code == 0, result.output
    count = len(units.render_all(platform))
    if fmt == "json":
        assert jsonout.data(result.stdout)["summary"] == {"create": count, "update": 0, "delete": 0}
    else:
        assert f"Plan: {count} to create, 0 to update, 0 to delete." in result.stdout
    assert not (tmp_path / "state").exists()  # planning writes nothing


@pytest.mark.parametrize("kind", ["tenant", "platform", "departments"])
def test_schema_prints_each_kind(citycloud, kind: str) -> None:
    result = citycloud("schema", "--kind", kind)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == tenants.schema.documents()[kind]


def test_schema_of_an_unknown_kind_is_a_usage_error(citycloud) -> None:
    result = citycloud("schema", "--kind", "pool")
    assert result.exit_code == 2
    assert "tenant, platform, departments" in result.output


def test_version_and_help(citycloud) -> None:
    assert citycloud("--version").stdout.startswith("citycloud ")
    result = citycloud("--help")
    assert result.exit_code == 0
    for command in ("init", "validate", "plan", "render", "pools", "capacity", "schema", "tenant"):
        assert command in result.stdout
