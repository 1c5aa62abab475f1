"""A tenant -> the Kubernetes objects that make it. The one truth.

Plan, apply (the Pulumi stacks), manifest export and the tests all call
`render_tenant`; nothing else decides what a tenant is. Functions here are
pure: plain data in, plain dicts (Kubernetes manifests) out, in a stable order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from citycloud.tenants import models, quantities, sharing
from citycloud.tenants.platform import IMPLICIT_CLUSTER, Platform

Manifest = dict[str, Any]

MANAGED_BY = "citycloud"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_TENANT = "citycloud.io/tenant"
LABEL_DEPARTMENT = "citycloud.io/department"
LABEL_POOL = "citycloud.io/pool"
LABEL_CLASSIFICATION = "citycloud.io/classification"
# On a pool's own platform namespace (stacks.pools), where its ingress controller and
# monitoring agents run: the one place outside the tenant that may reach tenant pods.
LABEL_PLATFORM_POOL = "citycloud.io/platform-pool"
# On each namespace: who owns the tenant, and all its namespaces, so the pool guardrails
# (tenants.guardrails) can tell the tenant's own principals from everyone else's.
ANNOTATION_OWNERS = "citycloud.io/owners"
ANNOTATION_NAMESPACES = "citycloud.io/tenant-namespaces"
ANNOTATION_HOSTS = "citycloud.io/hosts"  # only where the tenant registered host names
# On the NetworkPolicies of a shared-service flow (both sides): which grant opened it, so
# people (kubectl -l) and the exporter find every door between two tenants.
LABEL_SHARE_PROVIDER = "citycloud.io/share-provider"
LABEL_SHARE_SERVICE = "citycloud.io/share-service"
LABEL_SHARE_CONSUMER = "citycloud.io/share-consumer"
ANNOTATION_SHARE_KIND = "citycloud.io/share-kind"
ANNOTATION_SHARE_GRANT = "citycloud.io/share-grant"  # "<consumer> -> <provider>/<service>"
LABEL_NAMESPACE_NAME = "kubernetes.io/metadata.name"  # set by the API server, immutable
OWNER_BINDING = "citycloud-tenant-admins"
OWNER_CLUSTER_ROLE = "admin"  # Kubernetes' built-in namespace admin role
NODE_SELECTOR_ANNOTATION = "scheduler.alpha.kubernetes.io/node-selector"
DEFAULT_TOLERATIONS_ANNOTATION = "scheduler.alpha.kubernetes.io/defaultTolerations"

# Containers that state no resources get these; quota on requests would refuse them otherwise.
# ephemeral-storage too: a container without a limit could fill its node's disk (logs,
# emptyDir, writable layers) and get other departments' pods on that node evicted.
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "256Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "4Gi"}
_MEBIBYTE = 2**20


def pod_security_level(classification: int, *, restricted_from: int) -> str:
    """The Pod Security profile of an MLPS (等保) level: 'restricted' from the registry's
    policies.security.restrictedFromLevel (3 unless set), 'baseline' below it."""
    return "restricted" if classification >= restricted_from else "baseline"


def standard_labels(tenant: models.Tenant) -> dict[str, str]:
    return {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_DEPARTMENT: tenant.department,
        LABEL_TENANT: tenant.name,
        LABEL_POOL: tenant.spec.pool,
        LABEL_CLASSIFICATION: str(tenant.spec.classification),
    }


def render_tenant(tenant: models.Tenant, *, platform: Platform,
                  cluster: str = IMPLICIT_CLUSTER) -> list[Manifest]:
    """Every object of one tenant on one of its clusters: per namespace, the namespace and
    what guards it (a disaster-recovery tenant has the same on each of its two)."""
    objects: list[Manifest] = []
    shared = shared_service_policies(tenant, platform=platform, cluster=cluster)
    for namespace in tenant.namespace_names():
        objects.append(namespace_object(tenant, namespace=namespace, platform=platform))
        objects.append(resource_quota(tenant, namespace=namespace))
        objects.append(limit_range(tenant, namespace=namespace))
        objects.extend(network_policies(tenant, namespace=namespace, platform=platform))
        objects.extend(shared.get(namespace, ()))
        objects.append(owner_binding(tenant, namespace=namespace))
    return objects


def key(manifest: Manifest) -> tuple[str, str, str, str]:
    """What identifies an object in a cluster: group/version, kind, namespace, name."""
    metadata = manifest["metadata"]
    return (manifest["apiVersion"], manifest["kind"], metadata.get("namespace", ""),
            metadata["name"])


def object_metadata(name: str, *, namespace: str | None,
                    labels: dict[str, str]) -> dict[str, Any]:
    """The metadata of an object citycloud renders (a tenant's or a pool's)."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = labels
    return metadata


