"""Reviewed CLI defects: a mistake in what a user typed, or in the registry, must not pass
silently as an empty plan, a written file or a "valid" registry."""

from __future__ import annotations

import pathlib
import shutil

import jsonout
import pytest
import registries

VIDEO = "tenants/wh-gongan/wh-gongan-video.yaml"


def words(text: str) -> str:
    """Output with rich's line wrapping and box borders undone."""
    return " ".join(text.replace("│", " ").split())


def over_capacity(registry: pathlib.Path) -> None:
    """Make one tenant ask for more than its pool allows: a policy error, not a load error."""
    path = registry / VIDEO
    path.write_text(path.read_text(encoding="utf-8").replace("cpu: 256", "cpu: 100000"),
                    encoding="utf-8")


# ---- plan: unknown tenant, missing --deployed ---------------------------------


def test_plan_of_an_unknown_tenant_is_a_usage_error(wuhan: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", wuhan, "plan", "-t", "wh-gongan-vidoe")
    assert result.exit_code == 2
    assert "'wh-gongan-vidoe'" in words(result.output)
    assert "did you mean 'wh-gongan-video'?" in words(result.output)


def test_plan_of_a_known_tenant_still_plans_it(wuhan: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", wuhan, "plan", "-t", "wh-gongan-video", "-o", "json")
    assert result.exit_code == 0, result.output
    # On its cluster: the tenant's name selects it wherever it runs.
    assert {c["unit"] for c in jsonout.data(result.stdout)["changes"]} == {
        "wh-gongan-video.wh-gov-guanggu"}


def test_plan_selects_a_disaster_recovery_tenant_on_each_cluster_or_on_one(
        wuhan: pathlib.Path, citycloud) -> None:
    both = citycloud("-r", wuhan, "plan", "-t", "wh-zwfw-identity", "-o", "json")
    one = citycloud("-r", wuhan, "plan", "-t", "wh-zwfw-identity.wh-gov-hankou", "-o", "json")
    assert {c["unit"] for c in jsonout.data(both.stdout)["changes"]} == {
        "wh-zwfw-identity.wh-gov-hankou", "wh-zwfw-identity.wh-gov-guanggu"}
    assert {c["unit"] for c in jsonout.data(one.stdout)["changes"]} == {
        "wh-zwfw-identity.wh-gov-hankou"}


def test_plan_with_a_missing_deployed_folder_is_a_usage_error(
        wuhan: pathlib.Path, tmp_path: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", wuhan, "plan", "--deployed", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert "does not exist" in words(result.output)


def test_plan_without_a_deployed_state_plans_everything_new(
        wuhan: pathlib.Path, tmp_path: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", wuhan, "--state-dir", tmp_path / "state", "plan", "-o", "json")
    assert result.exit_code == 0, result.output
    assert jsonout.data(result.stdout)["summary"]["update"] == 0


# ---- policies list --set ------------------------------------------------------


def test_policies_list_of_an_unknown_set_is_a_usage_error(citycloud) -> None:
    result = citycloud("policies", "list", "--set", "securty")
    assert result.exit_code == 2
    assert "did you mean 'security'?" in words(result.output)
    assert "standards" in words(result.output)  # the known sets are listed


def test_policies_list_of_a_known_set(citycloud) -> None:
    result = citycloud("policies", "list", "--set", "security", "-o", "json")
    assert result.exit_code == 0, result.output
    assert {row["set"] for row in jsonout.data(result.stdout)} == {"security"}


# ---- schema --out --kind --------------------------------------------------------


def test_schema_out_with_an_unknown_kind_is_a_usage_error(tmp_path: pathlib.Path,
                                                          citycloud) -> None:
    result = citycloud("schema", "--out", tmp_path / "schema", "--kind", "bogus")
    assert result.exit_code == 2
    assert not (tmp_path / "schema").exists()


def test_schema_out_with_a_kind_writes_only_that_kind(tmp_path: pathlib.Path,
                                                      citycloud) -> None:
    result = citycloud("schema", "--out", tmp_path / "schema", "--kind", "platform")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "schema").iterdir()] == ["platform.schema.json"]


def test_schema_out_without_a_kind_writes_every_kind(tmp_path: pathlib.Path, citycloud) -> None:
    assert citycloud("schema", "--out", tmp_path / "schema").exit_code == 0
    assert "tenant.schema.json" in {p.name for p in (tmp_path / "schema").iterdir()}
    assert len(list((tmp_path / "schema").iterdir())) > 1


# ---- render refuses a registry that fails the policies ----------------------------


def test_render_refuses_a_registry_that_fails_the_policies(
        wuhan_copy: pathlib.Path, tmp_path: pathlib.Path, citycloud) -> None:
    over_capacity(wuhan_copy)
    result = citycloud("-r", wuhan_copy, "render", tmp_path / "out")
    assert result.exit_code == 1
    assert "capacity.tenant-fits" in result.output
    assert not (tmp_path / "out").exists()


def test_render_with_force_renders_anyway_and_says_so(
        wuhan_copy: pathlib.Path, tmp_path: pathlib.Path, citycloud) -> None:
    over_capacity(wuhan_copy)
    result = citycloud("-r", wuhan_copy, "render", tmp_path / "out", "--force")
    assert result.exit_code == 0, result.output
    assert "--force" in result.stderr
    assert (tmp_path / "out" / "wh-gongan-video.wh-gov-guanggu").is_dir()


# ---- tenant new refuses a request that fails the policies ----------------------------


def test_tenant_new_refuses_a_request_that_fails_the_policies(wuhan_copy: pathlib.Path,
                                                              citycloud) -> None:
    result = citycloud("-r", wuhan_copy, "tenant", "new", "wh-gongan", "wh-gongan-huge",
                       "--cpu", "100000", "--description", "大数据")
    assert result.exit_code == 1
    assert "wh-gongan-huge" in result.output
    assert "capacity.tenant-fits" in result.output
    assert not (wuhan_copy / "tenants" / "wh-gongan" / "wh-gongan-huge.yaml").exists()


def test_tenant_new_with_force_writes_a_failing_request(wuhan_copy: pathlib.Path,
                                                        citycloud) -> None:
    result = citycloud("-r", wuhan_copy, "tenant", "new", "wh-gongan", "wh-gongan-huge",
                       "--cpu", "100000", "--description", "大数据", "--force")
    assert result.exit_code == 0, result.output
    assert "capacity.tenant-fits" in result.stderr
    assert (wuhan_copy / "tenants" / "wh-gongan" / "wh-gongan-huge.yaml").exists()


def test_tenant_new_prints_warnings_and_writes(wuhan_copy: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", wuhan_copy, "tenant", "new", "wh-gongan", "wh-gongan-nodesc")
    assert result.exit_code == 0, result.output
    assert "standards.description" in result.stderr
    assert (wuhan_copy / "tenants" / "wh-gongan" / "wh-gongan-nodesc.yaml").exists()


# ---- codeowners: names and hand-written files ----------------------------------


@pytest.mark.parametrize("option", [
    pytest.param(["--platform-team", "team\n/tenants/ @evil"], id="newline-in-team"),
    pytest.param(["--platform-team", "-team"], id="team-starts-with-dash"),
    pytest.param(["--org", "wuhan gov"], id="space-in-org"),
    pytest.param(["--org", "wuhan.gov"], id="dot-in-org"),
])
def test_codeowners_refuses_names_that_are_not_github_names(
        wuhan_copy: pathlib.Path, citycloud, option: list[str]) -> None:
    result = citycloud("-r", wuhan_copy, "codeowners", "--write", *option)
    assert result.exit_code == 2
    assert option[0] in words(result.output)
    assert "is not a GitHub" in words(result.output)
    assert not (wuhan_copy / "CODEOWNERS").exists()


def test_codeowners_takes_team_slugs_with_dots_and_underscores(wuhan_copy: pathlib.Path,
                                                               citycloud) -> None:
    result = citycloud("-r", wuhan_copy, "codeowners", "--org", "wuhan-gov",
                       "--platform-team", "cloud_platform.ops")
    assert result.exit_code == 0, result.output
    assert "* @wuhan-gov/cloud_platform.ops" in result.stdout


def test_codeowners_write_keeps_a_hand_written_file(wuhan_copy: pathlib.Path,
                                                    citycloud) -> None:
    mine = "* @someone\n"
    (wuhan_copy / "CODEOWNERS").write_text(mine, encoding="utf-8")
    result = citycloud("-r", wuhan_copy, "codeowners", "--write")
    assert result.exit_code == 2
    assert "--force" in words(result.output)
    assert (wuhan_copy / "CODEOWNERS").read_text(encoding="utf-8") == mine

    forced = citycloud("-r", wuhan_copy, "codeowners", "--write", "--force")
    assert forced.exit_code == 0, forced.output
    assert (wuhan_copy / "CODEOWNERS").read_text(encoding="utf-8") != mine


def test_codeowners_write_replaces_its_own_file(wuhan_copy: pathlib.Path, citycloud) -> None:
    assert citycloud("-r", wuhan_copy, "codeowners", "--write").exit_code == 0
    result = citycloud("-r", wuhan_copy, "codeowners", "--write", "--org", "wuhan-gov")
    assert result.exit_code == 0, result.output
    assert "@wuhan-gov/" in (wuhan_copy / "CODEOWNERS").read_text(encoding="utf-8")


# ---- a registry without its tenants/ folder -------------------------------------------


def test_a_registry_without_a_tenants_folder_warns(wuhan_copy: pathlib.Path, citycloud) -> None:
    shutil.rmtree(wuhan_copy / "tenants")
    # The city's catalogue of shared services names tenants, which are gone with the folder
    # (sharing.catalogue errors); without it, the missing folder is all there is to report.
    registries.edit_platform(wuhan_copy, lambda data: data["spec"].pop("sharedServices", None))
    result = citycloud("-r", wuhan_copy, "validate", "-o", "json")
    assert result.exit_code == 0, result.output
    report = jsonout.data(result.stdout)
    assert [(d["code"], d["severity"]) for d in report["diagnostics"]] == [
        ("no_tenants", "warning")]
    assert "tenants/<department>/<tenant>.yaml" in report["diagnostics"][0]["message"]


def test_a_tenants_file_instead_of_a_folder_is_invalid(wuhan_copy: pathlib.Path,
                                                       citycloud) -> None:
    shutil.rmtree(wuhan_copy / "tenants")
    (wuhan_copy / "tenants").write_text("", encoding="utf-8")
    result = citycloud("-r", wuhan_copy, "validate")
    assert result.exit_code == 2
    assert "tenants: is not a folder" in words(result.output)
    assert "[tenants_not_a_folder]" in words(result.output)


def test_a_registry_with_tenants_has_no_tenants_warning(wuhan: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", wuhan, "validate", "-o", "json")
    assert result.exit_code == 0, result.output
    assert "no_tenants" not in {d["code"] for d in jsonout.data(result.stdout)["diagnostics"]}
