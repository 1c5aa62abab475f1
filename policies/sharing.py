"""The sharing set: departments call each other's systems by consent, and stop building
systems the city already runs.

The sources name the problem a city cloud exists to end: departments each built the
same application systems (各部门重复建设应用系统) and their own networks, and the data
stayed in silos (信息孤岛). The answer is a governed door: a tenant publishes a service
to an audience (departments, pools, the city), another tenant asks for it, and
tenants.sharing pairs the two sides; a flow exists only when both files agree, so each
department's CODEOWNERS approve their own side. These policies judge the pairs: a
request names a service that exists, whose audience admits the consumer, whose data may
flow to the consumer's MLPS level, between pools the platform lets talk. A tenant that
publishes a system of a kind the city's catalogue already provides is reported the way
a private network of a purpose a shared network serves is (network.purpose-shared).

Every finding points at the line that the department able to fix it would change: the
consumer's request in its own file, naming the provider's file and line when only the
provider can widen what it publishes.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator

from citycloud import tenants
from citycloud.policies import engine
from citycloud.tenants import diagnostics, models, sharing

Diagnostic = engine.Diagnostic
SET = "sharing"
_SILOS = ("The sources name what the unified cloud must end: departments each built the same "
          "application systems and their own networks (各部门重复建设应用系统), and data stayed "
          "in silos (信息孤岛). ")


def _flows(ctx: engine.Context) -> list[sharing.Flow]:
    """Every request of the registry, resolved once per evaluation for the checks below.

    A request of a tenant's own service, and a second request of the same service, are
    sharing.declaration's findings; judging them again here would only repeat them."""
    seen: set[tuple[str, str, str]] = set()
    flows = []
    for flow in sharing.resolve(ctx.platform):
        key = (flow.consumer.name, flow.request.tenant, flow.request.service)
        if flow.request.tenant != flow.consumer.name and key not in seen:
            flows.append(flow)
        seen.add(key)
    return flows


def _judged(ctx: engine.Context) -> Iterator[tuple[sharing.Flow, models.Tenant, models.Service]]:
    """Requests whose service exists (granted or not): what the level and pool rules judge,
    so that one pull request learns every reason its request fails at once."""
    for flow in ctx.derived(_flows):
        if flow.provider is not None and flow.service is not None:
            yield flow, flow.provider, flow.service


def _service_index(provider: models.Tenant, service: models.Service) -> int:
    return next(i for i, s in enumerate(provider.spec.services) if s.name == service.name)


def _at(platform: tenants.Platform, tenant: models.Tenant, *path: str | int) -> str:
    """`file:line` of a value of a tenant's file, for hints that send a reader there."""
    file, line = platform.where_tenant(tenant.name, *path)
    return f"{file}:{line}" if line else file


def _audience_text(audience: models.Audience) -> str:
    if audience.city:
        return "the whole city"
    parts = []
    if audience.departments:
        parts.append(f"departments {', '.join(audience.departments)}")
    if audience.pools:
        parts.append(f"pools {', '.join(audience.pools)}")
    return "; ".join(parts) or "nobody yet"


# ---- the requests -----------------------------------------------------------------


@engine.policy(
    "sharing.unknown-service", set=SET,
    title="A consumed service names a tenant that exists and a service it publishes",
    rationale=_SILOS + "A department reaches another's system only through a service that "
    "system publishes; a request for a tenant or service that does not exist opens nothing "
    "and usually hides a typo that would leave the department building its own copy.")