def _metadata(tenant: models.Tenant, name: str, namespace: str | None = None) -> dict[str, Any]:
    return object_metadata(name, namespace=namespace, labels=standard_labels(tenant))


def namespace_object(tenant: models.Tenant, *, namespace: str,
                     platform: Platform) -> Manifest:
    metadata = _metadata(tenant, namespace)
    level = pod_security_level(
        tenant.spec.classification,
        restricted_from=platform.spec.spec.policies.security.restricted_from_level)
    metadata["labels"] |= {
        f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")
    }
    department = platform.departments.get(tenant.department)
    metadata["annotations"] = {
        ANNOTATION_OWNERS: ",".join(tenant.spec.owners),
        ANNOTATION_NAMESPACES: ",".join(tenant.namespace_names()),
        "citycloud.io/department-name": department.name if department else "",
    }
    if tenant.spec.hosts:
        metadata["annotations"][ANNOTATION_HOSTS] = ",".join(tenant.spec.hosts)
    pool = platform.pools.get(tenant.spec.pool)
    if pool is not None:
        metadata["annotations"] |= placement_annotations(pool)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def placement_annotations(pool: models.Pool) -> dict[str, str]:
    """A pool's placement as the namespace's pod defaults (PodNodeSelector and
    PodTolerationRestriction admission plugins): a pod that states nothing lands on its
    pool's nodes. The pool guardrail (tenants.guardrails) enforces the same selector. A
    pool of several CPU architectures leaves `kubernetes.io/arch` free: images are multi-arch.
    """
    selector = dict(pool.placement.node_selector)
    if len(pool.placement.architectures) == 1:
        selector["kubernetes.io/arch"] = pool.placement.architectures[0].value
    found = {}
    if selector:
        found[NODE_SELECTOR_ANNOTATION] = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    taint = pool.placement.taint
    if taint is not None:
        found[DEFAULT_TOLERATIONS_ANNOTATION] = json.dumps([{
            "key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect,
        }], separators=(",", ":"))
    return found


