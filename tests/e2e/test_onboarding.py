"""`citycloud onboard` and `apply` on a real API server: the cluster holds what render says.

Two tenants per pool are onboarded once per session (conftest `onboarded`),
each by its own `citycloud onboard` process through the real Pulumi engine and
Kubernetes provider. Every object `tenants.render.render_tenant` returns must
then exist with its labels, annotations and spec, and nothing else labelled
with the tenant; the pool stacks' objects (guardrails, priority classes, the
platform namespace) likewise. Applying again changes nothing, and a refreshed
preview (every object read back from the cluster) shows no difference.
"""

from __future__ import annotations

import re

import e2ecity
import kubeops
import pytest

from citycloud.tenants import render, units

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.parametrize("tenant", [
    pytest.param(name, id=f"{pool}-{name}")
    for pool, names in e2ecity.BASE.items() for name in names])
def test_onboarded_tenant_objects_exist_as_rendered(
        onboarded: e2ecity.City, kube: kubeops.Kube, tenant: str) -> None:
    rendered = onboarded.rendered(tenant)
    kinds = {m["kind"] for m in rendered}
    assert {"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "RoleBinding"} <= kinds

    problems = []
    for manifest in rendered:
        live = kube.live(manifest)
        if live is None:
            problems.append(f"{kubeops.key(manifest)}: not in the cluster")
            continue
        problems += [f"{kubeops.key(manifest)}{d}" for d in kubeops.differences(live, manifest)]
    assert problems == []

    # Nothing else carries the tenant's label: no leftovers, no duplicates under other names.
    found = kube.labelled(f"{render.LABEL_TENANT}={tenant}")
    assert found == {kubeops.key(m) for m in rendered}


def test_tenant_namespaces_carry_the_security_baseline(
        onboarded: e2ecity.City, kube: kubeops.Kube) -> None:
    """Read back from the cluster, not from the renderer: PSA level by MLPS, placement."""
    platform = onboarded.platform()
    restricted_from = platform.spec.spec.policies.security.restricted_from_level
    for name in e2ecity.BASE_TENANTS:
        tenant = platform.tenants[name]
        for namespace in tenant.namespace_names():
            labels = kube.core.read_namespace(namespace).metadata.labels
            level = "restricted" if tenant.spec.classification >= restricted_from else "baseline"
            assert labels["pod-security.kubernetes.io/enforce"] == level, namespace
            assert labels[render.LABEL_DEPARTMENT] == tenant.department
            assert labels[render.LABEL_POOL] == tenant.spec.pool
            assert labels[render.LABEL_CLASSIFICATION] == str(tenant.spec.classification)
            binding = kube.rbac.read_namespaced_role_binding(render.OWNER_BINDING, namespace)
            assert sorted(s.name for s in binding.subjects) == sorted(tenant.spec.owners)
            assert binding.role_ref.name == render.OWNER_CLUSTER_ROLE


@pytest.mark.parametrize("pool", sorted(e2ecity.BASE))
def test_pool_stack_objects_exist_as_rendered(
        onboarded: e2ecity.City, kube: kubeops.Kube, pool: str) -> None:
    platform = onboarded.platform()
    rendered = units.pool_units(platform, pool)[0].manifests
    kinds = {m["kind"] for m in rendered}
    assert {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
            "PriorityClass", "Namespace"} <= kinds
    problems = []
    for manifest in rendered:
        live = kube.live(manifest)
        if live is None:
            problems.append(f"{kubeops.key(manifest)}: not in the cluster")
            continue
        problems += [f"{kubeops.key(manifest)}{d}" for d in kubeops.differences(live, manifest)]
    assert problems == []


def test_apply_again_changes_nothing_and_a_refreshed_preview_shows_no_diff(
        onboarded: e2ecity.City) -> None:
    first = onboarded.ok("apply", "--yes").json  # converges whatever other tests added
    assert first["ok"] is True

    again = onboarded.ok("apply", "--yes").json
    statuses = e2ecity.stack_statuses(again)
    assert set(statuses.values()) == {"unchanged"}, statuses
    assert {f"tenant/{t}" for t in e2ecity.BASE_TENANTS} | {f"pool/{p}" for p in e2ecity.BASE} \
        <= set(statuses)

    # The engine itself: every pool stack refreshed from the cluster and previewed, no step;
    # every tenant shown with no step, to be applied again (a refresh re-applies a tenant's
    # objects by server-side apply, which corrects any drift, instead of reading them back).
    preview = onboarded.ok("apply", "--dry-run", "--refresh", "--parallel", "4").json
    assert {s["stack"]: (s["status"], s["steps"]) for s in preview["stacks"]} == {
        stack: ("in-sync" if stack.startswith("pool/") else "changes", [])
        for stack in statuses}

    plan = onboarded.ok("plan").json
    assert plan["changes"] == []


def test_doctor_finds_the_engine_and_the_cluster(city: e2ecity.City) -> None:
    """What a user pastes into a bug report: the real binaries and cluster, found."""
    report = city.ok("doctor").json
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["pulumi"]["found"] and checks["pulumi"]["version"].startswith("v3.")
    assert checks["pulumi-resource-kubernetes"]["found"]
    kubernetes_version = re.search(r"^KUBERNETES_VERSION=(\S+)$", (
        e2ecity.ROOT / "scripts/controlplane/versions.env").read_text(), re.M)
    assert kubernetes_version is not None
    assert checks["cluster"]["found"] and checks["cluster"]["version"] == (
        kubernetes_version.group(1)), checks["cluster"]