def unknown_service(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for flow in ctx.derived(_flows):
        at = ("spec", "consumes", flow.index)
        request, provider = flow.request, flow.provider
        if flow.status is sharing.Status.UNKNOWN_TENANT:
            yield engine.tenant_finding(
                platform, flow.consumer, (*at, "tenant"),
                f"tenant {request.tenant!r} does not exist, so it publishes no service "
                f"{request.service!r}", hint=diagnostics.did_you_mean(
                    request.tenant, platform.tenants,
                    otherwise="name the tenant that publishes it (metadata.name of its file)"))
        elif flow.status is sharing.Status.UNKNOWN_SERVICE:
            assert provider is not None
            names = [s.name for s in provider.spec.services]
            otherwise = (f"it publishes {', '.join(names)}" if names else
                         f"it publishes none: department {provider.department} must add it "
                         f"to spec.services in {platform.tenant_files[provider.name]}")
            yield engine.tenant_finding(
                platform, flow.consumer, (*at, "service"),
                f"tenant {provider.name} publishes no service {request.service!r}",
                hint=diagnostics.did_you_mean(request.service, names, otherwise=otherwise))


@engine.policy(
    "sharing.not-in-audience", set=SET,
    title="A consumed service is published to the consumer's department, pool or the city",
    rationale=_SILOS + "Sharing is consent on both sides: the consumer asks in its file, the "
    "provider admits it in its own, and each department's CODEOWNERS approve their side. A "
    "request the provider's audience does not cover is asking, not yet a grant: no flow is "
    "opened until the provider's department widens its audience.")
def not_in_audience(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for flow, provider, service in _judged(ctx):
        if flow.status is not sharing.Status.NOT_IN_AUDIENCE:
            continue
        consumer = flow.consumer
        where = _at(platform, provider, "spec", "services", _service_index(provider, service),
                    "audience")
        yield engine.tenant_finding(
            platform, consumer, ("spec", "consumes", flow.index),
            f"service {service.name!r} of {provider.name} is not published to department "
            f"{consumer.department} or pool {consumer.spec.pool} (its audience: "
            f"{_audience_text(service.audience)})",
            hint=f"department {provider.department} decides: it adds {consumer.department!r} "
            f"to audience.departments at {where}; until then drop this request")


@engine.policy(
    "sharing.classification", set=SET,
    title="A consumer's MLPS level is at least the service's minClassification",
    rationale="A service holding data of a level-3 system (等保 2.0) must not be read by a "
    "system assessed and protected only at level 2: the data would leave the protection its "
    "level demands. The provider states the lowest level it serves (minClassification); "
    "a consumer below it is refused.")
def classification(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for flow, provider, service in _judged(ctx):
        least, level = service.min_classification, flow.consumer.spec.classification
        if least is None or level >= least:
            continue
        where = _at(platform, provider, "spec", "services", _service_index(provider, service),
                    "minClassification")
        yield engine.tenant_finding(
            platform, flow.consumer, ("spec", "consumes", flow.index),
            f"service {service.name!r} of {provider.name} serves systems of MLPS level "
            f"{least} or above; this tenant is level {level}: data must not flow down the levels",
            hint=f"drop this request, or have the system assessed at level {least} and raise "
            f"spec.classification; only department {provider.department} can lower "
            f"minClassification ({where})")


def _allowed_pool_flows(platform: tenants.Platform) -> set[tuple[str, str]]:
    flows = engine.settings(platform).sharing.allowed_pool_flows
    return {(flow.consumer, flow.provider) for flow in flows}


@engine.policy(
    "sharing.pool-flow", set=SET,
    title="Flows across pools only where policies.sharing.allowedPoolFlows allows them",
    rationale="The pools are separate security domains: the government pool sits on the "
    "e-government extranet, the industry pool faces the internet, the xinchuang pool runs "
    "domestic systems. Within a pool every consented flow is allowed; a flow from one pool "
    "into another crosses a domain boundary, which the platform team decides once per pair "
    "of pools, not each department per request.",
    settings=("sharing.allowedPoolFlows",))
def pool_flow(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    allowed = _allowed_pool_flows(platform)
    for flow, provider, service in _judged(ctx):
        mine, theirs = flow.consumer.spec.pool, provider.spec.pool
        if mine == theirs or (mine, theirs) in allowed:
            continue
        pair = f"{{consumer: {mine}, provider: {theirs}}}"
        yield engine.tenant_finding(
            platform, flow.consumer, ("spec", "consumes", flow.index),
            f"service {service.name!r} of {provider.name} runs in pool {theirs!r}, and flows "
            f"from pool {mine!r} into pool {theirs!r} are not allowed",
            hint=f"the platform team decides: it adds {pair} to "
            "policies.sharing.allowedPoolFlows in platform.yaml; or consume a service of "
            f"pool {mine!r}")


@engine.policy(
    "sharing.cross-cluster", set=SET,
    title="A flow between clusters reaches clusters whose pod networks are declared",
    rationale="Where consumer and provider run on different clusters, a NetworkPolicy cannot "
    "name the other side's namespaces: the door opens on the other cluster's pod network "
    "(podCidrs in platform.yaml) on the service's ports. A cluster without podCidrs gives "
    "the rendering nothing to open the door on, so the flow the two files agreed on would "
    "silently not exist and the department would route around the platform.")
def cross_cluster(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for flow, provider, service in _judged(ctx):
        mine, theirs = platform.placements(flow.consumer), platform.placements(provider)
        if all(c in theirs for c in mine):
            continue  # each copy of the consumer has the provider on its own cluster
        # The consumer's copies elsewhere, and the provider's clusters they would call.
        apart = sorted({*(c for c in mine if c not in theirs), *theirs})
        blind = [c for c in apart
                 if not (c in platform.clusters and platform.clusters[c].pod_cidrs)]
        if blind:
            yield engine.tenant_finding(
                platform, flow.consumer, ("spec", "consumes", flow.index),
                f"service {service.name!r} of {provider.name} runs on {_named(theirs)} and "
                f"this tenant on {_named(mine)}; cluster(s) {_named(blind)} declare no "
                "podCidrs, so no door can open between them",
                hint="the platform team adds podCidrs to those clusters in platform.yaml; or "
                "place the tenant on a cluster the provider runs on (spec.clusters)")


def _named(clusters: Iterable[str]) -> str:
    """Cluster names for a message; a pool that declares none runs on the cluster the
    command line names."""
    return ", ".join(c or "the undeclared cluster of its pool" for c in clusters)


# ---- the declarations ---------------------------------------------------------------


@engine.policy(
    "sharing.service-namespace", set=SET,
    title="Services are published from, and consumed by, the tenant's own namespaces",
    rationale="The rendering opens exactly the flows both files agree on, namespace to "
    "namespace. A service published from a namespace the tenant does not have, or a request "
    "naming one, would open a door into or out of a namespace that is not the tenant's; "
    "one department never gets rights in another department's namespaces.")
def service_namespace(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for tenant in platform.tenants.values():
        own = tenant.spec.namespaces
        listing = f"its namespaces: {', '.join(own)}"
        for k, service in enumerate(tenant.spec.services):
            if service.namespace not in own:
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "services", k, "namespace"),
                    f"service {service.name!r} is published from namespace "
                    f"{service.namespace!r}, which is not one of this tenant's",
                    hint=diagnostics.did_you_mean(service.namespace, own, otherwise=listing))
        for i, request in enumerate(tenant.spec.consumes):
            for j, short in enumerate(request.namespaces):
                if short not in own:
                    yield engine.tenant_finding(
                        platform, tenant, ("spec", "consumes", i, "namespaces", j),
                        f"namespace {short!r} is not one of this tenant's: a tenant asks for "
                        "flows from its own namespaces only",
                        hint=diagnostics.did_you_mean(short, own, otherwise=listing))


@engine.policy(
    "sharing.declaration", set=SET,
    title="Services and requests are declared once, naming departments and pools that exist",
    rationale="A registry file says who may reach whom; two entries of one name leave "
    "reviewers guessing which is meant, an audience naming a department or pool that does "
    "not exist admits nobody while its author believes otherwise, and a tenant's own "
    "namespaces reach each other already, without a request.")
def declaration(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for tenant in platform.tenants.values():
        first: dict[str, int] = {}
        for k, service in enumerate(tenant.spec.services):
            earlier = first.setdefault(service.name, k)
            if earlier != k:
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "services", k, "name"),
                    f"service {service.name!r} is published twice (also "
                    f"spec.services[{earlier}])",
                    hint="give each service a name of its own, or merge their ports")
            yield from _audience_references(platform, tenant, k, service.audience)
        asked: dict[tuple[str, str], int] = {}
        for i, request in enumerate(tenant.spec.consumes):
            if request.tenant == tenant.name:
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "consumes", i, "tenant"),
                    "a tenant does not consume its own service: its namespaces already "
                    "reach each other", hint="drop this entry")
                continue
            earlier = asked.setdefault((request.tenant, request.service), i)
            if earlier != i:
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "consumes", i),
                    f"service {request.service!r} of {request.tenant} is requested twice "
                    f"(also spec.consumes[{earlier}])",
                    hint="merge the entries: list every calling namespace in one")