def namespace_share(tenant: models.Tenant) -> dict[str, str]:
    """The tenant's quota split evenly over its namespaces, rounded down.

    Kubernetes quotas are per namespace; splitting keeps the sum within what the
    department was granted (cpu to the millicore, memory and storage to the MiB).
    """
    count = len(tenant.spec.namespaces)
    quota = tenant.spec.quota
    # Integer floor division of the exact values: a render of every tenant does this
    # thousands of times, and Fraction arithmetic was most of its cost.
    cpu = quota.cpu.value
    millicores = cpu.numerator * 1000 // (cpu.denominator * count)
    share = {
        "cpu": str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m",
        "memory": _mebibytes_each(quota.memory, count),
        "storage": _mebibytes_each(quota.storage, count),
    }
    if quota.ephemeral_storage is not None:
        share["ephemeral-storage"] = _mebibytes_each(quota.ephemeral_storage, count)
    if quota.pods is not None:
        share["pods"] = str(quota.pods // count)  # the loader refuses fewer pods than namespaces
    return share


def _mebibytes_each(amount: quantities.Quantity, count: int) -> str:
    """`amount` bytes shared by `count`, rounded down to the MiB."""
    value = amount.value
    return quantities.format_plain(
        value.numerator // (value.denominator * count * _MEBIBYTE) * _MEBIBYTE)


def resource_quota(tenant: models.Tenant, *, namespace: str) -> Manifest:
    share = namespace_share(tenant)
    hard = {
        "requests.cpu": share["cpu"],
        "limits.cpu": share["cpu"],
        "requests.memory": share["memory"],
        "limits.memory": share["memory"],
        "requests.storage": share["storage"],
        # Tenants never open node ports or cloud load balancers themselves.
        "services.nodeports": "0",
        "services.loadbalancers": "0",
    }
    if "ephemeral-storage" in share:
        hard["requests.ephemeral-storage"] = share["ephemeral-storage"]
        hard["limits.ephemeral-storage"] = share["ephemeral-storage"]
    if "pods" in share:
        hard["pods"] = share["pods"]
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _metadata(tenant, "citycloud-quota", namespace),
        "spec": {"hard": hard},
    }


def limit_range(tenant: models.Tenant, *, namespace: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _metadata(tenant, "citycloud-defaults", namespace),
        "spec": {"limits": [{
            "type": "Container",
            "default": dict(DEFAULT_LIMIT),
            "defaultRequest": dict(DEFAULT_REQUEST),
        }]},
    }


def network_policies(tenant: models.Tenant, *, namespace: str,
                     platform: Platform) -> list[Manifest]:
    """Default deny, then allow DNS, the tenant's own namespaces, its pool's platform
    namespace in (the ingress that exposes services, monitoring) and its granted networks."""
    same_tenant = [{"namespaceSelector": {"matchLabels": {LABEL_TENANT: tenant.name}}}]
    platform_pool = [{"namespaceSelector": {
        "matchLabels": {LABEL_PLATFORM_POOL: tenant.spec.pool}}}]
    policies = [
        _network_policy(tenant, namespace, "default-deny", {}),
        _network_policy(tenant, namespace, "allow-dns", {"egress": [{
            "to": [{
                "namespaceSelector": {
                    "matchLabels": {LABEL_NAMESPACE_NAME: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }]}),
        _network_policy(tenant, namespace, "allow-same-tenant",
                        {"ingress": [{"from": same_tenant}], "egress": [{"to": same_tenant}]}),
        _network_policy(tenant, namespace, "allow-platform",
                        {"ingress": [{"from": platform_pool}]}),
    ]
    cidrs = [str(c) for name in tenant.spec.egress for c in platform.shared_networks[name].cidrs]
    cidrs += [str(network.cidr) for network in tenant.spec.networks]
    if cidrs:
        policies.append(_network_policy(tenant, namespace, "allow-granted-networks", {
            "egress": [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]}],
        }))
    return policies


def shared_service_policies(tenant: models.Tenant, *, platform: Platform,
                            cluster: str = IMPLICIT_CLUSTER) -> dict[str, list[Manifest]]:
    """The NetworkPolicies of the tenant's granted shared-service flows, by namespace.

    A flow opens exactly one door from both ends: in the provider's service namespace an
    ingress from the consumer's calling namespaces, in each calling namespace an egress to
    the provider's namespace, both on the service's ports only. Only flows both files
    consent to (tenants.sharing, status granted) render; the sharing policies report the
    rest. Peers are chosen by `kubernetes.io/metadata.name`, which the API server sets and
    nobody can change, so relabelling a namespace opens nothing.

    Across clusters (the parties placed apart) a namespace cannot be named: the peer is the
    other cluster's pod network (its podCidrs), on the same ports. A consumer's copy calls
    the provider on its own cluster where there is one, else the provider's clusters.
    """
    found: dict[str, list[Manifest]] = {}
    for flow in _opened(sharing.requests_for(platform, tenant)):  # as the provider
        peers = _consumer_peers(flow, platform=platform, cluster=cluster)
        if peers:
            found.setdefault(flow.provider_namespace(), []).append(_share_in(flow, peers))
    for flow in _opened(sharing.requested_by(platform, tenant)):  # as the consumer
        peers = _provider_peers(flow, platform=platform, cluster=cluster)
        for namespace in flow.consumer_namespaces() if peers else ():
            found.setdefault(namespace, []).append(
                _share_out(flow, peers, namespace=namespace))
    return found


def _consumer_peers(flow: sharing.Flow, *, platform: Platform,
                    cluster: str) -> list[dict[str, Any]]:
    """Who calls the provider's copy on `cluster`: the consumer's namespaces where it runs
    here too, and the pod networks of its clusters that have no copy of the provider."""
    assert flow.provider is not None
    at = platform.placements(flow.consumer)
    here = platform.placements(flow.provider)
    peers = ([_namespace_peer(n) for n in flow.consumer_namespaces()] if cluster in at else [])
    if cluster in here:
        peers += _pod_networks(platform, [c for c in at if c not in here])
    return peers


def _provider_peers(flow: sharing.Flow, *, platform: Platform,
                    cluster: str) -> list[dict[str, Any]]:
    """Where the consumer's copy on `cluster` calls: the provider's namespace here, else
    the pod networks of the provider's clusters."""
    assert flow.provider is not None
    there = platform.placements(flow.provider)
    if cluster in there:
        return [_namespace_peer(flow.provider_namespace())]
    return _pod_networks(platform, there)


def _pod_networks(platform: Platform, clusters: Iterable[str]) -> list[dict[str, Any]]:
    """ipBlock peers of clusters' declared pod networks; none declared gives none (the
    sharing.cross-cluster policy says so), never an empty peer list, which would mean all."""
    return [{"ipBlock": {"cidr": str(cidr)}} for name in clusters
            for cidr in (platform.clusters[name].pod_cidrs if name in platform.clusters
                         else ())]


def _opened(flows: Iterable[sharing.Flow]) -> Iterator[sharing.Flow]:
    """The flows that open a door: granted, between two tenants, from and into their own
    namespaces, each request once (the first). The sharing policies refuse the rest
    (sharing.service-namespace, sharing.declaration), but those may be waived or switched
    off, and `plan` does not wait for them: a namespace name that is not the tenant's own
    could be another tenant's. Both sides apply the same test to the same requests in the
    same order, so they always render the same flows."""
    seen: set[tuple[str, str, str]] = set()
    for flow in flows:
        provider, service, consumer = flow.provider, flow.service, flow.consumer
        if not flow.granted or provider is None or service is None:
            continue
        grant = (consumer.name, provider.name, service.name)
        if (provider.name == consumer.name or grant in seen
                or service.namespace not in provider.spec.namespaces
                or not set(flow.request.namespaces) <= set(consumer.spec.namespaces)):
            continue
        seen.add(grant)
        yield flow


def _share_in(flow: sharing.Flow, peers: list[dict[str, Any]]) -> Manifest:
    assert flow.provider is not None and flow.service is not None
    return _share_policy(
        flow, owner=flow.provider, namespace=flow.provider_namespace(),
        name=("share-in", flow.service.name, flow.consumer.name),
        rules={"ingress": [{"from": peers, "ports": _ports(flow.service)}]})


def _share_out(flow: sharing.Flow, peers: list[dict[str, Any]], *,
               namespace: str) -> Manifest:
    assert flow.provider is not None and flow.service is not None
    return _share_policy(
        flow, owner=flow.consumer, namespace=namespace,
        name=("share-out", flow.provider.name, flow.service.name),
        rules={"egress": [{"to": peers, "ports": _ports(flow.service)}]})


def _share_policy(flow: sharing.Flow, *, owner: models.Tenant, namespace: str,
                  name: tuple[str, ...], rules: dict[str, Any]) -> Manifest:
    assert flow.provider is not None and flow.service is not None
    policy = _network_policy(owner, namespace, _bounded_name("-".join(name)), rules)
    metadata = policy["metadata"]
    metadata["labels"] |= {
        LABEL_SHARE_PROVIDER: flow.provider.name,
        LABEL_SHARE_SERVICE: flow.service.name,
        LABEL_SHARE_CONSUMER: flow.consumer.name,
    }
    metadata["annotations"] = {
        ANNOTATION_SHARE_KIND: flow.service.kind,
        ANNOTATION_SHARE_GRANT: f"{flow.consumer.name} -> {flow.provider.name}/"
                                f"{flow.service.name}",
    }
    return policy


_POLICY_PREFIX = "citycloud-"
_NAME_LIMIT = 63 - len(_POLICY_PREFIX)  # a DNS label, like every name render gives


def _bounded_name(name: str) -> str:
    """`name` if it fits, else cut with a hash of the whole: still unique and stable."""
    if len(name) <= _NAME_LIMIT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:_NAME_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


def _namespace_peer(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {LABEL_NAMESPACE_NAME: namespace}}}


def _ports(service: models.Service) -> list[dict[str, Any]]:
    return [{"protocol": port.protocol, "port": port.port} for port in service.ports]


def _network_policy(tenant: models.Tenant, namespace: str, name: str,
                    rules: dict[str, Any]) -> Manifest:
    types = [t for t in ("Ingress", "Egress") if t.lower() in rules] or ["Ingress", "Egress"]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(tenant, f"{_POLICY_PREFIX}{name}", namespace),
        "spec": {"podSelector": {}, "policyTypes": types, **rules},
    }


def owner_binding(tenant: models.Tenant, *, namespace: str) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(tenant, OWNER_BINDING, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": OWNER_CLUSTER_ROLE},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
                     for group in tenant.spec.owners],
    }
