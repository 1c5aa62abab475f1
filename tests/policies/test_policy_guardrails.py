"""Pool guardrails: valid Kubernetes objects that refuse what the policies forbid.

Schema: every ValidatingAdmissionPolicy and binding of every pool is checked
against the Kubernetes 1.37 OpenAPI schema (strict: unknown fields fail).
Behaviour: the CEL runs in cel-python through admission.py, a stand-in for the
API server (a fake: no API server runs in unit tests; the control-plane e2e
tests apply the same objects to a real kube-apiserver). Requests are built on
the Wuhan example's rendered namespaces, so labels and annotations are the
renderer's own.
"""

from __future__ import annotations

import collections
import pathlib
from typing import Any

import admission
import kube_schemas
import pytest
from policy_builders import BAD

from citycloud import policies, tenants
from citycloud.tenants import guardrails, render

WUHAN = pathlib.Path(__file__).resolve().parents[2] / "examples" / "wuhan"


@pytest.fixture(scope="module")
def platform() -> tenants.Platform:
    return tenants.load(WUHAN)


@pytest.fixture(scope="module")
def gov(platform: tenants.Platform) -> list[dict[str, Any]]:
    # Without the pool's storage classes: the volume rules are seen on their own here.
    bare = platform.pools["gov"].model_copy(update={"storage_classes": ()})
    return guardrails.render_pool_guardrails(bare, platform=platform)


@pytest.fixture(scope="module")
def gov_deployed(platform: tenants.Platform) -> list[dict[str, Any]]:
    """As the pool renders them: with the adminGroups and storageClasses of platform.yaml."""
    assert platform.pools["gov"].storage_classes and platform.pools["gov"].admin_groups
    return guardrails.render_pool_guardrails(platform.pools["gov"], platform=platform)


def namespace(platform: tenants.Platform, tenant: str, index: int = 0) -> dict[str, Any]:
    owner = platform.tenants[tenant]
    return render.namespace_object(owner, namespace=owner.namespace_names()[index],
                                   platform=platform)


LEVEL3 = "wh-gongan-video"  # gov pool, MLPS 3, owners wh-gongan-admins, wh-gongan-xxtx
LEVEL2 = "wh-tongji-shuju"  # gov pool, MLPS 2


@pytest.mark.parametrize("registry", [WUHAN, BAD], ids=["wuhan", "bad"])
def test_every_guardrail_is_a_valid_kubernetes_object(registry: pathlib.Path) -> None:
    platform = tenants.load(registry)
    objects = [o for pool in platform.pools.values()
               for o in guardrails.render_pool_guardrails(pool, platform=platform)]
    assert {o["kind"] for o in objects} == {"ValidatingAdmissionPolicy",
                                           "ValidatingAdmissionPolicyBinding"}
    assert {o["metadata"]["name"]: kube_schemas.errors(o) for o in objects} == {
        o["metadata"]["name"]: [] for o in objects}
    names = collections.Counter((o["kind"], o["metadata"]["name"]) for o in objects)
    assert max(names.values()) == 1


def test_the_schema_check_can_fail(gov: list[dict[str, Any]]) -> None:
    broken = {**gov[1], "spec": {**gov[1]["spec"], "validationActions": "Deny"}}
    assert kube_schemas.errors(broken)


def test_each_pool_binds_only_its_own_tenant_namespaces(platform: tenants.Platform) -> None:
    for pool in platform.pools.values():
        objects = guardrails.render_pool_guardrails(pool, platform=platform)
        selector = next(o for o in objects if o["kind"] == "ValidatingAdmissionPolicyBinding"
                        and o["metadata"]["name"].endswith("approved-images"))
        for tenant in platform.tenants.values():
            selected = admission._selects(selector, namespace(platform, tenant.name))
            assert selected is (tenant.spec.pool == pool.name), (pool.name, tenant.name)


