"""Pool guardrails: the policies' lines, held inside the cluster by the API server itself.

The registry policies check what departments ask for; the guardrails check
what tenants then do with their namespaces. They are native
ValidatingAdmissionPolicy objects (CEL, admissionregistration.k8s.io/v1), so
no extra controller runs and nothing can be down when a pod is created. Each
pool gets its own set, because the facts differ per pool (registries, node
selector, architectures) and are written into the CEL as literals. Bindings
select a pool's tenant namespaces by the labels tenants.render puts on them
(policies.placement checks that every namespace is selected).

Rendered with the rest of a pool's objects (tenants.pools); the policies say, for each
rule, which guardrails hold the same line in the cluster.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from citycloud.tenants import models, render
from citycloud.tenants.platform import Platform

API_VERSION = "admissionregistration.k8s.io/v1"
LABEL_GUARDRAIL = "citycloud.io/guardrail"
Manifest = dict[str, Any]

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_MULTUS_ANNOTATIONS = ("k8s.v1.cni.cncf.io/networks", "v1.multus-cni.io/default-network")
_POD_RESOURCES = ("pods", "pods/ephemeralcontainers")


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str  # short, e.g. "no-privileged"; the objects are citycloud-<pool>-<name>
    policy: str  # the registry policy this rule holds in the cluster, for `policies explain`
    resources: tuple[tuple[str, str, tuple[str, ...]], ...]  # (group, version, resources)
    operations: tuple[str, ...]
    validations: tuple[tuple[str, str], ...]  # (CEL expression, message)
    variables: tuple[tuple[str, str], ...] = ()
    min_classification: int = 1  # bind only namespaces of this MLPS level and above


def tenant_priority_prefix(pool: models.Pool) -> str:
    """The PriorityClasses tenants of a pool may use (the pool stack creates them)."""
    return f"citycloud-{pool.name}-tenant-"


def pool_selector(pool: models.Pool) -> dict[str, str]:
    """The labels every guardrail binding of a pool selects namespaces by."""
    return {render.LABEL_POOL: pool.name, render.LABEL_MANAGED_BY: render.MANAGED_BY}


def cel(value: Any) -> str:
    """A CEL literal of a string, or a list or map of strings (JSON's syntax is CEL's here)."""
    return json.dumps(value, ensure_ascii=True)


def _each_container(test: str) -> str:
    """`test` (over container `c`) holds for every container of the pod, of any list, that
    is new or changed. An update that leaves a container as it was (a finalizer removed, a
    label added) is never refused for it, even after the pool's rules have changed:
    otherwise such pods could not even be deleted cleanly."""
    return " && ".join(
        f"(!has(object.spec.{field}) || object.spec.{field}.all(c, ({test}) || "
        f"(request.operation == 'UPDATE' && has(oldObject.spec.{field}) && "
        f"oldObject.spec.{field}.exists(o, o == c))))"
        for field in _CONTAINER_LISTS)


def _annotation_kept(key: str) -> str:
    """CEL: annotation `key` (an expression) of the object is as it was before this update."""
    old, new = "oldObject.metadata.annotations", "object.metadata.annotations"
    return (f"(request.operation == 'UPDATE' && has({old}) && {key} in {old} && "
            f"{old}[{key}] == {new}[{key}])")


def _pod_flag_off(flag: str) -> str:
    """The pod-level `flag` is off, or unchanged by this update (see _each_container)."""
    return (f"!has(object.spec.{flag}) || object.spec.{flag} == false || "
            f"(request.operation == 'UPDATE' && has(oldObject.spec.{flag}) && "
            f"oldObject.spec.{flag} == object.spec.{flag})")


def no_privileged(min_level: int) -> Rule:
    return Rule(
        "no-privileged", "security.pod-security", (("", "v1", _POD_RESOURCES),),
        ("CREATE", "UPDATE"),
        (
            (_each_container("!has(c.securityContext) || !has(c.securityContext.privileged) "
                             "|| c.securityContext.privileged == false"),
             f"MLPS level {min_level}+ namespaces run no privileged containers"),
            (_pod_flag_off("hostPID"),
             f"MLPS level {min_level}+ namespaces may not share the host's process namespace"),
            (_pod_flag_off("hostIPC"),
             f"MLPS level {min_level}+ namespaces may not share the host's IPC namespace"),
            (_pod_flag_off("hostNetwork"),
             f"MLPS level {min_level}+ namespaces may not use the host's network"),
        ),
        min_classification=min_level,
    )


def approved_images(pool: models.Pool) -> Rule:
    registries = [r.rstrip("/") for r in pool.image_registries]
    return Rule(
        "approved-images", "security.image-registries", (("", "v1", _POD_RESOURCES),),
        ("CREATE", "UPDATE"),
        ((_each_container("has(c.image) && variables.registries.exists(r, "
                          "c.image.startsWith(r + '/'))"),
          f"images of pool {pool.name} come only from its approved registries: "
          f"{', '.join(registries) or '(none approved)'}"),),
        variables=(("registries", cel(registries)),),
    )


def pool_placement(pool: models.Pool, *, platform: Platform) -> Rule:
    own = dict(sorted(pool.placement.node_selector.items()))
    foreign = sorted({(k, v) for other in platform.pools.values() if other.name != pool.name
                      for k, v in other.placement.node_selector.items() if own.get(k) != v})
    selector = ", ".join(f"{k}={v}" for k, v in own.items())
    archs = [a.value for a in pool.placement.architectures]
    node_selector = "object.spec.nodeSelector"
    return Rule(
        "pool-placement", "placement.pool-isolation", (("", "v1", ("pods",)),), ("CREATE",),
        (
            (f"variables.wanted.all(k, has({node_selector}) && k in {node_selector} && "
             f"{node_selector}[k] == variables.wanted[k])",
             f"pods of pool {pool.name} must set nodeSelector {selector}"),
            (f"!has({node_selector}) || !variables.foreign.exists(p, p[0] in {node_selector} "
             f"&& {node_selector}[p[0]] == p[1])",
             f"pods of pool {pool.name} may not select another pool's nodes"),
            (f"!has({node_selector}) || !('kubernetes.io/arch' in {node_selector}) || "
             f"{node_selector}['kubernetes.io/arch'] in variables.architectures",
             f"pool {pool.name} has only {', '.join(archs)} nodes"),
            # The platform's own priority (and the system ones) would let a tenant's pods
            # preempt other departments' pods and the platform's agents on shared nodes.
            (f"!has(object.spec.priorityClassName) || "
             f"object.spec.priorityClassName.startsWith('{tenant_priority_prefix(pool)}')",
             f"pods of pool {pool.name} may use only its tenant priority classes "
             f"({tenant_priority_prefix(pool)}*)"),
        ),
        variables=(("wanted", cel(own)), ("foreign", cel([list(p) for p in foreign])),
                   ("architectures", cel(archs))),
    )


def no_host_network() -> Rule:
    ports = ("(!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0))")
    annotations = "object.metadata.annotations"
    return Rule(
        "no-host-network", "security.default-deny", (("", "v1", ("pods",)),),
        ("CREATE", "UPDATE"),
        ((_pod_flag_off("hostNetwork"),
          "tenant pods may not use the host's network: ask for a network in the registry"),
         (_each_container(ports),
          "tenant pods may not open host ports: ask the platform for an ingress"),
         # Multus attaches a pod to any namespace's NetworkAttachmentDefinition, or swaps its
         # default network (and with it NetworkPolicy), by these annotations alone.
         (f"!has({annotations}) || variables.multus.all(k, !(k in {annotations}) || "
          f"{_annotation_kept('k')})",
          "tenant pods may not attach to other networks (Multus annotations "
          f"{', '.join(_MULTUS_ANNOTATIONS)}): networks are asked for in the registry")),
        variables=(("multus", cel(list(_MULTUS_ANNOTATIONS))),),
    )


def no_network_attachments() -> Rule:
    return Rule(
        "no-network-attachments", "security.default-deny",
        (("k8s.cni.cncf.io", "*", ("network-attachment-definitions",)),), ("CREATE", "UPDATE"),
        (("false", "tenants may not create their own network plumbing (Multus "
                   "NetworkAttachmentDefinitions): networks are asked for in the registry"),),
    )


def no_exposed_services() -> Rule:
    return Rule(
        "no-exposed-services", "security.default-deny", (("", "v1", ("services",)),),
        ("CREATE", "UPDATE"),
        (("!has(object.spec.type) || !(object.spec.type in ['NodePort', 'LoadBalancer'])",
          "tenant services may not be NodePort or LoadBalancer: the platform's ingress "
          "exposes services"),
         # An ExternalName service makes whatever proxies to it (an ingress controller outside
         # the tenant's NetworkPolicies) reach any address the tenant names.
         ("!has(object.spec.type) || object.spec.type != 'ExternalName'",
          "tenant services may not be ExternalName: addresses outside the cluster are "
          "granted in the registry (spec.egress, spec.networks)"),
         ("!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
          "tenant services may not claim externalIPs")),
    )


def _annotation_list(key: str) -> str:
    """CEL: a comma-separated annotation of the request's namespace, as a list ([] if absent)."""
    annotations = "namespaceObject.metadata.annotations"
    return (f"has({annotations}) && '{key}' in {annotations} ? "
            f"{annotations}['{key}'].split(',') : []")


