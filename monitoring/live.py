"""The live clusters, as seen against the registry: quota used, and plumbing nobody registered.

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

Where platform.yaml declares clusters, every live series carries a `cluster`
label (a disaster-recovery tenant's usage comes once per cluster it runs on),
and `citycloud_cluster_info` says each cluster's pool and site, to join on
rather than repeating them on every series. A registry without clusters has
one cluster, the one the command line names, and its series keep the shape
they had before clusters (no label; Prometheus reads `cluster=""` as none, so
the implicit cluster of a registry that declares some is the same series).

A cluster that cannot be read serves only its `citycloud_cluster_up 0` and
read statistics: stale usage figures would fire or silence alerts wrongly. The
other clusters' figures are served as usual.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from fractions import Fraction

from citycloud import tenants
from citycloud.monitoring import _families, cluster, pool_metrics, sources

ClusterStates = Callable[[tenants.Platform], Mapping[str, sources.ClusterState]]
Snapshots = tuple[tuple[str, cluster.Snapshot], ...]  # (cluster name, its read) of those up


class LiveCollector(_families.Collector):
    """Tenant quota usage and unregistered network plumbing from every live cluster."""

    def __init__(self, platform: Callable[[], tenants.Platform], *,
                 clusters: ClusterStates) -> None:
        self._platform = platform
        self._clusters = clusters
        self._owners = _families.Memo(namespace_owners)
        self._usage = _families.Memo(self._usage_families)

    def families(self) -> list[_families.Family]:
        platform = self._platform()
        states = self._clusters(platform)
        families = status_families(states, platform=platform)
        snapshots = tuple((name, state.snapshot) for name, state in states.items()
                          if state.snapshot is not None)
        if snapshots:
            families += self._usage((platform, snapshots))
        return families

    def _usage_families(self, key: tuple[tenants.Platform, Snapshots],
                        ) -> list[_families.Family]:
        platform, snapshots = key
        owners = self._owners(platform)
        labelled = labelled_by_cluster(platform)
        return _families.merged(
            family for name, snapshot in snapshots
            for family in usage_families(snapshot, owners=owners,
                                         cluster_name=name if labelled else None))


def labelled_by_cluster(platform: tenants.Platform) -> bool:
    """Whether live series carry a `cluster` label: where platform.yaml declares clusters."""
    return bool(platform.clusters)


def status_families(states: Mapping[str, sources.ClusterState], *,
                    platform: tenants.Platform) -> list[_families.Family]:
    labels: _families.Labels = ("cluster",) if labelled_by_cluster(platform) else ()

    def rows(value: Callable[[sources.ClusterState], float | None]) -> list[_families.Row]:
        return [((name,) if labels else (), figure) for name, state in states.items()
                if (figure := value(state)) is not None]

    families = [
        _families.Family("citycloud_cluster_configured",
                         "1 if the exporter was given a cluster to read",
                         labels, rows(lambda s: float(s.configured))),
        _families.Family("citycloud_cluster_up", "1 if the last read of the cluster succeeded",
                         labels, rows(lambda s: float(s.up))),
        _families.Family("citycloud_cluster_read_duration_seconds",
                         "How long the last read of the cluster took", labels,
                         rows(lambda s: s.duration)),
        _families.Family("citycloud_cluster_read_errors",
                         "Failed reads of the cluster since the exporter started", labels,
                         rows(lambda s: float(s.errors)), counter=True),
    ]
    succeeded = rows(lambda s: s.last_success)
    if succeeded:
        families.append(_families.Family(
            "citycloud_cluster_last_success_timestamp_seconds",
            "Unix time of the last successful read of the cluster", labels, succeeded))
    if platform.clusters:
        families.append(_families.Family(
            "citycloud_cluster_info", "A cluster platform.yaml declares: its pool and site "
            "(data centre); join on `cluster` to group live figures by site",
            ("cluster", "pool", "site"),
            [((c.name, c.pool, c.site), 1.0) for c in platform.clusters.values()]))
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


def usage_families(snapshot: cluster.Snapshot, *, owners: dict[str, Owner],
                   cluster_name: str | None = None) -> list[_families.Family]:
    """One cluster's usage and plumbing, labelled `cluster=cluster_name` unless it is None."""
    extra: _families.Labels = () if cluster_name is None else (cluster_name,)
    extra_names: _families.Labels = () if cluster_name is None else ("cluster",)
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
                pool_metrics.TENANT_LABELS + extra_names,
                [(owner + extra, _families.number(_families.exact_sum(values)))
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
            "NetworkAttachmentDefinitions)", ("kind", "tenant", "department", *extra_names),
            [(k + extra, float(v)) for k, v in sorted(plumbing.items())]),
        _families.Family(
            "citycloud_cluster_network_attachment_crd",
            "1 if the cluster serves NetworkAttachmentDefinitions (k8s.cni.cncf.io) at all",
            extra_names, [(extra, float(snapshot.attachments_crd))]),
    ]
    return families
