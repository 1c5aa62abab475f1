"""Each shipped policy: a passing case and a failing case, edges included.

The passing case for every policy is the Wuhan example (it must validate clean);
failing cases are small registries built in the test, so the reason a policy
fires is visible next to the assertion. Render guards (policies that check what
tenants.render produces) are tripped by breaking the renderer with monkeypatch:
no registry input can trip them while the renderer is right.
"""

from __future__ import annotations

import pathlib
from typing import Any

import jsonout
import pytest
from policy_builders import DEPARTMENT, POOL, TODAY, MakeRegistry, codes
from registries import tenant

from citycloud import policies, tenants
from citycloud.policies import engine
from citycloud.tenants import render

MINE = sorted(r.id for r in engine.POLICIES.values() if r.set != "network")


PLANTED = {"sharing.duplicate-system": ["wh-jiaoyu-edunet"]}  # examples/wuhan/README.md


@pytest.mark.parametrize("rule", MINE)
def test_the_wuhan_example_passes_every_policy(wuhan_report: policies.Report, rule: str) -> None:
    found = [d for d in wuhan_report.findings if d.code == rule]
    assert [d.tenant for d in found] == PLANTED.get(rule, []), [str(d) for d in found]


def evaluate(platform: Any) -> list[str]:
    return codes(policies.evaluate(platform, today=TODAY))


def pool(**changes: Any) -> dict[str, Any]:
    return {**POOL, **changes}


# ---- capacity: exact arithmetic at the edges ----------------------------------


@pytest.mark.parametrize(("quotas", "capacity", "overcommit", "over"), [
    pytest.param(["100m", "200m"], "300m", 1, False, id="0.1+0.2 is exactly 0.3"),
    pytest.param(["100m", "201m"], "300m", 1, True, id="one millicore over"),
    pytest.param(["7500m", "7.5"], "10", 1.5, False, id="exactly 10 x 1.5"),
    pytest.param(["11", "0.001"], "10", 1.1, True, id="10 x 1.1 is 11, not 11.000000000000002"),
])
def test_pool_allocatable_is_exact(make_registry: MakeRegistry, quotas: list[str],
                                   capacity: str, overcommit: float, over: bool) -> None:
    platform = make_registry(
        *(tenant(f"ct-a-s{i}", cpu=q) for i, q in enumerate(quotas)),
        pools=[pool(capacity={"cpu": capacity, "memory": "1Ti", "storage": "1Pi"},
                    overcommit={"cpu": overcommit})],
        settings={"capacity": {"poolWarning": 1}})
    assert ("capacity.pool-allocatable" in evaluate(platform)) is over


def test_memory_in_binary_and_decimal_units_adds_up_exactly(make_registry: MakeRegistry) -> None:
    exactly = make_registry(tenant("ct-a-s1", memory="5Gi"), tenant("ct-a-s2", memory="5368709120"),
                            settings={"capacity": {"poolWarning": 1}})
    assert evaluate(exactly) == []
    over = make_registry(tenant("ct-a-s1", memory="5Gi"), tenant("ct-a-s2", memory="5368709121"),
                         settings={"capacity": {"poolWarning": 1}})
    assert evaluate(over) == ["capacity.pool-allocatable"]


@pytest.mark.parametrize(("cpu", "warned"), [("8", False), ("8001m", True)])
def test_pool_headroom_warns_strictly_above_the_line(make_registry: MakeRegistry, cpu: str,
                                                      warned: bool) -> None:
    platform = make_registry(tenant("ct-a-s1", cpu=cpu),
                             settings={"capacity": {"poolWarning": 0.8}})
    assert evaluate(platform) == (["capacity.pool-headroom"] if warned else [])


@pytest.mark.parametrize(("cpu", "fits"), [("2500m", True), ("2501m", False)])
def test_tenant_fits_its_share(make_registry: MakeRegistry, cpu: str, fits: bool) -> None:
    platform = make_registry(tenant("ct-a-s1", cpu=cpu),
                             settings={"capacity": {"maxTenantShare": 0.25}})
    assert evaluate(platform) == ([] if fits else ["capacity.tenant-fits"])


@pytest.mark.parametrize(("second", "over"), [("3", False), ("3001m", True)])
def test_department_ceiling_counts_every_pool(make_registry: MakeRegistry, second: str,
                                              over: bool) -> None:
    industry = pool(name="industry", kind="industry", placement={
        "nodeSelector": {"citycloud.io/pool": "industry"},
        "taint": {"key": "citycloud.io/pool", "value": "industry"}, "architectures": ["amd64"]})
    platform = make_registry(
        tenant("ct-a-s1", cpu="2"), tenant("ct-a-s2", cpu=second, pool="industry"),
        pools=[POOL, industry],
        settings={"capacity": {"departmentCeilings": {"ct-a": {"cpu": 5}}}})
    assert evaluate(platform) == (["capacity.department-ceiling"] if over else [])


# ---- security -----------------------------------------------------------------


