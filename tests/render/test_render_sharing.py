"""Shared services in Kubernetes: the NetworkPolicies a granted flow opens, from both ends.

A consumer's request (spec.consumes) that the provider's audience admits becomes an ingress
policy in the provider's service namespace and an egress policy in each calling namespace of
the consumer, on the published ports only. Nothing else opens a door between two tenants:
not a request the audience refuses, not one naming a service that is not there, not a
namespace that does not call.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import kube_schema
import pytest
import reachability
import registries as r

from citycloud import tenants
from citycloud.tenants import render, sharing, units

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
PROVIDER, CONSUMER, BYSTANDER = "wh-zwfw-identity", "wh-gongan-video", "wh-shuiwu-portal"


def identity(**audience: Any) -> r.Document:
    """The provider: `identity` in namespace sso on 443 and 8443 (the city unless told)."""
    return r.tenant(PROVIDER, namespaces=["sso", "ca"], services=[
        r.service("identity", kind="identity", namespace="sso", ports=(443, 8443),
                  **(audience or {"city": True}))])


def video(*requests: r.Document) -> r.Document:
    """The consumer, with two namespaces, asking for `requests` (identity from video only
    unless told)."""
    return r.tenant(CONSUMER, namespaces=["video", "analytics"], consumes=list(requests) or [
        r.consumption(PROVIDER, "identity", namespaces=["video"])])


def bystander() -> r.Document:
    return r.tenant(BYSTANDER, namespaces=["app"])


def shared(platform: tenants.Platform) -> list[render.Manifest]:
    """Every shared-service NetworkPolicy of the platform, in rendering order."""
    return [m for m in units.render_all(platform)
            if render.LABEL_SHARE_SERVICE in m["metadata"]["labels"]]


def ports(*numbers: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": n} for n in numbers]


def peer(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


# ---- a granted flow ---------------------------------------------------------------


def test_a_granted_flow_opens_exactly_one_door_from_both_ends(tmp_path: pathlib.Path) -> None:
    platform = r.make(tmp_path, identity(), video(), bystander())
    found = {(m["metadata"]["namespace"], m["metadata"]["name"]): m["spec"]
             for m in shared(platform)}
    assert found == {
        ("wh-gongan-video-video", "citycloud-share-out-wh-zwfw-identity-identity"): {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [peer("wh-zwfw-identity-sso")], "ports": ports(443, 8443)}]},
        ("wh-zwfw-identity-sso", "citycloud-share-in-identity-wh-gongan-video"): {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer("wh-gongan-video-video")], "ports": ports(443, 8443)}]},
    }


def test_each_side_is_labelled_with_its_own_tenant_and_the_grant(tmp_path: pathlib.Path) -> None:
    platform = r.make(tmp_path, identity(), video())
    by_namespace = {m["metadata"]["namespace"]: m["metadata"] for m in shared(platform)}
    grant = {render.LABEL_SHARE_PROVIDER: PROVIDER, render.LABEL_SHARE_SERVICE: "identity",
             render.LABEL_SHARE_CONSUMER: CONSUMER}
    for namespace, owner in (("wh-zwfw-identity-sso", PROVIDER),
                             ("wh-gongan-video-video", CONSUMER)):
        metadata = by_namespace[namespace]
        assert metadata["labels"] == render.standard_labels(platform.tenants[owner]) | grant
        assert metadata["annotations"] == {
            render.ANNOTATION_SHARE_KIND: "identity",
            render.ANNOTATION_SHARE_GRANT: f"{CONSUMER} -> {PROVIDER}/identity"}
        assert units.folder_of({"metadata": metadata}) == owner  # each side in its own unit


def test_without_namespaces_every_namespace_of_the_consumer_calls(
        tmp_path: pathlib.Path) -> None:
    platform = r.make(tmp_path, identity(), video(r.consumption(PROVIDER, "identity")))
    policies = shared(platform)
    egress = sorted(m["metadata"]["namespace"] for m in policies if "egress" in m["spec"])
    assert egress == ["wh-gongan-video-analytics", "wh-gongan-video-video"]
    [ingress] = [m for m in policies if "ingress" in m["spec"]]
    assert ingress["spec"]["ingress"][0]["from"] == [
        peer("wh-gongan-video-video"), peer("wh-gongan-video-analytics")]


def test_protocols_are_the_published_ones(tmp_path: pathlib.Path) -> None:
    provider = identity()
    provider["spec"]["services"][0]["ports"] = [{"port": 389}, {"port": 1812, "protocol": "UDP"}]
    platform = r.make(tmp_path, provider, video())
    for policy in shared(platform):
        [rule] = policy["spec"].get("ingress") or policy["spec"]["egress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": 389},
                                 {"protocol": "UDP", "port": 1812}]


def test_several_consumers_and_services_each_get_their_own_door(tmp_path: pathlib.Path) -> None:
    provider = identity()
    provider["spec"]["services"].append(
        r.service("ca", kind="certificates", namespace="ca", ports=(8080,), city=True))
    portal = r.tenant(BYSTANDER, consumes=[r.consumption(PROVIDER, "identity"),
                                            r.consumption(PROVIDER, "ca")])
    platform = r.make(tmp_path, provider, portal, video())
    names = sorted((m["metadata"]["namespace"], m["metadata"]["name"]) for m in shared(platform))
    assert names == [
        ("wh-gongan-video-video", "citycloud-share-out-wh-zwfw-identity-identity"),
        ("wh-shuiwu-portal-app", "citycloud-share-out-wh-zwfw-identity-ca"),
        ("wh-shuiwu-portal-app", "citycloud-share-out-wh-zwfw-identity-identity"),
        ("wh-zwfw-identity-ca", "citycloud-share-in-ca-wh-shuiwu-portal"),
        ("wh-zwfw-identity-sso", "citycloud-share-in-identity-wh-gongan-video"),
        ("wh-zwfw-identity-sso", "citycloud-share-in-identity-wh-shuiwu-portal"),
    ]


def test_policies_are_valid_kubernetes(tmp_path: pathlib.Path) -> None:
    platform = r.make(tmp_path, identity(), video())
    policies = shared(platform)
    assert len(policies) == 2
    for policy in policies:
        kube_schema.validate(policy)


# ---- what opens nothing -------------------------------------------------------------


@pytest.mark.parametrize(("provider", "request_"), [
    pytest.param(identity(departments=["wh-zwfw"]), r.consumption(PROVIDER, "identity"),
                 id="not-in-audience"),
    pytest.param(identity(pools=["industry"]), r.consumption(PROVIDER, "identity"),
                 id="other-pool-audience"),
    pytest.param(identity(), r.consumption(PROVIDER, "admin"), id="unknown-service"),
    pytest.param(identity(), r.consumption("wh-zwfw-nothere", "identity"),
                 id="unknown-tenant"),
    pytest.param(r.tenant(PROVIDER, namespaces=["sso"]), r.consumption(PROVIDER, "identity"),
                 id="nothing-published"),
])
def test_a_request_that_is_not_granted_renders_nothing(tmp_path: pathlib.Path,
                                                       provider: r.Document,
                                                       request_: r.Document) -> None:
    platform = r.make(tmp_path, provider, video(request_))
    assert not [flow for flow in sharing.resolve(platform) if flow.granted]
    assert shared(platform) == []


def test_a_published_service_nobody_asks_for_renders_nothing(tmp_path: pathlib.Path) -> None:
    assert shared(r.make(tmp_path, identity(), bystander())) == []


@pytest.mark.parametrize("documents", [
    pytest.param([r.tenant(PROVIDER, namespaces=["sso", "ca"], services=[r.service(
        "identity", kind="identity", namespace="elsewhere", city=True)]), video()],
        id="service-namespace-not-the-providers"),
    pytest.param([r.tenant(PROVIDER, namespaces=["sso", "ca"], services=[r.service(
        "identity", kind="identity", namespace="sso", city=True)],
        consumes=[r.consumption(PROVIDER, "identity")])], id="own-service"),
])
def test_what_the_sharing_policies_refuse_opens_nothing_even_unchecked(
        tmp_path: pathlib.Path, documents: list[r.Document]) -> None:
    """`plan` does not wait for the policies, and they may be waived: a namespace that is not
    the tenant's own could be another tenant's."""
    assert shared(r.make(tmp_path, *documents)) == []


def test_a_calling_namespace_that_is_not_the_consumers_opens_nothing(
        tmp_path: pathlib.Path) -> None:
    """wh-gongan-video's `cams` would be wh-gongan-video-cams: maybe another tenant's."""
    platform = r.make(tmp_path, identity(), video(
        r.consumption(PROVIDER, "identity", namespaces=["video", "cams"])))
    assert shared(platform) == []


def test_a_request_listed_twice_opens_one_door(tmp_path: pathlib.Path) -> None:
    platform = r.make(tmp_path, identity(), video(
        r.consumption(PROVIDER, "identity", namespaces=["video"]),
        r.consumption(PROVIDER, "identity", namespaces=["analytics"])))
    assert {m["metadata"]["namespace"] for m in shared(platform)} == {
        "wh-zwfw-identity-sso", "wh-gongan-video-video"}


# ---- what the policies allow, all of a tenant's policies together -----------------------


@pytest.mark.parametrize(("source", "target", "port", "allowed"), [
    pytest.param("wh-gongan-video-video", "wh-zwfw-identity-sso", 443, True, id="consumer"),
    pytest.param("wh-gongan-video-video", "wh-zwfw-identity-sso", 8443, True,
                 id="consumer-second-port"),
    pytest.param("wh-gongan-video-video", "wh-zwfw-identity-sso", 22, False, id="other-port"),
    pytest.param("wh-gongan-video-video", "wh-zwfw-identity-ca", 443, False,
                 id="other-provider-namespace"),
    pytest.param("wh-gongan-video-analytics", "wh-zwfw-identity-sso", 443, False,
                 id="consumer-namespace-not-calling"),
    pytest.param("wh-shuiwu-portal-app", "wh-zwfw-identity-sso", 443, False,
                 id="non-consumer"),
    pytest.param("wh-zwfw-identity-sso", "wh-gongan-video-video", 443, False,
                 id="provider-to-consumer"),
    pytest.param("wh-zwfw-identity-ca", "wh-zwfw-identity-sso", 443, True,
                 id="provider-own-namespaces"),
])
def test_who_reaches_the_service(tmp_path: pathlib.Path, source: str, target: str, port: int,
                                 allowed: bool) -> None:
    platform = r.make(tmp_path, identity(), video(), bystander())
    network = reachability.Network(units.render_all(platform))
    assert network.allows(source, target, port=port) is allowed


# ---- names ------------------------------------------------------------------------------


def test_long_names_are_cut_with_a_hash_and_stay_distinct(tmp_path: pathlib.Path) -> None:
    long_service = "s" * 60
    provider = r.tenant(PROVIDER, namespaces=["sso"], services=[
        r.service(long_service, kind="identity", namespace="sso", city=True),
        r.service(long_service[:-1] + "t", kind="identity", namespace="sso", city=True)])
    consumer = r.tenant("wh-gongan-" + "v" * 49, namespaces=["app"], consumes=[
        r.consumption(PROVIDER, long_service), r.consumption(PROVIDER, long_service[:-1] + "t")])
    platform = r.make(tmp_path, provider, consumer)
    names = [m["metadata"]["name"] for m in shared(platform)]
    assert len(names) == len(set(names)) == 4
    for name in names:
        assert len(name) <= 63 and DNS_LABEL.fullmatch(name), name
        assert name.startswith(("citycloud-share-in-sss", "citycloud-share-out-wh-zwfw-identity"))
    assert names == [m["metadata"]["name"] for m in shared(tenants.load(tmp_path))]


# ---- the example city ---------------------------------------------------------------------


def test_every_granted_flow_of_the_example_is_rendered_on_both_sides(
        platform: tenants.Platform) -> None:
    """The per-tenant rendering (which reads only its own flows) agrees with resolving the
    whole registry."""
    flows = sharing.granted(platform)
    assert len(flows) >= 5
    assert any(flow.provider and flow.provider.spec.pool != flow.consumer.spec.pool
               for flow in flows)  # at least one crosses pools
    want: set[tuple[str, str, str]] = set()
    for flow in flows:
        assert flow.provider is not None and flow.service is not None
        want.add((flow.provider.name, flow.provider_namespace(), flow.consumer.name))
        want |= {(flow.consumer.name, namespace, flow.provider.name)
                 for namespace in flow.consumer_namespaces()}
    got = set()
    # On every cluster of each tenant: a disaster-recovery provider serves each consumer
    # from the copy on the consumer's own cluster.
    for name in platform.tenants:
        for manifest in (m for unit in units.tenant_units(platform, name)
                         for m in unit.manifests):
            labels = manifest["metadata"]["labels"]
            if render.LABEL_SHARE_SERVICE in labels:
                other = (labels[render.LABEL_SHARE_CONSUMER]
                         if labels[render.LABEL_SHARE_PROVIDER] == name
                         else labels[render.LABEL_SHARE_PROVIDER])
                got.add((name, manifest["metadata"]["namespace"], other))
    assert got == want
