"""The pools' ValidatingAdmissionPolicies, enforced by the real API server's CEL.

Every request here is a dry run (`dryRun=All`): admission runs in full,
nothing is stored. A policy is enforced a moment after its creation, so a
request that must be refused is retried for a few seconds (kubeops.refused).
Where Pod Security admission (which runs first) would refuse the same pod, a
second case proves the guardrail itself: a namespace labelled like an MLPS 3
gov tenant's, whose Pod Security label was lowered, still refuses it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import controlplane
import e2ecity
import kubeops
import pytest
from kubernetes.client import ApiException, CoreV1Api, NetworkingV1Api, RbacAuthorizationV1Api

from citycloud.tenants import render

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GOV3 = "wh-gongan-video-video"  # gov, MLPS 3, restricted
GOV2 = "wh-caidian-zhengwu-web"  # gov, MLPS 2, baseline
IND1 = "wh-huangpi-wenlv-web"  # industry, MLPS 1, baseline
XC3 = "wh-gongan-oa-oa"  # xinchuang, MLPS 3, restricted
XC2 = "wh-dongxihu-oa-oa"  # xinchuang, MLPS 2
REGISTRY = {GOV3: "registry.gov.whcloud.cn", GOV2: "registry.gov.whcloud.cn",
            IND1: "registry.industry.whcloud.cn", XC3: "registry.xc.whcloud.cn",
            XC2: "registry.xc.whcloud.cn"}
POOL = {GOV3: "gov", GOV2: "gov", IND1: "industry", XC3: "xinchuang", XC2: "xinchuang"}
LOWERED = "e2e-psa-lowered"  # labelled as a gov MLPS 3 tenant namespace, Pod Security off


def pod(namespace: str, **changes: Any) -> dict[str, Any]:
    """A pod that passes Pod Security 'restricted' and every guardrail; `changes` break it."""
    container: dict[str, Any] = {
        "name": "app", "image": f"{REGISTRY.get(namespace, 'registry.gov.whcloud.cn')}/app:1.0",
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                      "limits": {"cpu": "100m", "memory": "64Mi"}},
    }
    spec: dict[str, Any] = {"containers": [container], "automountServiceAccountToken": False}
    metadata: dict[str, Any] = {"name": "e2e-guardrail"}
    for field, value in changes.items():
        if field == "annotations":
            metadata["annotations"] = value
        elif field == "image":
            container["image"] = value
        elif field == "privileged":
            container["securityContext"] = {"privileged": value}
        elif field == "host_port":
            container["ports"] = [{"containerPort": 8080, "hostPort": value}]
        else:
            spec[field] = value
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": spec}


def _create_pod(kube: kubeops.Kube, namespace: str, body: dict[str, Any]) -> Any:
    return kube.core.create_namespaced_pod(namespace, body, dry_run="All")


@pytest.fixture(scope="module")
def lowered(onboarded: e2ecity.City, kube: kubeops.Kube) -> Iterator[str]:
    labels = {"app.kubernetes.io/managed-by": render.MANAGED_BY, render.LABEL_POOL: "gov",
              render.LABEL_CLASSIFICATION: "3", render.LABEL_TENANT: "e2e-scratch",
              "pod-security.kubernetes.io/enforce": "privileged"}
    kube.core.create_namespace({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": LOWERED, "labels": labels}})
    try:
        yield LOWERED
    finally:
        kube.core.delete_namespace(LOWERED)


@pytest.mark.parametrize("namespace", [GOV3, GOV2, IND1, XC3, XC2])
def test_a_compliant_pod_is_admitted_and_placed_on_its_pool(
        onboarded: e2ecity.City, kube: kubeops.Kube, namespace: str) -> None:
    admitted: list[Any] = []
    kubeops.admitted(lambda: admitted.append(_create_pod(kube, namespace, pod(namespace))))
    placed = admitted[-1].spec
    pool = POOL[namespace]
    # PodNodeSelector and PodTolerationRestriction applied the namespace's defaults.
    assert placed.node_selector["citycloud.io/pool"] == pool
    assert any(t.key == "citycloud.io/pool" and t.value == pool for t in placed.tolerations)


@pytest.mark.parametrize(("namespace", "changes", "expected"), [
    pytest.param(GOV3, {"privileged": True}, r"privileged", id="privileged-mlps3-gov"),
    pytest.param(XC3, {"privileged": True}, r"privileged", id="privileged-mlps3-xinchuang"),
    pytest.param(GOV3, {"image": "docker.io/library/nginx:1.27"},
                 r"citycloud-gov-approved-images.*only from its approved registries: "
                 r"registry\.gov\.whcloud\.cn", id="unapproved-registry"),
    pytest.param(IND1, {"image": "registry.gov.whcloud.cn/app:1.0"},
                 r"citycloud-industry-approved-images", id="another-pools-registry"),
    pytest.param(GOV2, {"image": "registry.gov.whcloud.cn.example.com/app:1.0"},
                 r"citycloud-gov-approved-images", id="registry-name-prefix-trick"),
    pytest.param(XC2, {"nodeSelector": {"kubernetes.io/arch": "riscv64"}},
                 r"citycloud-xinchuang-pool-placement.*only arm64, amd64, loong64",
                 id="xinchuang-unknown-architecture"),
    pytest.param(GOV2, {"nodeSelector": {"citycloud.io/pool": "industry"}},
                 r"conflicts with its namespace node label selector|another pool's nodes",
                 id="another-pools-nodes"),
    pytest.param(IND1, {"hostNetwork": True}, r"host", id="host-network"),
    pytest.param(IND1, {"host_port": 8080}, r"hostPort|host ports", id="host-port"),
    pytest.param(GOV2, {"priorityClassName": "citycloud-gov-platform"},
                 r"citycloud-gov-pool-placement.*only its tenant priority classes",
                 id="the-platforms-priority"),
    pytest.param(GOV2, {"annotations": {"k8s.v1.cni.cncf.io/networks": "kube-system/flat"}},
                 r"citycloud-gov-no-host-network.*Multus annotations", id="multus-annotation"),
    pytest.param(GOV3, {"volumes": [{"name": "d",
                                     "csi": {"driver": "secrets-store.csi.k8s.io"}}]},
                 r"citycloud-gov-no-inline-volumes", id="inline-csi-mlps3"),
    # Network volumes are mounted by the node, by address, outside every NetworkPolicy.
    pytest.param(IND1, {"volumes": [{"name": "d", "nfs": {"server": "10.20.0.5",
                                                          "path": "/export"}}]},
                 r"citycloud-industry-volume-types.*network volumes", id="nfs-mlps1"),
    pytest.param(GOV2, {"volumes": [{"name": "d", "iscsi": {
        "targetPortal": "10.20.0.6:3260", "iqn": "iqn.2026-01.cn.wh:disk", "lun": 0}}]},
                 r"citycloud-gov-volume-types", id="iscsi-mlps2"),
    pytest.param(XC2, {"volumes": [{"name": "d", "fc": {"wwids": ["3600508b4001"]}}]},
                 r"citycloud-xinchuang-volume-types", id="fc-mlps2"),
    pytest.param(GOV2, {"volumes": [{"name": "d", "csi": {"driver": "rbd.csi.ceph.com"}}]},
                 r"citycloud-gov-volume-types", id="inline-csi-of-another-driver"),
])
def test_guardrails_refuse_pods(onboarded: e2ecity.City, kube: kubeops.Kube, namespace: str,
                                changes: dict[str, Any], expected: str) -> None:
    message = kubeops.refused(lambda: _create_pod(kube, namespace, pod(namespace, **changes)))
    assert re.search(expected, message), message


def test_volumes_that_stay_inside_the_pool_are_admitted(
        onboarded: e2ecity.City, kube: kubeops.Kube) -> None:
    volumes = [{"name": "config", "configMap": {"name": "app"}}, {"name": "tmp", "emptyDir": {}},
               {"name": "token", "projected": {"sources": [
                   {"serviceAccountToken": {"path": "token"}}]}},
               {"name": "secrets", "csi": {"driver": "secrets-store.csi.k8s.io"}}]
    kubeops.admitted(lambda: _create_pod(kube, GOV2, pod(GOV2, volumes=volumes)))


def test_the_privileged_guardrail_holds_where_pod_security_was_lowered(
        kube: kubeops.Kube, lowered: str) -> None:
    def create(**changes: Any) -> Any:
        body = pod(lowered, nodeSelector={"citycloud.io/pool": "gov"}, **changes)
        return _create_pod(kube, lowered, body)

    kubeops.admitted(create)  # the namespace admits compliant pods: only privilege is refused
    message = kubeops.refused(lambda: create(privileged=True))
    assert "citycloud-gov-no-privileged" in message, message
    assert "MLPS level 3+ namespaces run no privileged containers" in message
    message = kubeops.refused(lambda: create(hostPID=True))
    assert "may not share the host's process namespace" in message


def test_tenants_may_not_build_network_plumbing(
        onboarded: e2ecity.City, kube: kubeops.Kube, attachment_crd: str) -> None:
    attachment = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
                  "metadata": {"name": "private-line"},
                  "spec": {"config": '{"cniVersion": "0.3.1", "type": "macvlan", '
                                     '"master": "eth1"}'}}
    message = kubeops.refused(lambda: kube.custom.create_namespaced_custom_object(
        "k8s.cni.cncf.io", "v1", GOV3, "network-attachment-definitions", attachment,
        dry_run="All"))
    assert "citycloud-gov-no-network-attachments" in message
    assert "may not create their own network plumbing" in message


def _service(kind: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "e2e-exposed"},
            "spec": {"type": kind, "selector": {"app": "x"},
                     "ports": [{"port": 80, "targetPort": 8080}], **spec}}


@pytest.mark.parametrize(("namespace", "service", "expected"), [
    pytest.param(IND1, _service("NodePort"), r"citycloud-industry-no-exposed-services.*"
                 r"NodePort or LoadBalancer", id="nodeport"),
    pytest.param(GOV3, _service("LoadBalancer"), r"NodePort or LoadBalancer",
                 id="loadbalancer"),
    pytest.param(XC2, _service("ClusterIP", externalIPs=["203.0.113.10"]),
                 r"may not claim externalIPs", id="external-ips"),
    pytest.param(GOV2, _service("ExternalName", externalName="kubernetes.default.svc"),
                 r"may not be ExternalName", id="external-name"),
])
def test_exposed_services_are_refused(onboarded: e2ecity.City, kube: kubeops.Kube,
                                      namespace: str, service: dict[str, Any],
                                      expected: str) -> None:
    message = kubeops.refused(
        lambda: kube.core.create_namespaced_service(namespace, service, dry_run="All"))
    assert re.search(expected, message), message
    kubeops.admitted(lambda: kube.core.create_namespaced_service(
        namespace, _service("ClusterIP"), dry_run="All"))


@pytest.mark.parametrize(("storage_class", "expected"), [
    pytest.param("gov-ceph-sm4", r"citycloud-industry-pool-storage.*industry-ceph-ssd",
                 id="another-pools-class"),
    pytest.param("", r"citycloud-industry-pool-storage", id="static-volume-binding"),
])
def test_volumes_stay_on_their_pools_storage(onboarded: e2ecity.City, kube: kubeops.Kube,
                                             storage_class: str, expected: str) -> None:
    def claim(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "e2e-claim"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": name,
                         "resources": {"requests": {"storage": "1Gi"}}}}

    message = kubeops.refused(lambda: kube.core.create_namespaced_persistent_volume_claim(
        IND1, claim(storage_class), dry_run="All"))
    assert re.search(expected, message), message
    kubeops.admitted(lambda: kube.core.create_namespaced_persistent_volume_claim(
        IND1, claim("industry-ceph-hdd"), dry_run="All"))


def _binding(*subjects: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "e2e-grant"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "edit"},
            "subjects": list(subjects)}


GROUP = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group"}


@pytest.mark.parametrize(("subject", "admitted"), [
    pytest.param(GROUP | {"name": "wh-gongan-xxtx"}, True, id="own-owner-group"),
    pytest.param({"kind": "ServiceAccount", "name": "default",
                  "namespace": "wh-gongan-video-analytics"}, True, id="own-tenants-account"),
    pytest.param(GROUP | {"name": "wh-caidian-admins"}, False, id="other-departments-group"),
    pytest.param({"kind": "ServiceAccount", "name": "default", "namespace": GOV2}, False,
                 id="other-tenants-account"),
    pytest.param({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"},
                 False, id="a-user"),
])
def test_rolebindings_stay_within_the_tenant(onboarded: e2ecity.City, kube: kubeops.Kube,
                                             subject: dict[str, str], admitted: bool) -> None:
    def create() -> Any:
        return kube.rbac.create_namespaced_role_binding(GOV3, _binding(subject), dry_run="All")

    if admitted:
        kubeops.admitted(create)
    else:
        message = kubeops.refused(create)
        assert "citycloud-gov-tenant-rolebindings" in message
        assert "may bind only the tenant's owner groups" in message


def test_an_owner_cannot_let_another_department_in(
        onboarded: e2ecity.City, control_plane: controlplane.ControlPlane) -> None:
    """The realistic actor: the tenant's own admin, whose RBAC allows creating RoleBindings."""
    api = control_plane.api_client(impersonate="li.wei@gongan", groups=("wh-gongan-admins",))
    rbac = RbacAuthorizationV1Api(api)
    try:
        grant = _binding(GROUP | {"name": "wh-caidian-admins"})
        message = kubeops.refused(lambda: rbac.create_namespaced_role_binding(
            GOV3, copy.deepcopy(grant), dry_run="All"))
        assert "citycloud-gov-tenant-rolebindings" in message, message
        kubeops.admitted(lambda: rbac.create_namespaced_role_binding(
            GOV3, _binding(GROUP | {"name": "wh-gongan-xxtx"}), dry_run="All"))
        with pytest.raises(ApiException) as elsewhere:
            CoreV1Api(api).create_namespaced_config_map(
                GOV2, {"metadata": {"name": "x"}}, dry_run="All")
        assert elsewhere.value.status == 403
    finally:
        api.close()


