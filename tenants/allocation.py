"""How much of each pool the registry hands out: allocated vs. physical.

Allocatable is physical capacity times the pool's overcommit ratio; allocated
is the sum of tenant quotas. All sums are exact Fractions (see quantities).
Policies, the CLI's capacity report and the exporter all read these figures.
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


def ratio(value: float) -> Fraction:
    """An overcommit ratio as written in YAML (1.5), exactly: via its text, not its binary float."""
    return Fraction(str(value))


def tenant_quota(tenant: models.Tenant, resource: str) -> Fraction:
    value: Fraction = getattr(tenant.spec.quota, resource).value  # exact already: no copy
    return value


def pool_capacity(pool: models.Pool, tenants: list[models.Tenant]) -> PoolCapacity:
    usage = {}
    for resource in RESOURCES:
        physical = getattr(pool.capacity, resource).value
        allocated = sum((tenant_quota(t, resource) for t in tenants), Fraction(0))
        allocatable = physical * ratio(getattr(pool.overcommit, resource))
        usage[resource] = Usage(resource, physical, allocatable, allocated)
    return PoolCapacity(pool, len(tenants), len({t.department for t in tenants}), usage)


def report(platform: Platform) -> list[PoolCapacity]:
    by_pool: dict[str, list[models.Tenant]] = {name: [] for name in platform.pools}
    for tenant in platform.tenants.values():
        by_pool[tenant.spec.pool].append(tenant)
    return [pool_capacity(pool, by_pool[name]) for name, pool in platform.pools.items()]
