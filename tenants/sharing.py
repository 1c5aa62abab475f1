"""Shared services: which tenant may call which, resolved once from both sides' files.

A department publishes a service in its tenant file (`spec.services`: namespace, ports,
kind, audience) and another asks for it in its own (`spec.consumes`). A flow exists only
when both say so: the consumer asks, and the provider's audience admits the consumer's
department, pool or the whole city. `resolve` pairs every request with what it names and
says how it stands; the rendering (NetworkPolicies on both sides, for `Status.GRANTED`
flows only), the sharing policies, the CLI's sharing map and the exporter all read it, so
they cannot disagree about who may reach whom.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from fractions import Fraction

from citycloud.tenants import allocation, models
from citycloud.tenants.platform import Platform


class Status(enum.StrEnum):
    GRANTED = "granted"  # both sides consent: rendered as NetworkPolicies
    UNKNOWN_TENANT = "unknown-tenant"
    UNKNOWN_SERVICE = "unknown-service"
    NOT_IN_AUDIENCE = "not-in-audience"  # asked, but the provider does not admit it


@dataclasses.dataclass(frozen=True)
class Flow:
    """One `spec.consumes` entry of a consumer, and the service it names (if any)."""

    consumer: models.Tenant
    index: int  # position in the consumer's spec.consumes, for file:line
    request: models.Consumption
    provider: models.Tenant | None
    service: models.Service | None
    status: Status

    @property
    def granted(self) -> bool:
        return self.status is Status.GRANTED

    def consumer_namespaces(self) -> list[str]:
        """The consumer's namespaces that call the service (full names)."""
        chosen = self.request.namespaces or self.consumer.spec.namespaces
        return [models.namespace_name(self.consumer.name, short) for short in chosen]

    def provider_namespace(self) -> str:
        assert self.provider is not None and self.service is not None
        return models.namespace_name(self.provider.name, self.service.namespace)


def published(platform: Platform) -> Iterator[tuple[models.Tenant, int, models.Service]]:
    """Every published service, with its tenant and its position in `spec.services`."""
    for tenant in platform.tenants.values():
        for index, service in enumerate(tenant.spec.services):
            yield tenant, index, service


def admits(service: models.Service, consumer: models.Tenant) -> bool:
    """Whether the service's audience includes the consumer (its department or pool)."""
    audience = service.audience
    return (audience.city or consumer.department in audience.departments
            or consumer.spec.pool in audience.pools)


def resolve(platform: Platform) -> list[Flow]:
    """Every consumption request of the registry, in tenant order, with its standing."""
    return [flow for consumer in platform.tenants.values()
            for flow in requested_by(platform, consumer)]


def requested_by(platform: Platform, consumer: models.Tenant) -> list[Flow]:
    """One tenant's own requests (its spec.consumes), in order, with their standing."""
    return [_resolve_one(platform, consumer, index, request)
            for index, request in enumerate(consumer.spec.consumes)]


def requests_for(platform: Platform, provider: models.Tenant) -> list[Flow]:
    """The requests that name one tenant as provider, in consumer order, with their standing.

    Rendering calls this once per tenant: it reads the Platform's index of requests by
    provider instead of resolving the whole registry each time.
    """
    return [_resolve_one(platform, consumer, index, consumer.spec.consumes[index])
            for consumer, index in platform.consumes_by_provider.get(provider.name, ())]


def counterparts(platform: Platform, name: str) -> set[str]:
    """The tenants on the other side of a tenant's flows as the registry has them: the
    providers it asks and the consumers that ask it. Their rendered objects change with this
    tenant's file (a door has two ends), so converging it alone would leave half a door."""
    tenant = platform.tenants[name]
    found = {flow.request.tenant for flow in requested_by(platform, tenant)}
    found |= {flow.consumer.name for flow in requests_for(platform, tenant)}
    return (found & set(platform.tenants)) - {name}


def _resolve_one(platform: Platform, consumer: models.Tenant, index: int,
                 request: models.Consumption) -> Flow:
    provider = platform.tenants.get(request.tenant)
    if provider is None:
        return Flow(consumer, index, request, None, None, Status.UNKNOWN_TENANT)
    service = next((s for s in provider.spec.services if s.name == request.service), None)
    if service is None:
        return Flow(consumer, index, request, provider, None, Status.UNKNOWN_SERVICE)
    status = Status.GRANTED if admits(service, consumer) else Status.NOT_IN_AUDIENCE
    return Flow(consumer, index, request, provider, service, status)


