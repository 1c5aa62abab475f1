"""A tenant's life after onboarding, on the real cluster: resize, offboard, an interrupted apply.

Each test brings its own tenant into the registry (as its department's pull
request would), so the tests do not depend on each other's order.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import time
from typing import Any

import e2ecity
import kubeops
import pytest
from kubernetes.client import ApiException

from citycloud.stacks import layout
from citycloud.tenants import render

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _uids(kube: kubeops.Kube, manifests: list[render.Manifest]) -> dict[str, str]:
    found = {}
    for manifest in manifests:
        live = kube.live(manifest)
        assert live is not None, kubeops.key(manifest)
        found[kubeops.key(manifest)] = live["metadata"]["uid"]
    return found


def test_resize_changes_the_quota_in_place(city: e2ecity.City, kube: kubeops.Kube) -> None:
    tenant = "wh-minzheng-hunyin"  # gov, MLPS 3, one namespace, 16 CPU
    namespace = f"{tenant}-registry"
    path = city.add_tenant(tenant)
    onboard = city.ok("onboard", tenant, "--yes").json
    assert e2ecity.stack_statuses(onboard)[f"tenant/{tenant}"] == "applied"
    before = _uids(kube, city.rendered(tenant))

    text = path.read_text(encoding="utf-8")
    assert "cpu: 16" in text
    path.write_text(text.replace("cpu: 16", "cpu: 24"), encoding="utf-8")
    preview = city.ok("resize", tenant, "--dry-run").json
    [stack] = [s for s in preview["stacks"] if s["stack"] == f"tenant/{tenant}"]
    assert [(s["op"], s["kind"], s["name"]) for s in stack["steps"]] == [
        ("update", "ResourceQuota", f"{namespace}/citycloud-quota")]

    resized = city.ok("resize", tenant, "--yes").json
    assert e2ecity.stack_statuses(resized)[f"tenant/{tenant}"] == "applied"
    quota = kube.core.read_namespaced_resource_quota("citycloud-quota", namespace)
    assert quota.spec.hard["requests.cpu"] == "24" and quota.spec.hard["limits.cpu"] == "24"
    # In place: every object (the namespace, the quota) is the one that was there before.
    assert _uids(kube, city.rendered(tenant)) == before
    # The controller-manager enforces the new figure.
    kubeops.eventually(lambda: kube.core.read_namespaced_resource_quota(
        "citycloud-quota", namespace).status.hard["requests.cpu"] == "24",
        what="status.hard follows the resize")

    again = city.ok("resize", tenant, "--yes").json
    assert e2ecity.stack_statuses(again)[f"tenant/{tenant}"] == "unchanged"


def test_offboard_refuses_while_volumes_exist_and_then_removes_everything(
        city: e2ecity.City, kube: kubeops.Kube) -> None:
    tenant = "wh-jiangxia-nongye"  # industry, MLPS 1, one namespace
    namespace = f"{tenant}-portal"
    city.add_tenant(tenant)
    city.ok("onboard", tenant, "--yes")
    rendered = city.rendered(tenant)
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "farm-records"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    kubeops.admitted(lambda: kube.core.create_namespaced_persistent_volume_claim(
        namespace, claim))
    # The usual order: the department's pull request removes the file, then offboarding.
    city.remove_tenant(tenant)

    # The preview names what would go, claims included, and changes nothing.
    preview = city.ok("offboard", tenant, "--dry-run").json
    assert (preview["dryRun"], preview["offboarded"]) == (True, False)
    assert preview["namespaces"] == [namespace]
    assert preview["persistentVolumeClaims"] == [f"{namespace}/farm-records"]
    assert len(preview["resources"]) >= len(rendered)  # every object it rendered goes
    assert kube.namespace_phase(namespace) == "Active"

    refused = city.citycloud("offboard", tenant, "--yes")
    assert refused.code == 3, str(refused)
    assert f"{namespace}/farm-records" in refused.stderr and "--force" in refused.stderr
    assert kube.namespace_phase(namespace) == "Active"
    assert kube.labelled(f"{render.LABEL_TENANT}={tenant}") == {
        kubeops.key(m) for m in rendered}
    assert not list((city.state / "offboarded").glob(f"{tenant}-*.json"))

    done = city.ok("offboard", tenant, "--yes", "--force").json
    assert done["offboarded"] is True and done["namespaces"] == [namespace]
    assert done["persistentVolumeClaims"] == [f"{namespace}/farm-records"]
    record = json.loads(open(done["record"], encoding="utf-8").read())  # noqa: SIM115
    assert (record["status"], record["forced"], record["pool"]) == ("done", True, "industry")

    # The namespace controller (controller-manager) empties and removes the namespace.
    kubeops.eventually(lambda: kube.namespace_phase(namespace) is None, timeout=120,
                       what=f"namespace {namespace} deleted")
    assert kube.labelled(f"{render.LABEL_TENANT}={tenant}") == set()
    state = layout.StateDir(city.state)
    assert tenant not in state.stack_names(layout.Kind.TENANT)
    assert kube.core.read_namespace("citycloud-pool-industry").status.phase == "Active"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _shard(city: e2ecity.City, tenant: str) -> layout.StackRef:
    return layout.shard_of(tenant, cluster="")


def _checkpoint(city: e2ecity.City, shard: layout.StackRef) -> pathlib.Path:
    return (city.state / "pulumi" / ".pulumi" / "stacks" / shard.project
            / f"{shard.name}.json")


def _stack_state(city: e2ecity.City, shard: layout.StackRef) -> dict[str, Any]:
    checkpoint: dict[str, Any] = json.loads(_checkpoint(city, shard).read_text(
        encoding="utf-8"))
    return checkpoint["checkpoint"]["latest"]


@pytest.mark.parametrize(("tenant", "kill_group"), [
    pytest.param("wh-caizheng-yitihua", True, id="whole-process-group"),
    pytest.param("wh-zwfw-xietong", False, id="citycloud-only"),
])
def test_an_apply_killed_mid_way_converges_with_nothing_orphaned(
        city: e2ecity.City, kube: kubeops.Kube, tenant: str, kill_group: bool) -> None:
    """SIGKILL `citycloud apply` once it has started creating the tenant, then apply again.

    whole-process-group: citycloud, pulumi and the provider die together (a
    cancelled CI job), leaving a Pulumi lock and pending creates behind.
    citycloud-only: the engine outlives its program and must be waited for.
    """
    city.ok("apply", "--yes")  # everything else converged first: only this tenant changes
    city.add_tenant(tenant)
    rendered = city.rendered(tenant)
    namespaces = [m["metadata"]["name"] for m in rendered if m["kind"] == "Namespace"]
    assert len(rendered) > 20  # three namespaces: creation takes a moment to kill into
    process = city.popen("apply", "--yes")
    record = layout.StateDir(city.state).record_path(layout.tenant(tenant))
    deadline = time.monotonic() + 600

    def creating() -> bool:
        for name in namespaces:
            try:
                kube.core.read_namespace(name)
                return True
            except ApiException as err:
                if err.status != 404:
                    raise
        return False

    while not creating():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the apply never started creating"
        time.sleep(0.05)
    if kill_group:
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.send_signal(signal.SIGKILL)
    process.communicate()
    assert json.loads(record.read_text())["status"] == "running"  # killed mid-way indeed
    if kill_group:
        # The worst moment, made certain: the file backend writes a state file atomically but
        # its .attrs sidecar in place, so a kill in between leaves it empty (seen in this test
        # before citycloud learnt to drop torn sidecars: "failed to load checkpoint: EOF").
        checkpoint = _checkpoint(city, _shard(city, tenant)).with_suffix(".json.attrs")
        assert checkpoint.exists()
        checkpoint.write_bytes(b"")

    again = city.ok("apply", "--yes").json
    [outcome] = [s for s in again["stacks"] if s["stack"] == f"tenant/{tenant}"]
    if kill_group:  # the dead engine's lock and pending creates had to be cleared
        assert (outcome["status"], outcome["recovered"]) == ("applied", True), again
    else:  # the orphaned engine may have finished the creates itself
        assert outcome["status"] in ("applied", "in-sync"), again

    # Converged: every object as rendered, nothing else labelled with the tenant.
    assert kube.labelled(f"{render.LABEL_TENANT}={tenant}") == {
        kubeops.key(m) for m in rendered}
    for manifest in rendered:
        live = kube.live(manifest)
        assert live is not None and kubeops.differences(live, manifest) == []
    # The shard's state: the tenant once, holding each object once, nothing pending, no
    # lock left behind.
    shard = _shard(city, tenant)
    latest = _stack_state(city, shard)
    assert not latest.get("pending_operations")
    [mine] = [r for r in latest["resources"] if r["urn"].endswith(f"::{tenant}")]
    applied = mine["outputs"]["applied"]
    assert len(applied) == len(set(applied)) == len(rendered)
    assert not layout.StateDir(city.state).pulumi_locks(shard)
    # No engine or provider of the killed run is still about.
    kubeops.eventually(lambda: not _group_alive(process.pid), timeout=30,
                       what="the killed run's processes gone")

    settled = city.ok("apply", "--yes").json
    assert set(e2ecity.stack_statuses(settled).values()) == {"unchanged"}