def test_a_dedicated_pool_serves_one_department(make_registry: MakeRegistry) -> None:
    other = {**DEPARTMENT, "code": "ct-b", "owners": ["ct-b-admins"], "costCentre": "CT-B"}
    dedicated = pool(dedicated=True, maxClassification=4)
    alone = make_registry(tenant("ct-a-s1", classification=4), pools=[dedicated],
                          settings={"security": {"encryptedStorageClasses": {"gov": ["sm4"]}}})
    assert evaluate(alone) == []
    shared = make_registry(tenant("ct-a-s1", classification=4),
                           tenant("ct-b-s1", department="ct-b"), pools=[dedicated],
                           departments=[DEPARTMENT, other],
                           settings={"security": {"encryptedStorageClasses": {"gov": ["sm4"]}}})
    assert evaluate(shared) == ["security.mlps-pool", "security.mlps-pool"]


@pytest.mark.parametrize(("cidr", "public"), [
    pytest.param("10.200.0.0/16", False, id="rfc1918"),
    pytest.param("fd12:3456::/48", False, id="ula"),
    pytest.param("100.64.0.0/16", False, id="cgnat"),
    pytest.param("0.0.0.0/1", True, id="half the internet"),
    pytest.param("2001:db8::/32", True, id="ipv6 global"),
])
def test_default_deny_allows_only_private_ranges(make_registry: MakeRegistry, cidr: str,
                                                 public: bool) -> None:
    platform = make_registry(tenant("ct-a-s1", networks=[
        {"name": "line", "cidr": cidr, "purpose": "telemetry"}]))
    assert ("security.default-deny" in evaluate(platform)) is public


def test_an_owner_group_nobody_declared_is_refused(make_registry: MakeRegistry) -> None:
    doc = tenant("ct-a-s1")
    doc["spec"]["owners"] = ["ct-a-admins", "someone-else"]
    finding = policies.evaluate(make_registry(doc), today=TODAY).findings[0]
    assert (finding.code, finding.field) == ("security.cross-department-rights", "spec.owners[1]")
    assert "not an owner group of any department" in finding.message


def test_pools_without_tenants_need_no_registries(make_registry: MakeRegistry) -> None:
    spare = pool(name="spare", imageRegistries=[], placement={
        "nodeSelector": {"citycloud.io/pool": "spare"},
        "taint": {"key": "citycloud.io/pool", "value": "spare"}, "architectures": ["amd64"]})
    assert evaluate(make_registry(tenant("ct-a-s1"), pools=[POOL, spare])) == []
    assert evaluate(make_registry(tenant("ct-a-s1", pool="spare"), pools=[POOL, spare])) == [
        "security.image-registries"]


def test_management_networks_reached_through_a_shared_network(make_registry: MakeRegistry,
                                                              tmp_path: Any) -> None:
    platform = make_registry(tenant("ct-a-s1"), settings={
        "security": {"managementNetworks": ["10.250.0.0/16"]}})
    assert evaluate(platform) == []
    doc = tenant("ct-a-s1", networks=[{"name": "bmc", "cidr": "10.250.8.0/24",
                                       "purpose": "ops"}])
    assert evaluate(make_registry(doc, settings={
        "security": {"managementNetworks": ["10.250.0.0/16"]}})) == ["security.management-network"]


def test_a_network_holding_a_pool_nodes_address_reaches_the_platform(
        make_registry: MakeRegistry) -> None:
    """Nodes given by IP count as management endpoints, declared or not; by name they can't."""
    def with_node(address: str) -> dict[str, Any]:
        return pool(nodes={"hosts": [{"name": "gov-node-01", "address": address,
                                      "arch": "amd64", "os": "Kylin"}]})

    doc = tenant("ct-a-s1", networks=[{"name": "lan", "cidr": "10.20.0.0/16",
                                       "purpose": "ops"}])
    platform = make_registry(doc, pools=[with_node("10.20.8.11")])
    assert evaluate(platform) == ["security.management-network"]
    [found] = [d for d in policies.evaluate(platform, today=TODAY).findings
               if d.code == "security.management-network"]
    assert "10.20.0.0/16 overlaps node gov-node-01 (10.20.8.11) of pool gov" in found.message
    assert evaluate(make_registry(doc, pools=[with_node("172.16.8.11")])) == []
    assert evaluate(make_registry(doc, pools=[with_node("node-01.gov.example.cn")])) == []


# ---- placement ----------------------------------------------------------------


def test_a_pinned_architecture_must_be_declared(make_registry: MakeRegistry) -> None:
    pinned = pool(placement={**POOL["placement"], "nodeSelector": {
        "citycloud.io/pool": "gov", "kubernetes.io/arch": "arm64"}})
    assert evaluate(make_registry(tenant("ct-a-s1"), pools=[pinned])) == [
        "placement.architectures"]


