"""`citycloud plan` against what is deployed: creations, changes, deletions, and the danger.

What is deployed is a manifest directory written by `citycloud render` (the same
format apply keeps); the registry is then edited the way a pull request would.
"""

from __future__ import annotations

import pathlib
import shutil

import jsonout
import pytest

from citycloud import tenants
from citycloud.tenants import units

VIDEO = "tenants/wh-gongan/wh-gongan-video.yaml"
VIDEO_UNIT = "wh-gongan-video.wh-gov-guanggu"  # its folder: the tenant on its cluster
JIAOGUAN = "tenants/wh-gongan/wh-gongan-jiaoguan.yaml"  # shares no service
GOV_CLUSTERS = ("wh-gov-hankou", "wh-gov-guanggu")


@pytest.fixture
def deployed(wuhan_copy: pathlib.Path, tmp_path: pathlib.Path, citycloud) -> pathlib.Path:
    """The Wuhan registry as it is now, rendered as what the cluster holds."""
    out = tmp_path / "deployed"
    assert citycloud("-r", wuhan_copy, "render", out).exit_code == 0
    return out


def plan(citycloud, registry: pathlib.Path, deployed: pathlib.Path,
         *extra: str) -> tuple[int, dict[str, object]]:
    result = citycloud("-r", registry, "plan", "--deployed", deployed, "-o", "json", *extra)
    return result.exit_code, jsonout.data(result.stdout)


def test_nothing_to_do_when_deployed_is_desired(wuhan_copy: pathlib.Path, deployed: pathlib.Path,
                                                citycloud) -> None:
    code, report = plan(citycloud, wuhan_copy, deployed)
    assert code == 0
    assert report == {"summary": {"create": 0, "update": 0, "delete": 0}, "changes": []}


def test_a_resized_quota_updates_that_tenants_quotas_only(
        wuhan_copy: pathlib.Path, deployed: pathlib.Path, citycloud) -> None:
    path = wuhan_copy / VIDEO
    text = path.read_text(encoding="utf-8")
    assert "cpu: 256," in text
    path.write_text(text.replace("cpu: 256,", "cpu: 384,"), encoding="utf-8")

    code, report = plan(citycloud, wuhan_copy, deployed)

    assert code == 0
    assert report["summary"] == {"create": 0, "update": 2, "delete": 0}
    changes = report["changes"]
    assert {(c["action"], c["kind"], c["namespace"], c["unit"], c["destructive"])
            for c in changes} == {
        ("update", "ResourceQuota", "wh-gongan-video-video", VIDEO_UNIT, False),
        ("update", "ResourceQuota", "wh-gongan-video-analytics", VIDEO_UNIT, False),
    }
    for change in changes:  # 256 cores over 2 namespaces was 128 each; now 192
        assert "-    limits.cpu: '128'" in change["diff"]
        assert "+    limits.cpu: '192'" in change["diff"]


def test_a_deleted_tenant_is_a_destructive_deletion(wuhan_copy: pathlib.Path,
                                                     deployed: pathlib.Path, citycloud) -> None:
    before = tenants.load(wuhan_copy)
    gone = before.tenants["wh-gongan-jiaoguan"]
    (wuhan_copy / JIAOGUAN).unlink()

    code, report = plan(citycloud, wuhan_copy, deployed)

    assert code == 0
    [unit] = units.tenant_units(before, gone.name)
    assert report["summary"] == {"create": 0, "update": 0, "delete": len(unit.manifests)}
    assert {c["unit"] for c in report["changes"]} == {unit.folder}
    destructive = sorted(c["name"] for c in report["changes"] if c["destructive"])
    assert destructive == sorted(gone.namespace_names())
    assert all(c["kind"] == "Namespace" for c in report["changes"] if c["destructive"])


def test_the_danger_is_spelt_out_for_people(wuhan_copy: pathlib.Path, deployed: pathlib.Path,
                                            citycloud) -> None:
    (wuhan_copy / VIDEO).unlink()
    result = citycloud("-r", wuhan_copy, "plan", "--deployed", deployed)
    assert result.exit_code == 0
    assert "DANGER" in result.stderr
    assert "Namespace wh-gongan-video-video" in result.stderr
    assert "every workload and volume" in result.stderr
    assert "to delete." in result.stdout


