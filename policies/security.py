"""The security set: what 等保 2.0 (MLPS) asks of a tenant on a shared government cloud.

The source documents promise departments a cloud "under shared security
policies"; these are those policies, checked on the registry before anything
is applied. Some check the department's request (owners, networks, level vs.
pool); others check what tenants.render makes of it, so that a change to the
renderer cannot quietly weaken isolation for every tenant at once. The pool
guardrails (tenants.guardrails) hold the same lines inside the cluster.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator

from citycloud import tenants
from citycloud.policies import engine
from citycloud.tenants import fields, models, render

Diagnostic = engine.Diagnostic

# Address space a tenant's allow rules may reach: private, shared or carrier-grade NAT
# ranges. Public addresses are reached only through the platform's internet zone.
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))
_PSS_ORDER = ("privileged", "baseline", "restricted")


@engine.policy(
    "security.mlps-pool", set="security",
    title="A tenant's MLPS level is one its pool is built for; level 4 needs a dedicated pool",
    rationale="等保 2.0 grades systems 1-4 and each pool is assessed (测评) up to a level, "
    "its maxClassification. A level-3 system on a pool assessed for level 2 is out of "
    "compliance the day it lands. Level 4 systems need a pool of their own, shared with no "
    "other department.")
def mlps_pool(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    departments_by_pool: dict[str, set[str]] = {}
    for tenant in platform.tenants.values():
        departments_by_pool.setdefault(tenant.spec.pool, set()).add(tenant.department)
    for tenant in platform.tenants.values():
        pool = platform.pools[tenant.spec.pool]
        level = tenant.spec.classification
        if level > pool.max_classification:
            yield engine.tenant_finding(
                platform, tenant, ("spec", "classification"),
                f"MLPS level {level} is above what pool {pool.name!r} is assessed for "
                f"(maxClassification {pool.max_classification})",
                hint=_pool_hint(platform, level))
        if level == 4 and not pool.dedicated:
            yield engine.tenant_finding(
                platform, tenant, ("spec", "pool"),
                f"MLPS level 4 needs a dedicated pool; {pool.name!r} is shared",
                hint="put the tenant on a pool with 'dedicated: true'")
        others = departments_by_pool[pool.name] - {tenant.department}
        if pool.dedicated and others:
            yield engine.tenant_finding(
                platform, tenant, ("spec", "pool"),
                f"pool {pool.name!r} is dedicated, yet it also holds tenants of "
                f"{', '.join(sorted(others))}", hint="a dedicated pool serves one department")


def _pool_hint(platform: tenants.Platform, level: int) -> str:
    fit = [p.name for p in platform.pools.values() if p.max_classification >= level]
    return f"move it to {' or '.join(fit)}" if fit else f"no pool is assessed for level {level}"


@engine.policy(
    "security.pod-security", set="security",
    title="Namespaces enforce Pod Security 'restricted' from MLPS level 3, 'baseline' below",
    rationale="MLPS level 3 asks that privileged operations are controlled; on Kubernetes the "
    "Pod Security Standards 'restricted' profile is how a namespace refuses root, host access "
    "and privilege escalation. This policy checks the rendered namespaces, so that no change "
    "to the renderer lowers the profile of a level-3 tenant.",
    settings=("security.restrictedFromLevel",), guardrails=("no-privileged",))
def pod_security(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    restricted_from = engine.settings(platform).security.restricted_from_level
    for tenant in platform.tenants.values():
        want = render.pod_security_level(tenant.spec.classification,
                                         restricted_from=restricted_from)
        for namespace in _namespaces(ctx, tenant):
            labels = namespace["metadata"].get("labels", {})
            got = labels.get("pod-security.kubernetes.io/enforce", "privileged")
            strength = _PSS_ORDER.index(got) if got in _PSS_ORDER else -1
            if strength < _PSS_ORDER.index(want):
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "classification"),
                    f"namespace {namespace['metadata']['name']} would enforce Pod Security "
                    f"{got!r}; MLPS level {tenant.spec.classification} needs {want!r}",
                    hint="a defect of citycloud's renderer (tenants/render.py "
                    "namespace_object), not of this file: report it")


@engine.policy(
    "security.default-deny", set="security",
    title="Every namespace denies all traffic by default and allows only private networks",
    rationale="MLPS level 3 for a cloud tenant: tenants' virtual networks are isolated from "
    "each other. Each namespace starts from a deny-all NetworkPolicy; the explicit allows "
    "reach DNS, the tenant's own namespaces and networks the registry grants. An allow rule "
    "to a public address range would be a private internet line; the internet is reached "
    "through the platform's internet zone only. In the cluster, the tenant's owners cannot "
    "delete or change these policies (Kubernetes' admin role they hold could), their own "
    "policies allow only the tenant's pods, and no pod or service steps around them (host "
    "network, attachments, NodePorts and load balancers, and network volumes such as nfs or "
    "iscsi, which the node mounts by address outside every NetworkPolicy).",
    guardrails=("managed-objects", "tenant-network-policies", "no-host-network",
                "no-exposed-services", "no-network-attachments", "volume-types"))
def default_deny(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for tenant in platform.tenants.values():
        objects = ctx.rendered(tenant)
        denied = {o["metadata"]["namespace"] for o in objects if _is_default_deny(o)}
        for namespace in tenant.namespace_names():
            if namespace not in denied:
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "namespaces"),
                    f"namespace {namespace} would have no default-deny NetworkPolicy",
                    hint="tenants.render.network_policies must start from default-deny")
        for cidr in sorted(_allowed_blocks(objects)):
            if not _is_private(cidr):
                network = ipaddress.ip_network(cidr)
                yield engine.tenant_finding(
                    platform, tenant, _source_of(platform, tenant, network),
                    f"would allow traffic to {cidr}, which is public address space",
                    hint="reach the internet through the shared internet zone; private "
                    "networks use 10/8, 172.16/12, 192.168/16 or fc00::/7")


def _is_default_deny(manifest: render.Manifest) -> bool:
    spec = manifest.get("spec", {})
    return (manifest["kind"] == "NetworkPolicy" and spec.get("podSelector") == {}
            and set(spec.get("policyTypes", ())) == {"Ingress", "Egress"}
            and not spec.get("ingress") and not spec.get("egress"))


def _allowed_blocks(objects: list[render.Manifest]) -> set[str]:
    blocks: set[str] = set()
    for manifest in objects:
        if manifest["kind"] != "NetworkPolicy":
            continue
        for direction, peers in (("egress", "to"), ("ingress", "from")):
            for rule in manifest["spec"].get(direction, ()):
                blocks.update(p["ipBlock"]["cidr"] for p in rule.get(peers, ()) if "ipBlock" in p)
    return blocks


@functools.lru_cache(maxsize=65536)
def _is_private(cidr: str) -> bool:
    """Inside one of PRIVATE_RANGES; cached, as thousands of tenants name the same networks."""
    network = ipaddress.ip_network(cidr)
    return any(_within(network, private) for private in PRIVATE_RANGES)


def _within(network: fields.Network, outer: fields.Network) -> bool:
    return network.version == outer.version and network.subnet_of(outer)  # type: ignore[arg-type]


def _source_of(platform: tenants.Platform, tenant: models.Tenant,
               network: fields.Network) -> tuple[str | int, ...]:
    for index, own in enumerate(tenant.spec.networks):
        if own.cidr == network:
            return ("spec", "networks", index, "cidr")
    for index, name in enumerate(tenant.spec.egress):
        if network in platform.shared_networks[name].cidrs:
            return ("spec", "egress", index)
    return ("spec",)


@engine.policy(
    "security.cross-department-rights", set="security",
    title="A tenant's owners are owner groups of its own department",
    rationale="One department never gets rights in another department's namespaces: the "
    "owner RoleBinding makes every listed group an admin of the tenant. departments.yaml says "
    "which groups speak for a department; a group of another department, or one nobody "
    "declared, would hand a department's data to someone outside it. In the cluster, no "
    "tenant binds others' groups or accounts, nor serves another tenant's host names on "
    "the shared ingress (spec.hosts: a host belongs to one tenant only).",
    guardrails=("tenant-rolebindings", "tenant-ingress-hosts"))
def cross_department_rights(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    owner_of = {group: d.code for d in platform.departments.values() for group in d.owners}
    for tenant in platform.tenants.values():
        department = platform.departments.get(tenant.department)
        allowed = set(department.owners) if department else set()
        for index, group in enumerate(tenant.spec.owners):
            if group in allowed:
                continue
            other = owner_of.get(group)
            message = (f"group {group!r} owns department {other!r}, not {tenant.department!r}"
                       if other else f"group {group!r} is not an owner group of any department")
            yield engine.tenant_finding(
                platform, tenant, ("spec", "owners", index), message,
                hint=f"use one of {', '.join(sorted(allowed))}, or add the group to "
                f"{tenant.department}'s owners in departments.yaml")
        for manifest in ctx.rendered(tenant):
            if manifest["kind"] != "RoleBinding":
                continue
            for subject in manifest.get("subjects", ()):
                if subject.get("kind") != "Group" or subject.get("name") not in tenant.spec.owners:
                    yield engine.tenant_finding(
                        platform, tenant, ("spec", "owners"),
                        f"RoleBinding {manifest['metadata']['name']} in "
                        f"{manifest['metadata']['namespace']} would bind {subject.get('kind')} "
                        f"{subject.get('name')!r}, which is not an owner of the tenant")


@engine.policy(
    "security.image-registries", set="security",
    title="Every pool with tenants approves its own image registries, none of them public",
    rationale="Images are code that runs inside the government network. Each pool names the "
    "registries it trusts (scanned, signed, mirrored in the city); the pool guardrail refuses "
    "any other image. A pool with none approved cannot run anything, and a public hub makes "
    "the approval meaningless.",
    settings=("security.publicRegistries",), guardrails=("approved-images",))
def image_registries(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    public = engine.settings(platform).security.public_registries
    used = {t.spec.pool for t in platform.tenants.values()}
    for index, pool in enumerate(platform.spec.spec.pools):
        if pool.name not in used:
            continue
        if not pool.image_registries:
            yield engine.platform_finding(
                platform, ("spec", "pools", index, "name"),
                f"pool {pool.name!r} holds tenants but approves no image registry",
                hint="add imageRegistries: [registry.example.gov.cn] to the pool")
        for number, registry in enumerate(pool.image_registries):
            host = registry.split("/", 1)[0]
            problem = ""
            if "://" in registry or "*" in registry or not host or "." not in host:
                problem = "is not a registry host such as registry.gov.example.cn[/path]"
            elif host in public:
                problem = "is a public registry outside the city's control"
            if problem:
                yield engine.platform_finding(
                    platform, ("spec", "pools", index, "imageRegistries", number),
                    f"image registry {registry!r} of pool {pool.name!r} {problem}",
                    hint="mirror the images you need into the city's registry")


@engine.policy(
    "security.encrypted-storage", set="security",
    title="Pools that hold MLPS level 3+ tenants offer storage classes encrypted at rest",
    rationale="MLPS level 3 asks that important data is stored encrypted (存储保密性). The pool "
    "guardrail lets volumes of level-3 namespaces use only the storage classes named in "
    "policies.security.encryptedStorageClasses, so each such pool must name at least one.",
    settings=("security.encryptedStorageClasses", "security.restrictedFromLevel"),
    guardrails=("encrypted-volumes", "no-inline-volumes"))
def encrypted_storage(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    config = engine.settings(platform).security
    for index, pool in enumerate(platform.spec.spec.pools):
        high = [t.name for t in platform.tenants_in(pool.name)
                if t.spec.classification >= config.restricted_from_level]
        if high and not config.encrypted_storage_classes.get(pool.name):
            yield engine.platform_finding(
                platform, ("spec", "pools", index, "name"),
                f"pool {pool.name!r} holds {len(high)} tenant(s) of MLPS level "
                f"{config.restricted_from_level}+ ({', '.join(high[:3])}"
                f"{', ...' if len(high) > 3 else ''}) but names no encrypted storage class",
                hint=f"set policies.security.encryptedStorageClasses.{pool.name}: [<class>]")


@engine.policy(
    "security.audit-annotations", set="security",
    title="Namespaces name their owners and department, and record Pod Security violations",
    rationale="Privileged operations are audited (MLPS level 3); Guiyang's 'data iron cage' "
    "asks that every use of power is traceable. Each namespace carries who owns it and which "
    "department answers for it, and audits and warns at its Pod Security level, so an audit "
    "log entry leads to a responsible department without a lookup elsewhere.")
def audit_annotations(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for tenant in platform.tenants.values():
        for namespace in _namespaces(ctx, tenant):
            metadata = namespace["metadata"]
            annotations = metadata.get("annotations", {})
            labels = metadata.get("labels", {})
            missing = [key for key in (render.ANNOTATION_OWNERS, render.ANNOTATION_NAMESPACES,
                                       "citycloud.io/department-name")
                       if not annotations.get(key)]
            enforce = labels.get("pod-security.kubernetes.io/enforce")
            missing += [f"pod-security.kubernetes.io/{mode}={enforce}" for mode in ("audit", "warn")
                        if labels.get(f"pod-security.kubernetes.io/{mode}") != enforce]
            if missing:
                yield engine.tenant_finding(
                    platform, tenant, ("metadata", "name"),
                    f"namespace {metadata['name']} would lack {', '.join(missing)}",
                    hint="tenants.render.namespace_object must set them")


@engine.policy(
    "security.management-network", set="security",
    title="No tenant network reaches the platform's management networks or its nodes",
    rationale="MLPS level 3 for a cloud: management traffic is separate from tenant traffic. "
    "A tenant network or shared network overlapping a management network would let business "
    "systems reach the consoles, BMCs and API endpoints that run the platform; one holding a "
    "pool node's address would let them reach its kubelet and SSH. Nodes listed by IP "
    "address count as management endpoints, whether or not a management network covers them.",
    settings=("security.managementNetworks",))
def management_network(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    management = _management_endpoints(platform)
    if not management:
        return
    for tenant in platform.tenants.values():
        reached: list[tuple[tuple[str | int, ...], fields.Network]] = [
            (("spec", "networks", i, "cidr"), n.cidr) for i, n in enumerate(tenant.spec.networks)]
        reached += [(("spec", "egress", i), cidr) for i, name in enumerate(tenant.spec.egress)
                    for cidr in platform.shared_networks[name].cidrs]
        for path, cidr in reached:
            hit = [what for what, network in management
                   if cidr.version == network.version and cidr.overlaps(network)]
            if hit:
                more = f" and {len(hit) - 3} more" if len(hit) > 3 else ""
                yield engine.tenant_finding(
                    platform, tenant, path, f"{cidr} overlaps {', '.join(hit[:3])}{more}",
                    hint="management traffic stays apart: pick another range, or move the "
                    "platform's nodes and management networks out of this one")


def _management_endpoints(platform: tenants.Platform) -> list[tuple[str, fields.Network]]:
    """Declared management networks, and every pool node given by IP address (as a /32 or
    /128) that none of them covers; a node named by host name is covered only by a
    management network."""
    declared = engine.settings(platform).security.management_networks
    found = [(f"management network {n}", n) for n in declared]
    for pool in platform.pools:
        for node in platform.pool_nodes(pool):
            try:
                address = ipaddress.ip_network(node.address)
            except ValueError:
                continue
            if not any(_within(address, n) for n in declared):
                found.append((f"node {node.name} ({node.address}) of pool {pool}", address))
    return found


def _namespaces(ctx: engine.Context, tenant: models.Tenant) -> list[render.Manifest]:
    return [o for o in ctx.rendered(tenant) if o["kind"] == "Namespace"]
