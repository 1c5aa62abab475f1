"""The live collector: tenant quota usage and unregistered plumbing from recorded clusters.

Most tests read the Wuhan example as a registry without clusters (`one_cluster_platform`):
its series must keep the shape they had before clusters, with no `cluster` label. The
tests at the end read it on its four clusters.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import pytest
from exporter_fixtures import Isolated, recorded_snapshot

from citycloud import tenants
from citycloud.monitoring import cluster, live, sources

GIB, TIB = 2**30, 2**40
VIDEO = {"tenant": "wh-gongan-video", "department": "wh-gongan", "pool": "gov"}
IOT = {"tenant": "wh-chengguan-iot", "department": "wh-chengguan", "pool": "gov"}
IDENTITY = {"tenant": "wh-zwfw-identity", "department": "wh-zwfw", "pool": "gov"}
HANKOU, GUANGGU = "wh-gov-hankou", "wh-gov-guanggu"


@pytest.fixture
def platform(one_cluster_platform: tenants.Platform) -> tenants.Platform:
    """Here: the example as a registry without clusters."""
    return one_cluster_platform


def up(snapshot: cluster.Snapshot) -> sources.ClusterState:
    return sources.ClusterState(True, True, snapshot, "", snapshot.read_at, 0.25, 0)


def collector(platform: tenants.Platform, state: sources.ClusterState | Mapping[
        str, sources.ClusterState]) -> live.LiveCollector:
    """A collector over `platform`; one state is the implicit cluster's."""
    states = {"": state} if isinstance(state, sources.ClusterState) else dict(state)
    return live.LiveCollector(lambda: platform, clusters=lambda _platform: states)


@pytest.mark.parametrize(("name", "labels", "expected"), [
    # wh-gongan-video: namespaces video (120 cores used) and analytics (121500m used)
    pytest.param("citycloud_tenant_quota_used_cpu_cores", VIDEO, 241.5, id="used-cpu-summed"),
    pytest.param("citycloud_tenant_quota_enforced_cpu_cores", VIDEO, 256,
                 id="enforced-cpu-summed"),
    pytest.param("citycloud_tenant_quota_used_memory_bytes", VIDEO, 1012 * GIB,
                 id="used-memory-bytes"),
    pytest.param("citycloud_tenant_quota_used_storage_bytes", VIDEO, 60 * TIB,
                 id="used-storage-bytes"),
    pytest.param("citycloud_tenant_quota_used_cpu_cores", IOT, 32.5, id="other-tenant"),
    pytest.param("citycloud_tenant_quota_enforced_storage_bytes", IOT, 30 * TIB,
                 id="enforced-storage"),
    # A tenant without quotas in the cluster (not onboarded yet) has no usage series.
    pytest.param("citycloud_tenant_quota_used_cpu_cores",
                 {"tenant": "wh-zwfw-portal", "department": "wh-zwfw", "pool": "gov"}, None,
                 id="not-onboarded-no-series"),
])
def test_quota_usage_per_tenant(platform: tenants.Platform, snapshot: cluster.Snapshot,
                                isolated: Isolated, name: str, labels: dict[str, str],
                                expected: float | None) -> None:
    collected = isolated(collector(platform, up(snapshot)))
    assert collected.get_sample_value(name, labels) == expected


def test_quotas_in_namespaces_of_no_tenant_are_not_counted(platform: tenants.Platform,
                                                           snapshot: cluster.Snapshot,
                                                           isolated: Isolated) -> None:
    collected = isolated(collector(platform, up(snapshot)))
    tenants_seen = {s.labels["tenant"] for m in collected.collect()
                    if m.name == "citycloud_tenant_quota_used_cpu_cores" for s in m.samples}
    assert tenants_seen == {"wh-gongan-video", "wh-chengguan-iot"}  # not wh-retired-app


