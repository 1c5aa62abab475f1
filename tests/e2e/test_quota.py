"""Tenant quotas held by the API server, counted by the controller-manager, read by the exporter.

No kubelet runs, so pods stay Pending forever; that is enough: quota is
charged when a pod is admitted and released when it is deleted, and the
controller-manager's quota controller keeps status.used. The exporter's
cluster reader (monitoring.cluster.read) is given an ApiClient for this
cluster and must report the same usage.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import e2ecity
import kubeops
import pytest
from kubernetes.client import ApiException

from citycloud.monitoring import cluster
from citycloud.tenants import quantities, render

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TENANT = "wh-caidian-zhengwu"  # gov, MLPS 2, one namespace: the whole quota (16 CPU) is in it
NAMESPACE = "wh-caidian-zhengwu-web"
QUOTA = "citycloud-quota"


def _pod(name: str, cpu: str, memory: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app", "image": "registry.gov.whcloud.cn/app:1.0",
            "securityContext": {"allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]}},
            "resources": {"requests": {"cpu": cpu, "memory": memory},
                          "limits": {"cpu": cpu, "memory": memory}}}]}}


def _used(kube: kubeops.Kube, resource: str) -> Fraction | None:
    status = kube.core.read_namespaced_resource_quota(QUOTA, NAMESPACE).status
    value = (status.used or {}).get(resource) if status else None
    return None if value is None else quantities.parse(value).value


@pytest.fixture
def cleanup_pods(kube: kubeops.Kube) -> Iterator[list[str]]:
    created: list[str] = []
    yield created
    for name in created:
        try:
            kube.core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)
        except ApiException as err:
            if err.status != 404:
                raise


def test_quota_refuses_a_pod_beyond_it_and_counts_what_it_admits(
        onboarded: e2ecity.City, kube: kubeops.Kube, cleanup_pods: list[str]) -> None:
    [rendered] = [m for m in onboarded.rendered(TENANT) if m["kind"] == "ResourceQuota"]
    hard = quantities.parse(rendered["spec"]["hard"]["requests.cpu"]).value
    assert hard == 16

    message = kubeops.refused(lambda: kube.core.create_namespaced_pod(
        NAMESPACE, _pod("too-big", "17", "1Gi"), dry_run="All"))
    assert f"exceeded quota: {QUOTA}" in message and "requests.cpu=17" in message, message

    kubeops.admitted(lambda: kube.core.create_namespaced_pod(
        NAMESPACE, _pod("web-1", "10", "4Gi")))
    cleanup_pods.append("web-1")
    assert kubeops.eventually(lambda: _used(kube, "requests.cpu") == 10,
                              what="quota usage of the admitted pod")
    assert _used(kube, "requests.memory") == 4 * 2**30

    # 10 + 7 > 16: refused now, though the same pod alone would fit.
    message = kubeops.refused(lambda: kube.core.create_namespaced_pod(
        NAMESPACE, _pod("web-2", "7", "1Gi"), dry_run="All"))
    assert "exceeded quota" in message and "used: " in message and "requests.cpu=10" in message

    # The exporter's reader sees the same usage and the quota as rendered.
    snapshot = cluster.read(kube.api)
    [status] = [q for q in snapshot.quotas if q.namespace == NAMESPACE]
    assert status.name == QUOTA
    assert status.hard["requests.cpu"] == 16
    assert status.used["requests.cpu"] == 10 and status.used["requests.memory"] == 4 * 2**30
    managed = {ns for name in e2ecity.BASE_TENANTS
               for ns in onboarded.platform().tenants[name].namespace_names()}
    assert managed <= {q.namespace for q in snapshot.quotas}

    # Deleting the pod gives the quota back: the controller-manager recalculates usage.
    kube.core.delete_namespaced_pod("web-1", NAMESPACE, grace_period_seconds=0)
    kubeops.eventually(lambda: _used(kube, "requests.cpu") == 0, what="usage released")
    kubeops.admitted(lambda: kube.core.create_namespaced_pod(
        NAMESPACE, _pod("web-2", "7", "1Gi"), dry_run="All"))


def test_the_exporter_reads_quota_hard_limits_of_every_tenant_namespace(
        onboarded: e2ecity.City, kube: kubeops.Kube) -> None:
    platform = onboarded.platform()
    expected = {m["metadata"]["namespace"]: quantities.parse(
        m["spec"]["hard"]["requests.cpu"]).value
        for name in e2ecity.BASE_TENANTS
        for m in render.render_tenant(platform.tenants[name], platform=platform)
        if m["kind"] == "ResourceQuota"}

    def complete() -> dict[str, Fraction] | None:
        read = {q.namespace: q.hard.get("requests.cpu") for q in cluster.read(kube.api).quotas}
        return read if all(read.get(ns) == cpu for ns, cpu in expected.items()) else None

    read = kubeops.eventually(complete, what="status.hard of every tenant quota")
    assert {ns: read[ns] for ns in expected} == expected


def test_the_exporter_counts_network_plumbing_outside_tenant_namespaces(
        onboarded: e2ecity.City, kube: kubeops.Kube, attachment_crd: str) -> None:
    """A namespace no tenant owns is not guarded: the exporter is the check there."""
    namespace = "e2e-rogue"
    kube.core.create_namespace({"metadata": {"name": namespace}})
    try:
        kube.core.create_namespaced_service(namespace, {
            "metadata": {"name": "private-line"},
            "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]}})
        kube.custom.create_namespaced_custom_object(
            "k8s.cni.cncf.io", "v1", namespace, "network-attachment-definitions",
            {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
             "metadata": {"name": "leased-line"}, "spec": {"config": "{}"}})
        snapshot = cluster.read(kube.api)
        assert snapshot.attachments_crd is True
        found = {(p.kind, p.name) for p in snapshot.plumbing if p.namespace == namespace}
        assert found == {(cluster.NODEPORT_SERVICE, "private-line"),
                         (cluster.NETWORK_ATTACHMENT, "leased-line")}
    finally:
        kube.core.delete_namespace(namespace)
