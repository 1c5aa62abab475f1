"""What the rendering makes of clusters: a unit per pool and cluster, per tenant and placement.

A registry without clusters renders as it always did (no cluster label, plain folder
names); a declared cluster gets its own copy of its pool's objects, a tenant's objects land
on the clusters it names (both, for disaster recovery), every such object says its cluster,
and a shared-service door between tenants on different clusters opens on the other
cluster's pod network, never wider, and not at all where that network is not declared.
"""

from __future__ import annotations

import pathlib
from typing import Any

import registries
from render_helpers import wuhan_platform

from citycloud import tenants
from citycloud.tenants import plan, render, units

EAST, WEST = "gov-east", "gov-west"


def city(tmp_path: pathlib.Path, *tenant_docs: registries.Document,
         east: dict[str, Any] | None = None) -> tenants.Platform:
    pool = registries.pool("gov")
    del pool["capacity"]
    return registries.make(tmp_path, *tenant_docs, platform=registries.platform(
        pool, clusters=[registries.cluster(EAST, site="east-dc", **(east or {})),
                        registries.cluster(WEST, site="west-dc", podCidrs=["100.68.0.0/14"])]))


def share_policies(platform: tenants.Platform, name: str) -> dict[str, list[dict[str, Any]]]:
    """The tenant's share NetworkPolicies' peers (ingress from / egress to), by unit."""
    found = {}
    for unit in units.tenant_units(platform, name):
        found[unit.key] = [rule for m in unit.manifests if m["kind"] == "NetworkPolicy"
                           and render.LABEL_SHARE_SERVICE in m["metadata"]["labels"]
                           for rule in m["spec"].get("ingress", []) + m["spec"].get("egress", [])]
    return found


def unplaced(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects without their cluster label, share policies left out."""
    found = []
    for manifest in manifests:
        labels = dict(manifest["metadata"]["labels"])
        labels.pop(units.LABEL_CLUSTER)
        if render.LABEL_SHARE_SERVICE not in labels:
            found.append(manifest | {"metadata": manifest["metadata"] | {"labels": labels}})
    return found


def test_a_registry_without_clusters_renders_as_before(tmp_path: pathlib.Path) -> None:
    platform = registries.make(tmp_path, registries.tenant("wh-a-app"))

    found = units.render_units(platform)

    assert [u.folder for u in found] == ["pool.gov", "wh-a-app"]
    assert not any(units.LABEL_CLUSTER in m["metadata"]["labels"]
                   for u in found for m in u.manifests)


def test_each_unit_is_on_its_clusters_and_says_so() -> None:
    platform = wuhan_platform()
    found = units.render_units(platform)
    keys = [u.key for u in found]

    assert keys[:4] == ["gov.wh-gov-hankou", "gov.wh-gov-guanggu", "industry.wh-industry",
                        "xinchuang.wh-xinchuang"]
    for name in ("wh-zwfw-identity", "wh-zwfw-datahub"):  # disaster recovery: both sites
        assert f"{name}.wh-gov-hankou" in keys and f"{name}.wh-gov-guanggu" in keys
        east, west = units.tenant_units(platform, name)
        # The same namespaces, quota and guards on each; only the doors differ (each copy
        # serves the consumers on its own cluster).
        assert unplaced(east.manifests) == unplaced(west.manifests)
    for unit in found:
        assert {m["metadata"]["labels"][units.LABEL_CLUSTER] for m in unit.manifests} == {
            unit.cluster}
        assert {units.folder_of(m) for m in unit.manifests} == {unit.folder}


def test_the_plan_of_a_disaster_recovery_tenant_creates_it_on_both_clusters() -> None:
    platform = wuhan_platform()
    desired = [m for u in units.tenant_units(platform, "wh-zwfw-identity") for m in u.manifests]

    changes = plan.diff(desired, [])

    assert {c.unit for c in changes} == {"wh-zwfw-identity.wh-gov-hankou",
                                         "wh-zwfw-identity.wh-gov-guanggu"}
    assert len(changes) == len(desired)


def test_a_door_between_clusters_opens_on_the_other_clusters_pod_network_only(
        tmp_path: pathlib.Path) -> None:
    provider = registries.tenant("wh-p-idp", clusters=[EAST], services=[
        registries.service("identity", kind="identity", city=True, ports=[443])])
    consumer = registries.tenant("wh-c-portal", clusters=[WEST],
                                 consumes=[registries.consumption("wh-p-idp", "identity")])
    platform = city(tmp_path, provider, consumer, east={"podCidrs": ["100.64.0.0/14"]})

    assert share_policies(platform, "wh-p-idp") == {f"wh-p-idp.{EAST}": [
        {"from": [{"ipBlock": {"cidr": "100.68.0.0/14"}}],
         "ports": [{"protocol": "TCP", "port": 443}]}]}
    assert share_policies(platform, "wh-c-portal") == {f"wh-c-portal.{WEST}": [
        {"to": [{"ipBlock": {"cidr": "100.64.0.0/14"}}],
         "ports": [{"protocol": "TCP", "port": 443}]}]}


def test_a_disaster_recovery_provider_serves_each_consumer_on_its_own_cluster(
        tmp_path: pathlib.Path) -> None:
    provider = registries.tenant("wh-p-idp", clusters=[EAST, WEST], services=[
        registries.service("identity", kind="identity", city=True)])
    consumer = registries.tenant("wh-c-portal", clusters=[WEST],
                                 consumes=[registries.consumption("wh-p-idp", "identity")])
    platform = city(tmp_path, provider, consumer, east={"podCidrs": ["100.64.0.0/14"]})

    provided = share_policies(platform, "wh-p-idp")

    assert provided[f"wh-p-idp.{EAST}"] == []  # nobody on the east cluster calls it
    assert provided[f"wh-p-idp.{WEST}"] == [{"from": [{"namespaceSelector": {"matchLabels": {
        render.LABEL_NAMESPACE_NAME: "wh-c-portal-app"}}}],
        "ports": [{"protocol": "TCP", "port": 443}]}]
    assert share_policies(platform, "wh-c-portal")[f"wh-c-portal.{WEST}"][0]["to"] == [
        {"namespaceSelector": {"matchLabels": {render.LABEL_NAMESPACE_NAME: "wh-p-idp-app"}}}]


def test_no_door_opens_to_a_cluster_whose_pod_network_is_not_declared(
        tmp_path: pathlib.Path) -> None:
    """An empty peer list in a NetworkPolicy rule would allow everyone: no rule at all."""
    provider = registries.tenant("wh-p-idp", clusters=[EAST], services=[
        registries.service("identity", kind="identity", city=True)])
    consumer = registries.tenant("wh-c-portal", clusters=[WEST],
                                 consumes=[registries.consumption("wh-p-idp", "identity")])
    platform = city(tmp_path, provider, consumer)  # east declares no podCidrs

    assert share_policies(platform, "wh-c-portal") == {f"wh-c-portal.{WEST}": []}
    assert share_policies(platform, "wh-p-idp") == {f"wh-p-idp.{EAST}": [
        {"from": [{"ipBlock": {"cidr": "100.68.0.0/14"}}],
         "ports": [{"protocol": "TCP", "port": 443}]}]}
