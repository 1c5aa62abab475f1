"""A shared-service flow on the real API server: the registry opens the door, and only it.

wh-caidian-zhengwu (gov) publishes `permits` to the wh-gongan department; wh-gongan-oa
(xinchuang; xinchuang -> gov is an allowed pool flow) asks for it from its `docs`
namespace, not from `oa`. Onboarding the consumer alone must converge the provider's end
too (stacks.operations: a door has an end in each tenant's stack). "Exactly" is checked
on every object citycloud manages in the city's units, not only the two tenants' (Census):
not recreated (uid), and nothing it says changed but its `status`, which the
controller-manager writes (a quota's usage), and the API server's bookkeeping.

The module shares the session's onboarded city: the `door` fixture opens the flow once,
the tests run in file order (the last one closes it), and the fixture puts both files back
as they were and converges whatever a failed test left open.
"""

from __future__ import annotations

import copy
import dataclasses
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import controlplane
import e2ecity
import kubeops
import pytest
import registries
import yaml
from kubernetes.client import ApiException, NetworkingV1Api, V1NetworkPolicyPort

from citycloud.tenants import render, units

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROVIDER, SERVICE = "wh-caidian-zhengwu", "permits"
SERVED = "wh-caidian-zhengwu-web"  # the service's namespace
CONSUMER = "wh-gongan-oa"
CALLING = "wh-gongan-oa-docs"  # the namespace the request names
IDLE = "wh-gongan-oa-oa"  # the consumer's other namespace: it asked for nothing
PORTS = [{"port": 8443, "protocol": "TCP"}, {"port": 8053, "protocol": "UDP"}]
SHARE_IN = f"citycloud-share-in-{SERVICE}-{CONSUMER}"
SHARE_OUT = f"citycloud-share-out-{PROVIDER}-{SERVICE}"
DOOR = {f"NetworkPolicy/{SERVED}/{SHARE_IN}", f"NetworkPolicy/{CALLING}/{SHARE_OUT}"}
OWNER = ("li.wei@gongan", ("wh-gongan-admins",))  # an owner of wh-gongan-oa
MANAGED = f"{render.LABEL_MANAGED_BY}={render.MANAGED_BY}"