def pod(*, image: str = "registry.gov.whcloud.cn/wh-gongan/video:1.2",
        node_selector: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    selector = {"citycloud.io/pool": "gov"} if node_selector is None else node_selector
    container = {"name": "app", "image": image, **spec.pop("container", {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [container], "nodeSelector": selector, **spec}}


PRIORITY_REFUSED = ["pods of pool gov may use only its tenant priority classes "
                    "(citycloud-gov-tenant-*)"]
MULTUS_REFUSED = ["tenant pods may not attach to other networks (Multus annotations "
                  "k8s.v1.cni.cncf.io/networks, v1.multus-cni.io/default-network): networks "
                  "are asked for in the registry"]


VOLUMES_REFUSED = [
    "pods of pool gov may mount only configMap, secret, downwardAPI, emptyDir, projected, "
    "persistentVolumeClaim and ephemeral volumes, and inline CSI volumes of "
    "secrets-store.csi.k8s.io: network volumes (nfs, iscsi, ...) are mounted by the node "
    "outside every NetworkPolicy, and hostPath is the node itself; use a PersistentVolumeClaim "
    "of the pool's storage classes"]


def volume(**source: Any) -> list[dict[str, Any]]:
    return [{"name": "v", **source}]


def multus_pod(key: str, value: str) -> dict[str, Any]:
    found = pod()
    found["metadata"]["annotations"] = {key: value}
    return found


POD_CASES = [
    pytest.param(LEVEL3, pod(), [], id="a compliant pod"),
    pytest.param(LEVEL3, pod(container={"securityContext": {"privileged": True}}),
                 ["MLPS level 3+ namespaces run no privileged containers"], id="privileged"),
    pytest.param(LEVEL2, pod(container={"securityContext": {"privileged": True}}), [],
                 id="privileged below level 3 is Pod Security's business"),
    pytest.param(LEVEL3, pod(hostPID=True),
                 ["MLPS level 3+ namespaces may not share the host's process namespace"],
                 id="hostPID"),
    pytest.param(LEVEL3, pod(hostIPC=True),
                 ["MLPS level 3+ namespaces may not share the host's IPC namespace"],
                 id="hostIPC"),
    pytest.param(LEVEL2, pod(hostNetwork=True), [
        "tenant pods may not use the host's network: ask for a network in the registry"],
                 id="hostNetwork at any level"),
    pytest.param(LEVEL2, pod(container={"ports": [{"containerPort": 80, "hostPort": 80}]}),
                 ["tenant pods may not open host ports: ask the platform for an ingress"],
                 id="hostPort"),
    pytest.param(LEVEL2, pod(image="docker.io/library/nginx:1.27"), [
        "images of pool gov come only from its approved registries: registry.gov.whcloud.cn"],
                 id="public image"),
    pytest.param(LEVEL2, pod(image="registry.gov.whcloud.cn.evil.example/x:1"), [
        "images of pool gov come only from its approved registries: registry.gov.whcloud.cn"],
                 id="look-alike registry"),
    pytest.param(LEVEL2, pod(initContainers=[{"name": "init", "image": "quay.io/x/y:1"}]), [
        "images of pool gov come only from its approved registries: registry.gov.whcloud.cn"],
                 id="init container image"),
    pytest.param(LEVEL2, pod(node_selector={}),
                 ["pods of pool gov must set nodeSelector citycloud.io/pool=gov"],
                 id="no node selector"),
    pytest.param(LEVEL2, pod(node_selector={"citycloud.io/pool": "xinchuang"}), [
        "pods of pool gov must set nodeSelector citycloud.io/pool=gov",
        "pods of pool gov may not select another pool's nodes"], id="another pool's nodes"),
    pytest.param(LEVEL2, pod(node_selector={"citycloud.io/pool": "gov",
                                            "kubernetes.io/arch": "loong64"}),
                 ["pool gov has only amd64 nodes"], id="an architecture the pool lacks"),
    pytest.param(LEVEL2, pod(priorityClassName="citycloud-gov-tenant-critical"), [],
                 id="a tenant priority class"),
    pytest.param(LEVEL2, pod(priorityClassName="citycloud-gov-platform"), PRIORITY_REFUSED,
                 id="the platform's priority class"),
    pytest.param(LEVEL2, pod(priorityClassName="system-node-critical"), PRIORITY_REFUSED,
                 id="a system priority class"),
    pytest.param(LEVEL2, pod(priorityClassName="citycloud-industry-tenant-critical"),
                 PRIORITY_REFUSED, id="another pool's tenant class"),
    pytest.param(LEVEL2, multus_pod("k8s.v1.cni.cncf.io/networks", "citycloud-pool-gov/underlay"),
                 MULTUS_REFUSED, id="a Multus attachment by annotation"),
    pytest.param(LEVEL2, multus_pod("v1.multus-cni.io/default-network", "kube-system/flat"),
                 MULTUS_REFUSED, id="a Multus default network by annotation"),
    pytest.param(LEVEL2, pod(volumes=volume(configMap={"name": "c"}) + volume(emptyDir={})
                             + volume(persistentVolumeClaim={"claimName": "data"})), [],
                 id="volumes that stay inside the pool"),
    pytest.param(LEVEL2, pod(volumes=volume(csi={"driver": "secrets-store.csi.k8s.io"})), [],
                 id="inline CSI of a driver the pool names"),
    pytest.param(LEVEL2, pod(volumes=volume(csi={"driver": "rbd.csi.ceph.com"})),
                 VOLUMES_REFUSED, id="inline CSI of another driver"),
    pytest.param(LEVEL2, pod(volumes=volume(nfs={"server": "10.20.0.5", "path": "/export"})),
                 VOLUMES_REFUSED, id="nfs at MLPS 2"),
    pytest.param(LEVEL2, pod(volumes=volume(emptyDir={}) + volume(
        iscsi={"targetPortal": "10.20.0.6:3260", "iqn": "iqn.2026-01.cn.wh:x", "lun": 0})),
                 VOLUMES_REFUSED, id="iscsi beside an allowed volume"),
    pytest.param(LEVEL2, pod(volumes=volume(hostPath={"path": "/var/lib"})), VOLUMES_REFUSED,
                 id="hostPath"),
]


@pytest.mark.parametrize(("tenant", "obj", "refused"), POD_CASES)
def test_pods(platform: tenants.Platform, gov: list[dict[str, Any]], tenant: str,
              obj: dict[str, Any], refused: list[str]) -> None:
    request = admission.Request("", "pods", obj, namespace(platform, tenant))
    assert admission.denials(gov, request) == refused


PUBLIC = "docker.io/library/nginx:1.27"


@pytest.mark.parametrize(("old", "new", "refused"), [
    pytest.param(pod(image=PUBLIC), {**pod(image=PUBLIC), "metadata": {
        "name": "p", "labels": {"x": "y"}}}, [], id="a label added to a pod of old rules"),
    pytest.param(pod(), pod(image=PUBLIC), [
        "images of pool gov come only from its approved registries: registry.gov.whcloud.cn"],
                 id="an image changed to a public one"),
    pytest.param(multus_pod("k8s.v1.cni.cncf.io/networks", "a/b"),
                 {**multus_pod("k8s.v1.cni.cncf.io/networks", "a/b"), "spec": pod()["spec"]},
                 [], id="an unchanged attachment annotation"),
    pytest.param(pod(), multus_pod("k8s.v1.cni.cncf.io/networks", "a/b"), MULTUS_REFUSED,
                 id="an attachment annotation added"),
])
def test_updates_refuse_only_what_they_change(platform: tenants.Platform,
                                              gov: list[dict[str, Any]], old: dict[str, Any],
                                              new: dict[str, Any], refused: list[str]) -> None:
    """Pods admitted under earlier rules must stay updatable (finalizers, labels), or they
    could not even be deleted cleanly after a pool's registries change."""
    request = admission.Request("", "pods", new, namespace(platform, LEVEL3),
                                operation="UPDATE", old_object=old)
    assert admission.denials(gov, request) == refused


def service(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}], **spec}}