def test_vendors_and_architectures_agree(make_registry: MakeRegistry) -> None:
    xc = pool(kind="xinchuang", placement={**POOL["placement"],
                                          "architectures": ["arm64", "amd64", "loong64"]})
    vendors = {"placement": {"cpuVendors": {"gov": ["kunpeng", "zhaoxin", "loongson"]}}}
    assert evaluate(make_registry(tenant("ct-a-s1"), pools=[xc], settings=vendors)) == []
    assert evaluate(make_registry(tenant("ct-a-s1"), pools=[xc])) == ["placement.architectures"]


# ---- settings -----------------------------------------------------------------


def test_sets_and_single_policies_can_be_switched_off(make_registry: MakeRegistry) -> None:
    doc = tenant("ct-a-s1", classification=3)  # no encrypted storage class: a finding
    assert evaluate(make_registry(doc)) == ["security.encrypted-storage"]
    assert evaluate(make_registry(doc, settings={"sets": {"security": False}})) == []
    assert evaluate(make_registry(doc, settings={
        "disabled": ["security.encrypted-storage"]})) == []


# ---- render guards --------------------------------------------------------------


def _drop_pool_label(tenant_: Any) -> dict[str, str]:
    labels = {**ORIGINAL_LABELS(tenant_)}
    del labels[render.LABEL_POOL]
    return labels


ORIGINAL_LABELS = render.standard_labels
ORIGINAL_NAMESPACE = render.namespace_object


def _baseline_namespace(tenant_: Any, **kwargs: Any) -> dict[str, Any]:
    made = ORIGINAL_NAMESPACE(tenant_, **kwargs)
    made["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"
    return made


@pytest.mark.parametrize(("target", "broken", "expected"), [
    pytest.param("namespace_object", _baseline_namespace, "security.pod-security",
                 id="pod-security"),
    pytest.param("standard_labels", _drop_pool_label, "standards.required-labels",
                 id="required-labels"),
    pytest.param("standard_labels", _drop_pool_label, "placement.guardrail-coverage",
                 id="guardrail-coverage"),
])
def test_render_guards_catch_a_broken_renderer(
        make_registry: MakeRegistry, monkeypatch: pytest.MonkeyPatch, target: str,
        broken: Any, expected: str) -> None:
    settings = {"security": {"encryptedStorageClasses": {"gov": ["sm4"]}}}
    doc = tenant("ct-a-s1", classification=3)
    assert evaluate(make_registry(doc, settings=settings)) == []
    monkeypatch.setattr(render, target, broken)
    assert expected in evaluate(make_registry(doc, settings=settings))


def test_audit_annotations_guard(make_registry: MakeRegistry,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    original = render.namespace_object

    def without_owners(*args: Any, **kwargs: Any) -> Any:
        namespace = original(*args, **kwargs)
        del namespace["metadata"]["annotations"]["citycloud.io/owners"]
        return namespace

    monkeypatch.setattr(render, "namespace_object", without_owners)
    assert evaluate(make_registry(tenant("ct-a-s1"))) == ["security.audit-annotations"]


def test_default_deny_guard(make_registry: MakeRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    original = render.network_policies
    monkeypatch.setattr(render, "network_policies", lambda *a, **k: [
        p for p in original(*a, **k) if p["metadata"]["name"] != "citycloud-default-deny"])
    assert evaluate(make_registry(tenant("ct-a-s1"))) == ["security.default-deny"]


def test_owner_binding_guard(make_registry: MakeRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    original = render.owner_binding

    def with_a_user(*args: Any, **kwargs: Any) -> Any:
        binding = original(*args, **kwargs)
        binding["subjects"].append({"kind": "User", "name": "vendor-engineer"})
        return binding

    monkeypatch.setattr(render, "owner_binding", with_a_user)
    assert evaluate(make_registry(tenant("ct-a-s1"))) == ["security.cross-department-rights"]


def test_restricted_from_level_2_restricts_level_2_and_asks_departments_nothing(
        wuhan_copy: pathlib.Path, citycloud: Any) -> None:
    """One MLPS -> Pod Security mapping, the registry's: at restrictedFromLevel 2 a level-2
    tenant's namespaces are restricted, and what is left to fix is the platform team's."""
    platform_file = wuhan_copy / "platform.yaml"
    platform_file.write_text(platform_file.read_text().replace(
        "restrictedFromLevel: 3 ", "restrictedFromLevel: 2 "))
    platform = tenants.load(wuhan_copy)
    level_2 = platform.tenants["wh-zwfw-opendata"]
    assert level_2.spec.classification == 2
    assert {o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
            for o in render.render_tenant(level_2, platform=platform)
            if o["kind"] == "Namespace"} == {"restricted"}
    result = citycloud("-r", wuhan_copy, "validate", "-o", "json")
    errors = [d for d in jsonout.data(result.stdout)["diagnostics"] if d["severity"] == "error"]
    assert [(d["file"], d["code"]) for d in errors] == [
        ("platform.yaml", "security.encrypted-storage")]  # the industry pool needs SM4 now
