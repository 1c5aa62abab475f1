"""What a tenant becomes in Kubernetes: every object of every Wuhan tenant, checked.

Objects are checked against the OpenAPI schema of the Kubernetes version the project
targets (tests/kube_schema.py), and against the security baseline of DESIGN.md: Pod
Security by MLPS level, default-deny in every namespace, owners bound and nobody else,
standard labels on everything.
"""

from __future__ import annotations

import re
from collections import Counter

import kube_schema
import pytest
import registries
from render_helpers import wuhan_platform

from citycloud import tenants
from citycloud.tenants import models, quantities, render, sharing, units

TENANTS = sorted(wuhan_platform().tenants)
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
PSA_MODES = ("enforce", "audit", "warn")


def of_kind(objects: list[render.Manifest], kind: str) -> list[render.Manifest]:
    return [o for o in objects if o["kind"] == kind]


def test_the_example_is_the_whole_city(rendered: dict[str, list[render.Manifest]]) -> None:
    assert len(rendered) == 85
    assert sum(map(len, rendered.values())) > 1000


@pytest.mark.parametrize("name", TENANTS)
def test_every_object_is_valid_kubernetes(name: str,
                                          rendered: dict[str, list[render.Manifest]]) -> None:
    for manifest in rendered[name]:
        kube_schema.validate(manifest)


@pytest.mark.parametrize("name", TENANTS)
def test_names_labels_and_quantities_are_what_the_api_server_accepts(
        name: str, rendered: dict[str, list[render.Manifest]]) -> None:
    """What the OpenAPI schema leaves to the API server's own validation."""
    for manifest in rendered[name]:
        metadata = manifest["metadata"]
        for value in (metadata["name"], metadata.get("namespace", "")):
            assert value == "" or (len(value) <= 63 and DNS_LABEL.fullmatch(value)), value
        for label, value in metadata["labels"].items():
            assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), (label, value)
        for amount in manifest.get("spec", {}).get("hard", {}).values():
            quantities.parse(amount)


def test_objects_are_unique_and_rendering_is_repeatable(platform: tenants.Platform) -> None:
    first = units.render_all(platform)
    assert first == units.render_all(platform)
    # Unique within each cluster (a disaster-recovery tenant has its objects on two).
    keys = Counter((m["metadata"]["labels"].get(units.LABEL_CLUSTER), *render.key(m))
                   for m in first)
    assert [k for k, n in keys.items() if n > 1] == []


@pytest.mark.parametrize("name", TENANTS)
def test_each_namespace_has_its_guards(name: str, platform: tenants.Platform,
                                       rendered: dict[str, list[render.Manifest]]) -> None:
    tenant = platform.tenants[name]
    objects = rendered[name]
    expected = set(tenant.namespace_names())
    assert {o["metadata"]["name"] for o in of_kind(objects, "Namespace")} == expected
    for kind in ("ResourceQuota", "LimitRange", "RoleBinding"):
        namespaces = [o["metadata"]["namespace"] for o in of_kind(objects, kind)]
        assert sorted(namespaces) == sorted(expected), kind


def test_every_container_gets_bounded_node_resources(
        rendered: dict[str, list[render.Manifest]]) -> None:
    """Without a limit a container could fill its node's memory or disk and get other
    departments' pods evicted: the LimitRange gives every container all three."""
    for objects in rendered.values():
        for limits in of_kind(objects, "LimitRange"):
            [container] = limits["spec"]["limits"]
            assert set(container["default"]) == set(container["defaultRequest"]) == {
                "cpu", "memory", "ephemeral-storage"}


@pytest.mark.parametrize("name", TENANTS)
def test_pod_security_follows_mlps_level(name: str, platform: tenants.Platform,
                                         rendered: dict[str, list[render.Manifest]]) -> None:
    level = platform.tenants[name].spec.classification
    want = "restricted" if level >= 3 else "baseline"
    for namespace in of_kind(rendered[name], "Namespace"):
        labels = namespace["metadata"]["labels"]
        assert {labels[f"pod-security.kubernetes.io/{mode}"] for mode in PSA_MODES} == {want}


@pytest.mark.parametrize(("classification", "profile"), [
    pytest.param(1, "baseline", id="mlps-1"),
    pytest.param(2, "baseline", id="mlps-2"),
    pytest.param(3, "restricted", id="mlps-3"),
    pytest.param(4, "restricted", id="mlps-4"),
])
def test_pod_security_profile_of_each_level(classification: int, profile: str) -> None:
    tenant = models.Tenant.model_validate(registries.tenant(
        "wh-gongan-made-up", description=None, cpu=8, memory="32Gi", storage="1Ti",
        classification=classification, namespaces=["a", "b"]))
    namespaces = of_kind(render.render_tenant(tenant, platform=wuhan_platform()), "Namespace")
    assert len(namespaces) == 2
    for namespace in namespaces:
        labels = namespace["metadata"]["labels"]
        assert [labels[f"pod-security.kubernetes.io/{m}"] for m in PSA_MODES] == [profile] * 3