@pytest.mark.parametrize(("group", "resource", "obj", "refused"), [
    pytest.param("", "services", service(), [], id="ClusterIP service"),
    pytest.param("", "services", service(type="NodePort"), [
        "tenant services may not be NodePort or LoadBalancer: the platform's ingress exposes "
        "services"], id="NodePort"),
    pytest.param("", "services", service(type="LoadBalancer"), [
        "tenant services may not be NodePort or LoadBalancer: the platform's ingress exposes "
        "services"], id="LoadBalancer"),
    pytest.param("", "services", service(externalIPs=["10.1.2.3"]),
                 ["tenant services may not claim externalIPs"], id="externalIPs"),
    pytest.param("", "services", service(type="ExternalName", externalName="10.0.0.1"), [
        "tenant services may not be ExternalName: addresses outside the cluster are granted "
        "in the registry (spec.egress, spec.networks)"], id="ExternalName"),
    pytest.param("k8s.cni.cncf.io", "network-attachment-definitions",
                 {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
                  "metadata": {"name": "macvlan"}, "spec": {"config": "{}"}},
                 ["tenants may not create their own network plumbing (Multus "
                  "NetworkAttachmentDefinitions): networks are asked for in the registry"],
                 id="Multus network attachment"),
])
def test_network_plumbing(platform: tenants.Platform, gov: list[dict[str, Any]], group: str,
                          resource: str, obj: dict[str, Any], refused: list[str]) -> None:
    request = admission.Request(group, resource, obj, namespace(platform, LEVEL2))
    assert admission.denials(gov, request) == refused


