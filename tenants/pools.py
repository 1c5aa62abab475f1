"""A resource pool -> the pool-wide Kubernetes objects. Pure, like render.py.

Tenant objects come from tenants.render; these are the objects that exist once
per pool, before any tenant: the platform's own namespace and RBAC in the pool,
PriorityClasses, the pool's contract (placement, architectures, storage
classes, image registries, shared networks) published as a ConfigMap for node
preparation, the exporter and people, and the pool's admission guardrails
(tenants.guardrails). Every name carries the pool's name, because three pools
may share one cluster and must never own the same object. Everything comes from
the registry: the pool's storageClasses and adminGroups are in platform.yaml.
"""

from __future__ import annotations

import json
from typing import Any

from citycloud.tenants import guardrails, models, render
from citycloud.tenants.platform import Platform

ROLE_LABEL = "citycloud.io/role"
READER_VERBS = ["get", "list", "watch"]
# Priority classes of a pool: (suffix, for tenants, value, preemption policy, description).
# Tenant classes are named as the pool guardrail admits them (tenant_priority_prefix).
PRIORITIES = (
    ("platform", False, 1_000_000, "PreemptLowerPriority",
     "the platform's own agents in the pool"),
    ("critical", True, 10_000, "PreemptLowerPriority", "tenant services that must keep running"),
    ("standard", True, 1_000, "PreemptLowerPriority", "tenant services (the usual choice)"),
    ("batch", True, 100, "Never", "tenant batch jobs; they never preempt anything"),
)


def platform_namespace(pool: models.Pool) -> str:
    return f"citycloud-pool-{pool.name}"


def labels(pool: models.Pool) -> dict[str, str]:
    """Pool objects' labels. Not `citycloud.io/pool`: the guardrails select tenant namespaces
    by that label (with managed-by), and the platform's own namespace is no tenant's."""
    return {render.LABEL_MANAGED_BY: render.MANAGED_BY, render.LABEL_PLATFORM_POOL: pool.name,
            ROLE_LABEL: "platform"}


def _metadata(pool: models.Pool, name: str, namespace: str | None = None) -> dict[str, Any]:
    return render.object_metadata(name, namespace=namespace, labels=labels(pool))


def render_pool(pool: models.Pool, *, platform: Platform) -> list[render.Manifest]:
    """Every pool-wide object of one pool, in a stable order (namespace first)."""
    return [
        namespace_object(pool),
        *priority_classes(pool),
        *platform_rbac(pool),
        contract(pool, platform=platform),
        *guardrails.render_pool_guardrails(pool, platform=platform),
    ]


def namespace_object(pool: models.Pool) -> render.Manifest:
    metadata = _metadata(pool, platform_namespace(pool))
    metadata["labels"] |= {f"pod-security.kubernetes.io/{mode}": "restricted"
                           for mode in ("enforce", "audit", "warn")}
    metadata["annotations"] = {"citycloud.io/pool-display-name": pool.display_name}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def priority_class_name(pool: models.Pool, suffix: str, *, tenant: bool) -> str:
    if tenant:
        return guardrails.tenant_priority_prefix(pool) + suffix
    return f"citycloud-{pool.name}-{suffix}"


def priority_classes(pool: models.Pool) -> list[render.Manifest]:
    return [{
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": _metadata(pool, priority_class_name(pool, suffix, tenant=tenant)),
        "value": value,
        "globalDefault": False,  # one default per cluster; three pools share it
        "preemptionPolicy": preemption,
        "description": f"{pool.name} pool: {description}",
    } for suffix, tenant, value, preemption, description in PRIORITIES]


def platform_rbac(pool: models.Pool) -> list[render.Manifest]:
    """The platform's agent account (read-only, cluster-wide) and its admins' namespace rights."""
    namespace = platform_namespace(pool)
    reader = f"citycloud:{pool.name}:reader"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": _metadata(pool, "citycloud-agent", namespace)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": _metadata(pool, reader),
         "rules": [
             {"apiGroups": [""], "resources": [
                 "namespaces", "resourcequotas", "limitranges", "persistentvolumeclaims",
                 "pods", "services", "nodes"], "verbs": READER_VERBS},
             {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
              "verbs": READER_VERBS},
             {"apiGroups": ["k8s.cni.cncf.io"], "resources": ["network-attachment-definitions"],
              "verbs": READER_VERBS},
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": _metadata(pool, reader),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": reader},
         "subjects": [{"kind": "ServiceAccount", "name": "citycloud-agent",
                       "namespace": namespace}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": _metadata(pool, "citycloud-platform-admins", namespace),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": render.OWNER_CLUSTER_ROLE},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
                      for group in pool.admin_groups]},
    ]


def contract(pool: models.Pool, *, platform: Platform) -> render.Manifest:
    """What the pool promises, for node preparation, the exporter and people to read."""
    placement = pool.placement
    taint = placement.taint.model_dump(mode="json") if placement.taint else None
    shared = {network.name: {"cidrs": [str(c) for c in network.cidrs],
                             "purposes": list(network.purposes)}
              for network in platform.shared_networks.values()}
    data = {
        "pool": pool.name,
        "kind": pool.kind.value,
        "nodeSelector": _json(dict(placement.node_selector)),
        "taint": _json(taint),
        "architectures": ",".join(a.value for a in placement.architectures),
        "maxClassification": str(pool.max_classification),
        "imageRegistries": ",".join(pool.image_registries),
        "storageClasses": _json([ref.model_dump(mode="json") for ref in pool.storage_classes]),
        "defaultStorageClass": next((r.name for r in pool.storage_classes if r.default), ""),
        "priorityClasses": ",".join(m["metadata"]["name"] for m in priority_classes(pool)),
        "sharedNetworks": _json(shared),
    }
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(pool, "citycloud-pool", platform_namespace(pool)),
            "data": data}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
