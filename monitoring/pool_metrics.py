"""Capacity collectors: pools, tenants' quotas and departments' totals, from the registry.

Every figure is tenants.allocation's (exact Fraction sums, turned into floats
only here): the exporter, `citycloud capacity` and the capacity policies can
never disagree. CPU is in cores, memory and storage in bytes (Prometheus base
units, one metric per unit), ratios 0..1.

- `PoolCollector`: physical, allocatable (physical x overcommit), allocated
  (sum of quotas) and headroom per pool and resource; tenants and departments.
- `TenantCollector`: each tenant's quota as granted in its file.
- `DepartmentCollector`: quota per department and pool, for chargeback.
"""

from __future__ import annotations

from collections.abc import Callable

from citycloud import tenants
from citycloud.monitoring import _families
from citycloud.tenants import allocation, models

PlatformGetter = Callable[[], tenants.Platform]

_MEASURES = {
    "physical": "Physical capacity of the pool",
    "allocatable": "What the pool may hand out: physical capacity x overcommit ratio",
    "allocated": "Sum of the quotas of the pool's tenants",
    "headroom": "Allocatable minus allocated (negative when overbooked)",
}


class PoolCollector(_families.Collector):
    """Per pool: capacity, allocation and headroom for cpu, memory and storage."""

    def __init__(self, platform: PlatformGetter) -> None:
        self._platform = platform
        self._families = _families.Memo(pool_families)

    def families(self) -> list[_families.Family]:
        return self._families(self._platform())


def pool_families(platform: tenants.Platform) -> list[_families.Family]:
    report = allocation.report(platform)
    families = [_families.Family(
        "citycloud_pool_info", "A resource pool of the platform (value 1)",
        ("pool", "kind", "display_name", "architectures", "max_classification", "dedicated"),
        [((p.pool.name, p.pool.kind.value, p.pool.display_name,
           ",".join(a.value for a in p.pool.placement.architectures),
           str(p.pool.max_classification), str(p.pool.dedicated).lower()), 1.0)
         for p in report])]
    for measure, documentation in _MEASURES.items():
        for resource, unit in _families.UNITS.items():
            families.append(_families.Family(
                f"citycloud_pool_{measure}_{unit}", f"{documentation} ({resource})", ("pool",),
                [((p.pool.name,), _families.number(getattr(p.usage[resource], measure)))
                 for p in report]))
    families += [
        _families.Family(
            "citycloud_pool_allocation_ratio",
            "Allocated / allocatable, 0..1 (above 1 when the pool is overbooked)",
            ("pool", "resource"),
            [((p.pool.name, r), u.ratio) for p in report for r, u in p.usage.items()]),
        _families.Family("citycloud_pool_tenants", "Tenants placed in the pool", ("pool",),
                         [((p.pool.name,), float(p.tenants)) for p in report]),
        _families.Family("citycloud_pool_departments", "Departments with a tenant in the pool",
                         ("pool",), [((p.pool.name,), float(p.departments)) for p in report]),
        _families.single(
            "citycloud_pool_allocation_warning_ratio",
            "Allocation ratio above which the capacity policy warns "
            "(platform.yaml policies.capacity.poolWarning)",
            platform.spec.spec.policies.capacity.pool_warning),
    ]
    return families


class TenantCollector(_families.Collector):
    """Per tenant: who owns it, where it runs, and the quota its file grants."""

    def __init__(self, platform: PlatformGetter) -> None:
        self._platform = platform
        self._families = _families.Memo(tenant_families)

    def families(self) -> list[_families.Family]:
        return self._families(self._platform())


def tenant_labels(tenant: models.Tenant) -> _families.Labels:
    return (tenant.name, tenant.department, tenant.spec.pool)


TENANT_LABELS = ("tenant", "department", "pool")


def tenant_families(platform: tenants.Platform) -> list[_families.Family]:
    all_tenants = list(platform.tenants.values())
    families = [_families.Family(
        "citycloud_tenant_info", "A tenant of the registry (value 1)",
        (*TENANT_LABELS, "classification", "namespaces"),
        [((*tenant_labels(t), str(t.spec.classification), str(len(t.spec.namespaces))), 1.0)
         for t in all_tenants])]
    for resource, unit in _families.UNITS.items():
        families.append(_families.Family(
            f"citycloud_tenant_quota_{unit}",
            f"Quota granted to the tenant in its registry file ({resource})", TENANT_LABELS,
            [(tenant_labels(t), _families.number(allocation.tenant_quota(t, resource)))
             for t in all_tenants]))
    return families


class DepartmentCollector(_families.Collector):
    """Per department and pool: the quota its tenants hold, the basis of chargeback."""

    def __init__(self, platform: PlatformGetter) -> None:
        self._platform = platform
        self._families = _families.Memo(department_families)

    def families(self) -> list[_families.Family]:
        return self._families(self._platform())


def department_totals(platform: tenants.Platform,
                      ) -> dict[tuple[str, str], allocation.PoolCapacity]:
    """(department, pool) -> what the department's tenants hold in that pool.

    tenants.allocation owns quota sums: a department's share of a pool is that
    pool's report restricted to the department's tenants (a disaster-recovery tenant's
    quota counted on each of its clusters, as the department pays for both).
    """
    by_department: dict[tuple[str, str], list[models.Tenant]] = {}
    for tenant in platform.tenants.values():
        by_department.setdefault((tenant.department, tenant.spec.pool), []).append(tenant)
    return {key: allocation.pool_capacity(platform, key[1], members)
            for key, members in sorted(by_department.items())}


def department_families(platform: tenants.Platform) -> list[_families.Family]:
    totals = department_totals(platform)
    families = [_families.Family(
        "citycloud_department_info", "A department of the registry (value 1)",
        ("department", "name", "level", "cost_centre"),
        [((d.code, d.name, d.level.value, d.cost_centre), 1.0)
         for d in platform.departments.values()])]
    families.append(_families.Family(
        "citycloud_department_tenants", "Tenants the department has in the pool",
        ("department", "pool"), [(key, float(total.tenants)) for key, total in totals.items()]))
    for resource, unit in _families.UNITS.items():
        families.append(_families.Family(
            f"citycloud_department_quota_{unit}",
            f"Sum of the quotas of the department's tenants in the pool ({resource})",
            ("department", "pool"),
            [(key, _families.number(total.usage[resource].allocated))
             for key, total in totals.items()]))
    return families