RB_REFUSED = ["RoleBindings in a tenant namespace may bind only the tenant's owner groups "
              "(citycloud.io/owners) and service accounts of the tenant's own namespaces"]


def binding(*subjects: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "edit"}, "subjects": list(subjects)}


def group(name: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}


def account(name: str, namespace: str | None = None) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name,
            **({"namespace": namespace} if namespace else {})}


@pytest.mark.parametrize(("obj", "refused"), [
    pytest.param(binding(group("wh-gongan-xxtx")), [], id="the tenant's owner group"),
    pytest.param(binding(group("wh-weijian-admins")), RB_REFUSED, id="another department"),
    pytest.param(binding(account("ci")), [], id="a service account of the same namespace"),
    pytest.param(binding(account("ci", "wh-gongan-video-analytics")), [],
                 id="a service account of the tenant's other namespace"),
    pytest.param(binding(account("ci", "wh-gongan-jiaoguan-signals")), RB_REFUSED,
                 id="a service account of another tenant"),
    pytest.param(binding(account("ci", "wh-gongan-video-archive-prod")), RB_REFUSED,
                 id="a namespace that merely starts with the tenant's name"),
    pytest.param(binding(account("ci", "kube-system")), RB_REFUSED, id="a system account"),
    pytest.param(binding({"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": "vendor"}), RB_REFUSED, id="a user"),
    pytest.param(binding(group("wh-gongan-admins"), group("system:authenticated")), RB_REFUSED,
                 id="one bad subject among good ones"),
])
def test_role_bindings(platform: tenants.Platform, gov: list[dict[str, Any]],
                       obj: dict[str, Any], refused: list[str]) -> None:
    request = admission.Request("rbac.authorization.k8s.io", "rolebindings", obj,
                                namespace(platform, LEVEL3))
    assert admission.denials(gov, request) == refused


def test_the_renderers_own_owner_binding_is_admitted(platform: tenants.Platform,
                                                     gov: list[dict[str, Any]]) -> None:
    tenant = platform.tenants[LEVEL3]
    ns = tenant.namespace_names()[0]
    request = admission.Request("rbac.authorization.k8s.io", "rolebindings",
                                render.owner_binding(tenant, namespace=ns),
                                namespace(platform, LEVEL3))
    assert admission.denials(gov, request) == []


MANAGED_REFUSED = ["objects managed by citycloud (app.kubernetes.io/managed-by=citycloud) are "
                   "changed through the registry: open a pull request against the tenant's "
                   "file (citycloud applies it as system:masters or a group of the pool's "
                   "adminGroups in platform.yaml)"]
OWNER = ("li.wei", ("wh-gongan-admins", "system:authenticated"))
OWN_ACCOUNT = ("system:serviceaccount:wh-gongan-video-analytics:deployer",
               ("system:serviceaccounts", "system:authenticated"))
OTHER_ACCOUNT = ("system:serviceaccount:wh-gongan-video-archive-prod:deployer",
                 ("system:serviceaccounts", "system:authenticated"))
NAMESPACE_CONTROLLER = ("system:serviceaccount:kube-system:namespace-controller",
                        ("system:serviceaccounts", "system:authenticated"))