# Who and what the tenant is, from its namespace (tenants.render writes it there): its owner
# groups (bound to `admin`), its namespaces (exact names, never a prefix: tenant wh-a-b's
# namespaces also start with "wh-a-") and its name. CEL variables are evaluated only when used.
_TENANT_VARIABLES = (
    ("owners", _annotation_list(render.ANNOTATION_OWNERS)),
    ("namespaces", _annotation_list(render.ANNOTATION_NAMESPACES)),
    ("tenant", f"has(namespaceObject.metadata.labels) && '{render.LABEL_TENANT}' in "
               f"namespaceObject.metadata.labels ? "
               f"namespaceObject.metadata.labels['{render.LABEL_TENANT}'] : ''"),
)
# Cluster administrators are the platform, with the pool's admin groups.
_CLUSTER_GROUPS = ("system:masters",)
# The controllers that empty a namespace when it is deleted (offboarding): by exact name, and
# only to delete, or to update what is already being deleted (the garbage collector lifts a
# foreground-deletion finalizer, as the engine's deletes set), so no other kube-system add-on
# is let past a tenant's limits.
_NAMESPACE_CLEANERS = ("system:serviceaccount:kube-system:namespace-controller",
                       "system:serviceaccount:kube-system:generic-garbage-collector",
                       "system:kube-controller-manager")