@pytest.mark.parametrize(("kind", "labels", "expected"), [
    pytest.param("nodeport_service", VIDEO, 2, id="nodeports"),
    pytest.param("host_network_pod", VIDEO, 1, id="host-network-pod"),
    pytest.param("loadbalancer_service", IOT, 1, id="load-balancer-counted-once"),
    pytest.param("nodeport_service", IOT, None, id="load-balancer-is-not-also-a-nodeport"),
    pytest.param("external_ips_service", IOT, 1, id="external-ips"),
    pytest.param("network_attachment_definition", IOT, 1, id="multus-attachment"),
])
def test_unregistered_plumbing_in_tenant_namespaces(platform: tenants.Platform,
                                                    snapshot: cluster.Snapshot,
                                                    isolated: Isolated, kind: str,
                                                    labels: dict[str, str],
                                                    expected: float | None) -> None:
    collected = isolated(collector(platform, up(snapshot)))
    assert collected.get_sample_value("citycloud_cluster_network_plumbing", {
        "kind": kind, "tenant": labels["tenant"],
        "department": labels["department"]}) == expected


def test_the_platforms_own_plumbing_is_not_reported(platform: tenants.Platform,
                                                    snapshot: cluster.Snapshot,
                                                    isolated: Isolated) -> None:
    collected = isolated(collector(platform, up(snapshot)))
    total = sum(s.value for m in collected.collect()
                if m.name == "citycloud_cluster_network_plumbing" for s in m.samples)
    assert total == 6  # kube-system's NodePort and kube-proxy's hostNetwork are not counted


def test_a_cluster_without_the_multus_crd(platform: tenants.Platform,
                                          isolated: Isolated) -> None:
    snapshot = recorded_snapshot(attachments=False)
    collected = isolated(collector(platform, up(snapshot)))
    assert collected.get_sample_value("citycloud_cluster_network_attachment_crd") == 0
    assert collected.get_sample_value("citycloud_cluster_network_plumbing", {
        "kind": "network_attachment_definition", "tenant": IOT["tenant"],
        "department": IOT["department"]}) is None


def test_cluster_status_when_up(platform: tenants.Platform, snapshot: cluster.Snapshot,
                                isolated: Isolated) -> None:
    collected = isolated(collector(platform, up(snapshot)))
    assert collected.get_sample_value("citycloud_cluster_up") == 1
    assert collected.get_sample_value("citycloud_cluster_configured") == 1
    assert collected.get_sample_value(
        "citycloud_cluster_last_success_timestamp_seconds") == snapshot.read_at
    assert collected.get_sample_value("citycloud_cluster_read_duration_seconds") == 0.25


def test_unreachable_cluster_says_so_and_serves_no_stale_usage(
        platform: tenants.Platform, snapshot: cluster.Snapshot, isolated: Isolated) -> None:
    down = sources.ClusterState(True, False, None, "cannot reach the API server",
                                snapshot.read_at, 5.0, 3)
    collected = isolated(collector(platform, down))
    assert collected.get_sample_value("citycloud_cluster_up") == 0
    assert collected.get_sample_value("citycloud_cluster_read_errors_total") == 3
    assert collected.get_sample_value(
        "citycloud_cluster_last_success_timestamp_seconds") == snapshot.read_at
    assert collected.get_sample_value("citycloud_tenant_quota_used_cpu_cores", VIDEO) is None


def test_no_cluster_configured(platform: tenants.Platform, isolated: Isolated) -> None:
    collected = isolated(collector(platform, sources.NOT_CONFIGURED))
    assert collected.get_sample_value("citycloud_cluster_configured") == 0
    assert collected.get_sample_value("citycloud_cluster_up") == 0
    assert collected.get_sample_value("citycloud_cluster_last_success_timestamp_seconds") is None


def test_unreadable_quantities_cost_one_figure_not_the_scrape(platform: tenants.Platform,
                                                              isolated: Isolated) -> None:
    bodies = {"items": [{"metadata": {"namespace": "wh-gongan-video-video",
                                      "name": "citycloud-quota"},
                         "status": {"hard": {"requests.cpu": "128"},
                                    "used": {"requests.cpu": "lots"}}}]}
    parsed = cluster.parse(quotas=bodies, services={}, pods={}, attachments=None, read_at=1.0)
    collected = isolated(collector(platform, up(parsed)))
    assert collected.get_sample_value("citycloud_tenant_quota_enforced_cpu_cores", VIDEO) == 128
    assert collected.get_sample_value("citycloud_tenant_quota_used_cpu_cores", VIDEO) is None


# ---- the example on its four clusters ---------------------------------------------------