def _audience_references(platform: tenants.Platform, tenant: models.Tenant, k: int,
                         audience: models.Audience) -> Iterator[Diagnostic]:
    at = ("spec", "services", k, "audience")
    for j, code in enumerate(audience.departments):
        if code not in platform.departments:
            yield engine.tenant_finding(
                platform, tenant, (*at, "departments", j),
                f"department {code!r} is not in departments.yaml: the audience admits nobody "
                "by that name", hint=diagnostics.did_you_mean(
                    code, platform.departments, otherwise="name a department code"))
    for j, name in enumerate(audience.pools):
        if name not in platform.pools:
            yield engine.tenant_finding(
                platform, tenant, (*at, "pools", j),
                f"pool {name!r} is not in platform.yaml: the audience admits nobody by that "
                "name", hint=diagnostics.did_you_mean(
                    name, platform.pools, otherwise=f"pools: {', '.join(platform.pools)}"))


@engine.policy(
    "sharing.catalogue", set=SET,
    title="The catalogue of shared services names each kind once, and services that exist",
    rationale=_SILOS + "spec.sharedServices in platform.yaml is the list of systems the city "
    "runs once for every department; sharing.duplicate-system measures departments against "
    "it. An entry naming a tenant or service that does not exist, or a kind twice, sends "
    "departments to a system that is not there.")