def _by_platform(platform_groups: tuple[str, ...]) -> tuple[str, str]:
    """The CEL variable `byPlatform`: the request comes from the platform, the only one that
    may change what citycloud manages. Everyone else is held to a tenant's limits: not only
    the owners, but also whatever acts for them (a GitOps controller syncing their repo)."""
    groups = cel(sorted({*_CLUSTER_GROUPS, *platform_groups}))
    return ("byPlatform", f"has(request.userInfo.groups) && request.userInfo.groups.exists("
                          f"g, g in {groups})")


# An update that leaves the spec as it was (a label, a finalizer lifted while the object is
# deleted) is not held to rules about the spec: objects admitted earlier stay updatable.
_SPEC_UNCHANGED = ("specUnchanged",
                   "request.operation == 'UPDATE' && object.spec == oldObject.spec")

_BY_NAMESPACE_CLEANER = ("byNamespaceCleaner",
                         "(request.operation == 'DELETE' || "
                         "has(oldObject.metadata.deletionTimestamp)) && "
                         f"request.userInfo.username in {cel(list(_NAMESPACE_CLEANERS))}")


def tenant_rolebindings() -> Rule:
    # `s.namespace`, not the escaped `s.__namespace__`: kube-apiserver 1.37 escapes reserved
    # property names in CRD schemas only; for a RoleBinding `has(s.__namespace__)` is always
    # false, which let a tenant bind any other tenant's service account (tests/e2e).
    subject_ok = (
        "s.kind == 'Group' ? s.name in variables.owners : "
        "(s.kind == 'ServiceAccount' && "
        "(has(s.namespace) && s.namespace != '' ? s.namespace : request.namespace)"
        " in variables.namespaces)")
    return Rule(
        "tenant-rolebindings", "security.cross-department-rights",
        (("rbac.authorization.k8s.io", "v1", ("rolebindings",)),), ("CREATE", "UPDATE"),
        ((f"!has(object.subjects) || object.subjects.all(s, {subject_ok})",
          "RoleBindings in a tenant namespace may bind only the tenant's owner groups "
          f"({render.ANNOTATION_OWNERS}) and service accounts of the tenant's own namespaces"),),
        variables=_TENANT_VARIABLES,
    )


