"""The live collector: tenant quota usage and unregistered plumbing from a recorded cluster."""

from __future__ import annotations

import pytest
from exporter_fixtures import Isolated, recorded_snapshot

from citycloud import tenants
from citycloud.monitoring import cluster, live, sources

GIB, TIB = 2**30, 2**40
VIDEO = {"tenant": "wh-gongan-video", "department": "wh-gongan", "pool": "gov"}
IOT = {"tenant": "wh-chengguan-iot", "department": "wh-chengguan", "pool": "gov"}


def up(snapshot: cluster.Snapshot) -> sources.ClusterState:
    return sources.ClusterState(True, True, snapshot, "", snapshot.read_at, 0.25, 0)


def collector(platform: tenants.Platform, state: sources.ClusterState) -> live.LiveCollector:
    return live.LiveCollector(lambda: platform, cluster_state=lambda: state)


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