def shared_services(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    first: dict[str, int] = {}
    for k, entry in enumerate(platform.spec.spec.shared_services):
        at = ("spec", "sharedServices", k)
        earlier = first.setdefault(entry.kind, k)
        if earlier != k:
            yield engine.platform_finding(
                platform, (*at, "kind"), f"kind {entry.kind!r} is listed twice (also "
                f"spec.sharedServices[{earlier}])",
                hint="the city runs one system of each kind: keep one entry")
        provider = platform.tenants.get(entry.tenant)
        if provider is None:
            yield engine.platform_finding(
                platform, (*at, "tenant"), f"tenant {entry.tenant!r} does not exist",
                hint=diagnostics.did_you_mean(entry.tenant, platform.tenants,
                                              otherwise="name the tenant that runs it"))
            continue
        service = next((s for s in provider.spec.services if s.name == entry.service), None)
        if service is None:
            names = [s.name for s in provider.spec.services]
            yield engine.platform_finding(
                platform, (*at, "service"),
                f"tenant {provider.name} publishes no service {entry.service!r}",
                hint=diagnostics.did_you_mean(entry.service, names, otherwise=(
                    f"department {provider.department} must publish it in "
                    f"{platform.tenant_files[provider.name]}")))
        elif service.kind != entry.kind:
            where = _at(platform, provider, "spec", "services",
                        _service_index(provider, service), "kind")
            yield engine.platform_finding(
                platform, (*at, "kind"),
                f"service {service.name!r} of {provider.name} is of kind {service.kind!r}, "
                f"not {entry.kind!r}", hint=f"list it under kind {service.kind!r}, or "
                f"department {provider.department} corrects the service's kind ({where})")


# ---- duplicates -----------------------------------------------------------------------


@engine.policy(
    "sharing.duplicate-system", set=SET, severity=diagnostics.Severity.WARNING,
    title="Report systems of a kind the city's catalogue already provides",
    rationale=_SILOS + "A department that publishes its own identity, data-exchange or "
    "office system where the city runs one for everyone is building the duplicate the "
    "unified cloud exists to end: the application-level twin of a private network of a "
    "purpose a shared network serves (network.purpose-shared). It is a warning: moving a "
    "running system takes a plan; 'citycloud services report' lists them with their quota.")
def duplicate_system(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    entries = {id(entry): k for k, entry in enumerate(platform.spec.spec.shared_services)}
    consumed: dict[str, set[tuple[str, str]]] = collections.defaultdict(set)
    for flow in ctx.derived(_flows):
        consumed[flow.consumer.name].add((flow.request.tenant, flow.request.service))
    for tenant, k, service, entry in sharing.duplicates(platform):
        file, line = platform.where(tenants.platform.PLATFORM_FILE, "spec", "sharedServices",
                                    entries[id(entry)])
        name = entry.display_name or f"the shared {entry.kind} service"
        target = f"{entry.tenant}/{entry.service}"
        hint = (f"retire this system: the tenant already asks for {target} in spec.consumes"
                if (entry.tenant, entry.service) in consumed[tenant.name] else
                f"consume {target} instead (spec.consumes: [{{tenant: {entry.tenant}, "
                f"service: {entry.service}}}]) and retire this system; see 'citycloud "
                "services report'")
        yield engine.tenant_finding(
            platform, tenant, ("spec", "services", k, "kind"),
            f"service {service.name!r} is a system of kind {entry.kind!r}, which the city "
            f"already provides: {name} ({target}, {file}:{line})", hint=hint)
