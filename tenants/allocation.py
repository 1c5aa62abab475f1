"""How much of each pool, and of each cluster, the registry hands out: allocated vs. physical.

Allocatable is physical capacity times the pool's overcommit ratio; allocated
is the sum of tenant quotas. A pool's physical capacity is its own figure, or
its clusters' together; a disaster-recovery tenant holds its quota on each of
its two clusters, so it counts twice in its pool. All sums are exact Fractions
(see quantities). Policies, the CLI's capacity report and the exporter all read
these figures.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from citycloud.tenants import models
from citycloud.tenants.platform import Platform

RESOURCES = ("cpu", "memory", "storage")


@dataclasses.dataclass(frozen=True)
class Usage:
    resource: str  # cpu (cores) | memory (bytes) | storage (bytes)
    physical: Fraction
    allocatable: Fraction  # physical x overcommit
    allocated: Fraction  # sum of tenant quotas

    @property
    def headroom(self) -> Fraction:
        return self.allocatable - self.allocated

    @property
    def ratio(self) -> float:
        """Allocated / allocatable, 0..1 (above 1 when overbooked)."""
        return float(self.allocated / self.allocatable) if self.allocatable else 0.0


@dataclasses.dataclass(frozen=True)
class PoolCapacity:
    pool: models.Pool
    tenants: int
    departments: int
    usage: dict[str, Usage]


@dataclasses.dataclass(frozen=True)
class ClusterCapacity:
    """One declared cluster: the quotas of the tenants placed on it against its hardware
    (its pool's overcommit)."""

    cluster: models.Cluster
    tenants: list[models.Tenant]
    usage: dict[str, Usage]


def ratio(value: float) -> Fraction:
    """An overcommit ratio as written in YAML (1.5), exactly: via its text, not its binary float."""
    return Fraction(str(value))


def tenant_quota(tenant: models.Tenant, resource: str) -> Fraction:
    value: Fraction = getattr(tenant.spec.quota, resource).value  # exact already: no copy
    return value


def held(platform: Platform, tenant: models.Tenant, resource: str) -> Fraction:
    """What a tenant holds of its pool: its quota on each of its clusters (a
    disaster-recovery tenant holds it twice)."""
    return tenant_quota(tenant, resource) * max(len(platform.placements(tenant)), 1)


def _usage(physical: models.Resources, overcommit: models.Overcommit,
           allocated: dict[str, Fraction]) -> dict[str, Usage]:
    usage = {}
    for resource in RESOURCES:
        amount = getattr(physical, resource).value
        usage[resource] = Usage(resource, amount,
                                amount * ratio(getattr(overcommit, resource)),
                                allocated[resource])
    return usage


def pool_capacity(platform: Platform, name: str, tenants: list[models.Tenant]) -> PoolCapacity:
    """The pool against `tenants` (all of its own, or a department's share of them)."""
    pool = platform.pools[name]
    allocated = {r: sum((held(platform, t, r) for t in tenants), Fraction(0))
                 for r in RESOURCES}
    return PoolCapacity(pool, len(tenants), len({t.department for t in tenants}),
                        _usage(platform.pool_capacity(name), pool.overcommit, allocated))


def report(platform: Platform) -> list[PoolCapacity]:
    by_pool: dict[str, list[models.Tenant]] = {name: [] for name in platform.pools}
    for tenant in platform.tenants.values():
        by_pool[tenant.spec.pool].append(tenant)
    return [pool_capacity(platform, name, by_pool[name]) for name in platform.pools]


def cluster_report(platform: Platform) -> list[ClusterCapacity]:
    """Every declared cluster with the tenants placed on it, in platform.yaml's order; none
    for a registry that declares no clusters."""
    placed: dict[str, list[models.Tenant]] = {name: [] for name in platform.clusters}
    for tenant in platform.tenants.values():
        for name in platform.placements(tenant):
            if name in placed:
                placed[name].append(tenant)
    found = []
    for cluster in platform.spec.spec.clusters:
        if cluster.pool not in platform.pools:
            continue  # the loader reports it
        physical = platform.cluster_capacity(cluster.name, cluster.pool)
        if physical is None:
            continue  # the loader reports it
        members = placed[cluster.name]
        allocated = {r: sum((tenant_quota(t, r) for t in members), Fraction(0))
                     for r in RESOURCES}
        found.append(ClusterCapacity(cluster, members, _usage(
            physical, platform.pools[cluster.pool].overcommit, allocated)))
    return found