PLATFORM = ("citycloud-platform", ("system:masters", "system:authenticated"))
KUBE_SYSTEM_ADDON = ("system:serviceaccount:kube-system:metrics-server",
                     ("system:serviceaccounts", "system:authenticated"))
POOL_ADMIN = ("ops.wang", ("citycloud-platform-admins", "system:authenticated"))
GITOPS = ("system:serviceaccount:argocd:argocd-application-controller",
          ("system:serviceaccounts", "system:authenticated"))


def rendered(platform: tenants.Platform, kind: str) -> dict[str, Any]:
    """The first object of `kind` the renderer makes for the level-3 tenant."""
    objects = render.render_tenant(platform.tenants[LEVEL3], platform=platform)
    return next(o for o in objects if o["kind"] == kind)


SAME_NAMESPACE = {"podSelector": {"matchLabels": {"app": "web"}}}
SAME_TENANT = {"namespaceSelector": {"matchLabels": {"citycloud.io/tenant": LEVEL3}}}


def own_policy(**rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-web", "labels": {"app": "web"}},
            "spec": {"podSelector": {}, **(rules or {"ingress": [{"from": [SAME_NAMESPACE]}]})}}


@pytest.mark.parametrize(("kind", "group", "resource"), [
    ("NetworkPolicy", "networking.k8s.io", "networkpolicies"),
    ("RoleBinding", "rbac.authorization.k8s.io", "rolebindings"),
    ("ResourceQuota", "", "resourcequotas"),
    ("LimitRange", "", "limitranges"),
])
@pytest.mark.parametrize("operation", ["DELETE", "UPDATE"])
@pytest.mark.parametrize(("who", "refused"), [
    pytest.param(OWNER, MANAGED_REFUSED, id="an owner"),
    pytest.param(OWN_ACCOUNT, MANAGED_REFUSED, id="a service account of the tenant"),
    pytest.param(OTHER_ACCOUNT, MANAGED_REFUSED, id="an account the tenant cannot bind"),
    pytest.param(GITOPS, MANAGED_REFUSED, id="a GitOps controller syncing the tenant's repo"),
    pytest.param(KUBE_SYSTEM_ADDON, MANAGED_REFUSED, id="another kube-system account"),
    pytest.param(PLATFORM, [], id="the platform"),
    pytest.param(POOL_ADMIN, [], id="the pool's admin group"),
])
def test_managed_objects_stay_as_rendered(platform: tenants.Platform,
                                          gov_deployed: list[dict[str, Any]],
                                          kind: str, group: str, resource: str, operation: str,
                                          who: tuple[str, tuple[str, ...]],
                                          refused: list[str]) -> None:
    old = rendered(platform, kind)
    new = None if operation == "DELETE" else {**old, "metadata": {"name": "changed"}}
    request = admission.Request(group, resource, new, namespace(platform, LEVEL3),
                                operation=operation, old_object=old, username=who[0],
                                groups=who[1])
    assert admission.denials(gov_deployed, request) == refused


GARBAGE_COLLECTOR = ("system:serviceaccount:kube-system:generic-garbage-collector",
                     ("system:serviceaccounts", "system:authenticated"))


@pytest.mark.parametrize(("who", "operation", "deleting", "refused"), [
    pytest.param(NAMESPACE_CONTROLLER, "DELETE", False, [], id="a delete"),
    pytest.param(NAMESPACE_CONTROLLER, "UPDATE", False, MANAGED_REFUSED, id="a change"),
    pytest.param(GARBAGE_COLLECTOR, "UPDATE", True, [],
                 id="a finalizer lifted from what is being deleted"),
])
def test_namespace_cleaners_only_delete(platform: tenants.Platform,
                                        gov_deployed: list[dict[str, Any]],
                                        who: tuple[str, tuple[str, ...]], operation: str,
                                        deleting: bool, refused: list[str]) -> None:
    """Offboarding deletes a namespace; its controllers then delete what is in it (the engine
    deletes in the foreground: the garbage collector then lifts the finalizer)."""
    old = rendered(platform, "NetworkPolicy")
    if deleting:
        old = {**old, "metadata": {**old["metadata"], "finalizers": ["foregroundDeletion"],
                                   "deletionTimestamp": "2026-12-01T00:00:00Z"}}
    new = None if operation == "DELETE" else {**old, "metadata": {"name": "changed"}}
    request = admission.Request("networking.k8s.io", "networkpolicies", new,
                                namespace(platform, LEVEL3), operation=operation,
                                old_object=old, username=who[0], groups=who[1])
    assert admission.denials(gov_deployed, request) == refused


