"""`citycloud validate` with policies, and `citycloud policies list|explain`, as a user runs them.

Assertions are on what a user or CI sees: exit codes (0 clean, 1 violations,
2 invalid input or usage), findings grouped by tenant with file:line, the JSON
fields scripts read and the GitHub Actions annotation lines.
"""

from __future__ import annotations

import pathlib
import re

import clirun
import jsonout
import pytest
from policy_builders import BAD


def citycloud(*args: str) -> tuple[int, str, str]:
    result = clirun.invoke(*args)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "github"])
def test_the_wuhan_example_validates_clean(wuhan: pathlib.Path, fmt: str) -> None:
    code, out, err = citycloud("--registry", str(wuhan), "validate", "--output", fmt)
    assert code == 0, out + err
    if fmt == "json":
        report = jsonout.data(out)
        assert (jsonout.envelope(out)["ok"], report["errors"], report["tenants"]) == (True, 0, 85)
        assert report["policies"] >= 20
        # The only warnings are the planted consolidation candidates and duplicate system
        # (examples/wuhan/README.md).
        assert {(d["code"], d["tenant"]) for d in report["diagnostics"]} == {
            ("network.consolidation", "wh-chengguan-iot"),
            ("network.consolidation", "wh-shengtai-monitor"),
            ("sharing.duplicate-system", "wh-jiaoyu-edunet")}


def test_violations_exit_1_grouped_by_tenant() -> None:
    code, out, err = citycloud("--registry", str(BAD), "validate", "--today", "2026-01-01")
    assert code == 1
    lines = err.splitlines()
    big = lines.index("bd-alpha-big")
    assert lines[big + 1].strip() == (
        "error tenants/bd-alpha/bd-alpha-big.yaml:11 spec.quota.cpu: asks for 120 cores of cpu, "
        "more than 100 cores (50% of what pool 'gov' can give: physical x overcommit) (split "
        "the system across tenants, or ask for less) [capacity.tenant-fits]")
    assert re.fullmatch(r"policy violations: \d+ error\(s\), \d+ warning\(s\)", lines[-1])
    assert out.splitlines() == [
        "1 finding(s) waived, still counted:",
        "  waived standards.description for bd-beta-web by 平台安全组 until 2999-12-31 "
        "(waivers.yaml:4)"]


def test_json_report_counts_waived_findings() -> None:
    code, out, _ = citycloud("--registry", str(BAD), "validate", "-o", "json",
                             "--today", "2026-01-01")
    assert code == 1
    report = jsonout.data(out)
    assert jsonout.envelope(out)["error"] == {
        "message": f"policy violations: {report['errors']} error(s)", "exitCode": 1}
    assert report["errors"] == sum(d["severity"] == "error" for d in report["diagnostics"])
    assert report["waived"] == 1
    assert report["waivedFindings"][0] | {"message": ""} == report["waivedFindings"][0] | {
        "code": "standards.description", "tenant": "bd-beta-web", "approver": "平台安全组",
        "expires": "2999-12-31", "waiver": "waivers.yaml:4", "message": ""}


def test_github_annotations_point_at_file_and_line() -> None:
    code, out, _ = citycloud("--registry", str(BAD), "validate", "-o", "github",
                             "--today", "2026-01-01")
    assert code == 1
    assert ("::error file=tenants/bd-alpha/bd-alpha-lvl.yaml,line=9,title=security.mlps-pool::"
            "spec.classification: MLPS level 3 is above what pool 'industry' is assessed for "
            "(maxClassification 2) (move it to gov or xinchuang)") in out.splitlines()
    assert "::warning file=waivers.yaml,line=13,title=engine.waiver-expired::" in out


def test_today_decides_which_waivers_are_active() -> None:
    _, before, _ = citycloud("--registry", str(BAD), "validate", "-o", "json",
                             "--today", "1999-12-31")
    _, after, _ = citycloud("--registry", str(BAD), "validate", "-o", "json",
                            "--today", "2000-01-02")
    assert (jsonout.data(before)["waived"], jsonout.data(after)["waived"]) == (2, 1)


def test_markdown_summary_for_pull_requests() -> None:
    code, out, _ = citycloud("--registry", str(BAD), "validate", "-o", "markdown")
    assert code == 1
    assert out.startswith("## policy violations")
    assert "| error | bd-alpha-big | `tenants/bd-alpha/bd-alpha-big.yaml:11` |" in out
    assert "### Waived (still counted)" in out


def test_invalid_input_is_still_exit_2(bad_copy: pathlib.Path) -> None:
    (bad_copy / "waivers.yaml").write_text("apiVersion: citycloud.io/v1\nkind: WaiverList\n"
                                           "waivers: [{policy: x}]\n")
    code, _, err = citycloud("--registry", str(bad_copy), "validate")
    assert code == 2
    assert "waivers.yaml:3" in err


def test_policies_list_shows_the_catalogue_and_what_the_registry_runs(
        wuhan: pathlib.Path, tmp_path: pathlib.Path) -> None:
    code, out, _ = citycloud("--registry", str(tmp_path), "policies", "list", "-o", "json")
    assert code == 0
    rows = jsonout.data(out)
    assert {"security.pod-security", "capacity.tenant-fits", "engine.waiver-expired"} <= {
        r["id"] for r in rows}
    assert "enabled" not in rows[0]  # no registry here: the catalogue alone
    code, out, _ = citycloud("--registry", str(BAD), "policies", "list", "--set", "security",
                             "-o", "json")
    assert {r["set"] for r in jsonout.data(out)} == {"security"}
    assert all(r["enabled"] for r in jsonout.data(out))


def test_policies_explain_says_why(tmp_path: pathlib.Path) -> None:
    code, out, _ = citycloud("--registry", str(tmp_path), "policies", "explain",
                             "security.image-registries", "-o", "json")
    assert code == 0
    facts = jsonout.data(out)
    assert facts["severity"] == "error"
    assert facts["details"]["Tuned by"] == "policies.security.publicRegistries in platform.yaml"
    assert "citycloud-<pool>-approved-images" in facts["details"]["In the cluster"]
    assert "tenant: <name>" in facts["details"]["Exception"]


def test_explaining_an_unknown_policy_suggests_one(tmp_path: pathlib.Path) -> None:
    code, _, err = citycloud("--registry", str(tmp_path), "policies", "explain",
                             "security.pod-securty")
    assert code == 2
    assert "did you mean 'security.pod-security'?" in re.sub(r"[\s│]+", " ", err)
