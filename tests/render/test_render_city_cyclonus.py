"""The Wuhan example's whole rendering, judged by cyclonus on every namespace pair.

cyclonus (cyclonus.py; a NetworkPolicy simulator nobody here wrote) reads the NetworkPolicies
of the rendered example and answers, for a pod in every namespace calling a pod in every other
one, whether the traffic passes. What must pass is derived here from the registry's files
alone, not from citycloud's models or rendering: a tenant's own namespaces reach each other,
its pool's platform namespace reaches it, every namespace reaches DNS, and a consumer's
calling namespaces reach a provider's service namespace on the published ports when both
files consent (the consumer asks, the provider's audience admits it). Everything else between
tenants must be denied. The same check on the example without any `consumes` proves the
isolation of a city that shares nothing. Those two merge the example's clusters into one.

Then each of the example's four clusters is judged apart, on its own rendering: within it,
the same expectations among the tenants placed there; across clusters, a pod of another
cluster is an address in that cluster's pod network (platform.yaml `podCidrs`), and a door
opens out to it on exactly the ports of a consumer here whose provider has no copy here,
and in from it on exactly the ports of a provider here whose consumer runs there without a
copy; an address in no pod network reaches no tenant.

Each pair is asked on the destination's published ports (8080/TCP where it publishes
none), and granted pairs on 8080/TCP as well, where only the door's ports may open.
Without cyclonus these tests skip locally and fail under CI=true (realparts).
"""

from __future__ import annotations

import collections
import ipaddress
import pathlib
import shutil
from typing import Any

import cyclonus
import pytest
import realparts
import registries
import yaml

from citycloud import tenants
from citycloud.tenants import units

WUHAN = pathlib.Path(__file__).resolve().parents[2] / "examples" / "wuhan"
PROBE = (8080, "TCP")  # a port no example service publishes
DNS = cyclonus.Pod("kube-system", "10.250.0.10", {"k8s-app": "kube-dns"})
METRICS = cyclonus.Pod("kube-system", "10.250.0.11", {"k8s-app": "metrics-server"})

Port = tuple[int, str]


def tenant_files(registry: pathlib.Path) -> dict[str, dict[str, Any]]:
    documents = (yaml.safe_load(p.read_text(encoding="utf-8"))
                 for p in sorted((registry / "tenants").glob("*/*.yaml")))
    return {d["metadata"]["name"]: d for d in documents}


def granted_doors(files: dict[str, dict[str, Any]]) -> dict[tuple[str, str], set[Port]]:
    """(calling namespace, service namespace) -> the ports both files consent to open."""
    doors: dict[tuple[str, str], set[Port]] = collections.defaultdict(set)
    for consumer, doc in files.items():
        for request in doc["spec"].get("consumes", ()):
            provider = files[request["tenant"]]
            [service] = [s for s in provider["spec"]["services"]
                         if s["name"] == request["service"]]
            audience = service.get("audience", {})
            if not (audience.get("city") or doc["metadata"]["department"] in audience.get(
                    "departments", ()) or doc["spec"]["pool"] in audience.get("pools", ())):
                continue
            callers = request.get("namespaces") or doc["spec"]["namespaces"]
            for short in callers:
                doors[f"{consumer}-{short}", f"{request['tenant']}-{service['namespace']}"] |= {
                    (p["port"], p.get("protocol", "TCP")) for p in service["ports"]}
    return doors


def published_ports(files: dict[str, dict[str, Any]]) -> dict[str, set[Port]]:
    found: dict[str, set[Port]] = collections.defaultdict(set)
    for name, doc in files.items():
        for service in doc["spec"].get("services", ()):
            found[f"{name}-{service['namespace']}"] |= {
                (p["port"], p.get("protocol", "TCP")) for p in service["ports"]}
    return found