@pytest.mark.parametrize("operation", ["DELETE", "UPDATE"])
def test_owners_keep_their_own_network_policies(platform: tenants.Platform,
                                                gov: list[dict[str, Any]],
                                                operation: str) -> None:
    new = None if operation == "DELETE" else own_policy()
    request = admission.Request("networking.k8s.io", "networkpolicies", new,
                                namespace(platform, LEVEL3), operation=operation,
                                old_object=own_policy(), username=OWNER[0], groups=OWNER[1])
    assert admission.denials(gov, request) == []


def claim(storage_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
            "spec": spec}


ENCRYPTED = ["volumes of MLPS level 3+ namespaces use a storage class encrypted at rest: "
             "gov-ceph-sm4"]


@pytest.mark.parametrize(("tenant", "storage_class", "refused"), [
    pytest.param(LEVEL3, "gov-ceph-sm4", [], id="encrypted class"),
    pytest.param(LEVEL3, "gov-ceph", ENCRYPTED, id="unencrypted class"),
    pytest.param(LEVEL3, None, ENCRYPTED, id="the cluster default"),
    pytest.param(LEVEL2, "gov-ceph", [], id="level 2 may use any class"),
])
def test_volumes(platform: tenants.Platform, gov: list[dict[str, Any]], tenant: str,
                 storage_class: str | None, refused: list[str]) -> None:
    request = admission.Request("", "persistentvolumeclaims", claim(storage_class),
                                namespace(platform, tenant))
    assert admission.denials(gov, request) == refused


POOL_STORAGE = ["volumes of pool gov use its storage classes: gov-ceph-sm4, gov-ceph-hdd-sm4"]


@pytest.mark.parametrize(("storage_class", "spec", "refused"), [
    pytest.param("gov-ceph-hdd-sm4", {}, [], id="the pool's class"),
    pytest.param(None, {}, [], id="no class and no cluster default"),
    pytest.param("industry-ceph-ssd", {}, POOL_STORAGE, id="another pool's class"),
    pytest.param("", {}, POOL_STORAGE, id="the empty class that binds static volumes"),
    pytest.param("gov-ceph-sm4", {"volumeName": "pv-0042"}, [
        "tenants may not claim a PersistentVolume by name: volumes come from the pool's "
        "storage classes"], id="a volume by name"),
])
def test_volumes_stay_on_the_pools_storage(platform: tenants.Platform,
                                           gov_deployed: list[dict[str, Any]],
                                           storage_class: str | None, spec: dict[str, Any],
                                           refused: list[str]) -> None:
    obj = claim(storage_class)
    if storage_class == "":
        obj["spec"]["storageClassName"] = ""
    obj["spec"] |= spec
    request = admission.Request("", "persistentvolumeclaims", obj, namespace(platform, LEVEL2))
    assert admission.denials(gov_deployed, request) == refused


@pytest.mark.parametrize(("tenant", "volume", "refused"), [
    pytest.param(LEVEL3, {"name": "d", "csi": {"driver": "secrets-store.csi.k8s.io"}}, [
        "pods of MLPS level 3+ namespaces keep data only on claims of encrypted storage "
        "classes: no inline CSI volumes (use a PersistentVolumeClaim or an ephemeral volume)"],
                 id="inline CSI at level 3"),
    pytest.param(LEVEL3, {"name": "d", "persistentVolumeClaim": {"claimName": "c"}}, [],
                 id="a claim at level 3"),
    pytest.param(LEVEL2, {"name": "d", "csi": {"driver": "secrets-store.csi.k8s.io"}}, [],
                 id="inline CSI below level 3"),
])
def test_inline_volumes(platform: tenants.Platform, gov: list[dict[str, Any]], tenant: str,
                        volume: dict[str, Any], refused: list[str]) -> None:
    request = admission.Request("", "pods", pod(volumes=[volume]), namespace(platform, tenant))
    assert admission.denials(gov, request) == refused


