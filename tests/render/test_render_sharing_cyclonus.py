"""Shared services judged by cyclonus: what the rendered NetworkPolicies let through.

test_render_sharing.py checks the policies we write and asks our own model (reachability.py)
what they allow. Here cyclonus, a NetworkPolicy simulator nobody here wrote (cyclonus.py),
answers from the same rendered objects: one provider publishing a service on one port to
the city, a consumer with two namespaces of which one calls it, and a tenant that does not
ask. Without cyclonus these tests skip locally and fail under CI=true (realparts);
`make controlplane` builds it (scripts/checkers/build.sh).
"""

from __future__ import annotations

import ipaddress
import pathlib

import cyclonus
import pytest
import reachability
import realparts
import registries as r

from citycloud.tenants import render, units

PROVIDER, CONSUMER, BYSTANDER = "wh-zwfw-identity", "wh-gongan-video", "wh-shuiwu-portal"
SSO, CA = f"{PROVIDER}-sso", f"{PROVIDER}-ca"
VIDEO, ANALYTICS = f"{CONSUMER}-video", f"{CONSUMER}-analytics"
PORTAL = f"{BYSTANDER}-app"
PLATFORM = "citycloud-pool-gov"  # the gov pool's platform namespace
KUBE_SYSTEM = "kube-system"  # not rendered: only its name label
PORT = 443  # the one published port

# Pod addresses: 10.244.<n>.0/24 for the n-th namespace, as a node's pod CIDR would give them.
NAMESPACES = (SSO, CA, VIDEO, ANALYTICS, PORTAL, PLATFORM, KUBE_SYSTEM)
WORKLOAD = {"app": "workload"}


def pod(namespace: str, labels: dict[str, str] | None = None, *, host: int = 10) -> cyclonus.Pod:
    subnet = NAMESPACES.index(namespace)
    return cyclonus.Pod(namespace, f"10.244.{subnet}.{host}",
                        WORKLOAD if labels is None else labels)


DNS = pod(KUBE_SYSTEM, {"k8s-app": "kube-dns"})
METRICS = pod(KUBE_SYSTEM, {"k8s-app": "metrics-server"}, host=11)


def documents() -> list[r.Document]:
    provider = r.tenant(PROVIDER, namespaces=["sso", "ca"], services=[
        r.service("identity", kind="identity", namespace="sso", ports=(PORT,), city=True)])
    consumer = r.tenant(CONSUMER, namespaces=["video", "analytics"], consumes=[
        r.consumption(PROVIDER, "identity", namespaces=["video"])])
    return [provider, consumer, r.tenant(BYSTANDER, namespaces=["app"])]


@pytest.fixture(scope="module")
def binary() -> pathlib.Path:
    return realparts.checker("cyclonus")


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> list[render.Manifest]:
    return units.render_all(r.make(tmp_path_factory.mktemp("registry"), *documents()))


@pytest.fixture(scope="module")
def cluster(manifests: list[render.Manifest],
            tmp_path_factory: pytest.TempPathFactory) -> cyclonus.Cluster:
    cluster = cyclonus.Cluster(manifests, tmp_path_factory.mktemp("cyclonus"))
    assert set(NAMESPACES) - {KUBE_SYSTEM} <= set(cluster.namespace_labels)
    # Verdicts here are about namespaces, not addresses: no ipBlock covers a pod.
    pods = ipaddress.ip_network("10.244.0.0/16")
    assert not [cidr for cidr in cluster.ip_blocks()
                if ipaddress.ip_network(cidr, strict=False).overlaps(pods)]
    return cluster


def traffic(source: str | cyclonus.Pod, destination: str | cyclonus.Pod, port: int = PORT,
            protocol: str = "TCP") -> cyclonus.Traffic:
    return cyclonus.Traffic(source if isinstance(source, cyclonus.Pod) else pod(source),
                            destination if isinstance(destination, cyclonus.Pod)
                            else pod(destination), port, protocol)