def granted(platform: Platform) -> list[Flow]:
    return [flow for flow in resolve(platform) if flow.granted]


# ---- the city's catalogue, and who duplicates it ------------------------------------


def catalogue(platform: Platform) -> dict[str, models.SharedService]:
    """Kind -> the city's shared service of that kind, in platform.yaml order: the first entry
    of the kind that names a service its tenant publishes with that kind. An entry naming
    none sends nobody anywhere (policy sharing.catalogue reports it, and a kind listed twice)."""
    found: dict[str, models.SharedService] = {}
    for entry in platform.spec.spec.shared_services:
        provider = platform.tenants.get(entry.tenant)
        if entry.kind not in found and provider is not None and any(
                s.name == entry.service and s.kind == entry.kind for s in provider.spec.services):
            found[entry.kind] = entry
    return found


def duplicates(platform: Platform) -> Iterator[tuple[models.Tenant, int, models.Service,
                                                      models.SharedService]]:
    """Every published service of a kind the catalogue provides, by a tenant that is not the
    catalogue's provider of that kind, with its position in `spec.services` and the entry.

    The provider tenant may publish several services of its kind (an API and an admin
    console); any other tenant's is a second system of a kind the city already runs."""
    city = catalogue(platform)
    for tenant, index, service in published(platform):
        entry = city.get(service.kind)
        if entry is not None and tenant.name != entry.tenant:
            yield tenant, index, service, entry


@dataclasses.dataclass(frozen=True)
class OwnSystem:
    """A tenant that runs its own system of a kind the city's catalogue provides."""

    tenant: str
    department: str
    pool: str
    services: tuple[str, ...]  # its published services of that kind, in file order
    quota: dict[str, Fraction]  # the tenant's whole quota: cpu (cores), memory, storage (bytes)


@dataclasses.dataclass(frozen=True)
class Consolidation:
    """One kind of the catalogue, and the departments that still run a system of their own.

    kind, display_name: the catalogue entry (platform.yaml spec.sharedServices);
    tenant, service: the city's provider of that kind and its published service;
    systems: the other tenants publishing a service of that kind, by tenant name;
    departments: their departments, sorted, each once;
    quota: exact sums (Fractions, as tenants.allocation) of the quota those tenants hold,
    by resource (allocation.RESOURCES: cpu in cores, memory and storage in bytes). A
    tenant's whole quota counts: the registry does not say which share of it runs the
    duplicate system, so this is what consolidating its tenants could free at most.
    """

    kind: str
    display_name: str
    tenant: str
    service: str
    systems: tuple[OwnSystem, ...]
    departments: tuple[str, ...]
    quota: dict[str, Fraction]


def consolidation(platform: Platform) -> list[Consolidation]:
    """Per kind of the city's catalogue (in platform.yaml order, each kind once): who runs a
    system of their own, and the quota their tenants hold. Read by `citycloud services
    report` and the exporter; policy sharing.duplicate-system reports the same systems."""
    services: dict[str, dict[str, list[str]]] = {}  # kind -> tenant -> its service names
    for tenant, _, service, entry in duplicates(platform):
        services.setdefault(entry.kind, {}).setdefault(tenant.name, []).append(service.name)
    report = []
    for kind, entry in catalogue(platform).items():
        systems = tuple(_own_system(platform.tenants[name], names)
                        for name, names in sorted(services.get(kind, {}).items()))
        quota = {resource: sum((s.quota[resource] for s in systems), Fraction(0))
                 for resource in allocation.RESOURCES}
        report.append(Consolidation(
            kind, entry.display_name, entry.tenant, entry.service, systems,
            tuple(sorted({s.department for s in systems})), quota))
    return report


def _own_system(tenant: models.Tenant, services: list[str]) -> OwnSystem:
    return OwnSystem(tenant.name, tenant.department, tenant.spec.pool, tuple(services),
                     {resource: allocation.tenant_quota(tenant, resource)
                      for resource in allocation.RESOURCES})