def test_updates_to_images_are_checked_too(platform: tenants.Platform,
                                           gov: list[dict[str, Any]]) -> None:
    request = admission.Request("", "pods", pod(image="docker.io/x:1"),
                                namespace(platform, LEVEL2), operation="UPDATE")
    assert admission.denials(gov, request) == [
        "images of pool gov come only from its approved registries: registry.gov.whcloud.cn"]


NETPOL_REFUSED = [
    "a tenant's own NetworkPolicies allow traffic only between pods of the tenant's "
    "namespaces: each rule names its peers, by podSelector or by a namespaceSelector with "
    "citycloud.io/tenant=<tenant>; addresses and other tenants are granted in the registry "
    "(spec.egress, spec.networks, spec.consumes)"]


@pytest.mark.parametrize(("rules", "refused"), [
    pytest.param({"ingress": [{"from": [SAME_NAMESPACE]}]}, [], id="pods of the namespace"),
    pytest.param({"ingress": [{"from": [SAME_TENANT | SAME_NAMESPACE]}],
                  "egress": [{"to": [SAME_TENANT]}]}, [], id="the tenant's namespaces"),
    pytest.param({"ingress": [{}]}, NETPOL_REFUSED, id="from everyone"),
    pytest.param({"egress": [{"to": []}]}, NETPOL_REFUSED, id="to everywhere"),
    pytest.param({"ingress": [{"from": [{"namespaceSelector": {}}]}]}, NETPOL_REFUSED,
                 id="every namespace"),
    pytest.param({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
        "citycloud.io/tenant": "wh-caidian-zhengwu"}}}]}]}, NETPOL_REFUSED,
                 id="another tenant"),
    pytest.param({"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}, NETPOL_REFUSED,
                 id="the internet"),
    pytest.param({"egress": [{"to": [SAME_TENANT, {"ipBlock": {"cidr": "10.8.0.0/16"}}]}]},
                 NETPOL_REFUSED, id="an address among good peers"),
])
@pytest.mark.parametrize("who", [OWNER, GITOPS, KUBE_SYSTEM_ADDON],
                         ids=["an owner", "a GitOps controller", "a kube-system add-on"])
def test_tenant_network_policies(platform: tenants.Platform, gov: list[dict[str, Any]],
                                 rules: dict[str, Any], refused: list[str],
                                 who: tuple[str, tuple[str, ...]]) -> None:
    request = admission.Request("networking.k8s.io", "networkpolicies", own_policy(**rules),
                                namespace(platform, LEVEL3), username=who[0], groups=who[1])
    assert admission.denials(gov, request) == refused


def test_the_platform_writes_the_granted_networks(platform: tenants.Platform,
                                                  gov: list[dict[str, Any]]) -> None:
    """The renderer's own allow rules use addresses; its requests are not the tenant's."""
    granted = [o for o in render.render_tenant(platform.tenants[LEVEL3], platform=platform)
               if o["metadata"]["name"] == "citycloud-allow-granted-networks"]
    assert granted
    for who, refused in ((PLATFORM, []), (OWNER, NETPOL_REFUSED)):
        request = admission.Request("networking.k8s.io", "networkpolicies", granted[0],
                                    namespace(platform, LEVEL3), username=who[0],
                                    groups=who[1])
        assert admission.denials(gov, request) == refused


def test_every_guardrail_names_a_policy_that_names_it(platform: tenants.Platform) -> None:
    """`policies explain` tells the in-cluster rule of a policy, and the guardrail the policy."""
    rules = {rule.name: rule.policy for pool in platform.pools.values()
             for rule in guardrails.rules(pool, platform=platform)}
    assert {name: name in policies.POLICIES[policy].guardrails
            for name, policy in rules.items()} == dict.fromkeys(rules, True)
    named = {name for rule in policies.POLICIES.values() for name in rule.guardrails}
    assert named - {"all"} <= set(rules)


INGRESS_REFUSED = [
    "Ingresses in a tenant namespace serve only the tenant's own host names, each rule naming "
    "one (citycloud.io/hosts; add them to spec.hosts in the tenant's registry file)"]