Snapshot = dict[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Census:
    """What "every object citycloud manages" means here: the kinds the city renders, in
    the units (pools, tenants) of its registry. Objects of other units (a namespace another
    module's test labelled and may still be deleting) are left out."""

    kinds: frozenset[tuple[str, str]]
    folders: frozenset[str]

    @classmethod
    def of(cls, city: e2ecity.City) -> Census:
        platform = city.platform()
        return cls(frozenset((m["apiVersion"], m["kind"]) for m in units.render_all(platform)),
                   frozenset(unit.folder for unit in units.render_units(platform)))

    def take(self, kube: kubeops.Kube) -> Snapshot:
        """Each object by key: its uid and all it says but its status and the API server's
        bookkeeping (resourceVersion, managedFields)."""
        found = {}
        for api_version, kind in sorted(self.kinds):
            for item in kube.resource(api_version, kind).get(label_selector=MANAGED).items:
                live: dict[str, Any] = item.to_dict()
                if units.folder_of(live) not in self.folders:
                    continue
                metadata = {k: v for k, v in live["metadata"].items()
                            if k not in ("resourceVersion", "managedFields")}
                key = kubeops.key({"apiVersion": api_version, "kind": kind,
                                   "metadata": metadata})
                found[key] = {k: v for k, v in live.items() if k != "status"} | {
                    "metadata": metadata}
        return found


@dataclasses.dataclass(frozen=True)
class Door:
    """The flow as the fixture opened it: the cluster before and after, and the report."""

    census: Census
    closed: Snapshot
    opened: Snapshot
    onboard: dict[str, Any]


def _edit(path: pathlib.Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a tenant file's spec, as its department's pull request would."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document["spec"])
    path.write_text(registries.text(document), encoding="utf-8")


def _changes(before: Snapshot, after: Snapshot) -> dict[str, set[str]]:
    return {"created": after.keys() - before.keys(), "deleted": before.keys() - after.keys(),
            "changed": {k for k in before.keys() & after.keys() if before[k] != after[k]}}


def _changed_stacks(report: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    """The stacks a command applied, with their steps; every other stack must be unchanged."""
    assert {s["status"] for s in report["stacks"]} <= {"applied", "unchanged"}, report
    return {s["stack"]: sorted((step["op"], step["kind"], step["name"]) for step in s["steps"])
            for s in report["stacks"] if s["status"] == "applied"}


@pytest.fixture(scope="module")
def door(onboarded: e2ecity.City, kube: kubeops.Kube) -> Iterator[Door]:
    provider = e2ecity.tenant_file(PROVIDER, onboarded.registry)
    consumer = e2ecity.tenant_file(CONSUMER, onboarded.registry)
    originals = {path: path.read_text(encoding="utf-8") for path in (provider, consumer)}
    try:
        census = Census.of(onboarded)
        _edit(provider, lambda spec: spec.setdefault("services", []).append({
            "name": SERVICE, "namespace": "web", "ports": PORTS, "kind": "permit-records",
            "audience": {"departments": ["wh-gongan"]}}))
        _edit(consumer, lambda spec: spec.setdefault("consumes", []).append(
            {"tenant": PROVIDER, "service": SERVICE, "namespaces": ["docs"]}))
        closed = census.take(kube)
        assert not DOOR & closed.keys()
        report = onboarded.ok("onboard", CONSUMER, "--yes").json
        yield Door(census, closed, census.take(kube), report)
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
        left_open = kube.labelled(f"{render.LABEL_SHARE_CONSUMER}={CONSUMER}")
        if left_open or onboarded.ok("plan", "-t", PROVIDER, "-t", CONSUMER).json["changes"]:
            onboarded.ok("apply", "--yes")  # a test failed half-way: converge the city back


def test_onboarding_the_consumer_opens_exactly_both_ends_of_the_door(
        door: Door, kube: kubeops.Kube) -> None:
    # Both tenants' stacks changed by one policy each; no pool, no other tenant.
    assert _changed_stacks(door.onboard) == {
        f"tenant/{CONSUMER}": [("create", "NetworkPolicy", f"{CALLING}/{SHARE_OUT}")],
        f"tenant/{PROVIDER}": [("create", "NetworkPolicy", f"{SERVED}/{SHARE_IN}")]}
    # The cluster: the two policies are new, nothing else citycloud manages moved.
    assert _changes(door.closed, door.opened) == {
        "created": DOOR, "deleted": set(), "changed": set()}

    share_in = door.opened[f"NetworkPolicy/{SERVED}/{SHARE_IN}"]
    assert share_in["spec"] == {
        "podSelector": {}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": CALLING}}}], "ports": PORTS}]}
    share_out = door.opened[f"NetworkPolicy/{CALLING}/{SHARE_OUT}"]
    assert share_out["spec"] == {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": SERVED}}}], "ports": PORTS}]}
    for policy, owner in ((share_in, PROVIDER), (share_out, CONSUMER)):
        metadata = policy["metadata"]
        assert metadata["labels"][render.LABEL_TENANT] == owner  # its end is in owner's unit
        assert {k: metadata["labels"][k] for k in (
            render.LABEL_SHARE_PROVIDER, render.LABEL_SHARE_SERVICE,
            render.LABEL_SHARE_CONSUMER)} == {
            render.LABEL_SHARE_PROVIDER: PROVIDER, render.LABEL_SHARE_SERVICE: SERVICE,
            render.LABEL_SHARE_CONSUMER: CONSUMER}
        assert metadata["annotations"] == {
            render.ANNOTATION_SHARE_KIND: "permit-records",
            render.ANNOTATION_SHARE_GRANT: f"{CONSUMER} -> {PROVIDER}/{SERVICE}"}
    # What `kubectl get networkpolicy -A -l citycloud.io/share-provider=...` lists.
    assert kube.labelled(f"{render.LABEL_SHARE_PROVIDER}={PROVIDER}") == DOOR


def _owner_api(control_plane: controlplane.ControlPlane) -> Any:
    user, groups = OWNER
    return control_plane.api_client(impersonate=user, groups=groups)


def _egress(name: str, peer: dict[str, Any], port: int) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                     "egress": [{"to": [peer], "ports": [{"port": port}]}]}}


def _by_name(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {render.LABEL_NAMESPACE_NAME: namespace}}}


@pytest.mark.parametrize(("namespace", "peer", "port", "admitted"), [
    pytest.param(CALLING, {"namespaceSelector": {"matchLabels": {
        render.LABEL_TENANT: CONSUMER}}}, 8443, True, id="its-own-namespaces"),
    pytest.param(CALLING, _by_name(SERVED), 22, False, id="the-provider-on-another-port"),
    pytest.param(IDLE, _by_name(SERVED), 8443, False, id="the-provider-from-another-namespace"),
    pytest.param(CALLING, {"namespaceSelector": {"matchLabels": {
        render.LABEL_TENANT: PROVIDER}}}, 8443, False, id="the-provider-by-its-tenant-label"),
])
def test_an_owner_still_cannot_open_a_door_by_hand(
        door: Door, control_plane: controlplane.ControlPlane, namespace: str,
        peer: dict[str, Any], port: int, admitted: bool) -> None:
    """The registry granted one door; the consumer's owner may not widen it themselves."""
    policy = _egress("e2e-owner-egress", peer, port)
    api = _owner_api(control_plane)
    networking = NetworkingV1Api(api)

    def create() -> Any:
        return networking.create_namespaced_network_policy(
            namespace, copy.deepcopy(policy), dry_run="All")

    try:
        # RBAC first (the controller-manager aggregates `admin`), so a refusal is the guardrail's.
        kubeops.eventually(lambda: networking.create_namespaced_network_policy(
            namespace, _egress("e2e-owner-rbac", {"podSelector": {}}, 8443), dry_run="All"),
            what="the owner may create NetworkPolicies in its namespace")
        if admitted:
            kubeops.admitted(create)
        else:
            message = kubeops.refused(create)
            assert "citycloud-xinchuang-tenant-network-policies" in message, message
    finally:
        api.close()


def test_an_owner_cannot_change_or_remove_the_rendered_door(
        door: Door, control_plane: controlplane.ControlPlane, kube: kubeops.Kube) -> None:
    rendered = kube.live({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                          "metadata": {"name": SHARE_OUT, "namespace": CALLING}})
    assert rendered is not None, "the door is open until the last test of this module"
    api = _owner_api(control_plane)
    networking = NetworkingV1Api(api)
    try:
        kubeops.eventually(lambda: networking.read_namespaced_network_policy(SHARE_OUT, CALLING),
                           what="the owner reads the rendered policy")

        def replaced(change: Callable[[Any], None]) -> Callable[[], Any]:
            def replace() -> Any:
                policy = networking.read_namespaced_network_policy(SHARE_OUT, CALLING)
                change(policy)
                return networking.replace_namespaced_network_policy(
                    SHARE_OUT, CALLING, policy, dry_run="All")
            return replace

        def another_port(policy: Any) -> None:
            policy.spec.egress[0].ports.append(V1NetworkPolicyPort(port=22, protocol="TCP"))

        def unmanaged(policy: Any) -> None:
            del policy.metadata.labels[render.LABEL_MANAGED_BY]

        managed, peers = (f"citycloud-xinchuang-{rule}" for rule in (
            "managed-objects", "tenant-network-policies"))
        for attempt, guardrails in (
                (lambda: networking.delete_namespaced_network_policy(
                    SHARE_OUT, CALLING, dry_run="All"), {managed}),
                # Both refuse a wider door; the API server names the first that denied.
                (replaced(another_port), {managed, peers}),
                (replaced(unmanaged), {managed})):  # the spec is unchanged: peers let it be
            message = kubeops.refused(attempt)
            assert any(g in message for g in guardrails), message
        # The provider's end is in another department's namespace: no rights there at all.
        with pytest.raises(ApiException) as elsewhere:
            networking.delete_namespaced_network_policy(SHARE_IN, SERVED, dry_run="All")
        assert elsewhere.value.status == 403
    finally:
        api.close()
    assert door.census.take(kube) == door.opened


def test_dropping_the_request_closes_both_ends_and_nothing_else(
        door: Door, onboarded: e2ecity.City, kube: kubeops.Kube) -> None:
    """Last in the module: the consumer's file drops its request (the provider still
    publishes the service) and `resize` of the consumer alone closes both ends."""
    _edit(e2ecity.tenant_file(CONSUMER, onboarded.registry),
          lambda spec: spec.pop("consumes"))
    report = onboarded.ok("resize", CONSUMER, "--yes").json
    assert _changed_stacks(report) == {
        f"tenant/{CONSUMER}": [("delete", "NetworkPolicy", f"{CALLING}/{SHARE_OUT}")],
        f"tenant/{PROVIDER}": [("delete", "NetworkPolicy", f"{SERVED}/{SHARE_IN}")]}
    closed = door.census.take(kube)
    assert _changes(door.opened, closed) == {
        "created": set(), "deleted": DOOR, "changed": set()}
    # Back to the city before the grant, object for object.
    assert _changes(door.closed, closed) == {"created": set(), "deleted": set(), "changed": set()}
    assert kube.labelled(f"{render.LABEL_SHARE_CONSUMER}={CONSUMER}") == set()
