"""The live cluster, as seen against the registry: quota used, and plumbing nobody registered.

Quota usage is the ResourceQuota status that kube-controller-manager keeps,
summed over a tenant's namespaces (the registry grants a tenant one quota;
Kubernetes enforces it per namespace). Two figures per resource: `used`, and
`enforced` — the sum of status.hard, which is the registry's quota split over
the namespaces and rounded down — so "fully used" compares like with like,
as kubernetes-mixin's quota alerts do.

Unregistered network plumbing is what the pool guardrails should refuse in a
tenant's namespaces: NodePort and LoadBalancer services, services with
externalIPs, hostNetwork pods and Multus NetworkAttachmentDefinitions (the CRD
may not exist; then there are none). Namespaces that belong to no tenant are
the platform's own and are not counted.

When the cluster cannot be read, only `citycloud_cluster_up 0` and the read
statistics are served: stale usage figures would fire or silence alerts wrongly.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from fractions import Fraction

from citycloud import tenants
from citycloud.monitoring import _families, cluster, pool_metrics, sources

ClusterGetter = Callable[[], sources.ClusterState]


class LiveCollector(_families.Collector):
    """Tenant quota usage and unregistered network plumbing from the live cluster."""

    def __init__(self, platform: Callable[[], tenants.Platform], *,
                 cluster_state: ClusterGetter) -> None:
        self._platform = platform
        self._cluster = cluster_state
        self._owners = _families.Memo(namespace_owners)
        self._usage = _families.Memo(self._usage_families)

    def families(self) -> list[_families.Family]:
        state = self._cluster()
        families = status_families(state)
        if state.snapshot is not None:
            families += self._usage((self._platform(), state.snapshot))
        return families

    def _usage_families(self, key: tuple[tenants.Platform, cluster.Snapshot],
                        ) -> list[_families.Family]:
        platform, snapshot = key
        return usage_families(snapshot, owners=self._owners(platform))


def status_families(state: sources.ClusterState) -> list[_families.Family]:
    families = [
        _families.single("citycloud_cluster_configured",
                         "1 if the exporter was given a cluster to read", float(state.configured)),
        _families.single("citycloud_cluster_up", "1 if the last read of the cluster succeeded",
                         float(state.up)),
        _families.single("citycloud_cluster_read_duration_seconds",
                         "How long the last read of the cluster took", state.duration),
        _families.single("citycloud_cluster_read_errors",
                         "Failed reads of the cluster since the exporter started",
                         float(state.errors), counter=True),
    ]
    if state.last_success is not None:
        families.append(_families.single(
            "citycloud_cluster_last_success_timestamp_seconds",
            "Unix time of the last successful read of the cluster", state.last_success))
    return families


Owner = _families.Labels  # tenant, department, pool: the tenant labels of pool_metrics.py

_MEASURES = {
    "used": "Quota in use, summed over the tenant's namespaces (status.used)",
    "enforced": "Quota the cluster enforces, summed over the tenant's namespaces (status.hard; "
                "the registry's quota split and rounded down)",
}


def namespace_owners(platform: tenants.Platform) -> dict[str, Owner]:
    return {namespace: pool_metrics.tenant_labels(tenant)
            for tenant in platform.tenants.values() for namespace in tenant.namespace_names()}


def usage_families(snapshot: cluster.Snapshot, *,
                   owners: dict[str, Owner]) -> list[_families.Family]:
    # measure -> resource -> tenant -> the figures of its namespaces
    figures: dict[str, dict[str, dict[Owner, list[Fraction]]]] = {
        measure: {resource: {} for resource in cluster.QUOTA_KEYS} for measure in _MEASURES}
    used, enforced = figures["used"], figures["enforced"]
    keys = tuple(cluster.QUOTA_KEYS.items())
    for quota in snapshot.quotas:  # thousands each scrape: kept to plain dict operations
        owner = owners.get(quota.namespace)
        if owner is None:
            continue
        for resource, key in keys:
            value = quota.hard.get(key)
            if value is not None:
                enforced[resource].setdefault(owner, []).append(value)
            # No status.used yet (the controller has not synced a new quota): unknown, not 0.
            value = quota.used.get(key)
            if value is not None:
                used[resource].setdefault(owner, []).append(value)
    families = []
    for measure, documentation in _MEASURES.items():
        for resource, unit in _families.UNITS.items():
            families.append(_families.Family(
                f"citycloud_tenant_quota_{measure}_{unit}", f"{documentation} ({resource})",
                pool_metrics.TENANT_LABELS,
                [(owner, _families.number(_families.exact_sum(values)))
                 for owner, values in sorted(figures[measure][resource].items())]))
    plumbing: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for item in snapshot.plumbing:
        owner = owners.get(item.namespace)
        if owner is not None:
            plumbing[(item.kind, owner[0], owner[1])] += 1
    families += [
        _families.Family(
            "citycloud_cluster_network_plumbing",
            "Network plumbing in a tenant's namespaces that the registry does not grant "
            "(NodePort/LoadBalancer/externalIPs services, hostNetwork pods, "
            "NetworkAttachmentDefinitions)", ("kind", "tenant", "department"),
            [(k, float(v)) for k, v in sorted(plumbing.items())]),
        _families.single(
            "citycloud_cluster_network_attachment_crd",
            "1 if the cluster serves NetworkAttachmentDefinitions (k8s.cni.cncf.io) at all",
            float(snapshot.attachments_crd)),
    ]
    return families