def test_an_owner_cannot_remove_what_citycloud_put_in_its_namespace(
        onboarded: e2ecity.City, control_plane: controlplane.ControlPlane) -> None:
    """Kubernetes' `admin` role lets owners delete NetworkPolicies and RoleBindings; the
    managed-objects guardrail keeps the default-deny policy and the owners' binding, and
    leaves the owner's own policies to the owner."""
    api = control_plane.api_client(impersonate="li.wei@gongan", groups=("wh-gongan-admins",))
    networking, rbac = NetworkingV1Api(api), RbacAuthorizationV1Api(api)
    own = {"metadata": {"name": "e2e-allow-web"},
           "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                    "ingress": [{"from": [{"podSelector": {}}]}]}}
    try:
        for delete in (
                lambda: networking.delete_namespaced_network_policy(
                    "citycloud-default-deny", GOV3, dry_run="All"),
                lambda: rbac.delete_namespaced_role_binding(
                    render.OWNER_BINDING, GOV3, dry_run="All")):
            message = kubeops.refused(delete)
            assert "citycloud-gov-managed-objects" in message, message
        networking.create_namespaced_network_policy(GOV3, own)
        kubeops.admitted(lambda: networking.delete_namespaced_network_policy(
            "e2e-allow-web", GOV3))
    finally:
        api.close()


def _as_owner(control_plane: controlplane.ControlPlane,
              create: Callable[[NetworkingV1Api], Any], *, admitted: bool,
              guardrail: str) -> None:
    """`create` (a dry run) as wh-gongan-video's owner: admitted, or refused by `guardrail`."""
    api = control_plane.api_client(impersonate="li.wei@gongan", groups=("wh-gongan-admins",))
    try:
        if admitted:
            kubeops.admitted(lambda: create(NetworkingV1Api(api)))
        else:
            message = kubeops.refused(lambda: create(NetworkingV1Api(api)))
            assert guardrail in message, message
    finally:
        api.close()


@pytest.mark.parametrize(("peer", "admitted"), [
    pytest.param({"namespaceSelector": {"matchLabels": {render.LABEL_TENANT: "wh-gongan-video"}}},
                 True, id="the-tenants-namespaces"),
    pytest.param({"namespaceSelector": {}}, False, id="every-namespace"),
    pytest.param({"ipBlock": {"cidr": "0.0.0.0/0"}}, False, id="the-internet"),
])
def test_an_owners_network_policies_stay_within_the_tenant(
        onboarded: e2ecity.City, control_plane: controlplane.ControlPlane,
        peer: dict[str, Any], admitted: bool) -> None:
    policy = {"metadata": {"name": "e2e-owner-policy"},
              "spec": {"podSelector": {}, "ingress": [{"from": [peer]}]}}
    _as_owner(
        control_plane,
        lambda api: api.create_namespaced_network_policy(GOV3, copy.deepcopy(policy),
                                                         dry_run="All"),
        admitted=admitted, guardrail="citycloud-gov-tenant-network-policies")


@pytest.mark.parametrize(("host", "admitted"), [
    pytest.param("video.gongan.wuhan.gov.cn", True, id="its-own-host"),
    pytest.param("zwfw.wuhan.gov.cn", False, id="another-departments-host"),
    pytest.param(None, False, id="every-host"),
])
def test_an_owners_ingresses_serve_only_its_hosts(
        onboarded: e2ecity.City, control_plane: controlplane.ControlPlane,
        host: str | None, admitted: bool) -> None:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    rule: dict[str, Any] = {"http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": backend}]}}
    if host:
        rule["host"] = host
    body = {"metadata": {"name": "e2e-web"}, "spec": {"rules": [rule]}}
    _as_owner(
        control_plane,
        lambda api: api.create_namespaced_ingress(GOV3, copy.deepcopy(body), dry_run="All"),
        admitted=admitted, guardrail="citycloud-gov-tenant-ingress-hosts")


def test_every_guardrail_type_checks_on_the_real_api_server(
        onboarded: e2ecity.City, kube: kubeops.Kube) -> None:
    """The API server's CEL type checker finds nothing wrong with any expression."""
    selector = f"app.kubernetes.io/managed-by={render.MANAGED_BY}"

    def checked() -> list[Any] | None:
        policies = kube.admission.list_validating_admission_policy(
            label_selector=selector).items
        done = [p for p in policies if p.status and p.status.type_checking is not None
                and p.status.observed_generation == p.metadata.generation]
        return policies if policies and len(done) == len(policies) else None

    policies = kubeops.eventually(checked, timeout=90, what="every policy type-checked")
    assert len(policies) == 3 * 14 - 2  # industry has no encrypted-storage classes
    warnings = {p.metadata.name: [w.warning for w in p.status.type_checking.expression_warnings
                                  or []] for p in policies}
    assert {name: w for name, w in warnings.items() if w} == {}