def managed_objects(platform_groups: tuple[str, ...]) -> Rule:
    """The objects citycloud puts in a namespace (its default-deny and allow NetworkPolicies,
    the owners' RoleBinding, quota and limits) stay as rendered: Kubernetes' `admin` role,
    which owners hold, could otherwise delete the default-deny policy or the binding. Only
    the platform (and the namespace controller at offboarding) may change them."""
    labels, key = "oldObject.metadata.labels", render.LABEL_MANAGED_BY
    managed = f"has({labels}) && '{key}' in {labels} && {labels}['{key}'] == '{render.MANAGED_BY}'"
    return Rule(
        "managed-objects", "security.default-deny",
        (("networking.k8s.io", "v1", ("networkpolicies",)),
         ("rbac.authorization.k8s.io", "v1", ("rolebindings",)),
         ("", "v1", ("resourcequotas", "limitranges"))),
        ("UPDATE", "DELETE"),
        (("!variables.managed || variables.byPlatform || variables.byNamespaceCleaner",
          f"objects managed by citycloud ({key}={render.MANAGED_BY}) are changed through the "
          "registry: open a pull request against the tenant's file (citycloud applies it as "
          "system:masters or a group of the pool's adminGroups in platform.yaml)"),),
        variables=(("managed", managed), _by_platform(platform_groups), _BY_NAMESPACE_CLEANER),
    )


def tenant_network_policies(platform_groups: tuple[str, ...]) -> Rule:
    """Owners may add NetworkPolicies, which only ever allow more: each rule must name its
    peers, and they must be pods of the tenant's own namespaces. Addresses (ipBlock) and
    other tenants are granted through the registry (egress, networks, shared services:
    tenants.render opens both sides of a consented flow), where they are reviewed; an empty
    `from`/`to` would let in or out everyone."""
    labels = "p.namespaceSelector.matchLabels"
    peer_ok = (
        f"!has(p.ipBlock) && (!has(p.namespaceSelector) || (has({labels}) && "
        f"'{render.LABEL_TENANT}' in {labels} && "
        f"{labels}['{render.LABEL_TENANT}'] == variables.tenant))")
    rules_ok = " && ".join(
        f"(!has(object.spec.{direction}) || object.spec.{direction}.all(r, "
        f"has(r.{peers}) && size(r.{peers}) > 0 && r.{peers}.all(p, {peer_ok})))"
        for direction, peers in (("ingress", "from"), ("egress", "to")))
    return Rule(
        "tenant-network-policies", "security.default-deny",
        (("networking.k8s.io", "v1", ("networkpolicies",)),), ("CREATE", "UPDATE"),
        (("variables.byPlatform || variables.specUnchanged || " + rules_ok,
          "a tenant's own NetworkPolicies allow traffic only between pods of the tenant's "
          "namespaces: each rule names its peers, by podSelector or by a namespaceSelector "
          f"with {render.LABEL_TENANT}=<tenant>; addresses and other tenants are granted in "
          "the registry (spec.egress, spec.networks, spec.consumes)"),),
        variables=(*_TENANT_VARIABLES, _by_platform(platform_groups), _SPEC_UNCHANGED),
    )