@pytest.mark.parametrize("name", TENANTS)
def test_default_deny_in_every_namespace(name: str, platform: tenants.Platform,
                                         rendered: dict[str, list[render.Manifest]]) -> None:
    policies = of_kind(rendered[name], "NetworkPolicy")
    for namespace in platform.tenants[name].namespace_names():
        deny = [p for p in policies if p["metadata"]["namespace"] == namespace
                and p["spec"]["podSelector"] == {}
                and sorted(p["spec"]["policyTypes"]) == ["Egress", "Ingress"]
                and not p["spec"].get("ingress") and not p["spec"].get("egress")]
        assert len(deny) == 1, f"{namespace} has no default-deny NetworkPolicy"


@pytest.mark.parametrize("name", TENANTS)
def test_egress_reaches_only_dns_own_namespaces_and_granted_networks(
        name: str, platform: tenants.Platform,
        rendered: dict[str, list[render.Manifest]]) -> None:
    tenant = platform.tenants[name]
    granted = {str(c) for shared in tenant.spec.egress
               for c in platform.shared_networks[shared].cidrs}
    granted |= {str(n.cidr) for n in tenant.spec.networks}
    services = {(flow.provider_namespace(), port.protocol, port.port)
                for flow in sharing.requested_by(platform, tenant) if flow.granted
                for port in (flow.service.ports if flow.service else ())}
    # A provider with no copy on this cluster (the tenant's first) is reached at its own
    # clusters' pod networks, on its ports.
    here = platform.placements(tenant)[0]
    remote = {(str(cidr), port.protocol, port.port)
              for flow in sharing.requested_by(platform, tenant) if flow.granted
              and flow.provider is not None and flow.service is not None
              and here not in platform.placements(flow.provider)
              for cluster in platform.placements(flow.provider)
              for cidr in platform.clusters[cluster].pod_cidrs for port in flow.service.ports}
    for policy in of_kind(rendered[name], "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            for peer in rule["to"]:
                if "ipBlock" in peer and render.LABEL_SHARE_SERVICE in policy["metadata"][
                        "labels"]:
                    assert {(peer["ipBlock"]["cidr"], p["protocol"], p["port"])
                            for p in rule["ports"]} <= remote
                elif "ipBlock" in peer:
                    assert peer["ipBlock"]["cidr"] in granted
                elif peer.get("namespaceSelector", {}).get("matchLabels") == {
                        render.LABEL_TENANT: name}:
                    assert "podSelector" not in peer
                elif render.LABEL_SHARE_SERVICE in policy["metadata"]["labels"]:
                    # a service it consumes: the provider's namespace, its published ports
                    target = peer["namespaceSelector"]["matchLabels"][
                        "kubernetes.io/metadata.name"]
                    assert {(target, p["protocol"], p["port"]) for p in rule["ports"]} <= services
                else:  # the cluster DNS, and only it
                    assert peer["namespaceSelector"]["matchLabels"] == {
                        "kubernetes.io/metadata.name": "kube-system"}
                    assert rule["ports"] and {p["port"] for p in rule["ports"]} == {53}


@pytest.mark.parametrize("name", TENANTS)
def test_role_bindings_bind_exactly_the_owner_groups(
        name: str, platform: tenants.Platform,
        rendered: dict[str, list[render.Manifest]]) -> None:
    owners = platform.tenants[name].spec.owners
    for binding in of_kind(rendered[name], "RoleBinding"):
        subjects = binding["subjects"]
        assert sorted(s["name"] for s in subjects) == sorted(owners)
        assert {(s["kind"], s["apiGroup"]) for s in subjects} == {
            ("Group", "rbac.authorization.k8s.io")}
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                      "kind": "ClusterRole", "name": "admin"}
    assert len(of_kind(rendered[name], "Role")) == 0
    assert len(of_kind(rendered[name], "ClusterRoleBinding")) == 0


@pytest.mark.parametrize("name", TENANTS)
def test_standard_labels_on_every_object(name: str, platform: tenants.Platform,
                                         rendered: dict[str, list[render.Manifest]]) -> None:
    tenant = platform.tenants[name]
    want = {
        "app.kubernetes.io/managed-by": "citycloud",
        "citycloud.io/department": tenant.department,
        "citycloud.io/tenant": tenant.name,
        "citycloud.io/pool": tenant.spec.pool,
        "citycloud.io/classification": str(tenant.spec.classification),
    }
    for manifest in rendered[name]:
        labels = manifest["metadata"]["labels"]
        assert labels.items() >= want.items(), (manifest["kind"], manifest["metadata"]["name"])


def test_a_tenant_without_networks_gets_no_ip_allowance() -> None:
    tenant = models.Tenant.model_validate(registries.tenant(
        "wh-gongan-made-up", description=None, cpu=8, memory="32Gi", storage="1Ti"))
    names = [p["metadata"]["name"] for p in of_kind(
        render.render_tenant(tenant, platform=wuhan_platform()), "NetworkPolicy")]
    assert names == ["citycloud-default-deny", "citycloud-allow-dns",
                     "citycloud-allow-same-tenant", "citycloud-allow-platform"]
