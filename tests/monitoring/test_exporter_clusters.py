"""The exporter on several clusters: one reader each, all at once, none waited for too long.

Where platform.yaml declares clusters, each is read through its kubeconfig context in the
one kubeconfig the exporter is given; a cluster that is down costs its own figures only.
The end-to-end twin, with real kube-apiservers, is tests/e2e/test_exporter_three_clusters.py.
"""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Iterator

import apiserver
import clirun
import pytest
import registries
from exporter_fixtures import (
    TODAY,
    StandIn,
    every_cluster,
    free_port,
    recorded_snapshot,
    write_kubeconfig,
)

from citycloud import tenants
from citycloud.monitoring import cluster, exporter, sources
from citycloud.tenants import kubeapi

HANKOU, GUANGGU, INDUSTRY, XINCHUANG = ("wh-gov-hankou", "wh-gov-guanggu", "wh-industry",
                                        "wh-xinchuang")
WUHAN_CLUSTERS = (HANKOU, GUANGGU, INDUSTRY, XINCHUANG)


@pytest.fixture(scope="module")
def clustered(wuhan: pathlib.Path) -> tenants.Platform:
    return tenants.load(wuhan)


def test_the_clusters_are_read_at_the_same_time(wuhan: pathlib.Path) -> None:
    """Fake readers, because what is tested is the structure, not a duration: each read
    waits at a barrier until all four clusters are being read. Read one after the other,
    the first would wait alone until the barrier gives up, and every read would fail."""
    barrier = threading.Barrier(len(WUHAN_CLUSTERS), timeout=10)

    def read() -> cluster.Snapshot:
        barrier.wait()
        return recorded_snapshot()

    built = exporter.build(wuhan, connect=every_cluster(read), today=lambda: TODAY,
                           cluster_timeout=30)
    collected = built.registry
    assert not barrier.broken
    for name in WUHAN_CLUSTERS:
        assert collected.get_sample_value("citycloud_cluster_up", {"cluster": name}) == 1


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test, also when it fails, so a hung reader's thread ends."""
    event = threading.Event()
    yield event
    event.set()


def test_a_hung_cluster_is_waited_for_until_its_timeout_only(
        clustered: tenants.Platform, release: threading.Event) -> None:
    calls: list[str | None] = []

    def connect(context: str | None) -> cluster.Reader:
        def read() -> cluster.Snapshot:
            calls.append(context)
            if context == HANKOU:  # answers nothing until released
                release.wait()
            return recorded_snapshot()
        return read

    clusters = sources.ClusterSources(connect, min_interval=0, timeout=0.5)
    states = clusters.get(clustered)
    assert not release.is_set()  # returned while the hung read still runs
    assert not states[HANKOU].up and states[HANKOU].snapshot is None
    assert states[HANKOU].error == "no answer within 0.5s"
    assert all(states[name].up for name in (GUANGGU, INDUSTRY, XINCHUANG))

    states = clusters.get(clustered)
    assert not states[HANKOU].up
    assert calls.count(HANKOU) == 1  # no second read piled onto the hung one

    release.set()  # the cluster answers at last: the next scrapes see it up again
    for _ in range(100):
        if clusters.get(clustered)[HANKOU].up:
            break
        threading.Event().wait(0.05)
    assert clusters.get(clustered)[HANKOU].up


def test_each_cluster_is_read_through_its_own_context(clustered: tenants.Platform) -> None:
    contexts: list[str | None] = []

    def connect(context: str | None) -> cluster.Reader:
        contexts.append(context)
        return recorded_snapshot

    sources.ClusterSources(connect, min_interval=0).get(clustered)
    assert sorted(c or "" for c in contexts) == sorted(WUHAN_CLUSTERS)  # context: its name


@pytest.fixture
def mixed(registry_copy: pathlib.Path) -> pathlib.Path:
    """The example with the xinchuang pool on the command line's cluster (its cluster no
    longer declared) and the industry cluster reached through a context of another name."""

    def change(data: registries.Document) -> None:
        data["spec"]["clusters"] = [c for c in data["spec"]["clusters"] if c["name"] != XINCHUANG]
        for entry in data["spec"]["clusters"]:
            if entry["name"] == INDUSTRY:
                entry["context"] = "prod-industry"

    registries.edit_platform(registry_copy, change)
    return registry_copy


def test_pools_without_clusters_are_read_through_the_command_lines_context(
        mixed: pathlib.Path) -> None:
    platform = tenants.load(mixed)
    assert sources.targets(platform) == {HANKOU: HANKOU, GUANGGU: GUANGGU,
                                         INDUSTRY: "prod-industry", "": None}
    built = exporter.build(mixed, connect=every_cluster(recorded_snapshot),
                           today=lambda: TODAY)
    collected = built.registry
    # cluster="" is how Prometheus stores no label: the same series as before clusters.
    assert collected.get_sample_value("citycloud_cluster_up", {"cluster": ""}) == 1
    assert collected.get_sample_value("citycloud_cluster_up", {"cluster": INDUSTRY}) == 1


