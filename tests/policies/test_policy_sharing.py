"""The sharing set: each code on its bad case at its file:line, silent on the good case; the
catalogue's duplicates and the consolidation report's exact sums; the CLI's catalogue.

The small city: ct-a-idm (department ct-a) publishes `sso` (kind identity) to department
ct-b; ct-b-web asks for it. Files are written one value a line (make_registry), so the
lines named here are those of tests/registries.py's layout:

    provider tenants/ct-a/ct-a-idm.yaml          consumer tenants/ct-b/ct-b-web.yaml
    16 namespaces: [17 app, 18 admin]            16 namespaces: [17 app]
    19 services: 20 - name: sso  21 namespace    18 consumes: 19 - tenant  20 service
    22 ports  24 kind  25 audience               21 namespaces: 22 first one
    26 departments: 27 ct-b  28 the next field
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import clirun
import jsonout
import pytest
import registries
from policy_builders import DEPARTMENT, POOL, TODAY, MakeRegistry
from registries import (
    cluster,
    consumption,
    department,
    pool,
    service,
    shared_service,
    tenant,
)

from citycloud import policies, tenants
from citycloud.policies import engine
from citycloud.tenants import sharing

DEPARTMENTS = [DEPARTMENT, department("ct-b"), department("ct-c")]
INDUSTRY = pool("industry", cpu="10", memory="10Gi", storage="1Ti")
CATALOGUE = [shared_service("identity", tenant="ct-a-idm", service="sso",
                            display_name="统一身份认证")]
PROVIDER_FILE = "tenants/ct-a/ct-a-idm.yaml"
CONSUMER_FILE = "tenants/ct-b/ct-b-web.yaml"


def provider(*more: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """ct-a-idm publishing sso to ct-b (fields change the service), then `more` services."""
    sso = service("sso", kind="identity", **{"departments": ["ct-b"], **fields})
    return tenant("ct-a-idm", namespaces=["app", "admin"], services=[sso, *more])


def consumer(*requests: dict[str, Any], name: str = "ct-b-web", **fields: Any) -> dict[str, Any]:
    return tenant(name, consumes=list(requests) or [consumption("ct-a-idm", "sso")], **fields)


def sharing_findings(platform: tenants.Platform) -> list[str]:
    """What validate prints for the sharing set and the settings it reads."""
    report = policies.evaluate(platform, today=TODAY)
    return [str(d) for d in report.findings
            if d.code.startswith("sharing.") or d.code == "engine.unknown-reference"]


def make(make_registry: MakeRegistry, *docs: dict[str, Any], **options: Any) -> tenants.Platform:
    options.setdefault("departments", DEPARTMENTS)
    options.setdefault("pools", [POOL, INDUSTRY])
    options.setdefault("shared_services", CATALOGUE)
    return make_registry(*docs, **options)


def test_the_set_registers_its_codes() -> None:
    assert sorted(r.id for r in engine.POLICIES.values() if r.set == "sharing") == [
        "sharing.catalogue", "sharing.classification", "sharing.cross-cluster",
        "sharing.declaration",
        "sharing.duplicate-system", "sharing.not-in-audience", "sharing.pool-flow",
        "sharing.service-namespace", "sharing.unknown-service"]
    assert engine.POLICIES["sharing.duplicate-system"].severity is engine.Severity.WARNING


# ---- the good cases -----------------------------------------------------------------


@pytest.mark.parametrize(("provider_doc", "consumer_doc", "settings"), [
    pytest.param(provider(), consumer(), None, id="department in the audience"),
    pytest.param(provider(departments=None, pools=["gov"]), consumer(), None, id="by pool"),
    pytest.param(provider(departments=None, city=True), consumer(), None, id="the city"),
    pytest.param(provider(min_classification=3), consumer(classification=3), None,
                 id="at the minimum level"),
    pytest.param(provider(min_classification=2), consumer(classification=4), None,
                 id="above the minimum level"),
    pytest.param(provider(), consumer(consumption("ct-a-idm", "sso", namespaces=["app"])),
                 None, id="named calling namespace"),
    pytest.param(provider(), consumer(pool="industry"),
                 {"sharing": {"allowedPoolFlows": [{"consumer": "industry", "provider": "gov"}]}},
                 id="allowed pool flow"),
])
def test_consented_flows_pass(make_registry: MakeRegistry, provider_doc: dict[str, Any],
                              consumer_doc: dict[str, Any],
                              settings: dict[str, Any] | None) -> None:
    platform = make(make_registry, provider_doc, consumer_doc, settings=settings)
    assert sharing_findings(platform) == []
    assert [f.status for f in sharing.resolve(platform)] == [sharing.Status.GRANTED]


# ---- each code on its bad case --------------------------------------------------------


BAD = [
    pytest.param(
        [provider(), consumer(consumption("ct-a-idn", "sso"))], {},
        f"{CONSUMER_FILE}:19 spec.consumes[0].tenant: tenant 'ct-a-idn' does not exist, so it "
        "publishes no service 'sso' (did you mean 'ct-a-idm'?) [sharing.unknown-service]",
        id="unknown tenant"),
    pytest.param(
        [provider(), consumer(consumption("ct-a-idm", "ssso"))], {},
        f"{CONSUMER_FILE}:20 spec.consumes[0].service: tenant ct-a-idm publishes no service "
        "'ssso' (did you mean 'sso'?) [sharing.unknown-service]", id="unknown service"),
    pytest.param(
        [provider(), consumer(consumption("ct-a-idm", "files"))], {},
        f"{CONSUMER_FILE}:20 spec.consumes[0].service: tenant ct-a-idm publishes no service "
        "'files' (it publishes sso) [sharing.unknown-service]", id="nothing close"),
    pytest.param(
        [provider(), consumer(name="ct-c-web")], {},
        "tenants/ct-c/ct-c-web.yaml:19 spec.consumes[0]: service 'sso' of ct-a-idm is not "
        "published to department ct-c or pool gov (its audience: departments ct-b) "
        f"(department ct-a decides: it adds 'ct-c' to audience.departments at "
        f"{PROVIDER_FILE}:25; until then drop this request) [sharing.not-in-audience]",
        id="not in audience"),
    pytest.param(
        [provider(min_classification=3), consumer(classification=2)], {},
        f"{CONSUMER_FILE}:19 spec.consumes[0]: service 'sso' of ct-a-idm serves systems of "
        "MLPS level 3 or above; this tenant is level 2: data must not flow down the levels "
        "(drop this request, or have the system assessed at level 3 and raise "
        "spec.classification; only department ct-a can lower minClassification "
        f"({PROVIDER_FILE}:28)) [sharing.classification]", id="classification"),
    pytest.param(
        [provider(), consumer(pool="industry")],
        {"settings": {"sharing": {"allowedPoolFlows": [
            {"consumer": "gov", "provider": "industry"}]}}},
        f"{CONSUMER_FILE}:19 spec.consumes[0]: service 'sso' of ct-a-idm runs in pool 'gov', "
        "and flows from pool 'industry' into pool 'gov' are not allowed (the platform team "
        "decides: it adds {consumer: industry, provider: gov} to "
        "policies.sharing.allowedPoolFlows in platform.yaml; or consume a service of pool "
        "'industry') [sharing.pool-flow]", id="pool flow, only the other way allowed"),
    pytest.param(
        [provider(namespace="ap"), consumer()], {},
        f"{PROVIDER_FILE}:21 spec.services[0].namespace: service 'sso' is published from "
        "namespace 'ap', which is not one of this tenant's (did you mean 'app'?) "
        "[sharing.service-namespace]", id="service namespace"),
    pytest.param(
        [provider(), consumer(consumption("ct-a-idm", "sso", namespaces=["wbe"]))], {},
        f"{CONSUMER_FILE}:22 spec.consumes[0].namespaces[0]: namespace 'wbe' is not one of "
        "this tenant's: a tenant asks for flows from its own namespaces only (its "
        "namespaces: app) [sharing.service-namespace]", id="calling namespace"),
    pytest.param(
        [provider(service("sso", kind="gis")), consumer()], {},
        f"{PROVIDER_FILE}:28 spec.services[1].name: service 'sso' is published twice (also "
        "spec.services[0]) (give each service a name of its own, or merge their ports) "
        "[sharing.declaration]", id="published twice"),
    pytest.param(
        [provider(departments=["ct-b", "ct-bb"]), consumer()], {},
        f"{PROVIDER_FILE}:28 spec.services[0].audience.departments[1]: department 'ct-bb' is "
        "not in departments.yaml: the audience admits nobody by that name (did you mean "
        "'ct-b'?) [sharing.declaration]", id="audience department"),
    pytest.param(
        [provider(pools=["gvo"]), consumer()], {},
        f"{PROVIDER_FILE}:29 spec.services[0].audience.pools[0]: pool 'gvo' is not in "
        "platform.yaml: the audience admits nobody by that name (did you mean 'gov'?) "
        "[sharing.declaration]", id="audience pool"),
    pytest.param(
        [provider(), tenant("ct-b-web", services=[service("api", kind="portal")],
                            consumes=[consumption("ct-a-idm", "sso"),
                                      consumption("ct-b-web", "api")])], {},
        f"{CONSUMER_FILE}:28 spec.consumes[1].tenant: a tenant does not consume its own "
        "service: its namespaces already reach each other (drop this entry) "
        "[sharing.declaration]", id="own service"),
    pytest.param(
        [provider(), consumer(consumption("ct-a-idm", "sso"),
                              consumption("ct-a-idm", "sso", namespaces=["app"]))], {},
        f"{CONSUMER_FILE}:21 spec.consumes[1]: service 'sso' of ct-a-idm is requested twice "
        "(also spec.consumes[0]) (merge the entries: list every calling namespace in one) "
        "[sharing.declaration]", id="requested twice"),
    pytest.param(
        [provider(), consumer()],
        {"shared_services": [*CATALOGUE, shared_service("identity", tenant="ct-a-idm",
                                                        service="sso")]},
        "platform.yaml:44 spec.sharedServices[1].kind: kind 'identity' is listed twice (also "
        "spec.sharedServices[0]) (the city runs one system of each kind: keep one entry) "
        "[sharing.catalogue]", id="catalogue kind twice"),
    pytest.param(
        [provider(), consumer()],
        {"shared_services": [shared_service("identity", tenant="ct-a-idn", service="sso")]},
        "platform.yaml:41 spec.sharedServices[0].tenant: tenant 'ct-a-idn' does not exist "
        "(did you mean 'ct-a-idm'?) [sharing.catalogue]", id="catalogue tenant"),
    pytest.param(
        [provider(), consumer()],
        {"shared_services": [shared_service("identity", tenant="ct-a-idm", service="ssso")]},
        "platform.yaml:42 spec.sharedServices[0].service: tenant ct-a-idm publishes no "
        "service 'ssso' (did you mean 'sso'?) [sharing.catalogue]", id="catalogue service"),
    pytest.param(
        [provider(), consumer()],
        {"shared_services": [shared_service("gis", tenant="ct-a-idm", service="sso")]},
        "platform.yaml:40 spec.sharedServices[0].kind: service 'sso' of ct-a-idm is of kind "
        "'identity', not 'gis' (list it under kind 'identity', or department ct-a corrects "
        f"the service's kind ({PROVIDER_FILE}:24)) [sharing.catalogue]",
        id="catalogue kind mismatch"),
    pytest.param(
        [provider(), consumer()],
        {"settings": {"sharing": {"allowedPoolFlows": [
            {"consumer": "industry", "provider": "gvo"}]}}},
        "platform.yaml:43 spec.policies.sharing.allowedPoolFlows[0].provider: pool 'gvo' does "
        "not exist (did you mean 'gov'?) [engine.unknown-reference]", id="pool flow settings"),
]


@pytest.mark.parametrize(("docs", "options", "expected"), BAD)
def test_each_code_fires_at_its_line(make_registry: MakeRegistry, docs: list[dict[str, Any]],
                                     options: dict[str, Any], expected: str) -> None:
    assert sharing_findings(make(make_registry, *docs, **options)) == [expected]


def test_one_request_learns_every_reason_at_once(make_registry: MakeRegistry) -> None:
    platform = make(make_registry, provider(min_classification=3),
                    consumer(name="ct-c-web", pool="industry"))
    assert sorted(f.split(" [")[-1] for f in sharing_findings(platform)) == [
        "sharing.classification]", "sharing.not-in-audience]", "sharing.pool-flow]"]


def test_the_set_can_be_switched_off(make_registry: MakeRegistry) -> None:
    platform = make(make_registry, provider(), consumer(name="ct-c-web"),
                    settings={"sets": {"sharing": False}})
    assert sharing_findings(platform) == []


# ---- duplicates of the catalogue ------------------------------------------------------


@pytest.mark.parametrize(("requests", "hint"), [
    pytest.param([], "consume ct-a-idm/sso instead (spec.consumes: [{tenant: ct-a-idm, "
                 "service: sso}]) and retire this system; see 'citycloud services report'",
                 id="not yet a consumer"),
    pytest.param([consumption("ct-a-idm", "sso")], "retire this system: the tenant already "
                 "asks for ct-a-idm/sso in spec.consumes", id="already asks for it"),
])
def test_a_second_system_of_a_catalogue_kind_is_a_duplicate(
        make_registry: MakeRegistry, requests: list[dict[str, Any]], hint: str) -> None:
    own = tenant("ct-b-login", services=[service("login", kind="identity")],
                 **({"consumes": requests} if requests else {}))
    platform = make(make_registry, provider(), own)
    assert sharing_findings(platform) == [
        "tenants/ct-b/ct-b-login.yaml:23 spec.services[0].kind: service 'login' is a system of "
        "kind 'identity', which the city already provides: 统一身份认证 (ct-a-idm/sso, "
        f"platform.yaml:40) ({hint}) [sharing.duplicate-system]"]


def test_the_catalogue_provider_and_other_kinds_are_no_duplicates(
        make_registry: MakeRegistry) -> None:
    platform = make(make_registry,
                    provider(service("sso-admin", kind="identity", namespace="admin")),
                    tenant("ct-b-maps", services=[service("maps", kind="gis", city=True)]))
    assert sharing_findings(platform) == []


def test_consolidation_sums_the_duplicates_quota_exactly(make_registry: MakeRegistry) -> None:
    platform = make(
        make_registry,
        provider(service("map", kind="gis", city=True), departments=None, city=True),
        tenant("ct-b-own1", cpu="1500m", memory="1Gi", storage="10Gi", services=[
            service("login", kind="identity"), service("login-admin", kind="identity")]),
        tenant("ct-b-own2", cpu="0.5", memory="512Mi", storage="1Ti",
               services=[service("login", kind="identity")]),
        tenant("ct-c-own", cpu="100m", memory="1G", storage="1T",
               services=[service("sso", kind="identity"), service("chat", kind="im")]),
        shared_services=[*CATALOGUE, shared_service("gis", tenant="ct-a-idm", service="map")])
    identity, gis = sharing.consolidation(platform)
    assert (identity.kind, identity.display_name, identity.tenant, identity.service) == (
        "identity", "统一身份认证", "ct-a-idm", "sso")
    assert [(s.tenant, s.department, s.pool, s.services) for s in identity.systems] == [
        ("ct-b-own1", "ct-b", "gov", ("login", "login-admin")),
        ("ct-b-own2", "ct-b", "gov", ("login",)),
        ("ct-c-own", "ct-c", "gov", ("sso",))]
    assert identity.departments == ("ct-b", "ct-c")
    assert identity.quota == {"cpu": Fraction(21, 10),
                              "memory": 2**30 + 2**29 + 10**9,
                              "storage": 10 * 2**30 + 2**40 + 10**12}
    assert identity.systems[0].quota == {"cpu": Fraction(3, 2), "memory": 2**30,
                                         "storage": 10 * 2**30}
    assert (gis.kind, gis.systems, gis.departments) == ("gis", (), ())
    assert gis.quota == {"cpu": 0, "memory": 0, "storage": 0}
    warned = [f for f in sharing_findings(platform) if "duplicate-system" in f]
    assert len(warned) == 4  # the policy reports the very systems the report counts


def test_consolidation_without_a_catalogue_is_empty(make_registry: MakeRegistry) -> None:
    platform = make(make_registry, provider(), consumer(), shared_services=None)
    assert sharing.consolidation(platform) == []


# ---- as a user sees it ------------------------------------------------------------------


def test_validate_prints_the_finding_under_its_tenant(make_registry: MakeRegistry) -> None:
    platform = make(make_registry, provider(), consumer(name="ct-c-web"))
    result = clirun.invoke("--registry", str(platform.root), "validate", "--today", "2026-01-01")
    assert result.exit_code == 1
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert lines[lines.index("ct-c-web") + 1].startswith(
        "error tenants/ct-c/ct-c-web.yaml:19 spec.consumes[0]: service 'sso' of ct-a-idm is "
        "not published to department ct-c")


def test_policies_list_and_explain_show_the_set(make_registry: MakeRegistry) -> None:
    platform = make(make_registry, provider(), consumer())
    result = clirun.invoke("--registry", str(platform.root), "policies", "list", "--set",
                           "sharing", "-o", "json")
    assert result.exit_code == 0, result.stderr
    rows = jsonout.data(result.stdout)
    assert {r["set"] for r in rows} == {"sharing"} and all(r["enabled"] for r in rows)
    assert "sharing.pool-flow" in {r["id"] for r in rows}
    result = clirun.invoke("--registry", str(platform.root), "policies", "explain",
                           "sharing.pool-flow", "-o", "json")
    assert result.exit_code == 0, result.stderr
    facts = jsonout.data(result.stdout)
    assert facts["details"]["Tuned by"] == (
        "policies.sharing.allowedPoolFlows in platform.yaml")
    assert "policies.sets.sharing: false" in facts["details"]["Switch off"]


# ---- across clusters ----------------------------------------------------------------


@pytest.mark.parametrize(("east", "west", "expected"), [
    pytest.param(["100.64.0.0/14"], ["100.68.0.0/14"], [], id="both pod networks declared"),
    pytest.param([], ["100.68.0.0/14"], [
        f"{CONSUMER_FILE}:19 spec.consumes[0]: service 'sso' of ct-a-idm runs on east and this "
        "tenant on west; cluster(s) east declare no podCidrs, so no door can open between "
        "them (the platform team adds podCidrs to those clusters in platform.yaml; or place "
        "the tenant on a cluster the provider runs on (spec.clusters)) "
        "[sharing.cross-cluster]"], id="the provider's cluster declares none"),
])
def test_a_flow_between_clusters_needs_their_pod_networks(
        tmp_path: Any, east: list[str], west: list[str], expected: list[str]) -> None:
    gov = pool("gov")
    del gov["capacity"]
    clusters = [cluster("east", site="a", podCidrs=east), cluster("west", site="b",
                                                                   podCidrs=west)]
    platform = make_platform(tmp_path, placed(provider(), "east"), consumer(clusters=["west"]),
                             clusters=clusters, pools=[gov])
    assert sharing_findings(platform) == expected


def test_a_flow_on_one_cluster_needs_no_pod_network(tmp_path: Any) -> None:
    gov = pool("gov")
    del gov["capacity"]
    clusters = [cluster("east", site="a"), cluster("west", site="b")]
    platform = make_platform(tmp_path, placed(provider(), "east", "west"),
                             consumer(clusters=["west"]), clusters=clusters, pools=[gov])
    assert sharing_findings(platform) == []


def placed(doc: dict[str, Any], *clusters: str) -> dict[str, Any]:
    doc["spec"]["clusters"] = list(clusters)
    return doc


def make_platform(tmp_path: Any, *docs: dict[str, Any], clusters: list[dict[str, Any]],
                  pools: list[dict[str, Any]]) -> tenants.Platform:
    return registries.make(tmp_path / "registry", *docs, departments=DEPARTMENTS, block=True,
                           platform=registries.platform(*pools, clusters=clusters))
