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
                    ctx.platform, ("spec", "pools", index, "capacity", resource),
                    f"pool {pool.pool.name!r} hands out {show(resource, usage.allocated)} of "
                    f"{resource}, {show(resource, -usage.headroom)} more than its "
                    f"{show(resource, usage.allocatable)} (physical x overcommit)",
                    hint="add hardware, or shrink or move tenants of this pool")


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
                    ctx.platform, ("spec", "pools", index, "capacity", resource),
                    f"pool {pool.pool.name!r} has handed out {usage.ratio:.1%} of its "
                    f"{resource} ({show(resource, usage.headroom)} left), above the "
                    f"{float(threshold):.0%} warning line",
                    hint="plan more capacity for this pool")


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
    totals = (allocation.pool_capacity(pool, [t for t in held if t.spec.pool == name])
              .usage[resource].allocated for name, pool in platform.pools.items())
    return sum(totals, Fraction(0))