def test_a_reloaded_registry_reads_the_clusters_it_names_now(
        clustered: tenants.Platform, mixed: pathlib.Path) -> None:
    contexts: list[str | None] = []

    def connect(context: str | None) -> cluster.Reader:
        contexts.append(context)
        return recorded_snapshot

    clusters = sources.ClusterSources(connect, min_interval=0)
    assert set(clusters.get(clustered)) == set(WUHAN_CLUSTERS)
    assert set(clusters.get(tenants.load(mixed))) == {HANKOU, GUANGGU, INDUSTRY, ""}
    # Unchanged clusters keep their reader; a new context, or a new cluster, gets its own.
    assert sorted(c or "" for c in contexts) == sorted([*WUHAN_CLUSTERS, "prod-industry", ""])


# ---- real HTTP, the real client: three clusters in one kubeconfig, one of them down ------


EAST, WEST, NORTH = "gov-east", "gov-west", "gov-north"


def quotas(*used: tuple[str, str]) -> dict[str, object]:
    """ResourceQuota list of (namespace, cpu used) pairs, 8 cores enforced each."""
    return {"items": [
        {"metadata": {"namespace": namespace, "name": "citycloud-quota"},
         "status": {"hard": {"requests.cpu": "8"}, "used": {"requests.cpu": cpu}}}
        for namespace, cpu in used]}


@pytest.fixture
def three_clusters(tmp_path: pathlib.Path) -> pathlib.Path:
    """One gov pool on three clusters at three sites; a tenant on each, and one on two
    (disaster recovery)."""
    gov = registries.pool("gov")
    del gov["capacity"]
    clusters = [registries.cluster(EAST, site="east-dc"),
                registries.cluster(WEST, site="west-dc"),
                registries.cluster(NORTH, site="north-dc")]
    documents = [registries.tenant("wh-a-east", clusters=[EAST]),
                 registries.tenant("wh-a-west", clusters=[WEST]),
                 registries.tenant("wh-a-north", clusters=[NORTH]),
                 registries.tenant("wh-a-dr", clusters=[EAST, WEST])]
    return registries.write(tmp_path / "registry", *documents,
                            platform=registries.platform(gov, clusters=clusters))


@pytest.fixture
def east() -> Iterator[StandIn]:
    server = StandIn({"resourcequotas": quotas(("wh-a-east-app", "2"), ("wh-a-dr-app", "3")),
                      "services": {"items": []}, "pods": {"items": []}})
    with apiserver.serving(server):
        yield server


@pytest.fixture
def west() -> Iterator[StandIn]:
    server = StandIn({"resourcequotas": quotas(("wh-a-west-app", "4"), ("wh-a-dr-app", "500m")),
                      "services": {"items": []}, "pods": {"items": []}})
    with apiserver.serving(server):
        yield server


def test_three_clusters_one_down_every_reachable_tenants_quota_is_read(
        three_clusters: pathlib.Path, east: StandIn, west: StandIn,
        tmp_path: pathlib.Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens: the north cluster is down
    # No current context: a file of one context per cluster needs none.
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig",
                                  {EAST: east.url, WEST: west.url, NORTH: down})
    connect = cluster.connector(kubeconfig=kubeconfig, context=None, timeout=2)
    assert connect is not None
    built = exporter.build(three_clusters, connect=connect, today=lambda: TODAY,
                           cluster_timeout=10)
    collected = built.registry

    def used(tenant: str, where: str) -> float | None:
        return collected.get_sample_value("citycloud_tenant_quota_used_cpu_cores", {
            "tenant": tenant, "department": "wh-a", "pool": "gov", "cluster": where})

    up = {name: collected.get_sample_value("citycloud_cluster_up", {"cluster": name})
          for name in (EAST, WEST, NORTH)}
    assert up == {EAST: 1, WEST: 1, NORTH: 0}
    assert used("wh-a-east", EAST) == 2 and used("wh-a-west", WEST) == 4
    assert used("wh-a-dr", EAST) == 3 and used("wh-a-dr", WEST) == 0.5
    assert used("wh-a-north", NORTH) is None  # down: nothing served, nothing stale
    assert collected.get_sample_value("citycloud_cluster_read_errors_total",
                                      {"cluster": NORTH}) == 1
    assert collected.get_sample_value("citycloud_cluster_info", {
        "cluster": NORTH, "pool": "gov", "site": "north-dc"}) == 1
    assert any(path == "/api/v1/resourcequotas" for path, _ in east.requests)


# ---- the kubeconfig, at start ----------------------------------------------------------


def test_a_declared_cluster_without_a_context_is_down_and_says_why(
        tmp_path: pathlib.Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {EAST: "http://127.0.0.1:1"})
    connect = cluster.connector(kubeconfig=kubeconfig, context=None, timeout=1)
    assert connect is not None
    state = sources.ClusterSource(connect(WEST), min_interval=0).get()
    assert not state.up and state.configured
    assert f"with context {WEST}" in state.error


def test_a_context_the_kubeconfig_lacks_exits_2(wuhan: pathlib.Path,
                                                 tmp_path: pathlib.Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {EAST: "http://127.0.0.1:1"})
    result = clirun.invoke("--registry", wuhan, "exporter", "--kubeconfig", kubeconfig,
                           "--context", "prod")
    assert result.exit_code == 2
    assert "no context" in result.output and "'prod'" in result.output


def test_no_kubeconfig_anywhere_means_no_cluster(tmp_path: pathlib.Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert kubeapi.contexts() is None
    assert cluster.connector(kubeconfig=None, context=None, timeout=1) is None