@pytest.fixture(scope="module")
def clustered(wuhan: pathlib.Path) -> tenants.Platform:
    return tenants.load(wuhan)


def identity_read(*, sso_cpu: str, ca_cpu: str) -> cluster.Snapshot:
    """A cluster holding the disaster-recovery tenant wh-zwfw-identity's two quotas."""
    quotas = {"items": [
        {"metadata": {"namespace": f"wh-zwfw-identity-{namespace}", "name": "citycloud-quota"},
         "status": {"hard": {"requests.cpu": "32"}, "used": {"requests.cpu": used}}}
        for namespace, used in (("sso", sso_cpu), ("ca", ca_cpu))]}
    return cluster.parse(quotas=quotas, services={}, pods={}, attachments=None, read_at=7.0)


def down(errors: int) -> sources.ClusterState:
    return sources.ClusterState(True, False, None, "cannot reach the API server", 5.0, 5.0,
                                errors)


def test_a_disaster_recovery_tenant_has_its_usage_per_cluster(clustered: tenants.Platform,
                                                               isolated: Isolated) -> None:
    collected = isolated(collector(clustered, {
        HANKOU: up(identity_read(sso_cpu="20", ca_cpu="500m")),
        GUANGGU: up(identity_read(sso_cpu="4", ca_cpu="0"))}))
    used = "citycloud_tenant_quota_used_cpu_cores"
    assert collected.get_sample_value(used, {**IDENTITY, "cluster": HANKOU}) == 20.5
    assert collected.get_sample_value(used, {**IDENTITY, "cluster": GUANGGU}) == 4
    assert collected.get_sample_value("citycloud_tenant_quota_enforced_cpu_cores",
                                      {**IDENTITY, "cluster": GUANGGU}) == 64


def test_a_cluster_down_costs_its_own_figures_only(clustered: tenants.Platform,
                                                   snapshot: cluster.Snapshot,
                                                   isolated: Isolated) -> None:
    collected = isolated(collector(clustered, {
        HANKOU: down(3), GUANGGU: up(snapshot), "wh-industry": up(snapshot),
        "wh-xinchuang": sources.NOT_CONFIGURED}))

    def value(name: str, labels: dict[str, str]) -> float | None:
        return collected.get_sample_value(name, labels)

    assert value("citycloud_cluster_up", {"cluster": HANKOU}) == 0
    assert value("citycloud_cluster_read_errors_total", {"cluster": HANKOU}) == 3
    assert value("citycloud_cluster_up", {"cluster": GUANGGU}) == 1
    assert value("citycloud_cluster_configured", {"cluster": "wh-xinchuang"}) == 0
    assert value("citycloud_tenant_quota_used_cpu_cores", {**VIDEO, "cluster": GUANGGU}) == 241.5
    served = {s.labels.get("cluster") for m in collected.collect() for s in m.samples
              if m.name.startswith("citycloud_tenant_quota_")}
    assert served == {GUANGGU, "wh-industry"}  # nothing from the cluster down, nothing unlabelled
    assert value("citycloud_cluster_network_plumbing", {
        "kind": "host_network_pod", "tenant": "wh-gongan-video", "department": "wh-gongan",
        "cluster": GUANGGU}) == 1
    assert value("citycloud_cluster_network_attachment_crd", {"cluster": HANKOU}) is None


def test_each_declared_cluster_says_its_pool_and_site(clustered: tenants.Platform,
                                                      isolated: Isolated) -> None:
    collected = isolated(collector(clustered, {}))
    info = {(s.labels["cluster"], s.labels["pool"], s.labels["site"]) for m in collected.collect()
            if m.name == "citycloud_cluster_info" for s in m.samples}
    assert info == {(HANKOU, "gov", "hankou-dc"), (GUANGGU, "gov", "guanggu-dc"),
                    ("wh-industry", "industry", "guanggu-dc"),
                    ("wh-xinchuang", "xinchuang", "hankou-dc")}


def test_a_registry_without_clusters_has_no_cluster_info(platform: tenants.Platform,
                                                         isolated: Isolated) -> None:
    collected = isolated(collector(platform, sources.NOT_CONFIGURED))
    assert "citycloud_cluster_info" not in {m.name for m in collected.collect()}