def tenant_ingress_hosts(platform_groups: tuple[str, ...]) -> Rule:
    """The pool's ingress controller is shared: an Ingress for another department's host
    would take its traffic and logins, a rule without a host (or a default backend) would
    take everything unclaimed, and a configuration snippet reconfigures it for everyone."""
    spec = "object.spec"
    annotations = "object.metadata.annotations"
    return Rule(
        "tenant-ingress-hosts", "security.cross-department-rights",
        (("networking.k8s.io", "v1", ("ingresses",)),), ("CREATE", "UPDATE"),
        ((f"variables.byPlatform || variables.specUnchanged || "
          f"(!has({spec}.defaultBackend) && has({spec}.rules) && "
          f"{spec}.rules.all(r, has(r.host) && r.host in variables.hosts) && "
          f"(!has({spec}.tls) || {spec}.tls.all(t, !has(t.hosts) || "
          "t.hosts.all(h, h in variables.hosts))))",
          "Ingresses in a tenant namespace serve only the tenant's own host names, each rule "
          f"naming one ({render.ANNOTATION_HOSTS}; add them to spec.hosts in the tenant's "
          "registry file)"),
         (f"variables.byPlatform || !has({annotations}) || "
          f"!{annotations}.exists(k, k.contains('snippet') && !{_annotation_kept('k')})",
          "tenant Ingresses may not carry configuration snippets: they would configure the "
          "pool's shared ingress controller")),
        variables=(("hosts", _annotation_list(render.ANNOTATION_HOSTS)),
                   _by_platform(platform_groups), _SPEC_UNCHANGED),
    )


def pool_storage(pool: models.Pool, classes: tuple[str, ...]) -> Rule:
    """A tenant's volumes come from its own pool's storage: another pool's class would put
    its data on storage of another classification, and a named PersistentVolume (or the empty
    class that binds one) could be one another tenant released."""
    return Rule(
        "pool-storage", "placement.pool-isolation",
        (("", "v1", ("persistentvolumeclaims",)),), ("CREATE",),
        (("!has(object.spec.storageClassName) || object.spec.storageClassName in "
          "variables.classes",
          f"volumes of pool {pool.name} use its storage classes: {', '.join(classes)}"),
         ("!has(object.spec.volumeName) || object.spec.volumeName == ''",
          "tenants may not claim a PersistentVolume by name: volumes come from the pool's "
          "storage classes")),
        variables=(("classes", cel(list(classes))),),
    )


def encrypted_volumes(classes: tuple[str, ...], min_level: int) -> Rule:
    return Rule(
        "encrypted-volumes", "security.encrypted-storage",
        (("", "v1", ("persistentvolumeclaims",)),), ("CREATE",),
        (("has(object.spec.storageClassName) && object.spec.storageClassName in "
          "variables.classes",
          f"volumes of MLPS level {min_level}+ namespaces use a storage class encrypted at "
          f"rest: {', '.join(classes)}"),),
        variables=(("classes", cel(list(classes))),),
        min_classification=min_level,
    )


def no_inline_volumes(min_level: int) -> Rule:
    """Pod Security 'restricted' allows inline CSI volumes, which name a driver directly and
    skip the claims (and storage classes) that encrypted-volumes checks. Generic ephemeral
    volumes are fine: they are claims, checked like any other."""
    return Rule(
        "no-inline-volumes", "security.encrypted-storage", (("", "v1", ("pods",)),),
        ("CREATE",),
        (("!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.csi))",
          f"pods of MLPS level {min_level}+ namespaces keep data only on claims of encrypted "
          "storage classes: no inline CSI volumes (use a PersistentVolumeClaim or an "
          "ephemeral volume)"),),
        min_classification=min_level,
    )


# Pod Security 'restricted' volume types: each stays inside the pool. Everything else is
# mounted by the node itself (nfs, iscsi, fc, cephfs, rbd, flexVolume, cinder...: by address,
# outside every NetworkPolicy, a private storage network by another name) or is the node
# (hostPath).
_VOLUME_TYPES = ("configMap", "secret", "downwardAPI", "emptyDir", "projected",
                 "persistentVolumeClaim", "ephemeral")


