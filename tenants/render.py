"""A tenant -> the Kubernetes objects that make it. The one truth.

Plan, apply (the Pulumi stacks), manifest export and the tests all call
`render_tenant`; nothing else decides what a tenant is. Functions here are
pure: plain data in, plain dicts (Kubernetes manifests) out, in a stable order.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from tenants import models, quantities
from tenants import platform as platform_

Manifest = dict[str, Any]

MANAGED_BY = "citycloud"
LABEL_TENANT = "citycloud.io/tenant"
LABEL_DEPARTMENT = "citycloud.io/department"
LABEL_POOL = "citycloud.io/pool"
LABEL_CLASSIFICATION = "citycloud.io/classification"
OWNER_BINDING = "citycloud-tenant-admins"
OWNER_CLUSTER_ROLE = "admin"  # Kubernetes' built-in namespace admin role

# Containers that state no resources get these; quota on requests would refuse them otherwise.
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi"}
_MEBIBYTE = 2**20


def pod_security_level(classification: int) -> str:
    """MLPS (等保) level 3 and up runs the Pod Security 'restricted' profile."""
    return "restricted" if classification >= 3 else "baseline"


def standard_labels(tenant: models.Tenant) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        LABEL_DEPARTMENT: tenant.department,
        LABEL_TENANT: tenant.name,
        LABEL_POOL: tenant.spec.pool,
        LABEL_CLASSIFICATION: str(tenant.spec.classification),
    }


def render_tenant(tenant: models.Tenant, *, platform: platform_.Platform) -> list[Manifest]:
    """Every object of one tenant: per namespace, the namespace and what guards it."""
    objects: list[Manifest] = []
    for namespace in tenant.namespace_names():
        objects.append(namespace_object(tenant, namespace=namespace, platform=platform))
        objects.append(resource_quota(tenant, namespace=namespace))
        objects.append(limit_range(tenant, namespace=namespace))
        objects.extend(network_policies(tenant, namespace=namespace, platform=platform))
        objects.append(owner_binding(tenant, namespace=namespace))
    return objects


def render_platform(platform: platform_.Platform) -> list[Manifest]:
    return [obj for t in platform.tenants.values() for obj in render_tenant(t, platform=platform)]


def key(manifest: Manifest) -> tuple[str, str, str, str]:
    """What identifies an object in a cluster: group/version, kind, namespace, name."""
    metadata = manifest["metadata"]
    return (manifest["apiVersion"], manifest["kind"], metadata.get("namespace", ""),
            metadata["name"])


def _metadata(tenant: models.Tenant, name: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = standard_labels(tenant)
    return metadata


def namespace_object(tenant: models.Tenant, *, namespace: str,
                     platform: platform_.Platform) -> Manifest:
    metadata = _metadata(tenant, namespace)
    level = pod_security_level(tenant.spec.classification)
    metadata["labels"] |= {
        f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")
    }
    department = platform.departments.get(tenant.department)
    metadata["annotations"] = {
        "citycloud.io/owners": ",".join(tenant.spec.owners),
        "citycloud.io/department-name": department.name if department else "",
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def namespace_share(tenant: models.Tenant) -> dict[str, str]:
    """The tenant's quota split evenly over its namespaces, rounded down.

    Kubernetes quotas are per namespace; splitting keeps the sum within what the
    department was granted (cpu to the millicore, memory and storage to the MiB).
    """
    count = len(tenant.spec.namespaces)
    quota = tenant.spec.quota
    cpu = Fraction(math.floor(quota.cpu.value * 1000 / count), 1000)
    memory = math.floor(quota.memory.value / count / _MEBIBYTE) * _MEBIBYTE
    storage = math.floor(quota.storage.value / count / _MEBIBYTE) * _MEBIBYTE
    share = {
        "cpu": quantities.format_cpu(cpu),
        "memory": quantities.format_plain(Fraction(memory)),
        "storage": quantities.format_plain(Fraction(storage)),
    }
    if quota.pods is not None:
        share["pods"] = str(max(1, quota.pods // count))
    return share


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
                     platform: platform_.Platform) -> list[Manifest]:
    """Default deny, then allow DNS, the tenant's own namespaces and its granted networks."""
    same_tenant = [{"namespaceSelector": {"matchLabels": {LABEL_TENANT: tenant.name}}}]
    policies = [
        _network_policy(tenant, namespace, "default-deny", {}),
        _network_policy(tenant, namespace, "allow-dns", {"egress": [{
            "to": [{
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }]}),
        _network_policy(tenant, namespace, "allow-same-tenant",
                        {"ingress": [{"from": same_tenant}], "egress": [{"to": same_tenant}]}),
    ]
    cidrs = [str(c) for name in tenant.spec.egress for c in platform.shared_networks[name].cidrs]
    cidrs += [str(network.cidr) for network in tenant.spec.networks]
    if cidrs:
        policies.append(_network_policy(tenant, namespace, "allow-granted-networks", {
            "egress": [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]}],
        }))
    return policies


def _network_policy(tenant: models.Tenant, namespace: str, name: str,
                    rules: dict[str, Any]) -> Manifest:
    types = [t for t in ("Ingress", "Egress") if t.lower() in rules] or ["Ingress", "Egress"]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(tenant, f"citycloud-{name}", namespace),
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
