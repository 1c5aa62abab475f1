"""One department never gets rights in another's namespaces: RBAC on the real API server.

The owner groups of a tenant are bound to Kubernetes' built-in `admin` role in
the tenant's namespaces and nowhere else. The API server's own authorizer
answers SubjectAccessReviews; impersonation then makes real requests as an
owner. The `admin` role is filled by the controller-manager's ClusterRole
aggregation, so the first answers are awaited.
"""

from __future__ import annotations

import contextlib

import controlplane
import e2ecity
import kubeops
import pytest
from kubernetes.client import ApiException, CoreV1Api

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GONGAN = "wh-gongan-admins"  # owns wh-gongan-video (gov) and wh-gongan-oa (xinchuang)
CAIDIAN = "wh-caidian-admins"  # owns wh-caidian-zhengwu (gov)


def _review(kube: kubeops.Kube, group: str, *, namespace: str, verb: str, resource: str,
            api_group: str = "") -> bool:
    review = kube.authz.create_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": f"someone-in-{group}", "groups": [group, "system:authenticated"],
                 "resourceAttributes": {"namespace": namespace, "verb": verb,
                                        "group": api_group, "resource": resource}}})
    return bool(review.status.allowed)


@pytest.mark.parametrize(("group", "namespace", "verb", "resource", "api_group", "allowed"), [
    pytest.param(GONGAN, "wh-gongan-video-video", "create", "deployments", "apps", True,
                 id="owner-deploys-in-own-namespace"),
    pytest.param(GONGAN, "wh-gongan-video-analytics", "delete", "pods", "", True,
                 id="owner-deletes-pods-in-own-second-namespace"),
    pytest.param(GONGAN, "wh-gongan-oa-oa", "create", "configmaps", "", True,
                 id="same-department-other-pool"),
    pytest.param(GONGAN, "wh-caidian-zhengwu-web", "create", "deployments", "apps", False,
                 id="owner-refused-in-other-department"),
    pytest.param(GONGAN, "wh-caidian-zhengwu-web", "get", "secrets", "", False,
                 id="owner-cannot-read-other-departments-secrets"),
    pytest.param(GONGAN, "wh-huangpi-wenlv-web", "list", "pods", "", False,
                 id="owner-cannot-even-list-in-another-pool"),
    pytest.param(CAIDIAN, "wh-caidian-zhengwu-web", "create", "services", "", True,
                 id="other-owner-in-own-namespace"),
    pytest.param(CAIDIAN, "wh-gongan-video-video", "create", "rolebindings",
                 "rbac.authorization.k8s.io", False, id="other-owner-cannot-grant-itself"),
    pytest.param(GONGAN, "wh-gongan-video-video", "update", "resourcequotas", "", False,
                 id="owner-cannot-raise-own-quota"),
    pytest.param(GONGAN, "", "create", "namespaces", "", False,
                 id="owner-cannot-make-namespaces"),
])
def test_owner_rights_end_at_the_department(
        onboarded: e2ecity.City, kube: kubeops.Kube, group: str, namespace: str, verb: str,
        resource: str, api_group: str, allowed: bool) -> None:
    # Wait for ClusterRole aggregation to fill `admin` before believing a denial.
    kubeops.eventually(lambda: _review(kube, GONGAN, namespace="wh-gongan-video-video",
                                       verb="create", resource="pods"),
                       what="the admin role aggregated")
    assert _review(kube, group, namespace=namespace, verb=verb, resource=resource,
                   api_group=api_group) is allowed


def test_an_impersonated_owner_works_in_its_namespace_and_is_refused_next_door(
        onboarded: e2ecity.City, control_plane: controlplane.ControlPlane,
        kube: kubeops.Kube) -> None:
    api = control_plane.api_client(impersonate="li.wei@gongan", groups=(GONGAN,))
    core = CoreV1Api(api)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e2e-isolation"},
              "data": {"k": "v"}}
    try:
        kubeops.eventually(
            lambda: core.create_namespaced_config_map("wh-gongan-video-video", config),
            what="the owner creates a ConfigMap in its own namespace")
        assert core.read_namespaced_config_map("e2e-isolation", "wh-gongan-video-video")
        with pytest.raises(ApiException) as refused:
            core.create_namespaced_config_map("wh-caidian-zhengwu-web", config)
        assert refused.value.status == 403
        message = kubeops.message(refused.value)
        assert 'User "li.wei@gongan" cannot create resource "configmaps"' in message
        assert 'in the namespace "wh-caidian-zhengwu-web"' in message
        with pytest.raises(ApiException) as listed:
            core.list_namespaced_secret("wh-caidian-zhengwu-web")
        assert listed.value.status == 403
    finally:
        with contextlib.suppress(ApiException):
            kube.core.delete_namespaced_config_map("e2e-isolation", "wh-gongan-video-video")
        api.close()