def ingress(*hosts: str | None, tls: tuple[str, ...] = (), **metadata: Any) -> dict[str, Any]:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    rules = [{**({"host": h} if h else {}), "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": backend}]}} for h in hosts]
    spec: dict[str, Any] = {"rules": rules}
    if tls:
        spec["tls"] = [{"hosts": list(tls), "secretName": "web-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", **metadata}, "spec": spec}


def with_default_backend(obj: dict[str, Any]) -> dict[str, Any]:
    obj["spec"]["defaultBackend"] = {"service": {"name": "web", "port": {"number": 80}}}
    return obj


@pytest.mark.parametrize(("obj", "refused"), [
    pytest.param(ingress("video.gongan.wuhan.gov.cn", tls=("video.gongan.wuhan.gov.cn",)), [],
                 id="its own host"),
    pytest.param(ingress("zwfw.wuhan.gov.cn"), INGRESS_REFUSED,
                 id="another department's host"),
    pytest.param(ingress(None), INGRESS_REFUSED, id="a rule for every host"),
    pytest.param(ingress("video.gongan.wuhan.gov.cn", tls=("zwfw.wuhan.gov.cn",)),
                 INGRESS_REFUSED, id="another department's certificate name"),
    pytest.param(with_default_backend(ingress("video.gongan.wuhan.gov.cn")), INGRESS_REFUSED,
                 id="its own host and a default backend"),
    pytest.param(ingress("video.gongan.wuhan.gov.cn", annotations={
        "nginx.ingress.kubernetes.io/server-snippet": "location / { proxy_pass http://x; }"}),
                 ["tenant Ingresses may not carry configuration snippets: they would configure "
                  "the pool's shared ingress controller"], id="a configuration snippet"),
])
def test_ingresses_serve_only_the_tenants_hosts(platform: tenants.Platform,
                                                gov: list[dict[str, Any]], obj: dict[str, Any],
                                                refused: list[str]) -> None:
    request = admission.Request("networking.k8s.io", "ingresses", obj,
                                namespace(platform, LEVEL3), username=OWNER[0], groups=OWNER[1])
    assert admission.denials(gov, request) == refused


def test_a_tenant_without_hosts_serves_none(platform: tenants.Platform,
                                            gov: list[dict[str, Any]]) -> None:
    request = admission.Request("networking.k8s.io", "ingresses", ingress("x.wuhan.gov.cn"),
                                namespace(platform, LEVEL2), username=OWNER[0], groups=OWNER[1])
    assert admission.denials(gov, request) == INGRESS_REFUSED


@pytest.mark.parametrize(("who", "change_spec", "refused"), [
    pytest.param(GARBAGE_COLLECTOR, False, [], id="a finalizer lifted, the spec as it was"),
    pytest.param(OWNER, True, MANAGED_REFUSED + NETPOL_REFUSED,
                 id="the spec changed by an owner"),
])
def test_network_policy_updates_are_checked_for_their_spec(
        platform: tenants.Platform, gov: list[dict[str, Any]],
        who: tuple[str, tuple[str, ...]], change_spec: bool, refused: list[str]) -> None:
    """Objects admitted earlier (here the platform's own allow of granted networks) must stay
    updatable, or their deletion would hang on its finalizer."""
    granted = next(o for o in render.render_tenant(platform.tenants[LEVEL3], platform=platform)
                   if o["metadata"]["name"] == "citycloud-allow-granted-networks")
    granted = {**granted, "metadata": {**granted["metadata"], "finalizers": [
        "foregroundDeletion"], "deletionTimestamp": "2026-12-01T00:00:00Z"}}
    new = {**granted, "metadata": {**granted["metadata"], "finalizers": []}}
    if change_spec:
        new["spec"] = {**granted["spec"], "ingress": [{"from": [{"ipBlock": {
            "cidr": "0.0.0.0/0"}}]}]}
    request = admission.Request("networking.k8s.io", "networkpolicies", new,
                                namespace(platform, LEVEL3), operation="UPDATE",
                                old_object=granted, username=who[0], groups=who[1])
    assert admission.denials(gov, request) == refused