class City:
    """Every namespace of the registry, whose tenant (or pool, for a platform namespace) it
    is, and what the files say may pass between them."""

    def __init__(self, registry: pathlib.Path) -> None:
        self.files = tenant_files(registry)
        self.tenant_of = {f"{name}-{short}": name for name, doc in self.files.items()
                          for short in doc["spec"]["namespaces"]}
        self.pool_of = {name: doc["spec"]["pool"] for name, doc in self.files.items()}
        self.platform_of = {f"citycloud-pool-{pool}": pool for pool in set(self.pool_of.values())}
        self.namespaces = sorted(self.tenant_of) + sorted(self.platform_of)
        self.doors = granted_doors(self.files)
        self.published = published_ports(self.files)

    def pod(self, namespace: str) -> cyclonus.Pod:
        index = self.namespaces.index(namespace)
        return cyclonus.Pod(namespace, f"10.244.{index // 250}.{index % 250 + 1}",
                            {"app": "workload"})

    def expected(self, source: str, destination: str, port: Port) -> bool:
        owner = self.tenant_of.get(destination)
        if owner is None:  # a platform namespace (unfenced): tenants have no egress to it
            return source not in self.tenant_of
        if self.tenant_of.get(source) == owner:
            return True
        if source in self.platform_of:
            return self.platform_of[source] == self.pool_of[owner]
        return port in self.doors.get((source, destination), set())

    def probes(self) -> list[cyclonus.Traffic]:
        found = []
        for source in self.namespaces:
            found.append(cyclonus.Traffic(self.pod(source), DNS, 53, "UDP"))
            found.append(cyclonus.Traffic(self.pod(source), METRICS, 53, "UDP"))
            for destination in self.namespaces:
                ports = set(self.published.get(destination, {PROBE}))
                if (source, destination) in self.doors:
                    ports.add(PROBE)
                found += [cyclonus.Traffic(self.pod(source), self.pod(destination), port, proto)
                          for port, proto in sorted(ports)]
        return found


@pytest.fixture(scope="module")
def binary() -> pathlib.Path:
    return realparts.checker("cyclonus")


def on_one_cluster(tmp: pathlib.Path, *, consumes: bool) -> pathlib.Path:
    """A copy of the example on one cluster (cyclonus simulates one cluster's policies; the
    example's clusters are merged), and without any `consumes` unless told."""
    registry = shutil.copytree(WUHAN, tmp / "wuhan")
    registries.on_one_cluster(registry)
    for path in (registry / "tenants").glob("*/*.yaml") if not consumes else ():
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if doc["spec"].pop("consumes", None) is not None:
            path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                            encoding="utf-8")
    return registry


@pytest.mark.parametrize("sharing", [True, False], ids=["wuhan", "wuhan-without-consumes"])
def test_exactly_the_granted_flows_cross_tenants(binary: pathlib.Path, tmp_path: pathlib.Path,
                                                 sharing: bool) -> None:
    registry = on_one_cluster(tmp_path, consumes=sharing)
    city = City(registry)
    assert (len(city.doors) >= 10) is sharing  # the example grants flows; the copy none
    cluster = cyclonus.Cluster(units.render_all(tenants.load(registry)), tmp_path / "cyclonus")
    assert set(city.namespaces) == set(cluster.namespace_labels)
    asked = city.probes()

    answers = cluster.query(binary, asked, timeout=900)

    wrong = []
    for traffic, verdict in zip(asked, answers, strict=True):
        source, destination = traffic.source.namespace, traffic.destination.namespace
        if destination == "kube-system":  # the platform's own namespaces are not fenced in
            want = traffic.destination is DNS or source in city.platform_of
        else:
            want = city.expected(source, destination, (traffic.port, traffic.protocol))
        if verdict.allowed is not want:
            wrong.append(f"{source} -> {destination} {traffic.port}/{traffic.protocol}: "
                         f"cyclonus says {'allowed' if verdict.allowed else 'denied'}")
    assert wrong == [], f"{len(wrong)} of {len(asked)} verdicts differ:\n" + "\n".join(wrong[:40])
    opened = sum(v.allowed for t, v in zip(asked, answers, strict=True)
                 if t.source.namespace in city.tenant_of
                 and t.destination.namespace in city.tenant_of
                 and city.tenant_of[t.source.namespace]
                 != city.tenant_of[t.destination.namespace])
    assert opened == sum(len(ports) for ports in city.doors.values())


