"""Shared services: the governed door between departments, and the systems built beside it.

The other half of ending duplicate private networks is sharing: a tenant publishes a
service, others are granted it (tenants.sharing), and the city's catalogue names the
kinds of system it runs once for everyone. Ops watches how far each published service is
used (grants), requests that open nothing (refused by status: a consumer that believes
it may call a service it cannot), and the tenants that still run their own system of a
kind the catalogue provides (rules/sharing.yaml), with the quota they hold.
"""

from __future__ import annotations

from collections.abc import Callable

from citycloud import tenants
from citycloud.monitoring import _families
from citycloud.tenants import sharing, sharing_map

_READING = {"cpu": "CPU", "memory": "Memory", "storage": "Storage"}


class SharingCollector(_families.Collector):
    """Published services and their grants, requests by standing, the catalogue and its
    duplicates."""

    def __init__(self, platform: Callable[[], tenants.Platform]) -> None:
        self._platform = platform
        self._families = _families.Memo(sharing_families)

    def families(self) -> list[_families.Family]:
        return self._families(self._platform())


def sharing_families(platform: tenants.Platform) -> list[_families.Family]:
    flows = sharing.resolve(platform)
    published = sharing_map.services(platform, flows=flows)
    grants = {(p.tenant.name, p.service.name): len(p.consumers) for p in published}
    requests = dict.fromkeys(sharing.Status, 0)  # every status, zero when none stands
    for flow in flows:
        requests[flow.status] += 1
    catalogue = sharing.catalogue(platform)
    report = sharing.consolidation(platform)
    return [
        _families.Family(
            "citycloud_service_grants",
            "Tenants granted a published service (both files agree), by the publishing "
            "tenant, its department, the service and its kind",
            ("tenant", "department", "service", "kind"),
            [((p.tenant.name, p.tenant.department, p.service.name, p.service.kind),
              float(len(p.consumers))) for p in published]),
        _families.Family(
            "citycloud_service_requests",
            "Requests for other tenants' services (spec.consumes) by standing: granted, "
            "not-in-audience, unknown-tenant, unknown-service; only granted ones open traffic",
            ("status",), [((str(status),), float(count)) for status, count in requests.items()]),
        _families.Family(
            "citycloud_shared_service_info",
            "A kind of system the city runs once for every department, and the tenant "
            "service that provides it (value 1)",
            ("kind", "display_name", "tenant", "service"),
            [((kind, entry.display_name, entry.tenant, entry.service), 1.0)
             for kind, entry in catalogue.items()]),
        _families.Family(
            "citycloud_shared_service_consumers",
            "Tenants granted the city's shared service of the kind",
            ("kind",), [((kind,), float(grants.get((entry.tenant, entry.service), 0)))
                        for kind, entry in catalogue.items()]),
        _families.Family(
            "citycloud_duplicate_systems",
            "Tenants running their own system of a kind the city's catalogue provides "
            "(policy sharing.duplicate-system)",
            ("kind",), [((row.kind,), float(len(row.systems))) for row in report]),
        _families.Family(
            "citycloud_duplicate_system_departments",
            "Departments whose tenants run their own system of a kind the city provides",
            ("kind",), [((row.kind,), float(len(row.departments))) for row in report]),
        *(_families.Family(
            f"citycloud_duplicate_system_quota_{unit}",
            f"{_READING[resource]} quota held by the tenants running their own system of "
            "the kind (their whole quota: what consolidating them could free at most)",
            ("kind",), [((row.kind,), _families.number(row.quota[resource])) for row in report])
          for resource, unit in _families.UNITS.items()),
    ]