def volume_types(pool: models.Pool) -> Rule:
    """At every MLPS level: a pod's volumes are of the kinds that stay inside the pool, and
    inline CSI volumes only of the drivers the pool names (inlineCsiDrivers)."""
    kinds = " || ".join(f"has(v.{kind})" for kind in _VOLUME_TYPES)
    drivers = pool.inline_csi_drivers
    allowed = f"{', '.join(_VOLUME_TYPES[:-1])} and {_VOLUME_TYPES[-1]} volumes" + (
        f", and inline CSI volumes of {', '.join(drivers)}" if drivers else "")
    return Rule(
        "volume-types", "security.default-deny", (("", "v1", ("pods",)),), ("CREATE",),
        ((f"!has(object.spec.volumes) || object.spec.volumes.all(v, {kinds} || "
          "(has(v.csi) && v.csi.driver in variables.drivers))",
          f"pods of pool {pool.name} may mount only {allowed}: network volumes (nfs, "
          "iscsi, ...) are mounted by the node outside every NetworkPolicy, and hostPath is "
          "the node itself; use a PersistentVolumeClaim of the pool's storage classes"),),
        variables=(("drivers", cel(list(drivers))),),
    )


def rules(pool: models.Pool, *, platform: Platform) -> list[Rule]:
    """Every guardrail of one pool, from the registry: its pool settings (adminGroups,
    storageClasses) and the platform's security settings."""
    security = platform.spec.spec.policies.security
    level = security.restricted_from_level
    platform_groups = pool.admin_groups
    storage_classes = tuple(ref.name for ref in pool.storage_classes)
    found = [no_privileged(level), approved_images(pool),
             pool_placement(pool, platform=platform), no_host_network(),
             no_network_attachments(), no_exposed_services(), tenant_rolebindings(),
             managed_objects(platform_groups), tenant_network_policies(platform_groups),
             tenant_ingress_hosts(platform_groups), volume_types(pool)]
    classes = security.encrypted_storage_classes.get(pool.name)
    if classes:
        found += [encrypted_volumes(classes, level), no_inline_volumes(level)]
    if storage_classes:
        found.append(pool_storage(pool, storage_classes))
    return found


def render_pool_guardrails(pool: models.Pool, *,
                           platform: Platform) -> list[Manifest]:
    """The ValidatingAdmissionPolicy and binding of every guardrail of one pool.

    The pool's adminGroups (with system:masters) are who may change the objects citycloud
    manages in tenant namespaces; its storageClasses the only classes its tenants' volumes
    may use (none listed: no such rule).
    """
    objects: list[Manifest] = []
    for rule in rules(pool, platform=platform):
        name = f"citycloud-{pool.name}-{rule.name}"
        metadata = {"name": name, "labels": {**pool_selector(pool), LABEL_GUARDRAIL: rule.name},
                    "annotations": {"citycloud.io/policy": rule.policy}}
        objects.append(_policy(rule, metadata))
        objects.append(_binding(rule, copy.deepcopy(metadata), pool=pool))
    return objects


def _policy(rule: Rule, metadata: dict[str, Any]) -> Manifest:
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [
            {"apiGroups": [group], "apiVersions": [version], "operations": list(rule.operations),
             "resources": list(resources), "scope": "Namespaced"}
            for group, version, resources in rule.resources]},
        "validations": [{"expression": expression, "message": message, "reason": "Forbidden"}
                        for expression, message in rule.validations],
    }
    if rule.variables:
        spec["variables"] = [{"name": n, "expression": e} for n, e in rule.variables]
    return {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicy",
            "metadata": metadata, "spec": spec}


def _binding(rule: Rule, metadata: dict[str, Any], *, pool: models.Pool) -> Manifest:
    selector: dict[str, Any] = {"matchLabels": pool_selector(pool)}
    if rule.min_classification > 1:
        selector["matchExpressions"] = [{
            "key": render.LABEL_CLASSIFICATION, "operator": "In",
            "values": [str(level) for level in range(rule.min_classification, 5)]}]
    return {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": metadata, "spec": {
                "policyName": metadata["name"],
                # Audit as well as deny: every refused attempt lands in the API audit log.
                "validationActions": ["Deny", "Audit"],
                "matchResources": {"namespaceSelector": selector}}}
