"""The capacity set: quotas fit the pools, pools fit their hardware, departments their budget.

A quota is a promise of capacity. The registry may promise more than the
hardware holds only by the pool's overcommit ratio; beyond that, quotas are
promises the platform cannot keep. Every figure comes from tenants.allocation,
which sums Kubernetes quantities as exact Fractions: a pool that is exactly
full is reported as full, never as 0.0000001 over or under.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from citycloud import tenants
from citycloud.policies import engine
from citycloud.tenants import allocation, models, quantities

Diagnostic = engine.Diagnostic


def show(resource: str, value: Fraction) -> str:
    """A figure as people read it (quantities.format_amount: every message says it alike)."""
    return quantities.format_amount(value, resource=resource)


def _pool_figure(pool: models.Pool, index: int, resource: str) -> tuple[str | int, ...]:
    """Where a pool's capacity is written: on the pool, or (a pool on several clusters) on
    its clusters, whose findings point at each one's figures; the pool's entry then."""
    if pool.capacity is None:
        return ("spec", "pools", index)
    return ("spec", "pools", index, "capacity", resource)


def _physical(pool: models.Pool) -> str:
    return "physical" if pool.capacity is not None else "its clusters' physical"


@engine.policy(
    "capacity.pool-allocatable", set="capacity",
    title="A pool's quotas never exceed its physical capacity times its overcommit ratio",
    rationale="Overcommit is a bet that not every tenant uses its whole quota at once; the "
    "ratio in platform.yaml is how far the platform may bet. Past it, quotas are promises "
    "the hardware cannot keep, and the first busy day starves every tenant of the pool.")
def pool_allocatable(ctx: engine.Context) -> Iterator[Diagnostic]:
    for index, pool in enumerate(ctx.capacity):
        for resource, usage in pool.usage.items():
            if usage.allocated > usage.allocatable:
                yield engine.platform_finding(
                    ctx.platform, _pool_figure(pool.pool, index, resource),
                    f"pool {pool.pool.name!r} hands out {show(resource, usage.allocated)} of "
                    f"{resource}, {show(resource, -usage.headroom)} more than its "
                    f"{show(resource, usage.allocatable)} ({_physical(pool.pool)} x "
                    "overcommit)", hint="add hardware, or shrink or move tenants of this pool")


@engine.policy(
    "capacity.pool-headroom", set="capacity", severity=engine.Severity.WARNING,
    title="A pool keeps headroom: warn when its quotas pass a share of what it can give",
    rationale="Buying and racking servers takes months; the warning gives the platform that "
    "time before a pool is full and new departments have to wait.",
    settings=("capacity.poolWarning",))
def pool_headroom(ctx: engine.Context) -> Iterator[Diagnostic]:
    threshold = allocation.ratio(engine.settings(ctx.platform).capacity.pool_warning)
    for index, pool in enumerate(ctx.capacity):
        for resource, usage in pool.usage.items():
            if usage.allocatable * threshold < usage.allocated <= usage.allocatable:
                yield engine.platform_finding(
                    ctx.platform, _pool_figure(pool.pool, index, resource),
                    f"pool {pool.pool.name!r} has handed out {usage.ratio:.1%} of its "
                    f"{resource} ({show(resource, usage.headroom)} left), above the "
                    f"{float(threshold):.0%} warning line",
                    hint="plan more capacity for this pool")


def _clusters(ctx: engine.Context) -> list[tuple[int, allocation.ClusterCapacity]]:
    """The clusters judged on their own, with their index in platform.yaml: those of a pool
    with several. A pool's only cluster holds what the pool holds, so the pool policies
    judge it already (and a second finding would say the same thing twice)."""
    platform = ctx.platform
    index = {c.name: i for i, c in enumerate(platform.spec.spec.clusters)}
    return [(index[c.cluster.name], c) for c in allocation.cluster_report(platform)
            if len(platform.pool_clusters[c.cluster.pool]) > 1]


@engine.policy(
    "capacity.cluster-allocatable", set="capacity",
    title="The quotas placed on a cluster never exceed its hardware times its pool's overcommit",
    rationale="A pool's capacity is its clusters' together, but a namespace lives on one "
    "cluster: a cluster whose tenants hold more than it can give cannot keep their quotas "
    "even while its pool has room at another site. A disaster-recovery tenant holds its "
    "quota on each of its clusters.")
def cluster_allocatable(ctx: engine.Context) -> Iterator[Diagnostic]:
    for index, found in ctx.derived(_clusters):
        for resource, usage in found.usage.items():
            if usage.allocated > usage.allocatable:
                largest = sorted(found.tenants, key=lambda t: allocation.tenant_quota(
                    t, resource), reverse=True)[:3]
                yield engine.platform_finding(
                    ctx.platform, ("spec", "clusters", index, "capacity", resource),
                    f"cluster {found.cluster.name!r} holds {show(resource, usage.allocated)} "
                    f"of {resource} in quotas, {show(resource, -usage.headroom)} more than its "
                    f"{show(resource, usage.allocatable)} (physical x overcommit; largest: "
                    f"{', '.join(t.name for t in largest)})",
                    hint="move tenants to another cluster of the pool (spec.clusters), or add "
                    "hardware")


@engine.policy(
    "capacity.cluster-headroom", set="capacity", severity=engine.Severity.WARNING,
    title="A cluster keeps headroom: warn when its quotas pass a share of what it can give",
    rationale="New tenants are placed on the cluster with the most headroom; a cluster "
    "near full needs hardware, or its pool's next tenants placed elsewhere, before a "
    "department has to wait.",
    settings=("capacity.poolWarning",))
def cluster_headroom(ctx: engine.Context) -> Iterator[Diagnostic]:
    threshold = allocation.ratio(engine.settings(ctx.platform).capacity.pool_warning)
    for index, found in ctx.derived(_clusters):
        for resource, usage in found.usage.items():
            if usage.allocatable * threshold < usage.allocated <= usage.allocatable:
                yield engine.platform_finding(
                    ctx.platform, ("spec", "clusters", index, "capacity", resource),
                    f"cluster {found.cluster.name!r} has handed out {usage.ratio:.1%} of its "
                    f"{resource} ({show(resource, usage.headroom)} left), above the "
                    f"{float(threshold):.0%} warning line",
                    hint="add hardware to this cluster, or place the pool's next tenants on "
                    "another of its clusters")


@engine.policy(
    "capacity.tenant-fits", set="capacity",
    title="A tenant's quota fits within its share of its pool (physical x overcommit)",
    rationale="A quota larger than the pool can give is never schedulable, and one tenant "
    "holding most of a shared pool leaves the other departments waiting on it. "
    "policies.capacity.maxTenantShare caps the share one tenant may hold.",
    settings=("capacity.maxTenantShare",))
def tenant_fits(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    share = allocation.ratio(engine.settings(platform).capacity.max_tenant_share)
    pools = {p.pool.name: p for p in ctx.capacity}
    for tenant in platform.tenants.values():
        pool = pools[tenant.spec.pool]
        for resource, usage in pool.usage.items():
            asked = allocation.tenant_quota(tenant, resource)
            limit = usage.allocatable * share
            if asked > limit:
                part = "" if share == 1 else f"{float(share):.0%} of "
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "quota", resource),
                    f"asks for {show(resource, asked)} of {resource}, more than "
                    f"{show(resource, limit)} ({part}what pool {pool.pool.name!r} can give: "
                    "physical x overcommit)", hint="split the system across tenants, or ask "
                    "for less")


@engine.policy(
    "capacity.department-ceiling", set="capacity",
    title="A department's tenants together stay within its ceiling",
    rationale="The city funds each department's share of the cloud; a ceiling in "
    "platform.yaml turns that budget into a limit, so one department's growth is a decision "
    "and not an accident.",
    settings=("capacity.departmentCeilings",))
def department_ceiling(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    ceilings = engine.settings(platform).capacity.department_ceilings
    for code, ceiling in ceilings.items():
        held = [t for t in platform.tenants.values() if t.department == code]
        for resource in allocation.RESOURCES:
            limit: quantities.Quantity | None = getattr(ceiling, resource)
            if limit is None:
                continue
            total = _department_total(platform, held, resource)
            if total > limit.value:
                largest = sorted(held, key=lambda t: allocation.tenant_quota(t, resource),
                                 reverse=True)[:3]
                yield engine.platform_finding(
                    platform, ("spec", "policies", "capacity", "departmentCeilings", code,
                               resource),
                    f"department {code!r} holds {show(resource, total)} of {resource}, above "
                    f"its ceiling of {show(resource, limit.value)} (largest: "
                    f"{', '.join(t.name for t in largest)})",
                    hint="raise the ceiling with the budget's approval, or shrink tenants")


def _department_total(platform: tenants.Platform, held: list[models.Tenant],
                      resource: str) -> Fraction:
    """What a department holds across pools: tenants.allocation's exact sum per pool, added."""
    totals = (allocation.pool_capacity(platform, name, [t for t in held if t.spec.pool == name])
              .usage[resource].allocated for name in platform.pools)
    return sum(totals, Fraction(0))
