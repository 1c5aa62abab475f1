"""What a set of rendered NetworkPolicies lets through, namespace to namespace.

A small model of the Kubernetes NetworkPolicy semantics, for the render tests: a pod is
isolated in a direction once any policy of its namespace selects it for that direction,
and then only a rule of such a policy admits traffic; a connection needs the source's
egress and the target's ingress. It models only what tenants.render writes (podSelector
`{}` or matchLabels, namespaceSelector matchLabels, ipBlock, numbered ports) and refuses
anything else, so a renderer change it does not understand fails loudly. Pods are
unlabelled tenant pods; an ipBlock never matches one (pod addresses are not modelled).

It is not an independent judge: test_render_sharing_cyclonus.py asks cyclonus (cyclonus.py,
policy-assistant's predecessor) the same questions, and checks this model against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace


class Network:
    def __init__(self, manifests: Iterable[Mapping[str, Any]]) -> None:
        manifests = list(manifests)
        self.namespaces = {
            m["metadata"]["name"]: {**m["metadata"].get("labels", {}),
                                    NAME_LABEL: m["metadata"]["name"]}
            for m in manifests if m["kind"] == "Namespace"}
        self.policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]

    def allows(self, source: str, target: str, *, port: int, protocol: str = "TCP") -> bool:
        """Whether an unlabelled pod of namespace `source` may open a connection to an
        unlabelled pod of namespace `target` on `port`."""
        return (self._admits(source, "Egress", source, target, port, protocol)
                and self._admits(target, "Ingress", source, target, port, protocol))

    def _admits(self, namespace: str, direction: str, source: str, target: str, port: int,
                protocol: str) -> bool:
        rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        peer = target if direction == "Egress" else source
        selecting = [p for p in self.policies if p["metadata"]["namespace"] == namespace
                     and direction in p["spec"]["policyTypes"]
                     and _selects(p["spec"]["podSelector"], {})]
        if not selecting:
            return True  # not isolated in this direction
        return any(self._peers_match(rule.get(peers_key), namespace, peer)
                   and _ports_match(rule.get("ports"), port, protocol)
                   for policy in selecting for rule in policy["spec"].get(rules_key, ()))

    def _peers_match(self, peers: list[dict[str, Any]] | None, namespace: str,
                     other: str) -> bool:
        if not peers:
            return True  # no `from`/`to`: every peer
        return any(self._peer_matches(peer, namespace, other) for peer in peers)

    def _peer_matches(self, peer: dict[str, Any], namespace: str, other: str) -> bool:
        unknown = set(peer) - {"ipBlock", "namespaceSelector", "podSelector"}
        assert not unknown, f"the model does not know {unknown}"
        if "ipBlock" in peer:
            return False
        pods_match = _selects(peer.get("podSelector", {}), {})
        if "namespaceSelector" in peer:
            labels = self.namespaces.get(other, {NAME_LABEL: other})
            return _selects(peer["namespaceSelector"], labels) and pods_match
        return other == namespace and pods_match


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"the model does not know {set(selector)}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _ports_match(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True  # no `ports`: every port
    for entry in ports:
        assert isinstance(entry["port"], int) and "endPort" not in entry, entry
        if entry.get("protocol", "TCP") == protocol and entry["port"] == port:
            return True
    return False