CASES = {
    # the granted flow, and everything next to it
    "consumer-calling-namespace": (traffic(VIDEO, SSO), True),
    "consumer-other-port": (traffic(VIDEO, SSO, 8443), False),
    "consumer-other-provider-namespace": (traffic(VIDEO, CA), False),
    "consumer-namespace-not-calling": (traffic(ANALYTICS, SSO), False),
    "non-consumer-tenant": (traffic(PORTAL, SSO), False),
    "provider-to-consumer": (traffic(SSO, VIDEO), False),
    "consumer-to-non-consumer": (traffic(VIDEO, PORTAL), False),
    "non-consumer-to-consumer": (traffic(PORTAL, VIDEO), False),
    # the baseline every tenant gets
    "within-consumer": (traffic(ANALYTICS, VIDEO, 8080), True),
    "within-consumer-back": (traffic(VIDEO, ANALYTICS, 8080), True),
    "within-provider": (traffic(CA, SSO, 8443), True),
    "platform-to-provider": (traffic(PLATFORM, SSO, 9090), True),
    "dns": (traffic(VIDEO, DNS, 53, "UDP"), True),
    "dns-over-tcp": (traffic(ANALYTICS, DNS, 53), True),
    "kube-system-not-dns": (traffic(VIDEO, METRICS, 53, "UDP"), False),
}


@pytest.fixture(scope="module")
def verdicts(binary: pathlib.Path, cluster: cyclonus.Cluster) -> dict[str, cyclonus.Verdict]:
    """Cyclonus asked once about every case."""
    answers = cluster.query(binary, [case for case, _ in CASES.values()])
    return dict(zip(CASES, answers, strict=True))


@pytest.mark.parametrize("case", list(CASES))
def test_cyclonus_allows_exactly_the_granted_flow_and_the_baseline(
        verdicts: dict[str, cyclonus.Verdict], case: str) -> None:
    _, allowed = CASES[case]
    verdict = verdicts[case]
    assert verdict.allowed is allowed, verdict.text


@pytest.mark.parametrize("side", [
    pytest.param("citycloud-share-in-", id="without-the-providers-ingress"),
    pytest.param("citycloud-share-out-", id="without-the-consumers-egress"),
])
def test_the_flow_needs_the_policy_on_each_side(
        binary: pathlib.Path, manifests: list[render.Manifest], tmp_path: pathlib.Path,
        side: str) -> None:
    """Either half alone opens nothing: the allowed case above is not allowed by accident."""
    kept = [m for m in manifests
            if not (m["kind"] == "NetworkPolicy" and m["metadata"]["name"].startswith(side))]
    assert len(manifests) - len(kept) == 1
    [verdict] = cyclonus.Cluster(kept, tmp_path).query(binary, [traffic(VIDEO, SSO)])
    assert not verdict.allowed, verdict.text


def test_our_model_agrees_with_cyclonus_on_every_namespace_pair(
        binary: pathlib.Path, cluster: cyclonus.Cluster,
        manifests: list[render.Manifest]) -> None:
    """reachability.py, which the other render tests use, against the independent judge:
    unlabelled pods (the model's) of every rendered namespace, both ways, on a few ports."""
    model = reachability.Network(manifests)
    rendered = sorted(cluster.namespace_labels)
    asked = [cyclonus.Traffic(pod(source, {}), pod(target, {}, host=11), port, protocol)
             for source in rendered for target in rendered
             for port, protocol in ((PORT, "TCP"), (8443, "TCP"), (22, "TCP"), (53, "UDP"))]
    answers = cluster.query(binary, asked)
    disagree = [(t.source.namespace, t.destination.namespace, t.port, t.protocol, v.allowed)
                for t, v in zip(asked, answers, strict=True)
                if v.allowed is not model.allows(t.source.namespace, t.destination.namespace,
                                                 port=t.port, protocol=t.protocol)]
    assert disagree == []
    assert sum(v.allowed for v in answers) > len(rendered)  # not all denied