def placements(registry: pathlib.Path, files: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Tenant -> the clusters its file names, else its pool's only one (platform.yaml)."""
    declared = yaml.safe_load((registry / "platform.yaml").read_text(encoding="utf-8"))
    by_pool: dict[str, list[str]] = collections.defaultdict(list)
    for cluster in declared["spec"]["clusters"]:
        by_pool[cluster["pool"]].append(cluster["name"])
    return {name: doc["spec"].get("clusters") or by_pool[doc["spec"]["pool"]]
            for name, doc in files.items()}


class OnCluster(City):
    """The namespaces of one of the example's clusters, and what may pass into and out of
    them: the doors whose both ends run here, and across clusters the doors of a consumer
    here whose provider has no copy here (out to the provider's clusters' pod networks) and
    of a provider here whose consumer runs on a cluster without a copy (in from that
    cluster's pod networks). A pod of another cluster is only an address here."""

    OUTSIDER = cyclonus.Pod("", "192.0.2.10")  # in no pod network and no shared network

    def __init__(self, registry: pathlib.Path, cluster: str) -> None:
        super().__init__(registry)
        declared = yaml.safe_load((registry / "platform.yaml").read_text(encoding="utf-8"))
        self.placed = placements(registry, self.files)
        pool = next(c["pool"] for c in declared["spec"]["clusters"] if c["name"] == cluster)
        self.remote = {c["name"]: cyclonus.Pod("", str(ipaddress.ip_network(cidr)[10]))
                       for c in declared["spec"]["clusters"] if c["name"] != cluster
                       for cidr in c.get("podCidrs", ())[:1]}
        self.cluster = cluster
        self.all_doors = self.doors
        self.tenant_of = {ns: t for ns, t in self.tenant_of.items() if self.here(t)}
        self.platform_of = {f"citycloud-pool-{pool}": pool}
        self.namespaces = sorted(self.tenant_of) + sorted(self.platform_of)
        self.doors = {(s, d): ports for (s, d), ports in self.all_doors.items()
                      if s in self.tenant_of and d in self.tenant_of}

    def here(self, tenant: str, cluster: str | None = None) -> bool:
        return (cluster or self.cluster) in self.placed[tenant]

    def crossing(self) -> list[tuple[cyclonus.Traffic, bool]]:
        """Probes across clusters, with what must be answered."""
        found = []
        tenant_of = {f"{n}-{s}": n for n, d in self.files.items()
                     for s in d["spec"]["namespaces"]}  # of every cluster
        for namespace in sorted(self.tenant_of):
            mine = self.pod(namespace)
            ports = set(self.published.get(namespace, {PROBE})) | {PROBE}
            for cluster, address in self.remote.items():
                out = {p for (s, d), door in self.all_doors.items() if s == namespace
                       and not self.here(tenant_of[d]) and self.here(tenant_of[d], cluster)
                       for p in door}
                found += [(cyclonus.Traffic(mine, address, *p), p in out)
                          for p in sorted(out | {PROBE})]
                into = {p for (s, d), door in self.all_doors.items() if d == namespace
                        and self.here(tenant_of[s], cluster) and not self.here(
                            tenant_of[d], cluster) for p in door}
                found += [(cyclonus.Traffic(address, mine, *p), p in into)
                          for p in sorted(ports | into)]
            found += [(cyclonus.Traffic(self.OUTSIDER, mine, *p), False) for p in sorted(ports)]
        return found


@pytest.mark.parametrize("cluster", ["wh-gov-hankou", "wh-gov-guanggu", "wh-industry",
                                     "wh-xinchuang"])
def test_each_cluster_opens_exactly_its_doors_within_and_across(
        binary: pathlib.Path, tmp_path: pathlib.Path, cluster: str) -> None:
    """The example as it is, each cluster's own rendering judged apart."""
    platform = tenants.load(WUHAN)
    city = OnCluster(WUHAN, cluster)
    rendered = [m for unit in units.render_units(platform) if unit.cluster == cluster
                for m in unit.manifests]
    judge = cyclonus.Cluster(rendered, tmp_path / "cyclonus")
    assert set(city.namespaces) == set(judge.namespace_labels)
    within = city.probes()
    across = city.crossing()
    answers = judge.query(binary, within + [t for t, _ in across], timeout=900)
    wrong = []
    wants = [city.expected(t.source.namespace, t.destination.namespace, (t.port, t.protocol))
             if t.destination.namespace != "kube-system"
             else t.destination is DNS or t.source.namespace in city.platform_of
             for t in within] + [want for _, want in across]
    for traffic, want, verdict in zip(within + [t for t, _ in across], wants, answers,
                                      strict=True):
        if verdict.allowed is not want:
            wrong.append(f"{traffic.source.namespace or traffic.source.ip} -> "
                         f"{traffic.destination.namespace or traffic.destination.ip} "
                         f"{traffic.port}/{traffic.protocol}: cyclonus says "
                         f"{'allowed' if verdict.allowed else 'denied'}")
    assert wrong == [], f"{len(wrong)} of {len(answers)} verdicts differ:\n" + "\n".join(
        wrong[:40])
    # Every cluster of the example has doors to or from another (gov services are called
    # from the other pools), so the crossing probes judge opened doors, not only closed ones.
    assert any(want for _, want in across)