def test_a_new_tenant_is_created(wuhan_copy: pathlib.Path, deployed: pathlib.Path,
                                 citycloud) -> None:
    source = wuhan_copy / VIDEO
    text = source.read_text(encoding="utf-8").replace("wh-gongan-video", "wh-gongan-cams")
    text = text.replace("10.64.0.0/16", "10.65.0.0/16").replace("name: cameras", "name: cams")
    text = text.replace("video.gongan.wuhan.gov.cn", "cams.gongan.wuhan.gov.cn")
    (source.parent / "wh-gongan-cams.yaml").write_text(text, encoding="utf-8")

    code, report = plan(citycloud, wuhan_copy, deployed, "--tenant", "wh-gongan-cams")

    assert code == 0
    assert report["summary"]["create"] > 0 and report["summary"]["delete"] == 0
    assert {c["action"] for c in report["changes"]} == {"create"}
    kinds = {c["kind"] for c in report["changes"]}
    assert kinds >= {"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "RoleBinding"}


def test_all_three_at_once_creations_first(wuhan_copy: pathlib.Path, deployed: pathlib.Path,
                                           citycloud) -> None:
    (wuhan_copy / VIDEO).unlink()
    oa = wuhan_copy / "tenants/wh-gongan/wh-gongan-oa.yaml"
    oa.write_text(oa.read_text(encoding="utf-8").replace("[oa, docs]", "[oa, docs, archive]"),
                  encoding="utf-8")

    code, report = plan(citycloud, wuhan_copy, deployed)

    assert code == 0
    actions = [c["action"] for c in report["changes"]]
    assert actions == sorted(actions, key=["create", "update", "delete"].index)
    assert set(actions) == {"create", "update", "delete"}


def test_plan_refuses_a_directory_render_did_not_write(wuhan_copy: pathlib.Path,
                                                       tmp_path: pathlib.Path, citycloud) -> None:
    stranger = tmp_path / "stranger"
    shutil.copytree(wuhan_copy / "tenants", stranger)
    result = citycloud("-r", wuhan_copy, "plan", "--deployed", stranger)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_a_changed_pool_setting_shows_as_its_pools_guardrail_and_contract(
        wuhan_copy: pathlib.Path, deployed: pathlib.Path, citycloud) -> None:
    """plan covers pools: a new registry for the gov pool's images changes its guardrail
    (approved-images) and its contract, in that pool only."""
    path = wuhan_copy / "platform.yaml"
    text = path.read_text(encoding="utf-8")
    assert "imageRegistries: [registry.gov.whcloud.cn]" in text
    path.write_text(text.replace("imageRegistries: [registry.gov.whcloud.cn]",
                                 "imageRegistries: [registry.gov.whcloud.cn, harbor.gov.cn]"),
                    encoding="utf-8")

    code, report = plan(citycloud, wuhan_copy, deployed)

    assert code == 0
    # On each of the pool's two clusters.
    assert {(c["action"], c["kind"], c["name"], c["unit"]) for c in report["changes"]} == {
        (action, kind, name, f"pool.gov.{cluster}") for cluster in GOV_CLUSTERS
        for action, kind, name in (
            ("update", "ValidatingAdmissionPolicy", "citycloud-gov-approved-images"),
            ("update", "ConfigMap", "citycloud-pool"))}
    for guardrail in [c for c in report["changes"] if c["kind"] == "ValidatingAdmissionPolicy"]:
        assert "harbor.gov.cn" in guardrail["diff"]
    # Only that pool: `plan -t pool.gov` shows the same, `-t pool.industry` nothing.
    assert plan(citycloud, wuhan_copy, deployed, "-t", "pool.gov")[1]["changes"] == (
        report["changes"])
    assert plan(citycloud, wuhan_copy, deployed, "-t", "pool.industry")[1]["changes"] == []
